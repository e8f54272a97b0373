/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NBD_CMD_BLOCK_STATUS on a worker thread: one BLOCK_STATUS chunk per
 * selected meta context (base:allocation, qemu:allocation-depth), each a
 * list of extents with neighbours of equal flags merged.
 */
#include "runtime/nbd/nbd-conn-priv.h"

#include <endian.h>
#include <string.h>

/* Extent flags of one meta context for bytes from @pos: *pnum of them. */
typedef int (*ExtentFn)(WdBlockNode *bs, uint64_t pos, uint64_t len,
                        uint64_t *pnum, uint32_t *flags);

static int allocation_extent(WdBlockNode *bs, uint64_t pos, uint64_t len,
                             uint64_t *pnum, uint32_t *flags)
{
    int st, ret = wd_block_block_status(bs, pos, len, pnum, &st);

    *flags = ((st & WD_BLOCK_DATA) ? 0 : NBD_STATE_HOLE) |
             ((st & WD_BLOCK_ZERO) ? NBD_STATE_ZERO : 0);
    return ret;
}

static int depth_extent(WdBlockNode *bs, uint64_t pos, uint64_t len,
                        uint64_t *pnum, uint32_t *flags)
{
    unsigned depth;
    int ret = wd_block_allocation_depth(bs, pos, len, pnum, &depth);

    *flags = depth;
    return ret;
}

/*
 * Fills @d with at most @max extents of [pos, end), merging neighbours
 * with equal flags. Returns how many, or a negative errno when not even
 * the first could be had (later failures just end the list).
 */
static int fill_extents(WdBlockNode *bs, uint64_t pos, uint64_t end,
                        ExtentFn fn, NbdBlockDescriptor *d, unsigned max)
{
    int n = 0;

    while (pos < end) {
        uint64_t pnum;
        uint32_t flags;
        int ret = fn(bs, pos, end - pos, &pnum, &flags);

        if (ret < 0) {
            return n ? n : ret;
        }
        if (n && be32toh(d[n - 1].status_flags) == flags) {
            d[n - 1].length = htobe32(be32toh(d[n - 1].length) + pnum);
        } else if ((unsigned)n == max) {
            break;
        } else {
            d[n].length = htobe32(pnum);
            d[n].status_flags = htobe32(flags);
            n++;
        }
        pos += pnum;
        if (max == 1) {
            break;
        }
    }
    return n;
}

/* One BLOCK_STATUS chunk per selected meta context, in one buffer: each
 * chunk's header is written in front of its payload. */
void nbd_tx_block_status(NbdReq *req)
{
    NbdConn *c = req->conn;
    WdNbdExport *e = c->exp;
    unsigned max = (req->flags & NBD_CMD_FLAG_REQ_ONE) ? 1 :
                   NBD_SRV_MAX_EXTENTS;
    size_t chunk_max = sizeof(NbdStructuredReply) + 4 + 8 * (size_t)max;
    NbdBuf *b = nbd_conn_buf_get(c, 2 * chunk_max);
    uint8_t *start = nbd_buf_data(b) - sizeof(NbdStructuredReply);
    uint8_t *p = start;
    const struct {
        bool on;
        uint32_t id;
        ExtentFn fn;
    } ctx[] = {
        { c->meta_alloc, NBD_SRV_META_ID_ALLOCATION, allocation_extent },
        { c->meta_depth, NBD_SRV_META_ID_DEPTH, depth_extent },
    };
    NbdOut o = { .req = req, .buf = b, .p = start };

    for (size_t i = 0; i < G_N_ELEMENTS(ctx); i++) {
        uint8_t *payload = p + sizeof(NbdStructuredReply);
        uint32_t id = htobe32(ctx[i].id);
        bool last = i + 1 == G_N_ELEMENTS(ctx) || !ctx[i + 1].on;
        int n;

        if (!ctx[i].on) {
            continue;
        }
        n = fill_extents(e->node, req->offset, req->offset + req->len,
                         ctx[i].fn, (NbdBlockDescriptor *)(payload + 4), max);
        if (n < 0) {
            nbd_conn_buf_put(c, b);
            nbd_tx_reply_status(req, nbd_errno_to_wire(n));
            return;
        }
        memcpy(payload, &id, 4);
        nbd_tx_put_chunk(p, last ? NBD_REPLY_FLAG_DONE : 0,
                  NBD_REPLY_TYPE_BLOCK_STATUS, req->cookie, 4 + 8 * n);
        p = payload + 4 + 8 * n;
    }
    o.len = p - start;
    nbd_conn_send(c, &o);
}
