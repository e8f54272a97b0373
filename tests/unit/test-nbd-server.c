/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of the NBD server engine, speaking raw NBD over socketpairs (and
 * one unix listener) to a server with memory disks: the option gate,
 * greeting and client flags, GO/INFO/LIST/EXPORT_NAME, bad and oversized
 * options, TLS-required behaviour and STARTTLS cases (PSK), tls-authz,
 * transmission with simple and structured replies, errors, back-pressure,
 * max-connections, the handshake timer, export removal and shutdown.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "objects/objects.h"
#include "runtime/crypto/tlssession.h"
#include "runtime/nbd/nbd-conn-priv.h"
#include "runtime/nbd/server.h"
#include "runtime/object.h"

#define DISK_SIZE (1024 * 1024)
#define RO_SIZE (64 * 1024)
#define PSK_USER "alice"
#define PSK_KEY "10ffa6a2c42f0388a8d4b4c1c0d2e3f4"
/* Flags of "disk" without / with structured replies. */
#define DISK_FLAGS 0x0d6d
#define DISK_FLAGS_SR 0x0ded

static char *psk_dir;

/* ---- a raw NBD client on a blocking socket ------------------------------ */

typedef struct {
    int fd;
    WdTlsSession *tls;
} Cli;

/* Waits until @fd is ready, iterating the default main context meanwhile
 * (tls-authz checks and export removals complete there). */
static void pump_wait(int fd, short ev)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    struct pollfd p = { .fd = fd, .events = ev };

    while (poll(&p, 1, 5) == 0) {
        while (g_main_context_iteration(NULL, FALSE)) {
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    }
}

/* Iterates the main context until @cond() or 10 s. */
static void pump_until(gboolean (*cond)(gpointer), gpointer opaque)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    while (!cond(opaque)) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(2000);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    }
}

static ssize_t fd_push(const void *buf, size_t len, void *opaque)
{
    return send(*(int *)opaque, buf, len, MSG_NOSIGNAL);
}

static ssize_t fd_pull(void *buf, size_t len, void *opaque)
{
    return recv(*(int *)opaque, buf, len, 0);
}

static Cli *cli_new(WdNbdServer *s)
{
    g_autoptr(GError) err = NULL;
    Cli *c = g_new0(Cli, 1);
    int sv[2];
    WdChannel *ch;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    ch = wd_channel_socket_new_fd(sv[0], &err);
    g_assert_no_error(err);
    g_assert_true(wd_nbd_server_add_client(s, ch, &err));
    g_assert_no_error(err);
    wd_channel_unref(ch);
    c->fd = sv[1];
    return c;
}

static void cli_free(Cli *c)
{
    wd_tls_session_free(c->tls);
    close(c->fd);
    g_free(c);
}

static void cli_write(Cli *c, const void *buf, size_t len)
{
    g_autoptr(GError) err = NULL;

    while (len > 0) {
        ssize_t n = c->tls ? wd_tls_session_write(c->tls, buf, len, &err)
                           : send(c->fd, buf, len, MSG_NOSIGNAL);

        g_assert_no_error(err);
        g_assert_cmpint(n, >, 0);
        buf = (const uint8_t *)buf + n;
        len -= n;
    }
}

/* Reads up to @len bytes; returns 0 at EOF (or connection reset). */
static size_t cli_read_some(Cli *c, void *buf, size_t len)
{
    g_autoptr(GError) err = NULL;
    ssize_t n;

    if (!c->tls || !wd_tls_session_pending(c->tls)) {
        pump_wait(c->fd, POLLIN);
    }
    n = c->tls ? wd_tls_session_read(c->tls, buf, len, &err)
               : recv(c->fd, buf, len, 0);
    if (n < 0 && (c->tls || errno == ECONNRESET)) {
        return 0;
    }
    g_assert_cmpint(n, >=, 0);
    return n;
}

static void cli_read(Cli *c, void *buf, size_t len)
{
    while (len > 0) {
        size_t n = cli_read_some(c, buf, len);

        g_assert_cmpuint(n, >, 0);
        buf = (uint8_t *)buf + n;
        len -= n;
    }
}

static void cli_expect_eof(Cli *c)
{
    uint8_t b[256];

    g_assert_cmpuint(cli_read_some(c, b, sizeof(b)), ==, 0);
}

