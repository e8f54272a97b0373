/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests for runtime/block: the generic wrappers (bounds, read-only, flags,
 * fallbacks) and the file driver. Memory and raw nodes:
 * test-block-memory.c.
 */
#include "runtime/block/block.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "block-test-util.h"

/* A file of pattern-0 bytes in its own temporary directory, removed by
 * g_auto(TmpFile). */
typedef struct {
    char *dir;
    char *path;
} TmpFile;

static void tmp_file_clear(TmpFile *t)
{
    g_unlink(t->path);
    g_rmdir(t->dir);
    g_free(t->path);
    g_free(t->dir);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TmpFile, tmp_file_clear)

/* @parent: NULL for the default temporary directory */
static TmpFile make_file(const char *parent, size_t size)
{
    g_autofree uint8_t *data = pattern(0, size, 0);
    TmpFile t = {
        .dir = g_build_filename(parent ? parent : g_get_tmp_dir(),
                                "test-block-XXXXXX", NULL),
    };

    g_assert_nonnull(g_mkdtemp(t.dir));
    t.path = g_build_filename(t.dir, "disk.img", NULL);
    g_assert_true(g_file_set_contents(t.path, (char *)data, size, NULL));
    return t;
}

static WdBlockNode *open_file(const char *path, bool ro)
{
    g_autoptr(GError) err = NULL;
    WdBlockNode *bs = wd_block_file_open("disk0", path, ro, false, &err);

    g_assert_no_error(err);
    g_assert_nonnull(bs);
    return bs;
}

/* ---- generic ------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *error;          /* NULL: accepted */
} NameCase;

static void test_node_name(void)
{
    static const NameCase cases[] = {
        { .name = "disk0" },
        { .name = "a-b.c_D9" },
        { .name = "abcdefghijklmnopqrstuvwxyz01234" },
        { .name = "abcdefghijklmnopqrstuvwxyz012345",
          .error = "Node name too long: 'abcdefghijklmnopqrstuvwxyz012345' "
                   "(at most 31 characters)" },
        { .name = "", .error = "Invalid node-name: ''" },
        { .name = "0disk", .error = "Invalid node-name: '0disk'" },
        { .name = "my disk", .error = "Invalid node-name: 'my disk'" },
        { .name = "#block1", .error = "Invalid node-name: '#block1'" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(WdBlockNode) bs = wd_block_memory_new(cases[i].name, 4096,
                                                        &err);
        if (cases[i].error) {
            g_assert_null(bs);
            g_assert_nonnull(err);
            g_assert_cmpstr(err->message, ==, cases[i].error);
        } else {
            g_assert_no_error(err);
            g_assert_cmpstr(wd_block_node_name(bs), ==, cases[i].name);
        }
    }

    g_autoptr(WdBlockNode) a = wd_block_memory_new(NULL, 4096, NULL);
    g_autoptr(WdBlockNode) b = wd_block_memory_new(NULL, 4096, NULL);
    g_assert_true(g_str_has_prefix(wd_block_node_name(a), "#block"));
    g_assert_cmpstr(wd_block_node_name(a), !=, wd_block_node_name(b));
}

typedef struct {
    uint64_t offset;
    uint64_t len;
    int ret;                    /* for reads/writes/discard/zeroes */
    int status_ret;             /* for block_status */
} RangeCase;

static void check_ranges(WdBlockNode *bs)
{
    uint64_t size = wd_block_get_size(bs);
    const RangeCase cases[] = {
        { .offset = 0, .len = size, .ret = 0, .status_ret = 0 },
        { .offset = size - 1, .len = 1, .ret = 0, .status_ret = 0 },
        { .offset = size, .len = 0, .ret = 0, .status_ret = -EINVAL },
        { .offset = size, .len = 1, .ret = -EINVAL, .status_ret = -EINVAL },
        { .offset = size - 1, .len = 2, .ret = -EINVAL,
          .status_ret = -EINVAL },
        { .offset = size + 1, .len = 0, .ret = -EINVAL,
          .status_ret = -EINVAL },
        /* offset + len wraps around to a small number */
        { .offset = UINT64_MAX, .len = 2, .ret = -EINVAL,
          .status_ret = -EINVAL },
        { .offset = 1, .len = UINT64_MAX, .ret = -EINVAL,
          .status_ret = -EINVAL },
    };
    g_autofree uint8_t *buf = g_malloc0(size);

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const RangeCase *c = &cases[i];
        /* Out-of-range requests are refused before the buffer is used, so
         * a small buffer can stand in for a huge length. */
        struct iovec iov = { .iov_base = buf, .iov_len = c->len };
        uint64_t pnum;
        int status;

        g_assert_cmpint(wd_block_preadv(bs, c->offset, &iov, 1, c->len), ==,
                        c->ret);
        g_assert_cmpint(wd_block_pwritev(bs, c->offset, &iov, 1, c->len, 0),
                        ==, c->ret);
        g_assert_cmpint(wd_block_discard(bs, c->offset, c->len), ==, c->ret);
        g_assert_cmpint(wd_block_write_zeroes(bs, c->offset, c->len, 0), ==,
                        c->ret);
        g_assert_cmpint(wd_block_block_status(bs, c->offset, c->len, &pnum,
                                              &status), ==, c->status_ret);
    }
}

