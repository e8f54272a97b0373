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

/* Messages may carry secrets (object-add data=): every byte buffered is
 * wiped before its memory is reused or given back. */
static void buf_free(GString *buf)
{
    explicit_bzero(buf->str, buf->allocated_len);
    g_string_free(buf, TRUE);
}

static void buf_put(WdJsonStream *js, char c)
{
    if (js->buf->len + 2 > js->buf->allocated_len) {
        /* grow by hand: a realloc would leave the old copy behind */
        GString *bigger = g_string_sized_new(js->buf->allocated_len * 2);

        g_string_append_len(bigger, js->buf->str, js->buf->len);
        buf_free(js->buf);
        js->buf = bigger;
    }
    g_string_append_c(js->buf, c);
}

void wd_json_stream_free(WdJsonStream *js)
{
    if (js) {
        buf_free(js->buf);
        g_free(js);
    }
}

static void reset(WdJsonStream *js)
{
    explicit_bzero(js->buf->str, js->buf->len);
    g_string_truncate(js->buf, 0);
    if (js->buf->allocated_len > 65536) {
        /* give back the memory of a large message */
        buf_free(js->buf);
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
            buf_put(js, c);
            return;
        }
        if (c == '"') {
            js->in_string = true;
        }
        js->in_scalar = true;
        buf_put(js, c);
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
        buf_put(js, c);
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