static void cli_greeting(Cli *c, uint32_t flags)
{
    static const uint8_t want[] = {
        0x4e, 0x42, 0x44, 0x4d, 0x41, 0x47, 0x49, 0x43,
        0x49, 0x48, 0x41, 0x56, 0x45, 0x4f, 0x50, 0x54, 0x00, 0x03,
    };
    uint8_t got[sizeof(want)];
    uint32_t be = htobe32(flags);

    cli_read(c, got, sizeof(got));
    g_assert_cmpmem(got, sizeof(got), want, sizeof(want));
    cli_write(c, &be, 4);
}

static void cli_opt(Cli *c, uint32_t opt, const void *data, uint32_t len)
{
    NbdOption h = {
        .version = htobe64(NBD_OPTS_MAGIC),
        .option = htobe32(opt),
        .optlen = htobe32(len),
    };

    cli_write(c, &h, sizeof(h));
    if (data && len) {
        cli_write(c, data, len);
    }
}

/* Reads one option reply to @opt; returns its type and payload. */
static uint32_t cli_rep(Cli *c, uint32_t opt, char **payload, uint32_t *len)
{
    NbdFixedNewOptionReply r;
    uint32_t n;

    cli_read(c, &r, sizeof(r));
    g_assert_cmphex(be64toh(r.magic), ==, NBD_REP_MAGIC);
    g_assert_cmpuint(be32toh(r.option), ==, opt);
    n = be32toh(r.replylen);
    g_assert_cmpuint(n, <=, 65536);
    *payload = g_malloc0(n + 1);
    cli_read(c, *payload, n);
    if (len) {
        *len = n;
    }
    return be32toh(r.reply);
}

/* Expects an error reply of @type with exactly @msg. */
static void cli_rep_err(Cli *c, uint32_t opt, uint32_t type, const char *msg)
{
    g_autofree char *p = NULL;

    g_assert_cmphex(cli_rep(c, opt, &p, NULL), ==, type);
    g_assert_cmpstr(p, ==, msg);
}

static void cli_rep_ack(Cli *c, uint32_t opt)
{
    g_autofree char *p = NULL;
    uint32_t len;

    g_assert_cmphex(cli_rep(c, opt, &p, &len), ==, NBD_REP_ACK);
    g_assert_cmpuint(len, ==, 0);
}

/* Builds an INFO/GO or META payload: u32 name length, name, then either
 * u16 count + u16 infos or u32 count + (u32 len, query) pairs. */
static GByteArray *name_payload(const char *name)
{
    GByteArray *a = g_byte_array_new();
    uint32_t n = htobe32(strlen(name));

    g_byte_array_append(a, (uint8_t *)&n, 4);
    g_byte_array_append(a, (const uint8_t *)name, strlen(name));
    return a;
}

static void cli_send_go(Cli *c, uint32_t opt, const char *name,
                        const uint16_t *infos, uint16_t ninfo)
{
    g_autoptr(GByteArray) a = name_payload(name);
    uint16_t n = htobe16(ninfo);

    g_byte_array_append(a, (uint8_t *)&n, 2);
    for (uint16_t i = 0; i < ninfo; i++) {
        uint16_t be = htobe16(infos[i]);

        g_byte_array_append(a, (uint8_t *)&be, 2);
    }
    cli_opt(c, opt, a->data, a->len);
}

static void cli_send_meta(Cli *c, uint32_t opt, const char *name,
                          const char *const *queries)
{
    g_autoptr(GByteArray) a = name_payload(name);
    uint32_t n = htobe32(queries ? g_strv_length((char **)queries) : 0);

    g_byte_array_append(a, (uint8_t *)&n, 4);
    for (guint i = 0; queries && queries[i]; i++) {
        uint32_t l = htobe32(strlen(queries[i]));

        g_byte_array_append(a, (uint8_t *)&l, 4);
        g_byte_array_append(a, (const uint8_t *)queries[i],
                            strlen(queries[i]));
    }
    cli_opt(c, opt, a->data, a->len);
}

