/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared helpers of the block node tests: byte patterns and extent maps. */
#ifndef WARDEN_TESTS_BLOCK_TEST_UTIL_H
#define WARDEN_TESTS_BLOCK_TEST_UTIL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "runtime/block/block.h"

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)

/* The "pattern" of this seed is all zeroes. */
#define ZEROES UINT_MAX

static inline uint8_t pattern_byte(uint64_t off, unsigned seed)
{
    if (seed == ZEROES) {
        return 0;
    }
    return (uint8_t)((off * 31 + (off >> 12) + seed * 7) & 0xff);
}

static inline uint8_t *pattern(uint64_t off, size_t len, unsigned seed)
{
    uint8_t *buf = g_malloc(len);

    for (size_t i = 0; i < len; i++) {
        buf[i] = pattern_byte(off + i, seed);
    }
    return buf;
}

static inline bool is_zero(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i]) {
            return false;
        }
    }
    return true;
}

/* Asserts that [off, off+len) of @bs holds pattern @seed. */
static inline void assert_pattern(WdBlockNode *bs, uint64_t off, size_t len,
                           unsigned seed)
{
    g_autofree uint8_t *got = g_malloc(len);
    g_autofree uint8_t *want = pattern(off, len, seed);

    g_assert_cmpint(wd_block_pread(bs, off, got, len), ==, 0);
    g_assert_cmpmem(got, len, want, len);
}

/* Collects the extents of @bs as "<len>K<D|Z>" words ("<len>B..." when
 * the length is not a whole KiB). */
static inline char *extents(WdBlockNode *bs)
{
    GString *s = g_string_new(NULL);
    uint64_t off = 0, size = wd_block_get_size(bs);

    while (off < size) {
        uint64_t pnum;
        int st;

        g_assert_cmpint(wd_block_block_status(bs, off, size - off, &pnum,
                                              &st), ==, 0);
        g_string_append_printf(s, "%s%" G_GUINT64_FORMAT "%s%s%s",
                               s->len ? " " : "",
                               pnum % KiB ? pnum : pnum / KiB,
                               pnum % KiB ? "B" : "K",
                               st & WD_BLOCK_DATA ? "D" : "",
                               st & WD_BLOCK_ZERO ? "Z" : "");
        off += pnum;
    }
    return g_string_free(s, false);
}

static inline void assert_extents(WdBlockNode *bs, const char *want)
{
    g_autofree char *map = extents(bs);

    g_assert_cmpstr(map, ==, want);
}

#endif
