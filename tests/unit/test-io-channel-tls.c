/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS channel tests over socket channels on a socketpair: async
 * handshakes from the main loop, failures reported through the task
 * callback, a payload of several records read in small pieces (the watch
 * must wake for decrypted bytes pending inside gnutls), gathered writes,
 * close_notify on close, and the blocking handshake from two threads.
 */
#include "runtime/io/channel-socket.h"
#include "runtime/io/channel-tls.h"
#include "tests/unit/crypto-tls-pki.h"

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bound on every main-loop wait, so a broken test fails, not hangs. */
#define TEST_TIMEOUT_MS 10000
/* Several full 16 KiB records. */
#define BIG_PAYLOAD (5 * 16384 + 123)
/* Bytes the reader takes per wakeup: far less than one record. */
#define SMALL_READ 100

static TlsPki *pki;
static WdTlsCreds *server_creds;    /* verify-peer, server cert */
static WdTlsCreds *client_creds;    /* client cert, verify-peer */

typedef struct {
    bool done;
    char *error;
} HsResult;

static void hs_done(WdChannel *ch, GError *err, gpointer opaque)
{
    HsResult *r = opaque;

    g_assert_true(wd_channel_is_tls(ch));
    g_assert_false(r->done);
    r->done = true;
    r->error = err ? g_strdup(err->message) : NULL;
}

static gboolean timeout_cb(gpointer opaque)
{
    *(bool *)opaque = true;
    return G_SOURCE_REMOVE;
}

/* Iterate the default context until all flags are set (bounded). */
static void run_until(bool *a, bool *b)
{
    bool timed_out = false;
    guint id = g_timeout_add(TEST_TIMEOUT_MS, timeout_cb, &timed_out);

    while (!(*a && (!b || *b)) && !timed_out) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_false(timed_out);
    g_source_remove(id);
}

static void socket_pair(WdChannel **a, WdChannel **b, bool nonblock)
{
    int fd[2];
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), ==, 0);
    for (int i = 0; i < 2; i++) {
        /* Room for the whole big payload (the kernel caps and doubles
         * it; ~400 KiB by default). */
        int size = 1 << 20;

        g_assert_cmpint(setsockopt(fd[i], SOL_SOCKET, SO_SNDBUF, &size,
                                   sizeof(size)), ==, 0);
        if (nonblock) {
            g_assert_cmpint(fcntl(fd[i], F_SETFL, O_NONBLOCK), ==, 0);
        }
    }
    *a = wd_channel_socket_new_fd(fd[0], &err);
    g_assert_no_error(err);
    *b = wd_channel_socket_new_fd(fd[1], &err);
    g_assert_no_error(err);
}

/* A TLS pair with both handshakes done through the main loop. */
static void tls_pair(WdChannel **srv, WdChannel **cli, const char *host,
                     HsResult *sr, HsResult *cr)
{
    g_autoptr(WdChannel) a = NULL;
    g_autoptr(WdChannel) b = NULL;
    g_autoptr(GError) err = NULL;

    socket_pair(&a, &b, true);
    *srv = wd_channel_tls_new_server(a, server_creds, &err);
    g_assert_no_error(err);
    *cli = wd_channel_tls_new_client(b, client_creds, host, &err);
    g_assert_no_error(err);
    wd_channel_tls_handshake(*srv, hs_done, sr, NULL);
    wd_channel_tls_handshake(*cli, hs_done, cr, NULL);
    /* Never from inside the call. */
    g_assert_false(sr->done || cr->done);
    run_until(&sr->done, &cr->done);
}

