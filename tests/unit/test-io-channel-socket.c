/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Socket channel tests: address parsing, I/O and fd passing over
 * socketpairs, non-blocking behaviour, TCP and unix listeners with
 * accept through the main loop, async connect and systemd activation.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime/io/channel-socket.h"

/* Bound on every main-loop wait, so a broken test fails instead of hangs. */
#define TEST_TIMEOUT_MS 5000

/* The listening socket main() put on fd 3 for the systemd test, or -1. */
static int systemd_fd = -1;

static gboolean timeout_cb(gpointer opaque)
{
    *(bool *)opaque = true;
    return G_SOURCE_REMOVE;
}

/* Iterate the default context until *@flag is set; fail after a timeout. */
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

static void socketpair_channels(WdChannel **a, WdChannel **b)
{
    g_autoptr(GError) err = NULL;
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    *a = wd_channel_socket_new_fd(sv[0], &err);
    g_assert_no_error(err);
    *b = wd_channel_socket_new_fd(sv[1], &err);
    g_assert_no_error(err);
}

/* ---- addresses ---- */

typedef struct {
    const char *in;
    WdSocketAddressType type;
    const char *host;
    const char *port;
    const char *path;
    int fd;
    const char *str;            /* to_string() result */
    const char *error;          /* NULL: must parse */
} AddrCase;

static const AddrCase addr_cases[] = {
    { .in = "unix:/run/warden.sock", .type = WD_SOCKET_ADDRESS_UNIX,
      .path = "/run/warden.sock", .str = "unix:/run/warden.sock" },
    { .in = "tcp:localhost:10809", .type = WD_SOCKET_ADDRESS_INET,
      .host = "localhost", .port = "10809", .str = "localhost:10809" },
    { .in = "127.0.0.1:4711", .type = WD_SOCKET_ADDRESS_INET,
      .host = "127.0.0.1", .port = "4711", .str = "127.0.0.1:4711" },
    { .in = "[::1]:0", .type = WD_SOCKET_ADDRESS_INET,
      .host = "::1", .port = "0", .str = "[::1]:0" },
    { .in = "tcp:[fe80::1]:65535", .type = WD_SOCKET_ADDRESS_INET,
      .host = "fe80::1", .port = "65535", .str = "[fe80::1]:65535" },
    { .in = ":10809", .type = WD_SOCKET_ADDRESS_INET,
      .host = "", .port = "10809", .str = ":10809" },
    { .in = "fd:7", .type = WD_SOCKET_ADDRESS_FD, .fd = 7, .str = "fd:7" },
    /* Found by fuzz-nbd-uri: hosts named like a prefix keep "tcp:". */
    { .in = "tcp:tcp:5536", .type = WD_SOCKET_ADDRESS_INET,
      .host = "tcp", .port = "5536", .str = "tcp:tcp:5536" },
    { .in = "tcp:unix:80", .type = WD_SOCKET_ADDRESS_INET,
      .host = "unix", .port = "80", .str = "tcp:unix:80" },
    { .in = "tcp:fd:1", .type = WD_SOCKET_ADDRESS_INET,
      .host = "fd", .port = "1", .str = "tcp:fd:1" },
    { .in = "localhost",
      .error = "Invalid address 'localhost': expected 'host:port', "
               "'unix:path' or 'fd:N'" },
    { .in = "::1:80",
      .error = "Invalid address '::1:80': put IPv6 addresses in brackets, "
               "as in '[::1]:10809'" },
    { .in = "[::1]80",
      .error = "Invalid address '[::1]80': expected '[ipv6-address]:port'" },
    { .in = "[[1]:089",     /* found by fuzz-nbd-uri */
      .error = "Invalid address '[[1]:089': expected '[ipv6-address]:port'" },
    { .in = "host:65536",
      .error = "Invalid port '65536' in address 'host:65536': expected a "
               "number from 0 to 65535" },
    { .in = "host:-1",
      .error = "Invalid port '-1' in address 'host:-1': expected a number "
               "from 0 to 65535" },
    { .in = "host:",
      .error = "Invalid port '' in address 'host:': expected a number from "
               "0 to 65535" },
    { .in = "unix:", .error = "Invalid address 'unix:': empty unix socket "
                              "path" },
    { .in = "fd:x", .error = "Invalid address 'fd:x': expected 'fd:' and a "
                             "file descriptor number" },
};

