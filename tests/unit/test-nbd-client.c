/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NBD client tests against a scripted fake server: GO, the EXPORT_NAME
 * fallback, TLS (required, refused, verified, wrong hostname), requests
 * answered out of order, reconnect and multi-conn, NBD_OPT_LIST, and
 * hostile servers (bad magic, oversized option reply, unknown handle,
 * chunks outside the request, extents out of range, stalls) that must
 * give an exact error, never a crash, a hang or a stray write.
 */
#include "runtime/block/block-nbd.h"
#include "runtime/crypto/certs.h"
#include "runtime/nbd/client.h"
#include "tests/unit/nbd-fake-server.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define MiB (1024 * 1024)

static char *tmpdir;
static WdTlsCreds *client_creds;

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
    WdNbdClient *c = fake_connect(script_basic, NULL, NULL, &fs, &err);

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
    fs_drain(s);
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

    j.c = fake_connect(script_out_of_order, NULL, NULL, &fs, &err);
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
    fs_drain(s);
}

static void test_export_name_fallback(void)
{
    g_autoptr(GError) err = NULL;
    WdNbdClientConfig cfg = { .export_name = "disk", .open_timeout = 5 };
    FakeServer *fs;
    WdNbdClient *c = fake_connect(script_export_name, NULL, &cfg, &fs, &err);

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

    fake_expect_connect_error(script_not_found, &cfg, "Export 'nope' not found "
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
    fake_expect_connect_error(script_tls_required, NULL, "Server requires TLS: "
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

    g_assert_null(fake_connect(script_tls_refused, "TLS not configured", &cfg,
                               &fs, &err));
    g_assert_cmpstr(err->message, ==, "Server does not support TLS (it "
                    "refused STARTTLS) (server reported: TLS not "
                    "configured)");
    fake_server_join(fs);
    fake_expect_connect_error(script_tls_refused, &cfg, "Server does not "
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
    fs_drain(s);
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
    WdNbdClient *c = fake_connect(script_tls_ok, NULL, &cfg, &fs, &err);

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

    g_assert_null(fake_connect(script_tls_ok, "reject", &cfg, &fs, &err));
    g_assert_true(g_str_has_prefix(err->message, "TLS with the NBD server "
                                   "at 'fd:"));
    g_assert_nonnull(strstr(err->message, "failed: Certificate does not "
                            "match the hostname wrong.example: the "
                            "certificate has DNS:localhost"));
    fake_server_join(fs);
}

static void test_tls_no_hostname(void)
{
    WdNbdClientConfig cfg = { .tls = client_creds, .open_timeout = 5 };
    g_autoptr(GError) err = NULL;
    FakeServer *fs;

    g_assert_null(fake_connect(fs_expect_eof, NULL, &cfg, &fs, &err));
    g_assert_true(g_str_has_prefix(err->message, "No hostname for "
                                   "certificate validation: the NBD "
                                   "server is at 'fd:"));
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
    fs_drain(s);
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
        fs_drain(s);
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
    fs_expect_eof(s);
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

/* ---- asynchronous requests, ESHUTDOWN, the block driver ------------------ */

typedef struct {
    GMutex lock;
    GCond cond;
    int calls;
    int ret;
    char *msg;
} AioResult;

static void aio_cb(void *opaque, int ret, const char *msg)
{
    AioResult *r = opaque;

    g_mutex_lock(&r->lock);
    r->calls++;
    r->ret = ret;
    g_free(r->msg);
    r->msg = g_strdup(msg);
    g_cond_signal(&r->cond);
    g_mutex_unlock(&r->lock);
}

static void aio_wait(AioResult *r, int calls)
{
    g_mutex_lock(&r->lock);
    while (r->calls < calls) {
        g_cond_wait(&r->cond, &r->lock);
    }
    g_mutex_unlock(&r->lock);
}

static void script_aio(FakeServer *s)
{
    FsRequest r;
    uint8_t data[512];

    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    fs_negotiate(s, MiB, 0);
    g_assert_true(fs_read_request(s, &r, NULL));
    memset(data, 'A', sizeof(data));
    fs_data_chunk(s, r.cookie, true, r.offset, data, sizeof(data));
    fs_drain(s);
}

static void test_aio(void)
{
    g_autoptr(GError) err = NULL;
    AioResult res = { 0 };
    uint8_t buf[512];
    FakeServer *fs;
    WdNbdClient *c = fake_connect(script_aio, NULL, NULL, &fs, &err);

    g_assert_no_error(err);
    g_mutex_init(&res.lock);
    g_cond_init(&res.cond);
    g_assert_cmpuint(wd_nbd_client_get_max_request(c), ==, NBD_MAX_PAYLOAD);
    wd_nbd_client_aio_pread(c, buf, 1024, 512, aio_cb, &res);
    aio_wait(&res, 1);
    g_assert_cmpint(res.ret, ==, 0);
    g_assert_null(res.msg);
    g_assert_cmpuint(buf[0], ==, 'A');
    /* Failures known locally call back before returning. */
    wd_nbd_client_aio_write_zeroes(c, 0, 512, 0, aio_cb, &res);
    g_assert_cmpint(res.calls, ==, 2);
    g_assert_cmpint(res.ret, ==, -ENOTSUP);
    g_assert_cmpstr(res.msg, ==, "The NBD server does not support "
                    "WRITE_ZEROES");
    wd_nbd_client_aio_pread(c, buf, MiB, 512, aio_cb, &res);
    g_assert_cmpint(res.calls, ==, 3);
    g_assert_cmpint(res.ret, ==, -EINVAL);
    wd_nbd_client_close(c);
    fake_server_join(fs);
    g_free(res.msg);
    g_mutex_clear(&res.lock);
    g_cond_clear(&res.cond);
}

/* A server going down answers ESHUTDOWN: with reconnect-delay the READ
 * is sent again to the server that comes back. */
static void script_eshutdown(FakeServer *s)
{
    FsRequest r;
    uint8_t data[512];

    fs_accept(s);
    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    fs_negotiate(s, MiB, 0);
    g_assert_true(fs_read_request(s, &r, NULL));
    fs_simple_reply(s, r.cookie, NBD_ESHUTDOWN, NULL, 0);
    fs_until_eof(s);            /* the client disconnects by itself */
    fs_accept(s);
    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    fs_negotiate(s, MiB, 0);
    g_assert_true(fs_read_request(s, &r, NULL));
    memset(data, 'z', sizeof(data));
    fs_data_chunk(s, r.cookie, true, r.offset, data, sizeof(data));
    fs_drain(s);
}

static void test_eshutdown(void)
{
    g_autoptr(GError) err = NULL;
    WdSocketAddress *addr = NULL;
    uint8_t buf[512];
    FakeServer *fs = fake_server_unix(tmpdir, script_eshutdown, NULL, &addr);
    WdNbdClientConfig cfg = {
        .addr = addr, .open_timeout = 5, .reconnect_delay = 5,
    };
    WdNbdClient *c = wd_nbd_client_connect(&cfg, &err);

    g_assert_no_error(err);
    g_assert_cmpint(wd_nbd_client_pread(c, buf, 0, 512, &err), ==, 0);
    g_assert_cmpuint(buf[0], ==, 'z');
    g_assert_cmpuint(fs->accepted, ==, 2);
    wd_nbd_client_close(c);
    fake_server_join(fs);
    wd_socket_address_free(addr);
}

static void script_block(FakeServer *s)
{
    uint32_t st[5] = {
        htobe32(FS_META_ID), htobe32(4096), 0,
        htobe32(MiB), htobe32(NBD_STATE_HOLE | NBD_STATE_ZERO),
    };
    unsigned status_requests = 0;
    FsRequest r;

    fs_greeting(s, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    fs_negotiate(s, MiB, NBD_FLAG_SEND_WRITE_ZEROES);
    while (fs_read_request(s, &r, NULL) && r.type != NBD_CMD_DISC) {
        if (r.type == NBD_CMD_BLOCK_STATUS) {
            status_requests++;
            fs_chunk(s, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS,
                     r.cookie, st, sizeof(st));
        } else {
            fs_simple_reply(s, r.cookie, 0, NULL, 0);
        }
    }
    /* Two status queries, one after the write invalidated the cache. */
    g_assert_cmpuint(status_requests, ==, 2);
}

static void test_block_driver(void)
{
    g_autoptr(GError) err = NULL;
    WdSocketAddress *addr = NULL;
    FakeServer *fs = fake_server_pair(script_block, NULL, &addr);
    WdNbdClientConfig cfg = { .addr = addr, .open_timeout = 5 };
    WdBlockNode *bs = wd_block_nbd_open("remote0", &cfg, &err);
    uint64_t pnum = 0;
    int status = -1;

    close(addr->fd);
    g_assert_no_error(err);
    g_assert_cmpstr(wd_block_driver_name(bs), ==, "nbd");
    g_assert_cmpuint(wd_block_get_size(bs), ==, MiB);
    g_assert_false(wd_block_is_read_only(bs));
    g_assert_nonnull(wd_block_nbd_get_client(bs));
    g_assert_cmpint(wd_block_block_status(bs, 0, MiB, &pnum, &status), ==, 0);
    g_assert_cmpuint(pnum, ==, 4096);
    g_assert_cmpint(status, ==, WD_BLOCK_DATA);
    /* From the cache: no second request. */
    g_assert_cmpint(wd_block_block_status(bs, 4096, 8192, &pnum, &status),
                    ==, 0);
    g_assert_cmpuint(pnum, ==, 8192);
    g_assert_cmpint(status, ==, WD_BLOCK_ZERO);
    g_assert_cmpint(wd_block_write_zeroes(bs, 0, 4096, WD_BLOCK_MAY_UNMAP),
                    ==, 0);
    g_assert_cmpint(wd_block_block_status(bs, 0, MiB, &pnum, &status), ==, 0);
    wd_block_node_unref(bs);
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
    g_test_add_func("/nbd-client/reconnect", test_reconnect);
    g_test_add_func("/nbd-client/multi-conn", test_multi_conn);
    g_test_add_func("/nbd-client/list", test_list);
    g_test_add_func("/nbd-client/aio", test_aio);
    g_test_add_func("/nbd-client/eshutdown-reconnect", test_eshutdown);
    g_test_add_func("/nbd-client/block-driver", test_block_driver);

    g_autofree char *pki = g_build_filename(tmpdir, "pki", NULL);
    const char *servers[] = { "localhost", "127.0.0.1", NULL };
    if (wd_certs_create(pki, servers, NULL, 30, &err)) {
        WdTlsX509Config s = { .dir = pki, .endpoint = WD_TLS_ENDPOINT_SERVER,
                              .sanity_check = true };
        WdTlsX509Config c = { .dir = pki, .endpoint = WD_TLS_ENDPOINT_CLIENT,
                              .verify_peer = true, .sanity_check = true };
        fake_server_creds = wd_tls_creds_x509_load(&s, &err);
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
    wd_tls_creds_unref(fake_server_creds);
    wd_tls_creds_unref(client_creds);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", tmpdir);
    if (system(rm) != 0) {
        ret = 1;
    }
    g_free(tmpdir);
    return ret;
}
