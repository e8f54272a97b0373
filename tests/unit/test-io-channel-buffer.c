/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * In-memory channel pair tests: both directions, EOF and broken-pipe
 * semantics, non-blocking reads, watches in the main loop and across
 * threads, and the *_all helpers waiting on an fd-less channel.
 */
#include <string.h>

#include "runtime/io/channel-buffer.h"

#define TEST_TIMEOUT_MS 5000

static gboolean timeout_cb(gpointer opaque)
{
    *(bool *)opaque = true;
    return G_SOURCE_REMOVE;
}

static void run_until(bool *flag)
{
    bool timed_out = false;
    guint id = g_timeout_add(TEST_TIMEOUT_MS, timeout_cb, &timed_out);

    while (!*flag && !timed_out) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_false(timed_out);
    g_source_remove(id);
}

static void test_pair_rw(void)
{
    WdChannel *a, *b;
    g_autoptr(GError) err = NULL;
    char p1[3], p2[10];
    struct iovec out[2] = {
        { .iov_base = "hello ", .iov_len = 6 },
        { .iov_base = "world", .iov_len = 5 },
    };
    struct iovec in[2] = {
        { .iov_base = p1, .iov_len = sizeof(p1) },
        { .iov_base = p2, .iov_len = sizeof(p2) },
    };

    wd_channel_buffer_pair_new(&a, &b);
    g_assert_cmpstr(a->name, ==, "buffer-a");
    g_assert_cmpstr(b->name, ==, "buffer-b");
    g_assert_cmpint(wd_channel_get_fd(a), ==, -1);
    g_assert_false(wd_channel_has_feature(a, WD_CHANNEL_FEATURE_FD_PASS));

    g_assert_cmpint(wd_channel_writev(a, out, 2, &err), ==, 11);
    g_assert_cmpuint(wd_channel_buffer_queued(b), ==, 11);
    g_assert_cmpuint(wd_channel_pending(b), ==, 11);
    g_assert_cmpuint(wd_channel_buffer_queued(a), ==, 0);
    g_assert_cmpint(wd_channel_readv(b, in, 2, &err), ==, 11);
    g_assert_cmpmem(p1, 3, "hel", 3);
    g_assert_cmpmem(p2, 8, "lo world", 8);

    /* Partial reads leave the rest queued, in order. */
    g_assert_cmpint(wd_channel_write(b, "abcdef", 6, &err), ==, 6);
    g_assert_cmpint(wd_channel_read(a, p1, 2, &err), ==, 2);
    g_assert_cmpmem(p1, 2, "ab", 2);
    g_assert_cmpint(wd_channel_read_all(a, p2, 4, &err), ==, 1);
    g_assert_cmpmem(p2, 4, "cdef", 4);
    g_assert_no_error(err);

    wd_channel_unref(a);
    wd_channel_unref(b);
}

