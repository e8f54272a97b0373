/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test helper: a throw-away PKI made at test time with certtool (Debian
 * gnutls-bin) in a temporary directory, and per-case credential
 * directories assembled from it. No key is ever committed.
 */
#ifndef WARDEN_TESTS_CRYPTO_TLS_PKI_H
#define WARDEN_TESTS_CRYPTO_TLS_PKI_H

#include <glib.h>
#include <stdbool.h>

typedef struct TlsPki TlsPki;

/* Password of the encrypted key "enckey.pem" (same key as "key.pem"). */
#define TLS_PKI_PASSWORD "hunter2"

/* True if certtool can be run; tests skip otherwise. */
bool tls_pki_available(void);

/*
 * A new PKI in a fresh temporary directory holding "key.pem",
 * "otherkey.pem" (another key pair) and "enckey.pem" (key.pem as
 * PKCS#8 encrypted with TLS_PKI_PASSWORD), and the standard set:
 *   ca      "Warden Test CA" (BC c CA:TRUE, KU c certSign+crlSign)
 *   ca2     "Other Test CA", same layout, another key
 *   server  CN=server.test,O=Test Org,C=GB signed by ca; SAN DNS
 *           localhost, server.test, IP 127.0.0.1, ::1; EKU server
 *   client  CN=client.test,O=Test Org,C=GB signed by ca; EKU client
 *   server2 / client2: the same, signed by ca2 (key otherkey.pem)
 */
TlsPki *tls_pki_new(void);

/* Removes the PKI directory and every case directory made from it. */
void tls_pki_free(TlsPki *pki);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlsPki, tls_pki_free)

const char *tls_pki_dir(TlsPki *pki);

/*
 * Makes NAME-cert.pem from certtool template text @tmpl, self-signed
 * when @signer is NULL, else signed by SIGNER-cert.pem with SIGNER's key;
 * @key names the subject's key file ("key.pem" or "otherkey.pem"). The
 * key each certificate was made with is remembered for signing.
 */
void tls_pki_cert(TlsPki *pki, const char *name, const char *signer,
                  const char *key, const char *tmpl);

/* Writes NAME.pem: a CRL by @ca revoking certificate @revoked. */
void tls_pki_crl(TlsPki *pki, const char *name, const char *ca,
                 const char *revoked);

/*
 * A new case directory inside the PKI dir. Arguments are pairs of
 * (destination file name, sources) ending with NULL; sources is a
 * "+"-separated list of PKI file names concatenated into the destination
 * ("ca-cert.pem+ca2-cert.pem"), or a literal "=text". Returns the path
 * (owned by @pki).
 */
const char *tls_pki_case(TlsPki *pki, const char *dest, ...)
    G_GNUC_NULL_TERMINATED;

/* Reads a whole file (aborts the test on failure). */
char *tls_pki_read(const char *path, gsize *len);

#endif
