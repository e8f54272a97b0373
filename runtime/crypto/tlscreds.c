/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS credentials common to all kinds (refcounting, priorities, DH
 * parameters) plus the anonymous and PSK kinds and the keys.psk parser.
 * The x509 kind lives in tlscreds-x509.c.
 */
#include "runtime/crypto/tlscreds-priv.h"
#include "runtime/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * QEMU appends these to the base priority so the kx methods are enabled.
 * For anon we go further than QEMU's ":+ANON-DH": a gnutls 3.7 server
 * holding only anon credentials still selects a certificate suite (or TLS
 * 1.3, which has no anonymous key exchange) when the client offers one,
 * as gnutls-cli does, and then fails with "Insufficient credentials". So
 * anon sessions allow only the anonymous key exchanges, over TLS 1.2.
 * QEMU's anon clients offer nothing else, so they are unaffected.
 */
#define ANON_PRIORITY_SUFFIX ":-KX-ALL:+ANON-ECDH:+ANON-DH:-VERS-TLS1.3"
#define PSK_PRIORITY_SUFFIX ":+ECDHE-PSK:+DHE-PSK:+PSK"

WdTlsCreds *wd_tls_creds_new(WdTlsCredsType type, WdTlsEndpoint ep,
                             const char *priority, const char *suffix,
                             GError **errp)
{
    WdTlsCreds *creds = g_new0(WdTlsCreds, 1);
    const char *errpos = NULL;
    int ret;

    creds->refcount = 1;
    creds->type = type;
    creds->endpoint = ep;
    creds->priority = g_strconcat(priority && *priority ? priority :
                                  WD_TLS_DEFAULT_PRIORITY,
                                  suffix ? suffix : "", NULL);
    /*
     * QEMU only notices a bad priority string when the first client
     * connects; parsing it here reports it when the object is created.
     */
    ret = gnutls_priority_init(&creds->prio, creds->priority, &errpos);
    if (ret < 0) {
        wd_error_setg(errp, "Invalid TLS priority string '%s': %s "
                      "(the problem starts at '%s')", creds->priority,
                      gnutls_strerror(ret), errpos ? errpos : "");
        creds->prio = NULL;
        wd_tls_creds_unref(creds);
        return NULL;
    }
    return creds;
}

WdTlsCreds *wd_tls_creds_ref(WdTlsCreds *creds)
{
    g_atomic_int_inc(&creds->refcount);
    return creds;
}

static void creds_free_gnutls(WdTlsCreds *creds)
{
    switch (creds->type) {
    case WD_TLS_CREDS_X509:
        if (creds->u.x509) {
            gnutls_certificate_free_credentials(creds->u.x509);
        }
        break;
    case WD_TLS_CREDS_ANON:
        if (creds->endpoint == WD_TLS_ENDPOINT_SERVER &&
            creds->u.anon_server) {
            gnutls_anon_free_server_credentials(creds->u.anon_server);
        } else if (creds->endpoint == WD_TLS_ENDPOINT_CLIENT &&
                   creds->u.anon_client) {
            gnutls_anon_free_client_credentials(creds->u.anon_client);
        }
        break;
    case WD_TLS_CREDS_PSK:
        /* gnutls wipes the stored client key when freeing. */
        if (creds->endpoint == WD_TLS_ENDPOINT_SERVER &&
            creds->u.psk_server) {
            gnutls_psk_free_server_credentials(creds->u.psk_server);
        } else if (creds->endpoint == WD_TLS_ENDPOINT_CLIENT &&
                   creds->u.psk_client) {
            gnutls_psk_free_client_credentials(creds->u.psk_client);
        }
        break;
    }
}

void wd_tls_creds_unref(WdTlsCreds *creds)
{
    if (!creds || !g_atomic_int_dec_and_test(&creds->refcount)) {
        return;
    }
    creds_free_gnutls(creds);
    if (creds->dh) {
        gnutls_dh_params_deinit(creds->dh);
    }
    if (creds->prio) {
        gnutls_priority_deinit(creds->prio);
    }
    g_free(creds->dir);
    g_free(creds->priority);
    g_free(creds->psk_file);
    g_free(creds->ca_path);
    g_free(creds);
}

