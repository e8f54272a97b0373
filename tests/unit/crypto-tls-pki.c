/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test helper: builds certificates with certtool templates so the TLS
 * tests exercise real, independently made certificates (see the header).
 */
#include "tests/unit/crypto-tls-pki.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

struct TlsPki {
    char *dir;
    GHashTable *keys;       /* cert name -> key file it was made with */
    unsigned ncases;
};

static const char *certtool_path(void)
{
    static char *path;

    if (!path) {
        path = g_find_program_in_path("certtool");
    }
    return path;
}

bool tls_pki_available(void)
{
    return certtool_path() != NULL;
}

/* Runs certtool in the PKI dir with TZ=UTC (template dates are UTC). */
static void run_certtool(TlsPki *pki, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_auto(GStrv) envp = g_get_environ();
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) local = NULL;
    int status = 0;

    g_ptr_array_add(argv, (char *)certtool_path());
    for (; *args; args++) {
        g_ptr_array_add(argv, (char *)*args);
    }
    g_ptr_array_add(argv, NULL);
    envp = g_environ_setenv(envp, "TZ", "UTC", TRUE);
    if (!g_spawn_sync(pki->dir, (char **)argv->pdata, envp,
                      G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,
                      &local) ||
        !g_spawn_check_wait_status(status, &local)) {
        g_error("certtool %s failed: %s\n%s", args[0],
                local ? local->message : "?", err ? err : "");
    }
}

static void write_file(const char *path, const char *data, gsize len)
{
    g_autoptr(GError) err = NULL;

    if (!g_file_set_contents(path, data, len, &err)) {
        g_error("%s", err->message);
    }
}

char *tls_pki_read(const char *path, gsize *len)
{
    g_autoptr(GError) err = NULL;
    char *data = NULL;

    if (!g_file_get_contents(path, &data, len, &err)) {
        g_error("%s", err->message);
    }
    return data;
}

void tls_pki_cert(TlsPki *pki, const char *name, const char *signer,
                  const char *key, const char *tmpl)
{
    g_autofree char *tname = g_strdup_printf("%s.tmpl", name);
    g_autofree char *tpath = g_build_filename(pki->dir, tname, NULL);
    g_autofree char *out = g_strdup_printf("%s-cert.pem", name);
    g_autofree char *cacert = NULL;
    const char *cakey;

    write_file(tpath, tmpl, -1);
    if (!signer) {
        const char *args[] = {
            "--generate-self-signed", "--load-privkey", key,
            "--template", tname, "--outfile", out, NULL,
        };
        run_certtool(pki, args);
    } else {
        cakey = g_hash_table_lookup(pki->keys, signer);
        g_assert_nonnull(cakey);
        cacert = g_strdup_printf("%s-cert.pem", signer);
        const char *args[] = {
            "--generate-certificate", "--load-privkey", key,
            "--load-ca-certificate", cacert, "--load-ca-privkey", cakey,
            "--template", tname, "--outfile", out, NULL,
        };
        run_certtool(pki, args);
    }
    g_hash_table_insert(pki->keys, g_strdup(name), g_strdup(key));
}

void tls_pki_crl(TlsPki *pki, const char *name, const char *ca,
                 const char *revoked)
{
    g_autofree char *tpath = g_build_filename(pki->dir, "crl.tmpl", NULL);
    g_autofree char *cacert = g_strdup_printf("%s-cert.pem", ca);
    g_autofree char *cert = g_strdup_printf("%s-cert.pem", revoked);
    g_autofree char *out = g_strdup_printf("%s.pem", name);
    const char *args[] = {
        "--generate-crl", "--load-ca-privkey",
        g_hash_table_lookup(pki->keys, ca), "--load-ca-certificate", cacert,
        "--load-certificate", cert, "--template", "crl.tmpl",
        "--outfile", out, NULL,
    };

    write_file(tpath, "crl_next_update = 30\ncrl_number = 1\n", -1);
    run_certtool(pki, args);
}

#define CA_TMPL(cn) \
    "cn = \"" cn "\"\nca\ncert_signing_key\ncrl_signing_key\n" \
    "expiration_days = 2\n"
