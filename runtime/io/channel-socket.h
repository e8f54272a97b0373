/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stream socket channels (TCP and unix), socket addresses and their text
 * form, synchronous/asynchronous connect, and listeners bound to one or
 * more addresses (or inherited from systemd socket activation).
 */
#ifndef WARDEN_IO_CHANNEL_SOCKET_H
#define WARDEN_IO_CHANNEL_SOCKET_H

#include <sys/socket.h>

#include "runtime/io/channel.h"

/* Most descriptors accepted or sent in one SCM_RIGHTS message. */
#define WD_CHANNEL_SOCKET_MAX_FDS 16

typedef enum {
    WD_SOCKET_ADDRESS_INET,
    WD_SOCKET_ADDRESS_UNIX,
    WD_SOCKET_ADDRESS_FD,
} WdSocketAddressType;

typedef struct WdSocketAddress {
    WdSocketAddressType type;
    char *host;     /* INET: name or literal without brackets; "" = any */
    char *port;     /* INET: decimal 0..65535 (0 = pick one, listen only) */
    bool ipv4;      /* INET: restrict to these families; both false = any */
    bool ipv6;
    char *path;     /* UNIX: filesystem path */
    int fd;         /* FD: an already open socket, borrowed (dup()ed on use) */
} WdSocketAddress;

/*
 * Parse "unix:/path", "tcp:host:port", "host:port", "[v6addr]:port",
 * "tcp:[v6addr]:port", ":port" (any address) or "fd:N". Ports are decimal
 * 0..65535; unix paths must fit sockaddr_un (107 bytes).
 * Returns: a new address (free with wd_socket_address_free), or NULL.
 */
WdSocketAddress *wd_socket_address_parse(const char *str, GError **errp);
WdSocketAddress *wd_socket_address_new_inet(const char *host,
                                            const char *port);
WdSocketAddress *wd_socket_address_new_unix(const char *path);
WdSocketAddress *wd_socket_address_new_fd(int fd);
WdSocketAddress *wd_socket_address_copy(const WdSocketAddress *addr);
void wd_socket_address_free(WdSocketAddress *addr);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WdSocketAddress, wd_socket_address_free)

/*
 * Text form that wd_socket_address_parse() reads back: "host:port",
 * "[v6addr]:port", "unix:/path", "fd:N". Returns a new string.
 */
char *wd_socket_address_to_string(const WdSocketAddress *addr);

/* Address of a sockaddr (numeric host and port). Returns a new address or
 * NULL (unsupported family). */
WdSocketAddress *wd_socket_address_from_sockaddr(const struct sockaddr *sa,
                                                 socklen_t len,
                                                 GError **errp);

/*
 * Wrap a connected (or listening) stream socket @fd. Unix sockets get
 * WD_CHANNEL_FEATURE_FD_PASS; all get WD_CHANNEL_FEATURE_SHUTDOWN;
 * listening sockets WD_CHANNEL_FEATURE_LISTEN. The channel name is the
 * peer address. Takes ownership of @fd on success only.
 */
WdChannel *wd_channel_socket_new_fd(int fd, GError **errp);

/*
 * Connect to @addr, trying every address the host resolves to in order.
 * Blocks the calling thread. TCP sockets get TCP_NODELAY. The channel is
 * in blocking mode. FD addresses are dup()ed. Returns a new reference.
 */
WdChannel *wd_channel_socket_connect_sync(const WdSocketAddress *addr,
                                          GError **errp);

/*
 * Connect on a worker thread and call @cb exactly once from @ctx (NULL =
 * the caller's thread-default context) with the connected channel
 * (borrowed: take a reference to keep it) or NULL and an error. @addr is
 * copied.
 */
void wd_channel_socket_connect_async(const WdSocketAddress *addr,
                                     WdTaskFunc cb, gpointer opaque,
                                     GMainContext *ctx);

/* True if @ch is a socket channel. */
bool wd_channel_is_socket(WdChannel *ch);
/* Peer / local address for logs: "127.0.0.1:4711", "[::1]:4711",
 * "unix:/path", "unix:(unnamed)". Borrowed from the channel; NULL if @ch
 * is not a socket channel. */
const char *wd_channel_socket_peer_name(WdChannel *ch);
const char *wd_channel_socket_local_name(WdChannel *ch);

/* ---- listeners (socket-listener.c) ---- */

typedef struct WdSocketListener WdSocketListener;

/* @client is borrowed: take a reference to keep it. Accepted clients are
 * non-blocking and close-on-exec; TCP clients have TCP_NODELAY. */
typedef void (*WdSocketAcceptFunc)(WdChannel *client, gpointer opaque);

/*
 * Listen on every address of @addrs: an INET host binds all addresses
 * getaddrinfo() returns for it (IPv6 sockets are IPV6_V6ONLY, all have
 * SO_REUSEADDR; port 0 picks one port shared by all of them). A unix
 * path replaces a stale socket (never a regular file or a socket with a
 * live server), is created with mode 0600 and removed again by
 * wd_socket_listener_free(). @backlog <= 0 means SOMAXCONN.
 */
WdSocketListener *wd_socket_listener_new(const WdSocketAddress *addrs,
                                         size_t naddrs, int backlog,
                                         GError **errp);

/* Adopt listening sockets; takes ownership of @fds on success only. */
WdSocketListener *wd_socket_listener_new_from_fds(const int *fds,
                                                  size_t nfds,
                                                  GError **errp);

/*
 * Adopt the sockets systemd passed (fds 3 .. 3+LISTEN_FDS-1) after
 * checking LISTEN_PID == getpid(). LISTEN_PID, LISTEN_FDS and
 * LISTEN_FDNAMES are unset in every case so children do not inherit
 * them. Fails when the process was not socket-activated. Call it at
 * startup, before starting threads (it modifies the environment).
 */
WdSocketListener *wd_socket_listener_from_systemd(GError **errp);

/*
 * Start (or with @func NULL, stop) accepting: one GSource per listening
 * socket attached to @ctx (NULL = default context). Replaces a previous
 * callback. @func may free the listener.
 */
void wd_socket_listener_set_accept(WdSocketListener *l,
                                   WdSocketAcceptFunc func, gpointer opaque,
                                   GMainContext *ctx);

size_t wd_socket_listener_get_n_fds(WdSocketListener *l);
int wd_socket_listener_get_fd(WdSocketListener *l, size_t index);
/* The address socket @index is actually bound to (real port for port 0).
 * Returns a new address. */
WdSocketAddress *wd_socket_listener_get_bound_address(WdSocketListener *l,
                                                      size_t index,
                                                      GError **errp);

/* Stop accepting, close the sockets and remove unix socket files we
 * created (if they are still ours). */
void wd_socket_listener_free(WdSocketListener *l);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WdSocketListener, wd_socket_listener_free)

#endif