/* Reads GO/INFO replies up to the ACK; returns the export's flags. */
static uint16_t cli_go_replies(Cli *c, uint32_t opt, uint64_t *size)
{
    uint16_t eflags = 0;

    for (;;) {
        g_autofree char *p = NULL;
        uint32_t len;
        uint32_t type = cli_rep(c, opt, &p, &len);

        if (type == NBD_REP_ACK) {
            return eflags;
        }
        g_assert_cmphex(type, ==, NBD_REP_INFO);
        if (be16toh(*(uint16_t *)p) == NBD_INFO_EXPORT) {
            NbdInfoExport ie;

            g_assert_cmpuint(len, ==, sizeof(ie));
            memcpy(&ie, p, sizeof(ie));
            eflags = be16toh(ie.eflags);
            if (size) {
                *size = be64toh(ie.exportsize);
            }
        }
    }
}

/* Negotiates up to transmission on @name; @sr adds structured replies and
 * base:allocation.  Returns the transmission flags. */
static uint16_t cli_go(Cli *c, const char *name, bool sr)
{
    if (sr) {
        static const char *const q[] = { "base:allocation", NULL };
        g_autofree char *p = NULL;

        cli_opt(c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
        cli_rep_ack(c, NBD_OPT_STRUCTURED_REPLY);
        cli_send_meta(c, NBD_OPT_SET_META_CONTEXT, name, q);
        g_assert_cmphex(cli_rep(c, NBD_OPT_SET_META_CONTEXT, &p, NULL), ==,
                        NBD_REP_META_CONTEXT);
        cli_rep_ack(c, NBD_OPT_SET_META_CONTEXT);
    }
    cli_send_go(c, NBD_OPT_GO, name, NULL, 0);
    return cli_go_replies(c, NBD_OPT_GO, NULL);
}

static void cli_cmd(Cli *c, uint16_t type, uint16_t flags, uint64_t cookie,
                    uint64_t off, uint32_t len, const void *data)
{
    NbdRequest r = {
        .magic = htobe32(NBD_REQUEST_MAGIC),
        .flags = htobe16(flags),
        .type = htobe16(type),
        .cookie = htobe64(cookie),
        .offset = htobe64(off),
        .count = htobe32(len),
    };

    cli_write(c, &r, sizeof(r));
    if (data) {
        cli_write(c, data, len);
    }
}

/* Reads a simple reply; returns its error and sets *cookie. */
static uint32_t cli_simple(Cli *c, uint64_t *cookie)
{
    NbdSimpleReply r;

    cli_read(c, &r, sizeof(r));
    g_assert_cmphex(be32toh(r.magic), ==, NBD_SIMPLE_REPLY_MAGIC);
    *cookie = be64toh(r.cookie);
    return be32toh(r.error);
}

/* Sends one command and expects a simple reply with @err. */
static void cli_check(Cli *c, uint16_t type, uint16_t flags, uint64_t off,
                      uint32_t len, const void *data, uint32_t err)
{
    uint64_t cookie;

    cli_cmd(c, type, flags, 77, off, len, data);
    g_assert_cmpuint(cli_simple(c, &cookie), ==, err);
    g_assert_cmpuint(cookie, ==, 77);
}

/* Reads one structured chunk; returns its type, payload in *payload. */
static uint16_t cli_chunk(Cli *c, uint64_t cookie, uint16_t *flags,
                          uint8_t **payload, uint32_t *len)
{
    NbdStructuredReply r;

    cli_read(c, &r, sizeof(r));
    g_assert_cmphex(be32toh(r.magic), ==, NBD_STRUCTURED_REPLY_MAGIC);
    g_assert_cmpuint(be64toh(r.cookie), ==, cookie);
    *flags = be16toh(r.flags);
    *len = be32toh(r.length);
    *payload = g_malloc(*len + 1);
    cli_read(c, *payload, *len);
    return be16toh(r.type);
}

/* ---- servers ------------------------------------------------------------ */

typedef struct {
    WdTlsCreds *creds;
    const char *authz;
    unsigned max_conn;          /* 0: default */
    unsigned hs_seconds;        /* 0: default */
} SrvOpts;

static WdNbdServer *srv_new(const SrvOpts *o)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdBlockNode) disk = wd_block_memory_new(NULL, DISK_SIZE, &err);
    g_autoptr(WdBlockNode) ro = wd_block_memory_new(NULL, RO_SIZE, &err);
    WdNbdServerConfig cfg = {
        .tls_creds = o ? o->creds : NULL,
        .tls_authz = o ? o->authz : NULL,
        .max_connections_set = o && o->max_conn,
        .max_connections = o ? o->max_conn : 0,
        .handshake_max_seconds_set = o && o->hs_seconds,
        .handshake_max_seconds = o ? o->hs_seconds : 0,
        .io_threads = 2,
        .name = "test",
    };
    WdNbdServer *s = wd_nbd_server_new(&cfg, &err);

    g_assert_no_error(err);
    g_assert_true(wd_nbd_server_add_export(
        s, wd_nbd_export_new("disk", "Test disk", disk, true, true, &err),
        &err));
    g_assert_true(wd_nbd_server_add_export(
        s, wd_nbd_export_new("ro", NULL, ro, false, false, &err), &err));
    g_assert_no_error(err);
    return s;
}

