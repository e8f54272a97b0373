/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NBD client tests against a scripted fake server: GO, the EXPORT_NAME
 * fallback, TLS (required, refused, verified, wrong hostname), requests
 * answered out of order, reconnect and multi-conn, NBD_OPT_LIST, and
 * hostile servers (bad magic, oversized option reply, unknown handle,
 * chunks outside the request, extents out of range, stalls) that must
 * give an exact error, never a crash, a hang or a stray write.
 */
#include "runtime/crypto/certs.h"
#include "runtime/nbd/client.h"
#include "tests/unit/nbd-fake-server.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define MiB (1024 * 1024)

static char *tmpdir;
static WdTlsCreds *server_creds;
static WdTlsCreds *client_creds;

/* A client on a fresh fake server; the client's fd copy is closed. */
static WdNbdClient *open_with(FakeScript script, void *opaque,
                              WdNbdClientConfig *cfg, FakeServer **fs,
                              GError **errp)
{
    WdSocketAddress *addr = NULL;
    WdNbdClientConfig def = { .open_timeout = 5, .request_timeout = 5 };
    WdNbdClient *c;

    if (!cfg) {
        cfg = &def;
    }
    *fs = fake_server_pair(script, opaque, &addr);
    (*fs)->tls = server_creds;
    cfg->addr = addr;
    c = wd_nbd_client_connect(cfg, errp);
    close(addr->fd);
    wd_socket_address_free(addr);
    cfg->addr = NULL;
    return c;
}

/* Expects the connect to fail with @want ('*' matches any text). */
static void expect_connect_error(FakeScript script, WdNbdClientConfig *cfg,
                                 const char *want)
{
    g_autoptr(GError) err = NULL;
    FakeServer *fs;
    WdNbdClient *c = open_with(script, NULL, cfg, &fs, &err);

    g_assert_null(c);
    g_assert_nonnull(err);
    if (!g_pattern_match_simple(want, err->message)) {
        g_error("expected error '%s', got '%s'", want, err->message);
    }
    fake_server_join(fs);
}

/* Serves requests until the client disconnects. */
static void drain(FakeServer *s)
{
    FsRequest r;

    while (fs_read_request(s, &r, NULL) && r.type != NBD_CMD_DISC) {
    }
}

/* ---- the normal path ----------------------------------------------------- */

static void script_basic(FakeServer *s)
{
    FsRequest r;
    g_autofree char *wdata = NULL;
    uint8_t data[2048];
    uint8_t hole[12];
    uint32_t status[5] = {
        htobe32(FS_META_ID),
        htobe32(65536), htobe32(0),
        htobe32(MiB), htobe32(NBD_STATE_HOLE | NBD_STATE_ZERO),
    };
    uint64_t off = htobe64(2048);
    uint32_t len = htobe32(2048);
    const char *msg = "disk on fire";
    uint8_t err[6 + 12];
    uint32_t e = htobe32(NBD_EIO);
    uint16_t ml = htobe16(strlen(msg));

    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    fs_negotiate(s, MiB, NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_TRIM |
                 NBD_FLAG_SEND_WRITE_ZEROES);
    /* READ: data then a hole, the DONE flag on the hole. */
    g_assert_true(fs_read_request(s, &r, NULL));
    g_assert_cmpuint(r.type, ==, NBD_CMD_READ);
    g_assert_cmpuint(r.count, ==, 4096);
    memset(data, 0x5a, sizeof(data));
    fs_data_chunk(s, r.cookie, false, 0, data, sizeof(data));
    memcpy(hole, &off, 8);
    memcpy(hole + 8, &len, 4);
    fs_chunk(s, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_HOLE, r.cookie,
             hole, sizeof(hole));
    /* BLOCK_STATUS: the last extent overruns and is clamped. */
    g_assert_true(fs_read_request(s, &r, NULL));
    g_assert_cmpuint(r.type, ==, NBD_CMD_BLOCK_STATUS);
    fs_chunk(s, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS, r.cookie,
             status, sizeof(status));
    /* WRITE and FLUSH: simple replies. */
    g_assert_true(fs_read_request(s, &r, &wdata));
    g_assert_cmpuint(r.type, ==, NBD_CMD_WRITE);
    g_assert_cmpuint(r.offset, ==, 4096);
    g_assert_cmpmem(wdata, 5, "hello", 5);
    fs_simple_reply(s, r.cookie, 0, NULL, 0);
    g_assert_true(fs_read_request(s, &r, NULL));
    g_assert_cmpuint(r.type, ==, NBD_CMD_FLUSH);
    fs_simple_reply(s, r.cookie, 0, NULL, 0);
    /* A failing READ with a message. */
    g_assert_true(fs_read_request(s, &r, NULL));
    memcpy(err, &e, 4);
    memcpy(err + 4, &ml, 2);
    memcpy(err + 6, msg, strlen(msg));
    fs_chunk(s, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, r.cookie, err,
             6 + strlen(msg));
    g_assert_true(fs_read_request(s, &r, NULL));
    g_assert_cmpuint(r.type, ==, NBD_CMD_DISC);
}