static void test_ranges_memory(void)
{
    g_autoptr(WdBlockNode) bs = wd_block_memory_new("m", 3 * 64 * KiB + 7,
                                                    NULL);
    check_ranges(bs);
}

static void test_ranges_file(void)
{
    g_auto(TmpFile) f = make_file(NULL, 100 * KiB + 3);
    g_autoptr(WdBlockNode) bs = open_file(f.path, false);

    check_ranges(bs);
}

/* A minimal driver over a byte array: only the mandatory methods plus
 * pwritev and flush, to exercise the wrappers' defaults. */
typedef struct {
    uint8_t data[64 * 1024];
    int flushes;
} TestDisk;

static int tdisk_preadv(WdBlockNode *bs, uint64_t off,
                        const struct iovec *iov, int niov, uint64_t len)
{
    TestDisk *d = wd_block_node_opaque(bs);

    for (int i = 0; i < niov; off += iov[i].iov_len, i++) {
        memcpy(iov[i].iov_base, d->data + off, iov[i].iov_len);
    }
    return 0;
}

static int tdisk_pwritev(WdBlockNode *bs, uint64_t off,
                         const struct iovec *iov, int niov, uint64_t len,
                         int flags)
{
    TestDisk *d = wd_block_node_opaque(bs);

    for (int i = 0; i < niov; off += iov[i].iov_len, i++) {
        memcpy(d->data + off, iov[i].iov_base, iov[i].iov_len);
    }
    return 0;
}

static int tdisk_flush(WdBlockNode *bs)
{
    ((TestDisk *)wd_block_node_opaque(bs))->flushes++;
    return 0;
}

static void tdisk_close(WdBlockNode *bs)
{
    g_free(wd_block_node_opaque(bs));
}

static const WdBlockDriver tdisk_driver = {
    .name = "test",
    .preadv = tdisk_preadv,
    .pwritev = tdisk_pwritev,
    .flush = tdisk_flush,
    .close = tdisk_close,
};

