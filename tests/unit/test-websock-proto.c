/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Websocket protocol tests (runtime/io/websock-proto): the I/O-free
 * handshake parser and frame codec with hostile inputs.
 */
#include <string.h>

#include "runtime/io/websock-proto.h"

#include "websock-test.h"

/* ---- handshake parser ---- */

static void test_accept_key(void)
{
    g_autofree char *accept = wd_websock_accept_key(GOOD_KEY);

    /* The example of RFC 6455 section 1.3. */
    g_assert_cmpstr(accept, ==, GOOD_ACCEPT);
}

static void test_handshake_good(void)
{
    g_autoptr(GError) err = NULL;
    const char *req = GOOD_REQUEST "\x81\x80";   /* a frame follows */
    WdWebsockHandshake hs;
    g_autofree char *resp = NULL;
    size_t consumed = 0;

    g_assert_cmpint(wd_websock_parse_handshake(req, strlen(req), &hs,
                                               &consumed, &err), ==, 1);
    g_assert_no_error(err);
    g_assert_cmpuint(consumed, ==, strlen(GOOD_REQUEST));
    g_assert_cmpstr(hs.path, ==, "/chat");
    g_assert_cmpstr(hs.key, ==, GOOD_KEY);
    g_assert_cmpstr(hs.protocol, ==, "binary");
    resp = wd_websock_handshake_response(&hs);
    g_assert_cmpstr(resp, ==, GOOD_RESPONSE);
    wd_websock_handshake_clear(&hs);
}

static void test_handshake_no_protocol(void)
{
    g_autoptr(GError) err = NULL;
    const char *req = "GET / HTTP/1.1\r\nhost: h\r\nupgrade: WebSocket\r\n"
                      "connection: upgrade\r\nsec-websocket-key: " GOOD_KEY
                      "\r\nsec-websocket-version:13\r\n"
                      "Sec-WebSocket-Protocol: chat\r\n"
                      "Sec-WebSocket-Protocol: Binary\r\n\r\n";
    WdWebsockHandshake hs;
    g_autofree char *resp = NULL;
    size_t consumed = 0;

    /* Header names are case-insensitive; protocol names are not. */
    g_assert_cmpint(wd_websock_parse_handshake(req, strlen(req), &hs,
                                               &consumed, &err), ==, 1);
    g_assert_null(hs.protocol);
    resp = wd_websock_handshake_response(&hs);
    g_assert_cmpstr(resp, ==, "HTTP/1.1 101 Switching Protocols\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: " GOOD_ACCEPT "\r\n\r\n");
    wd_websock_handshake_clear(&hs);
}

static void test_handshake_incremental(void)
{
    const char *req = GOOD_REQUEST;
    size_t len = strlen(req);
    WdWebsockHandshake hs;
    size_t consumed = 0;

    for (size_t i = 0; i < len; i++) {
        g_assert_cmpint(wd_websock_parse_handshake(req, i, &hs, &consumed,
                                                   NULL), ==, 0);
    }
    g_assert_cmpint(wd_websock_parse_handshake(req, len, &hs, &consumed,
                                               NULL), ==, 1);
    wd_websock_handshake_clear(&hs);
}

#define HDRS_OK \
    "Host: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
    "Sec-WebSocket-Version: 13\r\n"

typedef struct {
    const char *name;
    const char *request;
    const char *error;
} BadRequest;

