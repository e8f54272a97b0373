/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The output check of the QMP fuzz targets: every reply is one JSON
 * object ending in \r\n.
 */
#ifndef WARDEN_FUZZ_QMP_OUTPUT_H
#define WARDEN_FUZZ_QMP_OUTPUT_H

#include <glib.h>
#include <jansson.h>

static inline void fuzz_qmp_check_output(const char *text, size_t len,
                                         gpointer opaque)
{
    json_error_t jerr;
    json_t *v;

    g_assert(len >= 2 && text[len - 2] == '\r' && text[len - 1] == '\n');
    v = json_loadb(text, len, 0, &jerr);
    g_assert(v && json_is_object(v));
    json_decref(v);
}

#endif