static gboolean no_connections(gpointer s)
{
    return wd_nbd_server_count_connections(s) == 0;
}

static WdTlsCreds *psk_creds(WdTlsEndpoint ep)
{
    g_autoptr(GError) err = NULL;
    WdTlsCreds *c = wd_tls_creds_psk_load(
        ep, psk_dir, ep == WD_TLS_ENDPOINT_CLIENT ? PSK_USER : NULL, NULL,
        &err);

    g_assert_no_error(err);
    return c;
}

/* STARTTLS (ACK expected) and a client PSK handshake. */
static void cli_starttls(Cli *c)
{
    g_autoptr(WdTlsCreds) creds = psk_creds(WD_TLS_ENDPOINT_CLIENT);
    g_autoptr(GError) err = NULL;
    int r;

    cli_opt(c, NBD_OPT_STARTTLS, NULL, 0);
    cli_rep_ack(c, NBD_OPT_STARTTLS);
    c->tls = wd_tls_session_new(creds, NULL, fd_push, fd_pull, &c->fd, &err);
    g_assert_no_error(err);
    do {
        r = wd_tls_session_handshake(c->tls, &err);
        g_assert_no_error(err);
    } while (r != WD_TLS_HANDSHAKE_COMPLETE);
}

/* ---- tests: negotiation ------------------------------------------------- */

/* The gate table (STYLE G2): what happens to each option before TLS. */
static void test_gate(void)
{
    static const uint32_t opts[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                     0x42 };

    for (unsigned i = 0; i < G_N_ELEMENTS(opts); i++) {
        uint32_t o = opts[i];
        NbdGate want = o == NBD_OPT_STARTTLS || o == NBD_OPT_ABORT ?
                       NBD_GATE_HANDLE : o == NBD_OPT_EXPORT_NAME ?
                       NBD_GATE_DISCONNECT : NBD_GATE_TLS_REQD;

        g_assert_cmpint(nbd_option_gate(true, false, o), ==, want);
        g_assert_cmpint(nbd_option_gate(true, true, o), ==, NBD_GATE_HANDLE);
        g_assert_cmpint(nbd_option_gate(false, false, o), ==,
                        NBD_GATE_HANDLE);
    }
}

static void test_bad_client_flags(void)
{
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s);

    cli_greeting(c, 0x80000001);        /* unknown bit: hang up */
    cli_expect_eof(c);
    cli_free(c);
    c = cli_new(s);
    cli_greeting(c, 0);                 /* not fixed newstyle */
    cli_expect_eof(c);
    cli_free(c);
    wd_nbd_server_free(s);
}

