/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NBD URI parsing: a table of good URIs with every field checked, a table
 * of bad ones with their exact messages, the scheme test, and loading the
 * TLS credentials a URI names (PSK file under any name, x509 directory).
 */
#include "runtime/crypto/certs.h"
#include "runtime/nbd/nbd-uri.h"

#include <string.h>
#include <unistd.h>

typedef struct {
    const char *uri;
    bool tls;
    const char *addr;           /* wd_socket_address_to_string() */
    const char *export_name;
    const char *certs;
    const char *psk;
    const char *user;
    const char *hostname;
    bool no_verify;
} GoodCase;

static const GoodCase good[] = {
    { .uri = "nbd://example.com", .addr = "example.com:10809",
      .export_name = "" },
    { .uri = "nbd://example.com/", .addr = "example.com:10809",
      .export_name = "" },
    { .uri = "nbd://127.0.0.1:4711/disk", .addr = "127.0.0.1:4711",
      .export_name = "disk" },
    { .uri = "nbd://[::1]:4711/a/b%20c", .addr = "[::1]:4711",
      .export_name = "a/b c" },
    { .uri = "NBD://HOST/x", .addr = "HOST:10809", .export_name = "x" },
    { .uri = "nbd+tcp://h:1/e", .addr = "h:1", .export_name = "e" },
    { .uri = "nbd+unix:///disk?socket=/run/nbd.sock",
      .addr = "unix:/run/nbd.sock", .export_name = "disk" },
    { .uri = "nbd+unix:?socket=/tmp/s", .addr = "unix:/tmp/s",
      .export_name = "" },
    { .uri = "nbds://h/e?tls-certificates=/etc/pki", .tls = true,
      .addr = "h:10809", .export_name = "e", .certs = "/etc/pki" },
    { .uri = "nbds://alice@h/e?tls-psk-file=/k.psk", .tls = true,
      .addr = "h:10809", .export_name = "e", .psk = "/k.psk",
      .user = "alice" },
    { .uri = "nbds://h/?tls-psk-file=/k&tls-username=bob", .tls = true,
      .addr = "h:10809", .export_name = "", .psk = "/k", .user = "bob" },
    { .uri = "nbds+unix:///e?socket=/s&tls-certificates=d&tls-hostname="
             "server.test&tls-verify-peer=false", .tls = true,
      .addr = "unix:/s", .export_name = "e", .certs = "d",
      .hostname = "server.test", .no_verify = true },
    { .uri = "nbds://h?tls-verify-peer=on", .tls = true, .addr = "h:10809",
      .export_name = "" },
};

typedef struct {
    const char *uri;
    const char *error;
} BadCase;