static void test_pair_nonblocking_eof(void)
{
    WdChannel *a, *b;
    g_autoptr(GError) err = NULL;
    char buf[8];

    wd_channel_buffer_pair_new(&a, &b);
    g_assert_true(wd_channel_set_blocking(b, false, &err));
    g_assert_cmpint(wd_channel_read(b, buf, sizeof(buf), &err), ==,
                    WD_CHANNEL_ERR_BLOCK);
    g_assert_no_error(err);

    /* Queued data is still delivered after the writer shut down. */
    g_assert_cmpint(wd_channel_write(a, "xyz", 3, &err), ==, 3);
    g_assert_true(wd_channel_shutdown(a, WD_CHANNEL_SHUTDOWN_WRITE, &err));
    g_assert_cmpint(wd_channel_write(a, "x", 1, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "Unable to write to 'buffer-a': shut "
                    "down for writing: Broken pipe");
    g_clear_error(&err);
    g_assert_cmpint(wd_channel_read(b, buf, sizeof(buf), &err), ==, 3);
    g_assert_cmpint(wd_channel_read(b, buf, sizeof(buf), &err), ==, 0);
    g_assert_cmpint(wd_channel_read_all(b, buf, 1, &err), ==, 0);

    /* The other direction still works until b closes. */
    g_assert_cmpint(wd_channel_write(b, "ok", 2, &err), ==, 2);
    g_assert_cmpint(wd_channel_read(a, buf, sizeof(buf), &err), ==, 2);
    g_assert_true(wd_channel_close(a, &err));
    g_assert_cmpint(wd_channel_write(b, "x", 1, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "Unable to write to 'buffer-b': "
                    "Broken pipe");
    g_clear_error(&err);

    /* Freeing one end is an EOF for the other. */
    wd_channel_unref(a);
    g_assert_cmpint(wd_channel_read(b, buf, sizeof(buf), &err), ==, 0);
    g_assert_no_error(err);
    wd_channel_unref(b);
}

typedef struct {
    int calls;
    GIOCondition cond;
    bool fired;
} WatchState;

static gboolean on_watch(WdChannel *ch, GIOCondition cond, gpointer opaque)
{
    WatchState *s = opaque;

    s->calls++;
    s->cond = cond;
    s->fired = true;
    return G_SOURCE_REMOVE;
}

static void test_pair_watch(void)
{
    WdChannel *a, *b;
    g_autoptr(GError) err = NULL;
    WatchState in = { 0 }, out = { 0 };
    char buf[8];

    wd_channel_buffer_pair_new(&a, &b);
    wd_channel_add_watch(b, G_IO_IN, on_watch, &in, NULL, NULL);
    /* Nothing to read: the watch must stay quiet. */
    while (g_main_context_iteration(NULL, FALSE)) {
    }
    g_assert_cmpint(in.calls, ==, 0);

    g_assert_cmpint(wd_channel_write(a, "z", 1, &err), ==, 1);
    run_until(&in.fired);
    g_assert_cmpint(in.calls, ==, 1);
    g_assert_cmpint(in.cond & G_IO_IN, ==, G_IO_IN);
    g_assert_cmpint(wd_channel_read(b, buf, 1, &err), ==, 1);

    /* Writing is always possible. */
    wd_channel_add_watch(b, G_IO_OUT, on_watch, &out, NULL, NULL);
    run_until(&out.fired);
    g_assert_cmpint(out.cond & G_IO_OUT, ==, G_IO_OUT);

    /* EOF wakes a reader too. */
    in = (WatchState){ 0 };
    wd_channel_add_watch(b, G_IO_IN, on_watch, &in, NULL, NULL);
    wd_channel_unref(a);
    run_until(&in.fired);
    g_assert_cmpint(wd_channel_read(b, buf, 1, &err), ==, 0);
    wd_channel_unref(b);
}

static gpointer delayed_writer(gpointer opaque)
{
    WdChannel *ch = opaque;

    for (int i = 0; i < 4; i++) {
        g_usleep(10 * 1000);
        g_assert_cmpint(wd_channel_write(ch, "data", 4, NULL), ==, 4);
    }
    wd_channel_shutdown(ch, WD_CHANNEL_SHUTDOWN_WRITE, NULL);
    return NULL;
}

/* A blocking read waits for the peer thread. */
static void test_pair_threads_blocking(void)
{
    WdChannel *a, *b;
    g_autoptr(GError) err = NULL;
    char buf[16];
    GThread *t;

    wd_channel_buffer_pair_new(&a, &b);
    t = g_thread_new("writer", delayed_writer, a);
    g_assert_cmpint(wd_channel_read_all(b, buf, 16, &err), ==, 1);
    g_assert_cmpmem(buf, 16, "datadatadatadata", 16);
    g_assert_cmpint(wd_channel_read(b, buf, 1, &err), ==, 0);
    g_thread_join(t);
    wd_channel_unref(a);
    wd_channel_unref(b);
}

/* read_all on a non-blocking fd-less channel waits through the
 * channel's own watch, woken from another thread. */
static void test_pair_threads_nonblocking(void)
{
    WdChannel *a, *b;
    g_autoptr(GError) err = NULL;
    char buf[16];
    GThread *t;

    wd_channel_buffer_pair_new(&a, &b);
    g_assert_true(wd_channel_set_blocking(b, false, &err));
    t = g_thread_new("writer", delayed_writer, a);
    g_assert_cmpint(wd_channel_read_all(b, buf, 16, &err), ==, 1);
    g_assert_no_error(err);
    g_assert_cmpmem(buf, 16, "datadatadatadata", 16);
    g_thread_join(t);
    wd_channel_unref(a);
    wd_channel_unref(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/buffer/read-write", test_pair_rw);
    g_test_add_func("/io/buffer/nonblocking-eof", test_pair_nonblocking_eof);
    g_test_add_func("/io/buffer/watch", test_pair_watch);
    g_test_add_func("/io/buffer/threads-blocking",
                    test_pair_threads_blocking);
    g_test_add_func("/io/buffer/threads-nonblocking",
                    test_pair_threads_nonblocking);
    return g_test_run();
}
