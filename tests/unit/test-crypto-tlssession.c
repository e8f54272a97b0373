/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of TLS sessions: a server and a client session over a
 * non-blocking socketpair, driven alternately, with x509 (client
 * certificate or not, verify-peer on/off, hostname match/mismatch,
 * unknown CA, expired peer), PSK (right/wrong key, unknown user) and
 * anonymous credentials; peer names; record I/O, pending and bye.
 */
#include "runtime/crypto/tlssession.h"
#include "runtime/io/channel.h"
#include "tests/unit/crypto-tls-pki.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static TlsPki *pki;

static ssize_t fd_push(const void *buf, size_t len, void *opaque)
{
    return send(*(int *)opaque, buf, len, MSG_NOSIGNAL);
}

static ssize_t fd_pull(void *buf, size_t len, void *opaque)
{
    return recv(*(int *)opaque, buf, len, 0);
}

typedef struct {
    int fd[2];                  /* [0] server, [1] client */
    WdTlsSession *srv;
    WdTlsSession *cli;
    GError *srv_err;            /* handshake or check failure */
    GError *cli_err;
} Pair;

static void pair_open(Pair *p, WdTlsCreds *srv, WdTlsCreds *cli,
                      const char *hostname)
{
    g_autoptr(GError) err = NULL;

    memset(p, 0, sizeof(*p));
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fd), ==, 0);
    for (int i = 0; i < 2; i++) {
        g_assert_cmpint(fcntl(p->fd[i], F_SETFL, O_NONBLOCK), ==, 0);
    }
    p->srv = wd_tls_session_new(srv, NULL, fd_push, fd_pull, &p->fd[0],
                                &err);
    g_assert_no_error(err);
    p->cli = wd_tls_session_new(cli, hostname, fd_push, fd_pull, &p->fd[1],
                                &err);
    g_assert_no_error(err);
}

static void pair_close(Pair *p)
{
    wd_tls_session_free(p->srv);
    wd_tls_session_free(p->cli);
    g_clear_error(&p->srv_err);
    g_clear_error(&p->cli_err);
    close(p->fd[0]);
    close(p->fd[1]);
}

/* One step of one side; returns true when that side is finished. */
static bool step(WdTlsSession *s, int fd, GError **err, bool *done)
{
    int r;

    if (*done || *err) {
        return true;
    }
    r = wd_tls_session_handshake(s, err);
    if (r < 0) {
        /* Like a real peer: a failed side hangs up. */
        shutdown(fd, SHUT_RDWR);
        return true;
    }
    if (r == WD_TLS_HANDSHAKE_COMPLETE) {
        *done = true;
        if (!wd_tls_session_check_credentials(s, err)) {
            shutdown(fd, SHUT_RDWR);
        }
        return true;
    }
    return false;
}

/* Drives both handshakes alternately (bounded: a handshake is a few
 * round trips, each step makes progress or waits for the other side). */
static void pair_handshake(Pair *p)
{
    bool sdone = false, cdone = false;

    for (int i = 0; i < 200; i++) {
        bool c = step(p->cli, p->fd[1], &p->cli_err, &cdone);
        bool s = step(p->srv, p->fd[0], &p->srv_err, &sdone);

        if (c && s) {
            return;
        }
    }
    g_error("handshake did not finish in 200 steps");
}

static WdTlsCreds *x509(const char *dir, WdTlsEndpoint ep, bool verify)
{
    g_autoptr(GError) err = NULL;
    WdTlsX509Config cfg = { .dir = dir, .endpoint = ep,
                            .verify_peer = verify, .sanity_check = false };
    WdTlsCreds *creds = wd_tls_creds_x509_load(&cfg, &err);

    g_assert_no_error(err);
    return creds;
}

typedef struct {
    const char *name;
    const char *server_cert;    /* PKI cert for the server (key.pem) */
    const char *server_key;
    const char *client_ca;      /* what the client trusts */
    const char *client_cert;    /* NULL: the client has none */
    const char *client_key;
    bool server_verify;
    bool client_verify;
    const char *hostname;
    const char *srv_error;      /* NULL = accepted; "DIR" = client case */
    const char *cli_error;
    const char *srv_peer;       /* expected RFC 4514 name of the client */
} SessionCase;

