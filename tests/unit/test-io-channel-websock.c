/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Websocket tests: the I/O-free handshake parser and frame codec with
 * hostile inputs, then the channel over a socketpair (and over an
 * in-memory pair) driven by a hand-written client, and optionally the
 * real python3-websockets client (tests/integration/websock-client.py).
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/io/channel-buffer.h"
#include "runtime/io/channel-socket.h"
#include "runtime/io/channel-websock.h"

#define TEST_TIMEOUT_MS 10000

#define GOOD_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define GOOD_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

#define GOOD_REQUEST \
    "GET /chat HTTP/1.1\r\n" \
    "Host: server.example.com\r\n" \
    "Upgrade: websocket\r\n" \
    "Connection: keep-alive, Upgrade\r\n" \
    "Sec-WebSocket-Key: " GOOD_KEY "\r\n" \
    "Origin: http://example.com\r\n" \
    "Sec-WebSocket-Protocol: chat, binary\r\n" \
    "Sec-WebSocket-Version: 13\r\n" \
    "\r\n"

#define GOOD_RESPONSE \
    "HTTP/1.1 101 Switching Protocols\r\n" \
    "Upgrade: websocket\r\n" \
    "Connection: Upgrade\r\n" \
    "Sec-WebSocket-Accept: " GOOD_ACCEPT "\r\n" \
    "Sec-WebSocket-Protocol: binary\r\n" \
    "\r\n"

static const uint8_t test_mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

static gboolean timeout_cb(gpointer opaque)
{
    *(bool *)opaque = true;
    return G_SOURCE_REMOVE;
}

static void run_until(bool *flag)
{
    bool timed_out = false;
    guint id = g_timeout_add(TEST_TIMEOUT_MS, timeout_cb, &timed_out);

    while (!*flag && !timed_out) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_false(timed_out);
    g_source_remove(id);
}

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

static GByteArray *masked(WdWebsockOpcode op, bool fin, const char *payload)
{
    GByteArray *b = g_byte_array_new();

    wd_websock_encode_frame(b, op, fin, payload, strlen(payload), test_mask);
    return b;
}

static void append_frame(GByteArray *to, WdWebsockOpcode op, bool fin,
                         const char *payload)
{
    g_autoptr(GByteArray) f = masked(op, fin, payload);

    g_byte_array_append(to, f->data, f->len);
}

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

/* ---- the channel ---- */

typedef struct {
    bool done;
    char *error;
} HandshakeState;

static void on_handshake(WdChannel *ws, GError *err, gpointer opaque)
{
    HandshakeState *s = opaque;

    s->error = err ? g_strdup(err->message) : NULL;
    s->done = true;
}

/* Read the HTTP response head from the raw client socket. */
static char *read_http_response(int fd)
{
    GString *s = g_string_new(NULL);
    char c;

    while (!g_str_has_suffix(s->str, "\r\n\r\n") && s->len < 4096 &&
           read(fd, &c, 1) == 1) {
        g_string_append_c(s, c);
    }
    return g_string_free(s, FALSE);
}

/* Read one server frame from the raw client socket. */
static void read_server_frame(int fd, WdWebsockFrame *f, GByteArray *out)
{
    g_autoptr(GByteArray) raw = g_byte_array_new();
    WdWebsockDecoder dec = { .require_mask = false };
    size_t consumed;
    uint8_t c;

    for (;;) {
        int r = wd_websock_decode_frame(&dec, raw->data, raw->len, &consumed,
                                        out, f, NULL);

        g_assert_cmpint(r, >=, 0);
        if (r == 1) {
            g_assert_cmpuint(consumed, ==, raw->len);
            return;
        }
        g_assert_cmpint(read(fd, &c, 1), ==, 1);
        g_byte_array_append(raw, &c, 1);
    }
}

static void send_bytes(int fd, const void *buf, size_t len)
{
    g_assert_cmpint(write(fd, buf, len), ==, (ssize_t)len);
}

static void send_frame(int fd, WdWebsockOpcode op, bool fin, const char *p)
{
    g_autoptr(GByteArray) f = masked(op, fin, p);

    send_bytes(fd, f->data, f->len);
}

/* A websocket server channel on one end of a socketpair; *@client_fd is
 * the raw other end. */
static WdChannel *ws_pair(int *client_fd)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdChannel) server = NULL;
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    server = wd_channel_socket_new_fd(sv[1], &err);
    g_assert_no_error(err);
    g_assert_true(wd_channel_set_blocking(server, false, &err));
    *client_fd = sv[0];
    return wd_channel_websock_new_server(server);
}

