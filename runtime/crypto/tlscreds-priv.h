/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals shared by tlscreds.c, tlscreds-x509.c and tlssession.c: the
 * body of WdTlsCreds and small helpers for messages about certificates.
 * Nothing outside runtime/crypto/ includes this.
 */
#ifndef WARDEN_CRYPTO_TLSCREDS_PRIV_H
#define WARDEN_CRYPTO_TLSCREDS_PRIV_H

#include "runtime/crypto/tlscreds.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <time.h>

struct WdTlsCreds {
    gint refcount;
    WdTlsCredsType type;
    WdTlsEndpoint endpoint;
    bool verify_peer;
    char *dir;                  /* NULL for anon without dir */
    char *priority;             /* full string, kx suffix included */
    gnutls_priority_t prio;     /* parsed once at load */
    gnutls_dh_params_t dh;      /* from dh-params.pem, or NULL */
    union {
        gnutls_certificate_credentials_t x509;
        gnutls_anon_server_credentials_t anon_server;
        gnutls_anon_client_credentials_t anon_client;
        gnutls_psk_server_credentials_t psk_server;
        gnutls_psk_client_credentials_t psk_client;
    } u;
    char *psk_file;             /* PSK server: read at each handshake */
    char *ca_path;              /* x509: for messages */
};

/* Allocates creds of @type and parses "@priority@suffix" into ->prio. */
WdTlsCreds *wd_tls_creds_new(WdTlsCredsType type, WdTlsEndpoint ep,
                             const char *priority, const char *suffix,
                             GError **errp);

/* Server endpoints: loads @dir/dh-params.pem into ->dh when present.
 * Returns false with @errp set when the file exists but is unusable. */
bool wd_tls_creds_load_dh(WdTlsCreds *creds, const char *dir, GError **errp);

/* PSK server: looks @user up in ->psk_file; fills @key (gnutls_malloc'd,
 * as the gnutls PSK callback wants it). */
bool wd_tls_creds_psk_lookup(const WdTlsCreds *creds, const char *user,
                             gnutls_datum_t *key, GError **errp);

/* The creds of a session made by wd_tls_session_new() (tlssession.c);
 * used by gnutls callbacks that only get the gnutls session. */
WdTlsCreds *wd_tls_session_creds_of(gnutls_session_t session);

/* The largest credentials file we read (certificate lists, keys). */
#define WD_TLS_MAX_FILE_SIZE (16 * 1024 * 1024)

/* Reads a whole file. Returns 0, or an errno value (EFBIG past
 * WD_TLS_MAX_FILE_SIZE). The caller frees *@data (wiping it if secret). */
int wd_tls_read_file(const char *path, char **data, size_t *len);

/* "2025-01-01 00:00:00 UTC" (newly allocated). */
char *wd_tls_format_time(time_t t);

/* The names a certificate is valid for, for messages:
 * "DNS:a, IP:127.0.0.1", or "CN=x" when it has no subjectAltName. */
char *wd_tls_cert_names(gnutls_x509_crt_t crt);

/* One sentence for a nonzero gnutls verification status, naming the most
 * useful reason; QEMU's wording first where it has one. */
const char *wd_tls_verify_reason(unsigned status);

#endif
