/* SPDX-License-Identifier: GPL-2.0-or-later */
/* GLib auto-cleanup for jansson values; include instead of jansson.h. */
#ifndef WARDEN_JSON_UTIL_H
#define WARDEN_JSON_UTIL_H

#include <glib.h>
#include <jansson.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_t, json_decref)

#endif