static void test_go_info(void)
{
    static const uint16_t infos[] = { NBD_INFO_NAME, NBD_INFO_DESCRIPTION,
                                      NBD_INFO_BLOCK_SIZE, 77 };
    static const uint8_t bs[] = { 0, 3, 0, 0, 0, 1, 0, 0, 0x10, 0,
                                  0x02, 0, 0, 0 };
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s);
    char *p;
    uint32_t len;
    uint64_t size = 0;

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    cli_send_go(c, NBD_OPT_INFO, "disk", infos, G_N_ELEMENTS(infos));
    g_assert_cmphex(cli_rep(c, NBD_OPT_INFO, &p, &len), ==, NBD_REP_INFO);
    g_assert_cmpmem(p, len, "\0\1disk", 6);
    g_free(p);
    g_assert_cmphex(cli_rep(c, NBD_OPT_INFO, &p, &len), ==, NBD_REP_INFO);
    g_assert_cmpmem(p, len, "\0\2Test disk", 11);
    g_free(p);
    g_assert_cmphex(cli_rep(c, NBD_OPT_INFO, &p, &len), ==, NBD_REP_INFO);
    g_assert_cmpmem(p, len, bs, sizeof(bs));   /* 1, 4096, 32 MiB */
    g_free(p);
    g_assert_cmphex(cli_go_replies(c, NBD_OPT_INFO, &size), ==, DISK_FLAGS);
    g_assert_cmpuint(size, ==, DISK_SIZE);
    /* INFO does not end negotiation; GO does. */
    g_assert_cmphex(cli_go(c, "disk", false), ==, DISK_FLAGS);
    cli_check(c, NBD_CMD_WRITE, 0, 0, 5, "hello", 0);
    cli_cmd(c, NBD_CMD_DISC, 0, 0, 0, 0, NULL);
    cli_expect_eof(c);
    cli_free(c);
    wd_nbd_server_free(s);
}

static void test_list(void)
{
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s);
    char *p;
    uint32_t len;

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(c, NBD_OPT_LIST, NULL, 0);
    g_assert_cmphex(cli_rep(c, NBD_OPT_LIST, &p, &len), ==, NBD_REP_SERVER);
    g_assert_cmpmem(p, len, "\0\0\0\4diskTest disk", 17);
    g_free(p);
    g_assert_cmphex(cli_rep(c, NBD_OPT_LIST, &p, &len), ==, NBD_REP_SERVER);
    g_assert_cmpmem(p, len, "\0\0\0\2ro", 6);
    g_free(p);
    cli_rep_ack(c, NBD_OPT_LIST);
    cli_opt(c, NBD_OPT_LIST, "x", 1);
    cli_rep_err(c, NBD_OPT_LIST, NBD_REP_ERR_INVALID,
                "option 'list' has unexpected length");
    cli_opt(c, NBD_OPT_ABORT, NULL, 0);
    cli_rep_ack(c, NBD_OPT_ABORT);
    cli_expect_eof(c);
    cli_free(c);
    wd_nbd_server_free(s);
}

/* EXPORT_NAME: 10 bytes with NO_ZEROES, 134 without; "" = default. */
static void test_export_name(void)
{
    WdNbdServer *s = srv_new(NULL);

    for (int zeroes = 0; zeroes < 2; zeroes++) {
        Cli *c = cli_new(s);
        uint8_t reply[134], zero[124] = { 0 };
        uint64_t size;
        uint16_t flags;

        cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE |
                     (zeroes ? 0 : NBD_FLAG_C_NO_ZEROES));
        cli_opt(c, NBD_OPT_EXPORT_NAME, "", 0);
        cli_read(c, reply, zeroes ? 134 : 10);
        memcpy(&size, reply, 8);
        memcpy(&flags, reply + 8, 2);
        g_assert_cmpuint(be64toh(size), ==, DISK_SIZE);
        g_assert_cmphex(be16toh(flags), ==, DISK_FLAGS);
        if (zeroes) {
            g_assert_cmpmem(reply + 10, 124, zero, 124);
        }
        cli_check(c, NBD_CMD_FLUSH, 0, 0, 0, NULL, 0);
        cli_free(c);
    }
    Cli *c = cli_new(s);

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(c, NBD_OPT_EXPORT_NAME, "nope", 4);
    cli_expect_eof(c);
    cli_free(c);
    wd_nbd_server_free(s);
}

