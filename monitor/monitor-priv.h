/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to monitor.c and monitor-secure.c: the monitor and client
 * structures, and the calls the secure accept path (TLS, tls-authz,
 * websocket; monitor-secure.c) and the plain transport (monitor.c) make
 * into each other. Main thread only.
 */
#ifndef WARDEN_MONITOR_PRIV_H
#define WARDEN_MONITOR_PRIV_H

#include "monitor/monitor.h"
#include "monitor/qmp.h"
#include "runtime/crypto/tlscreds.h"
#include "runtime/io/channel.h"
#include "runtime/io/channel-socket.h"
#include "runtime/object.h"

#include <jansson.h>

/* How long a client may take for its TLS and websocket handshakes
 * together before it is dropped (a client that connects and then says
 * nothing must not hold a connection forever). */
#define MONITOR_HANDSHAKE_TIMEOUT_S 10

typedef struct Monitor Monitor;

/*
 * One connected client. Lifecycle:
 *
 *   accepted --(plain)--------------------------------> QMP (greeted)
 *      |                                                     |
 *      +--tls-creds--> TLS handshake --ok, authz ok--+       |
 *      |                  |                          |       |
 *      +--websocket-------+---------> WS handshake --+-> QMP |
 *                         |                 |                |
 *      failure / deadline / authz denied    v                v
 *      ------------------------------> closing --idle--> unlinked
 *
 * References: the monitor's client list holds one; a running handshake
 * holds another (its callback runs exactly once, also after a deadline
 * shut the socket down), so the struct outlives both. The channels are
 * closed when the last reference goes.
 */
typedef struct MonClient {
    gint refcount;
    Monitor *mon;           /* NULL once the monitor was freed */
    WdChannel *sock;        /* the accepted socket: shutdown, peer name */
    WdChannel *ch;          /* top of the stack: socket, TLS or websocket */
    char *peer;             /* peer address for logs */
    QmpSession *qmp;        /* NULL until every handshake succeeded */
    GString *out;           /* unsent output */
    GQueue msg_lens;        /* websocket: GSIZE_TO_POINTER lengths of the
                             * messages in @out, one text frame each */
    guint in_watch;
    guint out_watch;
    guint close_idle;
    guint deadline;         /* handshake timer */
    bool handshaking;       /* a TLS or websocket handshake is running */
    bool timed_out;
    bool closing;
} MonClient;

struct Monitor {
    WdMonitorSet *set;
    char *name;             /* "127.0.0.1:4444", "unix:/path" */
    char *holder;           /* "monitor tcp:127.0.0.1:4444" */
    WdSocketListener *listener;
    bool pretty;
    bool websocket;         /* websocket=on */
    char *tls_creds;        /* tls-creds object id, or NULL */
    char *tls_authz;        /* authz object id, or NULL */
    GPtrArray *clients;     /* MonClient*, one reference each */
};

/* ---- monitor.c ---- */

/* Handshakes done: create the QMP session, greet, start reading. */
void mon_client_start(MonClient *c);
/* Schedule the client's removal (idempotent; safe inside its own
 * callbacks). */
void mon_client_close(MonClient *c);
MonClient *mon_client_ref(MonClient *c);
void mon_client_unref(MonClient *c);

/* ---- monitor-secure.c ---- */

/*
 * Read tls-creds, tls-authz and websocket from the parsed --monitor
 * options (@opts), check that the objects exist and are of the right
 * kind (server credentials), and store them in @mon. The objects are
 * not held yet: mon_secure_hold() does that once the monitor exists.
 */
bool mon_secure_parse(Monitor *mon, json_t *opts, GError **errp);
/* Hold / release the tls-creds and authz objects under @mon->holder so
 * object-del refuses to delete them while the monitor exists. */
void mon_secure_hold(Monitor *mon);
void mon_secure_release(Monitor *mon);

/* A new client: start the TLS and/or websocket handshake with its
 * deadline, or go straight to QMP for a plain monitor. */
void mon_secure_accept(MonClient *c);

#endif
