/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's NBD servers and block exports, shared by every front end:
 * nbd-server objects and the default server (--nbd-server,
 * nbd-server-start), exports from --export, block-export-add and the
 * legacy nbd-server-add. Main thread only.
 */
#ifndef WARDEN_NBD_EXPORTS_H
#define WARDEN_NBD_EXPORTS_H

#include <glib.h>
#include <stdbool.h>

#include "qapi-types.h"
#include "runtime/nbd/server.h"

/* Register a server under @id (an nbd-server object id); NULL id = the
 * default server ("NBD server already running" if there is one). */
bool wd_nbd_servers_add(const char *id, WdNbdServer *server, GError **errp);
/* Remove a server and every export on it (BLOCK_EXPORT_DELETED each);
 * frees the server. NULL = the default ("NBD server not running"). */
bool wd_nbd_servers_remove(const char *id, GError **errp);
/* The server registered under @id (NULL = default), or NULL. */
WdNbdServer *wd_nbd_servers_find(const char *id);
/* Start the default server from QMP/CLI options. */
bool wd_nbd_server_start_default(const SocketAddress *addr,
                                 const char *tls_creds, const char *tls_authz,
                                 bool has_max, uint32_t max_connections,
                                 GError **errp);

bool wd_block_export_add(const BlockExportOptions *opts, GError **errp);
bool wd_block_export_add_arg(const char *arg, GError **errp);
bool wd_block_export_del(const char *id, BlockExportRemoveMode mode,
                         GError **errp);
BlockExportInfoList *wd_block_export_query(void);
/* Export name -> export id of the default server's export, or NULL. */
const char *wd_block_export_id_by_name(const char *name);

/* Shutdown: drop every export (hard) and server. */
void wd_nbd_exports_shutdown(void);

#endif
