/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP monitors: listening sockets (unix, tcp; optionally TLS and
 * websocket) each serving any number of clients at once, every client
 * with its own negotiation state. Main thread only.
 */
#ifndef WARDEN_MONITOR_H
#define WARDEN_MONITOR_H

#include <glib.h>
#include <stdbool.h>

typedef struct WdMonitorSet WdMonitorSet;

/* @on_quit runs (from the main loop) when a client sends "quit". */
WdMonitorSet *wd_monitor_set_new(void (*on_quit)(gpointer), gpointer opaque);

/* --chardev socket,id=ID,path=PATH|host=H,port=P,server=on,wait=off */
bool wd_monitor_set_add_chardev(WdMonitorSet *ms, const char *spec,
                                GError **errp);
/* --monitor unix:PATH | tcp:HOST:PORT[,tls-creds=ID][,tls-authz=ID]
 *           [,websocket=on][,mode=0600] | chardev=ID[,pretty=on] */
bool wd_monitor_set_add(WdMonitorSet *ms, const char *spec, GError **errp);

/* Send SHUTDOWN to every negotiated client. */
void wd_monitor_emit_shutdown(const char *reason);

/* Flush what can be flushed, close clients and listeners, remove
 * socket files. */
void wd_monitor_set_free(WdMonitorSet *ms);

#endif
