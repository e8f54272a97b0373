/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A TLS session over any byte transport: the caller supplies push/pull
 * callbacks, so the same code serves the TLS channel and the NBD server.
 * Handshake, after-handshake peer checks (QEMU's rules), record I/O.
 *
 * Threading: a session is used by one thread at a time.
 */
#ifndef WARDEN_CRYPTO_TLSSESSION_H
#define WARDEN_CRYPTO_TLSSESSION_H

#include "runtime/crypto/tlscreds.h"

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct WdTlsSession WdTlsSession;

/*
 * Transport callbacks: return the bytes moved, 0 for EOF (pull), or -1
 * with errno set; EAGAIN means "would block" and the operation is retried
 * later (the handshake or read/write then reports that it would block).
 */
typedef ssize_t (*WdTlsPushFunc)(const void *buf, size_t len, void *opaque);
typedef ssize_t (*WdTlsPullFunc)(void *buf, size_t len, void *opaque);

typedef enum {
    WD_TLS_HANDSHAKE_COMPLETE,
    WD_TLS_HANDSHAKE_RECVING,   /* wait until the transport is readable */
    WD_TLS_HANDSHAKE_SENDING,   /* wait until the transport is writable */
} WdTlsHandshakeStatus;

/**
 * wd_tls_session_new:
 * @creds: the credentials; the session takes its own reference.
 * @hostname: client only: the name (or IP address) the server certificate
 * must match; NULL if unknown (then a verify-peer client fails the check).
 * @opaque: passed to @push and @pull.
 *
 * Sets the priority (with the anon/psk key exchanges appended, see
 * tlscreds.h) and,
 * for a verify-peer server, asks the client for a certificate.
 *
 * Returns: a new session, or NULL with @errp set.
 */
WdTlsSession *wd_tls_session_new(WdTlsCreds *creds, const char *hostname,
                                 WdTlsPushFunc push, WdTlsPullFunc pull,
                                 void *opaque, GError **errp);

/* Frees @s (NULL is ignored) without sending anything. */
void wd_tls_session_free(WdTlsSession *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WdTlsSession, wd_tls_session_free)

/**
 * wd_tls_session_handshake:
 *
 * Advances the handshake as far as the transport allows. Call again when
 * the transport is ready in the direction returned.
 *
 * Returns: a WdTlsHandshakeStatus, or -1 with @errp set
 * ("TLS handshake failed: ...").
 */
int wd_tls_session_handshake(WdTlsSession *s, GError **errp);

/**
 * wd_tls_session_check_credentials:
 *
 * After a complete handshake: for x509 with verify-peer, verifies the
 * peer's chain to our CA, its dates, and (clients) that it matches the
 * hostname — also on UNIX sockets; a verify-peer client without a
 * hostname fails. A verify-peer server requires a client certificate.
 * Nothing is checked for anon and PSK, nor with verify-peer off (QEMU).
 *
 * Returns: true if the peer is acceptable; false with @errp set naming
 * the reason.
 */
bool wd_tls_session_check_credentials(WdTlsSession *s, GError **errp);

/**
 * wd_tls_session_get_peer_name:
 *
 * Returns: (transfer full) the peer's identity: for x509 its subject DN
 * in RFC 4514 form ("CN=client,O=Org,C=GB"), for a PSK server the
 * client's username; NULL if there is none (anon, no certificate, PSK
 * client).
 */
char *wd_tls_session_get_peer_name(WdTlsSession *s);

/**
 * wd_tls_session_get_peer_dn_qemu:
 *
 * Returns: (transfer full) the peer certificate's DN the way QEMU presents
 * it to tls-authz objects (gnutls_x509_crt_get_dn order, e.g.
 * "C=GB,O=Org,CN=client"), so authz-simple identities written for QEMU
 * keep working; NULL if there is no peer certificate.
 */
char *wd_tls_session_get_peer_dn_qemu(WdTlsSession *s);

/*
 * Record I/O after the handshake. Return the bytes moved,
 * WD_CHANNEL_ERR_BLOCK (-2) if the transport would block (a write must
 * then be retried with the same data), 0 for EOF (read: the peer closed
 * cleanly), or -1 with @errp set. A write sends at most one record.
 */
ssize_t wd_tls_session_read(WdTlsSession *s, void *buf, size_t len,
                            GError **errp);
ssize_t wd_tls_session_write(WdTlsSession *s, const void *buf, size_t len,
                             GError **errp);

/* Decrypted bytes buffered in the session, readable without the
 * transport. */
size_t wd_tls_session_pending(WdTlsSession *s);

/*
 * Cork: while on, writes are collected into full records; turning it off
 * flushes them (waiting until all is sent, so on a non-blocking transport
 * this retries while the transport says EAGAIN).
 */
void wd_tls_session_cork(WdTlsSession *s, bool on);

/* Sends close_notify. Returns true once sent; false if the transport
 * would block (call again) or failed. */
bool wd_tls_session_bye(WdTlsSession *s);

/* True once wd_tls_session_handshake() returned COMPLETE. */
bool wd_tls_session_is_established(WdTlsSession *s);

WdTlsCreds *wd_tls_session_get_creds(WdTlsSession *s);

#endif
