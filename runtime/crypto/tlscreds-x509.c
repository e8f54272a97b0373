/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x509 credentials: reads the certificate directory, runs the sanity
 * checks QEMU runs (same order, same accept/reject rules, clearer words),
 * checks the private key, and builds the gnutls credentials. The same
 * code reports every problem at once for `warden certs check`.
 */
#include "runtime/crypto/tlscreds-priv.h"
#include "runtime/error.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Bound on certificates in one file (QEMU allows 16 CAs). */
#define MAX_CERTS_PER_FILE 256

typedef enum {
    ROLE_CA,
    ROLE_SERVER,
    ROLE_CLIENT,
} CertRole;

typedef struct {
    /* inputs */
    const char *dir;
    WdTlsEndpoint ep;
    bool sanity;
    bool all;                   /* keep going after a finding */
    bool check_only;            /* no password: skip encrypted keys */
    char *password;             /* NUL-terminated copy, wiped, or NULL */
    size_t password_len;
    const char *hostname;
    GPtrArray *findings;
    time_t now;
    /* files; NULL when absent and optional */
    char *ca_path;
    char *crl_path;
    char *cert_path;
    char *key_path;
    /* what was loaded */
    gnutls_x509_crt_t *cas;
    unsigned ncas;
    gnutls_x509_crt_t *certs;   /* leaf first, then any chain */
    unsigned ncerts;
    gnutls_x509_crl_t *crls;
    unsigned ncrls;
    gnutls_x509_privkey_t key;
} X509Ctx;

