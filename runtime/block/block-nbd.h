/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "nbd" block driver: a block node backed by an export on an NBD
 * server (through the NBD client), so the daemon can re-export a remote
 * export, and tools can treat it like any other node.
 */
#ifndef WARDEN_BLOCK_NBD_H
#define WARDEN_BLOCK_NBD_H

#include "runtime/block/block.h"
#include "runtime/nbd/client.h"

/*
 * wd_block_nbd_open:
 * @node_name: as for the other constructors (NULL = generated)
 * @cfg: the connection (borrowed for the call; see wd_nbd_client_connect)
 *
 * Connects and returns a node of the export's size, read-only when the
 * export is, aligned to the server's minimum block size. Reads and writes
 * may run concurrently from any thread; they are spread over the
 * client's connections. Block status uses base:allocation when the
 * server has it (answers are cached until the next write), else reports
 * everything as data. Called from the main thread; blocks while
 * connecting.
 *
 * Returns: a new reference, or NULL with @errp set.
 */
WdBlockNode *wd_block_nbd_open(const char *node_name,
                               const WdNbdClientConfig *cfg, GError **errp);

/* The client behind an nbd node (borrowed while the node lives), or NULL
 * if @bs is not an nbd node. */
WdNbdClient *wd_block_nbd_get_client(WdBlockNode *bs);

#endif