static const BadRequest bad_requests[] = {
    { .name = "method",
      .request = "POST / HTTP/1.1\r\n" HDRS_OK
                 "Sec-WebSocket-Key: " GOOD_KEY "\r\n\r\n",
      .error = "WebSocket upgrade request uses method 'POST' instead of "
               "GET" },
    { .name = "http-1.0",
      .request = "GET / HTTP/1.0\r\n" HDRS_OK
                 "Sec-WebSocket-Key: " GOOD_KEY "\r\n\r\n",
      .error = "WebSocket upgrade request uses 'HTTP/1.0' instead of "
               "HTTP/1.1" },
    { .name = "request-line",
      .request = "GET  / HTTP/1.1\r\n\r\n",
      .error = "Malformed request line in WebSocket upgrade request" },
    { .name = "target",
      .request = "GET * HTTP/1.1\r\n\r\n",
      .error = "WebSocket upgrade request target '*' is not a path" },
    { .name = "no-host",
      .request = "GET / HTTP/1.1\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                 "Sec-WebSocket-Key: " GOOD_KEY "\r\n\r\n",
      .error = "WebSocket upgrade request has no Host header" },
    { .name = "no-upgrade",
      .request = "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Version: 13\r\n"
                 "Sec-WebSocket-Key: " GOOD_KEY "\r\n\r\n",
      .error = "WebSocket upgrade request lacks 'Upgrade: websocket'" },
    { .name = "upgrade-h2c",
      .request = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                 "Sec-WebSocket-Key: " GOOD_KEY "\r\n\r\n",
      .error = "WebSocket upgrade request lacks 'Upgrade: websocket'" },
    { .name = "connection",
      .request = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                 "Connection: keep-alive\r\nSec-WebSocket-Version: 13\r\n"
                 "Sec-WebSocket-Key: " GOOD_KEY "\r\n\r\n",
      .error = "WebSocket upgrade request lacks 'Connection: Upgrade'" },
    { .name = "version",
      .request = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Version: 8\r\n"
                 "Sec-WebSocket-Key: " GOOD_KEY "\r\n\r\n",
      .error = "WebSocket upgrade request has Sec-WebSocket-Version '8'; "
               "only 13 is supported" },
    { .name = "no-version",
      .request = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Key: " GOOD_KEY "\r\n\r\n",
      .error = "WebSocket upgrade request has Sec-WebSocket-Version "
               "'(none)'; only 13 is supported" },
    { .name = "no-key",
      .request = "GET / HTTP/1.1\r\n" HDRS_OK "\r\n",
      .error = "WebSocket upgrade request has a missing or invalid "
               "Sec-WebSocket-Key (need base64 of 16 bytes)" },
    { .name = "short-key",
      .request = "GET / HTTP/1.1\r\n" HDRS_OK
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n\r\n",
      .error = "WebSocket upgrade request has a missing or invalid "
               "Sec-WebSocket-Key (need base64 of 16 bytes)" },
    { .name = "bad-key-char",
      .request = "GET / HTTP/1.1\r\n" HDRS_OK
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ*==\r\n\r\n",
      .error = "WebSocket upgrade request has a missing or invalid "
               "Sec-WebSocket-Key (need base64 of 16 bytes)" },
    { .name = "duplicate-key",
      .request = "GET / HTTP/1.1\r\n" HDRS_OK
                 "Sec-WebSocket-Key: " GOOD_KEY "\r\n"
                 "Sec-WebSocket-Key: " GOOD_KEY "\r\n\r\n",
      .error = "WebSocket upgrade request has more than one "
               "Sec-WebSocket-Key header" },
    { .name = "folded",
      .request = "GET / HTTP/1.1\r\n" HDRS_OK " folded\r\n\r\n",
      .error = "WebSocket upgrade request uses folded header lines" },
    { .name = "no-colon",
      .request = "GET / HTTP/1.1\r\nHost h\r\n\r\n",
      .error = "Malformed header line in WebSocket upgrade request" },
    { .name = "space-in-name",
      .request = "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
      .error = "Invalid header name 'Host ' in WebSocket upgrade request" },
    { .name = "bare-lf",
      .request = "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n",
      .error = "WebSocket upgrade request contains a bare CR or LF" },
    { .name = "control-char",
      .request = "GET / HTTP/1.1\r\nHost: h\x01\r\n\r\n",
      .error = "WebSocket upgrade request contains control character "
               "0x01" },
    { .name = "empty",
      .request = "\r\n\r\n",
      .error = "WebSocket upgrade request is empty" },
};

static void test_handshake_bad(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bad_requests); i++) {
        const BadRequest *c = &bad_requests[i];
        g_autoptr(GError) err = NULL;
        WdWebsockHandshake hs;
        size_t consumed = 0;

        g_test_message("case %s", c->name);
        g_assert_cmpint(wd_websock_parse_handshake(c->request,
                                                   strlen(c->request), &hs,
                                                   &consumed, &err), ==, -1);
        g_assert_nonnull(err);
        g_assert_cmpstr(err->message, ==, c->error);
        g_assert_null(hs.path);
        g_assert_null(hs.key);
    }
}