static void G_GNUC_PRINTF(2, 3) finding(X509Ctx *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_ptr_array_add(c->findings, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

/* Load mode stops at the first finding, like QEMU; check mode goes on. */
static bool stopped(X509Ctx *c)
{
    return !c->all && c->findings->len > 0;
}

static void free_crt_list(gnutls_x509_crt_t *list, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        gnutls_x509_crt_deinit(list[i]);
    }
    gnutls_free(list);
}

static void ctx_clear(X509Ctx *c)
{
    free_crt_list(c->cas, c->ncas);
    free_crt_list(c->certs, c->ncerts);
    for (unsigned i = 0; i < c->ncrls; i++) {
        gnutls_x509_crl_deinit(c->crls[i]);
    }
    gnutls_free(c->crls);
    if (c->key) {
        gnutls_x509_privkey_deinit(c->key);
    }
    if (c->password) {
        gnutls_memset(c->password, 0, c->password_len);
        g_free(c->password);
    }
    g_free(c->ca_path);
    g_free(c->crl_path);
    g_free(c->cert_path);
    g_free(c->key_path);
}

/* Returns the path of @name in the dir if it exists; NULL otherwise,
 * with a finding unless it is optional and simply absent. */
static char *find_file(X509Ctx *c, const char *name, bool required)
{
    g_autofree char *path = g_build_filename(c->dir, name, NULL);
    struct stat st;

    if (stat(path, &st) == 0) {
        return g_steal_pointer(&path);
    }
    if (errno != ENOENT || required) {
        finding(c, "Unable to access credentials %s: %s", path,
                g_strerror(errno));
    }
    return NULL;
}

static void resolve_paths(X509Ctx *c)
{
    const char *cert = WD_TLS_X509_SERVER_CERT;
    const char *key = WD_TLS_X509_SERVER_KEY;

    /* Same order as QEMU, so an empty dir always names ca-cert.pem. */
    c->ca_path = find_file(c, WD_TLS_X509_CA_CERT, true);
    if (stopped(c)) {
        return;
    }
    c->crl_path = find_file(c, WD_TLS_X509_CA_CRL, false);
    if (stopped(c)) {
        return;
    }
    if (c->ep == WD_TLS_ENDPOINT_SERVER) {
        c->cert_path = find_file(c, cert, true);
        if (stopped(c)) {
            return;
        }
        c->key_path = find_file(c, key, true);
        return;
    }
    cert = WD_TLS_X509_CLIENT_CERT;
    key = WD_TLS_X509_CLIENT_KEY;
    c->cert_path = find_file(c, cert, false);
    c->key_path = find_file(c, key, false);
    /* QEMU silently ignores half a pair; that hides a typo in a name. */
    if (!c->cert_path != !c->key_path) {
        finding(c, "%s/%s exists but %s/%s does not: a client certificate "
                "needs both files (or neither, to connect without one)",
                c->dir, c->cert_path ? cert : key, c->dir,
                c->cert_path ? key : cert);
        g_clear_pointer(&c->cert_path, g_free);
        g_clear_pointer(&c->key_path, g_free);
    }
}

/* Imports every PEM certificate of @path; false (with a finding) if none. */
static bool import_certs(X509Ctx *c, const char *path, const char *what,
                         gnutls_x509_crt_t **list, unsigned *n)
{
    g_autofree char *data = NULL;
    size_t len = 0;
    int ret = wd_tls_read_file(path, &data, &len);

    if (ret) {
        finding(c, "Cannot read %s %s: %s", what, path, g_strerror(ret));
        return false;
    }
    gnutls_datum_t d = { .data = (unsigned char *)data, .size = len };
    ret = gnutls_x509_crt_list_import2(list, n, &d, GNUTLS_X509_FMT_PEM, 0);
    if (ret < 0) {
        *list = NULL;
        *n = 0;
        finding(c, "Unable to import %s %s: %s (expected PEM \"BEGIN "
                "CERTIFICATE\" blocks)", what, path, gnutls_strerror(ret));
        return false;
    }
    if (*n > MAX_CERTS_PER_FILE) {
        finding(c, "%s holds %u certificates; at most %d are allowed", path,
                *n, MAX_CERTS_PER_FILE);
        return false;
    }
    return true;
}

static void load_crl(X509Ctx *c)
{
    g_autofree char *data = NULL;
    size_t len = 0;
    int ret = wd_tls_read_file(c->crl_path, &data, &len);

    if (ret) {
        finding(c, "Cannot load CRL %s: %s", c->crl_path, g_strerror(ret));
        return;
    }
    gnutls_datum_t d = { .data = (unsigned char *)data, .size = len };
    ret = gnutls_x509_crl_list_import2(&c->crls, &c->ncrls, &d,
                                       GNUTLS_X509_FMT_PEM, 0);
    if (ret < 0) {
        c->crls = NULL;
        c->ncrls = 0;
        finding(c, "Cannot load CRL %s: %s (expected PEM \"BEGIN X509 "
                "CRL\" blocks, or remove the file)", c->crl_path,
                gnutls_strerror(ret));
    }
}

static const char *role_name(CertRole role)
{
    return role == ROLE_CA ? "CA" : role == ROLE_SERVER ? "server" : "client";
}

static void check_dates(X509Ctx *c, gnutls_x509_crt_t crt, const char *name,
                        CertRole role)
{
    time_t expires = gnutls_x509_crt_get_expiration_time(crt);
    time_t starts = gnutls_x509_crt_get_activation_time(crt);

    if (expires != (time_t)-1 && expires < c->now) {
        g_autofree char *when = wd_tls_format_time(expires);

        finding(c, "The %s certificate %s has expired (expired on %s): "
                "issue a new one, or check the system clock",
                role_name(role), name, when);
        if (stopped(c)) {
            return;
        }
    }
    if (starts != (time_t)-1 && starts > c->now) {
        g_autofree char *when = wd_tls_format_time(starts);

        finding(c, "The %s certificate %s is not yet active (valid from "
                "%s): check the system clock, or wait until then",
                role_name(role), name, when);
    }
}

static void check_basic_constraints(X509Ctx *c, gnutls_x509_crt_t crt,
                                    const char *name, CertRole role)
{
    unsigned critical = 0;
    int ret = gnutls_x509_crt_get_ca_status(crt, &critical);

    if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
        /* A leaf without the extension is fine; a CA needs it. */
        if (role == ROLE_CA) {
            finding(c, "The certificate %s is missing basic constraints "
                    "for a CA: a CA certificate needs basicConstraints "
                    "CA:TRUE (certtool template: 'ca')", name);
        }
    } else if (ret < 0) {
        finding(c, "Unable to query certificate %s basic constraints: %s",
                name, gnutls_strerror(ret));
    } else if (role == ROLE_CA && ret == 0) {
        finding(c, "The certificate %s basic constraints do not show a CA: "
                "a CA certificate needs basicConstraints CA:TRUE "
                "(certtool template: 'ca')", name);
    } else if (role != ROLE_CA && ret > 0) {
        finding(c, "The certificate %s basic constraints show a CA, but a "
                "%s certificate must not be a CA: issue it without the CA "
                "flag", name, role_name(role));
    }
}

