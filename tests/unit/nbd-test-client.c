/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The NBD server tests' raw client and test server: nbd-test-client.h. */
#include "nbd-test-client.h"

static char *psk_dir;

/* ---- a raw NBD client on a blocking socket ------------------------------ */

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
void pump_until(gboolean (*cond)(gpointer), gpointer opaque)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    while (!cond(opaque)) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(2000);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    }
}

ssize_t fd_push(const void *buf, size_t len, void *opaque)
{
    return send(*(int *)opaque, buf, len, MSG_NOSIGNAL);
}

ssize_t fd_pull(void *buf, size_t len, void *opaque)
{
    return recv(*(int *)opaque, buf, len, 0);
}

Cli *cli_new(WdNbdServer *s)
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

void cli_free(Cli *c)
{
    wd_tls_session_free(c->tls);
    close(c->fd);
    g_free(c);
}

void cli_write(Cli *c, const void *buf, size_t len)
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
size_t cli_read_some(Cli *c, void *buf, size_t len)
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

void cli_read(Cli *c, void *buf, size_t len)
{
    while (len > 0) {
        size_t n = cli_read_some(c, buf, len);

        g_assert_cmpuint(n, >, 0);
        buf = (uint8_t *)buf + n;
        len -= n;
    }
}

void cli_expect_eof(Cli *c)
{
    uint8_t b[256];

    g_assert_cmpuint(cli_read_some(c, b, sizeof(b)), ==, 0);
}

void cli_greeting(Cli *c, uint32_t flags)
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

void cli_opt(Cli *c, uint32_t opt, const void *data, uint32_t len)
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
uint32_t cli_rep(Cli *c, uint32_t opt, char **payload, uint32_t *len)
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
void cli_rep_err(Cli *c, uint32_t opt, uint32_t type, const char *msg)
{
    g_autofree char *p = NULL;

    g_assert_cmphex(cli_rep(c, opt, &p, NULL), ==, type);
    g_assert_cmpstr(p, ==, msg);
}

void cli_rep_ack(Cli *c, uint32_t opt)
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

void cli_send_go(Cli *c, uint32_t opt, const char *name,
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

void cli_send_meta(Cli *c, uint32_t opt, const char *name,
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
uint16_t cli_go_replies(Cli *c, uint32_t opt, uint64_t *size)
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
uint16_t cli_go(Cli *c, const char *name, bool sr)
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

void cli_cmd(Cli *c, uint16_t type, uint16_t flags, uint64_t cookie,
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
uint32_t cli_simple(Cli *c, uint64_t *cookie)
{
    NbdSimpleReply r;

    cli_read(c, &r, sizeof(r));
    g_assert_cmphex(be32toh(r.magic), ==, NBD_SIMPLE_REPLY_MAGIC);
    *cookie = be64toh(r.cookie);
    return be32toh(r.error);
}

/* Sends one command and expects a simple reply with @err. */
void cli_check(Cli *c, uint16_t type, uint16_t flags, uint64_t off,
               uint32_t len, const void *data, uint32_t err)
{
    uint64_t cookie;

    cli_cmd(c, type, flags, 77, off, len, data);
    g_assert_cmpuint(cli_simple(c, &cookie), ==, err);
    g_assert_cmpuint(cookie, ==, 77);
}

/* Reads one structured chunk; returns its type, payload in *payload. */
uint16_t cli_chunk(Cli *c, uint64_t cookie, uint16_t *flags,
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

WdNbdServer *srv_new(const SrvOpts *o)
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

gboolean no_connections(gpointer s)
{
    return wd_nbd_server_count_connections(s) == 0;
}

WdTlsCreds *psk_creds(WdTlsEndpoint ep)
{
    g_autoptr(GError) err = NULL;
    WdTlsCreds *c = wd_tls_creds_psk_load(
        ep, psk_dir, ep == WD_TLS_ENDPOINT_CLIENT ? PSK_USER : NULL, NULL,
        &err);

    g_assert_no_error(err);
    return c;
}

/* STARTTLS (ACK expected) and a client PSK handshake. */
void cli_starttls(Cli *c)
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

void nbd_test_psk_setup(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *keys = NULL;

    psk_dir = g_dir_make_tmp("nbd-psk-XXXXXX", &err);
    g_assert_no_error(err);
    keys = g_build_filename(psk_dir, "keys.psk", NULL);
    g_assert_true(g_file_set_contents(keys, PSK_USER ":" PSK_KEY "\n", -1,
                                      &err));
}

void nbd_test_psk_teardown(void)
{
    g_autofree char *f = g_build_filename(psk_dir, "keys.psk", NULL);

    g_unlink(f);
    g_rmdir(psk_dir);
}
