/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of TLS credential loading: the x509 sanity checks against
 * certtool-made certificates (good and deliberately bad, each with its
 * exact message), check-all mode, keys.psk parsing, anon/psk loading and
 * certificate generation for `warden certs`.
 */
#include "runtime/crypto/certs.h"
#include "runtime/crypto/tlscreds.h"
#include "tests/unit/crypto-tls-pki.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

static TlsPki *pki;

#define EXPIRED_DATES \
    "activation_date = \"2020-01-01 00:00:00\"\n" \
    "expiration_date = \"2021-01-01 00:00:00\"\n"
#define FUTURE_DATES \
    "activation_date = \"2090-01-01 00:00:00\"\n" \
    "expiration_date = \"2091-01-01 00:00:00\"\n"
/* DER of extendedKeyUsage { clientAuth } / { serverAuth } and of
 * keyUsage { keyCertSign }, for extensions certtool cannot mark
 * critical by itself. */
#define EKU_CLIENT_CRIT \
    "add_critical_extension = \"2.5.29.37 0x300a06082b06010505070302\"\n"
#define EKU_SERVER_CRIT \
    "add_critical_extension = \"2.5.29.37 0x300a06082b06010505070301\"\n"
#define KU_CERTSIGN_CRIT \
    "add_critical_extension = \"2.5.29.15 0x03020204\"\n"
#define LEAF(cn) "cn = \"" cn "\"\nexpiration_days = 2\n"
#define CA(cn) "cn = \"" cn "\"\nca\ncert_signing_key\n"

/* The bad certificates, beyond the standard set of crypto-tls-pki.h. */
static void make_special_certs(void)
{
    tls_pki_cert(pki, "ca_notca", NULL, "key.pem",
                 "cn = \"Not A CA\"\nexpiration_days = 2\n");
    tls_pki_cert(pki, "ca_expired", NULL, "key.pem",
                 CA("Expired CA") EXPIRED_DATES);
    tls_pki_cert(pki, "ca_digsig", NULL, "key.pem",
                 "cn = \"DigSig CA\"\nca\nsigning_key\nexpiration_days = 2\n");
    tls_pki_cert(pki, "server_by_notca", "ca_notca", "key.pem",
                 LEAF("s") "signing_key\ntls_www_server\n");
    tls_pki_cert(pki, "server_by_expca", "ca_expired", "key.pem",
                 LEAF("s") "signing_key\ntls_www_server\n");
    tls_pki_cert(pki, "server_by_digsigca", "ca_digsig", "key.pem",
                 LEAF("s") "signing_key\ntls_www_server\n");
    tls_pki_cert(pki, "server_expired", "ca", "key.pem",
                 "cn = \"s\"\nsigning_key\ntls_www_server\n" EXPIRED_DATES);
    tls_pki_cert(pki, "server_inactive", "ca", "key.pem",
                 "cn = \"s\"\nsigning_key\ntls_www_server\n" FUTURE_DATES);
    tls_pki_cert(pki, "client_expired", "ca", "key.pem",
                 "cn = \"c\"\nsigning_key\ntls_www_client\n" EXPIRED_DATES);
    tls_pki_cert(pki, "server_clientonly_crit", "ca", "key.pem",
                 LEAF("s") "signing_key\n" EKU_CLIENT_CRIT);
    tls_pki_cert(pki, "server_clientonly", "ca", "key.pem",
                 LEAF("s") "signing_key\ntls_www_client\n");
    tls_pki_cert(pki, "client_serveronly_crit", "ca", "key.pem",
                 LEAF("c") "signing_key\n" EKU_SERVER_CRIT);
    tls_pki_cert(pki, "server_isca", "ca", "key.pem",
                 LEAF("s") "ca\nsigning_key\ntls_www_server\n");
    tls_pki_cert(pki, "server_certsign_crit", "ca", "key.pem",
                 LEAF("s") "tls_www_server\n" KU_CERTSIGN_CRIT);
    tls_pki_cert(pki, "server_noext", "ca", "key.pem", LEAF("s"));
    tls_pki_cert(pki, "server_revoked", "ca", "key.pem",
                 LEAF("s") "signing_key\ntls_www_server\n");
    tls_pki_crl(pki, "crl", "ca", "server_revoked");
}

typedef struct {
    const char *name;
    WdTlsEndpoint ep;
    const char *ca;         /* sources of ca-cert.pem, NULL = absent */
    const char *cert;       /* sources of the endpoint's cert */
    const char *key;        /* sources of the endpoint's key */
    const char *crl;
    const char *password;
    bool no_sanity;
    /* NULL: must load. Else the exact message, "DIR" = case dir; a
     * trailing '*' makes it a prefix match. */
    const char *error;
} X509Case;

