/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of the NBD server engine's transmission phase and lifecycle over
 * raw NBD: simple and structured replies, errors, read-only exports,
 * back-pressure with pipelined requests, max-connections, the handshake
 * timer, export removal, the unix listener and freeing a busy server.
 */
#include "nbd-test-client.h"

/* ---- tests: transmission ------------------------------------------------ */

static void test_io_simple(void)
{
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s);
    g_autofree uint8_t *data = g_malloc(100000);
    g_autofree uint8_t *back = g_malloc(100000);
    uint64_t cookie;

    for (int i = 0; i < 100000; i++) {
        data[i] = i * 13 + 1;
    }
    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    g_assert_cmphex(cli_go(c, "disk", false), ==, DISK_FLAGS);
    cli_check(c, NBD_CMD_WRITE, 0, 1000, 100000, data, 0);
    cli_cmd(c, NBD_CMD_READ, 0, 0x1122334455667788, 1000, 100000, NULL);
    g_assert_cmpuint(cli_simple(c, &cookie), ==, 0);
    g_assert_cmphex(cookie, ==, 0x1122334455667788);
    cli_read(c, back, 100000);
    g_assert_cmpmem(back, 100000, data, 100000);
    cli_check(c, NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 0, 3, "abc", 0);
    cli_check(c, NBD_CMD_FLUSH, 0, 0, 0, NULL, 0);
    cli_check(c, NBD_CMD_CACHE, 0, 0, 4096, NULL, 0);
    cli_check(c, NBD_CMD_TRIM, 0, 1000, 50000, NULL, 0);
    cli_check(c, NBD_CMD_WRITE_ZEROES, NBD_CMD_FLAG_NO_HOLE, 51000, 50000,
              NULL, 0);
    cli_cmd(c, NBD_CMD_READ, 0, 5, 51000, 50000, NULL);
    g_assert_cmpuint(cli_simple(c, &cookie), ==, 0);
    cli_read(c, back, 50000);
    memset(data, 0, 50000);
    g_assert_cmpmem(back, 50000, data, 50000);
    /* Refusals: each mapped to its wire error, the connection lives on. */
    cli_check(c, NBD_CMD_READ, 0, DISK_SIZE - 10, 11, NULL, NBD_EINVAL);
    cli_check(c, NBD_CMD_READ, 0, UINT64_MAX - 5, 10, NULL, NBD_EINVAL);
    cli_check(c, NBD_CMD_WRITE, 0, DISK_SIZE - 2, 3, "xyz", NBD_ENOSPC);
    cli_check(c, NBD_CMD_WRITE_ZEROES, 0, DISK_SIZE, 1, NULL, NBD_ENOSPC);
    cli_check(c, NBD_CMD_TRIM, 0, DISK_SIZE, 1, NULL, NBD_EINVAL);
    cli_check(c, NBD_CMD_READ, 0, 0, NBD_MAX_PAYLOAD + 1, NULL, NBD_EINVAL);
    cli_check(c, 42, 0, 0, 1, NULL, NBD_EINVAL);
    cli_check(c, NBD_CMD_READ, NBD_CMD_FLAG_DF, 0, 1, NULL, NBD_EINVAL);
    cli_check(c, NBD_CMD_READ, 1 << 9, 0, 1, NULL, NBD_EINVAL);
    cli_check(c, NBD_CMD_BLOCK_STATUS, 0, 0, 512, NULL, NBD_EINVAL);
    cli_check(c, NBD_CMD_FLUSH, 0, 0, 0, NULL, 0);
    /* An over-long write cannot be skipped: the server hangs up. */
    cli_cmd(c, NBD_CMD_WRITE, 0, 1, 0, NBD_MAX_PAYLOAD + 1, NULL);
    cli_expect_eof(c);
    cli_free(c);
    /* A client gone in the middle of a payload (found by fuzzing). */
    c = cli_new(s);
    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    cli_go(c, "disk", false);
    cli_cmd(c, NBD_CMD_WRITE, 0, 1, 0, 40000, NULL);
    cli_write(c, data, 20000);
    cli_free(c);
    pump_until(no_connections, s);
    wd_nbd_server_free(s);
}

