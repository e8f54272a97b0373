/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Block nodes: a refcounted, thread-safe byte-addressed disk behind a table
 * of driver methods (file, memory, raw window; later luks and the NBD
 * client).  The wd_block_* wrappers validate every request (bounds,
 * read-only, flags, alignment) before a driver sees it.
 */
#ifndef WARDEN_BLOCK_H
#define WARDEN_BLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <glib.h>

/*
 * A block node.  Refcounted; its size, read-only state and alignment never
 * change after creation, and every method below may be called concurrently
 * from several I/O threads.
 */
typedef struct WdBlockNode WdBlockNode;

/* Request flags. */
typedef enum {
    WD_BLOCK_FUA         = 1 << 0, /* data is durable when the call returns */
    WD_BLOCK_MAY_UNMAP   = 1 << 1, /* write_zeroes may deallocate the range */
    WD_BLOCK_NO_FALLBACK = 1 << 2, /* write_zeroes: fail with -ENOTSUP
                                    * rather than writing zero buffers */
} WdBlockFlags;

/* Status bits from block_status. */
typedef enum {
    WD_BLOCK_DATA = 1 << 0,        /* allocated (clear = hole) */
    WD_BLOCK_ZERO = 1 << 1,        /* reads as zeroes */
} WdBlockStatus;

/* Largest request alignment a node may demand (O_DIRECT sector sizes). */
#define WD_BLOCK_MAX_ALIGNMENT 65536

/* Largest size a memory node may have. */
#define WD_BLOCK_MEMORY_MAX_SIZE (UINT64_C(1) << 40)

/*
 * Driver methods.  All return 0 or a negative errno.  The wrappers have
 * already checked that the request lies inside the node, that @len > 0,
 * that the node is writable for writes, that flags are known and that
 * offsets/lengths are multiples of the node's alignment (for preadv,
 * pwritev and write_zeroes); the iovec holds exactly @len bytes.
 *
 * Mandatory: name, preadv, close.  Everything else is optional:
 *  - pwritev absent: the node must be created read-only.
 *  - flush absent: flushing succeeds (nothing is cached).
 *  - discard absent: discard succeeds without effect (it is advisory).
 *  - write_zeroes absent or returning -ENOTSUP: the wrapper writes zero
 *    buffers unless WD_BLOCK_NO_FALLBACK is set.
 *  - block_status absent: everything is reported as data.  When present
 *    it sets *pnum (1..len) bytes sharing *status.
 *  - get_fd absent: -ENOTSUP.  When present it returns an fd (borrowed for
 *    as long as the caller holds a reference on the node) through which
 *    the node's bytes [*offset, *offset+len) can be read with
 *    pread/sendfile/splice, and translates *offset from a node offset to
 *    an fd offset.
 *  - can_zero_fast absent: false.
 */
typedef struct WdBlockDriver {
    const char *name;
    int (*preadv)(WdBlockNode *bs, uint64_t offset, const struct iovec *iov,
                  int niov, uint64_t len);
    int (*pwritev)(WdBlockNode *bs, uint64_t offset, const struct iovec *iov,
                   int niov, uint64_t len, int flags /* WD_BLOCK_FUA */);
    int (*flush)(WdBlockNode *bs);
    int (*discard)(WdBlockNode *bs, uint64_t offset, uint64_t len);
    int (*write_zeroes)(WdBlockNode *bs, uint64_t offset, uint64_t len,
                        int flags /* FUA, MAY_UNMAP, NO_FALLBACK */);
    int (*block_status)(WdBlockNode *bs, uint64_t offset, uint64_t len,
                        uint64_t *pnum, int *status);
    int (*get_fd)(WdBlockNode *bs, uint64_t *offset, uint64_t len);
    bool (*can_zero_fast)(WdBlockNode *bs);
    /* QEMU's allocation depth: 1 where this node holds the bytes, N+1
     * where they come from a backing node at depth N, 0 unallocated.
     * Absent: 1 everywhere (a node without backing). */
    int (*allocation_depth)(WdBlockNode *bs, uint64_t offset, uint64_t len,
                            uint64_t *pnum, unsigned *depth);
    /* Frees the driver state; called once, from the last unref. */
    void (*close)(WdBlockNode *bs);
} WdBlockDriver;

/* ---- Constructors --------------------------------------------------------
 * @node_name: NULL for an automatically generated "#blockN" name, else 1-31
 * characters: a letter, then letters, digits, '-', '.' or '_'.  Each
 * returns a new reference, or NULL with @errp set.  Called from the main
 * thread; they may block on open/fstat.
 */

/*
 * wd_block_file_open:
 * @filename: a regular file or a block device
 * @read_only: open O_RDONLY; writes fail with -EPERM
 * @direct: open with O_DIRECT.  Callers must then align buffers to
 *   wd_block_get_alignment() too; no bounce buffers are used.
 */
WdBlockNode *wd_block_file_open(const char *node_name, const char *filename,
                                bool read_only, bool direct, GError **errp);

/*
 * wd_block_memory_new:
 * @size: 1 .. WD_BLOCK_MEMORY_MAX_SIZE bytes
 *
 * A sparse disk in RAM: memory is allocated in chunks on first write and
 * released by discard and write_zeroes with WD_BLOCK_MAY_UNMAP.  Contents
 * start as zeroes.
 */
WdBlockNode *wd_block_memory_new(const char *node_name, uint64_t size,
                                 GError **errp);