static void test_basic(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GArray) ext = g_array_new(FALSE, FALSE, sizeof(WdNbdExtent));
    uint8_t buf[4096];
    FakeServer *fs;
    WdNbdClient *c = open_with(script_basic, NULL, NULL, &fs, &err);

    g_assert_no_error(err);
    g_assert_cmpuint(wd_nbd_client_get_size(c), ==, MiB);
    g_assert_true(wd_nbd_client_has_structured_replies(c));
    g_assert_cmpstr(wd_nbd_client_get_meta_context(c), ==,
                    "base:allocation");
    g_assert_false(wd_nbd_client_is_tls(c));
    memset(buf, 0xff, sizeof(buf));
    g_assert_cmpint(wd_nbd_client_pread(c, buf, 0, 4096, &err), ==, 0);
    g_assert_cmpuint(buf[0], ==, 0x5a);
    g_assert_cmpuint(buf[2047], ==, 0x5a);
    g_assert_cmpuint(buf[2048], ==, 0);
    g_assert_cmpuint(buf[4095], ==, 0);
    g_assert_cmpint(wd_nbd_client_block_status(c, 0, MiB, ext, &err), ==,
                    0);
    g_assert_cmpuint(ext->len, ==, 2);
    g_assert_cmpuint(g_array_index(ext, WdNbdExtent, 0).length, ==, 65536);
    g_assert_cmpuint(g_array_index(ext, WdNbdExtent, 0).flags, ==, 0);
    g_assert_cmpuint(g_array_index(ext, WdNbdExtent, 1).length, ==,
                     MiB - 65536);
    g_assert_cmpuint(g_array_index(ext, WdNbdExtent, 1).flags, ==, 3);
    g_assert_cmpint(wd_nbd_client_pwrite(c, "hello", 4096, 5, 0, &err), ==,
                    0);
    g_assert_cmpint(wd_nbd_client_flush(c, &err), ==, 0);
    g_assert_cmpint(wd_nbd_client_pread(c, buf, 8192, 512, &err), ==, -EIO);
    g_assert_cmpstr(err->message, ==, "The NBD server failed NBD_CMD_READ "
                    "at offset 8192 (512 bytes): Input/output error: disk "
                    "on fire");
    g_clear_error(&err);
    /* Checked locally, never sent. */
    g_assert_cmpint(wd_nbd_client_pread(c, buf, MiB - 1, 2, &err), ==,
                    -EINVAL);
    g_clear_error(&err);
    wd_nbd_client_close(c);
    fake_server_join(fs);
}

/* Two READs; the second is answered first. */
static void script_out_of_order(FakeServer *s)
{
    FsRequest a, b;
    uint8_t x[512], y[512];

    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    fs_negotiate(s, MiB, 0);
    g_assert_true(fs_read_request(s, &a, NULL));
    g_assert_true(fs_read_request(s, &b, NULL));
    memset(x, a.offset ? 'b' : 'a', sizeof(x));
    memset(y, b.offset ? 'b' : 'a', sizeof(y));
    fs_data_chunk(s, b.cookie, true, b.offset, y, sizeof(y));
    fs_data_chunk(s, a.cookie, true, a.offset, x, sizeof(x));
    drain(s);
}

typedef struct {
    WdNbdClient *c;
    uint8_t buf[512];
    int ret;
} ReadJob;

static gpointer read_job(gpointer opaque)
{
    ReadJob *j = opaque;

    j->ret = wd_nbd_client_pread(j->c, j->buf, 512, 512, NULL);
    return NULL;
}