static void test_bad_options(void)
{
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s);
    uint64_t size;

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(c, 0x42, "abc", 3);
    cli_rep_err(c, 0x42, NBD_REP_ERR_UNSUP, "Unsupported option 66 (unknown)");
    cli_send_go(c, NBD_OPT_GO, "nope", NULL, 0);
    cli_rep_err(c, NBD_OPT_GO, NBD_REP_ERR_UNKNOWN,
                "export 'nope' not present");
    cli_opt(c, NBD_OPT_GO, "\0\0\0\11disk", 8);     /* name overruns */
    cli_rep_err(c, NBD_OPT_GO, NBD_REP_ERR_INVALID,
                "option 'go' has unexpected length");
    cli_opt(c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
    cli_rep_ack(c, NBD_OPT_STRUCTURED_REPLY);
    cli_opt(c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
    cli_rep_err(c, NBD_OPT_STRUCTURED_REPLY, NBD_REP_ERR_INVALID,
                "structured reply already negotiated");
    /* The connection still works: "" is the default export. */
    cli_send_go(c, NBD_OPT_GO, "", NULL, 0);
    g_assert_cmphex(cli_go_replies(c, NBD_OPT_GO, &size), ==,
                    DISK_FLAGS_SR);
    g_assert_cmpuint(size, ==, DISK_SIZE);
    cli_free(c);

    /* Too large to read: ERR_TOO_BIG, then the server hangs up. */
    c = cli_new(s);
    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(c, NBD_OPT_LIST, NULL, NBD_MAX_OPTION_LENGTH + 1);
    cli_rep_err(c, NBD_OPT_LIST, NBD_REP_ERR_TOO_BIG,
                "option NBD_OPT_LIST with 65537 bytes of data exceeds the "
                "limit of 65536 bytes");
    cli_expect_eof(c);
    cli_free(c);
    wd_nbd_server_free(s);
}

static void test_meta_context(void)
{
    static const char *const all[] = { "base:", NULL };
    static const char *const other[] = { "qemu:dirty-bitmap:x", NULL };
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s);
    char *p;
    uint32_t len;

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_send_meta(c, NBD_OPT_SET_META_CONTEXT, "disk", NULL);
    cli_rep_err(c, NBD_OPT_SET_META_CONTEXT, NBD_REP_ERR_INVALID,
                "NBD_OPT_SET_META_CONTEXT needs structured replies to be "
                "negotiated first");
    for (int i = 0; i < 2; i++) {       /* no query, then "base:" */
        cli_send_meta(c, NBD_OPT_LIST_META_CONTEXT, "disk", i ? all : NULL);
        g_assert_cmphex(cli_rep(c, NBD_OPT_LIST_META_CONTEXT, &p, &len), ==,
                        NBD_REP_META_CONTEXT);
        g_assert_cmpmem(p, len, "\0\0\0\0base:allocation", 19);
        g_free(p);
        cli_rep_ack(c, NBD_OPT_LIST_META_CONTEXT);
    }
    cli_send_meta(c, NBD_OPT_LIST_META_CONTEXT, "disk", other);
    cli_rep_ack(c, NBD_OPT_LIST_META_CONTEXT);
    cli_send_meta(c, NBD_OPT_LIST_META_CONTEXT, "nope", NULL);
    cli_rep_err(c, NBD_OPT_LIST_META_CONTEXT, NBD_REP_ERR_UNKNOWN,
                "export 'nope' not present");
    cli_free(c);
    wd_nbd_server_free(s);
}

/* ---- tests: TLS --------------------------------------------------------- */

static void test_tls_required(void)
{
    static const uint32_t opts[] = { NBD_OPT_LIST, NBD_OPT_INFO, NBD_OPT_GO,
                                     NBD_OPT_STRUCTURED_REPLY,
                                     NBD_OPT_LIST_META_CONTEXT,
                                     NBD_OPT_SET_META_CONTEXT, 0x42 };
    g_autoptr(WdTlsCreds) creds = psk_creds(WD_TLS_ENDPOINT_SERVER);
    SrvOpts o = { .creds = creds };
    WdNbdServer *s = srv_new(&o);
    Cli *c = cli_new(s);

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    for (unsigned i = 0; i < G_N_ELEMENTS(opts); i++) {
        g_autofree char *want = g_strdup_printf(
            "Option 0x%x not permitted before TLS", opts[i]);

        cli_opt(c, opts[i], "\0\0\0\0\0\0", 6);
        cli_rep_err(c, opts[i], NBD_REP_ERR_TLS_REQD, want);
    }
    /* ABORT is acknowledged, as the spec says. */
    cli_opt(c, NBD_OPT_ABORT, NULL, 0);
    cli_rep_ack(c, NBD_OPT_ABORT);
    cli_expect_eof(c);
    cli_free(c);
    /* EXPORT_NAME in clear: the connection is dropped. */
    c = cli_new(s);
    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(c, NBD_OPT_EXPORT_NAME, "disk", 4);
    cli_expect_eof(c);
    cli_free(c);
    wd_nbd_server_free(s);
}