static void test_handshake_limits(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GString) req = g_string_new("GET / HTTP/1.1\r\n" HDRS_OK
                                          "Sec-WebSocket-Key: " GOOD_KEY
                                          "\r\n");
    g_autofree char *huge = NULL;
    WdWebsockHandshake hs;
    size_t consumed;

    /* 5 headers so far; 27 more is exactly the limit of 32. */
    for (int i = 0; i < 27; i++) {
        g_string_append_printf(req, "X-Pad-%d: %d\r\n", i, i);
    }
    g_string_append(req, "\r\n");
    g_assert_cmpint(wd_websock_parse_handshake(req->str, req->len, &hs,
                                               &consumed, &err), ==, 1);
    wd_websock_handshake_clear(&hs);
    g_string_truncate(req, req->len - 2);
    g_string_append(req, "X-One-Too-Many: 1\r\n\r\n");
    g_assert_cmpint(wd_websock_parse_handshake(req->str, req->len, &hs,
                                               &consumed, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "WebSocket upgrade request has more "
                    "than 32 header lines");
    g_clear_error(&err);

    /* An embedded NUL is refused as soon as it is seen. */
    g_assert_cmpint(wd_websock_parse_handshake("GET /\0", 6, &hs, &consumed,
                                               &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "WebSocket upgrade request contains "
                    "control character 0x00");
    g_clear_error(&err);

    /* 4096 bytes without an end of header: refused, not buffered on. */
    huge = g_strnfill(WD_WEBSOCK_MAX_HEADER_BYTES, 'a');
    g_assert_cmpint(wd_websock_parse_handshake(huge, 4095, &hs, &consumed,
                                               &err), ==, 0);
    g_assert_cmpint(wd_websock_parse_handshake(huge, 4096, &hs, &consumed,
                                               &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "WebSocket upgrade request exceeds "
                    "4096 bytes");
}

/* ---- frame codec ---- */

static void test_frame_fragmented(void)
{
    g_autoptr(GByteArray) wire = g_byte_array_new();
    g_autoptr(GByteArray) out = g_byte_array_new();
    WdWebsockDecoder dec = { .require_mask = true };
    WdWebsockFrame f;
    size_t off = 0, consumed;
    int seen_ping = 0, frames = 0;

    append_frame(wire, WD_WEBSOCK_OP_TEXT, false, "Hel");
    append_frame(wire, WD_WEBSOCK_OP_PING, true, "are you there");
    append_frame(wire, WD_WEBSOCK_OP_CONTINUATION, false, "lo ");
    append_frame(wire, WD_WEBSOCK_OP_CONTINUATION, true, "world");
    append_frame(wire, WD_WEBSOCK_OP_BINARY, true, "!");

    /* Fed one more byte at a time: 0 until a frame is complete. */
    for (size_t avail = 0; avail <= wire->len;) {
        int r = wd_websock_decode_frame(&dec, wire->data + off, avail - off,
                                        &consumed, out, &f, NULL);

        g_assert_cmpint(r, >=, 0);
        if (r == 0) {
            avail++;
            continue;
        }
        frames++;
        off += consumed;
        if (f.opcode == WD_WEBSOCK_OP_PING) {
            seen_ping++;
            g_assert_cmpmem(f.control, f.control_len, "are you there", 13);
        }
    }
    g_assert_cmpint(frames, ==, 5);
    g_assert_cmpint(seen_ping, ==, 1);
    g_assert_cmpuint(off, ==, wire->len);
    g_assert_cmpmem(out->data, out->len, "Hello world!", 12);
    g_assert_false(dec.in_message);
    g_assert_cmpint(dec.message_opcode, ==, WD_WEBSOCK_OP_BINARY);
}

typedef struct {
    const char *name;
    const uint8_t *bytes;
    size_t len;
    bool in_message;
    uint16_t close_code;
    const char *error;
} BadFrame;

#define BYTES(...) .bytes = (const uint8_t[]){ __VA_ARGS__ }, \
    .len = sizeof((const uint8_t[]){ __VA_ARGS__ })

static const BadFrame bad_frames[] = {
    { .name = "unmasked", BYTES(0x82, 0x01, 'x'),
      .close_code = 1002,
      .error = "WebSocket protocol error: client frame is not masked" },
    { .name = "len-2^63", BYTES(0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0),
      .close_code = 1002,
      .error = "WebSocket protocol error: payload length has the top bit "
               "set" },
    { .name = "len-too-big", BYTES(0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 1),
      .close_code = 1009,
      .error = "WebSocket protocol error: frame payload exceeds 1 MiB" },
    { .name = "rsv", BYTES(0xc2, 0x80, 1, 2, 3, 4),
      .close_code = 1002,
      .error = "WebSocket protocol error: reserved bits set (no extension "
               "negotiated)" },
    { .name = "opcode", BYTES(0x83, 0x80, 1, 2, 3, 4),
      .close_code = 1002,
      .error = "WebSocket protocol error: unknown opcode" },
    { .name = "orphan-continuation", BYTES(0x80, 0x80, 1, 2, 3, 4),
      .close_code = 1002,
      .error = "WebSocket protocol error: continuation frame without a "
               "message" },
    { .name = "interleaved-message", BYTES(0x81, 0x80, 1, 2, 3, 4),
      .in_message = true, .close_code = 1002,
      .error = "WebSocket protocol error: new message before the "
               "fragmented one ended" },
    { .name = "fragmented-ping", BYTES(0x09, 0x80, 1, 2, 3, 4),
      .close_code = 1002,
      .error = "WebSocket protocol error: fragmented control frame" },
    { .name = "long-ping", BYTES(0x89, 0xfe, 0, 126),
      .close_code = 1002,
      .error = "WebSocket protocol error: control frame payload over 125 "
               "bytes" },
    { .name = "close-1-byte", BYTES(0x88, 0x81, 0, 0, 0, 0, 3),
      .close_code = 1002,
      .error = "WebSocket protocol error: close frame with a 1-byte "
               "payload" },
    { .name = "close-1005", BYTES(0x88, 0x82, 0, 0, 0, 0, 0x03, 0xed),
      .close_code = 1002,
      .error = "WebSocket protocol error: invalid close status code" },
};

static void test_frame_errors(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bad_frames); i++) {
        const BadFrame *c = &bad_frames[i];
        g_autoptr(GError) err = NULL;
        g_autoptr(GByteArray) out = g_byte_array_new();
        WdWebsockDecoder dec = {
            .require_mask = true,
            .in_message = c->in_message,
            .message_opcode = WD_WEBSOCK_OP_TEXT,
        };
        WdWebsockFrame f;
        size_t consumed = 0;

        g_test_message("case %s", c->name);
        g_assert_cmpint(wd_websock_decode_frame(&dec, c->bytes, c->len,
                                                &consumed, out, &f, &err),
                        ==, -1);
        g_assert_cmpuint(f.close_code, ==, c->close_code);
        g_assert_cmpstr(err->message, ==, c->error);
        g_assert_cmpuint(out->len, ==, 0);
    }
}

