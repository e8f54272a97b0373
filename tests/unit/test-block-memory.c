/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of the memory block node (sizes, sparseness, concurrent access)
 * and the raw window node. File nodes and the generic wrappers:
 * test-block.c.
 */
#include <errno.h>
#include <string.h>

#include "block-test-util.h"

/* ---- memory ------------------------------------------------------------- */

static void test_memory_sizes(void)
{
    struct {
        uint64_t size;
        const char *error;
    } cases[] = {
        { .size = 1 },
        { .size = WD_BLOCK_MEMORY_MAX_SIZE },
        { .size = 0, .error = "Memory node size must be greater than 0" },
        { .size = WD_BLOCK_MEMORY_MAX_SIZE + 1,
          .error = "Memory node size 1099511627777 exceeds the maximum of "
                   "1099511627776 bytes (1 TiB)" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(WdBlockNode) bs = wd_block_memory_new("m", cases[i].size,
                                                        &err);
        if (cases[i].error) {
            g_assert_null(bs);
            g_assert_cmpstr(err->message, ==, cases[i].error);
        } else {
            g_assert_no_error(err);
            g_assert_cmpuint(wd_block_get_size(bs), ==, cases[i].size);
        }
    }
}

static void test_memory_sparse(void)
{
    const uint64_t size = 8 * 64 * KiB + 100;   /* last chunk partial */
    g_autoptr(WdBlockNode) bs = wd_block_memory_new("mem", size, NULL);
    g_autofree uint8_t *w = pattern(0, size, 4);

    g_assert_cmpstr(wd_block_driver_name(bs), ==, "memory");
    g_assert_true(wd_block_can_zero_fast(bs));
    assert_extents(bs, "524388BZ");
    assert_pattern(bs, 0, size, ZEROES);

    /* a write across the chunk 1/2 boundary allocates both */
    g_assert_cmpint(wd_block_pwrite(bs, 128 * KiB - 10, w, 20, 0), ==, 0);
    /* the partial last chunk */
    g_assert_cmpint(wd_block_pwrite(bs, size - 50, w, 50, WD_BLOCK_FUA), ==,
                    0);
    assert_extents(bs, "64KZ 128KD 320KZ 100BD");
    assert_pattern(bs, 0, 128 * KiB - 10, ZEROES);
    g_autofree uint8_t *got = g_malloc(50);
    g_assert_cmpint(wd_block_pread(bs, 128 * KiB - 10, got, 20), ==, 0);
    g_assert_cmpmem(got, 20, w, 20);
    g_assert_cmpint(wd_block_pread(bs, size - 50, got, 50), ==, 0);
    g_assert_cmpmem(got, 50, w, 50);
    assert_pattern(bs, 128 * KiB + 10, size - 50 - 128 * KiB - 10, ZEROES);

    /* partial discard zeroes but keeps the chunk; whole discard frees */
    g_assert_cmpint(wd_block_discard(bs, 128 * KiB - 5, 5), ==, 0);
    assert_pattern(bs, 128 * KiB - 5, 5, ZEROES);
    g_assert_cmpint(wd_block_discard(bs, 64 * KiB, 64 * KiB), ==, 0);
    assert_extents(bs, "128KZ 64KD 320KZ 100BD");
    /* discard up to the end of the disk frees the partial last chunk */
    g_assert_cmpint(wd_block_discard(bs, 7 * 64 * KiB, 64 * KiB + 100), ==,
                    0);
    /* zeroes without MAY_UNMAP allocate (NO_HOLE); with it they free */
    g_assert_cmpint(wd_block_write_zeroes(bs, 5 * 64 * KiB, 64 * KiB,
                                          WD_BLOCK_NO_FALLBACK), ==, 0);
    assert_extents(bs, "128KZ 64KD 128KZ 64KD 131172BZ");
    assert_pattern(bs, 128 * KiB + 10, size - 128 * KiB - 10, ZEROES);
    g_assert_cmpint(wd_block_write_zeroes(bs, 0, size, WD_BLOCK_MAY_UNMAP),
                    ==, 0);
    assert_extents(bs, "524388BZ");
    assert_pattern(bs, 0, size, ZEROES);
    g_assert_cmpint(wd_block_flush(bs), ==, 0);
}

/* Several threads write and verify interleaved regions whose boundaries
 * fall inside shared chunks, so chunk allocation races are exercised. */
#define MT_THREADS 8
#define MT_REGION  (3 * 64 * KiB + 12345)
#define MT_ROUNDS  100

typedef struct {
    WdBlockNode *bs;
    unsigned id;
    int failures;
} MtArg;

static gpointer mt_worker(gpointer opaque)
{
    MtArg *a = opaque;
    uint64_t base = a->id * MT_REGION;
    GRand *rand = g_rand_new_with_seed(a->id);

    for (unsigned r = 0; r < MT_ROUNDS; r++) {
        uint64_t off = base + g_rand_int_range(rand, 0, MT_REGION - 1);
        uint64_t len = g_rand_int_range(rand, 1, MT_REGION - (off - base));
        g_autofree uint8_t *w = pattern(off, len, a->id);
        g_autofree uint8_t *got = g_malloc(len);
        size_t half = len / 2;
        struct iovec wv[] = { { w, half }, { w + half, len - half } };

        if (wd_block_pwritev(a->bs, off, wv, 2, len, 0) < 0 ||
            wd_block_pread(a->bs, off, got, len) < 0 ||
            memcmp(got, w, len) != 0) {
            a->failures++;
        }
    }
    /* finally own the whole region */
    g_autofree uint8_t *all = pattern(base, MT_REGION, a->id);
    if (wd_block_pwrite(a->bs, base, all, MT_REGION, 0) < 0) {
        a->failures++;
    }
    g_rand_free(rand);
    return NULL;
}

static void test_memory_concurrent(void)
{
    g_autoptr(WdBlockNode) bs = wd_block_memory_new("mt",
                                                    MT_THREADS * MT_REGION,
                                                    NULL);
    MtArg args[MT_THREADS];
    GThread *threads[MT_THREADS];

    for (unsigned i = 0; i < MT_THREADS; i++) {
        args[i] = (MtArg){ .bs = bs, .id = i };
        threads[i] = g_thread_new("writer", mt_worker, &args[i]);
    }
    for (unsigned i = 0; i < MT_THREADS; i++) {
        g_thread_join(threads[i]);
        g_assert_cmpint(args[i].failures, ==, 0);
    }
    for (unsigned i = 0; i < MT_THREADS; i++) {
        assert_pattern(bs, i * MT_REGION, MT_REGION, i);
    }
}

/* ---- raw ---------------------------------------------------------------- */

static void test_raw_window(void)
{
    WdBlockNode *mem = wd_block_memory_new("base", 1 * MiB, NULL);
    g_autofree uint8_t *w = pattern(0, 1 * MiB, 5);
    g_autoptr(WdBlockNode) raw = NULL;
    g_autoptr(WdBlockNode) tail = NULL;
    g_autoptr(WdBlockNode) whole = NULL;
    uint8_t buf[16];
    uint64_t pnum;
    int st;

    g_assert_cmpint(wd_block_pwrite(mem, 0, w, 1 * MiB, 0), ==, 0);
    g_assert_cmpint(wd_block_discard(mem, 128 * KiB, 64 * KiB), ==, 0);
    raw = wd_block_raw_new("part1", mem, 64 * KiB, 128 * KiB, NULL);
    tail = wd_block_raw_new(NULL, mem, 1000 * KiB, 0, NULL);
    whole = wd_block_raw_new(NULL, mem, 0, 0, NULL);
    /* the raw nodes hold their own references */
    wd_block_node_unref(mem);

    g_assert_cmpstr(wd_block_driver_name(raw), ==, "raw");
    g_assert_cmpuint(wd_block_get_size(raw), ==, 128 * KiB);
    g_assert_cmpuint(wd_block_get_size(tail), ==, 24 * KiB);
    g_assert_cmpint(wd_block_pread(raw, 0, buf, 16), ==, 0);
    g_assert_cmpmem(buf, 16, w + 64 * KiB, 16);
    g_assert_cmpint(wd_block_pread(tail, 24 * KiB - 16, buf, 16), ==, 0);
    g_assert_cmpmem(buf, 16, w + 1 * MiB - 16, 16);
    g_assert_cmpint(wd_block_pread(raw, 128 * KiB - 8, buf, 16), ==, -EINVAL);
    g_assert_cmpint(wd_block_block_status(raw, 0, 128 * KiB, &pnum, &st), ==,
                    0);
    g_assert_cmpuint(pnum, ==, 64 * KiB);
    g_assert_cmpint(st, ==, WD_BLOCK_DATA);
    g_assert_cmpint(wd_block_block_status(raw, 64 * KiB, 64 * KiB, &pnum,
                                          &st), ==, 0);
    g_assert_cmpint(st, ==, WD_BLOCK_ZERO);
    /* writes land at the shifted offset of the child */
    g_assert_cmpint(wd_block_pwrite(raw, 10, "hello", 5, 0), ==, 0);
    g_assert_cmpint(wd_block_pread(whole, 64 * KiB + 9, buf, 7), ==, 0);
    g_assert_cmpuint(buf[0], ==, w[64 * KiB + 9]);
    g_assert_cmpmem(buf + 1, 5, "hello", 5);
    g_assert_cmpuint(buf[6], ==, w[64 * KiB + 15]);
    g_assert_cmpuint(wd_block_get_size(whole), ==, 1 * MiB);
    g_assert_cmpint(wd_block_write_zeroes(raw, 0, 4, WD_BLOCK_MAY_UNMAP), ==,
                    0);
    g_assert_cmpint(wd_block_pread(raw, 0, buf, 16), ==, 0);
    g_assert_cmpmem(buf, 4, "\0\0\0\0", 4);
    g_assert_cmpmem(buf + 4, 6, w + 64 * KiB + 4, 6);
    g_assert_cmpmem(buf + 10, 5, "hello", 5);
    g_assert_true(wd_block_can_zero_fast(raw));
    g_assert_cmpint(wd_block_flush(raw), ==, 0);
}

static void test_raw_errors(void)
{
    g_autoptr(WdBlockNode) mem = wd_block_memory_new("base", 1 * MiB, NULL);
    struct {
        uint64_t offset, size;
        const char *error;
    } cases[] = {
        { .offset = 1 * MiB + 1, .size = 0,
          .error = "Offset 1048577 is beyond the end of node 'base' "
                   "(1048576 bytes)" },
        { .offset = 512 * KiB, .size = 512 * KiB + 1,
          .error = "Window of 524289 bytes at offset 524288 exceeds the end "
                   "of node 'base' (1048576 bytes)" },
        { .offset = 1, .size = UINT64_MAX,
          .error = "Window of 18446744073709551615 bytes at offset 1 exceeds "
                   "the end of node 'base' (1048576 bytes)" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;

        g_assert_null(wd_block_raw_new(NULL, mem, cases[i].offset,
                                       cases[i].size, &err));
        g_assert_cmpstr(err->message, ==, cases[i].error);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/block/memory/sizes", test_memory_sizes);
    g_test_add_func("/block/memory/sparse", test_memory_sparse);
    g_test_add_func("/block/memory/concurrent", test_memory_concurrent);
    g_test_add_func("/block/raw/window", test_raw_window);
    g_test_add_func("/block/raw/errors", test_raw_errors);
    return g_test_run();
}