WdTlsCredsType wd_tls_creds_get_type(const WdTlsCreds *creds)
{
    return creds->type;
}

WdTlsEndpoint wd_tls_creds_get_endpoint(const WdTlsCreds *creds)
{
    return creds->endpoint;
}

bool wd_tls_creds_get_verify_peer(const WdTlsCreds *creds)
{
    return creds->verify_peer;
}

const char *wd_tls_creds_get_priority(const WdTlsCreds *creds)
{
    return creds->priority;
}

bool wd_tls_creds_load_dh(WdTlsCreds *creds, const char *dir, GError **errp)
{
    g_autofree char *path = NULL;
    g_autofree char *data = NULL;
    size_t len = 0;
    int ret;

    if (!dir) {
        return true;
    }
    path = g_build_filename(dir, WD_TLS_DH_PARAMS, NULL);
    ret = wd_tls_read_file(path, &data, &len);
    if (ret == ENOENT) {
        /* Optional: gnutls then uses the RFC 7919 groups. */
        return true;
    } else if (ret) {
        wd_error_setg(errp, "Unable to read DH parameters %s: %s", path,
                      g_strerror(ret));
        return false;
    }
    gnutls_datum_t d = { .data = (unsigned char *)data, .size = len };
    gnutls_dh_params_init(&creds->dh);
    ret = gnutls_dh_params_import_pkcs3(creds->dh, &d, GNUTLS_X509_FMT_PEM);
    if (ret < 0) {
        wd_error_setg(errp, "Unable to load DH parameters from %s: %s "
                      "(expected a PKCS#3 PEM file, e.g. from "
                      "'certtool --generate-dh-params'; or remove it)",
                      path, gnutls_strerror(ret));
        return false;
    }
    return true;
}

WdTlsCreds *wd_tls_creds_anon_load(WdTlsEndpoint ep, const char *dir,
                                   const char *priority, GError **errp)
{
    g_autoptr(WdTlsCreds) creds = NULL;
    int ret;

    creds = wd_tls_creds_new(WD_TLS_CREDS_ANON, ep, priority,
                             ANON_PRIORITY_SUFFIX, errp);
    if (!creds) {
        return NULL;
    }
    creds->dir = g_strdup(dir);
    if (ep == WD_TLS_ENDPOINT_SERVER) {
        /* The directory is optional for anon: only dh-params.pem is read. */
        if (!wd_tls_creds_load_dh(creds, dir, errp)) {
            return NULL;
        }
        ret = gnutls_anon_allocate_server_credentials(&creds->u.anon_server);
        if (ret < 0) {
            wd_error_setg(errp, "Cannot allocate credentials: %s",
                          gnutls_strerror(ret));
            return NULL;
        }
        if (creds->dh) {
            gnutls_anon_set_server_dh_params(creds->u.anon_server, creds->dh);
        } else {
            gnutls_anon_set_server_known_dh_params(creds->u.anon_server,
                                                   GNUTLS_SEC_PARAM_MEDIUM);
        }
    } else {
        ret = gnutls_anon_allocate_client_credentials(&creds->u.anon_client);
        if (ret < 0) {
            wd_error_setg(errp, "Cannot allocate credentials: %s",
                          gnutls_strerror(ret));
            return NULL;
        }
    }
    return g_steal_pointer(&creds);
}