static void test_handshake(void)
{
    WdChannel *srv = NULL, *cli = NULL;
    HsResult sr = { 0 }, cr = { 0 };
    g_autoptr(GError) err = NULL;
    char buf[16];

    tls_pair(&srv, &cli, "server.test", &sr, &cr);
    g_assert_null(sr.error);
    g_assert_null(cr.error);
    g_autofree char *peer = wd_tls_session_get_peer_name(
        wd_channel_tls_get_session(srv));
    g_assert_cmpstr(peer, ==, "CN=client.test,O=Test Org,C=GB");
    g_assert_true(g_str_has_prefix(srv->name, "tls "));
    g_assert_false(wd_channel_has_feature(srv, WD_CHANNEL_FEATURE_FD_PASS));
    g_assert_true(wd_channel_has_feature(srv, WD_CHANNEL_FEATURE_SHUTDOWN));
    g_assert_cmpint(wd_channel_get_fd(srv), >=, 0);

    g_assert_true(wd_channel_write_all(cli, "hello", 5, &err));
    g_assert_cmpint(wd_channel_read_all(srv, buf, 5, &err), ==, 1);
    g_assert_cmpmem(buf, 5, "hello", 5);

    /* Closing sends close_notify: the peer sees a clean EOF. */
    g_assert_true(wd_channel_close(cli, &err));
    g_assert_cmpint(wd_channel_read_all(srv, buf, 1, &err), ==, 0);
    g_assert_no_error(err);
    wd_channel_unref(srv);
    wd_channel_unref(cli);
}