static void test_io_structured(void)
{
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s);
    uint8_t buf[65536];
    uint16_t flags;
    uint8_t *p;
    uint32_t len;
    uint64_t off;

    memset(buf, 0xa5, sizeof(buf));
    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    g_assert_cmphex(cli_go(c, "disk", true), ==, DISK_FLAGS_SR);
    cli_check(c, NBD_CMD_WRITE, 0, 0, sizeof(buf), buf, 0);
    /* READ: one OFFSET_DATA chunk (also with DF). */
    cli_cmd(c, NBD_CMD_READ, NBD_CMD_FLAG_DF, 3, 100, 1000, NULL);
    g_assert_cmpuint(cli_chunk(c, 3, &flags, &p, &len), ==,
                     NBD_REPLY_TYPE_OFFSET_DATA);
    g_assert_cmpuint(flags, ==, NBD_REPLY_FLAG_DONE);
    g_assert_cmpuint(len, ==, 1008);
    memcpy(&off, p, 8);
    g_assert_cmpuint(be64toh(off), ==, 100);
    g_assert_cmpmem(p + 8, 1000, buf, 1000);
    g_free(p);
    /* A failed READ: an ERROR chunk. */
    cli_cmd(c, NBD_CMD_READ, 0, 4, DISK_SIZE, 1, NULL);
    g_assert_cmphex(cli_chunk(c, 4, &flags, &p, &len), ==,
                    NBD_REPLY_TYPE_ERROR);
    g_assert_cmpuint(flags, ==, NBD_REPLY_FLAG_DONE);
    g_assert_cmpmem(p, len, "\0\0\0\x16\0\x0finvalid request", 21);
    g_free(p);
    /* base:allocation: 64 KiB data, then a hole reading as zeroes. */
    cli_cmd(c, NBD_CMD_BLOCK_STATUS, 0, 5, 0, DISK_SIZE, NULL);
    g_assert_cmpuint(cli_chunk(c, 5, &flags, &p, &len), ==,
                     NBD_REPLY_TYPE_BLOCK_STATUS);
    g_assert_cmpuint(flags, ==, NBD_REPLY_FLAG_DONE);
    g_assert_cmpmem(p, len, "\0\0\0\1" "\0\1\0\0\0\0\0\0"
                    "\0\x0f\0\0\0\0\0\3", 20);
    g_free(p);
    cli_cmd(c, NBD_CMD_BLOCK_STATUS, NBD_CMD_FLAG_REQ_ONE, 6, 4096, 512,
            NULL);
    g_assert_cmpuint(cli_chunk(c, 6, &flags, &p, &len), ==,
                     NBD_REPLY_TYPE_BLOCK_STATUS);
    g_assert_cmpmem(p, len, "\0\0\0\1" "\0\0\2\0\0\0\0\0", 12);
    g_free(p);
    /* FAST_ZERO answers at once: done, or NBD_ENOTSUP if not fast. */
    cli_check(c, NBD_CMD_WRITE_ZEROES, NBD_CMD_FLAG_FAST_ZERO, 0, 4096, NULL,
              wd_block_can_zero_fast(wd_nbd_export_get_node(
                  wd_nbd_server_find_export(s, "disk"))) ? 0 : NBD_ENOTSUP);
    /* Simple replies remain for the other commands. */
    cli_check(c, NBD_CMD_TRIM, 0, DISK_SIZE, 1, NULL, NBD_EINVAL);
    cli_free(c);
    wd_nbd_server_free(s);
}

static void test_io_read_only(void)
{
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s);
    uint8_t buf[16] = { 0 }, back[16];
    uint64_t cookie;

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    g_assert_cmphex(cli_go(c, "ro", false), ==, 0x040f);
    cli_check(c, NBD_CMD_WRITE, 0, 0, 16, buf, NBD_EPERM);
    cli_check(c, NBD_CMD_TRIM, 0, 0, 16, NULL, NBD_EPERM);
    cli_check(c, NBD_CMD_WRITE_ZEROES, 0, 0, 16, NULL, NBD_EPERM);
    cli_check(c, NBD_CMD_FLUSH, 0, 0, 0, NULL, 0);
    cli_cmd(c, NBD_CMD_READ, 0, 1, 0, 16, NULL);
    g_assert_cmpuint(cli_simple(c, &cookie), ==, 0);
    cli_read(c, back, 16);
    g_assert_cmpmem(back, 16, buf, 16);
    cli_free(c);
    wd_nbd_server_free(s);
}

enum { N = 300, SZ = 2048, ROUNDS = 4 };

/* Sends the READs while the test reads replies, as real clients do: a
 * client that stops reading replies is stopped being read from. */