/* ---- keys.psk -------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool wd_tls_psk_parse(const char *buf, size_t len, const char *want_user,
                      uint8_t **key, size_t *keylen, GError **errp)
{
    size_t pos = 0;
    unsigned lineno = 0;

    *key = NULL;
    *keylen = 0;
    while (pos < len) {
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t linelen = nl ? (size_t)(nl - line) : len - pos;

        pos += linelen + (nl ? 1 : 0);
        lineno++;
        if (linelen && line[linelen - 1] == '\r') {
            linelen--;      /* files edited on Windows */
        }
        if (linelen == 0) {
            continue;
        }
        if (memchr(line, '\0', linelen)) {
            wd_error_setg(errp, "Line %u contains a NUL byte in PSK file",
                          lineno);
            return false;
        }
        const char *colon = memchr(line, ':', linelen);
        if (!colon || colon == line) {
            wd_error_setg(errp, "Line %u is not of the form username:hexkey "
                          "in PSK file", lineno);
            return false;
        }
        size_t ulen = colon - line;
        const char *hex = colon + 1;
        size_t hexlen = linelen - ulen - 1;

        if (ulen > WD_TLS_PSK_MAX_USERNAME) {
            wd_error_setg(errp, "Line %u has a username longer than %d bytes "
                          "in PSK file", lineno, WD_TLS_PSK_MAX_USERNAME);
            return false;
        }
        if (hexlen == 0 || hexlen % 2 || hexlen > 2 * WD_TLS_PSK_MAX_KEY) {
            wd_error_setg(errp, "Line %u has a key of %zu hex digits (need an "
                          "even number, 2 to %d; make one with 'psktool') "
                          "in PSK file", lineno, hexlen,
                          2 * WD_TLS_PSK_MAX_KEY);
            return false;
        }
        for (size_t i = 0; i < hexlen; i++) {
            if (hexval(hex[i]) < 0) {
                wd_error_setg(errp, "Line %u has a key that is not "
                              "hexadecimal in PSK file", lineno);
                return false;
            }
        }
        if (want_user && strlen(want_user) == ulen &&
            memcmp(want_user, line, ulen) == 0) {
            uint8_t *out = g_malloc(hexlen / 2);

            for (size_t i = 0; i < hexlen / 2; i++) {
                out[i] = hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]);
            }
            *key = out;
            *keylen = hexlen / 2;
            return true;
        }
    }
    if (want_user) {
        wd_error_setg(errp, "Username %s not found in PSK file", want_user);
        return false;
    }
    return true;
}

void wd_tls_psk_key_free(uint8_t *key, size_t keylen)
{
    if (key) {
        gnutls_memset(key, 0, keylen);
        g_free(key);
    }
}

/* Appends the file name to a wd_tls_psk_parse() message. */
static void psk_error_name_file(GError *err, const char *path)
{
    char *msg = g_strdup_printf("%s %s", err->message, path);

    g_free(err->message);
    err->message = msg;
}

/* Reads @path; on success the caller must wipe and free *@data. */
static bool psk_read_file(const char *path, char **data, size_t *len,
                          GError **errp)
{
    int err = wd_tls_read_file(path, data, len);

    if (err == ENOENT) {
        wd_error_setg(errp, "Unable to access credentials %s: %s (create "
                      "it with 'psktool -u USERNAME -p %s')", path,
                      g_strerror(err), path);
        return false;
    } else if (err) {
        wd_error_setg(errp, "Cannot read PSK file %s: %s", path,
                      g_strerror(err));
        return false;
    }
    return true;
}

static void wipe_free(char *data, size_t len)
{
    if (data) {
        gnutls_memset(data, 0, len);
        g_free(data);
    }
}

/* Parses @path for @user (NULL: validate only); wipes the file copy. */
static bool psk_lookup_file(const char *path, const char *user,
                            uint8_t **key, size_t *keylen, GError **errp)
{
    char *data = NULL;
    size_t len = 0;
    GError *local = NULL;
    bool ok;

    if (!psk_read_file(path, &data, &len, errp)) {
        return false;
    }
    ok = wd_tls_psk_parse(data, len, user, key, keylen, &local);
    wipe_free(data, len);
    if (!ok) {
        psk_error_name_file(local, path);
        g_propagate_error(errp, local);
    }
    return ok;
}

bool wd_tls_creds_psk_lookup(const WdTlsCreds *creds, const char *user,
                             gnutls_datum_t *key, GError **errp)
{
    uint8_t *raw = NULL;
    size_t rawlen = 0;

    if (!psk_lookup_file(creds->psk_file, user, &raw, &rawlen, errp)) {
        return false;
    }
    /* gnutls frees (and wipes) the key it is handed with gnutls_free. */
    key->data = gnutls_malloc(rawlen);
    if (!key->data) {
        wd_tls_psk_key_free(raw, rawlen);
        wd_error_setg(errp, "Out of memory for the PSK key");
        return false;
    }
    memcpy(key->data, raw, rawlen);
    key->size = rawlen;
    wd_tls_psk_key_free(raw, rawlen);
    return true;
}

