/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "snapshot" block driver (qemu-nbd -s): a writable, throwaway view of
 * a base node that is never written. Writes go to a temporary overlay file
 * (created in $TMPDIR and unlinked at once) in 64 KiB clusters: a cluster
 * is copied from the base before its first partial write, a cluster
 * written whole is simply marked, and reads take each cluster from where
 * its current bytes are. Everything written is gone when the node closes,
 * as with qemu-nbd's temporary qcow2 overlay; disk space, not memory, is
 * what large writes cost.
 *
 * Concurrency: a bit per cluster says "the overlay holds it" and is only
 * ever set. Writes touching a cluster without the bit run under the lock
 * (copy, write, set bits), so a copy can never overwrite a concurrent
 * write; writes to clusters that all have the bit, and all reads, run
 * without it. A read racing with a write of the same bytes sees the old
 * or the new data, never a mix of base and zeroes.
 */
#include "runtime/block/block.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/error.h"

#define CLUSTER (64 * 1024)
#define MAX_IOV 1024

typedef struct SnapState {
    WdBlockNode *base;          /* strong reference, never written */
    WdBlockNode *overlay;       /* strong reference, unlinked temp file */
    uint64_t size;
    guint *bits;                /* a bit per cluster: overlay has it */
    GMutex lock;
    void *buf;                  /* CLUSTER bytes for copies; under lock */
} SnapState;

static SnapState *snap_state(WdBlockNode *bs)
{
    return wd_block_node_opaque(bs);
}

static bool in_overlay(SnapState *s, uint64_t c)
{
    return g_atomic_int_get(&s->bits[c / 32]) & (1u << (c % 32));
}

static void set_in_overlay(SnapState *s, uint64_t c)
{
    g_atomic_int_or(&s->bits[c / 32], 1u << (c % 32));
}

/* Bytes from @offset (at most @len) whose clusters all have the same
 * in_overlay() answer, stored in *@overlay. */
static uint64_t same_run(SnapState *s, uint64_t offset, uint64_t len,
                         bool *overlay)
{
    uint64_t c = offset / CLUSTER;
    uint64_t end = offset + len;
    uint64_t next = (c + 1) * (uint64_t)CLUSTER;

    *overlay = in_overlay(s, c);
    while (next < end && in_overlay(s, next / CLUSTER) == *overlay) {
        next += CLUSTER;
    }
    return MIN(next, end) - offset;
}

/* The part [skip, skip+len) of @iov as a new iovec array in @out. */
static int iov_slice(const struct iovec *iov, int niov, uint64_t skip,
                     uint64_t len, struct iovec *out)
{
    int n = 0;

    for (int i = 0; i < niov && len > 0; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        size_t take = MIN(iov[i].iov_len - skip, len);
        if (n == MAX_IOV) {
            return -EINVAL;
        }
        out[n].iov_base = (char *)iov[i].iov_base + skip;
        out[n].iov_len = take;
        n++;
        len -= take;
        skip = 0;
    }
    return n;
}

static int snap_preadv(WdBlockNode *bs, uint64_t offset,
                       const struct iovec *iov, int niov, uint64_t len)
{
    SnapState *s = snap_state(bs);
    g_autofree struct iovec *part = NULL;
    uint64_t done = 0;
    bool ov;

    if (same_run(s, offset, len, &ov) == len) {
        return wd_block_preadv(ov ? s->overlay : s->base, offset, iov, niov,
                               len);
    }
    part = g_new(struct iovec, MAX_IOV);
    while (done < len) {
        uint64_t n = same_run(s, offset + done, len - done, &ov);
        int np = iov_slice(iov, niov, done, n, part);
        int ret;

        if (np < 0) {
            return np;
        }
        ret = wd_block_preadv(ov ? s->overlay : s->base, offset + done, part,
                              np, n);
        if (ret < 0) {
            return ret;
        }
        done += n;
    }
    return 0;
}

/* Copies cluster @c from the base into the overlay. Under the lock. */
static int copy_cluster(SnapState *s, uint64_t c)
{
    uint64_t start = c * CLUSTER;
    struct iovec v = {
        .iov_base = s->buf,
        .iov_len = MIN((uint64_t)CLUSTER, s->size - start),
    };
    int ret = wd_block_preadv(s->base, start, &v, 1, v.iov_len);

    if (ret == 0) {
        ret = wd_block_pwritev(s->overlay, start, &v, 1, v.iov_len, 0);
    }
    return ret;
}

static bool covers_cluster(SnapState *s, uint64_t c, uint64_t offset,
                           uint64_t len)
{
    uint64_t start = c * CLUSTER;
    uint64_t end = MIN(start + CLUSTER, s->size);

    return offset <= start && offset + len >= end;
}

typedef int (*OverlayWrite)(SnapState *s, uint64_t offset, uint64_t len,
                            const struct iovec *iov, int niov, int flags);

/*
 * Runs @write on the overlay for [offset, offset+len): directly when every
 * cluster is already there, else under the lock after copying the base
 * into partially covered clusters, marking whole ones afterwards.
 */