static void test_out_of_order(void)
{
    g_autoptr(GError) err = NULL;
    FakeServer *fs;
    ReadJob j = { 0 };
    uint8_t buf[512];

    j.c = open_with(script_out_of_order, NULL, NULL, &fs, &err);
    g_assert_no_error(err);
    GThread *t = g_thread_new("reader", read_job, &j);
    g_assert_cmpint(wd_nbd_client_pread(j.c, buf, 0, 512, &err), ==, 0);
    g_thread_join(t);
    g_assert_cmpint(j.ret, ==, 0);
    g_assert_cmpuint(buf[0], ==, 'a');
    g_assert_cmpuint(buf[511], ==, 'a');
    g_assert_cmpuint(j.buf[0], ==, 'b');
    g_assert_cmpuint(j.buf[511], ==, 'b');
    wd_nbd_client_close(j.c);
    fake_server_join(fs);
}

/* An old server: no structured replies, GO unknown, EXPORT_NAME works. */
static void script_export_name(FakeServer *s)
{
    g_autofree char *name = NULL;
    uint8_t rep[10 + 124] = { 0 };
    uint64_t size = htobe64(12345 * 512);
    uint16_t flags = htobe16(NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY);
    uint32_t opt;

    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE);
    opt = fs_read_option(s, NULL, NULL);
    g_assert_cmpuint(opt, ==, NBD_OPT_STRUCTURED_REPLY);
    fs_reply(s, opt, NBD_REP_ERR_UNSUP, NULL, 0);
    opt = fs_read_option(s, NULL, NULL);
    g_assert_cmpuint(opt, ==, NBD_OPT_GO);
    fs_reply(s, opt, NBD_REP_ERR_UNSUP, NULL, 0);
    opt = fs_read_option(s, &name, NULL);
    g_assert_cmpuint(opt, ==, NBD_OPT_EXPORT_NAME);
    g_assert_cmpstr(name, ==, "disk");
    memcpy(rep, &size, 8);
    memcpy(rep + 8, &flags, 2);
    fs_write(s, rep, sizeof(rep));
    drain(s);
}

static void test_export_name_fallback(void)
{
    g_autoptr(GError) err = NULL;
    WdNbdClientConfig cfg = { .export_name = "disk", .open_timeout = 5 };
    FakeServer *fs;
    WdNbdClient *c = open_with(script_export_name, NULL, &cfg, &fs, &err);

    g_assert_no_error(err);
    g_assert_cmpuint(wd_nbd_client_get_size(c), ==, 12345 * 512);
    g_assert_true(wd_nbd_client_is_read_only(c));
    g_assert_false(wd_nbd_client_has_structured_replies(c));
    g_assert_null(wd_nbd_client_get_meta_context(c));
    g_assert_cmpint(wd_nbd_client_pwrite(c, "x", 0, 1, 0, &err), ==, -EPERM);
    g_assert_cmpstr(err->message, ==, "The NBD export is read-only");
    wd_nbd_client_close(c);
    fake_server_join(fs);
}

static void script_not_found(FakeServer *s)
{
    uint32_t opt;

    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    opt = fs_read_option(s, NULL, NULL);
    fs_reply(s, opt, NBD_REP_ACK, NULL, 0);
    opt = fs_read_option(s, NULL, NULL);
    g_assert_cmpuint(opt, ==, NBD_OPT_SET_META_CONTEXT);
    fs_reply(s, opt, NBD_REP_ACK, NULL, 0);
    opt = fs_read_option(s, NULL, NULL);
    fs_reply_text(s, opt, NBD_REP_ERR_UNKNOWN, "no export named 'nope'");
    g_assert_false(fs_try_read(s, &opt, 1));
}

static void test_export_not_found(void)
{
    WdNbdClientConfig cfg = { .export_name = "nope", .open_timeout = 5 };

    expect_connect_error(script_not_found, &cfg, "Export 'nope' not found "
                         "on the server (server reported: no export named "
                         "'nope')");
}

/* ---- TLS ----------------------------------------------------------------- */

static void script_tls_required(FakeServer *s)
{
    uint32_t opt;

    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    opt = fs_read_option(s, NULL, NULL);
    fs_reply_text(s, opt, NBD_REP_ERR_TLS_REQD,
                  "Option 0x8 not permitted before TLS");
    g_assert_false(fs_try_read(s, &opt, 1));
}

static void test_tls_required(void)
{
    expect_connect_error(script_tls_required, NULL, "Server requires TLS: "
                         "give tls-creds (or use an nbds:// URI) (server "
                         "reported: Option 0x8 not permitted before TLS)");
}