#define LEAF_TMPL(cn, extra) \
    "cn = \"" cn "\"\norganization = \"Test Org\"\ncountry = GB\n" \
    "signing_key\nencryption_key\nexpiration_days = 2\n" extra

#define SERVER_NAMES \
    "dns_name = localhost\ndns_name = server.test\n" \
    "ip_address = 127.0.0.1\nip_address = ::1\ntls_www_server\n"

TlsPki *tls_pki_new(void)
{
    g_autoptr(GError) err = NULL;
    TlsPki *pki = g_new0(TlsPki, 1);

    pki->dir = g_dir_make_tmp("warden-pki-XXXXXX", &err);
    g_assert_no_error(err);
    pki->keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                      g_free);
    const char *k1[] = { "--generate-privkey", "--key-type=rsa",
                         "--bits=2048", "--outfile", "key.pem", NULL };
    const char *k2[] = { "--generate-privkey", "--key-type=rsa",
                         "--bits=2048", "--outfile", "otherkey.pem", NULL };
    const char *k3[] = { "--to-p8", "--load-privkey", "key.pem",
                         "--password", TLS_PKI_PASSWORD,
                         "--outfile", "enckey.pem", NULL };
    run_certtool(pki, k1);
    run_certtool(pki, k2);
    run_certtool(pki, k3);

    tls_pki_cert(pki, "ca", NULL, "key.pem", CA_TMPL("Warden Test CA"));
    tls_pki_cert(pki, "ca2", NULL, "otherkey.pem", CA_TMPL("Other Test CA"));
    tls_pki_cert(pki, "server", "ca", "key.pem",
                 LEAF_TMPL("server.test", SERVER_NAMES));
    tls_pki_cert(pki, "client", "ca", "key.pem",
                 LEAF_TMPL("client.test", "tls_www_client\n"));
    tls_pki_cert(pki, "server2", "ca2", "otherkey.pem",
                 LEAF_TMPL("server.test", SERVER_NAMES));
    tls_pki_cert(pki, "client2", "ca2", "otherkey.pem",
                 LEAF_TMPL("client.test", "tls_www_client\n"));
    return pki;
}

const char *tls_pki_dir(TlsPki *pki)
{
    return pki->dir;
}

const char *tls_pki_case(TlsPki *pki, const char *dest, ...)
{
    g_autofree char *name = g_strdup_printf("case%u", ++pki->ncases);
    char *dir = g_build_filename(pki->dir, name, NULL);
    va_list ap;

    g_assert_cmpint(g_mkdir(dir, 0700), ==, 0);
    va_start(ap, dest);
    for (; dest; dest = va_arg(ap, const char *)) {
        const char *src = va_arg(ap, const char *);
        g_autofree char *path = g_build_filename(dir, dest, NULL);
        g_autoptr(GString) data = g_string_new(NULL);

        if (src[0] == '=') {
            g_string_append(data, src + 1);
        } else {
            g_auto(GStrv) parts = g_strsplit(src, "+", -1);

            for (char **p = parts; *p; p++) {
                g_autofree char *sp = g_build_filename(pki->dir, *p, NULL);
                gsize len = 0;
                g_autofree char *contents = tls_pki_read(sp, &len);

                g_string_append_len(data, contents, len);
            }
        }
        write_file(path, data->str, data->len);
    }
    va_end(ap);
    /* Owned by the PKI: freed with it (keys table holds it). */
    g_hash_table_insert(pki->keys, g_strdup_printf("#%s", name), dir);
    return dir;
}

static void rm_rf(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    const char *e;

    if (d) {
        while ((e = g_dir_read_name(d))) {
            g_autofree char *sub = g_build_filename(path, e, NULL);

            if (g_file_test(sub, G_FILE_TEST_IS_DIR) &&
                !g_file_test(sub, G_FILE_TEST_IS_SYMLINK)) {
                rm_rf(sub);
            } else {
                g_unlink(sub);
            }
        }
        g_dir_close(d);
    }
    g_rmdir(path);
}

void tls_pki_free(TlsPki *pki)
{
    if (!pki) {
        return;
    }
    if (!g_getenv("WARDEN_KEEP_PKI")) {
        rm_rf(pki->dir);
    }
    g_hash_table_destroy(pki->keys);
    g_free(pki->dir);
    g_free(pki);
}