static void test_address_parse(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(addr_cases); i++) {
        const AddrCase *c = &addr_cases[i];
        g_autoptr(GError) err = NULL;
        g_autoptr(WdSocketAddress) a = wd_socket_address_parse(c->in, &err);
        g_autofree char *str = NULL;

        if (c->error) {
            g_assert_null(a);
            g_assert_nonnull(err);
            g_assert_cmpstr(err->message, ==, c->error);
            continue;
        }
        g_assert_no_error(err);
        g_assert_cmpint(a->type, ==, c->type);
        g_assert_cmpstr(a->host, ==, c->host);
        g_assert_cmpstr(a->port, ==, c->port);
        g_assert_cmpstr(a->path, ==, c->path);
        if (c->type == WD_SOCKET_ADDRESS_FD) {
            g_assert_cmpint(a->fd, ==, c->fd);
        }
        str = wd_socket_address_to_string(a);
        g_assert_cmpstr(str, ==, c->str);
    }
}

static void test_address_unix_too_long(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *path = g_strnfill(108, 'x');
    g_autofree char *in = g_strdup_printf("unix:%s", path);
    g_autofree char *expect = g_strdup_printf(
        "Unix socket path '%s' is too long (at most 107 bytes)", path);

    g_assert_null(wd_socket_address_parse(in, &err));
    g_assert_cmpstr(err->message, ==, expect);
}

/* ---- I/O on socketpairs ---- */

static void test_read_write(void)
{
    g_autoptr(WdChannel) a = NULL;
    g_autoptr(WdChannel) b = NULL;
    g_autoptr(GError) err = NULL;
    char buf[64] = "";
    char p1[4], p2[8];
    struct iovec out[3] = {
        { .iov_base = "abc", .iov_len = 3 },
        { .iov_base = "", .iov_len = 0 },
        { .iov_base = "defghijkl", .iov_len = 9 },
    };
    struct iovec in[2] = {
        { .iov_base = p1, .iov_len = sizeof(p1) },
        { .iov_base = p2, .iov_len = sizeof(p2) },
    };

    socketpair_channels(&a, &b);
    g_assert_true(wd_channel_has_feature(a, WD_CHANNEL_FEATURE_FD_PASS));
    g_assert_true(wd_channel_has_feature(a, WD_CHANNEL_FEATURE_SHUTDOWN));
    g_assert_false(wd_channel_has_feature(a, WD_CHANNEL_FEATURE_LISTEN));
    g_assert_cmpstr(wd_channel_socket_peer_name(a), ==, "unix:(unnamed)");
    g_assert_cmpstr(a->name, ==, "unix:(unnamed)");
    g_assert_cmpint(wd_channel_get_fd(a), >=, 0);

    g_assert_cmpint(wd_channel_write(a, "hello", 5, &err), ==, 5);
    g_assert_cmpint(wd_channel_read(b, buf, sizeof(buf), &err), ==, 5);
    g_assert_no_error(err);
    g_assert_cmpmem(buf, 5, "hello", 5);

    g_assert_cmpint(wd_channel_writev(b, out, 3, &err), ==, 12);
    g_assert_cmpint(wd_channel_read_all(a, buf, 1, &err), ==, 1);
    g_assert_cmpint(buf[0], ==, 'a');
    g_assert_cmpint(wd_channel_readv(a, in, 2, &err), ==, 11);
    g_assert_no_error(err);
    g_assert_cmpmem(p1, 4, "bcde", 4);
    g_assert_cmpmem(p2, 7, "fghijkl", 7);

    /* write_all/read_all and clean EOF after a shutdown. */
    g_assert_true(wd_channel_write_all(a, "0123456789", 10, &err));
    g_assert_true(wd_channel_shutdown(a, WD_CHANNEL_SHUTDOWN_WRITE, &err));
    g_assert_cmpint(wd_channel_read_all(b, buf, 10, &err), ==, 1);
    g_assert_cmpmem(buf, 10, "0123456789", 10);
    g_assert_cmpint(wd_channel_read_all(b, buf, 10, &err), ==, 0);
    g_assert_no_error(err);
}

