/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "memory" block driver: a sparse disk in RAM.  The disk is a table of
 * 64 KiB chunks allocated on first write; a missing chunk reads as zeroes.
 * Locking is striped by chunk so requests on different chunks never wait
 * for each other and no lock is held for more than one chunk's memcpy.
 */
#include "runtime/block/block.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/error.h"

#define CHUNK_SHIFT 16
#define CHUNK_SIZE  (UINT64_C(1) << CHUNK_SHIFT)
/* Lock stripes; chunk i uses lock i % NR_LOCKS, so neighbouring chunks of
 * one large request use different locks. */
#define NR_LOCKS    64

typedef struct MemState {
    uint64_t size;
    uint64_t nr_chunks;
    /*
     * chunks[i]: CHUNK_SIZE bytes, or NULL for a hole.  Changed and
     * dereferenced only under the writer/reader side of locks[i %
     * NR_LOCKS]; block_status peeks with an atomic load and no lock, as
     * its answer may be stale anyway.
     */
    gpointer *chunks;
    GRWLock locks[NR_LOCKS];
} MemState;

/* A read position in a caller's iovec. */
typedef struct IovCursor {
    const struct iovec *iov;
    int niov;
    size_t off;             /* within iov[0] */
} IovCursor;

static MemState *mem_state(WdBlockNode *bs)
{
    return wd_block_node_opaque(bs);
}

static GRWLock *chunk_lock(MemState *s, uint64_t idx)
{
    return &s->locks[idx % NR_LOCKS];
}

/* Copies @n bytes between the cursor and @buf (@to_iov: buf -> iovec) or,
 * with @buf NULL, zero-fills the iovec; advances the cursor. */
static void cursor_copy(IovCursor *c, void *buf, size_t n, bool to_iov)
{
    char *p = buf;

    while (n > 0) {
        size_t avail = c->iov->iov_len - c->off;
        size_t step = MIN(avail, n);
        char *base = (char *)c->iov->iov_base + c->off;

        if (!to_iov) {
            memcpy(p, base, step);
        } else if (p) {
            memcpy(base, p, step);
        } else {
            memset(base, 0, step);
        }
        if (p) {
            p += step;
        }
        n -= step;
        c->off += step;
        if (c->off == c->iov->iov_len) {
            c->iov++;
            c->niov--;
            c->off = 0;
        }
    }
}

/* Calls @fn for each chunk-sized piece of [offset, offset+len); stops at the
 * first error. */
typedef int (*ChunkFn)(MemState *s, uint64_t idx, size_t coff, size_t n,
                       void *opaque);

static int for_each_chunk(MemState *s, uint64_t offset, uint64_t len,
                          ChunkFn fn, void *opaque)
{
    while (len > 0) {
        uint64_t idx = offset >> CHUNK_SHIFT;
        size_t coff = offset & (CHUNK_SIZE - 1);
        size_t n = MIN(len, CHUNK_SIZE - coff);
        int ret = fn(s, idx, coff, n, opaque);

        if (ret < 0) {
            return ret;
        }
        offset += n;
        len -= n;
    }
    return 0;
}

static int read_chunk(MemState *s, uint64_t idx, size_t coff, size_t n,
                      void *opaque)
{
    GRWLock *lock = chunk_lock(s, idx);
    char *chunk;

    g_rw_lock_reader_lock(lock);
    chunk = s->chunks[idx];
    if (chunk) {
        cursor_copy(opaque, chunk + coff, n, true);
    } else {
        cursor_copy(opaque, NULL, n, true);
    }
    g_rw_lock_reader_unlock(lock);
    return 0;
}

static int write_chunk(MemState *s, uint64_t idx, size_t coff, size_t n,
                       void *opaque)
{
    GRWLock *lock = chunk_lock(s, idx);
    char *chunk;

    g_rw_lock_writer_lock(lock);
    chunk = s->chunks[idx];
    if (!chunk) {
        /* A full overwrite needs no zeroing. */
        chunk = n == CHUNK_SIZE ? g_try_malloc(CHUNK_SIZE)
                                : g_try_malloc0(CHUNK_SIZE);
        if (!chunk) {
            g_rw_lock_writer_unlock(lock);
            return -ENOMEM;
        }
        g_atomic_pointer_set(&s->chunks[idx], chunk);
    }
    cursor_copy(opaque, chunk + coff, n, false);
    g_rw_lock_writer_unlock(lock);
    return 0;
}

/* Zeroes a piece of a chunk.  *unmap: a piece covering the whole chunk (up
 * to the end of the disk for the last one) frees it; otherwise missing
 * chunks are allocated so the range is backed by memory (NO_HOLE). */