static const SessionCase session_cases[] = {
    { .name = "client-cert", .server_cert = "server-cert.pem",
      .client_ca = "ca-cert.pem", .client_cert = "client-cert.pem",
      .server_verify = true, .client_verify = true,
      .hostname = "server.test",
      .srv_peer = "CN=client.test,O=Test Org,C=GB" },
    { .name = "hostname-localhost", .server_cert = "server-cert.pem",
      .client_ca = "ca-cert.pem", .client_cert = "client-cert.pem",
      .server_verify = true, .client_verify = true, .hostname = "localhost",
      .srv_peer = "CN=client.test,O=Test Org,C=GB" },
    { .name = "hostname-ipv4", .server_cert = "server-cert.pem",
      .client_ca = "ca-cert.pem", .client_cert = "client-cert.pem",
      .server_verify = true, .client_verify = true, .hostname = "127.0.0.1",
      .srv_peer = "CN=client.test,O=Test Org,C=GB" },
    { .name = "hostname-ipv6", .server_cert = "server-cert.pem",
      .client_ca = "ca-cert.pem", .client_cert = "client-cert.pem",
      .server_verify = true, .client_verify = true, .hostname = "::1",
      .srv_peer = "CN=client.test,O=Test Org,C=GB" },
    { .name = "hostname-mismatch", .server_cert = "server-cert.pem",
      .client_ca = "ca-cert.pem", .client_cert = "client-cert.pem",
      .server_verify = true, .client_verify = true,
      .hostname = "wrong.test",
      .cli_error = "Certificate does not match the hostname wrong.test: the "
                   "certificate has DNS:localhost, DNS:server.test, "
                   "IP:127.0.0.1, IP:::1" },
    { .name = "hostname-mismatch-ip", .server_cert = "server-cert.pem",
      .client_ca = "ca-cert.pem", .client_verify = true,
      .hostname = "127.0.0.2",
      .cli_error = "Certificate does not match the hostname 127.0.0.2: the "
                   "certificate has DNS:localhost, DNS:server.test, "
                   "IP:127.0.0.1, IP:::1" },
    { .name = "no-hostname", .server_cert = "server-cert.pem",
      .client_ca = "ca-cert.pem", .client_verify = true,
      .cli_error = "No hostname for certificate validation: give the "
                   "server's name or address (e.g. tls-hostname=) so its "
                   "certificate can be checked" },
    { .name = "no-hostname-no-verify", .server_cert = "server-cert.pem",
      .client_ca = "ca-cert.pem", .client_verify = false },
    { .name = "no-client-cert", .server_cert = "server-cert.pem",
      .client_ca = "ca-cert.pem", .server_verify = true,
      .client_verify = true, .hostname = "server.test",
      .srv_error = "Verify failed: No certificate was found. The client "
                   "sent no certificate signed by a CA in SRVDIR/ca-cert.pem; "
                   "with verify-peer on, it needs one" },
    { .name = "no-client-cert-no-verify", .server_cert = "server-cert.pem",
      .client_ca = "ca-cert.pem", .server_verify = false,
      .client_verify = true, .hostname = "server.test" },
    { .name = "client-cert-other-ca", .server_cert = "server-cert.pem",
      .client_ca = "ca-cert.pem", .client_cert = "client2-cert.pem",
      .client_key = "otherkey.pem", .server_verify = true,
      .client_verify = true, .hostname = "server.test",
      .srv_error = "Verify failed: No certificate was found. The client "
                   "sent no certificate signed by a CA in SRVDIR/ca-cert.pem; "
                   "with verify-peer on, it needs one" },
    { .name = "server-cert-other-ca", .server_cert = "server-cert.pem",
      .client_ca = "ca2-cert.pem", .client_verify = true,
      .hostname = "server.test",
      .cli_error = "The certificate hasn't got a known issuer: the "
                   "server's certificate CN=server.test is not signed by a "
                   "CA in DIR/ca-cert.pem" },
    { .name = "server-cert-other-ca-no-verify",
      .server_cert = "server-cert.pem", .client_ca = "ca2-cert.pem",
      .hostname = "server.test" },
    { .name = "server-expired", .server_cert = "server_expired-cert.pem",
      .client_ca = "ca-cert.pem", .client_verify = true,
      .hostname = "localhost",
      .cli_error = "The certificate has expired: the peer's certificate "
                   "CN=localhost expired on 2021-01-01 00:00:00 UTC" },
    { .name = "two-cas-client-side", .server_cert = "server2-cert.pem",
      .server_key = "otherkey.pem",
      .client_ca = "ca-cert.pem+ca2-cert.pem", .client_verify = true,
      .hostname = "server.test" },
};