static void test_generic_defaults(void)
{
    TestDisk *d = g_new0(TestDisk, 1);
    g_autoptr(WdBlockNode) bs = wd_block_node_new(&tdisk_driver, "t",
                                                  sizeof(d->data), false, 1,
                                                  d, NULL);
    uint8_t two[2] = { 1, 2 };
    struct iovec iov = { .iov_base = two, .iov_len = 2 };
    uint64_t pnum, fd_off;
    int status;

    memset(d->data, 0xff, sizeof(d->data));
    g_assert_cmpstr(wd_block_driver_name(bs), ==, "test");
    g_assert_false(wd_block_can_zero_fast(bs));
    /* write_zeroes without a driver method: zero buffers, then FUA flush */
    g_assert_cmpint(wd_block_write_zeroes(bs, 100, 5000, WD_BLOCK_NO_FALLBACK),
                    ==, -ENOTSUP);
    g_assert_cmpuint(d->data[100], ==, 0xff);
    g_assert_cmpint(wd_block_write_zeroes(bs, 100, 5000, WD_BLOCK_FUA), ==, 0);
    g_assert_cmpint(d->flushes, ==, 1);
    g_assert_true(is_zero(d->data + 100, 5000));
    g_assert_cmpuint(d->data[99], ==, 0xff);
    g_assert_cmpuint(d->data[5100], ==, 0xff);
    /* defaults for discard, block_status, get_fd */
    g_assert_cmpint(wd_block_discard(bs, 0, 4096), ==, 0);
    g_assert_cmpuint(d->data[0], ==, 0xff);
    g_assert_cmpint(wd_block_block_status(bs, 10, 20, &pnum, &status), ==, 0);
    g_assert_cmpuint(pnum, ==, 20);
    g_assert_cmpint(status, ==, WD_BLOCK_DATA);
    g_assert_cmpint(wd_block_get_fd(bs, 0, 1, &fd_off), ==, -ENOTSUP);
    /* unknown flags */
    g_assert_cmpint(wd_block_pwrite(bs, 0, two, 2, WD_BLOCK_MAY_UNMAP), ==,
                    -EINVAL);
    g_assert_cmpint(wd_block_write_zeroes(bs, 0, 2, 1 << 7), ==, -EINVAL);
    /* an iovec that does not match the length is a caller bug */
    g_test_expect_message(NULL, G_LOG_LEVEL_CRITICAL,
                          "*iovec does not hold 3 bytes*");
    g_assert_cmpint(wd_block_preadv(bs, 0, &iov, 1, 3), ==, -EINVAL);
    g_test_assert_expected_messages();
    /* references */
    g_assert_true(wd_block_node_ref(bs) == bs);
    wd_block_node_unref(bs);
    wd_block_node_unref(NULL);
}

/* ---- file --------------------------------------------------------------- */

static void test_file_round_trip(void)
{
    g_auto(TmpFile) f = make_file(NULL, 1 * MiB);
    WdBlockNode *bs = open_file(f.path, false);
    g_autofree uint8_t *w = pattern(4095, 8193, 1);
    g_autofree char *contents = NULL;
    g_autofree uint8_t *want = NULL;
    uint8_t a[100], b[3000], c[5093];
    struct iovec iov[] = {
        { .iov_base = a, .iov_len = sizeof(a) },
        { .iov_base = b, .iov_len = sizeof(b) },
        { .iov_base = c, .iov_len = sizeof(c) },
    };
    gsize len;

    g_assert_cmpuint(wd_block_get_size(bs), ==, 1 * MiB);
    g_assert_cmpstr(wd_block_driver_name(bs), ==, "file");
    g_assert_cmpstr(wd_block_node_name(bs), ==, "disk0");
    g_assert_false(wd_block_is_read_only(bs));
    g_assert_cmpuint(wd_block_get_alignment(bs), ==, 1);
    assert_pattern(bs, 0, 1 * MiB, 0);

    g_assert_cmpint(wd_block_pwrite(bs, 4095, w, 8193, 0), ==, 0);
    g_assert_cmpint(wd_block_preadv(bs, 4095, iov, 3, 8193), ==, 0);
    g_assert_cmpmem(a, sizeof(a), w, sizeof(a));
    g_assert_cmpmem(b, sizeof(b), w + 100, sizeof(b));
    g_assert_cmpmem(c, sizeof(c), w + 3100, sizeof(c));
    assert_pattern(bs, 0, 4095, 0);
    assert_pattern(bs, 4095 + 8193, 1 * MiB - 4095 - 8193, 0);
    g_assert_cmpint(wd_block_pwrite(bs, 0, w, 10, WD_BLOCK_FUA), ==, 0);
    g_assert_cmpint(wd_block_flush(bs), ==, 0);
    wd_block_node_unref(bs);

    /* The bytes really are in the file. */
    g_assert_true(g_file_get_contents(f.path, &contents, &len, NULL));
    g_assert_cmpuint(len, ==, 1 * MiB);
    want = pattern(0, 1 * MiB, 0);
    memcpy(want + 4095, w, 8193);
    memcpy(want, w, 10);
    g_assert_cmpmem(contents, len, want, 1 * MiB);
}