static void check_key_usage(X509Ctx *c, gnutls_x509_crt_t crt,
                            const char *name, CertRole role)
{
    unsigned usage = 0;
    unsigned critical = 0;
    int ret = gnutls_x509_crt_get_key_usage(crt, &usage, &critical);

    if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
        return;     /* no key usage extension: any use is allowed */
    }
    if (ret < 0) {
        finding(c, "Unable to query certificate %s key usage: %s", name,
                gnutls_strerror(ret));
        return;
    }
    /*
     * QEMU's rule: only a critical extension is binding here. A CA with
     * a non-critical one lacking keyCertSign fails the chain check later.
     * digitalSignature is what (EC)DHE key exchange needs; we do not ask
     * for keyEncipherment, which only RSA key transport uses.
     */
    if (role == ROLE_CA && !(usage & GNUTLS_KEY_KEY_CERT_SIGN) && critical) {
        finding(c, "Certificate %s usage does not permit certificate "
                "signing: its critical key usage lacks keyCertSign "
                "(certtool template: 'cert_signing_key')", name);
    } else if (role != ROLE_CA && !(usage & GNUTLS_KEY_DIGITAL_SIGNATURE) &&
               critical) {
        finding(c, "Certificate %s usage does not permit digital "
                "signature: its critical key usage lacks digitalSignature "
                "(certtool template: 'signing_key')", name);
    }
}

static void check_purpose(X509Ctx *c, gnutls_x509_crt_t crt,
                          const char *name, CertRole role)
{
    bool server = false, client = false;
    unsigned critical = 0;
    unsigned i;

    for (i = 0;; i++) {
        char oid[256];
        size_t size = sizeof(oid);
        int ret = gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &size,
                                                      &critical);

        if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
            break;
        }
        if (ret < 0) {
            finding(c, "Unable to query certificate %s key purpose: %s",
                    name, gnutls_strerror(ret));
            return;
        }
        if (g_str_equal(oid, GNUTLS_KP_TLS_WWW_SERVER)) {
            server = true;
        } else if (g_str_equal(oid, GNUTLS_KP_TLS_WWW_CLIENT)) {
            client = true;
        } else if (g_str_equal(oid, GNUTLS_KP_ANY)) {
            server = client = true;
        }
    }
    if (i == 0 || !critical) {
        return;     /* no purpose limits, or (QEMU's rule) not binding */
    }
    if (role == ROLE_SERVER && !server) {
        finding(c, "Certificate %s purpose does not allow use with a TLS "
                "server: its critical extended key usage lacks TLS WWW "
                "server (%s; certtool template: 'tls_www_server')", name,
                GNUTLS_KP_TLS_WWW_SERVER);
    } else if (role == ROLE_CLIENT && !client) {
        finding(c, "Certificate %s purpose does not allow use with a TLS "
                "client: its critical extended key usage lacks TLS WWW "
                "client (%s; certtool template: 'tls_www_client')", name,
                GNUTLS_KP_TLS_WWW_CLIENT);
    }
}

/* QEMU's per-certificate checks, in its order. */
static void check_cert(X509Ctx *c, gnutls_x509_crt_t crt, const char *name,
                       CertRole role)
{
    check_dates(c, crt, name, role);
    if (stopped(c)) {
        return;
    }
    check_basic_constraints(c, crt, name, role);
    if (stopped(c)) {
        return;
    }
    check_key_usage(c, crt, name, role);
    if (stopped(c) || role == ROLE_CA) {
        return;
    }
    check_purpose(c, crt, name, role);
}

