/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The generic part of block nodes: creation, reference counting and the
 * wd_block_* wrappers that validate each request before the driver runs,
 * plus the fallback that writes zero buffers for write_zeroes.
 */
#include "runtime/block/block.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/error.h"

struct WdBlockNode {
    const WdBlockDriver *drv;
    char *node_name;
    uint64_t size;
    uint32_t alignment;
    bool read_only;
    bool discard_ignore;       /* discard=ignore: see set_discard_unmap */
    gint refcnt;
    void *opaque;
};

/* QEMU's limit, so node names are interchangeable with qemu-storage-daemon
 * command lines. */
#define NODE_NAME_MAX 31

/* The zero buffer for the write_zeroes fallback: shared, never written,
 * allocated once.  Its size is a multiple of every allowed alignment. */
#define ZERO_BUF_SIZE (1024 * 1024)

static bool node_name_valid(const char *name)
{
    if (!g_ascii_isalpha(name[0])) {
        return false;
    }
    for (const char *p = name + 1; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && *p != '_') {
            return false;
        }
    }
    return true;
}

WdBlockNode *wd_block_node_new(const WdBlockDriver *drv,
                               const char *node_name, uint64_t size,
                               bool read_only, uint32_t alignment,
                               void *opaque, GError **errp)
{
    static gint anon_counter;
    WdBlockNode *bs;

    g_assert(drv && drv->name && drv->preadv && drv->close);
    g_assert(read_only || drv->pwritev);
    g_assert(alignment > 0 && alignment <= WD_BLOCK_MAX_ALIGNMENT &&
             (alignment & (alignment - 1)) == 0);

    if (node_name) {
        if (!node_name_valid(node_name)) {
            wd_error_setg(errp, "Invalid node-name: '%s'", node_name);
            return NULL;
        }
        if (strlen(node_name) > NODE_NAME_MAX) {
            wd_error_setg(errp, "Node name too long: '%s' (at most %d "
                          "characters)", node_name, NODE_NAME_MAX);
            return NULL;
        }
    }

    bs = g_new0(WdBlockNode, 1);
    bs->drv = drv;
    /* '#' cannot start a user-chosen name, so generated ones never clash. */
    bs->node_name = node_name ? g_strdup(node_name) :
        g_strdup_printf("#block%d", g_atomic_int_add(&anon_counter, 1));
    bs->size = size;
    bs->alignment = alignment;
    bs->read_only = read_only;
    bs->refcnt = 1;
    bs->opaque = opaque;
    return bs;
}

void *wd_block_node_opaque(WdBlockNode *bs)
{
    return bs->opaque;
}

WdBlockNode *wd_block_node_ref(WdBlockNode *bs)
{
    g_assert(g_atomic_int_get(&bs->refcnt) > 0);
    g_atomic_int_inc(&bs->refcnt);
    return bs;
}

void wd_block_node_unref(WdBlockNode *bs)
{
    if (!bs) {
        return;
    }
    g_assert(g_atomic_int_get(&bs->refcnt) > 0);
    if (g_atomic_int_dec_and_test(&bs->refcnt)) {
        bs->drv->close(bs);
        g_free(bs->node_name);
        g_free(bs);
    }
}

const char *wd_block_node_name(WdBlockNode *bs)
{
    return bs->node_name;
}

const char *wd_block_driver_name(WdBlockNode *bs)
{
    return bs->drv->name;
}

uint64_t wd_block_get_size(WdBlockNode *bs)
{
    return bs->size;
}

bool wd_block_is_read_only(WdBlockNode *bs)
{
    return bs->read_only;
}

void wd_block_set_discard_unmap(WdBlockNode *bs, bool unmap)
{
    bs->discard_ignore = !unmap;
}

bool wd_block_get_discard_unmap(WdBlockNode *bs)
{
    return !bs->discard_ignore;
}

uint32_t wd_block_get_alignment(WdBlockNode *bs)
{
    return bs->alignment;
}

bool wd_block_can_zero_fast(WdBlockNode *bs)
{
    return !bs->read_only && bs->drv->can_zero_fast &&
           bs->drv->can_zero_fast(bs);
}

/* ---- Request validation ------------------------------------------------- */

/* [offset, offset+len) inside the node, written so nothing can overflow
 * (a peer controls both numbers). */
static bool in_range(WdBlockNode *bs, uint64_t offset, uint64_t len)
{
    return len <= bs->size && offset <= bs->size - len;
}

static bool is_aligned(WdBlockNode *bs, uint64_t offset, uint64_t len)
{
    return ((offset | len) & (bs->alignment - 1)) == 0;
}

/* The iovec must describe exactly @len bytes: drivers rely on it. */
static bool iov_matches(const struct iovec *iov, int niov, uint64_t len)
{
    uint64_t total = 0;

    if (niov < 0 || niov > IOV_MAX || (niov > 0 && !iov)) {
        return false;
    }
    for (int i = 0; i < niov; i++) {
        if (iov[i].iov_len > len - total) {
            return false;
        }
        total += iov[i].iov_len;
    }
    return total == len;
}

static int check_rw(WdBlockNode *bs, uint64_t offset, const struct iovec *iov,
                    int niov, uint64_t len)
{
    if (!iov_matches(iov, niov, len)) {
        g_critical("block node '%s': iovec does not hold %" PRIu64 " bytes",
                   bs->node_name, len);
        return -EINVAL;
    }
    if (!in_range(bs, offset, len) || !is_aligned(bs, offset, len)) {
        return -EINVAL;
    }
    return 0;
}

/* ---- I/O wrappers ----------------------------------------------------- */