static void test_tls_starttls(void)
{
    g_autoptr(WdTlsCreds) creds = psk_creds(WD_TLS_ENDPOINT_SERVER);
    SrvOpts o = { .creds = creds };
    WdNbdServer *s = srv_new(&o);
    Cli *c = cli_new(s);
    char buf[70000];

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(c, NBD_OPT_STARTTLS, "xx", 2);
    cli_rep_err(c, NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID,
                "option 'starttls' has unexpected length");
    cli_starttls(c);
    cli_opt(c, NBD_OPT_STARTTLS, NULL, 0);
    cli_rep_err(c, NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID,
                "TLS already enabled");
    g_assert_cmphex(cli_go(c, "disk", true), ==, DISK_FLAGS_SR);
    /* More than one TLS record each way. */
    memset(buf, 0x5a, sizeof(buf));
    cli_check(c, NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 4096, sizeof(buf), buf, 0);
    cli_check(c, NBD_CMD_FLUSH, 0, 0, 0, NULL, 0);
    for (int i = 0; i < 2; i++) {
        uint16_t flags;
        uint8_t *p;
        uint32_t len;

        cli_cmd(c, NBD_CMD_READ, 0, 9, 4096, sizeof(buf), NULL);
        g_assert_cmpuint(cli_chunk(c, 9, &flags, &p, &len), ==,
                         NBD_REPLY_TYPE_OFFSET_DATA);
        g_assert_cmpuint(flags, ==, NBD_REPLY_FLAG_DONE);
        g_assert_cmpmem(p + 8, len - 8, buf, sizeof(buf));
        g_free(p);
    }
    cli_cmd(c, NBD_CMD_DISC, 0, 0, 0, 0, NULL);
    cli_expect_eof(c);
    cli_free(c);
    wd_nbd_server_free(s);
}

static void test_tls_not_configured(void)
{
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s);

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(c, NBD_OPT_STARTTLS, NULL, 0);
    cli_rep_err(c, NBD_OPT_STARTTLS, NBD_REP_ERR_POLICY,
                "TLS not configured");
    cli_free(c);
    wd_nbd_server_free(s);
}

/* Bytes sent in clear behind STARTTLS are never parsed (CVE-2021-3716):
 * the structured reply "negotiated" with them does not exist. */
static void test_tls_pipelined(void)
{
    g_autoptr(WdTlsCreds) creds = psk_creds(WD_TLS_ENDPOINT_SERVER);
    SrvOpts o = { .creds = creds };
    WdNbdServer *s = srv_new(&o);
    Cli *c = cli_new(s);
    NbdOption h[2] = {
        { htobe64(NBD_OPTS_MAGIC), htobe32(NBD_OPT_STARTTLS), 0 },
        { htobe64(NBD_OPTS_MAGIC), htobe32(NBD_OPT_STRUCTURED_REPLY), 0 },
    };
    g_autoptr(WdTlsCreds) cc = psk_creds(WD_TLS_ENDPOINT_CLIENT);
    g_autoptr(GError) err = NULL;

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_write(c, h, sizeof(h));
    cli_rep_ack(c, NBD_OPT_STARTTLS);
    c->tls = wd_tls_session_new(cc, NULL, fd_push, fd_pull, &c->fd, &err);
    while (wd_tls_session_handshake(c->tls, &err) !=
           WD_TLS_HANDSHAKE_COMPLETE) {
        g_assert_no_error(err);
    }
    g_assert_no_error(err);
    cli_send_go(c, NBD_OPT_GO, "disk", NULL, 0);
    g_assert_cmphex(cli_go_replies(c, NBD_OPT_GO, NULL), ==, DISK_FLAGS);
    cli_free(c);
    wd_nbd_server_free(s);
}

