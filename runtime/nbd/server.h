/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD server engine: listeners, exports and connections speaking fixed
 * newstyle NBD (with STARTTLS, structured replies and base:allocation) on
 * a small fixed set of I/O threads plus a shared worker pool for disk I/O.
 * The nbd-server object, `warden nbd` and QMP's nbd-server-start /
 * block-export-* are thin layers over this API.
 */
#ifndef WARDEN_NBD_SERVER_H
#define WARDEN_NBD_SERVER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime/block/block.h"
#include "runtime/crypto/tlscreds.h"
#include "runtime/io/channel-socket.h"

typedef struct WdNbdServer WdNbdServer;
typedef struct WdNbdExport WdNbdExport;

/* Defaults of WdNbdServerConfig fields left 0 where 0 has no meaning. */
#define WD_NBD_DEFAULT_MAX_CONNECTIONS 100
#define WD_NBD_DEFAULT_HANDSHAKE_SECONDS 10

/*
 * Server configuration; read by wd_nbd_server_new() only (nothing is kept
 * by reference except what is stated).
 *
 * Listening: @addrs (@naddrs of them) are bound by the server, or
 * @listener is adopted (systemd activation, inherited fds); with neither
 * the server only serves channels given to wd_nbd_server_add_client().
 */
typedef struct {
    const WdSocketAddress *addrs;   /* array of @naddrs (borrowed) */
    size_t naddrs;
    WdSocketListener *listener;     /* optional; ownership is taken, also
                                     * when wd_nbd_server_new() fails */
    WdTlsCreds *tls_creds;          /* NULL = plain; else TLS is required
                                     * (server endpoint); the server takes
                                     * its own reference */
    const char *tls_authz;          /* authz object id checked with the
                                     * peer's x509 DN (QEMU's form) or PSK
                                     * username after the TLS handshake;
                                     * NULL = none */
    bool max_connections_set;       /* false: WD_NBD_DEFAULT_MAX_... */
    unsigned max_connections;       /* 0 = unlimited (when _set) */
    bool handshake_max_seconds_set; /* false: 10 s */
    unsigned handshake_max_seconds; /* 0 = unlimited (when _set) */
    unsigned io_threads;            /* 0 = number of CPUs, at least 2 */
    unsigned worker_threads;        /* 0 = 4 x CPUs, clamped to 8..64 */
    const char *name;               /* for logs, e.g. the object id */
} WdNbdServerConfig;

/**
 * wd_nbd_server_new:
 * @cfg: the configuration (borrowed).
 *
 * Starts the I/O threads and the worker pool and, if an address or
 * listener was given, starts accepting in the calling thread's
 * thread-default main context (the "main context"), which must be iterated
 * for connections to be accepted and for tls-authz checks (the object
 * registry is only touched from there).  Main thread only.
 *
 * Returns: a new server, or NULL with @errp set (e.g. bind failure).
 */
WdNbdServer *wd_nbd_server_new(const WdNbdServerConfig *cfg, GError **errp);

/**
 * wd_nbd_server_free:
 *
 * Stops listening; tells every connection to finish: those negotiating
 * are dropped, those in transmission stop reading, complete their
 * in-flight requests (an acknowledged write is never lost) and close.
 * Waits for that, runs the done() callback of pending export removals,
 * joins the threads and frees the exports.  Blocks the main thread (for
 * at most the time in-flight requests take).  NULL is ignored.
 */
void wd_nbd_server_free(WdNbdServer *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WdNbdServer, wd_nbd_server_free)

/**
 * wd_nbd_server_add_client:
 * @ch: a connected, stream socket channel (borrowed; the server takes its
 *   own reference).  Its fd is switched to non-blocking mode.
 *
 * Serves @ch as if it had been accepted (inetd-style use, tests, fuzzers).
 * The max-connections limit applies.  Main thread only.
 *
 * Returns: true, or false with @errp set (limit reached, server stopping).
 */
bool wd_nbd_server_add_client(WdNbdServer *s, WdChannel *ch, GError **errp);

/* Number of open connections (negotiating or transmitting). Any thread. */
size_t wd_nbd_server_count_connections(WdNbdServer *s);
/* Number of connections accepted since the start (open or closed, not
 * those refused by the limit). Any thread. */
