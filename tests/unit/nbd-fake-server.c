/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scripted NBD server used by the client tests: socketpair or unix
 * socket plumbing, and helpers that write protocol messages exactly as a
 * script spells them (so scripts can also write them wrong).
 */
#include "tests/unit/nbd-fake-server.h"
#include "runtime/io/channel-tls.h"

WdTlsCreds *fake_server_creds;

#include <endian.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static gpointer run(gpointer opaque)
{
    FakeServer *s = opaque;

    s->script(s);
    return NULL;
}

FakeServer *fake_server_pair(FakeScript script, void *opaque,
                             WdSocketAddress **addr)
{
    FakeServer *s = g_new0(FakeServer, 1);
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    s->ch = wd_channel_socket_new_fd(sv[0], NULL);
    g_assert_nonnull(s->ch);
    s->listen_fd = -1;
    s->script = script;
    s->opaque = opaque;
    *addr = wd_socket_address_new_fd(sv[1]);
    s->thread = g_thread_new("fake-nbd", run, s);
    return s;
}

FakeServer *fake_server_unix(const char *dir, FakeScript script,
                             void *opaque, WdSocketAddress **addr)
{
    FakeServer *s = g_new0(FakeServer, 1);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    static gint counter;

    s->path = g_strdup_printf("%s/fake-%d.sock", dir,
                              g_atomic_int_add(&counter, 1));
    g_strlcpy(sun.sun_path, s->path, sizeof(sun.sun_path));
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(bind(s->listen_fd, (struct sockaddr *)&sun,
                         sizeof(sun)), ==, 0);
    g_assert_cmpint(listen(s->listen_fd, 16), ==, 0);
    s->script = script;
    s->opaque = opaque;
    *addr = wd_socket_address_new_unix(s->path);
    s->thread = g_thread_new("fake-nbd", run, s);
    return s;
}

void fake_server_join(FakeServer *s)
{
    g_thread_join(s->thread);
    if (s->ch) {
        wd_channel_unref(s->ch);
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        unlink(s->path);
    }
    g_free(s->path);
    g_free(s);
}

void fs_accept(FakeServer *s)
{
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    fs_hangup(s);
    s->ch = wd_channel_socket_new_fd(fd, NULL);
    g_assert_nonnull(s->ch);
    s->accepted++;
}

void fs_hangup(FakeServer *s)
{
    if (s->ch) {
        wd_channel_shutdown(s->ch, WD_CHANNEL_SHUTDOWN_BOTH, NULL);
        g_clear_pointer(&s->ch, wd_channel_unref);
    }
}

bool fs_try_read(FakeServer *s, void *buf, size_t len)
{
    return wd_channel_read_all(s->ch, buf, len, NULL) == 1;
}

void fs_read(FakeServer *s, void *buf, size_t len)
{
    g_autoptr(GError) err = NULL;

    if (wd_channel_read_all(s->ch, buf, len, &err) != 1) {
        g_error("fake server: read of %zu bytes failed: %s", len,
                err ? err->message : "EOF");
    }
}

void fs_write(FakeServer *s, const void *buf, size_t len)
{
    /* The client may have hung up already (hostile tests): ignore. */
    wd_channel_write_all(s->ch, buf, len, NULL);
}

void fs_greeting(FakeServer *s, uint16_t gflags)
{
    NbdNewGreeting g = {
        .nbdmagic = htobe64(NBD_MAGIC),
        .version = htobe64(NBD_NEW_VERSION),
        .gflags = htobe16(gflags),
    };
    uint32_t cflags;

    fs_write(s, &g, sizeof(g));
    fs_read(s, &cflags, sizeof(cflags));
    g_assert_cmphex(be32toh(cflags) & ~gflags, ==, 0);
}