/* "DIR/ca-cert.pem", or "DIR/ca-cert.pem (certificate 2, CN=x)" in lists. */
static char *cert_name(const char *path, gnutls_x509_crt_t crt, unsigned i,
                       unsigned n)
{
    char cn[256];
    size_t size = sizeof(cn);

    if (n == 1) {
        return g_strdup(path);
    }
    if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0,
                                      cn, &size) < 0) {
        g_strlcpy(cn, "?", sizeof(cn));
    }
    return g_strdup_printf("%s (certificate %u, CN=%s)", path, i + 1, cn);
}

static void check_chain(X509Ctx *c)
{
    unsigned status = 0;
    /* Dates were reported per certificate above, with the dates. */
    unsigned flags = GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
                     GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS;
    int ret = gnutls_x509_crt_list_verify(c->certs, c->ncerts, c->cas,
                                          c->ncas, c->crls, c->ncrls, flags,
                                          &status);

    if (ret < 0) {
        finding(c, "Unable to verify %s certificate %s against CA "
                "certificate %s: %s",
                c->ep == WD_TLS_ENDPOINT_SERVER ? "server" : "client",
                c->cert_path, c->ca_path, gnutls_strerror(ret));
    } else if (status) {
        finding(c, "Our own certificate %s failed validation against %s: "
                "%s", c->cert_path, c->ca_path, wd_tls_verify_reason(status));
    }
}

static void run_sanity_checks(X509Ctx *c)
{
    CertRole leaf = c->ep == WD_TLS_ENDPOINT_SERVER ? ROLE_SERVER :
                    ROLE_CLIENT;

    /* Leaf before CAs, as QEMU: with both bad, the leaf is reported. */
    if (c->ncerts) {
        check_cert(c, c->certs[0], c->cert_path, leaf);
    }
    /* Intermediates shipped in the certificate file after the leaf. */
    for (unsigned i = 1; i < c->ncerts && !stopped(c); i++) {
        g_autofree char *name = cert_name(c->cert_path, c->certs[i], i,
                                          c->ncerts);
        check_cert(c, c->certs[i], name, ROLE_CA);
    }
    for (unsigned i = 0; i < c->ncas && !stopped(c); i++) {
        g_autofree char *name = cert_name(c->ca_path, c->cas[i], i, c->ncas);
        check_cert(c, c->cas[i], name, ROLE_CA);
    }
    if (!stopped(c) && c->ncerts && c->ncas) {
        check_chain(c);
    }
}

static bool pem_is_encrypted(const char *data)
{
    /* PKCS#8 "ENCRYPTED PRIVATE KEY" or OpenSSL's "Proc-Type: 4,ENCRYPTED" */
    return strstr(data, "ENCRYPTED") != NULL;
}

/*
 * gnutls normalizes a key password with libunistring (UCS-4 and UTF-8
 * copies) in blocks it frees without wiping. While it decrypts, have
 * glibc overwrite every freed block (M_PERTURB); glibc skips that for
 * the small blocks it keeps in the thread's cache (tcache), so take
 * those back afterwards, wipe them and free them again. Then restore
 * the MALLOC_PERTURB_ setting. Other threads' frees in this window are
 * only wiped too. Pinned by tests/integration/secret-leak.py.
 */
#define TCACHE_MAX_BLOCK 1024   /* glibc's largest tcache block size */
#define TCACHE_PER_SIZE 16      /* glibc keeps 7 per size by default */

static void wipe_thread_cache(void)
{
    void *p[TCACHE_PER_SIZE];

    for (size_t n = 8; n <= TCACHE_MAX_BLOCK; n += 16) {
        for (int i = 0; i < TCACHE_PER_SIZE; i++) {
            p[i] = malloc(n);
            if (p[i]) {
                explicit_bzero(p[i], malloc_usable_size(p[i]));
            }
        }
        for (int i = 0; i < TCACHE_PER_SIZE; i++) {
            free(p[i]);
        }
    }
}

static void wipe_freed_memory(bool on)
{
    const char *env = getenv("MALLOC_PERTURB_");

    if (!on) {
        wipe_thread_cache();
    }
    mallopt(M_PERTURB, on ? 0x5c : env ? atoi(env) : 0);
}