static WdChannel *ws_open(int *client_fd)
{
    WdChannel *ws = ws_pair(client_fd);
    HandshakeState hs = { 0 };
    g_autofree char *resp = NULL;

    wd_channel_websock_handshake(ws, on_handshake, &hs, NULL);
    send_bytes(*client_fd, GOOD_REQUEST, strlen(GOOD_REQUEST));
    run_until(&hs.done);
    g_assert_null(hs.error);
    resp = read_http_response(*client_fd);
    g_assert_cmpstr(resp, ==, GOOD_RESPONSE);
    return ws;
}

static void test_channel_session(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) payload = g_byte_array_new();
    g_autoptr(GByteArray) req = g_byte_array_new();
    HandshakeState hs = { 0 };
    g_autofree char *resp = NULL;
    WdWebsockFrame f;
    WdChannel *ws;
    char buf[64];
    int fd;

    ws = ws_pair(&fd);
    g_assert_cmpint(wd_channel_read(ws, buf, 1, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "WebSocket 'websocket unix:(unnamed)' "
                    "is not open (handshake not completed)");
    g_clear_error(&err);

    /* The request arrives in two pieces, the second with a frame glued
     * to it: the frame's data must not be lost. */
    wd_channel_websock_handshake(ws, on_handshake, &hs, NULL);
    send_bytes(fd, GOOD_REQUEST, 20);
    g_main_context_iteration(NULL, FALSE);
    g_byte_array_append(req, (const guint8 *)GOOD_REQUEST + 20,
                        strlen(GOOD_REQUEST) - 20);
    append_frame(req, WD_WEBSOCK_OP_BINARY, true, "early");
    send_bytes(fd, req->data, req->len);
    run_until(&hs.done);
    g_assert_null(hs.error);
    g_assert_cmpstr(wd_channel_websock_get_protocol(ws), ==, "binary");
    resp = read_http_response(fd);
    g_assert_cmpstr(resp, ==, GOOD_RESPONSE);
    g_assert_cmpuint(wd_channel_pending(ws), ==, 5);
    g_assert_cmpint(wd_channel_read(ws, buf, sizeof(buf), &err), ==, 5);
    g_assert_cmpmem(buf, 5, "early", 5);
    g_assert_cmpint(wd_channel_read(ws, buf, sizeof(buf), &err), ==,
                    WD_CHANNEL_ERR_BLOCK);

    /* Fragmented, masked, with a ping in the middle. */
    send_frame(fd, WD_WEBSOCK_OP_TEXT, false, "{\"exec");
    send_frame(fd, WD_WEBSOCK_OP_PING, true, "p1");
    send_frame(fd, WD_WEBSOCK_OP_CONTINUATION, false, "ute\": ");
    send_frame(fd, WD_WEBSOCK_OP_CONTINUATION, true, "\"x\"}");
    g_assert_cmpint(wd_channel_read_all(ws, buf, 16, &err), ==, 1);
    g_assert_no_error(err);
    g_assert_cmpmem(buf, 16, "{\"execute\": \"x\"}", 16);
    read_server_frame(fd, &f, payload);
    g_assert_cmpint(f.opcode, ==, WD_WEBSOCK_OP_PONG);
    g_assert_cmpmem(f.control, f.control_len, "p1", 2);

    /* Writes: one unmasked binary frame each, or text when asked. */
    g_assert_true(wd_channel_write_all(ws, "reply", 5, &err));
    read_server_frame(fd, &f, payload);
    g_assert_cmpint(f.opcode, ==, WD_WEBSOCK_OP_BINARY);
    g_assert_true(f.fin);
    g_assert_cmpmem(payload->data, payload->len, "reply", 5);
    g_byte_array_set_size(payload, 0);
    wd_channel_websock_set_text(ws, true);
    g_assert_true(wd_channel_write_all(ws, "{}", 2, &err));
    read_server_frame(fd, &f, payload);
    g_assert_cmpint(f.opcode, ==, WD_WEBSOCK_OP_TEXT);
    g_assert_cmpmem(payload->data, payload->len, "{}", 2);

    /* Close: echoed with the same status, then EOF. */
    send_bytes(fd, "\x88\x82\x00\x00\x00\x00\x03\xe8", 8);
    g_assert_cmpint(wd_channel_read_all(ws, buf, 1, &err), ==, 0);
    g_assert_no_error(err);
    read_server_frame(fd, &f, payload);
    g_assert_cmpint(f.opcode, ==, WD_WEBSOCK_OP_CLOSE);
    g_assert_cmpuint(f.close_code, ==, 1000);
    g_assert_cmpint(wd_channel_write(ws, "late", 4, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "Unable to write to WebSocket "
                    "'websocket unix:(unnamed)' after the close handshake: "
                    "Broken pipe");
    wd_channel_unref(ws);
    close(fd);
}

static void test_channel_bad_request(void)
{
    g_autofree char *junk = g_strnfill(5000, 'A');
    g_autofree char *resp = NULL;
    HandshakeState hs = { 0 };
    WdChannel *ws;
    int fd;

    ws = ws_pair(&fd);
    wd_channel_websock_handshake(ws, on_handshake, &hs, NULL);
    send_bytes(fd, junk, 5000);
    run_until(&hs.done);
    g_assert_cmpstr(hs.error, ==, "WebSocket upgrade request exceeds 4096 "
                    "bytes");
    resp = read_http_response(fd);
    g_assert_cmpstr(resp, ==, WD_WEBSOCK_RESPONSE_BAD_REQUEST);
    g_free(hs.error);
    wd_channel_unref(ws);
    close(fd);

    /* The peer leaving mid-request is an error too (and no 400). */
    hs = (HandshakeState){ 0 };
    ws = ws_pair(&fd);
    wd_channel_websock_handshake(ws, on_handshake, &hs, NULL);
    send_bytes(fd, "GET / HTTP/1.1\r\n", 16);
    shutdown(fd, SHUT_WR);
    run_until(&hs.done);
    g_assert_cmpstr(hs.error, ==, "Client closed the connection during the "
                    "WebSocket handshake");
    g_free(hs.error);
    wd_channel_unref(ws);
    close(fd);
}

typedef struct {
    const char *name;
    const char *bytes;
    size_t len;
    uint16_t close_code;
    const char *error;
} BadStream;

static const BadStream bad_streams[] = {
    { .name = "unmasked", .bytes = "\x82\x03" "abc", .len = 5,
      .close_code = 1002,
      .error = "WebSocket protocol error: client frame is not masked" },
    { .name = "2^63", .bytes = "\x82\xff\x80\0\0\0\0\0\0\0", .len = 10,
      .close_code = 1002,
      .error = "WebSocket protocol error: payload length has the top bit "
               "set" },
    { .name = "2MiB", .bytes = "\x82\xff\0\0\0\0\0\x20\0\0", .len = 10,
      .close_code = 1009,
      .error = "WebSocket protocol error: frame payload exceeds 1 MiB" },
};

static void test_channel_protocol_errors(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bad_streams); i++) {
        const BadStream *c = &bad_streams[i];
        g_autoptr(GError) err = NULL;
        g_autoptr(GByteArray) payload = g_byte_array_new();
        WdWebsockFrame f;
        WdChannel *ws;
        char buf[8];
        int fd;

        g_test_message("case %s", c->name);
        ws = ws_open(&fd);
        send_bytes(fd, c->bytes, c->len);
        g_assert_cmpint(wd_channel_read_all(ws, buf, 1, &err), ==, -1);
        g_assert_cmpstr(err->message, ==, c->error);
        g_clear_error(&err);
        /* Reported again, not turned into EOF. */
        g_assert_cmpint(wd_channel_read(ws, buf, 1, &err), ==, -1);
        read_server_frame(fd, &f, payload);
        g_assert_cmpint(f.opcode, ==, WD_WEBSOCK_OP_CLOSE);
        g_assert_cmpuint(f.close_code, ==, c->close_code);
        wd_channel_unref(ws);
        close(fd);
    }
}