uint32_t fs_read_option(FakeServer *s, char **data, uint32_t *len)
{
    NbdOption o;
    uint32_t n;
    char *buf;

    fs_read(s, &o, sizeof(o));
    g_assert_cmphex(be64toh(o.version), ==, NBD_OPTS_MAGIC);
    n = be32toh(o.optlen);
    g_assert_cmpuint(n, <=, 65536);
    buf = g_malloc(n + 1);
    fs_read(s, buf, n);
    buf[n] = '\0';
    if (len) {
        *len = n;
    }
    if (data) {
        *data = buf;
    } else {
        g_free(buf);
    }
    return be32toh(o.option);
}

void fs_reply(FakeServer *s, uint32_t opt, uint32_t type, const void *data,
              uint32_t len)
{
    NbdFixedNewOptionReply r = {
        .magic = htobe64(NBD_REP_MAGIC),
        .option = htobe32(opt),
        .reply = htobe32(type),
        .replylen = htobe32(len),
    };
    g_autofree uint8_t *buf = g_malloc(sizeof(r) + len);

    memcpy(buf, &r, sizeof(r));
    if (len) {
        memcpy(buf + sizeof(r), data, len);
    }
    fs_write(s, buf, sizeof(r) + len);
}

void fs_reply_text(FakeServer *s, uint32_t opt, uint32_t type,
                   const char *text)
{
    fs_reply(s, opt, type, text, strlen(text));
}

void fs_info_export(FakeServer *s, uint32_t opt, uint64_t size,
                    uint16_t flags)
{
    NbdInfoExport ie = {
        .info = htobe16(NBD_INFO_EXPORT),
        .exportsize = htobe64(size),
        .eflags = htobe16(flags),
    };

    fs_reply(s, opt, NBD_REP_INFO, &ie, sizeof(ie));
}

bool fs_starttls(FakeServer *s)
{
    WdChannel *tls;

    fs_reply(s, NBD_OPT_STARTTLS, NBD_REP_ACK, NULL, 0);
    tls = wd_channel_tls_new_server(s->ch, s->tls, NULL);
    g_assert_nonnull(tls);
    if (!wd_channel_tls_handshake_sync(tls, NULL)) {
        wd_channel_unref(tls);
        return false;
    }
    wd_channel_unref(s->ch);
    s->ch = tls;
    return true;
}

void fs_negotiate(FakeServer *s, uint64_t size, uint16_t flags)
{
    NbdInfoBlockSize bs = {
        .info = htobe16(NBD_INFO_BLOCK_SIZE),
        .minimum = htobe32(1),
        .preferred = htobe32(4096),
        .maximum = htobe32(NBD_MAX_PAYLOAD),
    };
    g_autofree char *meta = NULL;
    uint32_t opt, id = htobe32(FS_META_ID);
    char ctx[4 + sizeof(NBD_META_BASE_ALLOCATION) - 1];

    opt = fs_read_option(s, NULL, NULL);
    g_assert_cmpuint(opt, ==, NBD_OPT_STRUCTURED_REPLY);
    fs_reply(s, opt, NBD_REP_ACK, NULL, 0);
    opt = fs_read_option(s, &meta, NULL);
    g_assert_cmpuint(opt, ==, NBD_OPT_SET_META_CONTEXT);
    memcpy(ctx, &id, 4);
    memcpy(ctx + 4, NBD_META_BASE_ALLOCATION, sizeof(ctx) - 4);
    fs_reply(s, opt, NBD_REP_META_CONTEXT, ctx, sizeof(ctx));
    fs_reply(s, opt, NBD_REP_ACK, NULL, 0);
    opt = fs_read_option(s, NULL, NULL);
    g_assert_cmpuint(opt, ==, NBD_OPT_GO);
    fs_reply(s, opt, NBD_REP_INFO, &bs, sizeof(bs));
    fs_info_export(s, opt, size, flags | NBD_FLAG_HAS_FLAGS);
    fs_reply(s, opt, NBD_REP_ACK, NULL, 0);
}