/* Imports the key in @data (PEM) into c->key, or records why not. */
static void import_key(X509Ctx *c, const char *data, size_t len)
{
    bool encrypted = pem_is_encrypted(data);
    gnutls_datum_t d = { .data = (unsigned char *)data, .size = len };
    int ret;

    if (encrypted && c->check_only) {
        return;         /* nothing to decrypt it with: documented */
    }
    if (encrypted && !c->password) {
        finding(c, "The private key %s is encrypted: give "
                "passwordid=<secret id> naming a secret that holds its "
                "password", c->key_path);
        return;
    }
    gnutls_x509_privkey_init(&c->key);
    if (encrypted) {
        wipe_freed_memory(true);
    }
    ret = gnutls_x509_privkey_import2(c->key, &d, GNUTLS_X509_FMT_PEM,
                                      encrypted ? c->password : NULL, 0);
    if (encrypted) {
        wipe_freed_memory(false);
    }
    if (ret < 0) {
        gnutls_x509_privkey_deinit(c->key);
        c->key = NULL;
        if (encrypted && ret == GNUTLS_E_DECRYPTION_FAILED) {
            finding(c, "Cannot decrypt the private key %s: the password "
                    "is wrong (check the secret named by passwordid)",
                    c->key_path);
        } else {
            finding(c, "Unable to import private key %s: %s (expected a "
                    "PEM private key)", c->key_path, gnutls_strerror(ret));
        }
    }
}

static void load_key(X509Ctx *c)
{
    char *data = NULL;
    size_t len = 0;
    int ret = wd_tls_read_file(c->key_path, &data, &len);

    if (ret) {
        finding(c, "Cannot read private key %s: %s", c->key_path,
                g_strerror(ret));
        return;
    }
    import_key(c, data, len);
    gnutls_memset(data, 0, len);
    g_free(data);
}

static void check_key_matches(X509Ctx *c)
{
    unsigned char id1[64], id2[64];
    size_t s1 = sizeof(id1), s2 = sizeof(id2);

    if (gnutls_x509_crt_get_key_id(c->certs[0], GNUTLS_KEYID_USE_SHA256, id1,
                                   &s1) < 0 ||
        gnutls_x509_privkey_get_key_id(c->key, GNUTLS_KEYID_USE_SHA256, id2,
                                       &s2) < 0 ||
        s1 != s2 || memcmp(id1, id2, s1) != 0) {
        finding(c, "The private key %s does not match the certificate %s "
                "(they hold different public keys): use the key the "
                "certificate was issued for", c->key_path, c->cert_path);
    }
}

static void check_hostname(X509Ctx *c)
{
    if (!gnutls_x509_crt_check_hostname2(c->certs[0], c->hostname, 0)) {
        g_autofree char *names = wd_tls_cert_names(c->certs[0]);

        finding(c, "The server certificate %s does not match the hostname "
                "%s: the certificate has %s", c->cert_path, c->hostname,
                names);
    }
}

/* Everything short of building gnutls credentials; see X509Ctx.all. */
static void x509_examine(X509Ctx *c)
{
    const char *what = c->ep == WD_TLS_ENDPOINT_SERVER ?
                       "server certificate" : "client certificate";

    c->now = time(NULL);
    resolve_paths(c);
    if (stopped(c)) {
        return;
    }
    if (c->ca_path &&
        !import_certs(c, c->ca_path, "CA certificate list", &c->cas,
                      &c->ncas) && stopped(c)) {
        return;
    }
    if (c->cert_path &&
        !import_certs(c, c->cert_path, what, &c->certs, &c->ncerts) &&
        stopped(c)) {
        return;
    }
    if (c->crl_path) {
        load_crl(c);
        if (stopped(c)) {
            return;
        }
    }
    if (c->sanity) {
        run_sanity_checks(c);
        if (stopped(c)) {
            return;
        }
    }
    if (c->key_path && c->ncerts) {
        load_key(c);
        if (c->key) {
            check_key_matches(c);
        }
        if (stopped(c)) {
            return;
        }
    }
    if (c->hostname && c->ncerts && c->ep == WD_TLS_ENDPOINT_SERVER) {
        check_hostname(c);
    }
}

