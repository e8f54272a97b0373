/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fd channel tests: pipes (data, EOF, non-blocking, watches) and regular
 * files opened by path.
 */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "runtime/io/channel-file.h"

static gboolean on_readable(WdChannel *ch, GIOCondition cond, gpointer opaque)
{
    *(GIOCondition *)opaque = cond;
    return G_SOURCE_REMOVE;
}

static void test_pipe(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdChannel) rd = NULL;
    g_autoptr(WdChannel) wr = NULL;
    g_autofree char *expect = NULL;
    GIOCondition got = 0;
    char buf[16];
    int p[2];

    g_assert_cmpint(pipe(p), ==, 0);
    rd = wd_channel_file_new_fd(p[0]);
    wr = wd_channel_file_new_fd(p[1]);
    g_assert_cmpint(wd_channel_get_fd(rd), ==, p[0]);
    g_assert_true(g_str_has_prefix(rd->name, "fd:"));

    g_assert_true(wd_channel_set_blocking(rd, false, &err));
    g_assert_cmpint(wd_channel_read(rd, buf, sizeof(buf), &err), ==,
                    WD_CHANNEL_ERR_BLOCK);
    g_assert_no_error(err);

    wd_channel_add_watch(rd, G_IO_IN, on_readable, &got, NULL, NULL);
    g_assert_true(wd_channel_write_all(wr, "pipe!", 5, &err));
    while (!got) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_cmpint(got & G_IO_IN, ==, G_IO_IN);
    g_assert_cmpint(wd_channel_read_all(rd, buf, 5, &err), ==, 1);
    g_assert_cmpmem(buf, 5, "pipe!", 5);

    /* Writer gone: EOF (and a HUP-only poll result still dispatches). */
    g_assert_true(wd_channel_close(wr, &err));
    got = 0;
    wd_channel_add_watch(rd, G_IO_IN, on_readable, &got, NULL, NULL);
    while (!got) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_cmpint(got & G_IO_HUP, ==, G_IO_HUP);
    g_assert_cmpint(wd_channel_read(rd, buf, sizeof(buf), &err), ==, 0);
    g_assert_false(wd_channel_shutdown(rd, WD_CHANNEL_SHUTDOWN_BOTH, &err));
    expect = g_strdup_printf("Channel 'fd:%d' (file) does not support "
                             "shutdown", p[0]);
    g_assert_cmpstr(err->message, ==, expect);
}

static void test_path(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("wd-file-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "f", NULL);
    g_autofree char *missing = g_build_filename(dir, "missing", NULL);
    g_autofree char *expect = g_strdup_printf(
        "Cannot open '%s': No such file or directory", missing);
    g_autofree char *expect_ebadf = g_strdup_printf(
        "Unable to write to '%s': Bad file descriptor", path);
    WdChannel *ch;
    char buf[8];

    ch = wd_channel_file_new_path(path, O_RDWR | O_CREAT, 0600, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(ch->name, ==, path);
    g_assert_cmpint(fcntl(wd_channel_get_fd(ch), F_GETFD) & FD_CLOEXEC, ==,
                    FD_CLOEXEC);
    g_assert_true(wd_channel_write_all(ch, "content", 7, &err));
    wd_channel_unref(ch);

    ch = wd_channel_file_new_path(path, O_RDONLY, 0, &err);
    g_assert_cmpint(wd_channel_read_all(ch, buf, 7, &err), ==, 1);
    g_assert_cmpmem(buf, 7, "content", 7);
    g_assert_cmpint(wd_channel_read_all(ch, buf, 1, &err), ==, 0);
    g_assert_cmpint(wd_channel_write(ch, "x", 1, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, expect_ebadf);
    g_clear_error(&err);
    wd_channel_unref(ch);

    g_assert_null(wd_channel_file_new_path(missing, O_RDONLY, 0, &err));
    g_assert_cmpstr(err->message, ==, expect);
    g_unlink(path);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/file/pipe", test_pipe);
    g_test_add_func("/io/file/path", test_path);
    return g_test_run();
}