static int snap_write(SnapState *s, uint64_t offset, uint64_t len,
                      OverlayWrite write, const struct iovec *iov, int niov,
                      int flags)
{
    uint64_t first = offset / CLUSTER, last = (offset + len - 1) / CLUSTER;
    bool ov;
    int ret = 0;

    if (same_run(s, offset, len, &ov) == len && ov) {
        return write(s, offset, len, iov, niov, flags);
    }
    g_mutex_lock(&s->lock);
    for (uint64_t c = first; c <= last && ret == 0; c++) {
        if (!in_overlay(s, c) && !covers_cluster(s, c, offset, len)) {
            ret = copy_cluster(s, c);
            if (ret == 0) {
                set_in_overlay(s, c);
            }
        }
    }
    if (ret == 0) {
        ret = write(s, offset, len, iov, niov, flags);
    }
    for (uint64_t c = first; c <= last && ret == 0; c++) {
        set_in_overlay(s, c);
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

static int overlay_pwritev(SnapState *s, uint64_t offset, uint64_t len,
                           const struct iovec *iov, int niov, int flags)
{
    return wd_block_pwritev(s->overlay, offset, iov, niov, len, flags);
}

static int overlay_write_zeroes(SnapState *s, uint64_t offset, uint64_t len,
                                const struct iovec *iov, int niov, int flags)
{
    return wd_block_write_zeroes(s->overlay, offset, len, flags);
}

static int snap_pwritev(WdBlockNode *bs, uint64_t offset,
                        const struct iovec *iov, int niov, uint64_t len,
                        int flags)
{
    /* FUA: the data is thrown away on close; nothing to make durable. */
    return snap_write(snap_state(bs), offset, len, overlay_pwritev, iov, niov,
                      0);
}

static int snap_write_zeroes(WdBlockNode *bs, uint64_t offset, uint64_t len,
                             int flags)
{
    /* Zeroes the overlay (a hole in the temp file when it may unmap); the
     * wrapper's fallback covers NO_FALLBACK's -ENOTSUP. */
    return snap_write(snap_state(bs), offset, len, overlay_write_zeroes,
                      NULL, 0, flags & ~WD_BLOCK_FUA);
}

static int snap_block_status(WdBlockNode *bs, uint64_t offset, uint64_t len,
                             uint64_t *pnum, int *status)
{
    SnapState *s = snap_state(bs);
    bool ov;
    uint64_t n = same_run(s, offset, len, &ov);

    return wd_block_block_status(ov ? s->overlay : s->base, offset, n, pnum,
                                 status);
}

/* Overlay clusters are this node's own bytes; the rest is the base's. */
static int snap_allocation_depth(WdBlockNode *bs, uint64_t offset,
                                 uint64_t len, uint64_t *pnum,
                                 unsigned *depth)
{
    SnapState *s = snap_state(bs);
    bool ov;
    uint64_t n = same_run(s, offset, len, &ov);
    int ret = 0;

    *pnum = n;
    *depth = 1;
    if (!ov) {
        ret = wd_block_allocation_depth(s->base, offset, n, pnum, depth);
        *depth += *depth ? 1 : 0;
    }
    return ret;
}

static void snap_state_free(SnapState *s)
{
    wd_block_node_unref(s->base);
    wd_block_node_unref(s->overlay);
    g_free(s->bits);
    free(s->buf);
    g_mutex_clear(&s->lock);
    g_free(s);
}

static void snap_close(WdBlockNode *bs)
{
    snap_state_free(snap_state(bs));
}

static const WdBlockDriver snapshot_driver = {
    .name = "snapshot",
    .preadv = snap_preadv,
    .pwritev = snap_pwritev,
    .write_zeroes = snap_write_zeroes,
    .block_status = snap_block_status,
    .allocation_depth = snap_allocation_depth,
    .close = snap_close,
};

/* An unlinked, sparse temporary file of @size bytes as a file node. */
static WdBlockNode *temp_overlay(uint64_t size, GError **errp)
{
    g_autofree char *path = NULL;
    g_autoptr(GError) err = NULL;
    WdBlockNode *node;
    int fd = g_file_open_tmp("warden-snapshot-XXXXXX", &path, &err);

    if (fd < 0) {
        wd_error_setg(errp, "Cannot create the snapshot overlay in %s: %s; "
                      "set TMPDIR to a writable directory", g_get_tmp_dir(),
                      err->message);
        return NULL;
    }
    if (ftruncate(fd, (off_t)size) < 0) {
        wd_error_setg(errp, "Cannot size the snapshot overlay %s: %s", path,
                      g_strerror(errno));
        unlink(path);
        close(fd);
        return NULL;
    }
    node = wd_block_file_open(NULL, path, false, false, errp);
    unlink(path);
    close(fd);
    return node;
}

WdBlockNode *wd_block_snapshot_new(const char *node_name, WdBlockNode *base,
                                   GError **errp)
{
    uint64_t size = wd_block_get_size(base);
    uint64_t nclusters = (size + CLUSTER - 1) / CLUSTER;
    WdBlockNode *overlay = temp_overlay(size, errp);
    SnapState *s;
    WdBlockNode *bs;

    if (!overlay) {
        return NULL;
    }
    s = g_new0(SnapState, 1);
    s->base = wd_block_node_ref(base);
    s->overlay = overlay;
    s->size = size;
    s->bits = g_new0(guint, nclusters / 32 + 1);
    g_mutex_init(&s->lock);
    if (posix_memalign(&s->buf, WD_BLOCK_MAX_ALIGNMENT, CLUSTER)) {
        g_error("out of memory allocating the snapshot copy buffer");
    }
    bs = wd_block_node_new(&snapshot_driver, node_name, size, false,
                           wd_block_get_alignment(base), s, errp);
    if (!bs) {
        snap_state_free(s);
    }
    return bs;
}