static gpointer send_reads(gpointer opaque)
{
    for (int i = 0; i < N * ROUNDS; i++) {
        cli_cmd(opaque, NBD_CMD_READ, 0, i % N, (uint64_t)(i % N) * SZ, SZ,
                NULL);
    }
    return NULL;
}

/* Far more requests than may be in flight, replies read only at the end
 * (back-pressure on input), then far more read replies than the socket
 * and the output queue limit hold (back-pressure on output), then DISC. */
static void test_io_pipeline(void)
{
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s);
    uint8_t buf[SZ], want[SZ];
    int seen[N] = { 0 };
    uint64_t cookie;

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    cli_go(c, "disk", false);
    for (int i = 0; i < N; i++) {
        memset(buf, i % 251, SZ);
        cli_cmd(c, NBD_CMD_WRITE, 0, i, (uint64_t)i * SZ, SZ, buf);
    }
    for (int i = 0; i < N; i++) {
        g_assert_cmpuint(cli_simple(c, &cookie), ==, 0);
        g_assert_cmpuint(cookie, <, N);
        g_assert_cmpint(seen[cookie]++, ==, 0);
    }
    GThread *t = g_thread_new("send-reads", send_reads, c);

    g_usleep(200 * 1000);       /* let requests and replies pile up */
    for (int i = 0; i < N * ROUNDS; i++) {
        g_assert_cmpuint(cli_simple(c, &cookie), ==, 0);
        g_assert_cmpuint(cookie, <, N);
        cli_read(c, buf, SZ);
        memset(want, (int)cookie % 251, SZ);
        g_assert_cmpmem(buf, SZ, want, SZ);
        seen[cookie]++;
    }
    g_thread_join(t);
    for (int i = 0; i < N; i++) {
        g_assert_cmpint(seen[i], ==, 1 + ROUNDS);
    }
    cli_cmd(c, NBD_CMD_DISC, 0, 0, 0, 0, NULL);
    cli_expect_eof(c);
    cli_free(c);
    wd_nbd_server_free(s);
}

/* ---- tests: READs sent from the file (sendfile) -------------------------- */

#define FILE_SIZE (4 * 1024 * 1024)

typedef struct {
    uint64_t off;
    uint32_t len;
} FileRead;

/* What the export must return for @r given @img (the file's bytes, valid
 * up to @img_len; beyond it a file that shrank reads as zeroes). */
static void expect_file_data(const uint8_t *got, const FileRead *r,
                             const uint8_t *img, uint64_t img_len)
{
    g_autofree uint8_t *want = g_malloc0(r->len);

    if (r->off < img_len) {
        memcpy(want, img + r->off, MIN(r->len, img_len - r->off));
    }
    g_assert_cmpmem(got, r->len, want, r->len);
}

/* Sends all of @reads at once (cookie = index), then takes the replies
 * in whatever order they come. */
static void file_reads(Cli *c, bool sr, const FileRead *reads, int n,
                       const uint8_t *img, uint64_t img_len)
{
    g_autofree bool *seen = g_new0(bool, n);

    for (int i = 0; i < n; i++) {
        cli_cmd(c, NBD_CMD_READ, 0, i, reads[i].off, reads[i].len, NULL);
    }
    for (int i = 0; i < n; i++) {
        g_autofree uint8_t *p = NULL;
        uint64_t cookie, off;
        uint32_t len;
        uint16_t flags;

        if (sr) {
            /* cookie is not known before: peek at the chunk header */
            uint8_t hdr[20];

            cli_read(c, hdr, sizeof(hdr));
            memcpy(&cookie, hdr + 8, 8);
            cookie = be64toh(cookie);
            g_assert_cmpuint(cookie, <, n);
            memcpy(&len, hdr + 16, 4);
            len = be32toh(len);
            memcpy(&flags, hdr + 4, 2);
            g_assert_cmphex(be16toh(flags), ==, NBD_REPLY_FLAG_DONE);
            g_assert_cmpuint(len, ==, reads[cookie].len + 8);
            p = g_malloc(len);
            cli_read(c, p, len);
            memcpy(&off, p, 8);
            g_assert_cmpuint(be64toh(off), ==, reads[cookie].off);
            expect_file_data(p + 8, &reads[cookie], img, img_len);
        } else {
            g_assert_cmpuint(cli_simple(c, &cookie), ==, 0);
            g_assert_cmpuint(cookie, <, n);
            p = g_malloc(reads[cookie].len);
            cli_read(c, p, reads[cookie].len);
            expect_file_data(p, &reads[cookie], img, img_len);
        }
        g_assert_false(seen[cookie]);
        seen[cookie] = true;
    }
}