/* Refuses STARTTLS; the client must then say nothing more in clear. */
static void script_tls_refused(FakeServer *s)
{
    uint32_t opt;

    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    opt = fs_read_option(s, NULL, NULL);
    g_assert_cmpuint(opt, ==, NBD_OPT_STARTTLS);
    if (s->opaque) {
        fs_reply_text(s, opt, NBD_REP_ERR_POLICY, s->opaque);
    } else {
        fs_reply(s, opt, NBD_REP_ERR_UNSUP, NULL, 0);
    }
    g_assert_false(fs_try_read(s, &opt, 1));
}

static void test_tls_refused(void)
{
    WdNbdClientConfig cfg = {
        .tls = client_creds, .tls_hostname = "localhost", .open_timeout = 5,
    };
    g_autoptr(GError) err = NULL;
    FakeServer *fs;

    g_assert_null(open_with(script_tls_refused, "TLS not configured", &cfg,
                            &fs, &err));
    g_assert_cmpstr(err->message, ==, "Server does not support TLS (it "
                    "refused STARTTLS) (server reported: TLS not "
                    "configured)");
    fake_server_join(fs);
    expect_connect_error(script_tls_refused, &cfg, "Server does not "
                         "support TLS (it refused STARTTLS)");
}

static void script_tls_ok(FakeServer *s)
{
    FsRequest r;
    uint8_t data[512];

    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    g_assert_cmpuint(fs_read_option(s, NULL, NULL), ==, NBD_OPT_STARTTLS);
    if (!fs_starttls(s)) {
        return;
    }
    if (s->opaque) {            /* the client rejects the certificate */
        g_assert_false(fs_try_read(s, data, 1));
        return;
    }
    fs_negotiate(s, MiB, 0);
    g_assert_true(fs_read_request(s, &r, NULL));
    memset(data, 't', sizeof(data));
    fs_data_chunk(s, r.cookie, true, r.offset, data, sizeof(data));
    drain(s);
}

static void test_tls_ok(void)
{
    WdNbdClientConfig cfg = {
        .tls = client_creds, .tls_hostname = "localhost", .open_timeout = 5,
    };
    g_autoptr(GError) err = NULL;
    g_autofree char *peer = NULL;
    uint8_t buf[512];
    FakeServer *fs;
    WdNbdClient *c = open_with(script_tls_ok, NULL, &cfg, &fs, &err);

    g_assert_no_error(err);
    g_assert_true(wd_nbd_client_is_tls(c));
    peer = wd_nbd_client_tls_peer(c);
    g_assert_cmpstr(peer, ==, "CN=localhost");
    g_assert_cmpint(wd_nbd_client_pread(c, buf, 0, 512, &err), ==, 0);
    g_assert_cmpuint(buf[511], ==, 't');
    wd_nbd_client_close(c);
    fake_server_join(fs);
}

static void test_tls_hostname_mismatch(void)
{
    WdNbdClientConfig cfg = {
        .tls = client_creds, .tls_hostname = "wrong.example",
        .open_timeout = 5,
    };
    g_autoptr(GError) err = NULL;
    FakeServer *fs;

    g_assert_null(open_with(script_tls_ok, "reject", &cfg, &fs, &err));
    g_assert_true(g_str_has_prefix(err->message, "TLS with the NBD server "
                                   "at 'fd:"));
    g_assert_nonnull(strstr(err->message, "failed: Certificate does not "
                            "match the hostname wrong.example: the "
                            "certificate has DNS:localhost"));
    fake_server_join(fs);
}

static void script_nothing(FakeServer *s)
{
    char c;

    g_assert_false(fs_try_read(s, &c, 1));
}

static void test_tls_no_hostname(void)
{
    WdNbdClientConfig cfg = { .tls = client_creds, .open_timeout = 5 };
    g_autoptr(GError) err = NULL;
    FakeServer *fs;

    g_assert_null(open_with(script_nothing, NULL, &cfg, &fs, &err));
    g_assert_true(g_str_has_prefix(err->message, "No hostname for "
                                   "certificate validation: the NBD "
                                   "server is at 'fd:"));
    fake_server_join(fs);
}

/* ---- hostile servers ----------------------------------------------------- */