static void test_x509_session(gconstpointer opaque)
{
    const SessionCase *c = opaque;
    const char *sdir = tls_pki_case(
        pki, "ca-cert.pem", "ca-cert.pem", "server-cert.pem", c->server_cert,
        "server-key.pem", c->server_key ? c->server_key : "key.pem", NULL);
    const char *cdir = c->client_cert ?
        tls_pki_case(pki, "ca-cert.pem", c->client_ca,
                     "client-cert.pem", c->client_cert, "client-key.pem",
                     c->client_key ? c->client_key : "key.pem", NULL) :
        tls_pki_case(pki, "ca-cert.pem", c->client_ca, NULL);
    g_autoptr(WdTlsCreds) srv = x509(sdir, WD_TLS_ENDPOINT_SERVER,
                                     c->server_verify);
    g_autoptr(WdTlsCreds) cli = x509(cdir, WD_TLS_ENDPOINT_CLIENT,
                                     c->client_verify);
    Pair p;

    pair_open(&p, srv, cli, c->hostname);
    pair_handshake(&p);
    if (c->srv_error) {
        g_auto(GStrv) parts = g_strsplit(c->srv_error, "SRVDIR", -1);
        g_autofree char *want = g_strjoinv(sdir, parts);
        g_assert_nonnull(p.srv_err);
        g_assert_cmpstr(p.srv_err->message, ==, want);
    } else {
        g_assert_no_error(p.srv_err);
    }
    if (c->cli_error) {
        g_auto(GStrv) parts = g_strsplit(c->cli_error, "DIR", -1);
        g_autofree char *want = g_strjoinv(cdir, parts);
        g_assert_nonnull(p.cli_err);
        g_assert_cmpstr(p.cli_err->message, ==, want);
    } else {
        g_assert_no_error(p.cli_err);
    }
    if (!c->srv_error && !c->cli_error) {
        g_autofree char *peer = wd_tls_session_get_peer_name(p.srv);
        g_autofree char *srv_name = wd_tls_session_get_peer_name(p.cli);

        g_assert_cmpstr(peer, ==, c->srv_peer);
        g_assert_nonnull(srv_name);
        g_assert_true(g_str_has_prefix(srv_name, "CN="));
    }
    pair_close(&p);
}

/* The QEMU-compatible DN (for authz identities written for QEMU). */
static void test_peer_dn_qemu(void)
{
    const char *sdir = tls_pki_case(pki, "ca-cert.pem", "ca-cert.pem",
                                    "server-cert.pem", "server-cert.pem",
                                    "server-key.pem", "key.pem", NULL);
    const char *cdir = tls_pki_case(pki, "ca-cert.pem", "ca-cert.pem",
                                    "client-cert.pem", "client-cert.pem",
                                    "client-key.pem", "key.pem", NULL);
    g_autoptr(WdTlsCreds) srv = x509(sdir, WD_TLS_ENDPOINT_SERVER, true);
    g_autoptr(WdTlsCreds) cli = x509(cdir, WD_TLS_ENDPOINT_CLIENT, true);
    Pair p;

    pair_open(&p, srv, cli, "server.test");
    pair_handshake(&p);
    g_assert_no_error(p.srv_err);
    g_assert_no_error(p.cli_err);
    g_autofree char *qemu = wd_tls_session_get_peer_dn_qemu(p.srv);
    g_autofree char *rfc = wd_tls_session_get_peer_name(p.srv);
    g_assert_cmpstr(qemu, ==, "C=GB,O=Test Org,CN=client.test");
    g_assert_cmpstr(rfc, ==, "CN=client.test,O=Test Org,C=GB");
    pair_close(&p);
}

/* Moves @len bytes from @w to @r through the pair, in pieces. */
static void transfer(Pair *p, WdTlsSession *w, WdTlsSession *r, size_t len)
{
    g_autofree guint8 *out = g_malloc(len);
    g_autofree guint8 *in = g_malloc0(len);
    size_t sent = 0, got = 0;
    g_autoptr(GError) err = NULL;

    for (size_t i = 0; i < len; i++) {
        out[i] = i * 7 + 3;
    }
    for (int i = 0; i < 100000 && got < len; i++) {
        if (sent < len) {
            ssize_t n = wd_tls_session_write(w, out + sent, len - sent, &err);
            g_assert_no_error(err);
            if (n > 0) {
                sent += n;
            }
        }
        ssize_t n = wd_tls_session_read(r, in + got, MIN(len - got, 1000),
                                        &err);
        g_assert_no_error(err);
        g_assert_cmpint(n, !=, 0);
        if (n > 0) {
            got += n;
        }
    }
    g_assert_cmpuint(got, ==, len);
    g_assert_cmpmem(in, len, out, len);
}