typedef struct {
    int fd;
    GByteArray *payload;
    int frames;
} FrameReader;

static gpointer frame_reader_thread(gpointer opaque)
{
    FrameReader *r = opaque;
    WdWebsockFrame f;

    for (;;) {
        read_server_frame(r->fd, &f, r->payload);
        if (f.opcode == WD_WEBSOCK_OP_CLOSE) {
            return NULL;
        }
        g_assert_cmpint(f.opcode, ==, WD_WEBSOCK_OP_BINARY);
        r->frames++;
    }
}

/* Writes larger than the socket buffer block mid-frame; write_all's
 * retries must complete each frame exactly once, and writes over 1 MiB
 * are split into frames of at most 1 MiB. */
static void test_channel_large_write(void)
{
    g_autoptr(GError) err = NULL;
    size_t len = WD_WEBSOCK_MAX_PAYLOAD + WD_WEBSOCK_MAX_PAYLOAD / 2;
    g_autofree uint8_t *data = g_malloc(len);
    FrameReader r = { .payload = g_byte_array_new() };
    WdChannel *ws;
    GThread *t;

    for (size_t i = 0; i < len; i++) {
        data[i] = (uint8_t)(i * 7 + i / 251);
    }
    ws = ws_open(&r.fd);
    t = g_thread_new("frame-reader", frame_reader_thread, &r);
    g_assert_true(wd_channel_write_all(ws, data, len, &err));
    g_assert_no_error(err);
    g_assert_true(wd_channel_close(ws, &err));
    g_thread_join(t);
    g_assert_cmpint(r.frames, ==, 2);
    g_assert_cmpmem(r.payload->data, r.payload->len, data, len);
    g_byte_array_unref(r.payload);
    wd_channel_unref(ws);
    close(r.fd);
}

