/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "raw" block driver: a window [offset, offset+size) onto a child node,
 * e.g. one partition of a disk image.  Every request is shifted by the
 * window offset and re-checked by the child's wrappers.
 */
#include "runtime/block/block.h"

#include <errno.h>
#include <inttypes.h>

#include "runtime/error.h"

typedef struct RawState {
    WdBlockNode *file;          /* strong reference */
    uint64_t offset;
} RawState;

static RawState *raw_state(WdBlockNode *bs)
{
    return wd_block_node_opaque(bs);
}

static int raw_preadv(WdBlockNode *bs, uint64_t offset,
                      const struct iovec *iov, int niov, uint64_t len)
{
    RawState *s = raw_state(bs);

    return wd_block_preadv(s->file, s->offset + offset, iov, niov, len);
}

static int raw_pwritev(WdBlockNode *bs, uint64_t offset,
                       const struct iovec *iov, int niov, uint64_t len,
                       int flags)
{
    RawState *s = raw_state(bs);

    return wd_block_pwritev(s->file, s->offset + offset, iov, niov, len,
                            flags);
}

static int raw_flush(WdBlockNode *bs)
{
    return wd_block_flush(raw_state(bs)->file);
}

static int raw_discard(WdBlockNode *bs, uint64_t offset, uint64_t len)
{
    RawState *s = raw_state(bs);

    return wd_block_discard(s->file, s->offset + offset, len);
}

static int raw_write_zeroes(WdBlockNode *bs, uint64_t offset, uint64_t len,
                            int flags)
{
    RawState *s = raw_state(bs);

    /* The child applies its own fallback; with NO_FALLBACK its -ENOTSUP
     * passes through and so does ours. */
    return wd_block_write_zeroes(s->file, s->offset + offset, len, flags);
}

static int raw_block_status(WdBlockNode *bs, uint64_t offset, uint64_t len,
                            uint64_t *pnum, int *status)
{
    RawState *s = raw_state(bs);

    return wd_block_block_status(s->file, s->offset + offset, len, pnum,
                                 status);
}

static int raw_allocation_depth(WdBlockNode *bs, uint64_t offset,
                                uint64_t len, uint64_t *pnum, unsigned *depth)
{
    RawState *s = raw_state(bs);

    return wd_block_allocation_depth(s->file, s->offset + offset, len, pnum,
                                     depth);
}

static int raw_get_fd(WdBlockNode *bs, uint64_t *offset, uint64_t len)
{
    RawState *s = raw_state(bs);

    return wd_block_get_fd(s->file, s->offset + *offset, len, offset);
}

static bool raw_can_zero_fast(WdBlockNode *bs)
{
    return wd_block_can_zero_fast(raw_state(bs)->file);
}

static void raw_state_free(RawState *s)
{
    wd_block_node_unref(s->file);
    g_free(s);
}

static void raw_close(WdBlockNode *bs)
{
    raw_state_free(raw_state(bs));
}

static const WdBlockDriver raw_driver = {
    .name = "raw",
    .preadv = raw_preadv,
    .pwritev = raw_pwritev,
    .flush = raw_flush,
    .discard = raw_discard,
    .write_zeroes = raw_write_zeroes,
    .block_status = raw_block_status,
    .allocation_depth = raw_allocation_depth,
    .get_fd = raw_get_fd,
    .can_zero_fast = raw_can_zero_fast,
    .close = raw_close,
};

WdBlockNode *wd_block_raw_new(const char *node_name, WdBlockNode *file,
                              uint64_t offset, uint64_t size, GError **errp)
{
    uint64_t file_size = wd_block_get_size(file);
    uint32_t alignment = wd_block_get_alignment(file);
    const char *file_name = wd_block_node_name(file);
    RawState *s;
    WdBlockNode *bs;

    if (offset > file_size) {
        wd_error_setg(errp, "Offset %" PRIu64 " is beyond the end of node "
                      "'%s' (%" PRIu64 " bytes)", offset, file_name,
                      file_size);
        return NULL;
    }
    if (size == 0) {
        size = file_size - offset;
    } else if (size > file_size - offset) {
        wd_error_setg(errp, "Window of %" PRIu64 " bytes at offset %" PRIu64
                      " exceeds the end of node '%s' (%" PRIu64 " bytes)",
                      size, offset, file_name, file_size);
        return NULL;
    }
    if ((offset | size) & (alignment - 1)) {
        wd_error_setg(errp, "Window offset %" PRIu64 " and size %" PRIu64
                      " must be multiples of the %" PRIu32 "-byte alignment "
                      "of node '%s'", offset, size, alignment, file_name);
        return NULL;
    }

    s = g_new0(RawState, 1);
    s->file = wd_block_node_ref(file);
    s->offset = offset;
    bs = wd_block_node_new(&raw_driver, node_name, size,
                           wd_block_is_read_only(file), alignment, s, errp);
    if (!bs) {
        raw_state_free(s);
    }
    return bs;
}
