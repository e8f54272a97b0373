/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The TLS channel: a WdTlsSession stacked on another channel (the
 * "master": a socket, or anything else), so code above it reads and
 * writes plaintext without knowing about TLS. After the handshake the
 * owner swaps its channel pointer to the TLS channel (STYLE B3).
 */
#ifndef WARDEN_IO_CHANNEL_TLS_H
#define WARDEN_IO_CHANNEL_TLS_H

#include "runtime/crypto/tlssession.h"
#include "runtime/io/channel.h"

/*
 * Wrap @master (takes a new reference; closing the TLS channel closes
 * @master) in a TLS session built from @creds (the session takes a
 * reference), as server or client. A client verifies the server against
 * @hostname (may be NULL: then a verify-peer client fails the handshake
 * with "No hostname for certificate validation"). Fails if @creds are for
 * the other endpoint.
 *
 * Nothing can be read or written before the handshake completed:
 *
 *   new --handshake()--> HANDSHAKE --done + peer checked--> OPEN
 *                            |                               |
 *                            +--TLS error / peer rejected--> FAILED
 */
WdChannel *wd_channel_tls_new_server(WdChannel *master, WdTlsCreds *creds,
                                     GError **errp);
WdChannel *wd_channel_tls_new_client(WdChannel *master, WdTlsCreds *creds,
                                     const char *hostname, GError **errp);

/*
 * Run the handshake asynchronously, driven by watches on @master attached
 * to @ctx (NULL = the caller's thread-default context); never a nested
 * loop. On completion the peer is checked (wd_tls_session_check_
 * credentials). @cb runs exactly once, from @ctx and never from inside
 * this call, with @tls (borrowed) and NULL or the error; the handshake
 * holds a reference on @tls until then. @master should be non-blocking.
 * A deadline is the caller's business (a timer that closes the channel).
 */
void wd_channel_tls_handshake(WdChannel *tls, WdTaskFunc cb, gpointer opaque,
                              GMainContext *ctx);

/*
 * The same, blocking the calling thread (waits with poll() on the
 * master, see wd_channel_wait). For command-line clients.
 */
bool wd_channel_tls_handshake_sync(WdChannel *tls, GError **errp);

/* The session of a TLS channel (borrowed), e.g. for the peer name. */
WdTlsSession *wd_channel_tls_get_session(WdChannel *tls);

/* True if @ch is a TLS channel. */
bool wd_channel_is_tls(WdChannel *ch);

#endif