static const BadCase bad[] = {
    { "http://example.com/", "Unknown NBD URI scheme 'http' in "
      "'http://example.com/' (use nbd, nbds, nbd+unix or nbds+unix)" },
    { "nbd+vsock://2/", "NBD over vsock is not supported ('nbd+vsock://2/')" },
    { "nbd://h/?foo=1&bar=2", "Unknown parameters 'foo', 'bar' in NBD URI "
      "'nbd://h/?foo=1&bar=2' (known: socket, tls-certificates, "
      "tls-psk-file, tls-username, tls-hostname, tls-verify-peer)" },
    { "nbd://h/?foo=1", "Unknown parameter 'foo' in NBD URI "
      "'nbd://h/?foo=1' (known: socket, tls-certificates, tls-psk-file, "
      "tls-username, tls-hostname, tls-verify-peer)" },
    { "nbd://h/?tls-certificates=/d", "Parameter 'tls-certificates' in NBD "
      "URI 'nbd://h/?tls-certificates=/d' needs TLS: use an nbds:// or "
      "nbds+unix:// URI" },
    { "nbd+unix:///e", "NBD URI 'nbd+unix:///e' needs a socket=PATH "
      "parameter" },
    { "nbd+unix://h/e?socket=/s", "NBD URI 'nbd+unix://h/e?socket=/s' names "
      "a host, but nbd+unix URIs use socket=PATH instead" },
    { "nbd://h/e?socket=/s", "Parameter 'socket' in NBD URI "
      "'nbd://h/e?socket=/s' needs an nbd+unix:// or nbds+unix:// URI" },
    { "nbd:///e", "NBD URI 'nbd:///e' has no host name" },
    { "nbd://h:0/", "NBD URI 'nbd://h:0/' has port 0" },
    { "nbds://h/?tls-verify-peer=maybe", "Invalid value 'maybe' for "
      "tls-verify-peer in NBD URI 'nbds://h/?tls-verify-peer=maybe' (use "
      "true or false)" },
    { "nbds://h/?tls-certificates=a&tls-certificates=b", "Parameter "
      "'tls-certificates' is given twice in NBD URI "
      "'nbds://h/?tls-certificates=a&tls-certificates=b'" },
    { "nbds://h/?tls-certificates=a&tls-psk-file=b", "NBD URI "
      "'nbds://h/?tls-certificates=a&tls-psk-file=b' has both "
      "tls-certificates and tls-psk-file; give one" },
    { "nbds://u:pw@h/", "NBD URI 'nbds://u:pw@h/' has a password; NBD URIs "
      "take no passwords (use tls-psk-file=)" },
    { "nbds://u@h/?tls-certificates=d", "NBD URI "
      "'nbds://u@h/?tls-certificates=d' has a user name, which is the TLS "
      "PSK username: it needs tls-psk-file=FILE" },
    { "nbds://a@h/?tls-psk-file=k&tls-username=b", "NBD URI "
      "'nbds://a@h/?tls-psk-file=k&tls-username=b' names two different "
      "users ('a' and tls-username=b)" },
    { "nbd://h/e#frag", "NBD URI 'nbd://h/e#frag' must not have a fragment "
      "(#...)" },
    { "nbd://h/?socket=", "Parameter 'socket' in NBD URI 'nbd://h/?socket=' "
      "is empty" },
};

static void test_good(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        const GoodCase *t = &good[i];
        g_autoptr(GError) err = NULL;
        g_autoptr(WdNbdUri) u = wd_nbd_uri_parse(t->uri, &err);

        g_test_message("%s", t->uri);
        g_assert_no_error(err);
        g_autofree char *addr = wd_socket_address_to_string(u->addr);
        g_assert_cmpstr(addr, ==, t->addr);
        g_assert_cmpint(u->tls, ==, t->tls);
        g_assert_cmpstr(u->export_name, ==, t->export_name);
        g_assert_cmpstr(u->tls_certificates, ==, t->certs);
        g_assert_cmpstr(u->tls_psk_file, ==, t->psk);
        g_assert_cmpstr(u->tls_username, ==, t->user);
        g_assert_cmpstr(u->tls_hostname, ==, t->hostname);
        g_assert_cmpint(u->tls_verify_peer, ==, !t->no_verify);
        g_assert_true(wd_nbd_uri_is_uri(t->uri));
    }
}

static void test_bad(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(WdNbdUri) u = wd_nbd_uri_parse(bad[i].uri, &err);

        g_test_message("%s", bad[i].uri);
        g_assert_null(u);
        g_assert_cmpstr(err->message, ==, bad[i].error);
    }
}

static void test_is_uri(void)
{
    g_assert_true(wd_nbd_uri_is_uri("nbd://x"));
    g_assert_true(wd_nbd_uri_is_uri("nbds+unix:///?socket=/s"));
    g_assert_false(wd_nbd_uri_is_uri("disk.img"));
    g_assert_false(wd_nbd_uri_is_uri("/tmp/nbd:1"));
    g_assert_false(wd_nbd_uri_is_uri("c:\\disk"));
    g_assert_false(wd_nbd_uri_is_uri("null:"));
}

static void test_plain_has_no_tls(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdNbdUri) u = wd_nbd_uri_parse("nbd://h/", &err);
    WdNbdClientConfig cfg = { 0 };

    g_assert_null(wd_nbd_uri_load_tls(u, &err));
    g_assert_no_error(err);
    wd_nbd_uri_fill_config(u, NULL, &cfg);
    g_assert_true(cfg.addr == u->addr);
    g_assert_cmpstr(cfg.export_name, ==, "");
    g_assert_null(cfg.tls);
}