static void test_hostname_mismatch(void)
{
    WdChannel *srv = NULL, *cli = NULL;
    HsResult sr = { 0 }, cr = { 0 };
    g_autoptr(GError) err = NULL;
    char buf[4];

    tls_pair(&srv, &cli, "elsewhere.test", &sr, &cr);
    g_assert_cmpstr(cr.error, ==, "Certificate does not match the hostname "
                    "elsewhere.test: the certificate has DNS:localhost, "
                    "DNS:server.test, IP:127.0.0.1, IP:::1");
    /* A failed channel refuses I/O. */
    g_assert_cmpint(wd_channel_read(cli, buf, sizeof(buf), &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "TLS channel 'tls unix:(unnamed)' is "
                    "not open: the handshake failed");
    g_free(sr.error);
    g_free(cr.error);
    wd_channel_unref(srv);
    wd_channel_unref(cli);
}

static void test_plaintext_peer(void)
{
    g_autoptr(WdChannel) a = NULL;
    g_autoptr(WdChannel) b = NULL;
    g_autoptr(WdChannel) srv = NULL;
    g_autoptr(GError) err = NULL;
    HsResult sr = { 0 };

    socket_pair(&a, &b, true);
    srv = wd_channel_tls_new_server(a, server_creds, &err);
    g_assert_no_error(err);
    wd_channel_tls_handshake(srv, hs_done, &sr, NULL);
    g_assert_true(wd_channel_write_all(b, "GET / HTTP/1.0\r\n\r\n", 18,
                                       &err));
    run_until(&sr.done, NULL);
    g_assert_nonnull(sr.error);
    g_assert_true(g_str_has_prefix(sr.error, "TLS handshake failed: "));
    g_free(sr.error);
}

static void test_wrong_endpoint(void)
{
    g_autoptr(WdChannel) a = NULL;
    g_autoptr(WdChannel) b = NULL;
    g_autoptr(GError) err = NULL;
    char buf[4];

    socket_pair(&a, &b, true);
    g_assert_null(wd_channel_tls_new_server(a, client_creds, &err));
    g_assert_cmpstr(err->message, ==, "TLS credentials are for a client, but "
                    "this end of the connection is the server: use "
                    "credentials with endpoint=server");
    g_clear_error(&err);
    g_autoptr(WdChannel) cli = wd_channel_tls_new_client(b, client_creds,
                                                         NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpint(wd_channel_write(cli, "x", 1, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "TLS channel 'tls unix:(unnamed)' is "
                    "not open: the handshake has not completed");
    g_clear_error(&err);
    /* The master is still usable after the failed new_server. */
    g_assert_true(wd_channel_write_all(a, "ok", 2, &err));
    g_assert_cmpint(wd_channel_read_all(b, buf, 2, &err), ==, 1);
}

typedef struct {
    WdChannel *ch;
    guint8 *data;
    size_t len;
    size_t pos;
    unsigned wakeups;
    size_t max_pending;
    bool done;
} Stream;

static gboolean writer_cb(WdChannel *ch, GIOCondition cond, gpointer opaque)
{
    Stream *s = opaque;
    g_autoptr(GError) err = NULL;
    ssize_t n = wd_channel_write(ch, s->data + s->pos, s->len - s->pos, &err);

    g_assert_no_error(err);
    if (n > 0) {
        s->pos += n;
    }
    s->done = s->pos == s->len;
    return s->done ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

/* One small read per wakeup: most wakeups can only come from pending. */
static gboolean reader_cb(WdChannel *ch, GIOCondition cond, gpointer opaque)
{
    Stream *s = opaque;
    g_autoptr(GError) err = NULL;
    ssize_t n = wd_channel_read(ch, s->data + s->pos,
                                MIN(SMALL_READ, s->len - s->pos), &err);

    g_assert_no_error(err);
    g_assert_cmpint(n, !=, 0);
    s->wakeups++;
    if (n > 0) {
        s->pos += n;
    }
    s->max_pending = MAX(s->max_pending, wd_channel_pending(ch));
    s->done = s->pos == s->len;
    return s->done ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static void test_pending_wakes_watch(void)
{
    WdChannel *srv = NULL, *cli = NULL;
    HsResult sr = { 0 }, cr = { 0 };
    Stream w = { .len = BIG_PAYLOAD }, r = { .len = BIG_PAYLOAD };

    tls_pair(&srv, &cli, "localhost", &sr, &cr);
    g_assert_null(sr.error);
    g_assert_null(cr.error);
    w.data = g_malloc(BIG_PAYLOAD);
    r.data = g_malloc0(BIG_PAYLOAD);
    for (size_t i = 0; i < BIG_PAYLOAD; i++) {
        w.data[i] = g_random_int();
    }
    /* Write everything first; the socket buffer holds it all, so the
     * reader's fd goes quiet once gnutls has pulled the last record. */
    wd_channel_add_watch(srv, G_IO_OUT, writer_cb, &w, NULL, NULL);
    run_until(&w.done, NULL);
    wd_channel_add_watch(cli, G_IO_IN, reader_cb, &r, NULL, NULL);
    run_until(&r.done, NULL);
    g_assert_cmpmem(r.data, BIG_PAYLOAD, w.data, BIG_PAYLOAD);
    g_assert_cmpuint(r.wakeups, >=, BIG_PAYLOAD / SMALL_READ);
    g_assert_cmpuint(r.max_pending, >, 16000);
    g_assert_cmpuint(wd_channel_pending(cli), ==, 0);
    g_free(w.data);
    g_free(r.data);
    wd_channel_unref(srv);
    wd_channel_unref(cli);
}

static void test_writev_gathers(void)
{
    WdChannel *srv = NULL, *cli = NULL;
    HsResult sr = { 0 }, cr = { 0 };
    g_autoptr(GError) err = NULL;
    struct iovec iov[3] = {
        { .iov_base = "head", .iov_len = 4 },
        { .iov_base = "", .iov_len = 0 },
        { .iov_base = "body", .iov_len = 4 },
    };
    char buf[16] = { 0 };
    struct iovec in[2] = {
        { .iov_base = buf, .iov_len = 3 },
        { .iov_base = buf + 3, .iov_len = 10 },
    };

    tls_pair(&srv, &cli, "::1", &sr, &cr);
    g_assert_null(cr.error);
    /* One call sends both non-empty iovecs, in one record. */
    g_assert_cmpint(wd_channel_writev(cli, iov, 3, &err), ==, 8);
    g_assert_true(wd_channel_writev_all(cli, iov, 3, &err));
    ssize_t n = WD_CHANNEL_ERR_BLOCK;
    for (int i = 0; i < 1000 && n == WD_CHANNEL_ERR_BLOCK; i++) {
        wd_channel_wait(srv, G_IO_IN);
        n = wd_channel_readv(srv, in, 2, &err);
    }
    g_assert_no_error(err);
    g_assert_cmpint(n, ==, 8);
    g_assert_cmpstr(buf, ==, "headbody");
    g_assert_cmpint(wd_channel_read_all(srv, buf, 8, &err), ==, 1);
    g_assert_cmpmem(buf, 8, "headbody", 8);
    wd_channel_unref(srv);
    wd_channel_unref(cli);
}

static gpointer sync_server(gpointer opaque)
{
    WdChannel *srv = opaque;
    g_autoptr(GError) err = NULL;
    char line[6];

    if (!wd_channel_tls_handshake_sync(srv, &err) ||
        wd_channel_read_all(srv, line, sizeof(line), &err) != 1 ||
        !wd_channel_write_all(srv, line, sizeof(line), &err)) {
        return g_strdup(err ? err->message : "short read");
    }
    return NULL;
}

static void test_sync_handshake(void)
{
    g_autoptr(WdChannel) a = NULL;
    g_autoptr(WdChannel) b = NULL;
    g_autoptr(GError) err = NULL;
    char echo[6];

    socket_pair(&a, &b, false);
    g_autoptr(WdChannel) srv = wd_channel_tls_new_server(a, server_creds,
                                                         &err);
    g_autoptr(WdChannel) cli = wd_channel_tls_new_client(b, client_creds,
                                                         "127.0.0.1", &err);
    g_assert_no_error(err);
    GThread *t = g_thread_new("tls-server", sync_server, srv);

    g_assert_true(wd_channel_tls_handshake_sync(cli, &err));
    g_assert_no_error(err);
    g_assert_true(wd_channel_write_all(cli, "ping!\n", 6, &err));
    g_assert_cmpint(wd_channel_read_all(cli, echo, 6, &err), ==, 1);
    g_assert_cmpmem(echo, 6, "ping!\n", 6);
    g_autofree char *srv_err = g_thread_join(t);
    g_assert_null(srv_err);
}

static void test_no_certtool(void)
{
    g_test_skip("certtool not found (Debian: gnutls-bin)");
}

static WdTlsCreds *load(const char *dir, WdTlsEndpoint ep)
{
    g_autoptr(GError) err = NULL;
    WdTlsX509Config cfg = { .dir = dir, .endpoint = ep, .verify_peer = true,
                            .sanity_check = true };
    WdTlsCreds *creds = wd_tls_creds_x509_load(&cfg, &err);

    g_assert_no_error(err);
    return creds;
}

int main(int argc, char **argv)
{
    g_autoptr(TlsPki) owned = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    if (!tls_pki_available()) {
        g_test_add_func("/io/channel-tls/no-certtool", test_no_certtool);
        return g_test_run();
    }
    owned = pki = tls_pki_new();
    server_creds = load(tls_pki_case(pki, "ca-cert.pem", "ca-cert.pem",
                                     "server-cert.pem", "server-cert.pem",
                                     "server-key.pem", "key.pem", NULL),
                        WD_TLS_ENDPOINT_SERVER);
    client_creds = load(tls_pki_case(pki, "ca-cert.pem", "ca-cert.pem",
                                     "client-cert.pem", "client-cert.pem",
                                     "client-key.pem", "key.pem", NULL),
                        WD_TLS_ENDPOINT_CLIENT);
    g_test_add_func("/io/channel-tls/handshake", test_handshake);
    g_test_add_func("/io/channel-tls/hostname-mismatch",
                    test_hostname_mismatch);
    g_test_add_func("/io/channel-tls/plaintext-peer", test_plaintext_peer);
    g_test_add_func("/io/channel-tls/wrong-endpoint", test_wrong_endpoint);
    g_test_add_func("/io/channel-tls/pending-wakes-watch",
                    test_pending_wakes_watch);
    g_test_add_func("/io/channel-tls/writev-gathers", test_writev_gathers);
    g_test_add_func("/io/channel-tls/sync-handshake", test_sync_handshake);
    ret = g_test_run();
    wd_tls_creds_unref(server_creds);
    wd_tls_creds_unref(client_creds);
    return ret;
}
