/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Splits a QMP byte stream into JSON texts without parsing them: tracks
 * strings and bracket depth, emits a message when depth returns to 0,
 * and enforces the size and nesting limits before anything is allocated
 * past them. jansson then parses each complete text.
 */
#ifndef WARDEN_JSON_STREAM_H
#define WARDEN_JSON_STREAM_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/* Largest message we buffer; a bigger one is skipped with an error. */
#define WD_JSON_MAX_MESSAGE (16u << 20)
/* QEMU's MAX_NESTING. */
#define WD_JSON_MAX_NESTING 1024

/* Called with a complete message (@text, @len; NUL-terminated) or with
 * @error set (a framing error message) and text NULL. */
typedef void (*WdJsonStreamFunc)(const char *text, size_t len,
                                 const char *error, gpointer opaque);

typedef struct WdJsonStream WdJsonStream;

WdJsonStream *wd_json_stream_new(WdJsonStreamFunc func, gpointer opaque);
void wd_json_stream_feed(WdJsonStream *js, const char *buf, size_t len);
void wd_json_stream_free(WdJsonStream *js);

#endif