bool fs_read_request(FakeServer *s, FsRequest *r, char **data)
{
    NbdRequest req;

    if (!fs_try_read(s, &req, sizeof(req))) {
        return false;
    }
    g_assert_cmphex(be32toh(req.magic), ==, NBD_REQUEST_MAGIC);
    r->flags = be16toh(req.flags);
    r->type = be16toh(req.type);
    r->cookie = be64toh(req.cookie);
    r->offset = be64toh(req.offset);
    r->count = be32toh(req.count);
    if (r->type == NBD_CMD_WRITE) {
        char *buf = g_malloc(r->count);

        fs_read(s, buf, r->count);
        if (data) {
            *data = buf;
        } else {
            g_free(buf);
        }
    }
    return true;
}

void fs_simple_reply(FakeServer *s, uint64_t cookie, uint32_t err,
                     const void *data, uint32_t len)
{
    NbdSimpleReply r = {
        .magic = htobe32(NBD_SIMPLE_REPLY_MAGIC),
        .error = htobe32(err),
        .cookie = htobe64(cookie),
    };
    g_autofree uint8_t *buf = g_malloc(sizeof(r) + len);

    memcpy(buf, &r, sizeof(r));
    if (len) {
        memcpy(buf + sizeof(r), data, len);
    }
    fs_write(s, buf, sizeof(r) + len);
}

void fs_chunk(FakeServer *s, uint16_t flags, uint16_t type, uint64_t cookie,
              const void *payload, uint32_t len)
{
    NbdStructuredReply h = {
        .magic = htobe32(NBD_STRUCTURED_REPLY_MAGIC),
        .flags = htobe16(flags),
        .type = htobe16(type),
        .cookie = htobe64(cookie),
        .length = htobe32(len),
    };
    g_autofree uint8_t *buf = g_malloc(sizeof(h) + len);

    memcpy(buf, &h, sizeof(h));
    if (len) {
        memcpy(buf + sizeof(h), payload, len);
    }
    fs_write(s, buf, sizeof(h) + len);
}

void fs_data_chunk(FakeServer *s, uint64_t cookie, bool done,
                   uint64_t offset, const void *data, uint32_t len)
{
    g_autofree uint8_t *p = g_malloc(8 + len);
    uint64_t off = htobe64(offset);

    memcpy(p, &off, 8);
    memcpy(p + 8, data, len);
    fs_chunk(s, done ? NBD_REPLY_FLAG_DONE : 0, NBD_REPLY_TYPE_OFFSET_DATA,
             cookie, p, 8 + len);
}

/* A client on a fresh fake server; the client's fd copy is closed. */
WdNbdClient *fake_connect(FakeScript script, void *opaque,
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
    (*fs)->tls = fake_server_creds;
    cfg->addr = addr;
    c = wd_nbd_client_connect(cfg, errp);
    close(addr->fd);
    wd_socket_address_free(addr);
    cfg->addr = NULL;
    return c;
}

/* Expects the connect to fail with @want ('*' matches any text). */
void fake_expect_connect_error(FakeScript script, WdNbdClientConfig *cfg,
                               const char *want)
{
    g_autoptr(GError) err = NULL;
    FakeServer *fs;
    WdNbdClient *c = fake_connect(script, NULL, cfg, &fs, &err);

    g_assert_null(c);
    g_assert_nonnull(err);
    if (!g_pattern_match_simple(want, err->message)) {
        g_error("expected error '%s', got '%s'", want, err->message);
    }
    fake_server_join(fs);
}

void fs_drain(FakeServer *s)
{
    FsRequest r;

    while (fs_read_request(s, &r, NULL) && r.type != NBD_CMD_DISC) {
    }
}

void fs_until_eof(FakeServer *s)
{
    char c;

    while (fs_try_read(s, &c, 1)) {
    }
}

void fs_expect_eof(FakeServer *s)
{
    char c;

    g_assert_false(fs_try_read(s, &c, 1));
}