uint64_t wd_nbd_server_count_accepted(WdNbdServer *s);

/* Listening sockets: 0 when serving only added clients. Main thread. */
size_t wd_nbd_server_get_n_listeners(WdNbdServer *s);
/* Address listener socket @index is bound to (real port for port 0).
 * Returns a new address, or NULL with @errp set. */
WdSocketAddress *wd_nbd_server_get_bound_address(WdNbdServer *s,
                                                 size_t index,
                                                 GError **errp);

/**
 * wd_nbd_export_new:
 * @name: export name, 0..4096 bytes of UTF-8 without NUL ("" is allowed;
 *   the empty name also selects the first export, as with qemu-nbd)
 * @description: human-readable text for NBD_INFO_DESCRIPTION / LIST, or
 *   NULL
 * @node: the disk (borrowed; the export takes a reference)
 * @writable: false makes the export read-only (writes fail with EPERM);
 *   true on a read-only node is an error
 * @allow_multi_conn: advertise NBD_FLAG_CAN_MULTI_CONN (a flush on one
 *   connection covers writes acknowledged on all; true for file and memory
 *   nodes)
 *
 * Returns: a new export with one reference, or NULL with @errp set.
 */
WdNbdExport *wd_nbd_export_new(const char *name, const char *description,
                               WdBlockNode *node, bool writable,
                               bool allow_multi_conn, GError **errp);
WdNbdExport *wd_nbd_export_ref(WdNbdExport *exp);
/* Drops a reference; NULL is ignored. Any thread. */
void wd_nbd_export_unref(WdNbdExport *exp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WdNbdExport, wd_nbd_export_unref)

const char *wd_nbd_export_get_name(WdNbdExport *exp);
const char *wd_nbd_export_get_description(WdNbdExport *exp);
WdBlockNode *wd_nbd_export_get_node(WdNbdExport *exp);     /* borrowed */
bool wd_nbd_export_is_writable(WdNbdExport *exp);
/* Offer QEMU's qemu:allocation-depth meta context (qemu-nbd -A, export
 * option allocation-depth). Before the export is added to a server. */
void wd_nbd_export_set_allocation_depth(WdNbdExport *exp, bool on);

/**
 * wd_nbd_server_add_export:
 * @exp: takes ownership of the caller's reference, also on failure.
 *
 * Makes @exp visible to clients (LIST, INFO, GO, EXPORT_NAME).  Main
 * thread.
 *
 * Returns: true, or false with @errp set when an export with that name
 * exists.
 */
bool wd_nbd_server_add_export(WdNbdServer *s, WdNbdExport *exp,
                              GError **errp);

typedef enum {
    /* New clients are refused at once; existing ones keep it until they
     * disconnect, then done() runs. */
    WD_NBD_REMOVE_SAFE,
    /* Also tell its connections to finish: they stop reading requests,
     * complete (and reply to) those in flight, then close. */
    WD_NBD_REMOVE_HARD,
} WdNbdRemoveMode;

/**
 * wd_nbd_server_remove_export:
 * @done: optional; called once from the main context (never from inside
 *   this call) when no connection uses the export any more, or from
 *   wd_nbd_server_free() if the server goes first.
 *
 * Removes export @name: it is no longer listed or selectable.  Calling it
 * again for the same name while the first removal is pending fails (the
 * name is gone).  Main thread.
 *
 * Returns: true, or false with @errp set ("no export named ...").
 */
bool wd_nbd_server_remove_export(WdNbdServer *s, const char *name,
                                 WdNbdRemoveMode mode,
                                 void (*done)(gpointer opaque),
                                 gpointer opaque, GError **errp);

/* The export called @name (borrowed: valid until it is removed), or
 * NULL.  "" does not mean "the default" here.  Main thread. */
WdNbdExport *wd_nbd_server_find_export(WdNbdServer *s, const char *name);

/* Exports in the order they were added (new array of new references;
 * free with g_ptr_array_unref). Main thread. */
GPtrArray *wd_nbd_server_list_exports(WdNbdServer *s);

/* Connections currently using export @exp. Any thread. */
size_t wd_nbd_export_count_connections(WdNbdExport *exp);

#endif
