/* SPDX-License-Identifier: GPL-2.0-or-later */
/* QMP block and NBD commands over runtime/blockdev.c and nbd/exports.c. */
#include "monitor/qmp.h"
#include "runtime/blockdev.h"
#include "runtime/error.h"
#include "runtime/nbd/exports.h"

bool qmp_blockdev_add(QmpSession *session, const BlockdevOptions *arg,
                      GError **errp)
{
    return wd_blockdev_add(arg, errp) != NULL;
}

bool qmp_blockdev_del(QmpSession *session, const q_obj_blockdev_del_arg *arg,
                      GError **errp)
{
    return wd_blockdev_del(arg->node_name, errp);
}

bool qmp_query_named_block_nodes(QmpSession *session,
                                 const q_obj_query_named_block_nodes_arg *arg,
                                 BlockDeviceInfoList **ret, GError **errp)
{
    *ret = wd_blockdev_query();
    return true;
}

bool qmp_nbd_server_start(QmpSession *session,
                          const q_obj_nbd_server_start_arg *arg,
                          GError **errp)
{
    SocketAddress flat = { .type = arg->addr->type };

    switch (arg->addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        flat.u.inet = arg->addr->u.inet->data;
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        flat.u.q_unix = arg->addr->u.q_unix->data;
        break;
    default:
        flat.u.fd = arg->addr->u.fd->data;
        break;
    }
    return wd_nbd_server_start_default(&flat, arg->tls_creds, arg->tls_authz,
                                       arg->has_max_connections,
                                       arg->max_connections, errp);
}

bool qmp_nbd_server_stop(QmpSession *session, GError **errp)
{
    return wd_nbd_servers_remove(NULL, errp);
}

bool qmp_block_export_add(QmpSession *session, const BlockExportOptions *arg,
                          GError **errp)
{
    return wd_block_export_add(arg, errp);
}

bool qmp_block_export_del(QmpSession *session,
                          const q_obj_block_export_del_arg *arg,
                          GError **errp)
{
    return wd_block_export_del(arg->id, arg->mode, errp);
}

bool qmp_query_block_exports(QmpSession *session,
                             BlockExportInfoList **ret, GError **errp)
{
    *ret = wd_block_export_query();
    return true;
}

bool qmp_nbd_server_add(QmpSession *session,
                        const q_obj_nbd_server_add_arg *arg, GError **errp)
{
    const char *name = arg->name ? arg->name : arg->device;
    BlockExportOptionsNbd nbd = {
        .name = (char *)name,
        .has_name = true,
        .description = arg->description,
        .has_description = arg->description != NULL,
    };
    BlockExportOptions opts = {
        .type = BLOCK_EXPORT_TYPE_NBD,
        .id = (char *)name,       /* QEMU: the export id is its name */
        .node_name = arg->device,
        .writable = arg->writable,
        .u.nbd = &nbd,
    };

    if (arg->bitmap) {
        wd_error_setg(errp, "Bitmap '%s' is not found", arg->bitmap);
        return false;
    }
    return wd_block_export_add(&opts, errp);
}

bool qmp_nbd_server_remove(QmpSession *session,
                           const q_obj_nbd_server_remove_arg *arg,
                           GError **errp)
{
    const char *id = wd_block_export_id_by_name(arg->name);

    if (!id) {
        wd_error_setg(errp, "Export '%s' is not found", arg->name);
        return false;
    }
    return wd_block_export_del(id, arg->mode, errp);
}
