/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS credentials: x509 (certificate directory in QEMU's layout, checked
 * at load with admin-readable messages), anonymous and PSK. A loaded
 * WdTlsCreds is immutable and refcounted, so sessions on any thread may
 * share it; the tls-creds-* objects are thin wrappers over these calls.
 */
#ifndef WARDEN_CRYPTO_TLSCREDS_H
#define WARDEN_CRYPTO_TLSCREDS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* File names inside the credentials directory (same as QEMU and nbdkit). */
#define WD_TLS_X509_CA_CERT "ca-cert.pem"
#define WD_TLS_X509_CA_CRL "ca-crl.pem"
#define WD_TLS_X509_SERVER_CERT "server-cert.pem"
#define WD_TLS_X509_SERVER_KEY "server-key.pem"
#define WD_TLS_X509_CLIENT_CERT "client-cert.pem"
#define WD_TLS_X509_CLIENT_KEY "client-key.pem"
#define WD_TLS_DH_PARAMS "dh-params.pem"
#define WD_TLS_PSK_FILE "keys.psk"

/* The PSK username a client sends when none is configured (as QEMU). */
#define WD_TLS_PSK_DEFAULT_USERNAME "qemu"

/* Default base priority when none is given (QEMU's CONFIG_TLS_PRIORITY). */
#define WD_TLS_DEFAULT_PRIORITY "NORMAL"

typedef enum {
    WD_TLS_ENDPOINT_CLIENT,
    WD_TLS_ENDPOINT_SERVER,
} WdTlsEndpoint;

typedef enum {
    WD_TLS_CREDS_X509,
    WD_TLS_CREDS_ANON,
    WD_TLS_CREDS_PSK,
} WdTlsCredsType;

/* Refcounted, immutable after load, shareable across threads. */
typedef struct WdTlsCreds WdTlsCreds;

typedef struct {
    const char *dir;            /* required */
    WdTlsEndpoint endpoint;
    bool verify_peer;           /* check the peer after each handshake */
    const char *priority;       /* gnutls priority string; NULL = default */
    /* Password of an encrypted server-key.pem / client-key.pem: borrowed
     * for the duration of the call, never stored; NULL if none. */
    const uint8_t *key_password;
    size_t key_password_len;
    bool sanity_check;          /* run the certificate checks (QEMU: on) */
} WdTlsX509Config;

/**
 * wd_tls_creds_x509_load:
 * @cfg: the configuration (borrowed).
 *
 * Reads ca-cert.pem (required), ca-crl.pem (optional) and the endpoint's
 * certificate and key (server: required; client: optional, but both or
 * neither) from @cfg->dir. With @cfg->sanity_check, checks the CA flag,
 * validity dates, key usage and purpose, and the chain to the CA; the
 * first problem found is reported, naming the file. Always checks that the
 * key decrypts and matches the certificate. Server endpoints also load
 * dh-params.pem if present (else RFC 7919 groups are used).
 *
 * Blocking (file I/O). Returns: new credentials (refcount 1), or NULL with
 * @errp set.
 */
WdTlsCreds *wd_tls_creds_x509_load(const WdTlsX509Config *cfg,
                                   GError **errp);

/**
 * wd_tls_creds_anon_load:
 * @dir: may be NULL; a server reads an optional dh-params.pem from it.
 * @priority: base priority (NULL = default);
 * ":-KX-ALL:+ANON-ECDH:+ANON-DH:-VERS-TLS1.3" is appended: only anonymous
 * key exchange, over TLS 1.2 (QEMU appends ":+ANON-DH" alone, which fails
 * with clients that also offer certificate suites; see tlscreds.c).
 *
 * Returns: new credentials, or NULL with @errp set.
 */
WdTlsCreds *wd_tls_creds_anon_load(WdTlsEndpoint ep, const char *dir,
                                   const char *priority, GError **errp);

/**
 * wd_tls_creds_psk_load:
 * @dir: directory holding keys.psk (required).
 * @username: client only: the identity to send (NULL = "qemu"); a server
 * must pass NULL.
 * @priority: base priority (NULL = default); ":+ECDHE-PSK:+DHE-PSK:+PSK"
 * is appended.
 *
 * A client reads its key from keys.psk now and wipes the file contents.
 * A server checks that keys.psk is readable and well formed now, and
 * looks the peer's username up in it again at each handshake (so keys
 * can be added or rotated without reloading, as with QEMU).
 *
 * Returns: new credentials, or NULL with @errp set.
 */
WdTlsCreds *wd_tls_creds_psk_load(WdTlsEndpoint ep, const char *dir,
                                  const char *username, const char *priority,
                                  GError **errp);

/* Returns @creds with one more reference. Thread-safe. */
WdTlsCreds *wd_tls_creds_ref(WdTlsCreds *creds);
/* Drops a reference; the last one frees. NULL is ignored. Thread-safe. */
void wd_tls_creds_unref(WdTlsCreds *creds);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WdTlsCreds, wd_tls_creds_unref)

WdTlsCredsType wd_tls_creds_get_type(const WdTlsCreds *creds);
WdTlsEndpoint wd_tls_creds_get_endpoint(const WdTlsCreds *creds);
bool wd_tls_creds_get_verify_peer(const WdTlsCreds *creds);
/* The full session priority string, kx suffix included (borrowed). */
const char *wd_tls_creds_get_priority(const WdTlsCreds *creds);

/**
 * wd_tls_x509_check_dir:
 * @dir: the credentials directory.
 * @ep: which certificate to check (server-cert.pem or client-cert.pem).
 * @hostname: server only, may be NULL: also check that the server
 * certificate matches this name or address.
 * @findings: receives one newly allocated message (char *) per problem;
 * the array should free its elements with g_free.
 *
 * Runs every load-time check of wd_tls_creds_x509_load() and reports all
 * problems instead of stopping at the first. An encrypted key is not
 * decrypted (there is no password here), so it is not compared with its
 * certificate. Used by `warden certs check`. Blocking (file I/O).
 *
 * Returns: true if no problem was found; false with @errp set to a
 * summary ("N problems found in DIR") otherwise.
 */
bool wd_tls_x509_check_dir(const char *dir, WdTlsEndpoint ep,
                           const char *hostname, GPtrArray *findings,
                           GError **errp);

/* The longest PSK key we accept, in bytes (gnutls caps PSKs at 64 KiB;
 * psktool writes 32 bytes by default). */
#define WD_TLS_PSK_MAX_KEY 512
/* The longest PSK username we accept (TLS caps identities at 64 KiB). */
#define WD_TLS_PSK_MAX_USERNAME 1024

/**
 * wd_tls_psk_parse:
 * @buf: contents of a keys.psk file: "username:hexkey" lines, as psktool
 * writes them (a trailing "\r" is ignored, empty lines are skipped).
 * @want_user: the username to look up, or NULL to only validate every line.
 * @key: (out): on success with @want_user, the key bytes (free with
 * wd_tls_psk_key_free); NULL when @want_user is NULL.
 * @keylen: (out): the key length.
 *
 * A pure function with no I/O; every line up to the match is validated.
 * Messages end in "... in PSK file" so callers can append the file name.
 *
 * Returns: true on success; false with @errp set on a malformed line or
 * when @want_user is not in the file.
 */
bool wd_tls_psk_parse(const char *buf, size_t len, const char *want_user,
                      uint8_t **key, size_t *keylen, GError **errp);

/* Wipes and frees a key returned by wd_tls_psk_parse(). NULL is ignored. */
void wd_tls_psk_key_free(uint8_t *key, size_t keylen);

#endif
