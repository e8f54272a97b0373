/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of the snapshot block driver (qemu-nbd -s): writes land in the
 * overlay and never in the base, reads mix both across cluster runs,
 * partial-cluster writes keep the base bytes around them, write_zeroes,
 * block status, an image size that is not a multiple of the cluster, and
 * concurrent partial writes to shared clusters (the copy-before-write must
 * never overwrite another thread's acknowledged write).
 */
#include <string.h>

#include "runtime/block/block.h"

#define SIZE (4 * 1024 * 1024 + 4096)     /* not a multiple of 64 KiB */
#define STRIPE 4096
#define THREADS 4

static WdBlockNode *base_with_pattern(uint8_t **copy)
{
    g_autoptr(GError) err = NULL;
    WdBlockNode *base = wd_block_memory_new(NULL, SIZE, &err);
    uint8_t *buf = g_malloc(SIZE);

    g_assert_no_error(err);
    for (size_t i = 0; i < SIZE; i++) {
        buf[i] = (uint8_t)(i * 7 + i / 4096);
    }
    g_assert_cmpint(wd_block_pwrite(base, 0, buf, SIZE, 0), ==, 0);
    *copy = buf;
    return base;
}

static WdBlockNode *snapshot_of(WdBlockNode *base)
{
    g_autoptr(GError) err = NULL;
    WdBlockNode *snap = wd_block_snapshot_new(NULL, base, &err);

    g_assert_no_error(err);
    g_assert_nonnull(snap);
    g_assert_false(wd_block_is_read_only(snap));
    g_assert_cmpuint(wd_block_get_size(snap), ==, SIZE);
    return snap;
}

static void check_contents(WdBlockNode *bs, const uint8_t *want)
{
    g_autofree uint8_t *got = g_malloc(SIZE);

    g_assert_cmpint(wd_block_pread(bs, 0, got, SIZE), ==, 0);
    g_assert_cmpmem(got, SIZE, want, SIZE);
}

static void test_writes_stay_in_overlay(void)
{
    g_autofree uint8_t *orig = NULL;
    g_autoptr(WdBlockNode) base = base_with_pattern(&orig);
    g_autoptr(WdBlockNode) snap = snapshot_of(base);
    g_autofree uint8_t *want = g_memdup2(orig, SIZE);
    uint8_t data[70000];
    uint64_t pnum;
    int status;

    /* A partial cluster, a write spanning three clusters, the short last
     * cluster, and zeroes over a whole and a partial cluster. */
    memset(data, 0xa1, sizeof(data));
    g_assert_cmpint(wd_block_pwrite(snap, 1000, data, 100, 0), ==, 0);
    memset(want + 1000, 0xa1, 100);
    g_assert_cmpint(wd_block_pwrite(snap, 60000, data, 70000, WD_BLOCK_FUA),
                    ==, 0);
    memset(want + 60000, 0xa1, 70000);
    g_assert_cmpint(wd_block_pwrite(snap, SIZE - 10, data, 10, 0), ==, 0);
    memset(want + SIZE - 10, 0xa1, 10);
    g_assert_cmpint(wd_block_write_zeroes(snap, 262144, 65536 + 512,
                                          WD_BLOCK_MAY_UNMAP), ==, 0);
    memset(want + 262144, 0, 65536 + 512);

    check_contents(snap, want);
    check_contents(base, orig);

    /* A read across overlay and base runs, at odd offsets. */
    uint8_t part[3000];
    g_assert_cmpint(wd_block_pread(snap, 129000, part, sizeof(part)), ==, 0);
    g_assert_cmpmem(part, sizeof(part), want + 129000, sizeof(part));

    /* Block status: the zeroed whole cluster reads as zeroes. */
    g_assert_cmpint(wd_block_block_status(snap, 262144, 65536, &pnum,
                                          &status), ==, 0);
    g_assert_cmpuint(pnum, <=, 65536);
    g_assert_true(status & WD_BLOCK_ZERO);
    g_assert_cmpint(wd_block_block_status(snap, 2 << 20, 4096, &pnum,
                                          &status), ==, 0);
    g_assert_true(status & WD_BLOCK_DATA);
    g_assert_false(status & WD_BLOCK_ZERO);
}

typedef struct {
    WdBlockNode *snap;
    unsigned index;
} Writer;

/* Thread @index writes every THREADS-th 4 KiB stripe: each 64 KiB cluster
 * gets partial writes from every thread at about the same time. */
static gpointer stripe_writer(gpointer opaque)
{
    Writer *w = opaque;
    uint8_t buf[STRIPE];

    memset(buf, 0x10 + w->index, sizeof(buf));
    for (uint64_t off = (uint64_t)w->index * STRIPE; off + STRIPE <= SIZE;
         off += THREADS * STRIPE) {
        g_assert_cmpint(wd_block_pwrite(w->snap, off, buf, STRIPE, 0), ==, 0);
    }
    return NULL;
}

static void test_concurrent_partial_writes(void)
{
    for (int round = 0; round < 5; round++) {
        g_autofree uint8_t *orig = NULL;
        g_autoptr(WdBlockNode) base = base_with_pattern(&orig);
        g_autoptr(WdBlockNode) snap = snapshot_of(base);
        g_autofree uint8_t *want = g_memdup2(orig, SIZE);
        GThread *t[THREADS];
        Writer w[THREADS];

        for (unsigned i = 0; i < THREADS; i++) {
            w[i] = (Writer){ .snap = snap, .index = i };
            t[i] = g_thread_new("writer", stripe_writer, &w[i]);
        }
        for (unsigned i = 0; i < THREADS; i++) {
            g_thread_join(t[i]);
        }
        for (uint64_t off = 0; off + STRIPE <= SIZE; off += STRIPE) {
            memset(want + off, 0x10 + (off / STRIPE) % THREADS, STRIPE);
        }
        check_contents(snap, want);
        check_contents(base, orig);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/block/snapshot/writes-stay-in-overlay",
                    test_writes_stay_in_overlay);
    g_test_add_func("/block/snapshot/concurrent-partial-writes",
                    test_concurrent_partial_writes);
    return g_test_run();
}