static bool psk_load_client(WdTlsCreds *creds, const char *username,
                            GError **errp)
{
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    int ret;

    if (!psk_lookup_file(creds->psk_file, username, &raw, &rawlen, errp)) {
        return false;
    }
    ret = gnutls_psk_allocate_client_credentials(&creds->u.psk_client);
    if (ret < 0) {
        wd_tls_psk_key_free(raw, rawlen);
        wd_error_setg(errp, "Cannot allocate credentials: %s",
                      gnutls_strerror(ret));
        return false;
    }
    gnutls_datum_t d = { .data = raw, .size = rawlen };
    ret = gnutls_psk_set_client_credentials(creds->u.psk_client, username,
                                            &d, GNUTLS_PSK_KEY_RAW);
    wd_tls_psk_key_free(raw, rawlen);
    if (ret < 0) {
        wd_error_setg(errp, "Cannot set PSK client credentials: %s",
                      gnutls_strerror(ret));
        return false;
    }
    return true;
}

/* gnutls callback: the server's key for @username, read at handshake. */
static int psk_server_key(gnutls_session_t session,
                          const gnutls_datum_t *username, gnutls_datum_t *key)
{
    WdTlsCreds *creds = wd_tls_session_creds_of(session);
    g_autofree char *user = NULL;
    g_autoptr(GError) err = NULL;

    /* The identity comes from the peer: bound it and refuse NULs. */
    if (!creds || username->size == 0 ||
        username->size > WD_TLS_PSK_MAX_USERNAME ||
        memchr(username->data, '\0', username->size)) {
        return -1;
    }
    user = g_strndup((const char *)username->data, username->size);
    if (!wd_tls_creds_psk_lookup(creds, user, key, &err)) {
        /* An unknown user must look like a wrong key to the peer; the
         * handshake then fails and the caller logs the gnutls error. */
        g_debug("PSK lookup failed: %s", err->message);
        return -1;
    }
    return 0;
}

WdTlsCreds *wd_tls_creds_psk_load(WdTlsEndpoint ep, const char *dir,
                                  const char *username, const char *priority,
                                  GError **errp)
{
    g_autoptr(WdTlsCreds) creds = NULL;
    uint8_t *unused = NULL;
    size_t unused_len = 0;
    int ret;

    if (!dir || !*dir) {
        wd_error_setg(errp, "Missing 'dir' property value: PSK credentials "
                      "need the directory holding %s", WD_TLS_PSK_FILE);
        return NULL;
    }
    if (ep == WD_TLS_ENDPOINT_SERVER && username && *username) {
        wd_error_setg(errp, "username should not be set when "
                      "endpoint=server");
        return NULL;
    }
    creds = wd_tls_creds_new(WD_TLS_CREDS_PSK, ep, priority,
                             PSK_PRIORITY_SUFFIX, errp);
    if (!creds) {
        return NULL;
    }
    creds->dir = g_strdup(dir);
    creds->psk_file = g_build_filename(dir, WD_TLS_PSK_FILE, NULL);
    if (ep == WD_TLS_ENDPOINT_CLIENT) {
        if (!username || !*username) {
            username = WD_TLS_PSK_DEFAULT_USERNAME;
        }
        if (!psk_load_client(creds, username, errp)) {
            return NULL;
        }
        return g_steal_pointer(&creds);
    }
    /* Server: catch a missing or malformed file now, not at first use. */
    if (!psk_lookup_file(creds->psk_file, NULL, &unused, &unused_len,
                         errp) ||
        !wd_tls_creds_load_dh(creds, dir, errp)) {
        return NULL;
    }
    ret = gnutls_psk_allocate_server_credentials(&creds->u.psk_server);
    if (ret < 0) {
        wd_error_setg(errp, "Cannot allocate credentials: %s",
                      gnutls_strerror(ret));
        return NULL;
    }
    gnutls_psk_set_server_credentials_function2(creds->u.psk_server,
                                                psk_server_key);
    if (creds->dh) {
        gnutls_psk_set_server_dh_params(creds->u.psk_server, creds->dh);
    } else {
        gnutls_psk_set_server_known_dh_params(creds->u.psk_server,
                                              GNUTLS_SEC_PARAM_MEDIUM);
    }
    return g_steal_pointer(&creds);
}