/*
 * wd_block_raw_new:
 * @file: the child node (borrowed; the raw node takes its own reference)
 * @offset, @size: the window onto @file; @size 0 means "to the end"
 *
 * A node exposing bytes [offset, offset+size) of @file.  Read-only iff
 * @file is; @offset must be a multiple of @file's alignment.
 */
WdBlockNode *wd_block_raw_new(const char *node_name, WdBlockNode *file,
                              uint64_t offset, uint64_t size, GError **errp);

/*
 * wd_block_snapshot_new:
 * @base: the node to show (borrowed; the snapshot takes its own reference
 *   and never writes it)
 *
 * qemu-nbd -s: a writable node showing @base, whose writes go to a
 * temporary, already unlinked overlay file in $TMPDIR and are lost when
 * the node closes.
 */
WdBlockNode *wd_block_snapshot_new(const char *node_name, WdBlockNode *base,
                                   GError **errp);

/* ---- Reference counting ------------------------------------------------- */

/* Returns @bs with one more reference. */
WdBlockNode *wd_block_node_ref(WdBlockNode *bs);
/* Drops a reference; the last one closes the node.  NULL is ignored. */
void wd_block_node_unref(WdBlockNode *bs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WdBlockNode, wd_block_node_unref)

/*
 * Whether discard and write_zeroes with WD_BLOCK_MAY_UNMAP may deallocate
 * (QEMU's discard=unmap). When off (discard=ignore, the default of
 * blockdev-add and qemu-nbd), discard succeeds without effect and
 * write_zeroes writes zeroes without punching holes. Nodes start with it
 * on; front ends set the user's choice before the node is shared.
 */
void wd_block_set_discard_unmap(WdBlockNode *bs, bool unmap);

/* ---- Properties (immutable; any thread) --------------------------------- */

const char *wd_block_node_name(WdBlockNode *bs);
const char *wd_block_driver_name(WdBlockNode *bs);
uint64_t wd_block_get_size(WdBlockNode *bs);
bool wd_block_is_read_only(WdBlockNode *bs);
bool wd_block_get_discard_unmap(WdBlockNode *bs);
/* Required alignment of offsets and lengths of reads and writes (1 unless
 * O_DIRECT); a power of two. */
uint32_t wd_block_get_alignment(WdBlockNode *bs);
/* Whether write_zeroes with WD_BLOCK_NO_FALLBACK can be expected to
 * succeed (e.g. to advertise NBD_FLAG_SEND_FAST_ZERO usefully). */
bool wd_block_can_zero_fast(WdBlockNode *bs);

/* ---- I/O (any thread, concurrently; they block) --------------------------
 * All return 0 or a negative errno: -EINVAL for a range outside the node
 * (overflow-safe), a misaligned request, unknown flags or an iovec whose
 * total differs from @len; -EPERM for a write, discard or write_zeroes on a
 * read-only node.  A zero-length read or write succeeds and does nothing.
 */
int wd_block_preadv(WdBlockNode *bs, uint64_t offset, const struct iovec *iov,
                    int niov, uint64_t len);
int wd_block_pwritev(WdBlockNode *bs, uint64_t offset,
                     const struct iovec *iov, int niov, uint64_t len,
                     int flags);
int wd_block_pread(WdBlockNode *bs, uint64_t offset, void *buf, uint64_t len);
int wd_block_pwrite(WdBlockNode *bs, uint64_t offset, const void *buf,
                    uint64_t len, int flags);
/* Makes every completed write durable. */
int wd_block_flush(WdBlockNode *bs);
/* Advisory: the range's contents become unspecified (zero for the drivers
 * here, when they could deallocate).  Unsupported → 0. */
int wd_block_discard(WdBlockNode *bs, uint64_t offset, uint64_t len);
/* The range reads as zeroes afterwards.  WD_BLOCK_NO_FALLBACK gives
 * -ENOTSUP instead of a slow write of zero buffers. */
int wd_block_write_zeroes(WdBlockNode *bs, uint64_t offset, uint64_t len,
                          int flags);
/* Describes [offset, offset + *pnum): *pnum in 1..len, *status a mix of
 * WdBlockStatus bits.  @len must be > 0. */
int wd_block_block_status(WdBlockNode *bs, uint64_t offset, uint64_t len,
                          uint64_t *pnum, int *status);
/* Sets *pnum (1..len) bytes from @offset that share *depth (see the
 * allocation_depth driver method); 0 or -EINVAL. */
int wd_block_allocation_depth(WdBlockNode *bs, uint64_t offset, uint64_t len,
                              uint64_t *pnum, unsigned *depth);
/* For zero-copy reads of [offset, offset+len): returns an fd (borrowed
 * while the caller holds a reference) and sets *fd_offset, or -ENOTSUP. */
int wd_block_get_fd(WdBlockNode *bs, uint64_t offset, uint64_t len,
                    uint64_t *fd_offset);

/* ---- For drivers -------------------------------------------------------- */

/*
 * wd_block_node_new:
 * @drv: static driver table
 * @opaque: driver state, freed by @drv->close from the last unref.  On
 *   failure the node does not take it and the caller frees it.
 * @alignment: a power of two, 1 (none) .. WD_BLOCK_MAX_ALIGNMENT
 *
 * Validates @node_name.  Returns a new node with one reference, or NULL.
 */
WdBlockNode *wd_block_node_new(const WdBlockDriver *drv,
                               const char *node_name, uint64_t size,
                               bool read_only, uint32_t alignment,
                               void *opaque, GError **errp);
void *wd_block_node_opaque(WdBlockNode *bs);

#endif
