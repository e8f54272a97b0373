/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Websocket channel tests: the channel over a socketpair (and over an
 * in-memory pair) driven by a hand-written client, and optionally the
 * real python3-websockets client (tests/integration/websock-client.py).
 * The protocol parser and codec are tested in test-websock-proto.c.
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/io/channel-buffer.h"
#include "runtime/io/channel-socket.h"
#include "runtime/io/channel-websock.h"

#include "websock-test.h"

#define TEST_TIMEOUT_MS 10000

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