static int zero_chunk(MemState *s, uint64_t idx, size_t coff, size_t n,
                      void *opaque)
{
    bool unmap = *(bool *)opaque;
    bool whole = coff == 0 &&
        (n == CHUNK_SIZE || (idx << CHUNK_SHIFT) + n == s->size);
    GRWLock *lock = chunk_lock(s, idx);
    char *chunk;

    g_rw_lock_writer_lock(lock);
    chunk = s->chunks[idx];
    if (chunk && unmap && whole) {
        g_atomic_pointer_set(&s->chunks[idx], NULL);
        g_free(chunk);
    } else if (chunk) {
        memset(chunk + coff, 0, n);
    } else if (!unmap) {
        chunk = g_try_malloc0(CHUNK_SIZE);
        if (!chunk) {
            g_rw_lock_writer_unlock(lock);
            return -ENOMEM;
        }
        g_atomic_pointer_set(&s->chunks[idx], chunk);
    }
    g_rw_lock_writer_unlock(lock);
    return 0;
}

static int mem_preadv(WdBlockNode *bs, uint64_t offset,
                      const struct iovec *iov, int niov, uint64_t len)
{
    IovCursor c = { .iov = iov, .niov = niov };

    return for_each_chunk(mem_state(bs), offset, len, read_chunk, &c);
}

static int mem_pwritev(WdBlockNode *bs, uint64_t offset,
                       const struct iovec *iov, int niov, uint64_t len,
                       int flags)
{
    IovCursor c = { .iov = iov, .niov = niov };

    /* FUA needs nothing: RAM is as durable as this disk gets. */
    return for_each_chunk(mem_state(bs), offset, len, write_chunk, &c);
}

static int mem_discard(WdBlockNode *bs, uint64_t offset, uint64_t len)
{
    bool unmap = true;

    return for_each_chunk(mem_state(bs), offset, len, zero_chunk, &unmap);
}

static int mem_write_zeroes(WdBlockNode *bs, uint64_t offset, uint64_t len,
                            int flags)
{
    bool unmap = flags & WD_BLOCK_MAY_UNMAP;

    return for_each_chunk(mem_state(bs), offset, len, zero_chunk, &unmap);
}

static int mem_block_status(WdBlockNode *bs, uint64_t offset, uint64_t len,
                            uint64_t *pnum, int *status)
{
    MemState *s = mem_state(bs);
    uint64_t idx = offset >> CHUNK_SHIFT;
    bool allocated = g_atomic_pointer_get(&s->chunks[idx]) != NULL;
    uint64_t end = offset + len;        /* inside the disk: no overflow */
    uint64_t run_end = (idx + 1) << CHUNK_SHIFT;

    /* Extend over following chunks in the same state. */
    while (run_end < end &&
           (g_atomic_pointer_get(&s->chunks[run_end >> CHUNK_SHIFT]) != NULL)
           == allocated) {
        run_end += CHUNK_SIZE;
    }
    *pnum = MIN(run_end, end) - offset;
    *status = allocated ? WD_BLOCK_DATA : WD_BLOCK_ZERO;
    return 0;
}

static bool mem_can_zero_fast(WdBlockNode *bs)
{
    return true;
}

static void mem_state_free(MemState *s)
{
    for (uint64_t i = 0; i < s->nr_chunks; i++) {
        g_free(s->chunks[i]);
    }
    for (int i = 0; i < NR_LOCKS; i++) {
        g_rw_lock_clear(&s->locks[i]);
    }
    g_free(s->chunks);
    g_free(s);
}

static void mem_close(WdBlockNode *bs)
{
    mem_state_free(mem_state(bs));
}

static const WdBlockDriver memory_driver = {
    .name = "memory",
    .preadv = mem_preadv,
    .pwritev = mem_pwritev,
    .discard = mem_discard,
    .write_zeroes = mem_write_zeroes,
    .block_status = mem_block_status,
    .can_zero_fast = mem_can_zero_fast,
    .close = mem_close,
};

WdBlockNode *wd_block_memory_new(const char *node_name, uint64_t size,
                                 GError **errp)
{
    MemState *s;
    WdBlockNode *bs;

    if (size == 0) {
        wd_error_setg(errp, "Memory node size must be greater than 0");
        return NULL;
    }
    if (size > WD_BLOCK_MEMORY_MAX_SIZE) {
        wd_error_setg(errp, "Memory node size %" PRIu64 " exceeds the "
                      "maximum of %" PRIu64 " bytes (1 TiB)", size,
                      WD_BLOCK_MEMORY_MAX_SIZE);
        return NULL;
    }
    s = g_new0(MemState, 1);
    s->size = size;
    s->nr_chunks = (size + CHUNK_SIZE - 1) >> CHUNK_SHIFT;
    /* Up to 128 MiB of pointers for 1 TiB; calloc'd pages stay untouched
     * (and unbacked) until a chunk in them is written. */
    s->chunks = g_try_new0(gpointer, s->nr_chunks);
    if (!s->chunks) {
        wd_error_setg(errp, "Could not allocate the chunk table for a "
                      "%" PRIu64 "-byte memory node", size);
        g_free(s);
        return NULL;
    }
    for (int i = 0; i < NR_LOCKS; i++) {
        g_rw_lock_init(&s->locks[i]);
    }
    bs = wd_block_node_new(&memory_driver, node_name, size, false, 1, s,
                           errp);
    if (!bs) {
        mem_state_free(s);
    }
    return bs;
}
