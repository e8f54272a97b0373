/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Makes a small PKI with gnutls (no certtool): one CA, one server and
 * any number of client certificates, with the extensions that
 * tlscreds-x509.c and QEMU check for.
 */
#include "runtime/crypto/certs.h"
#include "runtime/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_BITS 2048
/* Back-date a little so a peer whose clock is slightly behind accepts. */
#define BACKDATE_SECONDS 300

typedef struct {
    gnutls_x509_crt_t crt;
    gnutls_x509_privkey_t key;
} Issued;

static void issued_clear(Issued *i)
{
    if (i->crt) {
        gnutls_x509_crt_deinit(i->crt);
    }
    if (i->key) {
        gnutls_x509_privkey_deinit(i->key);
    }
    i->crt = NULL;
    i->key = NULL;
}

static bool gnutls_ok(int ret, const char *what, const char *cn,
                      GError **errp)
{
    if (ret < 0) {
        wd_error_setg(errp, "Cannot create the certificate for '%s': %s: %s",
                      cn, what, gnutls_strerror(ret));
        return false;
    }
    return true;
}

/* Key, serial, dates, subject CN and key ids; not yet signed. */
static bool issued_new(Issued *out, const char *cn, int days, GError **errp)
{
    unsigned char serial[16];
    unsigned char id[64];
    size_t idlen = sizeof(id);
    time_t now = time(NULL);
    int ret;

    if ((ret = gnutls_x509_privkey_init(&out->key)) < 0 ||
        (ret = gnutls_x509_privkey_generate(out->key, GNUTLS_PK_RSA,
                                            KEY_BITS, 0)) < 0) {
        return gnutls_ok(ret, "generating the key", cn, errp);
    }
    if ((ret = gnutls_x509_crt_init(&out->crt)) < 0) {
        return gnutls_ok(ret, "allocating", cn, errp);
    }
    /* RFC 5280: serials are positive and unique; 127 random bits. */
    if ((ret = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0) {
        return gnutls_ok(ret, "making a serial number", cn, errp);
    }
    serial[0] = (serial[0] & 0x7f) | 0x40;
    if ((ret = gnutls_x509_crt_set_version(out->crt, 3)) < 0 ||
        (ret = gnutls_x509_crt_set_serial(out->crt, serial,
                                          sizeof(serial))) < 0 ||
        (ret = gnutls_x509_crt_set_activation_time(
             out->crt, now - BACKDATE_SECONDS)) < 0 ||
        (ret = gnutls_x509_crt_set_expiration_time(
             out->crt, now + (time_t)days * 24 * 60 * 60)) < 0 ||
        (ret = gnutls_x509_crt_set_dn_by_oid(out->crt,
                                             GNUTLS_OID_X520_COMMON_NAME, 0,
                                             cn, strlen(cn))) < 0 ||
        (ret = gnutls_x509_crt_set_key(out->crt, out->key)) < 0 ||
        (ret = gnutls_x509_privkey_get_key_id(out->key, 0, id,
                                              &idlen)) < 0 ||
        (ret = gnutls_x509_crt_set_subject_key_id(out->crt, id,
                                                  idlen)) < 0) {
        return gnutls_ok(ret, "setting its fields", cn, errp);
    }
    return true;
}

static bool issued_sign(Issued *out, const Issued *ca, const char *cn,
                        GError **errp)
{
    unsigned char id[64];
    size_t idlen = sizeof(id);
    int ret;

    if ((ret = gnutls_x509_crt_get_subject_key_id(ca->crt, id, &idlen,
                                                  NULL)) < 0 ||
        (ret = gnutls_x509_crt_set_authority_key_id(out->crt, id,
                                                    idlen)) < 0 ||
        (ret = gnutls_x509_crt_sign2(out->crt, ca->crt, ca->key,
                                     GNUTLS_DIG_SHA256, 0)) < 0) {
        return gnutls_ok(ret, "signing it", cn, errp);
    }
    return true;
}

static bool make_ca(Issued *ca, int days, GError **errp)
{
    const char *cn = "Warden CA";
    int ret;

    if (!issued_new(ca, cn, days, errp)) {
        return false;
    }
    /* gnutls marks basicConstraints and keyUsage critical. */
    if ((ret = gnutls_x509_crt_set_basic_constraints(ca->crt, 1, -1)) < 0 ||
        (ret = gnutls_x509_crt_set_key_usage(
             ca->crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN)) < 0) {
        return gnutls_ok(ret, "setting CA extensions", cn, errp);
    }
    return issued_sign(ca, ca, cn, errp);
}

static bool add_san(Issued *leaf, const char *name, GError **errp)
{
    unsigned char addr[16];
    int ret;

    if (inet_pton(AF_INET, name, addr) == 1) {
        ret = gnutls_x509_crt_set_subject_alt_name(
            leaf->crt, GNUTLS_SAN_IPADDRESS, addr, 4, GNUTLS_FSAN_APPEND);
    } else if (inet_pton(AF_INET6, name, addr) == 1) {
        ret = gnutls_x509_crt_set_subject_alt_name(
            leaf->crt, GNUTLS_SAN_IPADDRESS, addr, 16, GNUTLS_FSAN_APPEND);
    } else {
        ret = gnutls_x509_crt_set_subject_alt_name(
            leaf->crt, GNUTLS_SAN_DNSNAME, name, strlen(name),
            GNUTLS_FSAN_APPEND);
    }
    return gnutls_ok(ret, "adding the subjectAltName", name, errp);
}

static bool make_leaf(Issued *leaf, const Issued *ca, bool server,
                      const char *cn, const char *const *sans, int days,
                      GError **errp)
{
    int ret;

    if (!issued_new(leaf, cn, days, errp)) {
        return false;
    }
    /* keyEncipherment too, for peers that still offer RSA key transport;
     * the purpose is left non-critical, as certtool does. */
    if ((ret = gnutls_x509_crt_set_basic_constraints(leaf->crt, 0,
                                                     -1)) < 0 ||
        (ret = gnutls_x509_crt_set_key_usage(
             leaf->crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
                        GNUTLS_KEY_KEY_ENCIPHERMENT)) < 0 ||
        (ret = gnutls_x509_crt_set_key_purpose_oid(
             leaf->crt, server ? GNUTLS_KP_TLS_WWW_SERVER :
                                 GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0) {
        return gnutls_ok(ret, "setting extensions", cn, errp);
    }
    for (; sans && *sans; sans++) {
        if (!add_san(leaf, *sans, errp)) {
            return false;
        }
    }
    return issued_sign(leaf, ca, cn, errp);
}

/* Creates @name in @dir exclusively with @mode; records it in @created. */
static bool write_file(const char *dir, const char *name,
                       const gnutls_datum_t *data, mode_t mode,
                       GPtrArray *created, GError **errp)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    size_t done = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

    if (fd < 0) {
        wd_error_setg_errno(errp, errno, "Cannot create %s", path);
        return false;
    }
    g_ptr_array_add(created, g_strdup(path));
    /* The umask may have narrowed @mode; keys must be exactly 0600. */
    if (fchmod(fd, mode) < 0) {
        wd_error_setg_errno(errp, errno, "Cannot set the mode of %s", path);
        close(fd);
        return false;
    }
    while (done < data->size) {
        ssize_t n = write(fd, data->data + done, data->size - done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            wd_error_setg_errno(errp, errno, "Cannot write %s", path);
            close(fd);
            return false;
        }
        done += n;
    }
    if (close(fd) < 0) {
        wd_error_setg_errno(errp, errno, "Cannot write %s", path);
        return false;
    }
    return true;
}

/* Writes PREFIX-cert.pem and PREFIX-key.pem. */
static bool write_issued(const char *dir, const char *prefix,
                         const Issued *i, GPtrArray *created, GError **errp)
{
    g_autofree char *cname = g_strdup_printf("%s-cert.pem", prefix);
    g_autofree char *kname = g_strdup_printf("%s-key.pem", prefix);
    gnutls_datum_t cert = { NULL, 0 }, key = { NULL, 0 };
    bool ok = false;
    int ret;

    ret = gnutls_x509_crt_export2(i->crt, GNUTLS_X509_FMT_PEM, &cert);
    if (ret >= 0) {
        ret = gnutls_x509_privkey_export2_pkcs8(i->key, GNUTLS_X509_FMT_PEM,
                                                NULL, GNUTLS_PKCS_PLAIN,
                                                &key);
    }
    if (ret < 0) {
        wd_error_setg(errp, "Cannot export %s: %s", prefix,
                      gnutls_strerror(ret));
    } else {
        ok = write_file(dir, cname, &cert, 0644, created, errp) &&
             write_file(dir, kname, &key, 0600, created, errp);
    }
    gnutls_free(cert.data);
    if (key.data) {
        gnutls_memset(key.data, 0, key.size);
        gnutls_free(key.data);
    }
    return ok;
}

static bool name_is_file_safe(const char *cn)
{
    if (!*cn || cn[0] == '.') {
        return false;
    }
    for (const char *p = cn; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr(".-_@", *p)) {
            return false;
        }
    }
    return true;
}

/* Every file name we will write, to refuse before making anything. */
static GPtrArray *planned_files(const char *const *clients)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *fixed[] = { "ca", "server", "client" };

    for (unsigned i = 0; i < G_N_ELEMENTS(fixed); i++) {
        if (i == 2 && !clients[0]) {
            break;
        }
        g_ptr_array_add(names, g_strdup_printf("%s-cert.pem", fixed[i]));
        g_ptr_array_add(names, g_strdup_printf("%s-key.pem", fixed[i]));
    }
    for (unsigned i = 0; clients[0] && clients[1] && clients[i]; i++) {
        g_ptr_array_add(names, g_strdup_printf("client-%s-cert.pem",
                                               clients[i]));
        g_ptr_array_add(names, g_strdup_printf("client-%s-key.pem",
                                               clients[i]));
    }
    return names;
}

