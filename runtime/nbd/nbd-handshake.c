/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NBD server negotiation as a non-blocking state machine on the
 * connection's I/O thread: the fixed-newstyle greeting, client flags,
 * option framing and its bounds, the TLS gate (which options a client may
 * send before STARTTLS), STARTTLS itself, the TLS handshake, peer checks
 * and tls-authz.  The options' meaning is in nbd-options.c.
 */
#include "runtime/nbd/nbd-conn-priv.h"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "runtime/log.h"

/* Option replies queued for a client that does not read them: stop
 * reading its options beyond this (a LIST reply is the largest). */
#define NBD_SRV_HS_MAX_QUEUED (256 * 1024)

NbdGate nbd_option_gate(bool tls_required, bool tls_active, uint32_t opt)
{
    if (!tls_required || tls_active) {
        return NBD_GATE_HANDLE;
    }
    switch (opt) {
    case NBD_OPT_STARTTLS:
    case NBD_OPT_ABORT:
        /* The spec exempts ABORT: it gets its ACK (qemu-nbd 7.2 answers
         * TLS_REQD instead, nbd-server just hangs up; nbd.md 2.4). */
        return NBD_GATE_HANDLE;
    case NBD_OPT_EXPORT_NAME:
        /* It has no error reply: the only refusal is hanging up. */
        return NBD_GATE_DISCONNECT;
    default:
        /* Every other option, unknown ones included, so a client learns
         * nothing (not even which exports exist) before encryption. */
        return NBD_GATE_TLS_REQD;
    }
}

void nbd_hs_reply(NbdConn *c, uint32_t type, const void *data, size_t len)
{
    NbdFixedNewOptionReply hdr = {
        .magic = htobe64(NBD_REP_MAGIC),
        .option = htobe32(c->opt),
        .reply = htobe32(type),
        .replylen = htobe32(len),
    };
    NbdOut o = { 0 };

    if (sizeof(hdr) + len <= sizeof(o.small)) {
        o.p = o.small;
    } else {
        o.mem = g_malloc(sizeof(hdr) + len);
        o.p = o.mem;
    }
    memcpy((uint8_t *)o.p, &hdr, sizeof(hdr));
    if (len) {
        memcpy((uint8_t *)o.p + sizeof(hdr), data, len);
    }
    o.len = sizeof(hdr) + len;
    nbd_conn_send(c, &o);
}

void nbd_hs_reply_err(NbdConn *c, uint32_t type, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    wd_debug("nbd-server %s: client %s: option %s: %s: %s",
             c->server->name, c->peer, name_of_nbd_opt(c->opt),
             name_of_nbd_rep(type), msg);
    nbd_hs_reply(c, type, msg, MIN(strlen(msg), NBD_MAX_STRING));
}

void nbd_hs_reset_negotiated(NbdConn *c)
{
    c->structured = false;
    c->meta_alloc = false;
    c->meta_depth = false;
    g_clear_pointer(&c->meta_export, g_free);
}

void nbd_hs_start(NbdConn *c)
{
    NbdNewGreeting g = {
        .nbdmagic = htobe64(NBD_MAGIC),
        .version = htobe64(NBD_NEW_VERSION),
        .gflags = htobe16(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES),
    };

    c->state = NBD_CONN_GREETING;
    nbd_conn_send_copy(c, &g, sizeof(g));
    if (c->state == NBD_CONN_GREETING) {
        nbd_conn_want(c, true, false);
    }
}

/* ---- TLS ---------------------------------------------------------------- */

static void hs_read(NbdConn *c);

static void tls_step(NbdConn *c)
{
    WdNbdServer *s = c->server;
    g_autoptr(GError) err = NULL;
    int r = wd_tls_session_handshake(c->tls, &err);

    if (r < 0) {
        wd_warn("nbd-server %s: client %s: %s", s->name, c->peer,
                err->message);
        nbd_conn_close(c, "TLS handshake failed");
        return;
    }
    if (r == WD_TLS_HANDSHAKE_RECVING || r == WD_TLS_HANDSHAKE_SENDING) {
        nbd_conn_want(c, r == WD_TLS_HANDSHAKE_RECVING,
                      r == WD_TLS_HANDSHAKE_SENDING);
        return;
    }
    if (!wd_tls_session_check_credentials(c->tls, &err)) {
        wd_warn("nbd-server %s: client %s rejected: %s", s->name, c->peer,
                err->message);
        nbd_conn_close(c, "TLS peer check failed");
        return;
    }
    /* From here on every byte goes through the session, and nothing a
     * client negotiated in clear survives (CVE-2021-3716). */
    c->tls_active = true;
    nbd_hs_reset_negotiated(c);
    nbd_conn_want(c, false, false);
    if (s->tls_authz) {
        char *identity;

        if (wd_tls_creds_get_type(s->tls_creds) == WD_TLS_CREDS_X509) {
            /* QEMU's DN order, so authz rules written for it match. */
            identity = wd_tls_session_get_peer_dn_qemu(c->tls);
        } else {
            identity = wd_tls_session_get_peer_name(c->tls);
        }
        c->state = NBD_CONN_AUTHZ;
        nbd_server_authz_async(s, c, identity);
        return;
    }
    c->state = NBD_CONN_OPTIONS;
    hs_read(c);
}