/* A size that is no multiple of anything, and an empty file. */
static void test_file_short(void)
{
    g_auto(TmpFile) f = make_file(NULL, 1000);
    g_autoptr(WdBlockNode) bs = open_file(f.path, false);
    g_autofree uint8_t *w = pattern(0, 1000, 2);
    uint8_t byte;

    g_assert_cmpuint(wd_block_get_size(bs), ==, 1000);
    assert_pattern(bs, 0, 1000, 0);
    g_assert_cmpint(wd_block_pwrite(bs, 0, w, 1000, 0), ==, 0);
    assert_pattern(bs, 0, 1000, 2);
    g_assert_cmpint(wd_block_pread(bs, 999, &byte, 1), ==, 0);
    g_assert_cmpuint(byte, ==, w[999]);
    g_assert_cmpint(wd_block_pread(bs, 1000, &byte, 1), ==, -EINVAL);

    /* The file shrinks under us: reads past the new EOF give zeroes. */
    g_assert_cmpint(truncate(f.path, 500), ==, 0);
    assert_pattern(bs, 0, 500, 2);
    assert_pattern(bs, 500, 500, ZEROES);

    g_auto(TmpFile) empty = make_file(NULL, 0);
    g_autoptr(WdBlockNode) bs0 = open_file(empty.path, true);
    g_assert_cmpuint(wd_block_get_size(bs0), ==, 0);
    g_assert_cmpint(wd_block_pread(bs0, 0, &byte, 0), ==, 0);
}