/* ---- helpers --------------------------------------------------------- */

int wd_tls_read_file(const char *path, char **data, size_t *len)
{
    struct stat st;
    size_t got = 0;
    char *buf;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int err;

    if (fd < 0) {
        return errno;
    }
    if (fstat(fd, &st) < 0) {
        err = errno;
        close(fd);
        return err;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    }
    if (st.st_size > WD_TLS_MAX_FILE_SIZE) {
        close(fd);
        return EFBIG;
    }
    /* +1: room for a terminating NUL, which PEM parsers like. */
    buf = g_malloc(st.st_size + 1);
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, st.st_size - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            err = n < 0 ? errno : EIO;   /* EIO: file shrank under us */
            close(fd);
            gnutls_memset(buf, 0, st.st_size + 1);
            g_free(buf);
            return err;
        }
        got += n;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return 0;
}

char *wd_tls_format_time(time_t t)
{
    struct tm tm;
    char buf[64];

    if (!gmtime_r(&t, &tm) ||
        !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm)) {
        return g_strdup_printf("%lld (seconds since 1970)", (long long)t);
    }
    return g_strdup(buf);
}

char *wd_tls_cert_names(gnutls_x509_crt_t crt)
{
    GString *s = g_string_new(NULL);

    for (unsigned i = 0;; i++) {
        char buf[1024];
        size_t size = sizeof(buf);
        char ip[INET6_ADDRSTRLEN];
        int type = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &size,
                                                        NULL);

        if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
            break;
        }
        if (type < 0) {
            continue;       /* too long or unparsable: skip it */
        }
        if (type == GNUTLS_SAN_DNSNAME) {
            g_string_append_printf(s, "%sDNS:%.*s", s->len ? ", " : "",
                                   (int)size, buf);
        } else if (type == GNUTLS_SAN_IPADDRESS &&
                   (size == 4 || size == 16) &&
                   inet_ntop(size == 4 ? AF_INET : AF_INET6, buf, ip,
                             sizeof(ip))) {
            g_string_append_printf(s, "%sIP:%s", s->len ? ", " : "", ip);
        }
    }
    if (s->len == 0) {
        char cn[1024];
        size_t size = sizeof(cn);

        if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME,
                                          0, 0, cn, &size) == 0) {
            g_string_append_printf(s, "CN=%s", cn);
        } else {
            g_string_append(s, "no names at all");
        }
    }
    return g_string_free(s, FALSE);
}

const char *wd_tls_verify_reason(unsigned status)
{
    /* Most specific first: the generic "not trusted" bit is set too. */
    if (status & GNUTLS_CERT_REVOKED) {
        return "The certificate has been revoked";
    }
    if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
        return "The certificate hasn't got a known issuer: no CA "
               "certificate we trust signed it";
    }
    if (status & GNUTLS_CERT_SIGNER_NOT_CA) {
        return "The certificate is not trusted: its issuer is not a CA";
    }
    if (status & GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE) {
        return "The certificate is not trusted: its issuer's key usage or "
               "constraints do not allow it to sign certificates";
    }
    if (status & GNUTLS_CERT_INSECURE_ALGORITHM) {
        return "The certificate uses an insecure algorithm";
    }
    if (status & GNUTLS_CERT_EXPIRED) {
        return "The certificate has expired";
    }
    if (status & GNUTLS_CERT_NOT_ACTIVATED) {
        return "The certificate is not yet activated";
    }
    if (status & GNUTLS_CERT_SIGNATURE_FAILURE) {
        return "The certificate is not trusted: its signature does not "
               "verify";
    }
    if (status & GNUTLS_CERT_PURPOSE_MISMATCH) {
        return "The certificate's purpose does not allow this use";
    }
    if (status & GNUTLS_CERT_INVALID) {
        return "The certificate is not trusted";
    }
    return "Invalid certificate";
}