static void tls_begin(NbdConn *c)
{
    g_autoptr(GError) err = NULL;

    c->tls = wd_tls_session_new(c->server->tls_creds, NULL,
                                nbd_conn_tls_push, nbd_conn_tls_pull, c,
                                &err);
    if (!c->tls) {
        wd_warn("nbd-server %s: client %s: %s", c->server->name, c->peer,
                err->message);
        nbd_conn_close(c, "TLS setup failed");
        return;
    }
    c->state = NBD_CONN_TLS_HANDSHAKE;
    tls_step(c);
}

void nbd_hs_authz_done(NbdConn *c, GError *err, const char *identity)
{
    if (c->state != NBD_CONN_AUTHZ) {
        return;
    }
    if (err) {
        wd_warn("nbd-server %s: client %s rejected by tls-authz '%s' "
                "(identity '%s'): %s", c->server->name, c->peer,
                c->server->tls_authz, identity ? identity : "(none)",
                err->message);
        nbd_conn_close(c, "tls-authz denied");
        return;
    }
    wd_debug("nbd-server %s: client %s authorized as '%s'",
             c->server->name, c->peer, identity);
    c->state = NBD_CONN_OPTIONS;
    hs_read(c);
}

/* NBD_OPT_STARTTLS (called by nbd-options.c). */
void nbd_hs_starttls(NbdConn *c, uint32_t len)
{
    /* qemu-nbd's checks and texts, in its order (nbd.md 2.4). */
    if (len != 0) {
        nbd_hs_reply_err(c, NBD_REP_ERR_INVALID,
                         "option 'starttls' has unexpected length");
        return;
    }
    if (c->tls_active) {
        nbd_hs_reply_err(c, NBD_REP_ERR_INVALID, "TLS already enabled");
        return;
    }
    if (!c->server->tls_creds) {
        nbd_hs_reply_err(c, NBD_REP_ERR_POLICY, "TLS not configured");
        return;
    }
    nbd_hs_reply(c, NBD_REP_ACK, NULL, 0);
    /*
     * Whatever else is in the input buffer was sent before the client
     * could have seen our ACK, i.e. in clear: it is never parsed, as NBD
     * data or otherwise (an injected option must not survive into the
     * encrypted session).
     */
    if (nbd_conn_avail(c)) {
        wd_debug("nbd-server %s: client %s: discarding %zu bytes sent in "
                 "clear after NBD_OPT_STARTTLS", c->server->name, c->peer,
                 nbd_conn_avail(c));
    }
    c->in_start = c->in_end = 0;
    c->state = NBD_CONN_STARTTLS;
    nbd_conn_want(c, false, false);
    if (nbd_conn_queued(c) == 0) {
        tls_begin(c);
    }
}

/* ---- option framing ----------------------------------------------------- */

/* The client flags: returns false when the connection was closed. */
static bool hs_client_flags(NbdConn *c)
{
    uint32_t flags;

    memcpy(&flags, c->in + c->in_start, 4);
    c->in_start += 4;
    flags = be32toh(flags);
    if (flags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
        /* The spec's MUST (nbd.md 1.3); nbd-server 3.24 gets this wrong. */
        wd_debug("nbd-server %s: client %s: unknown client flags 0x%x",
                 c->server->name, c->peer, flags);
        nbd_conn_close(c, "unknown client flags 0x%x", flags);
        return false;
    }
    if (!(flags & NBD_FLAG_C_FIXED_NEWSTYLE)) {
        /* Without fixed newstyle no error could ever be reported, and
         * TLS could not be negotiated: we serve fixed newstyle only. */
        nbd_conn_close(c, "client does not support fixed newstyle");
        return false;
    }
    c->no_zeroes = flags & NBD_FLAG_C_NO_ZEROES;
    c->state = NBD_CONN_OPTIONS;
    return true;
}