static void test_file_open_errors(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-block-XXXXXX", NULL);
    g_autofree char *missing = g_build_filename(dir, "nope.img", NULL);
    struct {
        const char *path;
        bool ro;
        const char *error;
    } cases[] = {
        { .path = missing, .ro = true, .error = "No such file or directory" },
        { .path = dir, .ro = false, .error = "Is a directory" },
        { .path = dir, .ro = true,
          .error = "not a regular file or block device" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *msg = g_strdup_printf("Could not open '%s': %s",
                                               cases[i].path, cases[i].error);

        g_assert_null(wd_block_file_open(NULL, cases[i].path, cases[i].ro,
                                         false, &err));
        g_assert_nonnull(err);
        g_assert_cmpstr(err->message, ==, msg);
    }
    g_rmdir(dir);
}

static void test_file_read_only(void)
{
    g_auto(TmpFile) f = make_file(NULL, 64 * KiB);
    g_autoptr(WdBlockNode) bs = open_file(f.path, true);
    uint8_t buf[16] = { 0 };

    g_assert_true(wd_block_is_read_only(bs));
    g_assert_false(wd_block_can_zero_fast(bs));
    g_assert_cmpint(wd_block_pwrite(bs, 0, buf, 16, 0), ==, -EPERM);
    g_assert_cmpint(wd_block_discard(bs, 0, 4096), ==, -EPERM);
    g_assert_cmpint(wd_block_write_zeroes(bs, 0, 4096, 0), ==, -EPERM);
    /* -EPERM wins over a bad range, as for NBD on a read-only export */
    g_assert_cmpint(wd_block_pwrite(bs, UINT64_MAX, buf, 16, 0), ==, -EPERM);
    g_assert_cmpint(wd_block_flush(bs), ==, 0);
    assert_pattern(bs, 0, 64 * KiB, 0);
}

static void test_file_discard(void)
{
    g_auto(TmpFile) f = make_file(NULL, 4 * MiB);
    g_autoptr(WdBlockNode) bs = open_file(f.path, false);
    g_autofree char *map = NULL;

    g_assert_cmpint(wd_block_discard(bs, 1 * MiB, 1 * MiB), ==, 0);
    assert_pattern(bs, 0, 1 * MiB, 0);
    assert_pattern(bs, 2 * MiB, 2 * MiB, 0);
    map = extents(bs);
    if (g_str_equal(map, "4096KD")) {
        g_test_skip("file system does not punch holes");
    } else {
        g_assert_cmpstr(map, ==, "1024KD 1024KZ 2048KD");
        assert_pattern(bs, 1 * MiB, 1 * MiB, ZEROES);
    }
}

static void test_file_block_status(void)
{
    g_auto(TmpFile) f = make_file(NULL, 0);
    g_autoptr(WdBlockNode) bs = NULL;
    g_autofree uint8_t *w = pattern(0, 64 * KiB, 3);
    g_autofree char *map = NULL;
    uint64_t pnum;
    int st;

    g_assert_cmpint(truncate(f.path, 8 * MiB), ==, 0);
    bs = open_file(f.path, false);
    g_assert_cmpint(wd_block_pwrite(bs, 2 * MiB, w, 64 * KiB, 0), ==, 0);
    g_assert_cmpint(wd_block_pwrite(bs, 6 * MiB, w, 64 * KiB, 0), ==, 0);
    map = extents(bs);
    if (g_str_equal(map, "8192KD")) {
        g_test_skip("file system does not report holes");
    } else {
        g_assert_cmpstr(map, ==, "2048KZ 64KD 4032KZ 64KD 1984KZ");
        /* answers never exceed the request */
        g_assert_cmpint(wd_block_block_status(bs, 1 * MiB, 4 * KiB, &pnum,
                                              &st), ==, 0);
        g_assert_cmpuint(pnum, ==, 4 * KiB);
        g_assert_cmpint(st, ==, WD_BLOCK_ZERO);
        g_assert_cmpint(wd_block_block_status(bs, 2 * MiB + 512, 1 * MiB,
                                              &pnum, &st), ==, 0);
        g_assert_cmpuint(pnum, ==, 64 * KiB - 512);
        g_assert_cmpint(st, ==, WD_BLOCK_DATA);
    }
}

typedef struct {
    const char *name;
    int flags;
} ZeroCase;

static void run_write_zeroes(const char *parent)
{
    static const ZeroCase cases[] = {
        { .name = "plain", .flags = 0 },
        { .name = "fua", .flags = WD_BLOCK_FUA },
        { .name = "may-unmap", .flags = WD_BLOCK_MAY_UNMAP },
        { .name = "fast", .flags = WD_BLOCK_NO_FALLBACK },
        { .name = "fast-unmap",
          .flags = WD_BLOCK_NO_FALLBACK | WD_BLOCK_MAY_UNMAP },
    };
    const uint64_t off = 12345, len = 300 * KiB + 77, size = 1 * MiB;

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_auto(TmpFile) f = make_file(parent, size);
        g_autoptr(WdBlockNode) bs = open_file(f.path, false);
        int ret = wd_block_write_zeroes(bs, off, len, cases[i].flags);

        g_test_message("%s: %s -> %d", parent, cases[i].name, ret);
        if (ret == -ENOTSUP) {
            /* only allowed when asked not to fall back */
            g_assert_true(cases[i].flags & WD_BLOCK_NO_FALLBACK);
            assert_pattern(bs, 0, size, 0);
        } else {
            g_assert_cmpint(ret, ==, 0);
            assert_pattern(bs, 0, off, 0);
            assert_pattern(bs, off, len, ZEROES);
            assert_pattern(bs, off + len, size - off - len, 0);
        }
    }
}

static void test_file_write_zeroes(void)
{
    run_write_zeroes(g_get_tmp_dir());
    /* tmpfs has PUNCH_HOLE but no ZERO_RANGE: another code path */
    if (g_file_test("/dev/shm", G_FILE_TEST_IS_DIR) &&
        access("/dev/shm", W_OK) == 0) {
        run_write_zeroes("/dev/shm");
    }
}

/* A raw window over a read-only file: fd + offset translation for
 * zero-copy reads, and read-only inherited from the child. */
