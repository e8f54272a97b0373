/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Block status of the file node across its remembered data extent: the
 * answers must stay those of a fresh SEEK_DATA/SEEK_HOLE walk whatever the
 * order of queries, discards, zero writes and writes.  Run on the default
 * temporary directory and on /dev/shm (tmpfs, where the extent matters).
 */
#include "runtime/block/block.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define SIZE (4 * MiB)

typedef struct {
    char *dir;
    char *path;
    WdBlockNode *bs;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer parent)
{
    g_autofree uint8_t *data = g_malloc(SIZE);
    g_autoptr(GError) err = NULL;

    memset(data, 0xa5, SIZE);
    f->dir = g_build_filename(parent ? parent : g_get_tmp_dir(),
                              "test-bfs-XXXXXX", NULL);
    g_assert_nonnull(g_mkdtemp(f->dir));
    f->path = g_build_filename(f->dir, "disk.img", NULL);
    g_assert_true(g_file_set_contents(f->path, (char *)data, SIZE, NULL));
    f->bs = wd_block_file_open("disk0", f->path, false, false, &err);
    g_assert_no_error(err);
}

static void fixture_teardown(Fixture *f, gconstpointer parent)
{
    wd_block_node_unref(f->bs);
    g_unlink(f->path);
    g_rmdir(f->dir);
    g_free(f->path);
    g_free(f->dir);
}

/* One query: the answer must be @want_len bytes of @want_st. */
static void expect(WdBlockNode *bs, uint64_t off, uint64_t len,
                   uint64_t want_len, int want_st)
{
    uint64_t pnum = 0;
    int st = -1;

    g_assert_cmpint(wd_block_block_status(bs, off, len, &pnum, &st), ==, 0);
    if (pnum != want_len || st != want_st) {
        g_test_message("status(%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                       ") = %" G_GUINT64_FORMAT " x %d", off, len, pnum, st);
    }
    g_assert_cmpuint(pnum, ==, want_len);
    g_assert_cmpint(st, ==, want_st);
}

/* Punches [1 MiB, 2 MiB) and asks the file system itself (not the node,
 * whose answers are under test) whether a hole is there now. */
static bool reports_holes(Fixture *f)
{
    int fd;
    off_t data;

    g_assert_cmpint(wd_block_discard(f->bs, 1 * MiB, 1 * MiB), ==, 0);
    fd = open(f->path, O_RDONLY);
    g_assert_cmpint(fd, >=, 0);
    data = lseek(fd, 1 * MiB, SEEK_DATA);
    close(fd);
    if (data != (off_t)(2 * MiB)) {
        g_test_skip("file system does not punch or report holes");
        return false;
    }
    return true;
}

static void test_extent(Fixture *f, gconstpointer parent)
{
    const uint8_t pat[64 * KiB] = { 1 };

    /* Whole file allocated: answers stay within each request, from any
     * offset inside the remembered extent. */
    expect(f->bs, 0, SIZE, SIZE, WD_BLOCK_DATA);
    expect(f->bs, 1 * MiB + 512, 4 * KiB, 4 * KiB, WD_BLOCK_DATA);
    expect(f->bs, 3 * MiB + 1, SIZE - 3 * MiB - 1, SIZE - 3 * MiB - 1,
           WD_BLOCK_DATA);
    expect(f->bs, SIZE - 1, 1, 1, WD_BLOCK_DATA);

    /* A hole punched inside the remembered extent shows at once, and
     * the extent on either side ends at it. */
    if (!reports_holes(f)) {
        return;
    }
    expect(f->bs, 0, SIZE, 1 * MiB, WD_BLOCK_DATA);
    expect(f->bs, 512 * KiB, SIZE - 512 * KiB, 512 * KiB, WD_BLOCK_DATA);
    expect(f->bs, 1 * MiB, SIZE - 1 * MiB, 1 * MiB, WD_BLOCK_ZERO);
    expect(f->bs, 2 * MiB, 2 * MiB, 2 * MiB, WD_BLOCK_DATA);
    expect(f->bs, 3 * MiB, 4 * KiB, 4 * KiB, WD_BLOCK_DATA);

    /* write_zeroes that may unmap, inside the extent just remembered */
    g_assert_cmpint(wd_block_write_zeroes(f->bs, 2 * MiB + 512 * KiB,
                                          512 * KiB, WD_BLOCK_MAY_UNMAP),
                    ==, 0);
    expect(f->bs, 2 * MiB, 2 * MiB, 512 * KiB, WD_BLOCK_DATA);
    expect(f->bs, 2 * MiB + 512 * KiB, 512 * KiB, 512 * KiB, WD_BLOCK_ZERO);
    expect(f->bs, 3 * MiB, 1 * MiB, 1 * MiB, WD_BLOCK_DATA);

    /* A write into the hole: data where it landed, hole after it. */
    g_assert_cmpint(wd_block_pwrite(f->bs, 1 * MiB, pat, sizeof(pat), 0),
                    ==, 0);
    expect(f->bs, 0, SIZE, 1 * MiB + 64 * KiB, WD_BLOCK_DATA);
    expect(f->bs, 1 * MiB + 64 * KiB, 1 * MiB, 1 * MiB - 64 * KiB,
           WD_BLOCK_ZERO);

    /* A discard next to (not overlapping) the extent keeps it right. */
    expect(f->bs, 3 * MiB, 1 * MiB, 1 * MiB, WD_BLOCK_DATA);
    g_assert_cmpint(wd_block_discard(f->bs, 2 * MiB, 512 * KiB), ==, 0);
    expect(f->bs, 3 * MiB + 4 * KiB, 8 * KiB, 8 * KiB, WD_BLOCK_DATA);
    expect(f->bs, 2 * MiB, 1 * MiB, 1 * MiB, WD_BLOCK_ZERO);
    expect(f->bs, 0, 2 * MiB, 1 * MiB + 64 * KiB, WD_BLOCK_DATA);
}