static void test_psk_session(void)
{
    const char *sdir = tls_pki_case(pki, "keys.psk",
                                    "=qemu:009d5638c40fde0c\n"
                                    "alice:10ffa6a2c42f0388\n", NULL);
    const char *good = tls_pki_case(pki, "keys.psk",
                                    "=alice:10ffa6a2c42f0388\n", NULL);
    const char *wrong = tls_pki_case(pki, "keys.psk",
                                     "=qemu:10ffa6a2c42f0388\n", NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(WdTlsCreds) srv = wd_tls_creds_psk_load(
        WD_TLS_ENDPOINT_SERVER, sdir, NULL, NULL, &err);
    g_autoptr(WdTlsCreds) alice = wd_tls_creds_psk_load(
        WD_TLS_ENDPOINT_CLIENT, good, "alice", NULL, &err);
    g_autoptr(WdTlsCreds) bad = wd_tls_creds_psk_load(
        WD_TLS_ENDPOINT_CLIENT, wrong, NULL, NULL, &err);
    g_autoptr(WdTlsCreds) unknown = wd_tls_creds_psk_load(
        WD_TLS_ENDPOINT_CLIENT, good, "alice", NULL, &err);
    g_assert_no_error(err);
    Pair p;

    pair_open(&p, srv, alice, NULL);
    pair_handshake(&p);
    g_assert_no_error(p.srv_err);
    g_assert_no_error(p.cli_err);
    g_autofree char *peer = wd_tls_session_get_peer_name(p.srv);
    g_assert_cmpstr(peer, ==, "alice");
    g_assert_null(wd_tls_session_get_peer_name(p.cli));
    transfer(&p, p.cli, p.srv, 5000);
    transfer(&p, p.srv, p.cli, 5000);
    pair_close(&p);

    /* Wrong key: both sides fail during the handshake. */
    pair_open(&p, srv, bad, NULL);
    pair_handshake(&p);
    g_assert_nonnull(p.srv_err);
    g_assert_nonnull(p.cli_err);
    g_assert_true(g_str_has_prefix(p.srv_err->message,
                                   "TLS handshake failed: "));
    g_assert_true(g_str_has_prefix(p.cli_err->message,
                                   "TLS handshake failed: "));
    pair_close(&p);

    /* A user missing from the server's file once it is rewritten: the
     * server re-reads keys.psk at each handshake. */
    g_autofree char *path = g_build_filename(sdir, "keys.psk", NULL);
    g_assert_true(g_file_set_contents(path, "qemu:009d5638c40fde0c\n", -1,
                                      NULL));
    pair_open(&p, srv, unknown, NULL);
    pair_handshake(&p);
    g_assert_nonnull(p.srv_err);
    g_assert_nonnull(p.cli_err);
    pair_close(&p);
}

static void test_anon_session(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdTlsCreds) srv = wd_tls_creds_anon_load(
        WD_TLS_ENDPOINT_SERVER, NULL, NULL, &err);
    g_autoptr(WdTlsCreds) cli = wd_tls_creds_anon_load(
        WD_TLS_ENDPOINT_CLIENT, NULL, NULL, &err);
    g_assert_no_error(err);
    Pair p;

    pair_open(&p, srv, cli, "ignored.test");
    pair_handshake(&p);
    g_assert_no_error(p.srv_err);
    g_assert_no_error(p.cli_err);
    g_assert_null(wd_tls_session_get_peer_name(p.srv));
    transfer(&p, p.cli, p.srv, 100);
    pair_close(&p);
}