/*
 * A file export on @dir (tmpfs: READs up to 1 MiB are answered on the I/O
 * thread, the large ones by sendfile after the batch of small ones; other
 * file systems: READs over 1 MiB by sendfile from a worker).  Offsets and
 * lengths off page boundaries, small and large READs interleaved, simple
 * and structured replies, and a file that shrinks under the export.
 */
static void test_io_file_reads(gconstpointer dir)
{
    static const FileRead reads[] = {
        { 1, 65536 + 3 },               /* sendfile, unaligned */
        { 100, 512 },                   /* inline, into the batch */
        { 4095, 200000 },
        { 7, 1 },
        { 3 * 1024 * 1024 + 17, 1024 * 1024 - 17 },    /* to the end */
        { 12345, 2 * 1024 * 1024 + 1 },                 /* worker */
        { 65536, 65536 },               /* aligned */
        { FILE_SIZE - 3, 3 },
    };
    static const FileRead after_shrink[] = {
        { 1024 * 1024 - 50, 128 * 1024 },   /* crosses the new end */
        { 2 * 1024 * 1024 + 5, 70000 },     /* all past it */
        { 3, 100 },
        { 1000, 1024 * 1024 + 77 },          /* crosses it, worker */
    };
    g_autoptr(GError) err = NULL;
    g_autofree char *tmp = g_build_filename(dir ? dir : g_get_tmp_dir(),
                                            "test-nbd-file-XXXXXX", NULL);
    g_autofree char *path = NULL;
    g_autofree uint8_t *img = g_malloc(FILE_SIZE);
    WdBlockNode *node;
    WdNbdServer *s = srv_new(NULL);

    for (int i = 0; i < FILE_SIZE; i++) {
        img[i] = (i * 7 + i / 4096) & 0xff;
    }
    g_assert_nonnull(g_mkdtemp(tmp));
    path = g_build_filename(tmp, "disk.img", NULL);
    g_assert_true(g_file_set_contents(path, (char *)img, FILE_SIZE, NULL));
    node = wd_block_file_open("f0", path, false, false, &err);
    g_assert_no_error(err);
    g_assert_true(wd_nbd_server_add_export(
        s, wd_nbd_export_new("file", NULL, node, false, true, &err), &err));
    g_assert_no_error(err);
    wd_block_node_unref(node);

    for (int sr = 0; sr < 2; sr++) {
        Cli *c = cli_new(s);

        cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
        cli_go(c, "file", sr);
        for (int round = 0; round < 3; round++) {
            file_reads(c, sr, reads, G_N_ELEMENTS(reads), img, FILE_SIZE);
        }
        cli_free(c);
    }

    /* The file shrinks under the export: the bytes past its new end read
     * as zeroes and the connection stays in step. */
    g_assert_cmpint(truncate(path, 1024 * 1024 + 100), ==, 0);
    for (int sr = 0; sr < 2; sr++) {
        Cli *c = cli_new(s);

        cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
        cli_go(c, "file", sr);
        file_reads(c, sr, after_shrink, G_N_ELEMENTS(after_shrink), img,
                   1024 * 1024 + 100);
        file_reads(c, sr, reads, 2, img, 1024 * 1024 + 100);
        cli_free(c);
    }
    pump_until(no_connections, s);
    wd_nbd_server_free(s);
    g_unlink(path);
    g_rmdir(tmp);
}

/* ---- tests: limits and lifecycle ---------------------------------------- */

