/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP stream framing. Like QEMU's json-streamer, a message ends when the
 * bracket depth returns to zero; a top-level scalar ends at whitespace
 * or a structural character. Errors reset the state so the next
 * top-level object parses (QEMU's recovery). Memory is bounded by
 * WD_JSON_MAX_MESSAGE: an oversized message is skipped, not stored.
 */
#include "monitor/json-stream.h"

#include <string.h>

struct WdJsonStream {
    WdJsonStreamFunc func;
    gpointer opaque;
    GString *buf;
    unsigned depth;
    bool in_string;
    bool escape;
    bool in_scalar;        /* a top-level non-bracket token */
    bool skipping;         /* oversized or too deep: drop until depth 0 */
};

WdJsonStream *wd_json_stream_new(WdJsonStreamFunc func, gpointer opaque)
{
    WdJsonStream *js = g_new0(WdJsonStream, 1);

    js->func = func;
    js->opaque = opaque;
    js->buf = g_string_new(NULL);
    return js;
}

void wd_json_stream_free(WdJsonStream *js)
{
    if (js) {
        g_string_free(js->buf, TRUE);
        g_free(js);
    }
}

static void reset(WdJsonStream *js)
{
    g_string_truncate(js->buf, 0);
    if (js->buf->allocated_len > 65536) {
        /* give back the memory of a large message */
        g_string_free(js->buf, TRUE);
        js->buf = g_string_new(NULL);
    }
    js->depth = 0;
    js->in_string = js->escape = js->in_scalar = js->skipping = false;
}

static void emit(WdJsonStream *js)
{
    if (!js->skipping) {
        js->func(js->buf->str, js->buf->len, NULL, js->opaque);
    }
    reset(js);
}

static void fail(WdJsonStream *js, const char *msg)
{
    js->func(NULL, 0, msg, js->opaque);
    reset(js);
}

/* Oversized or too deeply nested message: report once, then drop the
 * rest of it while still tracking strings and brackets to find its end. */
static void skip_rest(WdJsonStream *js, const char *msg)
{
    unsigned depth = js->depth;
    bool in_string = js->in_string, escape = js->escape;

    fail(js, msg);
    js->skipping = true;
    js->depth = depth;
    js->in_string = in_string;
    js->escape = escape;
}

static void feed_byte(WdJsonStream *js, char c)
{
    bool structural = strchr("{}[]", c) && c;

    if (js->depth == 0 && !js->in_string) {
        if (js->in_scalar && (structural || g_ascii_isspace(c) ||
                              c == ',' || c == ':')) {
            emit(js);
        }
        if (js->skipping && !js->depth) {
            js->skipping = false;
        }
        if (g_ascii_isspace(c) && !js->in_scalar) {
            return;
        }
        if (c == '}' || c == ']' || c == ',' || c == ':') {
            fail(js, "JSON parse error, expecting value");
            return;
        }
        if ((unsigned char)c < 0x20 && c != '\t') {
            /* QEMU: control characters reset the parser (and are an
             * error themselves); clients send them to resynchronise. */
            fail(js, "JSON parse error, stray control character");
            return;
        }
        if (c == '{' || c == '[') {
            js->depth = 1;
            g_string_append_c(js->buf, c);
            return;
        }
        if (c == '"') {
            js->in_string = true;
        }
        js->in_scalar = true;
        g_string_append_c(js->buf, c);
        if (js->buf->len > 1024) {
            fail(js, "JSON parse error, token too long");
        }
        return;
    }

    if (!js->skipping && js->buf->len >= WD_JSON_MAX_MESSAGE) {
        skip_rest(js, "JSON message size limit exceeded: a QMP message "
                  "may be at most 16 MiB");
    }
    if (!js->skipping) {
        g_string_append_c(js->buf, c);
    }
    if (js->in_string) {
        if (js->escape) {
            js->escape = false;
        } else if (c == '\\') {
            js->escape = true;
        } else if (c == '"') {
            js->in_string = false;
            if (js->depth == 0) {        /* top-level string scalar */
                js->in_scalar = true;
            }
        }
        return;
    }
    if (c == '"') {
        js->in_string = true;
    } else if (c == '{' || c == '[') {
        if (++js->depth > WD_JSON_MAX_NESTING && !js->skipping) {
            skip_rest(js, "JSON nesting depth limit exceeded");
        }
    } else if (c == '}' || c == ']') {
        if (--js->depth == 0) {
            emit(js);
        }
    }
}

void wd_json_stream_feed(WdJsonStream *js, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        feed_byte(js, buf[i]);
    }
}