static bool x509_build(X509Ctx *c, WdTlsCreds *creds, GError **errp)
{
    gnutls_certificate_credentials_t x;
    int ret;

    ret = gnutls_certificate_allocate_credentials(&creds->u.x509);
    if (ret < 0) {
        wd_error_setg(errp, "Cannot allocate credentials: '%s'",
                      gnutls_strerror(ret));
        return false;
    }
    x = creds->u.x509;
    ret = gnutls_certificate_set_x509_trust(x, c->cas, c->ncas);
    if (ret < 0) {
        wd_error_setg(errp, "Cannot load CA certificate '%s': %s",
                      c->ca_path, gnutls_strerror(ret));
        return false;
    }
    if (c->ncrls) {
        ret = gnutls_certificate_set_x509_crl(x, c->crls, c->ncrls);
        if (ret < 0) {
            wd_error_setg(errp, "Cannot load CRL '%s': %s", c->crl_path,
                          gnutls_strerror(ret));
            return false;
        }
    }
    if (c->key) {
        ret = gnutls_certificate_set_x509_key(x, c->certs, c->ncerts,
                                              c->key);
        if (ret < 0) {
            wd_error_setg(errp, "Cannot load certificate '%s' & key '%s': "
                          "%s", c->cert_path, c->key_path,
                          gnutls_strerror(ret));
            return false;
        }
    }
    if (c->ep == WD_TLS_ENDPOINT_SERVER) {
        if (!wd_tls_creds_load_dh(creds, c->dir, errp)) {
            return false;
        }
        if (creds->dh) {
            gnutls_certificate_set_dh_params(x, creds->dh);
        } else {
            gnutls_certificate_set_known_dh_params(x,
                                                   GNUTLS_SEC_PARAM_MEDIUM);
        }
    }
    return true;
}

WdTlsCreds *wd_tls_creds_x509_load(const WdTlsX509Config *cfg,
                                   GError **errp)
{
    g_autoptr(GPtrArray) findings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(WdTlsCreds) creds = NULL;
    X509Ctx c = {
        .dir = cfg->dir,
        .ep = cfg->endpoint,
        .sanity = cfg->sanity_check,
        .findings = findings,
    };
    bool ok;

    if (!cfg->dir || !*cfg->dir) {
        wd_error_setg(errp, "Missing 'dir' property value: x509 "
                      "credentials need the directory holding %s",
                      WD_TLS_X509_CA_CERT);
        return NULL;
    }
    if (cfg->key_password) {
        if (memchr(cfg->key_password, '\0', cfg->key_password_len)) {
            wd_error_setg(errp, "The private key password contains a NUL "
                          "byte, which gnutls cannot take");
            return NULL;
        }
        c.password = g_malloc(cfg->key_password_len + 1);
        c.password_len = cfg->key_password_len + 1;
        memcpy(c.password, cfg->key_password, cfg->key_password_len);
        c.password[cfg->key_password_len] = '\0';
    }
    creds = wd_tls_creds_new(WD_TLS_CREDS_X509, cfg->endpoint, cfg->priority,
                             NULL, errp);
    if (!creds) {
        ctx_clear(&c);
        return NULL;
    }
    creds->verify_peer = cfg->verify_peer;
    creds->dir = g_strdup(cfg->dir);

    x509_examine(&c);
    if (findings->len) {
        wd_error_setg(errp, "%s", (char *)findings->pdata[0]);
        ok = false;
    } else {
        creds->ca_path = g_strdup(c.ca_path);
        ok = x509_build(&c, creds, errp);
    }
    ctx_clear(&c);
    return ok ? g_steal_pointer(&creds) : NULL;
}

bool wd_tls_x509_check_dir(const char *dir, WdTlsEndpoint ep,
                           const char *hostname, GPtrArray *findings,
                           GError **errp)
{
    guint before = findings->len;
    X509Ctx c = {
        .dir = dir,
        .ep = ep,
        .sanity = true,
        .all = true,
        .check_only = true,
        .hostname = hostname,
        .findings = findings,
    };
    guint n;

    if (!dir || !*dir) {
        wd_error_setg(errp, "No credentials directory given");
        return false;
    }
    x509_examine(&c);
    ctx_clear(&c);
    n = findings->len - before;
    if (n) {
        wd_error_setg(errp, "%u problem%s found in %s", n, n == 1 ? "" : "s",
                      dir);
        return false;
    }
    return true;
}