static gboolean on_ws_readable(WdChannel *ch, GIOCondition cond,
                               gpointer opaque)
{
    *(bool *)opaque = true;
    return G_SOURCE_REMOVE;
}

/* A frame that arrives together with the close frame: the data is read
 * first, then the watch must still fire for the EOF although the socket
 * has nothing more to say. */
static void test_channel_watch_eof(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) wire = g_byte_array_new();
    bool fired = false;
    WdChannel *ws;
    char buf[16];
    int fd;

    ws = ws_open(&fd);
    append_frame(wire, WD_WEBSOCK_OP_BINARY, true, "last");
    g_byte_array_append(wire, (const guint8 *)"\x88\x80\0\0\0\0", 6);
    send_bytes(fd, wire->data, wire->len);
    g_assert_cmpint(wd_channel_read_all(ws, buf, 4, &err), ==, 1);
    wd_channel_add_watch(ws, G_IO_IN, on_ws_readable, &fired, NULL, NULL);
    run_until(&fired);
    g_assert_cmpint(wd_channel_read(ws, buf, sizeof(buf), &err), ==, 0);
    wd_channel_unref(ws);
    close(fd);
}

/* The websocket layer over an fd-less master (child watch path). */
static void test_channel_over_buffer(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) wire = g_byte_array_new();
    g_autoptr(GByteArray) payload = g_byte_array_new();
    WdChannel *client, *server, *ws;
    HandshakeState hs = { 0 };
    char buf[4096 + 1] = "";
    bool fired = false;
    WdWebsockDecoder dec = { .require_mask = false };
    WdWebsockFrame f;
    size_t consumed;
    ssize_t n;

    wd_channel_buffer_pair_new(&client, &server);
    g_assert_true(wd_channel_set_blocking(server, false, &err));
    g_assert_true(wd_channel_set_blocking(client, false, &err));
    ws = wd_channel_websock_new_server(server);
    wd_channel_unref(server);
    wd_channel_websock_handshake(ws, on_handshake, &hs, NULL);
    g_assert_true(wd_channel_write_all(client, GOOD_REQUEST,
                                       strlen(GOOD_REQUEST), &err));
    run_until(&hs.done);
    g_assert_null(hs.error);
    n = wd_channel_read(client, buf, sizeof(buf) - 1, &err);
    g_assert_cmpstr(buf, ==, GOOD_RESPONSE);
    g_assert_cmpint(n, ==, strlen(GOOD_RESPONSE));

    wd_channel_add_watch(ws, G_IO_IN, on_ws_readable, &fired, NULL, NULL);
    append_frame(wire, WD_WEBSOCK_OP_BINARY, true, "over memory");
    g_assert_true(wd_channel_write_all(client, wire->data, wire->len, &err));
    run_until(&fired);
    g_assert_cmpint(wd_channel_read(ws, buf, sizeof(buf), &err), ==, 11);
    g_assert_cmpmem(buf, 11, "over memory", 11);

    g_assert_true(wd_channel_write_all(ws, "back", 4, &err));
    n = wd_channel_read(client, buf, sizeof(buf), &err);
    g_assert_cmpint(wd_websock_decode_frame(&dec, (uint8_t *)buf, n,
                                            &consumed, payload, &f, NULL),
                    ==, 1);
    g_assert_cmpmem(payload->data, payload->len, "back", 4);
    wd_channel_unref(ws);
    wd_channel_unref(client);
}

/* ---- real client: python3-websockets ---- */

typedef struct {
    WdChannel *ws;
    bool closed;
} EchoConn;