static bool check_inputs(const char *dir, const char *const *clients,
                         int days, GError **errp)
{
    g_autoptr(GPtrArray) files = NULL;

    if (days < 1 || days > WD_CERTS_MAX_DAYS) {
        wd_error_setg(errp, "Validity of %d days is out of range: give 1 to "
                      "%d days", days, WD_CERTS_MAX_DAYS);
        return false;
    }
    for (unsigned i = 0; clients[0] && clients[1] && clients[i]; i++) {
        if (!name_is_file_safe(clients[i])) {
            wd_error_setg(errp, "Client name '%s' cannot be used in a file "
                          "name: use letters, digits, '.', '-', '_' and "
                          "'@', not starting with '.'", clients[i]);
            return false;
        }
    }
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        wd_error_setg_errno(errp, errno, "Cannot create directory %s", dir);
        return false;
    }
    files = planned_files(clients);
    for (unsigned i = 0; i < files->len; i++) {
        g_autofree char *path = g_build_filename(dir, files->pdata[i], NULL);

        if (g_file_test(path, G_FILE_TEST_EXISTS)) {
            wd_error_setg(errp, "%s already exists: refusing to overwrite "
                          "it; choose another directory or remove the old "
                          "files", path);
            return false;
        }
    }
    return true;
}

static bool create_all(const char *dir, const char *const *servers,
                       const char *const *clients, int days,
                       GPtrArray *created, GError **errp)
{
    Issued ca = { NULL, NULL };
    bool ok = make_ca(&ca, days, errp) &&
              write_issued(dir, "ca", &ca, created, errp);

    if (ok) {
        Issued srv = { NULL, NULL };

        ok = make_leaf(&srv, &ca, true, servers[0], servers, days, errp) &&
             write_issued(dir, "server", &srv, created, errp);
        issued_clear(&srv);
    }
    for (unsigned i = 0; ok && clients[i]; i++) {
        Issued cli = { NULL, NULL };
        g_autofree char *prefix = g_strdup_printf("client-%s", clients[i]);

        ok = make_leaf(&cli, &ca, false, clients[i], NULL, days, errp) &&
             (i > 0 || write_issued(dir, "client", &cli, created, errp)) &&
             (!clients[1] || write_issued(dir, prefix, &cli, created, errp));
        issued_clear(&cli);
    }
    issued_clear(&ca);
    return ok;
}

bool wd_certs_create(const char *dir, const char *const *server_names,
                     const char *const *client_names, int days,
                     GError **errp)
{
    static const char *const default_servers[] = {
        "localhost", "127.0.0.1", "::1", NULL,
    };
    static const char *const default_clients[] = { "client", NULL };
    g_autoptr(GPtrArray) created = g_ptr_array_new_with_free_func(g_free);

    if (!server_names || !server_names[0]) {
        server_names = default_servers;
    }
    if (!client_names) {
        client_names = default_clients;
    }
    if (!check_inputs(dir, client_names, days, errp)) {
        return false;
    }
    if (!create_all(dir, server_names, client_names, days, created, errp)) {
        for (unsigned i = 0; i < created->len; i++) {
            unlink(created->pdata[i]);
        }
        return false;
    }
    return true;
}
