/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NBD client tests against hostile scripted servers: a greeting that is
 * not NBD, oversized and malformed option replies, replies for unknown
 * handles, data chunks outside or longer than their request, block status
 * out of range or for a context never negotiated, unknown chunk types,
 * and servers that stall the handshake or a request. Each must give its
 * exact error and leave the connection dead: no crash, no hang past the
 * timeout, no byte written outside the request's buffer.
 */
#include "runtime/nbd/client.h"
#include "tests/unit/nbd-fake-server.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define MiB (1024 * 1024)

/* ---- handshake and replies ---------------------------------------------- */

static void script_http(FakeServer *s)
{
    const char *text = "HTTP/1.1 400 Bad Request\r\n\r\n";

    fs_write(s, text, strlen(text));
    fs_expect_eof(s);
}

static void script_big_option_reply(FakeServer *s)
{
    NbdFixedNewOptionReply r = {
        .magic = htobe64(NBD_REP_MAGIC),
        .option = htobe32(NBD_OPT_STRUCTURED_REPLY),
        .reply = htobe32(NBD_REP_ACK),
        .replylen = htobe32(1 << 20),
    };

    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    fs_read_option(s, NULL, NULL);
    fs_write(s, &r, sizeof(r));
    fs_expect_eof(s);
}

static void script_bad_reply_magic(FakeServer *s)
{
    NbdFixedNewOptionReply r = {
        .magic = htobe64(0x1122334455667788),
        .option = htobe32(NBD_OPT_STRUCTURED_REPLY),
        .reply = htobe32(NBD_REP_ACK),
    };

    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    fs_read_option(s, NULL, NULL);
    fs_write(s, &r, sizeof(r));
    fs_expect_eof(s);
}

static void test_hostile_handshake(void)
{
    fake_expect_connect_error(script_http, NULL, "'fd:*' is not an NBD server "
                              "(bad greeting magic 0x485454502f312e31)");
    fake_expect_connect_error(script_big_option_reply, NULL, "The NBD server "
                              "sent a 1048576-byte reply to "
                         "NBD_OPT_STRUCTURED_REPLY (at most 16384 bytes are "
                              "allowed)");
    fake_expect_connect_error(script_bad_reply_magic, NULL, "The NBD server "
                              "sent an option reply with bad magic "
                              "0x1122334455667788 (expected "
                              "0x3e889045565a9)");
}

typedef enum {
    EVIL_UNKNOWN_HANDLE,
    EVIL_DATA_OUTSIDE,
    EVIL_DATA_TOO_LONG,
    EVIL_EXTENTS_OUT_OF_RANGE,
    EVIL_EXTENT_ZERO_LENGTH,
    EVIL_WRONG_CONTEXT,
    EVIL_UNKNOWN_CHUNK,
} Evil;

static void script_evil(FakeServer *s)
{
    Evil evil = GPOINTER_TO_INT(s->opaque);
    uint8_t data[1024] = { 0 };
    uint32_t st[5] = { htobe32(FS_META_ID), htobe32(4096), 0,
                       htobe32(512), 0 };
    FsRequest r;

    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    fs_negotiate(s, MiB, 0);
    g_assert_true(fs_read_request(s, &r, NULL));
    switch (evil) {
    case EVIL_UNKNOWN_HANDLE:
        fs_simple_reply(s, r.cookie + 1000, 0, NULL, 0);
        break;
    case EVIL_DATA_OUTSIDE:
        fs_data_chunk(s, r.cookie, true, r.offset + r.count, data, 512);
        break;
    case EVIL_DATA_TOO_LONG:
        fs_data_chunk(s, r.cookie, true, r.offset, data, sizeof(data));
        break;
    case EVIL_EXTENTS_OUT_OF_RANGE:
        fs_chunk(s, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS,
                 r.cookie, st, sizeof(st));
        break;
    case EVIL_EXTENT_ZERO_LENGTH:
        st[1] = 0;
        fs_chunk(s, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS,
                 r.cookie, st, sizeof(st));
        break;
    case EVIL_WRONG_CONTEXT:
        st[0] = htobe32(FS_META_ID + 1);
        fs_chunk(s, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS,
                 r.cookie, st, sizeof(st));
        break;
    case EVIL_UNKNOWN_CHUNK:
        fs_chunk(s, NBD_REPLY_FLAG_DONE, 77, r.cookie, data, 4);
        break;
    }
    fs_drain(s);
}