static gboolean echo_readable(WdChannel *ws, GIOCondition cond,
                              gpointer opaque)
{
    EchoConn *c = opaque;
    g_autoptr(GError) err = NULL;
    char buf[65536];
    ssize_t n = wd_channel_read(ws, buf, sizeof(buf), &err);

    if (n == WD_CHANNEL_ERR_BLOCK) {
        return G_SOURCE_CONTINUE;
    }
    if (n > 0 && wd_channel_write_all(ws, buf, n, &err)) {
        return G_SOURCE_CONTINUE;
    }
    if (err) {
        g_test_message("echo: %s", err->message);
    }
    /* The server closes TCP after the close handshake (RFC 6455 7.1.1);
     * clients wait for that. */
    wd_channel_close(ws, NULL);
    c->closed = true;
    return G_SOURCE_REMOVE;
}

static void echo_handshake_done(WdChannel *ws, GError *err, gpointer opaque)
{
    EchoConn *c = opaque;

    if (err) {
        /* The script's deliberate bad request. */
        g_test_message("handshake: %s", err->message);
        c->closed = true;
        return;
    }
    wd_channel_websock_set_text(ws, true);
    wd_channel_add_watch(ws, G_IO_IN, echo_readable, c, NULL, NULL);
}

static void echo_accept(WdChannel *client, gpointer opaque)
{
    GPtrArray *conns = opaque;
    EchoConn *c = g_new0(EchoConn, 1);

    c->ws = wd_channel_websock_new_server(client);
    g_ptr_array_add(conns, c);
    wd_channel_websock_handshake(c->ws, echo_handshake_done, c, NULL);
}

static void child_exited(GPid pid, gint status, gpointer opaque)
{
    *(gint *)opaque = status;
    g_spawn_close_pid(pid);
}

static void test_python_client(void)
{
    const char *srcdir = g_getenv("G_TEST_SRCDIR");
    g_autofree char *script = NULL;
    g_autofree char *url = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(WdSocketAddress) addr = wd_socket_address_new_inet("127.0.0.1",
                                                                 "0");
    g_autoptr(WdSocketListener) l = NULL;
    g_autoptr(WdSocketAddress) bound = NULL;
    g_autoptr(GPtrArray) conns = g_ptr_array_new();
    gint status = -1;
    bool timed_out = false;
    guint timeout;
    GPid pid;

    script = g_build_filename(srcdir ? srcdir : ".", "..", "integration",
                              "websock-client.py", NULL);
    if (!g_file_test(script, G_FILE_TEST_EXISTS) ||
        !g_file_test("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_skip("needs /usr/bin/python3 and websock-client.py "
                    "(set G_TEST_SRCDIR to tests/unit)");
        return;
    }
    l = wd_socket_listener_new(addr, 1, 0, &err);
    g_assert_no_error(err);
    bound = wd_socket_listener_get_bound_address(l, 0, &err);
    url = g_strdup_printf("ws://127.0.0.1:%s/", bound->port);
    wd_socket_listener_set_accept(l, echo_accept, conns, NULL);

    const char *argv[] = { "/usr/bin/python3", script, url, NULL };
    g_assert_true(g_spawn_async(NULL, (char **)argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                &err));
    g_child_watch_add(pid, child_exited, &status);
    timeout = g_timeout_add(TEST_TIMEOUT_MS, timeout_cb, &timed_out);
    while (status == -1 && !timed_out) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_false(timed_out);
    g_source_remove(timeout);

    for (guint i = 0; i < conns->len; i++) {
        EchoConn *c = conns->pdata[i];

        g_main_context_iteration(NULL, FALSE);
        g_source_remove_by_user_data(c);
        wd_channel_unref(c->ws);
        g_free(c);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
        g_test_skip("python3-websockets is not installed");
        return;
    }
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_assert_cmpuint(conns->len, ==, 2);
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
    g_test_add_func("/io/websock/channel/session", test_channel_session);
    g_test_add_func("/io/websock/channel/bad-request",
                    test_channel_bad_request);
    g_test_add_func("/io/websock/channel/protocol-errors",
                    test_channel_protocol_errors);
    g_test_add_func("/io/websock/channel/watch-eof", test_channel_watch_eof);
    g_test_add_func("/io/websock/channel/large-write",
                    test_channel_large_write);
    g_test_add_func("/io/websock/channel/over-buffer",
                    test_channel_over_buffer);
    g_test_add_func("/io/websock/python-client", test_python_client);
    return g_test_run();
}
