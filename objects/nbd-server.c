/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nbd-server object: an NBD server listening on addr, with optional
 * TLS credentials and authz. Exports name it with server=ID; it cannot
 * be deleted while an export uses it. The engine is runtime/nbd/.
 */
#include "objects/objects.h"
#include "runtime/blockdev.h"
#include "runtime/error.h"
#include "runtime/nbd/exports.h"

static bool nbd_server_complete(WdObject *obj, GError **errp)
{
    const NbdServerProperties *p = obj->props;
    g_autoptr(WdSocketAddress) addr = wd_socket_address_from_qapi(p->addr,
                                                                  errp);
    g_autoptr(WdTlsCreds) creds = NULL;

    if (!addr) {
        return false;
    }
    if (p->tls_creds) {
        creds = wd_tls_creds_lookup(obj, "tls-creds", p->tls_creds, true,
                                    errp);
        if (!creds) {
            return false;
        }
    }
    if (p->tls_authz &&
        !wd_object_use(obj, "tls-authz", p->tls_authz, "authz", errp)) {
        return false;
    }
    WdNbdServerConfig cfg = {
        .addrs = addr,
        .naddrs = 1,
        .tls_creds = creds,
        .tls_authz = p->tls_authz,
        .max_connections_set = true,
        .max_connections = p->max_connections,
        .handshake_max_seconds_set = true,
        .handshake_max_seconds = p->handshake_max_seconds,
        .name = obj->id,
    };
    WdNbdServer *s = wd_nbd_server_new(&cfg, errp);
    if (!s) {
        return false;
    }
    if (!wd_nbd_servers_add(obj->id, s, errp)) {
        wd_nbd_server_free(s);
        return false;
    }
    return true;
}

static void nbd_server_finalize(WdObject *obj)
{
    /* Only registered servers are in the table; a failed complete()
     * added nothing, and shutdown may have removed it already. */
    wd_nbd_servers_remove(obj->id, NULL);
}

const WdObjectClass wd_nbd_server_class = {
    .name = "nbd-server",
    .instance_size = sizeof(WdObject),
    .complete = nbd_server_complete,
    .finalize = nbd_server_finalize,
};