int wd_block_preadv(WdBlockNode *bs, uint64_t offset, const struct iovec *iov,
                    int niov, uint64_t len)
{
    int ret = check_rw(bs, offset, iov, niov, len);

    if (ret < 0 || len == 0) {
        return ret;
    }
    return bs->drv->preadv(bs, offset, iov, niov, len);
}

int wd_block_pwritev(WdBlockNode *bs, uint64_t offset,
                     const struct iovec *iov, int niov, uint64_t len,
                     int flags)
{
    int ret;

    if (bs->read_only) {
        return -EPERM;
    }
    if (flags & ~WD_BLOCK_FUA) {
        return -EINVAL;
    }
    ret = check_rw(bs, offset, iov, niov, len);
    if (ret < 0 || len == 0) {
        return ret;
    }
    return bs->drv->pwritev(bs, offset, iov, niov, len, flags);
}

int wd_block_pread(WdBlockNode *bs, uint64_t offset, void *buf, uint64_t len)
{
    struct iovec iov = { .iov_base = buf, .iov_len = len };

    return wd_block_preadv(bs, offset, &iov, 1, len);
}

int wd_block_pwrite(WdBlockNode *bs, uint64_t offset, const void *buf,
                    uint64_t len, int flags)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    return wd_block_pwritev(bs, offset, &iov, 1, len, flags);
}

int wd_block_flush(WdBlockNode *bs)
{
    return bs->drv->flush ? bs->drv->flush(bs) : 0;
}

int wd_block_discard(WdBlockNode *bs, uint64_t offset, uint64_t len)
{
    if (bs->read_only) {
        return -EPERM;
    }
    if (!in_range(bs, offset, len)) {
        return -EINVAL;
    }
    if (len == 0 || !bs->drv->discard || bs->discard_ignore) {
        return 0;
    }
    return bs->drv->discard(bs, offset, len);
}

static const void *zero_buffer(void)
{
    static gsize once;
    static void *buf;

    if (g_once_init_enter(&once)) {
        /* Aligned for O_DIRECT nodes; deliberately never freed. */
        if (posix_memalign(&buf, WD_BLOCK_MAX_ALIGNMENT, ZERO_BUF_SIZE)) {
            g_error("out of memory allocating the zero buffer");
        }
        memset(buf, 0, ZERO_BUF_SIZE);
        g_once_init_leave(&once, 1);
    }
    return buf;
}

/* The slow path of write_zeroes: plain writes from a shared zero buffer,
 * then one flush for FUA instead of one per chunk. */
static int write_zero_buffers(WdBlockNode *bs, uint64_t offset, uint64_t len,
                              int flags)
{
    struct iovec iov = { .iov_base = (void *)zero_buffer() };

    while (len > 0) {
        int ret;

        iov.iov_len = MIN(len, ZERO_BUF_SIZE);
        ret = bs->drv->pwritev(bs, offset, &iov, 1, iov.iov_len, 0);
        if (ret < 0) {
            return ret;
        }
        offset += iov.iov_len;
        len -= iov.iov_len;
    }
    return (flags & WD_BLOCK_FUA) ? wd_block_flush(bs) : 0;
}

int wd_block_write_zeroes(WdBlockNode *bs, uint64_t offset, uint64_t len,
                          int flags)
{
    int ret = -ENOTSUP;

    if (bs->read_only) {
        return -EPERM;
    }
    if (flags & ~(WD_BLOCK_FUA | WD_BLOCK_MAY_UNMAP | WD_BLOCK_NO_FALLBACK)) {
        return -EINVAL;
    }
    if (!in_range(bs, offset, len) || !is_aligned(bs, offset, len)) {
        return -EINVAL;
    }
    if (len == 0) {
        return 0;
    }
    if (bs->discard_ignore) {
        flags &= ~WD_BLOCK_MAY_UNMAP;
    }
    if (bs->drv->write_zeroes) {
        ret = bs->drv->write_zeroes(bs, offset, len, flags);
    }
    if (ret != -ENOTSUP || (flags & WD_BLOCK_NO_FALLBACK)) {
        return ret;
    }
    return write_zero_buffers(bs, offset, len, flags);
}

int wd_block_allocation_depth(WdBlockNode *bs, uint64_t offset, uint64_t len,
                              uint64_t *pnum, unsigned *depth)
{
    int ret;

    if (len == 0 || !in_range(bs, offset, len)) {
        return -EINVAL;
    }
    if (!bs->drv->allocation_depth) {
        *pnum = len;
        *depth = 1;
        return 0;
    }
    ret = bs->drv->allocation_depth(bs, offset, len, pnum, depth);
    if (ret == 0 && (*pnum == 0 || *pnum > len)) {
        *pnum = len;
    }
    return ret;
}

int wd_block_block_status(WdBlockNode *bs, uint64_t offset, uint64_t len,
                          uint64_t *pnum, int *status)
{
    int ret;

    if (len == 0 || !in_range(bs, offset, len)) {
        return -EINVAL;
    }
    if (!bs->drv->block_status) {
        *pnum = len;
        *status = WD_BLOCK_DATA;
        return 0;
    }
    ret = bs->drv->block_status(bs, offset, len, pnum, status);
    if (ret == 0) {
        /* A driver bug here would make callers loop forever or overrun. */
        g_assert(*pnum > 0 && *pnum <= len);
    }
    return ret;
}

int wd_block_get_fd(WdBlockNode *bs, uint64_t offset, uint64_t len,
                    uint64_t *fd_offset)
{
    if (!in_range(bs, offset, len)) {
        return -EINVAL;
    }
    if (!bs->drv->get_fd) {
        return -ENOTSUP;
    }
    *fd_offset = offset;
    return bs->drv->get_fd(bs, fd_offset, len);
}
