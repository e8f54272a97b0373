/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The named block nodes of the daemon (--blockdev, blockdev-add):
 * created from schema options, looked up by node-name, and protected
 * from deletion while an export uses them. Main thread only.
 */
#ifndef WARDEN_BLOCKDEV_H
#define WARDEN_BLOCKDEV_H

#include <glib.h>
#include <stdbool.h>

#include "qapi-types.h"
#include "runtime/block/block.h"
#include "runtime/io/channel-socket.h"

/* Create and register a node; returns it borrowed, or NULL. */
WdBlockNode *wd_blockdev_add(const BlockdevOptions *opts, GError **errp);
/* Parse a --blockdev argument (keyval or JSON) and add it. */
WdBlockNode *wd_blockdev_add_arg(const char *arg, GError **errp);
/*
 * qemu-img/qemu-nbd --image-opts: keyval (or JSON) BlockdevOptions where a
 * raw node's "file" may be nested options (file.driver=file,
 * file.filename=...). The node is not registered; returns a new ref.
 */
WdBlockNode *wd_blockdev_add_image_opts(const char *arg, bool read_only,
                                        GError **errp);
bool wd_blockdev_del(const char *node_name, GError **errp);
void wd_blockdev_delete_all(void);
/* QEMU's error when not found: "Cannot find device='' nor node-name='x'" */
WdBlockNode *wd_blockdev_find(const char *node_name, GError **errp);
void wd_blockdev_use(const char *node_name, const char *user);
void wd_blockdev_release(const char *node_name, const char *user);
BlockDeviceInfoList *wd_blockdev_query(void);

/* Schema socket addresses to runtime ones (new), or NULL with errp. */
WdSocketAddress *wd_socket_address_from_qapi(const SocketAddress *a,
                                             GError **errp);
WdSocketAddress *wd_socket_address_from_legacy(const SocketAddressLegacy *a,
                                               GError **errp);

#endif