/* An option header: returns false when the connection was closed. */
static bool hs_option_header(NbdConn *c)
{
    NbdOption h;

    memcpy(&h, c->in + c->in_start, sizeof(h));
    c->in_start += sizeof(h);
    if (be64toh(h.version) != NBD_OPTS_MAGIC) {
        nbd_conn_close(c, "bad option magic");
        return false;
    }
    c->opt = be32toh(h.option);
    c->opt_len = be32toh(h.optlen);
    if (++c->nr_options > NBD_SRV_MAX_OPTIONS) {
        nbd_conn_close(c, "more than %d options", NBD_SRV_MAX_OPTIONS);
        return false;
    }
    if (c->opt_len > NBD_SRV_MAX_OPTION_LEN) {
        /* We will not read (or skip) that much: say why, then hang up,
         * since the stream cannot be resynchronised. */
        nbd_hs_reply_err(c, NBD_REP_ERR_TOO_BIG,
                         "option %s with %u bytes of data exceeds the "
                         "limit of %d bytes", name_of_nbd_opt(c->opt),
                         c->opt_len, NBD_SRV_MAX_OPTION_LEN);
        nbd_conn_close(c, "option too large");
        return false;
    }
    c->opt_hdr_done = true;
    return true;
}

/* A whole option is buffered: gate and dispatch it. */
static bool hs_option(NbdConn *c)
{
    WdNbdServer *s = c->server;
    const uint8_t *data = c->in + c->in_start;
    uint32_t len = c->opt_len;

    c->in_start += len;
    c->opt_hdr_done = false;
    switch (nbd_option_gate(s->tls_creds != NULL, c->tls_active, c->opt)) {
    case NBD_GATE_DISCONNECT:
        wd_warn("nbd-server %s: client %s: option negotiation failed: "
                "Option 0x%x not permitted before TLS", s->name, c->peer,
                c->opt);
        nbd_conn_close(c, "NBD_OPT_EXPORT_NAME before TLS");
        return false;
    case NBD_GATE_TLS_REQD:
        /* qemu-nbd's text: qemu-img then prints "server reported:
         * Option 0x7 not permitted before TLS" (nbd.md 4a). */
        nbd_hs_reply_err(c, NBD_REP_ERR_TLS_REQD,
                         "Option 0x%x not permitted before TLS", c->opt);
        return true;
    case NBD_GATE_HANDLE:
        break;
    }
    return nbd_opt_dispatch(c, data, len);
}

/* Parses what is buffered and reads more, until it would block. */
static void hs_read(NbdConn *c)
{
    while (c->state == NBD_CONN_GREETING || c->state == NBD_CONN_OPTIONS) {
        size_t need;
        ssize_t n;

        if (nbd_conn_queued(c) > NBD_SRV_HS_MAX_QUEUED) {
            /* Replies pile up: wait until the client reads them. */
            nbd_conn_want(c, false, false);
            return;
        }
        need = c->state == NBD_CONN_GREETING ? 4 :
               !c->opt_hdr_done ? sizeof(NbdOption) : c->opt_len;
        if (nbd_conn_avail(c) >= need) {
            bool ok = c->state == NBD_CONN_GREETING ? hs_client_flags(c) :
                      !c->opt_hdr_done ? hs_option_header(c) :
                      hs_option(c);

            if (!ok) {
                return;
            }
            continue;
        }
        nbd_conn_reserve(c, need);
        n = nbd_conn_fill(c);
        if (n == WD_CHANNEL_ERR_BLOCK) {
            nbd_conn_want(c, true, false);
            return;
        }
        if (n <= 0) {
            nbd_conn_close(c, n == 0 ? "client closed the connection "
                           "during negotiation" : "read error");
            return;
        }
    }
}

void nbd_hs_io(NbdConn *c, GIOCondition rev)
{
    switch (c->state) {
    case NBD_CONN_GREETING:
    case NBD_CONN_OPTIONS:
        hs_read(c);
        break;
    case NBD_CONN_STARTTLS:
        /* Start TLS only once the ACK has left in clear. */
        if (nbd_conn_queued(c) == 0) {
            tls_begin(c);
        }
        break;
    case NBD_CONN_TLS_HANDSHAKE:
        tls_step(c);
        break;
    default:
        break;
    }
}