static void test_load_tls(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("test-nbd-uri-XXXXXX", NULL);
    g_autofree char *pki = g_build_filename(dir, "pki", NULL);
    g_autofree char *psk = g_build_filename(dir, "my.psk", NULL);
    const char *key = "alice:0123456789abcdef0123456789abcdef\n";

    /* PSK from a file not called keys.psk, user from the URI. */
    g_assert_true(g_file_set_contents(psk, key, -1, NULL));
    g_autofree char *s = g_strdup_printf("nbds://alice@h/?tls-psk-file=%s",
                                         psk);
    g_autoptr(WdNbdUri) u = wd_nbd_uri_parse(s, &err);
    g_assert_no_error(err);
    g_autoptr(WdTlsCreds) c = wd_nbd_uri_load_tls(u, &err);
    g_assert_no_error(err);
    g_assert_cmpint(wd_tls_creds_get_type(c), ==, WD_TLS_CREDS_PSK);
    g_assert_cmpint(wd_tls_creds_get_endpoint(c), ==, WD_TLS_ENDPOINT_CLIENT);

    /* An unknown user: the message names the user's file, not a temp. */
    g_free(s);
    s = g_strdup_printf("nbds://bob@h/?tls-psk-file=%s", psk);
    g_autoptr(WdNbdUri) u2 = wd_nbd_uri_parse(s, &err);
    g_assert_null(wd_nbd_uri_load_tls(u2, &err));
    g_assert_nonnull(strstr(err->message, psk));
    g_assert_nonnull(strstr(err->message, "bob"));
    g_clear_error(&err);

    /* x509 from a directory, verification as asked. */
    if (wd_certs_create(pki, NULL, NULL, 30, NULL)) {
        g_free(s);
        s = g_strdup_printf("nbds://h/?tls-certificates=%s&"
                            "tls-verify-peer=false", pki);
        g_autoptr(WdNbdUri) u3 = wd_nbd_uri_parse(s, &err);
        g_autoptr(WdTlsCreds) c3 = wd_nbd_uri_load_tls(u3, &err);
        g_assert_no_error(err);
        g_assert_cmpint(wd_tls_creds_get_type(c3), ==, WD_TLS_CREDS_X509);
        g_assert_false(wd_tls_creds_get_verify_peer(c3));
    }

    /* A directory without ca-cert.pem. */
    g_free(s);
    s = g_strdup_printf("nbds://h/?tls-certificates=%s", dir);
    g_autoptr(WdNbdUri) u4 = wd_nbd_uri_parse(s, &err);
    g_assert_null(wd_nbd_uri_load_tls(u4, &err));
    g_assert_nonnull(strstr(err->message, "ca-cert.pem"));
    g_clear_error(&err);

    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);
    g_assert_cmpint(system(rm), ==, 0);
}

static void test_system_ca(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdNbdUri) u = wd_nbd_uri_parse("nbds://example.com/", &err);
    g_autoptr(WdTlsCreds) c = NULL;

    if (access(WD_NBD_URI_SYSTEM_CA, R_OK) < 0) {
        g_test_skip("no system CA store");
        return;
    }
    c = wd_nbd_uri_load_tls(u, &err);
    g_assert_no_error(err);
    g_assert_cmpint(wd_tls_creds_get_type(c), ==, WD_TLS_CREDS_X509);
    g_assert_true(wd_tls_creds_get_verify_peer(c));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nbd-uri/good", test_good);
    g_test_add_func("/nbd-uri/bad", test_bad);
    g_test_add_func("/nbd-uri/is-uri", test_is_uri);
    g_test_add_func("/nbd-uri/plain-has-no-tls", test_plain_has_no_tls);
    g_test_add_func("/nbd-uri/load-tls", test_load_tls);
    g_test_add_func("/nbd-uri/system-ca", test_system_ca);
    return g_test_run();
}
