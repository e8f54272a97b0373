/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A scratch directory for fuzz targets that need files, removed with
 * everything in it when the process exits (it may hold test keys).
 */
#ifndef WARDEN_FUZZ_SCRATCH_H
#define WARDEN_FUZZ_SCRATCH_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

static char *fuzz_scratch_dir;

static int fuzz_scratch_rm(const char *path, const struct stat *st,
                           int flag, struct FTW *ftw)
{
    remove(path);       /* best effort */
    return 0;
}

static void fuzz_scratch_cleanup(void)
{
    nftw(fuzz_scratch_dir, fuzz_scratch_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates the directory (once) and returns its path: under $TMPDIR if
 * set, else on /dev/shm where there is one. A disk file system costs
 * the x509 target most of its time: ext4 writes back a file truncated
 * and closed (auto_da_alloc), once per input. */
static inline const char *fuzz_scratch_new(const char *tmpl)
{
    g_autoptr(GError) err = NULL;

    if (!getenv("TMPDIR") && g_file_test("/dev/shm", G_FILE_TEST_IS_DIR)) {
        fuzz_scratch_dir = g_build_filename("/dev/shm", tmpl, NULL);
        if (!g_mkdtemp(fuzz_scratch_dir)) {
            g_clear_pointer(&fuzz_scratch_dir, g_free);
        }
    }
    if (!fuzz_scratch_dir) {
        fuzz_scratch_dir = g_dir_make_tmp(tmpl, &err);
    }
    if (!fuzz_scratch_dir) {
        fprintf(stderr, "cannot make a scratch directory: %s\n",
                err->message);
        abort();
    }
    atexit(fuzz_scratch_cleanup);
    return fuzz_scratch_dir;
}

#endif