static void test_frame_encode(void)
{
    static const struct {
        size_t len;
        size_t hdr;
        uint8_t b1;
    } cases[] = {
        { 0, 2, 0 }, { 125, 2, 125 }, { 126, 4, 126 }, { 65535, 4, 126 },
        { 65536, 10, 127 },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GByteArray) b = g_byte_array_new();
        g_autoptr(GByteArray) out = g_byte_array_new();
        g_autofree uint8_t *payload = g_malloc(cases[i].len + 1);
        WdWebsockDecoder dec = { .require_mask = false };
        WdWebsockFrame f;
        size_t consumed;

        memset(payload, 'p', cases[i].len);
        wd_websock_encode_frame(b, WD_WEBSOCK_OP_BINARY, true, payload,
                                cases[i].len, NULL);
        g_assert_cmpuint(b->len, ==, cases[i].hdr + cases[i].len);
        g_assert_cmpuint(b->data[0], ==, 0x82);
        g_assert_cmpuint(b->data[1], ==, cases[i].b1);
        g_assert_cmpint(wd_websock_decode_frame(&dec, b->data, b->len,
                                                &consumed, out, &f, NULL),
                        ==, 1);
        g_assert_cmpuint(consumed, ==, b->len);
        g_assert_cmpmem(out->data, out->len, payload, cases[i].len);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/websock/accept-key", test_accept_key);
    g_test_add_func("/io/websock/handshake/good", test_handshake_good);
    g_test_add_func("/io/websock/handshake/no-protocol",
                    test_handshake_no_protocol);
    g_test_add_func("/io/websock/handshake/incremental",
                    test_handshake_incremental);
    g_test_add_func("/io/websock/handshake/bad", test_handshake_bad);
    g_test_add_func("/io/websock/handshake/limits", test_handshake_limits);
    g_test_add_func("/io/websock/frame/fragmented", test_frame_fragmented);
    g_test_add_func("/io/websock/frame/errors", test_frame_errors);
    g_test_add_func("/io/websock/frame/encode", test_frame_encode);
    return g_test_run();
}