static void test_max_connections(void)
{
    SrvOpts o = { .max_conn = 2 };
    WdNbdServer *s = srv_new(&o);
    g_autoptr(GError) err = NULL;
    Cli *a = cli_new(s), *b = cli_new(s);
    int sv[2];
    WdChannel *ch;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    ch = wd_channel_socket_new_fd(sv[0], &err);
    g_assert_false(wd_nbd_server_add_client(s, ch, &err));
    g_assert_cmpstr(err->message, ==, "NBD server 'test' has reached its "
                    "limit of 2 connections (max-connections); try again "
                    "when a client has disconnected");
    g_clear_error(&err);
    wd_channel_unref(ch);
    close(sv[1]);
    g_assert_cmpuint(wd_nbd_server_count_connections(s), ==, 2);
    cli_free(a);
    cli_free(b);
    pump_until(no_connections, s);
    a = cli_new(s);
    cli_greeting(a, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_free(a);
    wd_nbd_server_free(s);
}

static void test_handshake_timeout(void)
{
    SrvOpts o = { .hs_seconds = 1 };
    WdNbdServer *s = srv_new(&o);
    Cli *c = cli_new(s), *d = cli_new(s);
    gint64 t0 = g_get_monotonic_time(), dt;

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
    cli_rep_ack(c, NBD_OPT_STRUCTURED_REPLY);
    cli_expect_eof(c);                  /* options alone do not count */
    dt = g_get_monotonic_time() - t0;
    g_assert_cmpint(dt, >=, 900 * 1000);
    g_assert_cmpint(dt, <, 5 * G_USEC_PER_SEC);
    /* A client that never answers the greeting: dropped as well. */
    uint8_t greet[18];

    cli_read(d, greet, sizeof(greet));
    cli_expect_eof(d);
    /* The limit ends with transmission. */
    cli_free(c);
    cli_free(d);
    c = cli_new(s);
    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    cli_go(c, "disk", false);
    g_usleep(1500 * 1000);
    cli_check(c, NBD_CMD_FLUSH, 0, 0, 0, NULL, 0);
    cli_free(c);
    pump_until(no_connections, s);
    wd_nbd_server_free(s);
}

static void removed(gpointer opaque)
{
    (*(int *)opaque)++;
}

static gboolean is_set(gpointer opaque)
{
    return *(int *)opaque != 0;
}

static void test_remove_export(void)
{
    WdNbdServer *s = srv_new(NULL);
    g_autoptr(GError) err = NULL;
    Cli *c = cli_new(s), *d = cli_new(s), *e = cli_new(s);
    int done_safe = 0, done_hard = 0;

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    cli_go(c, "disk", false);
    cli_greeting(e, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    cli_go(e, "ro", false);
    g_assert_cmpuint(wd_nbd_export_count_connections(
                         wd_nbd_server_find_export(s, "disk")), ==, 1);
    g_assert_true(wd_nbd_server_remove_export(s, "disk", WD_NBD_REMOVE_SAFE,
                                              removed, &done_safe, &err));
    g_assert_no_error(err);
    g_assert_false(wd_nbd_server_remove_export(s, "disk", WD_NBD_REMOVE_SAFE,
                                               NULL, NULL, &err));
    g_assert_cmpstr(err->message, ==, "No NBD export named 'disk'");
    g_clear_error(&err);
    g_assert_null(wd_nbd_server_find_export(s, "disk"));
    /* Gone for new clients, still served to the old one. */
    cli_greeting(d, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_send_go(d, NBD_OPT_GO, "disk", NULL, 0);
    cli_rep_err(d, NBD_OPT_GO, NBD_REP_ERR_UNKNOWN,
                "export 'disk' not present");
    cli_check(c, NBD_CMD_WRITE, 0, 0, 4, "data", 0);
    for (int i = 0; i < 20; i++) {
        g_main_context_iteration(NULL, FALSE);
    }
    g_assert_cmpint(done_safe, ==, 0);
    cli_free(c);
    pump_until(is_set, &done_safe);
    g_assert_cmpint(done_safe, ==, 1);
    /* Hard: the client is disconnected, done() follows. */
    g_assert_true(wd_nbd_server_remove_export(s, "ro", WD_NBD_REMOVE_HARD,
                                              removed, &done_hard, &err));
    cli_expect_eof(e);
    pump_until(is_set, &done_hard);
    cli_free(d);
    cli_free(e);
    wd_nbd_server_free(s);
    g_assert_cmpint(done_safe, ==, 1);
    g_assert_cmpint(done_hard, ==, 1);
}

/* A real listener: bound address, accept, and the refusal over the
 * limit (nbd-refuse.c). */
static void test_listener(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("nbd-server-XXXXXX", &err);
    g_autofree char *path = g_build_filename(dir, "sock", NULL);
    g_autoptr(WdSocketAddress) addr = wd_socket_address_new_unix(path);
    g_autoptr(WdSocketAddress) bound = NULL;
    WdNbdServerConfig cfg = { .addrs = addr, .naddrs = 1,
                              .max_connections_set = true,
                              .max_connections = 1, .name = "listen" };
    WdNbdServer *s = wd_nbd_server_new(&cfg, &err);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    Cli a = { .fd = -1 }, b = { .fd = -1 };
    uint8_t greet[18];
    const char *refusal = "NBD server 'listen' has reached its limit of 1 "
                          "connections (max-connections); try again when "
                          "a client has disconnected";
    gint64 t0;

    g_assert_no_error(err);
    g_assert_cmpuint(wd_nbd_server_get_n_listeners(s), ==, 1);
    bound = wd_nbd_server_get_bound_address(s, 0, &err);
    g_assert_cmpstr(bound->path, ==, path);
    strcpy(sa.sun_path, path);
    a.fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert_cmpint(connect(a.fd, (void *)&sa, sizeof(sa)), ==, 0);
    cli_read(&a, greet, sizeof(greet));         /* accepted */
    /* Over the limit: told why (each option, STARTTLS too), then an
     * abort is acknowledged and the connection closed. */
    b.fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert_cmpint(connect(b.fd, (void *)&sa, sizeof(sa)), ==, 0);
    cli_greeting(&b, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(&b, NBD_OPT_STARTTLS, NULL, 0);
    cli_rep_err(&b, NBD_OPT_STARTTLS, NBD_REP_ERR_POLICY, refusal);
    cli_send_go(&b, NBD_OPT_GO, "disk", NULL, 0);
    cli_rep_err(&b, NBD_OPT_GO, NBD_REP_ERR_POLICY, refusal);
    cli_opt(&b, NBD_OPT_ABORT, NULL, 0);
    cli_rep_ack(&b, NBD_OPT_ABORT);
    cli_expect_eof(&b);
    close(b.fd);
    /* NBD_OPT_EXPORT_NAME has no error reply: closed. */
    b.fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert_cmpint(connect(b.fd, (void *)&sa, sizeof(sa)), ==, 0);
    cli_greeting(&b, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(&b, NBD_OPT_EXPORT_NAME, "disk", 4);
    cli_expect_eof(&b);
    close(b.fd);
    /* Freeing the server cuts a silent refused client short. */
    b.fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert_cmpint(connect(b.fd, (void *)&sa, sizeof(sa)), ==, 0);
    cli_read(&b, greet, sizeof(greet));
    close(a.fd);
    t0 = g_get_monotonic_time();
    wd_nbd_server_free(s);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 1500 * 1000);
    cli_expect_eof(&b);
    close(b.fd);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_rmdir(dir);
}

/* Freeing the server ends every connection, whatever its state. */
static void test_free_with_clients(void)
{
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s), *d = cli_new(s), *e = cli_new(s);
    uint8_t greet[18];

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    cli_go(c, "disk", false);
    cli_check(c, NBD_CMD_WRITE, 0, 0, 4, "data", 0);
    cli_greeting(d, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(d, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
    cli_rep_ack(d, NBD_OPT_STRUCTURED_REPLY);
    wd_nbd_server_free(s);
    cli_expect_eof(c);
    cli_expect_eof(d);
    /* At most the greeting (the stop may come before it), then EOF. */
    size_t n, total = 0;

    while ((n = cli_read_some(e, greet, sizeof(greet))) > 0) {
        total += n;
        g_assert_cmpuint(total, <=, sizeof(greet));
    }
    cli_free(c);
    cli_free(d);
    cli_free(e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nbd/server/io/simple", test_io_simple);
    g_test_add_func("/nbd/server/io/structured", test_io_structured);
    g_test_add_func("/nbd/server/io/read-only", test_io_read_only);
    g_test_add_func("/nbd/server/io/pipeline", test_io_pipeline);
    g_test_add_data_func("/nbd/server/io/file-reads/tmpdir", NULL,
                         test_io_file_reads);
    if (access("/dev/shm", W_OK) == 0) {
        g_test_add_data_func("/nbd/server/io/file-reads/shm", "/dev/shm",
                             test_io_file_reads);
    }
    g_test_add_func("/nbd/server/max-connections", test_max_connections);
    g_test_add_func("/nbd/server/handshake-timeout",
                    test_handshake_timeout);
    g_test_add_func("/nbd/server/remove-export", test_remove_export);
    g_test_add_func("/nbd/server/listener", test_listener);
    g_test_add_func("/nbd/server/free-with-clients", test_free_with_clients);
    return g_test_run();
}