/* The whole map, adjacent answers of the same kind merged (an extent
 * remembered before a write filled the hole after it may end early:
 * shorter answers are correct, wrong ones are not). */
static char *map(WdBlockNode *bs)
{
    GString *s = g_string_new(NULL);
    uint64_t off = 0, run = 0;
    int run_st = -1;

    while (off < SIZE) {
        uint64_t pnum;
        int st;

        g_assert_cmpint(wd_block_block_status(bs, off, SIZE - off, &pnum,
                                              &st), ==, 0);
        if (st != run_st && run) {
            g_string_append_printf(s, "%" G_GUINT64_FORMAT "K%s ",
                                   run / KiB, run_st & WD_BLOCK_DATA ?
                                   "D" : "Z");
            run = 0;
        }
        run_st = st;
        run += pnum;
        off += pnum;
    }
    g_string_append_printf(s, "%" G_GUINT64_FORMAT "K%s", run / KiB,
                           run_st & WD_BLOCK_DATA ? "D" : "Z");
    return g_string_free(s, false);
}

/* Queries from several threads while another punches and refills holes:
 * every answer must hold for the state before or after each change, and
 * the final answers must be exact. */
typedef struct {
    Fixture *f;
    gint stop;
} RaceCtx;

static gpointer race_query(gpointer opaque)
{
    RaceCtx *r = opaque;

    while (!g_atomic_int_get(&r->stop)) {
        uint64_t pnum;
        int st;

        g_assert_cmpint(wd_block_block_status(r->f->bs, 0, SIZE, &pnum,
                                              &st), ==, 0);
        g_assert_cmpuint(pnum, >, 0);
        g_assert_cmpuint(pnum, <=, SIZE);
    }
    return NULL;
}

static void test_race(Fixture *f, gconstpointer parent)
{
    RaceCtx r = { .f = f };
    GThread *t[2];
    g_autofree uint8_t *buf = g_malloc(1 * MiB);

    /* Not zeroes: some file systems store written zeroes as holes. */
    memset(buf, 0x5a, 1 * MiB);

    if (!reports_holes(f)) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        t[i] = g_thread_new("query", race_query, &r);
    }
    for (int i = 0; i < 300; i++) {
        g_assert_cmpint(wd_block_discard(f->bs, 1 * MiB, 1 * MiB), ==, 0);
        /* A query that walked the file before the discard must not
         * leave its (now wrong) extent behind. */
        expect(f->bs, 1 * MiB, 1 * MiB, 1 * MiB, WD_BLOCK_ZERO);
        g_assert_cmpint(wd_block_pwrite(f->bs, 1 * MiB, buf, 1 * MiB, 0),
                        ==, 0);
    }
    g_assert_cmpint(wd_block_discard(f->bs, 3 * MiB, 1 * MiB), ==, 0);
    g_atomic_int_set(&r.stop, 1);
    for (int i = 0; i < 2; i++) {
        g_thread_join(t[i]);
    }
    g_autofree char *m = map(f->bs);

    g_assert_cmpstr(m, ==, "3072KD 1024KZ");
    expect(f->bs, 3 * MiB, 1 * MiB, 1 * MiB, WD_BLOCK_ZERO);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/block/file-status/extent/tmpdir", Fixture, NULL,
               fixture_setup, test_extent, fixture_teardown);
    g_test_add("/block/file-status/race/tmpdir", Fixture, NULL,
               fixture_setup, test_race, fixture_teardown);
    if (g_file_test("/dev/shm", G_FILE_TEST_IS_DIR) &&
        access("/dev/shm", W_OK) == 0) {
        g_test_add("/block/file-status/extent/shm", Fixture, "/dev/shm",
                   fixture_setup, test_extent, fixture_teardown);
        g_test_add("/block/file-status/race/shm", Fixture, "/dev/shm",
                   fixture_setup, test_race, fixture_teardown);
    }
    return g_test_run();
}
