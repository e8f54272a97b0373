/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz the PEM inputs of tls-creds-x509 (tlscreds-x509.c): a valid
 * credentials directory is made once (wd_certs_create); each input
 * replaces one of its files, picked by byte 0 (bits 0-2: ca-cert.pem,
 * ca-crl.pem, server-cert.pem, server-key.pem, dh-params.pem,
 * client-cert.pem, client-key.pem, ca-cert.pem for a client; bit 3: pass
 * a key password), with the rest of the input. The directory is then examined the way `warden certs
 * check` does (wd_tls_x509_check_dir) and loaded the way tls-creds-x509
 * does (wd_tls_creds_x509_load, sanity checks on), for the endpoint the
 * file belongs to. Credentials that load must also pass the check, and
 * every problem must be reported as a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "fuzz-scratch.h"
#include "runtime/crypto/certs.h"
#include "runtime/crypto/tlscreds.h"
#include "runtime/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const files[] = {
    WD_TLS_X509_CA_CERT, WD_TLS_X509_CA_CRL, WD_TLS_X509_SERVER_CERT,
    WD_TLS_X509_SERVER_KEY, "dh-params.pem", WD_TLS_X509_CLIENT_CERT,
    WD_TLS_X509_CLIENT_KEY, WD_TLS_X509_CA_CERT,
};

static char *dir;
static GBytes *saved[G_N_ELEMENTS(files)];   /* NULL: absent */

static void init(void)
{
    g_autoptr(GError) err = NULL;
    static const char *const names[] = { "localhost", NULL };

    wd_log_set_level(WD_LOG_ERROR);
    dir = g_strdup(fuzz_scratch_new("fuzz-x509-XXXXXX"));
    g_assert(wd_certs_create(dir, names, NULL, 30, &err));
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *p = g_build_filename(dir, files[i], NULL);
        char *buf;
        gsize len;

        if (g_file_get_contents(p, &buf, &len, NULL)) {
            saved[i] = g_bytes_new_take(buf, len);
        }
    }
}

/* Writes @len bytes of @buf as @name, or removes it if @buf is NULL.
 * Plain write(): g_file_set_contents() would fsync every time. */
static void put(const char *name, const void *buf, size_t len)
{
    g_autofree char *p = g_build_filename(dir, name, NULL);
    int fd;

    if (!buf) {
        g_assert(unlink(p) == 0 || errno == ENOENT);
        return;
    }
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    g_assert(fd >= 0);
    g_assert(len == 0 || write(fd, buf, len) == (ssize_t)len);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gsize once;

    if (g_once_init_enter(&once)) {
        init();
        g_once_init_leave(&once, 1);
    }
    if (size == 0) {
        return 0;
    }
    unsigned which = data[0] & 7;
    WdTlsEndpoint ep = which >= 5 ? WD_TLS_ENDPOINT_CLIENT
                                  : WD_TLS_ENDPOINT_SERVER;
    WdTlsX509Config cfg = {
        .dir = dir, .endpoint = ep, .verify_peer = true, .sanity_check = true,
        .key_password = (data[0] & 8) ? (const uint8_t *)"fuzz" : NULL,
        .key_password_len = (data[0] & 8) ? 4 : 0,
    };
    g_autoptr(GPtrArray) findings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) cerr = NULL;
    g_autoptr(GError) lerr = NULL;
    g_autoptr(WdTlsCreds) creds = NULL;
    bool checked;

    put(files[which], data + 1, size - 1);
    checked = wd_tls_x509_check_dir(dir, ep, NULL, findings, &cerr);
    g_assert(checked == !cerr && checked == (findings->len == 0));
    for (guint i = 0; i < findings->len; i++) {
        g_assert(((char *)g_ptr_array_index(findings, i))[0]);
    }
    creds = wd_tls_creds_x509_load(&cfg, &lerr);
    g_assert(!creds == !!lerr);
    g_assert(!lerr || lerr->message[0]);
    if (creds && !checked) {
        fprintf(stderr, "loaded, but check found: %s\n",
                (char *)g_ptr_array_index(findings, 0));
        abort();
    }
    GBytes *orig = saved[which];
    put(files[which], orig ? g_bytes_get_data(orig, NULL) : NULL,
        orig ? g_bytes_get_size(orig) : 0);
    return 0;
}