static const X509Case x509_cases[] = {
    { .name = "perfect-server", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server-cert.pem", .key = "key.pem" },
    { .name = "perfect-client", .ep = WD_TLS_ENDPOINT_CLIENT,
      .ca = "ca-cert.pem", .cert = "client-cert.pem", .key = "key.pem" },
    { .name = "client-without-cert", .ep = WD_TLS_ENDPOINT_CLIENT,
      .ca = "ca-cert.pem" },
    { .name = "server-no-extensions", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server_noext-cert.pem",
      .key = "key.pem" },
    { .name = "server-purpose-client-noncrit", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server_clientonly-cert.pem",
      .key = "key.pem" },
    { .name = "missing-ca", .ep = WD_TLS_ENDPOINT_SERVER,
      .cert = "server-cert.pem", .key = "key.pem",
      .error = "Unable to access credentials DIR/ca-cert.pem: "
               "No such file or directory" },
    { .name = "missing-server-key", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server-cert.pem",
      .error = "Unable to access credentials DIR/server-key.pem: "
               "No such file or directory" },
    { .name = "client-cert-without-key", .ep = WD_TLS_ENDPOINT_CLIENT,
      .ca = "ca-cert.pem", .cert = "client-cert.pem",
      .error = "DIR/client-cert.pem exists but DIR/client-key.pem does "
               "not: a client certificate needs both files (or neither, to "
               "connect without one)" },
    { .name = "ca-not-ca", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca_notca-cert.pem", .cert = "server_by_notca-cert.pem",
      .key = "key.pem",
      .error = "The certificate DIR/ca-cert.pem basic constraints do not "
               "show a CA: a CA certificate needs basicConstraints CA:TRUE "
               "(certtool template: 'ca')" },
    { .name = "ca-usage-no-certsign", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca_digsig-cert.pem", .cert = "server_by_digsigca-cert.pem",
      .key = "key.pem",
      .error = "Certificate DIR/ca-cert.pem usage does not permit "
               "certificate signing: its critical key usage lacks "
               "keyCertSign (certtool template: 'cert_signing_key')" },
    { .name = "ca-expired", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca_expired-cert.pem", .cert = "server_by_expca-cert.pem",
      .key = "key.pem",
      .error = "The CA certificate DIR/ca-cert.pem has expired (expired on "
               "2021-01-01 00:00:00 UTC): issue a new one, or check the "
               "system clock" },
    { .name = "server-expired", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server_expired-cert.pem",
      .key = "key.pem",
      .error = "The server certificate DIR/server-cert.pem has expired "
               "(expired on 2021-01-01 00:00:00 UTC): issue a new one, or "
               "check the system clock" },
    { .name = "server-expired-no-sanity", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server_expired-cert.pem",
      .key = "key.pem", .no_sanity = true },
    { .name = "server-not-yet-active", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server_inactive-cert.pem",
      .key = "key.pem",
      .error = "The server certificate DIR/server-cert.pem is not yet "
               "active (valid from 2090-01-01 00:00:00 UTC): check the "
               "system clock, or wait until then" },
    { .name = "client-expired", .ep = WD_TLS_ENDPOINT_CLIENT,
      .ca = "ca-cert.pem", .cert = "client_expired-cert.pem",
      .key = "key.pem",
      .error = "The client certificate DIR/client-cert.pem has expired "
               "(expired on 2021-01-01 00:00:00 UTC): issue a new one, or "
               "check the system clock" },
    { .name = "server-purpose-client-crit", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server_clientonly_crit-cert.pem",
      .key = "key.pem",
      .error = "Certificate DIR/server-cert.pem purpose does not allow use "
               "with a TLS server: its critical extended key usage lacks "
               "TLS WWW server (1.3.6.1.5.5.7.3.1; certtool template: "
               "'tls_www_server')" },
    { .name = "client-purpose-server-crit", .ep = WD_TLS_ENDPOINT_CLIENT,
      .ca = "ca-cert.pem", .cert = "client_serveronly_crit-cert.pem",
      .key = "key.pem",
      .error = "Certificate DIR/client-cert.pem purpose does not allow use "
               "with a TLS client: its critical extended key usage lacks "
               "TLS WWW client (1.3.6.1.5.5.7.3.2; certtool template: "
               "'tls_www_client')" },
    { .name = "client-cert-used-as-server", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server_clientonly_crit-cert.pem",
      .key = "key.pem", .error = "Certificate DIR/server-cert.pem purpose*" },
    { .name = "server-is-ca", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server_isca-cert.pem", .key = "key.pem",
      .error = "The certificate DIR/server-cert.pem basic constraints show "
               "a CA, but a server certificate must not be a CA: issue it "
               "without the CA flag" },
    { .name = "server-usage-certsign-crit", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server_certsign_crit-cert.pem",
      .key = "key.pem",
      .error = "Certificate DIR/server-cert.pem usage does not permit "
               "digital signature: its critical key usage lacks "
               "digitalSignature (certtool template: 'signing_key')" },
    { .name = "server-wrong-ca", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server2-cert.pem",
      .key = "otherkey.pem",
      .error = "Our own certificate DIR/server-cert.pem failed validation "
               "against DIR/ca-cert.pem: The certificate hasn't got a known "
               "issuer: no CA certificate we trust signed it" },
    { .name = "two-cas-first", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem+ca2-cert.pem", .cert = "server-cert.pem",
      .key = "key.pem" },
    { .name = "two-cas-second", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem+ca2-cert.pem", .cert = "server2-cert.pem",
      .key = "otherkey.pem" },
    { .name = "two-cas-one-expired", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem+ca_expired-cert.pem", .cert = "server-cert.pem",
      .key = "key.pem",
      .error = "The CA certificate DIR/ca-cert.pem (certificate 2, "
               "CN=Expired CA) has expired (expired on 2021-01-01 00:00:00 "
               "UTC): issue a new one, or check the system clock" },
    { .name = "revoked", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server_revoked-cert.pem",
      .key = "key.pem", .crl = "crl.pem",
      .error = "Our own certificate DIR/server-cert.pem failed validation "
               "against DIR/ca-cert.pem: The certificate has been revoked" },
    { .name = "crl-not-revoking-us", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server-cert.pem", .key = "key.pem",
      .crl = "crl.pem" },
    { .name = "bad-crl", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server-cert.pem", .key = "key.pem",
      .crl = "=nonsense\n", .error = "Cannot load CRL DIR/ca-crl.pem: *" },
    { .name = "key-mismatch", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server-cert.pem",
      .key = "otherkey.pem",
      .error = "The private key DIR/server-key.pem does not match the "
               "certificate DIR/server-cert.pem (they hold different public "
               "keys): use the key the certificate was issued for" },
    { .name = "key-mismatch-no-sanity", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server-cert.pem", .no_sanity = true,
      .key = "otherkey.pem",
      .error = "The private key DIR/server-key.pem does not match*" },
    { .name = "encrypted-key-no-password", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server-cert.pem", .key = "enckey.pem",
      .error = "The private key DIR/server-key.pem is encrypted: give "
               "passwordid=<secret id> naming a secret that holds its "
               "password" },
    { .name = "encrypted-key-wrong-password", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server-cert.pem", .key = "enckey.pem",
      .password = "hunter3",
      .error = "Cannot decrypt the private key DIR/server-key.pem: the "
               "password is wrong (check the secret named by passwordid)" },
    { .name = "encrypted-key-right-password", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server-cert.pem", .key = "enckey.pem",
      .password = TLS_PKI_PASSWORD },
    { .name = "encrypted-client-key", .ep = WD_TLS_ENDPOINT_CLIENT,
      .ca = "ca-cert.pem", .cert = "client-cert.pem", .key = "enckey.pem",
      .password = TLS_PKI_PASSWORD },
    { .name = "corrupt-ca", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "=garbage\n", .cert = "server-cert.pem", .key = "key.pem",
      .error = "Unable to import CA certificate list DIR/ca-cert.pem: *" },
    { .name = "corrupt-server-cert", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .key = "key.pem",
      .cert = "=-----BEGIN CERTIFICATE-----\nAAAA\n"
              "-----END CERTIFICATE-----\n",
      .error = "Unable to import server certificate DIR/server-cert.pem: *" },
    { .name = "corrupt-key", .ep = WD_TLS_ENDPOINT_SERVER,
      .ca = "ca-cert.pem", .cert = "server-cert.pem", .key = "=junk\n",
      .error = "Unable to import private key DIR/server-key.pem: *" },
};

/* Replaces "DIR" in @tmpl with @dir. */
static char *expand(const char *tmpl, const char *dir)
{
    g_auto(GStrv) parts = g_strsplit(tmpl, "DIR", -1);

    return g_strjoinv(dir, parts);
}

static void assert_error(GError *err, const char *want, const char *dir)
{
    g_autofree char *exp = expand(want, dir);
    size_t n = strlen(exp);

    g_assert_nonnull(err);
    if (n && exp[n - 1] == '*') {
        if (strncmp(err->message, exp, n - 1) != 0) {
            g_error("message '%s' does not start with '%.*s'", err->message,
                    (int)n - 1, exp);
        }
    } else {
        g_assert_cmpstr(err->message, ==, exp);
    }
}

static void test_x509_case(gconstpointer opaque)
{
    const X509Case *c = opaque;
    bool server = c->ep == WD_TLS_ENDPOINT_SERVER;
    const char *dir = tls_pki_case(
        pki, WD_TLS_X509_CA_CERT, c->ca ? c->ca : "=",
        WD_TLS_X509_CA_CRL, c->crl ? c->crl : "=",
        server ? WD_TLS_X509_SERVER_CERT : WD_TLS_X509_CLIENT_CERT,
        c->cert ? c->cert : "=",
        server ? WD_TLS_X509_SERVER_KEY : WD_TLS_X509_CLIENT_KEY,
        c->key ? c->key : "=", NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(WdTlsCreds) creds = NULL;
    WdTlsX509Config cfg = {
        .dir = dir, .endpoint = c->ep, .verify_peer = true,
        .sanity_check = !c->no_sanity,
        .key_password = (const uint8_t *)c->password,
        .key_password_len = c->password ? strlen(c->password) : 0,
    };

    /* Absent files: the case helper wrote them empty; remove them. */
    const char *files[][2] = {
        { WD_TLS_X509_CA_CERT, c->ca }, { WD_TLS_X509_CA_CRL, c->crl },
        { server ? WD_TLS_X509_SERVER_CERT : WD_TLS_X509_CLIENT_CERT,
          c->cert },
        { server ? WD_TLS_X509_SERVER_KEY : WD_TLS_X509_CLIENT_KEY, c->key },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(files); i++) {
        if (!files[i][1]) {
            g_autofree char *p = g_build_filename(dir, files[i][0], NULL);
            g_assert_cmpint(g_unlink(p), ==, 0);
        }
    }

    creds = wd_tls_creds_x509_load(&cfg, &err);
    if (!c->error) {
        g_assert_no_error(err);
        g_assert_nonnull(creds);
        g_assert_cmpint(wd_tls_creds_get_type(creds), ==, WD_TLS_CREDS_X509);
        g_assert_cmpint(wd_tls_creds_get_endpoint(creds), ==, c->ep);
        g_assert_true(wd_tls_creds_get_verify_peer(creds));
        g_assert_cmpstr(wd_tls_creds_get_priority(creds), ==, "NORMAL");
    } else {
        g_assert_null(creds);
        assert_error(err, c->error, dir);
    }
}

static void test_x509_unreadable(void)
{
    const char *dir = tls_pki_case(pki, WD_TLS_X509_SERVER_CERT,
                                   "server-cert.pem",
                                   WD_TLS_X509_SERVER_KEY, "key.pem", NULL);
    g_autofree char *ca = g_build_filename(dir, WD_TLS_X509_CA_CERT, NULL);
    g_autoptr(GError) err = NULL;
    WdTlsX509Config cfg = { .dir = dir, .endpoint = WD_TLS_ENDPOINT_SERVER,
                            .sanity_check = true };

    /* A directory where the file should be: read fails even for root. */
    g_assert_cmpint(g_mkdir(ca, 0700), ==, 0);
    g_assert_null(wd_tls_creds_x509_load(&cfg, &err));
    assert_error(err, "Cannot read CA certificate list DIR/ca-cert.pem: "
                 "Is a directory", dir);
}

static void test_x509_misc_errors(void)
{
    g_autoptr(GError) err = NULL;
    const char *dir = tls_pki_case(pki, WD_TLS_X509_CA_CERT, "ca-cert.pem",
                                   NULL);
    WdTlsX509Config cfg = { .dir = NULL, .endpoint = WD_TLS_ENDPOINT_CLIENT,
                            .sanity_check = true };

    g_assert_null(wd_tls_creds_x509_load(&cfg, &err));
    g_assert_cmpstr(err->message, ==, "Missing 'dir' property value: x509 "
                    "credentials need the directory holding ca-cert.pem");
    g_clear_error(&err);

    cfg.dir = dir;
    cfg.priority = "@INVALID:%%";
    g_assert_null(wd_tls_creds_x509_load(&cfg, &err));
    g_assert_true(g_str_has_prefix(err->message, "Invalid TLS priority "
                                   "string '@INVALID:%%': "));
    g_clear_error(&err);

    cfg.priority = "NORMAL:-VERS-TLS1.0";
    g_autoptr(WdTlsCreds) creds = wd_tls_creds_x509_load(&cfg, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(wd_tls_creds_get_priority(creds), ==,
                    "NORMAL:-VERS-TLS1.0");
    /* A server pointed at a client-only directory names the file. */
    cfg.endpoint = WD_TLS_ENDPOINT_SERVER;
    cfg.priority = NULL;
    g_assert_null(wd_tls_creds_x509_load(&cfg, &err));
    assert_error(err, "Unable to access credentials DIR/server-cert.pem: "
                 "No such file or directory", dir);
}

static void test_x509_refcount(void)
{
    const char *dir = tls_pki_case(pki, WD_TLS_X509_CA_CERT, "ca-cert.pem",
                                   NULL);
    WdTlsX509Config cfg = { .dir = dir, .endpoint = WD_TLS_ENDPOINT_CLIENT };
    WdTlsCreds *creds = wd_tls_creds_x509_load(&cfg, NULL);

    g_assert_nonnull(creds);
    g_assert_true(wd_tls_creds_ref(creds) == creds);
    wd_tls_creds_unref(creds);
    g_assert_false(wd_tls_creds_get_verify_peer(creds));
    wd_tls_creds_unref(creds);
    wd_tls_creds_unref(NULL);
}

static void test_check_dir(void)
{
    g_autoptr(GPtrArray) findings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;
    const char *good = tls_pki_case(pki, WD_TLS_X509_CA_CERT, "ca-cert.pem",
                                    WD_TLS_X509_SERVER_CERT,
                                    "server-cert.pem",
                                    WD_TLS_X509_SERVER_KEY, "key.pem", NULL);
    const char *bad = tls_pki_case(pki, WD_TLS_X509_CA_CERT,
                                   "ca-cert.pem+ca_notca-cert.pem",
                                   WD_TLS_X509_SERVER_CERT,
                                   "server_expired-cert.pem",
                                   WD_TLS_X509_SERVER_KEY, "otherkey.pem",
                                   NULL);
    const char *enc = tls_pki_case(pki, WD_TLS_X509_CA_CERT, "ca-cert.pem",
                                   WD_TLS_X509_SERVER_CERT,
                                   "server-cert.pem",
                                   WD_TLS_X509_SERVER_KEY, "enckey.pem",
                                   NULL);
    const char *want[] = {
        "The server certificate DIR/server-cert.pem has expired (expired on "
        "2021-01-01 00:00:00 UTC): issue a new one, or check the system "
        "clock",
        "The certificate DIR/ca-cert.pem (certificate 2, CN=Not A CA) basic "
        "constraints do not show a CA: a CA certificate needs "
        "basicConstraints CA:TRUE (certtool template: 'ca')",
        "The private key DIR/server-key.pem does not match the certificate "
        "DIR/server-cert.pem (they hold different public keys): use the key "
        "the certificate was issued for",
        ("The server certificate DIR/server-cert.pem does not match the "
         "hostname example.com: the certificate has CN=s"),
    };

    g_assert_true(wd_tls_x509_check_dir(good, WD_TLS_ENDPOINT_SERVER,
                                        "localhost", findings, &err));
    g_assert_no_error(err);
    g_assert_true(wd_tls_x509_check_dir(good, WD_TLS_ENDPOINT_SERVER,
                                        "::1", findings, &err));
    g_assert_true(wd_tls_x509_check_dir(enc, WD_TLS_ENDPOINT_SERVER, NULL,
                                        findings, &err));
    g_assert_cmpuint(findings->len, ==, 0);

    g_assert_false(wd_tls_x509_check_dir(good, WD_TLS_ENDPOINT_SERVER,
                                         "other.test", findings, &err));
    g_assert_cmpuint(findings->len, ==, 1);
    assert_error(err, "1 problem found in DIR", good);
    g_autofree char *mismatch = expand(
        "The server certificate DIR/server-cert.pem does not match the "
        "hostname other.test: the certificate has DNS:localhost, "
        "DNS:server.test, IP:127.0.0.1, IP:::1", good);
    g_assert_cmpstr(findings->pdata[0], ==, mismatch);
    g_clear_error(&err);
    g_ptr_array_set_size(findings, 0);

    g_assert_false(wd_tls_x509_check_dir(bad, WD_TLS_ENDPOINT_SERVER,
                                         "example.com", findings, &err));
    assert_error(err, "4 problems found in DIR", bad);
    g_assert_cmpuint(findings->len, ==, G_N_ELEMENTS(want));
    for (unsigned i = 0; i < G_N_ELEMENTS(want); i++) {
        g_autofree char *w = expand(want[i], bad);
        g_assert_cmpstr(findings->pdata[i], ==, w);
    }
}

/* ---- PSK ------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *buf;        /* the file; NUL bytes via .len */
    size_t len;             /* 0 = strlen(buf) */
    const char *user;
    const char *key_hex;    /* expected key, NULL = error expected */
    const char *error;
} PskCase;

static const PskCase psk_cases[] = {
    { .name = "simple", .buf = "qemu:009d5638c40fde0c\n", .user = "qemu",
      .key_hex = "009d5638c40fde0c" },
    { .name = "second-user",
      .buf = "qemu:009d5638c40fde0c\nalice:10FFA6A2C42F0388\n",
      .user = "alice", .key_hex = "10ffa6a2c42f0388" },
    { .name = "crlf-and-blank", .buf = "\r\n\nbob:0a0b\r\n", .user = "bob",
      .key_hex = "0a0b" },
    { .name = "no-newline", .buf = "bob:ff", .user = "bob",
      .key_hex = "ff" },
    { .name = "first-match-wins", .buf = "bob:01\nbob:02\n", .user = "bob",
      .key_hex = "01" },
    { .name = "prefix-is-not-match", .buf = "bobby:01\n", .user = "bob",
      .error = "Username bob not found in PSK file" },
    { .name = "empty-file", .buf = "", .user = "qemu",
      .error = "Username qemu not found in PSK file" },
    { .name = "no-colon", .buf = "qemu\n", .user = "qemu",
      .error = "Line 1 is not of the form username:hexkey in PSK file" },
    { .name = "empty-user", .buf = "x:00\n:00\n", .user = "qemu",
      .error = "Line 2 is not of the form username:hexkey in PSK file" },
    { .name = "odd-hex", .buf = "qemu:abc\n", .user = "qemu",
      .error = "Line 1 has a key of 3 hex digits (need an even number, 2 to "
               "1024; make one with 'psktool') in PSK file" },
    { .name = "empty-key", .buf = "qemu:\n", .user = "qemu",
      .error = "Line 1 has a key of 0 hex digits (need an even number, 2 to "
               "1024; make one with 'psktool') in PSK file" },
    { .name = "not-hex", .buf = "qemu:zz\n", .user = "qemu",
      .error = "Line 1 has a key that is not hexadecimal in PSK file" },
    { .name = "nul-byte", .buf = "qemu:00\0\n", .len = 9, .user = "qemu",
      .error = "Line 1 contains a NUL byte in PSK file" },
    { .name = "validate-only", .buf = "a:00\nb:0102\n", .user = NULL },
    { .name = "validate-only-bad", .buf = "a:00\nb:01020\n", .user = NULL,
      .error = "Line 2 has a key of 5 hex digits (need an even number, 2 to "
               "1024; make one with 'psktool') in PSK file" },
};

static void test_psk_parse(gconstpointer opaque)
{
    const PskCase *c = opaque;
    uint8_t *key = (uint8_t *)"x";
    size_t keylen = 99;
    g_autoptr(GError) err = NULL;
    bool ok = wd_tls_psk_parse(c->buf, c->len ? c->len : strlen(c->buf),
                               c->user, &key, &keylen, &err);

    if (c->error) {
        g_assert_false(ok);
        g_assert_cmpstr(err->message, ==, c->error);
        g_assert_null(key);
        return;
    }
    g_assert_no_error(err);
    g_assert_true(ok);
    if (!c->user) {
        g_assert_null(key);
        g_assert_cmpuint(keylen, ==, 0);
        return;
    }
    g_autofree char *hex = g_malloc0(keylen * 2 + 1);
    for (size_t i = 0; i < keylen; i++) {
        g_snprintf(hex + 2 * i, 3, "%02x", key[i]);
    }
    g_assert_cmpstr(hex, ==, c->key_hex);
    wd_tls_psk_key_free(key, keylen);
}

static void test_psk_parse_long(void)
{
    g_autoptr(GString) s = g_string_new("u:");
    g_autoptr(GError) err = NULL;
    uint8_t *key = NULL;
    size_t keylen = 0;

    for (int i = 0; i < WD_TLS_PSK_MAX_KEY; i++) {
        g_string_append(s, "ab");
    }
    g_assert_true(wd_tls_psk_parse(s->str, s->len, "u", &key, &keylen,
                                   &err));
    g_assert_cmpuint(keylen, ==, WD_TLS_PSK_MAX_KEY);
    wd_tls_psk_key_free(key, keylen);
    g_string_append(s, "ab");
    g_assert_false(wd_tls_psk_parse(s->str, s->len, "u", &key, &keylen,
                                    &err));
    g_assert_true(g_str_has_prefix(err->message, "Line 1 has a key of 1026"));
}

static void test_psk_load(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdTlsCreds) srv = NULL;
    g_autoptr(WdTlsCreds) cli = NULL;
    const char *dir = tls_pki_case(pki, WD_TLS_PSK_FILE,
                                   "=qemu:009d5638c40fde0c\n"
                                   "alice:10ffa6a2c42f0388\n", NULL);
    const char *empty = tls_pki_case(pki, "unrelated", "=", NULL);
    const char *bad = tls_pki_case(pki, WD_TLS_PSK_FILE, "=qemu:0\n", NULL);

    srv = wd_tls_creds_psk_load(WD_TLS_ENDPOINT_SERVER, dir, NULL, NULL,
                                &err);
    g_assert_no_error(err);
    g_assert_cmpstr(wd_tls_creds_get_priority(srv), ==,
                    "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK");
    cli = wd_tls_creds_psk_load(WD_TLS_ENDPOINT_CLIENT, dir, "alice", NULL,
                                &err);
    g_assert_no_error(err);
    g_assert_cmpint(wd_tls_creds_get_type(cli), ==, WD_TLS_CREDS_PSK);

    g_assert_null(wd_tls_creds_psk_load(WD_TLS_ENDPOINT_CLIENT, dir, "bob",
                                        NULL, &err));
    assert_error(err, "Username bob not found in PSK file DIR/keys.psk", dir);
    g_clear_error(&err);
    g_assert_null(wd_tls_creds_psk_load(WD_TLS_ENDPOINT_SERVER, dir, "bob",
                                        NULL, &err));
    g_assert_cmpstr(err->message, ==,
                    "username should not be set when endpoint=server");
    g_clear_error(&err);
    g_assert_null(wd_tls_creds_psk_load(WD_TLS_ENDPOINT_SERVER, empty, NULL,
                                        NULL, &err));
    assert_error(err, "Unable to access credentials DIR/keys.psk: No such "
                 "file or directory (create it with 'psktool -u USERNAME -p "
                 "DIR/keys.psk')", empty);
    g_clear_error(&err);
    g_assert_null(wd_tls_creds_psk_load(WD_TLS_ENDPOINT_SERVER, bad, NULL,
                                        NULL, &err));
    assert_error(err, "Line 1 has a key of 1 hex digits (need an even "
                 "number, 2 to 1024; make one with 'psktool') in PSK file "
                 "DIR/keys.psk", bad);
    g_clear_error(&err);
    g_assert_null(wd_tls_creds_psk_load(WD_TLS_ENDPOINT_CLIENT, NULL, NULL,
                                        NULL, &err));
    g_assert_true(g_str_has_prefix(err->message,
                                   "Missing 'dir' property value"));
}

static void test_anon_load(void)
{
    g_autoptr(GError) err = NULL;
    const char *bad = tls_pki_case(pki, WD_TLS_DH_PARAMS, "=junk\n", NULL);
    g_autoptr(WdTlsCreds) srv = wd_tls_creds_anon_load(
        WD_TLS_ENDPOINT_SERVER, NULL, "NORMAL", &err);

    g_assert_no_error(err);
    g_assert_cmpstr(wd_tls_creds_get_priority(srv), ==,
                    "NORMAL:-KX-ALL:+ANON-ECDH:+ANON-DH:-VERS-TLS1.3");
    g_assert_cmpint(wd_tls_creds_get_type(srv), ==, WD_TLS_CREDS_ANON);
    /* A client reads nothing, so even a missing directory is fine. */
    g_autoptr(WdTlsCreds) cli = wd_tls_creds_anon_load(
        WD_TLS_ENDPOINT_CLIENT, "/nonexistent", NULL, &err);
    g_assert_no_error(err);
    g_assert_nonnull(cli);
    g_assert_null(wd_tls_creds_anon_load(WD_TLS_ENDPOINT_SERVER, bad, NULL,
                                         &err));
    assert_error(err, "Unable to load DH parameters from DIR/dh-params.pem: "
                 "*", bad);
}

/* ---- certificate generation ------------------------------------------ */

static void test_certs_create(void)
{
    g_autofree char *dir = g_build_filename(tls_pki_dir(pki), "made", NULL);
    const char *const clients[] = { "alice", "bob", NULL };
    const char *const servers[] = { "nbd.example", "192.0.2.7", NULL };
    g_autoptr(GPtrArray) findings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;
    struct stat st;
    const char *keys[] = { "ca-key.pem", "server-key.pem", "client-key.pem",
                           "client-alice-key.pem", "client-bob-key.pem" };

    g_assert_true(wd_certs_create(dir, servers, clients, 30, &err));
    g_assert_no_error(err);
    for (unsigned i = 0; i < G_N_ELEMENTS(keys); i++) {
        g_autofree char *p = g_build_filename(dir, keys[i], NULL);
        g_assert_cmpint(stat(p, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 0777, ==, 0600);
    }
    /* What we make passes our own checks, for each endpoint and name. */
    g_assert_true(wd_tls_x509_check_dir(dir, WD_TLS_ENDPOINT_SERVER,
                                        "nbd.example", findings, &err));
    g_assert_true(wd_tls_x509_check_dir(dir, WD_TLS_ENDPOINT_SERVER,
                                        "192.0.2.7", findings, &err));
    g_assert_true(wd_tls_x509_check_dir(dir, WD_TLS_ENDPOINT_CLIENT, NULL,
                                        findings, &err));
    g_assert_no_error(err);
    g_assert_false(wd_tls_x509_check_dir(dir, WD_TLS_ENDPOINT_SERVER,
                                         "localhost", findings, &err));
    g_clear_error(&err);
    WdTlsX509Config cfg = { .dir = dir, .endpoint = WD_TLS_ENDPOINT_SERVER,
                            .sanity_check = true, .verify_peer = true };
    g_autoptr(WdTlsCreds) creds = wd_tls_creds_x509_load(&cfg, &err);
    g_assert_no_error(err);
    g_assert_nonnull(creds);
    /* The first client is also client-cert.pem. */
    gsize l1 = 0, l2 = 0;
    g_autofree char *p1 = g_build_filename(dir, "client-cert.pem", NULL);
    g_autofree char *p2 = g_build_filename(dir, "client-alice-cert.pem",
                                           NULL);
    g_autofree char *c1 = tls_pki_read(p1, &l1);
    g_autofree char *c2 = tls_pki_read(p2, &l2);
    g_assert_cmpstr(c1, ==, c2);

    /* Never overwrites; leaves nothing behind on failure. */
    g_assert_false(wd_certs_create(dir, NULL, NULL, 30, &err));
    assert_error(err, "DIR/ca-cert.pem already exists: refusing to overwrite "
                 "it; choose another directory or remove the old files", dir);
    g_clear_error(&err);
    g_assert_false(wd_certs_create(dir, NULL, NULL, 0, &err));
    g_assert_cmpstr(err->message, ==, "Validity of 0 days is out of range: "
                    "give 1 to 36500 days");
    g_clear_error(&err);
    const char *const evil[] = { "a", "../x", NULL };
    g_assert_false(wd_certs_create(dir, NULL, evil, 30, &err));
    g_assert_true(g_str_has_prefix(err->message, "Client name '../x' "));
}

static void test_certs_defaults(void)
{
    g_autofree char *dir = g_build_filename(tls_pki_dir(pki), "made2", NULL);
    g_autoptr(GPtrArray) findings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;
    const char *const none[] = { NULL };
    const char *names[] = { "localhost", "127.0.0.1", "::1" };

    g_assert_true(wd_certs_create(dir, NULL, none, 1, &err));
    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
        g_assert_true(wd_tls_x509_check_dir(dir, WD_TLS_ENDPOINT_SERVER,
                                            names[i], findings, &err));
    }
    g_autofree char *p = g_build_filename(dir, "client-cert.pem", NULL);
    g_assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
}

int main(int argc, char **argv)
{
    g_autoptr(TlsPki) owned = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(psk_cases); i++) {
        g_autofree char *path = g_strdup_printf("/crypto/tlscreds/psk-parse/"
                                                "%s", psk_cases[i].name);
        g_test_add_data_func(path, &psk_cases[i], test_psk_parse);
    }
    g_test_add_func("/crypto/tlscreds/psk-parse/long", test_psk_parse_long);
    if (!tls_pki_available()) {
        g_test_message("certtool not found (Debian: gnutls-bin): skipping "
                       "certificate tests");
        return g_test_run();
    }
    owned = pki = tls_pki_new();
    make_special_certs();
    for (unsigned i = 0; i < G_N_ELEMENTS(x509_cases); i++) {
        g_autofree char *path = g_strdup_printf("/crypto/tlscreds/x509/%s",
                                                x509_cases[i].name);
        g_test_add_data_func(path, &x509_cases[i], test_x509_case);
    }
    g_test_add_func("/crypto/tlscreds/x509/unreadable", test_x509_unreadable);
    g_test_add_func("/crypto/tlscreds/x509/misc-errors",
                    test_x509_misc_errors);
    g_test_add_func("/crypto/tlscreds/x509/refcount", test_x509_refcount);
    g_test_add_func("/crypto/tlscreds/x509/check-dir", test_check_dir);
    g_test_add_func("/crypto/tlscreds/psk/load", test_psk_load);
    g_test_add_func("/crypto/tlscreds/anon/load", test_anon_load);
    g_test_add_func("/crypto/certs/create", test_certs_create);
    g_test_add_func("/crypto/certs/defaults", test_certs_defaults);
    ret = g_test_run();
    return ret;
}