static void test_file_raw_fd(void)
{
    g_auto(TmpFile) f = make_file(NULL, 256 * KiB);
    g_autoptr(WdBlockNode) bs = open_file(f.path, true);
    g_autoptr(WdBlockNode) raw = wd_block_raw_new(NULL, bs, 64 * KiB, 0,
                                                  NULL);
    g_autoptr(WdBlockNode) mem = wd_block_memory_new(NULL, 4096, NULL);
    g_autofree uint8_t *want = pattern(64 * KiB + 10, 100, 0);
    uint8_t got[100];
    uint64_t fd_off;
    int fd;

    fd = wd_block_get_fd(raw, 10, 100, &fd_off);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpuint(fd_off, ==, 64 * KiB + 10);
    g_assert_cmpint(pread(fd, got, 100, fd_off), ==, 100);
    g_assert_cmpmem(got, 100, want, 100);
    g_assert_cmpint(wd_block_get_fd(bs, 200 * KiB, 100 * KiB, &fd_off), ==,
                    -EINVAL);
    g_assert_cmpint(wd_block_get_fd(mem, 0, 1, &fd_off), ==, -ENOTSUP);

    g_assert_true(wd_block_is_read_only(raw));
    g_assert_cmpint(wd_block_pwrite(raw, 0, "x", 1, 0), ==, -EPERM);
    g_assert_cmpint(wd_block_write_zeroes(raw, 0, 1, 0), ==, -EPERM);
    assert_pattern(bs, 0, 256 * KiB, 0);
}

static void test_file_direct(void)
{
    g_auto(TmpFile) f = make_file(NULL, 8 * KiB);
    g_autoptr(GError) err = NULL;
    g_autoptr(WdBlockNode) bs = wd_block_file_open(NULL, f.path, false, true,
                                                   &err);
    g_autofree uint8_t *buf = NULL;     /* posix_memalign: g_free is ok */
    g_autofree char *msg = NULL;

    if (!bs) {
        g_test_skip(err->message);
        return;
    }
    g_assert_cmpuint(wd_block_get_alignment(bs), ==, 4096);
    g_assert_cmpint(posix_memalign((void **)&buf, 4096, 4096), ==, 0);
    g_assert_cmpint(wd_block_pread(bs, 4096, buf, 4096), ==, 0);
    g_assert_cmpuint(buf[1], ==, pattern_byte(4097, 0));
    g_assert_cmpint(wd_block_pread(bs, 512, buf, 4096), ==, -EINVAL);
    g_assert_cmpint(wd_block_pread(bs, 0, buf, 100), ==, -EINVAL);
    g_assert_cmpint(wd_block_write_zeroes(bs, 0, 4096, 0), ==, 0);
    g_assert_cmpint(wd_block_pread(bs, 0, buf, 4096), ==, 0);
    g_assert_true(is_zero(buf, 4096));

    g_assert_null(wd_block_raw_new(NULL, bs, 100, 0, &err));
    msg = g_strdup_printf("Window offset 100 and size 8092 must be multiples "
                          "of the 4096-byte alignment of node '%s'",
                          wd_block_node_name(bs));
    g_assert_cmpstr(err->message, ==, msg);
    g_clear_error(&err);

    g_auto(TmpFile) odd = make_file(NULL, 1000);
    g_assert_null(wd_block_file_open(NULL, odd.path, true, true, &err));
    g_free(msg);
    msg = g_strdup_printf("Could not open '%s' with O_DIRECT: its size "
                          "(1000 bytes) is not a multiple of 4096 bytes",
                          odd.path);
    g_assert_cmpstr(err->message, ==, msg);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/block/node-name", test_node_name);
    g_test_add_func("/block/ranges/memory", test_ranges_memory);
    g_test_add_func("/block/ranges/file", test_ranges_file);
    g_test_add_func("/block/generic-defaults", test_generic_defaults);
    g_test_add_func("/block/file/round-trip", test_file_round_trip);
    g_test_add_func("/block/file/short", test_file_short);
    g_test_add_func("/block/file/open-errors", test_file_open_errors);
    g_test_add_func("/block/file/read-only", test_file_read_only);
    g_test_add_func("/block/file/discard", test_file_discard);
    g_test_add_func("/block/file/block-status", test_file_block_status);
    g_test_add_func("/block/file/write-zeroes", test_file_write_zeroes);
    g_test_add_func("/block/file/raw-fd", test_file_raw_fd);
    g_test_add_func("/block/file/direct", test_file_direct);
    return g_test_run();
}