static void test_eof_mid_buffer(void)
{
    g_autoptr(WdChannel) a = NULL;
    g_autoptr(WdChannel) b = NULL;
    g_autoptr(GError) err = NULL;
    char buf[8];

    socketpair_channels(&a, &b);
    wd_channel_set_name(b, "peer-b");
    g_assert_cmpint(wd_channel_write(a, "abc", 3, &err), ==, 3);
    g_assert_true(wd_channel_close(a, &err));
    g_assert_cmpint(wd_channel_read_all(b, buf, 8, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "Unexpected end of stream on channel "
                    "'peer-b' after 3 of 8 bytes");
    g_clear_error(&err);

    /* Operations on a closed channel fail cleanly. */
    g_assert_cmpint(wd_channel_write(a, "x", 1, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "Channel 'unix:(unnamed)' is closed");
}

static void test_fd_passing(void)
{
    g_autoptr(WdChannel) a = NULL;
    g_autoptr(WdChannel) b = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree int *fds = NULL;
    size_t nfds = 99;
    int pipefd[2], sent[2];
    char c = 'x', buf[8];
    struct iovec iov = { .iov_base = &c, .iov_len = 1 };

    socketpair_channels(&a, &b);
    g_assert_cmpint(pipe(pipefd), ==, 0);
    sent[0] = pipefd[1];
    sent[1] = pipefd[1];
    g_assert_cmpint(wd_channel_writev_fds(a, &iov, 1, sent, 2, &err), ==, 1);
    g_assert_no_error(err);

    g_assert_cmpint(wd_channel_readv_fds(b, &iov, 1, &fds, &nfds, &err),
                    ==, 1);
    g_assert_no_error(err);
    g_assert_cmpuint(nfds, ==, 2);
    g_assert_cmpint(fds[0], !=, pipefd[1]);
    g_assert_cmpint(fds[1], !=, fds[0]);
    close(pipefd[1]);
    g_assert_cmpint(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);

    /* The received descriptors reach the same pipe. */
    g_assert_cmpint(write(fds[0], "ok", 2), ==, 2);
    g_assert_cmpint(write(fds[1], "!", 1), ==, 1);
    g_assert_cmpint(read(pipefd[0], buf, sizeof(buf)), ==, 3);
    g_assert_cmpmem(buf, 3, "ok!", 3);
    close(fds[0]);
    close(fds[1]);

    /* A reader that does not ask for fds gets the data; the kernel drops
     * the descriptors (they must not leak into our process). */
    sent[0] = pipefd[0];
    g_assert_cmpint(wd_channel_writev_fds(a, &iov, 1, sent, 1, &err), ==, 1);
    g_assert_cmpint(wd_channel_read(b, buf, 1, &err), ==, 1);
    g_assert_no_error(err);

    /* Too many descriptors in one message. */
    int many[WD_CHANNEL_SOCKET_MAX_FDS + 1];
    for (size_t i = 0; i < G_N_ELEMENTS(many); i++) {
        many[i] = pipefd[0];
    }
    g_assert_cmpint(wd_channel_writev_fds(a, &iov, 1, many,
                                          G_N_ELEMENTS(many), &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "Cannot send 17 file descriptors at "
                    "once to 'unix:(unnamed)' (at most 16)");
    close(pipefd[0]);
}

static void test_nonblocking(void)
{
    g_autoptr(WdChannel) a = NULL;
    g_autoptr(WdChannel) b = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *big = g_malloc0(65536);
    char buf[16];
    size_t total = 0;
    ssize_t n;

    socketpair_channels(&a, &b);
    g_assert_true(wd_channel_set_blocking(a, false, &err));
    g_assert_cmpint(fcntl(wd_channel_get_fd(a), F_GETFL) & O_NONBLOCK, ==,
                    O_NONBLOCK);
    g_assert_cmpint(wd_channel_read(a, buf, sizeof(buf), &err), ==,
                    WD_CHANNEL_ERR_BLOCK);
    g_assert_no_error(err);

    /* Fill the socket buffer until the kernel refuses more. */
    while ((n = wd_channel_write(a, big, 65536, &err)) > 0) {
        total += n;
    }
    g_assert_cmpint(n, ==, WD_CHANNEL_ERR_BLOCK);
    g_assert_no_error(err);
    g_assert_cmpuint(total, >, 0);

    g_assert_true(wd_channel_set_blocking(a, true, &err));
    g_assert_cmpint(fcntl(wd_channel_get_fd(a), F_GETFL) & O_NONBLOCK, ==, 0);
}

static gpointer drain_thread(gpointer opaque)
{
    WdChannel *ch = opaque;
    char buf[4096];
    size_t total = 0;
    ssize_t n;

    while ((n = wd_channel_read(ch, buf, sizeof(buf), NULL)) > 0) {
        total += n;
    }
    return GSIZE_TO_POINTER(total);
}

/* write_all on a non-blocking channel waits (poll) instead of failing. */
static void test_write_all_nonblocking(void)
{
    g_autoptr(WdChannel) a = NULL;
    g_autoptr(WdChannel) b = NULL;
    g_autoptr(GError) err = NULL;
    size_t len = 4 * 1024 * 1024;
    g_autofree char *big = g_malloc0(len);
    GThread *t;

    socketpair_channels(&a, &b);
    g_assert_true(wd_channel_set_blocking(a, false, &err));
    t = g_thread_new("drain", drain_thread, b);
    g_assert_true(wd_channel_write_all(a, big, len, &err));
    g_assert_no_error(err);
    g_assert_true(wd_channel_shutdown(a, WD_CHANNEL_SHUTDOWN_WRITE, &err));
    g_assert_cmpuint(GPOINTER_TO_SIZE(g_thread_join(t)), ==, len);
}

static void test_epipe(void)
{
    g_autoptr(WdChannel) a = NULL;
    g_autoptr(WdChannel) b = NULL;
    g_autoptr(GError) err = NULL;

    socketpair_channels(&a, &b);
    g_assert_true(wd_channel_close(b, NULL));
    /* Without MSG_NOSIGNAL this would kill the test with SIGPIPE. */
    g_assert_cmpint(wd_channel_write(a, "x", 1, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "Unable to write to socket "
                    "'unix:(unnamed)': Broken pipe");
}

static void test_not_a_socket(void)
{
    g_autoptr(GError) err = NULL;
    int pipefd[2];

    g_assert_cmpint(pipe(pipefd), ==, 0);
    g_assert_null(wd_channel_socket_new_fd(pipefd[0], &err));
    g_assert_true(g_str_has_prefix(err->message, "File descriptor "));
    g_assert_true(g_str_has_suffix(err->message, " is not usable as a "
                                   "socket: Socket operation on non-socket"));
    /* Ownership did not pass: still ours to close. */
    g_assert_cmpint(close(pipefd[0]), ==, 0);
    close(pipefd[1]);
}

/* ---- listeners ---- */

typedef struct {
    bool done;
    WdChannel *client;
    GThread *thread;
} AcceptState;

static void on_accept(WdChannel *client, gpointer opaque)
{
    AcceptState *s = opaque;

    s->client = wd_channel_ref(client);
    s->thread = g_thread_self();
    s->done = true;
}

static void test_listener_inet(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdSocketAddress) addr = wd_socket_address_new_inet("127.0.0.1",
                                                                 "0");
    g_autoptr(WdSocketListener) l = NULL;
    g_autoptr(WdSocketAddress) bound = NULL;
    g_autoptr(WdChannel) conn = NULL;
    g_autofree char *expect_peer = NULL;
    AcceptState st = { 0 };
    char buf[8];
    int one = 0;
    socklen_t optlen = sizeof(one);

    l = wd_socket_listener_new(addr, 1, 0, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(wd_socket_listener_get_n_fds(l), ==, 1);
    bound = wd_socket_listener_get_bound_address(l, 0, &err);
    g_assert_no_error(err);
    g_assert_cmpint(bound->type, ==, WD_SOCKET_ADDRESS_INET);
    g_assert_cmpstr(bound->host, ==, "127.0.0.1");
    g_assert_cmpstr(bound->port, !=, "0");
    g_assert_null(wd_socket_listener_get_bound_address(l, 1, &err));
    g_assert_cmpstr(err->message, ==, "Listener has no socket 1 (it has 1)");
    g_clear_error(&err);

    wd_socket_listener_set_accept(l, on_accept, &st, NULL);
    conn = wd_channel_socket_connect_sync(bound, &err);
    g_assert_no_error(err);
    run_until(&st.done);
    g_assert_nonnull(st.client);

    /* Names for logs, both ways round. */
    g_assert_cmpstr(wd_channel_socket_peer_name(conn), ==,
                    wd_channel_socket_local_name(st.client));
    g_assert_cmpstr(wd_channel_socket_peer_name(st.client), ==,
                    wd_channel_socket_local_name(conn));
    expect_peer = g_strdup_printf("127.0.0.1:%s", bound->port);
    g_assert_cmpstr(wd_channel_socket_peer_name(conn), ==, expect_peer);
    g_assert_false(wd_channel_has_feature(conn, WD_CHANNEL_FEATURE_FD_PASS));

    /* Accepted clients: non-blocking, TCP_NODELAY. */
    g_assert_cmpint(fcntl(wd_channel_get_fd(st.client), F_GETFL) &
                    O_NONBLOCK, ==, O_NONBLOCK);
    g_assert_cmpint(getsockopt(wd_channel_get_fd(st.client), IPPROTO_TCP,
                               TCP_NODELAY, &one, &optlen), ==, 0);
    g_assert_cmpint(one, !=, 0);

    g_assert_true(wd_channel_write_all(conn, "ping", 4, &err));
    g_assert_cmpint(wd_channel_read_all(st.client, buf, 4, &err), ==, 1);
    g_assert_cmpmem(buf, 4, "ping", 4);
    wd_channel_unref(st.client);
}

static void test_listener_port0_all_addresses(void)
{
    /* "localhost" may be 127.0.0.1 and ::1; "" (any) is 0.0.0.0 and ::
     * where IPv6 is up. Every address must listen on the same port. */
    static const char *const hosts[] = { "localhost", "" };

    for (size_t h = 0; h < G_N_ELEMENTS(hosts); h++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(WdSocketAddress) addr =
            wd_socket_address_new_inet(hosts[h], "0");
        g_autoptr(WdSocketListener) l =
            wd_socket_listener_new(addr, 1, 5, &err);
        g_autoptr(WdSocketAddress) first = NULL;

        g_assert_no_error(err);
        g_assert_cmpuint(wd_socket_listener_get_n_fds(l), >=, 1);
        first = wd_socket_listener_get_bound_address(l, 0, &err);
        g_assert_cmpstr(first->port, !=, "0");
        for (size_t i = 1; i < wd_socket_listener_get_n_fds(l); i++) {
            g_autoptr(WdSocketAddress) other =
                wd_socket_listener_get_bound_address(l, i, &err);

            g_assert_no_error(err);
            g_assert_cmpstr(other->port, ==, first->port);
            g_assert_cmpstr(other->host, !=, first->host);
        }
    }
}

static void test_listener_in_use(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdSocketAddress) addr = wd_socket_address_new_inet("127.0.0.1",
                                                                 "0");
    g_autoptr(WdSocketListener) l1 = wd_socket_listener_new(addr, 1, 0, &err);
    g_autoptr(WdSocketAddress) bound =
        wd_socket_listener_get_bound_address(l1, 0, &err);
    g_autofree char *expect = g_strdup_printf(
        "Cannot listen on '127.0.0.1:%s': Address already in use",
        bound->port);

    g_assert_null(wd_socket_listener_new(bound, 1, 0, &err));
    g_assert_cmpstr(err->message, ==, expect);
}

typedef struct {
    bool done;
    WdChannel *ch;
    char *error;
    GThread *thread;
} ConnectState;

static void on_connect(WdChannel *ch, GError *err, gpointer opaque)
{
    ConnectState *s = opaque;

    s->ch = ch ? wd_channel_ref(ch) : NULL;
    s->error = err ? g_strdup(err->message) : NULL;
    s->thread = g_thread_self();
    s->done = true;
}

static void test_connect_async(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdSocketAddress) addr = wd_socket_address_new_inet("127.0.0.1",
                                                                 "0");
    g_autoptr(WdSocketListener) l = wd_socket_listener_new(addr, 1, 0, &err);
    g_autoptr(WdSocketAddress) bound =
        wd_socket_listener_get_bound_address(l, 0, &err);
    AcceptState acc = { 0 };
    ConnectState con = { 0 };
    ConnectState refused = { 0 };
    g_autofree char *expect = NULL;

    wd_socket_listener_set_accept(l, on_accept, &acc, NULL);
    wd_channel_socket_connect_async(bound, on_connect, &con, NULL);
    run_until(&con.done);
    run_until(&acc.done);
    g_assert_null(con.error);
    g_assert_nonnull(con.ch);
    /* Reported in the caller's context, i.e. on this thread. */
    g_assert_true(con.thread == g_thread_self());
    g_assert_true(acc.thread == g_thread_self());
    g_assert_cmpstr(wd_channel_socket_local_name(con.ch), ==,
                    wd_channel_socket_peer_name(acc.client));
    wd_channel_unref(con.ch);
    wd_channel_unref(acc.client);

    /* Nobody listens any more: the error arrives the same way. */
    wd_socket_listener_free(g_steal_pointer(&l));
    wd_channel_socket_connect_async(bound, on_connect, &refused, NULL);
    run_until(&refused.done);
    g_assert_null(refused.ch);
    expect = g_strdup_printf("Failed to connect to '127.0.0.1:%s': "
                             "Connection refused", bound->port);
    g_assert_cmpstr(refused.error, ==, expect);
    g_free(refused.error);
}

static void test_listener_unix(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("wd-sock-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "s.sock", NULL);
    g_autofree char *expect = NULL;
    g_autoptr(WdSocketAddress) addr = wd_socket_address_new_unix(path);
    g_autoptr(WdSocketAddress) bound = NULL;
    g_autofree char *local = g_strdup_printf("unix:%s", path);
    WdSocketListener *l;
    WdChannel *conn;
    AcceptState st = { 0 };
    struct stat sb;
    mode_t old_umask = umask(0);  /* would make the file 0777 */

    l = wd_socket_listener_new(addr, 1, 0, &err);
    umask(old_umask);
    g_assert_no_error(err);
    g_assert_cmpint(stat(path, &sb), ==, 0);
    g_assert_true(S_ISSOCK(sb.st_mode));
    g_assert_cmpint(sb.st_mode & 0777, ==, 0600);
    bound = wd_socket_listener_get_bound_address(l, 0, &err);
    g_assert_cmpstr(bound->path, ==, path);

    /* A second listener must not steal a live server's socket. */
    expect = g_strdup_printf("Cannot listen on 'unix:%s': another server is "
                             "accepting connections on it", path);
    g_assert_null(wd_socket_listener_new(addr, 1, 0, &err));
    g_assert_cmpstr(err->message, ==, expect);
    g_clear_error(&err);

    wd_socket_listener_set_accept(l, on_accept, &st, NULL);
    conn = wd_channel_socket_connect_sync(addr, &err);
    g_assert_no_error(err);
    run_until(&st.done);
    g_assert_true(wd_channel_has_feature(st.client, WD_CHANNEL_FEATURE_FD_PASS));
    g_assert_cmpstr(wd_channel_socket_local_name(st.client), ==, local);
    wd_channel_unref(st.client);
    wd_channel_unref(conn);

    wd_socket_listener_free(l);
    g_assert_cmpint(access(path, F_OK), ==, -1);
    g_assert_cmpint(errno, ==, ENOENT);
    g_rmdir(dir);
}

static void test_listener_unix_stale(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("wd-sock-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "s.sock", NULL);
    g_autofree char *expect = NULL;
    g_autoptr(WdSocketAddress) addr = wd_socket_address_new_unix(path);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    WdSocketListener *l;
    int fd;

    /* The socket file of a dead server: bound, nobody listening. */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    strcpy(sun.sun_path, path);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    close(fd);
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    /* ... is replaced. */
    l = wd_socket_listener_new(addr, 1, 0, &err);
    g_assert_no_error(err);
    wd_socket_listener_free(l);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));

    /* A regular file is never removed. */
    g_assert_true(g_file_set_contents(path, "data", -1, NULL));
    expect = g_strdup_printf("Cannot listen on 'unix:%s': the file exists "
                             "and is not a socket", path);
    g_assert_null(wd_socket_listener_new(addr, 1, 0, &err));
    g_assert_cmpstr(err->message, ==, expect);
    g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
    g_unlink(path);
    g_rmdir(dir);
}

static void test_listener_from_fds(void)
{
    g_autoptr(GError) err = NULL;
    int sv[2];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    g_autofree char *expect = g_strdup_printf(
        "File descriptor %d is not a listening socket", fd);
    WdSocketListener *l;

    /* Not listening: refused, and the fd stays the caller's. */
    g_assert_null(wd_socket_listener_new_from_fds(&fd, 1, &err));
    g_assert_cmpstr(err->message, ==, expect);
    g_clear_error(&err);
    g_assert_cmpint(listen(fd, 1), ==, 0);
    l = wd_socket_listener_new_from_fds(&fd, 1, &err);
    g_assert_no_error(err);
    g_assert_cmpint(wd_socket_listener_get_fd(l, 0), ==, fd);
    g_assert_cmpint(fcntl(fd, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
    wd_socket_listener_free(l);
    g_assert_cmpint(fcntl(fd, F_GETFD), ==, -1);   /* closed with it */

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    g_assert_null(wd_socket_listener_new_from_fds(sv, 2, &err));
    close(sv[0]);
    close(sv[1]);
}

static void test_systemd(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdSocketListener) l = NULL;
    g_autoptr(WdSocketAddress) bound = NULL;
    g_autoptr(WdChannel) conn = NULL;
    g_autofree char *pid = g_strdup_printf("%d", (int)getpid());
    g_autofree char *other = g_strdup_printf("%d", (int)getpid() + 1);
    g_autofree char *expect = NULL;
    AcceptState st = { 0 };

    if (systemd_fd != 3) {
        g_test_skip("fd 3 was not free at startup");
        return;
    }
    g_assert_null(wd_socket_listener_from_systemd(&err));
    g_assert_cmpstr(err->message, ==, "Not started by systemd socket "
                    "activation (LISTEN_PID or LISTEN_FDS is not set)");
    g_clear_error(&err);

    /* Descriptors meant for another process are left alone. */
    setenv("LISTEN_PID", other, 1);
    setenv("LISTEN_FDS", "1", 1);
    g_assert_null(wd_socket_listener_from_systemd(&err));
    expect = g_strdup_printf("LISTEN_PID=%s is not this process (%s): the "
                             "sockets were passed to another process", other,
                             pid);
    g_assert_cmpstr(err->message, ==, expect);
    g_clear_error(&err);
    g_assert_null(g_getenv("LISTEN_PID"));
    g_assert_null(g_getenv("LISTEN_FDS"));

    setenv("LISTEN_PID", pid, 1);
    setenv("LISTEN_FDS", "1", 1);
    setenv("LISTEN_FDNAMES", "nbd", 1);
    l = wd_socket_listener_from_systemd(&err);
    g_assert_no_error(err);
    g_assert_null(g_getenv("LISTEN_PID"));
    g_assert_null(g_getenv("LISTEN_FDS"));
    g_assert_null(g_getenv("LISTEN_FDNAMES"));
    g_assert_cmpuint(wd_socket_listener_get_n_fds(l), ==, 1);
    g_assert_cmpint(wd_socket_listener_get_fd(l, 0), ==, 3);

    bound = wd_socket_listener_get_bound_address(l, 0, &err);
    g_assert_no_error(err);
    wd_socket_listener_set_accept(l, on_accept, &st, NULL);
    conn = wd_channel_socket_connect_sync(bound, &err);
    g_assert_no_error(err);
    run_until(&st.done);
    wd_channel_unref(st.client);
}

/* Put a listening TCP socket on fd 3 the way systemd would, before GLib
 * opens anything. */
static void prepare_systemd_fd(void)
{
    struct sockaddr_in sin = {
        .sin_family = AF_INET,
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    int fd;

    if (fcntl(3, F_GETFD) != -1) {
        return;                 /* inherited: cannot use it */
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        listen(fd, 5) < 0) {
        return;
    }
    if (fd != 3) {
        dup2(fd, 3);
        close(fd);
    }
    systemd_fd = 3;
}

int main(int argc, char **argv)
{
    prepare_systemd_fd();
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/socket/address/parse", test_address_parse);
    g_test_add_func("/io/socket/address/unix-too-long",
                    test_address_unix_too_long);
    g_test_add_func("/io/socket/read-write", test_read_write);
    g_test_add_func("/io/socket/eof-mid-buffer", test_eof_mid_buffer);
    g_test_add_func("/io/socket/fd-passing", test_fd_passing);
    g_test_add_func("/io/socket/nonblocking", test_nonblocking);
    g_test_add_func("/io/socket/write-all-nonblocking",
                    test_write_all_nonblocking);
    g_test_add_func("/io/socket/epipe", test_epipe);
    g_test_add_func("/io/socket/not-a-socket", test_not_a_socket);
    g_test_add_func("/io/socket/listener/inet", test_listener_inet);
    g_test_add_func("/io/socket/listener/port0-all-addresses",
                    test_listener_port0_all_addresses);
    g_test_add_func("/io/socket/listener/in-use", test_listener_in_use);
    g_test_add_func("/io/socket/listener/unix", test_listener_unix);
    g_test_add_func("/io/socket/listener/unix-stale",
                    test_listener_unix_stale);
    g_test_add_func("/io/socket/listener/from-fds", test_listener_from_fds);
    g_test_add_func("/io/socket/listener/systemd", test_systemd);
    g_test_add_func("/io/socket/connect-async", test_connect_async);
    return g_test_run();
}