/* Record I/O: large payloads, pending, cork, clean EOF after bye. */
static void test_record_io(void)
{
    const char *sdir = tls_pki_case(pki, "ca-cert.pem", "ca-cert.pem",
                                    "server-cert.pem", "server-cert.pem",
                                    "server-key.pem", "key.pem", NULL);
    const char *cdir = tls_pki_case(pki, "ca-cert.pem", "ca-cert.pem", NULL);
    g_autoptr(WdTlsCreds) srv = x509(sdir, WD_TLS_ENDPOINT_SERVER, false);
    g_autoptr(WdTlsCreds) cli = x509(cdir, WD_TLS_ENDPOINT_CLIENT, true);
    g_autoptr(GError) err = NULL;
    char buf[64];
    ssize_t n;
    Pair p;

    pair_open(&p, srv, cli, "localhost");
    g_assert_false(wd_tls_session_check_credentials(p.cli, &err));
    g_assert_cmpstr(err->message, ==, "TLS peer credentials checked before "
                    "the handshake completed");
    g_clear_error(&err);
    pair_handshake(&p);
    g_assert_no_error(p.cli_err);
    g_assert_true(wd_tls_session_is_established(p.cli));
    g_assert_true(wd_tls_session_get_creds(p.cli) == cli);

    /* Nothing sent yet: reads would block. */
    n = wd_tls_session_read(p.srv, buf, sizeof(buf), &err);
    g_assert_cmpint(n, ==, WD_CHANNEL_ERR_BLOCK);

    transfer(&p, p.cli, p.srv, 200000);
    transfer(&p, p.srv, p.cli, 70000);

    /* One record, read in small pieces: the rest stays pending. */
    g_assert_cmpint(wd_tls_session_write(p.cli, "0123456789", 10, &err), ==,
                    10);
    g_assert_cmpint(wd_tls_session_pending(p.srv), ==, 0);
    g_assert_cmpint(wd_tls_session_read(p.srv, buf, 4, &err), ==, 4);
    g_assert_cmpint(wd_tls_session_pending(p.srv), ==, 6);
    g_assert_cmpint(wd_tls_session_read(p.srv, buf, sizeof(buf), &err), ==,
                    6);
    g_assert_cmpmem(buf, 6, "456789", 6);

    /* Corked writes come out as one record when uncorked. */
    wd_tls_session_cork(p.cli, true);
    g_assert_cmpint(wd_tls_session_write(p.cli, "abc", 3, &err), ==, 3);
    g_assert_cmpint(wd_tls_session_write(p.cli, "def", 3, &err), ==, 3);
    n = wd_tls_session_read(p.srv, buf, sizeof(buf), &err);
    g_assert_cmpint(n, ==, WD_CHANNEL_ERR_BLOCK);
    wd_tls_session_cork(p.cli, false);
    g_assert_cmpint(wd_tls_session_read(p.srv, buf, sizeof(buf), &err), ==,
                    6);
    g_assert_cmpmem(buf, 6, "abcdef", 6);

    g_assert_true(wd_tls_session_bye(p.cli));
    g_assert_cmpint(wd_tls_session_read(p.srv, buf, sizeof(buf), &err), ==,
                    0);
    g_assert_no_error(err);

    /* The transport dies: the error says so. */
    close(p.fd[1]);
    p.fd[1] = open("/dev/null", O_RDONLY);
    n = wd_tls_session_write(p.srv, "x", 1, &err);
    g_assert_cmpint(n, ==, -1);
    g_assert_true(g_str_has_prefix(err->message,
                                   "Cannot write to TLS channel: "));
    pair_close(&p);
}

static void test_bad_priority_session(void)
{
    g_autoptr(GError) err = NULL;

    g_assert_null(wd_tls_creds_anon_load(WD_TLS_ENDPOINT_CLIENT, NULL,
                                         "NORMAL:+NOSUCH", &err));
    g_assert_true(g_str_has_prefix(err->message, "Invalid TLS priority "
                                   "string 'NORMAL:+NOSUCH:-KX-ALL:"));
}

int main(int argc, char **argv)
{
    g_autoptr(TlsPki) owned = NULL;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/crypto/tlssession/bad-priority",
                    test_bad_priority_session);
    g_test_add_func("/crypto/tlssession/anon", test_anon_session);
    if (!tls_pki_available()) {
        g_test_message("certtool not found (Debian: gnutls-bin): skipping "
                       "certificate tests");
        return g_test_run();
    }
    owned = pki = tls_pki_new();
    tls_pki_cert(pki, "server_expired", "ca", "key.pem",
                 "cn = \"localhost\"\nsigning_key\ntls_www_server\n"
                 "dns_name = localhost\n"
                 "activation_date = \"2020-01-01 00:00:00\"\n"
                 "expiration_date = \"2021-01-01 00:00:00\"\n");
    for (unsigned i = 0; i < G_N_ELEMENTS(session_cases); i++) {
        g_autofree char *path = g_strdup_printf("/crypto/tlssession/x509/%s",
                                                session_cases[i].name);
        g_test_add_data_func(path, &session_cases[i], test_x509_session);
    }
    g_test_add_func("/crypto/tlssession/x509/peer-dn-qemu",
                    test_peer_dn_qemu);
    g_test_add_func("/crypto/tlssession/psk", test_psk_session);
    g_test_add_func("/crypto/tlssession/record-io", test_record_io);
    return g_test_run();
}