static void test_tls_authz(void)
{
    g_autoptr(WdTlsCreds) creds = psk_creds(WD_TLS_ENDPOINT_SERVER);
    g_autoptr(GError) err = NULL;

    wd_objects_register_all();
    for (int i = 0; i < 2; i++) {
        json_t *tree = json_pack("{s:s, s:s, s:s}", "qom-type",
                                 "authz-simple", "id",
                                 i ? "authz-bob" : "authz-alice", "identity",
                                 i ? "bob" : PSK_USER);

        g_assert_nonnull(wd_object_add_tree(tree, false, &err));
        g_assert_no_error(err);
        json_decref(tree);
    }
    for (int allowed = 1; allowed >= 0; allowed--) {
        SrvOpts o = { .creds = creds,
                      .authz = allowed ? "authz-alice" : "authz-bob" };
        WdNbdServer *s = srv_new(&o);
        Cli *c = cli_new(s);

        cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
        cli_starttls(c);
        cli_opt(c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
        if (allowed) {
            cli_rep_ack(c, NBD_OPT_STRUCTURED_REPLY);
        } else {
            cli_expect_eof(c);
        }
        cli_free(c);
        wd_nbd_server_free(s);
    }
    g_assert_true(wd_object_delete("authz-alice", &err));
    g_assert_true(wd_object_delete("authz-bob", &err));
}

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
                    "limit of 2 connections");
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

/* A real listener: bound address, accept, the limit closes at once. */
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

    g_assert_no_error(err);
    g_assert_cmpuint(wd_nbd_server_get_n_listeners(s), ==, 1);
    bound = wd_nbd_server_get_bound_address(s, 0, &err);
    g_assert_cmpstr(bound->path, ==, path);
    strcpy(sa.sun_path, path);
    a.fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert_cmpint(connect(a.fd, (void *)&sa, sizeof(sa)), ==, 0);
    cli_read(&a, greet, sizeof(greet));         /* accepted */
    b.fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert_cmpint(connect(b.fd, (void *)&sa, sizeof(sa)), ==, 0);
    cli_expect_eof(&b);                         /* over the limit */
    close(a.fd);
    close(b.fd);
    wd_nbd_server_free(s);
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

static void rm_psk_dir(void)
{
    g_autofree char *f = g_build_filename(psk_dir, "keys.psk", NULL);

    g_unlink(f);
    g_rmdir(psk_dir);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *keys = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    psk_dir = g_dir_make_tmp("nbd-psk-XXXXXX", &err);
    g_assert_no_error(err);
    keys = g_build_filename(psk_dir, "keys.psk", NULL);
    g_assert_true(g_file_set_contents(keys, PSK_USER ":" PSK_KEY "\n", -1,
                                      &err));
    g_test_add_func("/nbd/server/gate", test_gate);
    g_test_add_func("/nbd/server/bad-client-flags", test_bad_client_flags);
    g_test_add_func("/nbd/server/go-info", test_go_info);
    g_test_add_func("/nbd/server/list", test_list);
    g_test_add_func("/nbd/server/export-name", test_export_name);
    g_test_add_func("/nbd/server/bad-options", test_bad_options);
    g_test_add_func("/nbd/server/meta-context", test_meta_context);
    g_test_add_func("/nbd/server/tls/required", test_tls_required);
    g_test_add_func("/nbd/server/tls/starttls", test_tls_starttls);
    g_test_add_func("/nbd/server/tls/not-configured",
                    test_tls_not_configured);
    g_test_add_func("/nbd/server/tls/pipelined", test_tls_pipelined);
    g_test_add_func("/nbd/server/tls/authz", test_tls_authz);
    g_test_add_func("/nbd/server/io/simple", test_io_simple);
    g_test_add_func("/nbd/server/io/structured", test_io_structured);
    g_test_add_func("/nbd/server/io/read-only", test_io_read_only);
    g_test_add_func("/nbd/server/io/pipeline", test_io_pipeline);
    g_test_add_func("/nbd/server/max-connections", test_max_connections);
    g_test_add_func("/nbd/server/handshake-timeout",
                    test_handshake_timeout);
    g_test_add_func("/nbd/server/remove-export", test_remove_export);
    g_test_add_func("/nbd/server/listener", test_listener);
    g_test_add_func("/nbd/server/free-with-clients", test_free_with_clients);
    ret = g_test_run();
    rm_psk_dir();
    return ret;
}