static void script_http(FakeServer *s)
{
    const char *text = "HTTP/1.1 400 Bad Request\r\n\r\n";

    fs_write(s, text, strlen(text));
    script_nothing(s);
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
    script_nothing(s);
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
    script_nothing(s);
}

static void test_hostile_handshake(void)
{
    expect_connect_error(script_http, NULL, "'fd:*' is not an NBD server "
                         "(bad greeting magic 0x485454502f312e31)");
    expect_connect_error(script_big_option_reply, NULL, "The NBD server "
                         "sent a 1048576-byte reply to "
                         "NBD_OPT_STRUCTURED_REPLY (at most 16384 bytes are "
                         "allowed)");
    expect_connect_error(script_bad_reply_magic, NULL, "The NBD server sent "
                         "an option reply with bad magic 0x1122334455667788 "
                         "(expected 0x3e889045565a9)");
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
    drain(s);
}

static void expect_evil(Evil evil, bool status, const char *want)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GArray) ext = g_array_new(FALSE, FALSE, sizeof(WdNbdExtent));
    g_autofree uint8_t *buf = g_malloc(8192);
    FakeServer *fs;
    WdNbdClient *c = open_with(script_evil, GINT_TO_POINTER(evil), NULL,
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

/* Reads and ignores whatever comes until the client hangs up. */
static void until_eof(FakeServer *s)
{
    char c;

    while (fs_try_read(s, &c, 1)) {
    }
}

static void script_stall_handshake(FakeServer *s)
{
    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    until_eof(s);               /* never answers the first option */
}

static void script_stall_request(FakeServer *s)
{
    FsRequest r;

    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    fs_negotiate(s, MiB, 0);
    g_assert_true(fs_read_request(s, &r, NULL));
    until_eof(s);               /* never replies */
}

static void test_stall(void)
{
    WdNbdClientConfig cfg = { .open_timeout = 0.3 };
    g_autoptr(GError) err = NULL;
    gint64 start = g_get_monotonic_time();
    uint8_t buf[512];
    FakeServer *fs;
    WdNbdClient *c;

    g_assert_null(open_with(script_stall_handshake, NULL, &cfg, &fs, &err));
    g_assert_true(g_str_has_prefix(err->message, "Timed out after 0.3 "
                                   "seconds negotiating with the NBD "
                                   "server at 'fd:"));
    g_assert_cmpint(g_get_monotonic_time() - start, <, 3 * G_USEC_PER_SEC);
    fake_server_join(fs);
    g_clear_error(&err);

    cfg = (WdNbdClientConfig){ .open_timeout = 5, .request_timeout = 0.3 };
    start = g_get_monotonic_time();
    c = open_with(script_stall_request, NULL, &cfg, &fs, &err);
    g_assert_no_error(err);
    g_assert_cmpint(wd_nbd_client_pread(c, buf, 0, 512, &err), ==, -EIO);
    g_assert_nonnull(strstr(err->message, "failed: The NBD server did not "
                            "reply for 0.3 seconds"));
    g_assert_cmpint(g_get_monotonic_time() - start, <, 3 * G_USEC_PER_SEC);
    wd_nbd_client_close(c);
    fake_server_join(fs);
}

/* ---- reconnect, multi-conn, list ----------------------------------------- */

static void script_reconnect(FakeServer *s)
{
    bool come_back = GPOINTER_TO_INT(s->opaque);
    FsRequest r, again;
    uint8_t data[512];

    fs_accept(s);
    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    fs_negotiate(s, MiB, 0);
    g_assert_true(fs_read_request(s, &r, NULL));
    fs_hangup(s);               /* dropped with the READ in flight */
    if (!come_back) {
        return;
    }
    fs_accept(s);
    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    fs_negotiate(s, MiB, 0);
    g_assert_true(fs_read_request(s, &again, NULL));
    g_assert_cmpuint(again.offset, ==, r.offset);
    g_assert_cmpuint(again.count, ==, r.count);
    memset(data, 'r', sizeof(data));
    fs_data_chunk(s, again.cookie, true, again.offset, data, sizeof(data));
    drain(s);
}

static void test_reconnect(void)
{
    g_autoptr(GError) err = NULL;
    WdSocketAddress *addr = NULL;
    uint8_t buf[512];
    FakeServer *fs = fake_server_unix(tmpdir, script_reconnect,
                                      GINT_TO_POINTER(1), &addr);
    WdNbdClientConfig cfg = {
        .addr = addr, .open_timeout = 5, .reconnect_delay = 5,
    };
    WdNbdClient *c = wd_nbd_client_connect(&cfg, &err);

    g_assert_no_error(err);
    g_assert_cmpint(wd_nbd_client_pread(c, buf, 512, 512, &err), ==, 0);
    g_assert_cmpuint(buf[0], ==, 'r');
    wd_nbd_client_close(c);
    fake_server_join(fs);
    wd_socket_address_free(addr);

    /* The server never comes back: the request fails after the delay. */
    fs = fake_server_unix(tmpdir, script_reconnect, GINT_TO_POINTER(0),
                          &addr);
    cfg.addr = addr;
    cfg.reconnect_delay = 0.5;
    c = wd_nbd_client_connect(&cfg, &err);
    g_assert_no_error(err);
    gint64 start = g_get_monotonic_time();
    g_assert_cmpint(wd_nbd_client_pread(c, buf, 512, 512, &err), ==, -EIO);
    g_assert_nonnull(strstr(err->message, "was lost and not re-established "
                            "within 0.5 seconds"));
    g_assert_cmpint(g_get_monotonic_time() - start, <, 5 * G_USEC_PER_SEC);
    wd_nbd_client_close(c);
    fake_server_join(fs);
    wd_socket_address_free(addr);
}

#define NCONNS 3

static void script_multi_conn(FakeServer *s)
{
    WdChannel *chans[NCONNS];
    uint8_t data[512];

    for (int i = 0; i < NCONNS; i++) {
        fs_accept(s);
        fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
        fs_negotiate(s, MiB, NBD_FLAG_CAN_MULTI_CONN);
        chans[i] = g_steal_pointer(&s->ch);
    }
    /* The client spreads requests round-robin: one READ each. */
    for (int i = 0; i < NCONNS; i++) {
        FsRequest r;

        s->ch = chans[i];
        g_assert_true(fs_read_request(s, &r, NULL));
        memset(data, '0' + i, sizeof(data));
        fs_data_chunk(s, r.cookie, true, r.offset, data, sizeof(data));
    }
    for (int i = 0; i < NCONNS; i++) {
        s->ch = chans[i];
        drain(s);
        wd_channel_unref(chans[i]);
    }
    s->ch = NULL;
}

static void test_multi_conn(void)
{
    g_autoptr(GError) err = NULL;
    WdSocketAddress *addr = NULL;
    uint8_t buf[512];
    FakeServer *fs = fake_server_unix(tmpdir, script_multi_conn, NULL,
                                      &addr);
    WdNbdClientConfig cfg = { .addr = addr, .open_timeout = 5,
                              .nconns = NCONNS };
    WdNbdClient *c = wd_nbd_client_connect(&cfg, &err);

    g_assert_no_error(err);
    g_assert_cmpuint(wd_nbd_client_get_nconns(c), ==, NCONNS);
    for (int i = 0; i < NCONNS; i++) {
        g_assert_cmpint(wd_nbd_client_pread(c, buf, 0, 512, &err), ==, 0);
        g_assert_cmpuint(buf[0], ==, '0' + i);
    }
    wd_nbd_client_close(c);
    fake_server_join(fs);
    wd_socket_address_free(addr);
}

static void server_entry(FakeServer *s, const char *name, const char *desc)
{
    uint32_t len = htobe32(strlen(name));
    g_autoptr(GByteArray) b = g_byte_array_new();

    g_byte_array_append(b, (guint8 *)&len, 4);
    g_byte_array_append(b, (guint8 *)name, strlen(name));
    g_byte_array_append(b, (guint8 *)desc, strlen(desc));
    fs_reply(s, NBD_OPT_LIST, NBD_REP_SERVER, b->data, b->len);
}

static void script_list(FakeServer *s)
{
    uint32_t opt;
    char ctx[] = "\0\0\0\0base:allocation";

    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    opt = fs_read_option(s, NULL, NULL);
    fs_reply(s, opt, NBD_REP_ACK, NULL, 0);
    g_assert_cmpuint(fs_read_option(s, NULL, NULL), ==, NBD_OPT_LIST);
    server_entry(s, "a", "first disk");
    server_entry(s, "b", "");
    fs_reply(s, NBD_OPT_LIST, NBD_REP_ACK, NULL, 0);
    opt = fs_read_option(s, NULL, NULL);
    g_assert_cmpuint(opt, ==, NBD_OPT_INFO);
    fs_info_export(s, opt, 4 * MiB, NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY);
    fs_reply(s, opt, NBD_REP_ACK, NULL, 0);
    opt = fs_read_option(s, NULL, NULL);
    g_assert_cmpuint(opt, ==, NBD_OPT_LIST_META_CONTEXT);
    fs_reply(s, opt, NBD_REP_META_CONTEXT, ctx, sizeof(ctx) - 1);
    fs_reply(s, opt, NBD_REP_ACK, NULL, 0);
    opt = fs_read_option(s, NULL, NULL);
    fs_reply_text(s, opt, NBD_REP_ERR_UNKNOWN, "gone");
    opt = fs_read_option(s, NULL, NULL);
    fs_reply(s, opt, NBD_REP_ACK, NULL, 0);
    g_assert_cmpuint(fs_read_option(s, NULL, NULL), ==, NBD_OPT_ABORT);
    fs_reply(s, NBD_OPT_ABORT, NBD_REP_ACK, NULL, 0);
    script_nothing(s);
}

static void test_list(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) list = NULL;
    WdSocketAddress *addr = NULL;
    FakeServer *fs = fake_server_pair(script_list, NULL, &addr);
    WdNbdClientConfig cfg = { .addr = addr, .open_timeout = 5 };
    WdNbdExportEntry *a, *b;

    list = wd_nbd_client_list_exports(&cfg, &err);
    close(addr->fd);
    g_assert_no_error(err);
    g_assert_cmpuint(list->len, ==, 2);
    a = g_ptr_array_index(list, 0);
    b = g_ptr_array_index(list, 1);
    g_assert_cmpstr(a->name, ==, "a");
    g_assert_cmpstr(a->description, ==, "first disk");
    g_assert_true(a->has_info);
    g_assert_cmpuint(a->size, ==, 4 * MiB);
    g_assert_cmpstr(a->contexts[0], ==, "base:allocation");
    g_assert_null(a->contexts[1]);
    g_assert_cmpstr(b->name, ==, "b");
    g_assert_null(b->description);
    g_assert_false(b->has_info);
    fake_server_join(fs);
    wd_socket_address_free(addr);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-nbd-client-XXXXXX", NULL);
    g_test_add_func("/nbd-client/basic", test_basic);
    g_test_add_func("/nbd-client/out-of-order", test_out_of_order);
    g_test_add_func("/nbd-client/export-name-fallback",
                    test_export_name_fallback);
    g_test_add_func("/nbd-client/export-not-found", test_export_not_found);
    g_test_add_func("/nbd-client/tls-required", test_tls_required);
    g_test_add_func("/nbd-client/hostile-handshake", test_hostile_handshake);
    g_test_add_func("/nbd-client/hostile-replies", test_hostile_replies);
    g_test_add_func("/nbd-client/stall", test_stall);
    g_test_add_func("/nbd-client/reconnect", test_reconnect);
    g_test_add_func("/nbd-client/multi-conn", test_multi_conn);
    g_test_add_func("/nbd-client/list", test_list);

    g_autofree char *pki = g_build_filename(tmpdir, "pki", NULL);
    const char *servers[] = { "localhost", "127.0.0.1", NULL };
    if (wd_certs_create(pki, servers, NULL, 30, &err)) {
        WdTlsX509Config s = { .dir = pki, .endpoint = WD_TLS_ENDPOINT_SERVER,
                              .sanity_check = true };
        WdTlsX509Config c = { .dir = pki, .endpoint = WD_TLS_ENDPOINT_CLIENT,
                              .verify_peer = true, .sanity_check = true };
        server_creds = wd_tls_creds_x509_load(&s, &err);
        g_assert_no_error(err);
        client_creds = wd_tls_creds_x509_load(&c, &err);
        g_assert_no_error(err);
        g_test_add_func("/nbd-client/tls-refused", test_tls_refused);
        g_test_add_func("/nbd-client/tls-ok", test_tls_ok);
        g_test_add_func("/nbd-client/tls-hostname-mismatch",
                        test_tls_hostname_mismatch);
        g_test_add_func("/nbd-client/tls-no-hostname", test_tls_no_hostname);
    }
    ret = g_test_run();
    wd_tls_creds_unref(server_creds);
    wd_tls_creds_unref(client_creds);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", tmpdir);
    if (system(rm) != 0) {
        ret = 1;
    }
    g_free(tmpdir);
    return ret;
}