static void expect_evil(Evil evil, bool status, const char *want)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GArray) ext = g_array_new(FALSE, FALSE, sizeof(WdNbdExtent));
    g_autofree uint8_t *buf = g_malloc(8192);
    FakeServer *fs;
    WdNbdClient *c = fake_connect(script_evil, GINT_TO_POINTER(evil), NULL,
                                  &fs, &err);
    int ret;

    g_assert_no_error(err);
    memset(buf, 0xaa, 8192);
    ret = status ? wd_nbd_client_block_status(c, 0, 4096, ext, &err)
                 : wd_nbd_client_pread(c, buf, 0, 512, &err);
    g_assert_cmpint(ret, ==, -EIO);
    g_assert_true(g_str_has_prefix(err->message, "Connection to the NBD "
                                   "server at 'fd:"));
    g_assert_nonnull(strstr(err->message, want));
    /* Nothing landed outside the request's buffer. */
    for (int i = 512; i < 8192; i++) {
        g_assert_cmpuint(buf[i], ==, 0xaa);
    }
    g_assert_cmpuint(ext->len, ==, 0);
    /* The connection is dead for good: the next request fails at once. */
    g_clear_error(&err);
    g_assert_cmpint(wd_nbd_client_pread(c, buf, 0, 512, &err), ==, -EIO);
    g_assert_nonnull(strstr(err->message, want));
    g_assert_false(wd_nbd_client_is_connected(c));
    wd_nbd_client_close(c);
    fake_server_join(fs);
}

static void test_hostile_replies(void)
{
    expect_evil(EVIL_UNKNOWN_HANDLE, false, "failed: NBD protocol error: "
                "the server sent a reply for unknown handle 0x3e9");
    expect_evil(EVIL_DATA_OUTSIDE, false, "NBD protocol error: the server "
                "sent data for offset 512 (512 bytes) outside the READ at "
                "offset 0 (512 bytes)");
    expect_evil(EVIL_DATA_TOO_LONG, false, "NBD protocol error: the server "
                "sent a data chunk of 1032 bytes for NBD_CMD_READ of 512 "
                "bytes");
    expect_evil(EVIL_EXTENTS_OUT_OF_RANGE, true, "NBD protocol error: the "
                "server sent block status extents out of range (extent 1 "
                "of 2 for 4096 bytes)");
    expect_evil(EVIL_EXTENT_ZERO_LENGTH, true, "extents out of range "
                "(extent 0 of 2");
    expect_evil(EVIL_WRONG_CONTEXT, true, "NBD protocol error: the server "
                "sent block status for context 8, which was not "
                "negotiated");
    expect_evil(EVIL_UNKNOWN_CHUNK, false, "NBD protocol error: the server "
                "sent a chunk of unknown type 77");
}

/* ---- timeouts ------------------------------------------------------------ */

static void script_stall_handshake(FakeServer *s)
{
    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    fs_until_eof(s);               /* never answers the first option */
}

static void script_stall_request(FakeServer *s)
{
    FsRequest r;

    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    fs_negotiate(s, MiB, 0);
    g_assert_true(fs_read_request(s, &r, NULL));
    fs_until_eof(s);               /* never replies */
}

static void test_stall(void)
{
    WdNbdClientConfig cfg = { .open_timeout = 0.3 };
    g_autoptr(GError) err = NULL;
    gint64 start = g_get_monotonic_time();
    uint8_t buf[512];
    FakeServer *fs;
    WdNbdClient *c;

    g_assert_null(fake_connect(script_stall_handshake, NULL, &cfg, &fs, &err));
    g_assert_true(g_str_has_prefix(err->message, "Timed out after 0.3 "
                                   "seconds negotiating with the NBD "
                                   "server at 'fd:"));
    g_assert_cmpint(g_get_monotonic_time() - start, <, 3 * G_USEC_PER_SEC);
    fake_server_join(fs);
    g_clear_error(&err);

    cfg = (WdNbdClientConfig){ .open_timeout = 5, .request_timeout = 0.3 };
    start = g_get_monotonic_time();
    c = fake_connect(script_stall_request, NULL, &cfg, &fs, &err);
    g_assert_no_error(err);
    g_assert_cmpint(wd_nbd_client_pread(c, buf, 0, 512, &err), ==, -EIO);
    g_assert_nonnull(strstr(err->message, "failed: The NBD server did not "
                            "reply for 0.3 seconds"));
    g_assert_cmpint(g_get_monotonic_time() - start, <, 3 * G_USEC_PER_SEC);
    wd_nbd_client_close(c);
    fake_server_join(fs);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nbd-client/hostile-handshake", test_hostile_handshake);
    g_test_add_func("/nbd-client/hostile-replies", test_hostile_replies);
    g_test_add_func("/nbd-client/stall", test_stall);
    return g_test_run();
}
