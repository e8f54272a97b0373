/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The client side of NBD negotiation: connecting with a deadline, the
 * fixed-newstyle greeting, STARTTLS (first, and never a fallback to clear
 * text), structured replies, base:allocation, NBD_OPT_GO with the
 * EXPORT_NAME fallback, and NBD_OPT_LIST for `warden img list`. Every
 * length the server sends is bounded before it is used.
 */
#include "runtime/nbd/nbd-client-priv.h"
#include "runtime/error.h"
#include "runtime/io/channel-tls.h"

#include <endian.h>
#include <errno.h>
#include <glib-unix.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void nbd_opt_reply_clear(NbdOptReply *r)
{
    g_clear_pointer(&r->data, g_free);
    r->len = 0;
}

void nbd_negotiated_clear(NbdNegotiated *n)
{
    g_free(n->name);
    g_free(n->description);
    g_free(n->tls_peer);
    memset(n, 0, sizeof(*n));
}

char *nbd_client_sanitize(const char *buf, size_t len)
{
    g_autofree char *valid = g_utf8_make_valid(buf, MIN(len,
                                                        NBD_MAX_STRING));
    GString *s = g_string_new(NULL);

    for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        if (g_unichar_iscntrl(c)) {
            g_string_append_c(s, '?');
        } else {
            g_string_append_unichar(s, c);
        }
    }
    return g_string_free(s, FALSE);
}

/* ---- waiting with a deadline ------------------------------------------- */

static void set_timeout_error(NbdHs *hs, GError **errp)
{
    wd_error_setg(errp, "Timed out after %g seconds %s the NBD server at "
                  "'%s'", hs->timeout_s, hs->sock ? "negotiating with" :
                  "connecting to", hs->where);
}

/* Drains the wake fd; true if we were asked to stop. */
static bool cancel_requested(const NbdCancel *c)
{
    uint64_t v;

    if (!c || c->wake_fd < 0) {
        return false;
    }
    if (read(c->wake_fd, &v, sizeof(v)) < 0) {
        /* EAGAIN: nothing to drain */
    }
    return c->stop && g_atomic_int_get(c->stop);
}

/* Waits until @fd has @events (or hangs up). */
static bool hs_poll(NbdHs *hs, int fd, short events, GError **errp)
{
    struct pollfd pfd[2] = {
        { .fd = fd, .events = events },
        { .fd = hs->cancel ? hs->cancel->wake_fd : -1, .events = POLLIN },
    };

    for (;;) {
        int timeout = -1;
        int r;

        if (hs->deadline) {
            gint64 left = hs->deadline - g_get_monotonic_time();

            if (left <= 0) {
                set_timeout_error(hs, errp);
                return false;
            }
            timeout = (int)MIN((left + 999) / 1000, G_MAXINT);
        }
        r = poll(pfd, pfd[1].fd >= 0 ? 2 : 1, timeout);
        if (r < 0 && errno != EINTR) {
            wd_error_setg_errno(errp, errno, "poll");
            return false;
        }
        if (r > 0 && pfd[1].revents && cancel_requested(hs->cancel)) {
            wd_error_setg(errp, "Connecting to the NBD server at '%s' was "
                          "cancelled", hs->where);
            return false;
        }
        if (r > 0 && pfd[0].revents) {
            return true;
        }
    }
}

static void set_eof_error(NbdHs *hs, GError **errp)
{
    hs->eof = true;
    if (hs->opt) {
        wd_error_setg(errp, "The NBD server at '%s' closed the connection "
                      "during negotiation (after %s)", hs->where,
                      name_of_nbd_opt(hs->opt));
    } else {
        wd_error_setg(errp, "The NBD server at '%s' closed the connection "
                      "before its greeting", hs->where);
    }
}

bool nbd_hs_read(NbdHs *hs, void *buf, size_t len, GError **errp)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = wd_channel_read(hs->ch, p, len, errp);

        if (n == WD_CHANNEL_ERR_BLOCK) {
            if (!hs_poll(hs, hs->fd, POLLIN, errp)) {
                return false;
            }
            continue;
        }
        if (n < 0) {
            g_prefix_error(errp, "Negotiation with the NBD server at '%s' "
                           "failed: ", hs->where);
            return false;
        }
        if (n == 0) {
            set_eof_error(hs, errp);
            return false;
        }
        p += n;
        len -= n;
    }
    return true;
}

bool nbd_hs_write(NbdHs *hs, const void *buf, size_t len, GError **errp)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = wd_channel_write(hs->ch, p, len, errp);

        if (n == WD_CHANNEL_ERR_BLOCK) {
            if (!hs_poll(hs, hs->fd, POLLOUT, errp)) {
                return false;
            }
            continue;
        }
        if (n < 0) {
            g_prefix_error(errp, "Negotiation with the NBD server at '%s' "
                           "failed: ", hs->where);
            return false;
        }
        p += n;
        len -= n;
    }
    return true;
}

/* ---- connecting -------------------------------------------------------- */

/* Connects one non-blocking socket; returns the fd or -1 (errno set). */
static int connect_one(NbdHs *hs, int family, const struct sockaddr *sa,
                       socklen_t salen, GError **errp)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int soerr = 0;
    socklen_t optlen = sizeof(soerr);

    if (fd < 0) {
        return -1;
    }
    if (connect(fd, sa, salen) == 0) {
        return fd;
    }
    if (errno != EINPROGRESS && errno != EAGAIN) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (!hs_poll(hs, fd, POLLOUT, errp)) {
        close(fd);
        errno = ETIMEDOUT;
        return -2;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &optlen) < 0) {
        soerr = errno;
    }
    if (soerr) {
        close(fd);
        errno = soerr;
        return -1;
    }
    return fd;
}

/* Like wd_channel_socket_connect_sync(), but bounded by the deadline and
 * cancellable. */
static WdChannel *hs_connect(NbdHs *hs, GError **errp)
{
    const WdSocketAddress *addr = hs->p->addr;
    WdChannel *ch = NULL;
    int fd = -1, err = ECONNREFUSED;

    if (addr->type == WD_SOCKET_ADDRESS_FD) {
        ch = wd_channel_socket_connect_sync(addr, errp);
    } else if (addr->type == WD_SOCKET_ADDRESS_UNIX) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };

        if (strlen(addr->path) >= sizeof(sun.sun_path)) {
            wd_error_setg(errp, "Unix socket path '%s' is too long",
                          addr->path);
            return NULL;
        }
        strcpy(sun.sun_path, addr->path);
        fd = connect_one(hs, AF_UNIX, (struct sockaddr *)&sun, sizeof(sun),
                         errp);
        if (fd == -2) {
            return NULL;
        }
        err = errno;
    } else {
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
        struct addrinfo *res = NULL;
        int rc;

        hints.ai_family = addr->ipv4 && !addr->ipv6 ? AF_INET :
                          addr->ipv6 && !addr->ipv4 ? AF_INET6 : AF_UNSPEC;
        rc = getaddrinfo(*addr->host ? addr->host : NULL, addr->port,
                         &hints, &res);
        if (rc != 0) {
            wd_error_setg(errp, "Cannot resolve '%s': %s", hs->where,
                          gai_strerror(rc));
            return NULL;
        }
        for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
            fd = connect_one(hs, ai->ai_family, ai->ai_addr, ai->ai_addrlen,
                             errp);
            if (fd == -2) {
                freeaddrinfo(res);
                return NULL;
            }
            err = errno;
        }
        freeaddrinfo(res);
        if (fd >= 0) {
            int one = 1;
            /* Small requests and replies: no Nagle delay. */
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
    }
    if (addr->type != WD_SOCKET_ADDRESS_FD) {
        if (fd < 0) {
            wd_error_setg_errno(errp, err, "Failed to connect to '%s'",
                                hs->where);
            return NULL;
        }
        ch = wd_channel_socket_new_fd(fd, errp);
        if (!ch) {
            close(fd);
            return NULL;
        }
    }
    if (ch && !wd_channel_set_blocking(ch, false, errp)) {
        wd_channel_unref(ch);
        return NULL;
    }
    if (ch) {
        WdChannel *rbuf = nbd_rbuf_channel_new(ch);

        wd_channel_unref(ch);
        ch = rbuf;
    }
    return ch;
}

/* ---- options ------------------------------------------------------------ */

bool nbd_hs_send_option(NbdHs *hs, uint32_t opt, const void *data,
                        uint32_t len, GError **errp)
{
    g_autofree uint8_t *buf = g_malloc(sizeof(NbdOption) + len);
    NbdOption o = {
        .version = htobe64(NBD_OPTS_MAGIC),
        .option = htobe32(opt),
        .optlen = htobe32(len),
    };

    memcpy(buf, &o, sizeof(o));
    if (len) {
        memcpy(buf + sizeof(o), data, len);
    }
    hs->opt = opt;
    return nbd_hs_write(hs, buf, sizeof(o) + len, errp);
}

/* Reads one reply to hs->opt; the payload is bounded. */
bool nbd_hs_read_reply(NbdHs *hs, NbdOptReply *r, GError **errp)
{
    NbdFixedNewOptionReply h;

    nbd_opt_reply_clear(r);
    if (!nbd_hs_read(hs, &h, sizeof(h), errp)) {
        return false;
    }
    if (be64toh(h.magic) != NBD_REP_MAGIC) {
        wd_error_setg(errp, "The NBD server sent an option reply with bad "
                      "magic 0x%" PRIx64 " (expected 0x%" PRIx64 ")",
                      be64toh(h.magic), NBD_REP_MAGIC);
        return false;
    }
    if (be32toh(h.option) != hs->opt) {
        wd_error_setg(errp, "The NBD server replied to option %" PRIu32
                      " while %s was in progress", be32toh(h.option),
                      name_of_nbd_opt(hs->opt));
        return false;
    }
    r->type = be32toh(h.reply);
    r->len = be32toh(h.replylen);
    if (r->len > WD_NBD_CLIENT_MAX_OPTION_REPLY) {
        wd_error_setg(errp, "The NBD server sent a %" PRIu32 "-byte reply "
                      "to %s (at most %d bytes are allowed)", r->len,
                      name_of_nbd_opt(hs->opt),
                      WD_NBD_CLIENT_MAX_OPTION_REPLY);
        return false;
    }
    r->data = g_malloc(r->len + 1);
    r->data[r->len] = '\0';
    return nbd_hs_read(hs, r->data, r->len, errp);
}

/* " (server reported: TEXT)" for an error reply with text, else "". */
char *nbd_hs_server_text(const NbdOptReply *r)
{
    if (!NBD_REP_IS_ERR(r->type) || r->len == 0) {
        return g_strdup("");
    }
    g_autofree char *t = nbd_client_sanitize(r->data, r->len);
    return g_strdup_printf(" (server reported: %s)", t);
}

/* The error for an error reply that has no more specific meaning. */
void nbd_hs_reply_error(NbdHs *hs, const NbdOptReply *r, GError **errp)
{
    g_autofree char *text = nbd_hs_server_text(r);
    const char *opt = name_of_nbd_opt(hs->opt);

    switch (r->type) {
    case NBD_REP_ERR_TLS_REQD:
        if (hs->tls) {
            wd_error_setg(errp, "The NBD server asked for TLS on a TLS "
                          "connection (option %s)%s", opt, text);
        } else {
            wd_error_setg(errp, MSG_TLS_REQUIRED "%s", text);
        }
        return;
    case NBD_REP_ERR_SHUTDOWN:
        wd_error_setg(errp, "The NBD server is shutting down%s", text);
        return;
    case NBD_REP_ERR_POLICY:
        wd_error_setg(errp, "The NBD server refused %s by policy%s", opt,
                      text);
        return;
    case NBD_REP_ERR_UNSUP:
        wd_error_setg(errp, "The NBD server does not support %s%s", opt,
                      text);
        return;
    case NBD_REP_ERR_INVALID:
        wd_error_setg(errp, "The NBD server rejected %s as invalid%s", opt,
                      text);
        return;
    case NBD_REP_ERR_PLATFORM:
        wd_error_setg(errp, "The NBD server cannot do %s on its platform%s",
                      opt, text);
        return;
    case NBD_REP_ERR_BLOCK_SIZE_REQD:
        wd_error_setg(errp, "The NBD server requires block size "
                      "negotiation%s", text);
        return;
    case NBD_REP_ERR_TOO_BIG:
        wd_error_setg(errp, "The NBD server says %s is too big%s", opt,
                      text);
        return;
    }
    if (NBD_REP_IS_ERR(r->type)) {
        wd_error_setg(errp, "The NBD server failed %s with error 0x%" PRIx32
                      "%s", opt, r->type, text);
    } else {
        wd_error_setg(errp, "The NBD server sent an unexpected reply %s "
                      "to %s", name_of_nbd_rep(r->type), opt);
    }
}

/* Errors after which nothing else can work: no point going on. */
bool nbd_hs_reply_is_fatal(uint32_t type)
{
    return type == NBD_REP_ERR_TLS_REQD || type == NBD_REP_ERR_SHUTDOWN;
}

/* Options with no payload that are answered by one ACK or an error.
 * Returns 1 (ACK), 0 (error reply in *r) or -1. */
int nbd_hs_simple_option(NbdHs *hs, uint32_t opt, NbdOptReply *r,
                         GError **errp)
{
    if (!nbd_hs_send_option(hs, opt, NULL, 0, errp) ||
        !nbd_hs_read_reply(hs, r, errp)) {
        return -1;
    }
    if (r->type == NBD_REP_ACK && r->len == 0) {
        nbd_opt_reply_clear(r);
        return 1;
    }
    if (!NBD_REP_IS_ERR(r->type)) {
        wd_error_setg(errp, "The NBD server sent an unexpected reply %s "
                      "(%" PRIu32 " bytes) to %s", name_of_nbd_rep(r->type),
                      r->len, name_of_nbd_opt(opt));
        return -1;
    }
    return 0;
}

/* ---- greeting and TLS ---------------------------------------------------- */

static bool greeting(NbdHs *hs, GError **errp)
{
    uint64_t magic[2];
    uint16_t gflags;
    uint32_t cflags;

    if (!nbd_hs_read(hs, magic, sizeof(magic), errp)) {
        return false;
    }
    if (be64toh(magic[0]) != NBD_MAGIC) {
        wd_error_setg(errp, "'%s' is not an NBD server (bad greeting magic "
                      "0x%016" PRIx64 ")", hs->where, be64toh(magic[0]));
        return false;
    }
    if (be64toh(magic[1]) == NBD_OLD_VERSION) {
        if (hs->p->tls) {
            wd_error_setg(errp, MSG_NO_TLS " (it uses the oldstyle "
                          "protocol)");
        } else {
            wd_error_setg(errp, "The NBD server at '%s' uses the oldstyle "
                          "protocol, which is not supported", hs->where);
        }
        return false;
    }
    if (be64toh(magic[1]) != NBD_NEW_VERSION) {
        wd_error_setg(errp, "'%s' is not an NBD server (bad greeting magic "
                      "0x%016" PRIx64 ")", hs->where, be64toh(magic[1]));
        return false;
    }
    if (!nbd_hs_read(hs, &gflags, sizeof(gflags), errp)) {
        return false;
    }
    gflags = be16toh(gflags);
    hs->fixed = gflags & NBD_FLAG_FIXED_NEWSTYLE;
    hs->no_zeroes = gflags & NBD_FLAG_NO_ZEROES;
    if (!hs->fixed && hs->p->tls) {
        /* STARTTLS needs fixed newstyle: refuse before saying anything. */
        wd_error_setg(errp, MSG_NO_TLS " (it does not use fixed newstyle "
                      "negotiation)");
        return false;
    }
    cflags = (hs->fixed ? NBD_FLAG_C_FIXED_NEWSTYLE : 0) |
             (hs->no_zeroes ? NBD_FLAG_C_NO_ZEROES : 0);
    cflags = htobe32(cflags);
    return nbd_hs_write(hs, &cflags, sizeof(cflags), errp);
}

typedef struct {
    bool done;
    bool expired;
    bool cancelled;
    GError *err;
    const NbdCancel *cancel;
} TlsWait;

static void tls_done(WdChannel *ch, GError *err, gpointer opaque)
{
    TlsWait *w = opaque;

    w->done = true;
    w->err = err ? g_error_copy(err) : NULL;
}

static gboolean tls_expired(gpointer opaque)
{
    ((TlsWait *)opaque)->expired = true;
    return G_SOURCE_REMOVE;
}

static gboolean tls_woken(gint fd, GIOCondition cond, gpointer opaque)
{
    TlsWait *w = opaque;

    if (cancel_requested(w->cancel)) {
        w->cancelled = true;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* The TLS handshake, in a private context so the deadline and the cancel
 * fd can interrupt it (by shutting the socket down). */
static bool tls_handshake(NbdHs *hs, WdChannel *tls, GError **errp)
{
    GMainContext *ctx = g_main_context_new();
    TlsWait w = { .cancel = hs->cancel };
    GSource *timer = NULL, *wake = NULL;
    bool shut = false;

    wd_channel_tls_handshake(tls, tls_done, &w, ctx);
    if (hs->deadline) {
        gint64 left = MAX(hs->deadline - g_get_monotonic_time(), 0);

        timer = g_timeout_source_new((guint)MIN(left / 1000, G_MAXUINT));
        g_source_set_callback(timer, tls_expired, &w, NULL);
        g_source_attach(timer, ctx);
    }
    if (hs->cancel && hs->cancel->wake_fd >= 0) {
        wake = g_unix_fd_source_new(hs->cancel->wake_fd, G_IO_IN);
        g_source_set_callback(wake, G_SOURCE_FUNC(tls_woken), &w, NULL);
        g_source_attach(wake, ctx);
    }
    while (!w.done) {
        g_main_context_iteration(ctx, TRUE);
        if ((w.expired || w.cancelled) && !shut && !w.done) {
            wd_channel_shutdown(hs->sock, WD_CHANNEL_SHUTDOWN_BOTH, NULL);
            shut = true;
        }
    }
    if (timer) {
        g_source_destroy(timer);
        g_source_unref(timer);
    }
    if (wake) {
        g_source_destroy(wake);
        g_source_unref(wake);
    }
    g_main_context_unref(ctx);
    if (!w.err) {
        return true;
    }
    if (shut && w.expired) {
        set_timeout_error(hs, errp);
    } else if (shut) {
        wd_error_setg(errp, "Connecting to the NBD server at '%s' was "
                      "cancelled", hs->where);
    } else if (wd_tls_creds_get_type(hs->p->tls) == WD_TLS_CREDS_PSK) {
        wd_error_setg(errp, "TLS with the NBD server at '%s' failed: %s "
                      "(with PSK this means the server does not know the "
                      "username or has another key)", hs->where,
                      w.err->message);
    } else {
        wd_error_setg(errp, "TLS with the NBD server at '%s' failed: %s",
                      hs->where, w.err->message);
    }
    g_error_free(w.err);
    return false;
}

static bool starttls(NbdHs *hs, NbdNegotiated *out, GError **errp)
{
    NbdOptReply r = { 0 };
    g_autoptr(GError) err = NULL;
    WdChannel *tls;
    int rc = nbd_hs_simple_option(hs, NBD_OPT_STARTTLS, &r, &err);

    if (rc < 0) {
        /* Hanging up instead of answering is a refusal too. */
        if (hs->eof) {
            wd_error_setg(errp, MSG_NO_TLS " (it refused STARTTLS by "
                          "closing the connection)");
        } else {
            g_propagate_error(errp, g_steal_pointer(&err));
        }
        nbd_opt_reply_clear(&r);
        return false;
    }
    if (rc == 0) {
        g_autofree char *text = nbd_hs_server_text(&r);
        /* Whatever the refusal, we never go on in clear. */
        wd_error_setg(errp, MSG_NO_TLS " (it refused STARTTLS)%s", text);
        nbd_opt_reply_clear(&r);
        return false;
    }
    tls = wd_channel_tls_new_client(hs->sock, hs->p->tls,
                                    hs->p->tls_hostname, errp);
    if (!tls) {
        return false;
    }
    if (!tls_handshake(hs, tls, errp)) {
        wd_channel_unref(tls);
        return false;
    }
    hs->ch = tls;
    hs->tls = true;
    out->tls = true;
    out->tls_peer = wd_tls_session_get_peer_name(
        wd_channel_tls_get_session(tls));
    return true;
}

/* Connect, greet, and STARTTLS when configured. */
bool nbd_hs_begin(NbdHs *hs, NbdNegotiated *out, GError **errp)
{
    hs->sock = hs_connect(hs, errp);
    if (!hs->sock) {
        return false;
    }
    hs->ch = hs->sock;
    hs->fd = wd_channel_get_fd(hs->sock);
    if (!greeting(hs, errp)) {
        return false;
    }
    return !hs->p->tls || starttls(hs, out, errp);
}

void nbd_hs_init(NbdHs *hs, const NbdOpenParams *p, gint64 deadline,
                 double timeout_s, const NbdCancel *cancel)
{
    memset(hs, 0, sizeof(*hs));
    hs->p = p;
    hs->deadline = deadline;
    hs->timeout_s = timeout_s;
    hs->cancel = cancel;
    hs->fd = -1;
    hs->where = wd_socket_address_to_string(p->addr);
}

void nbd_hs_cleanup(NbdHs *hs)
{
    if (hs->ch && hs->ch != hs->sock) {
        wd_channel_unref(hs->ch);
    }
    if (hs->sock) {
        wd_channel_unref(hs->sock);
    }
    g_free(hs->where);
}
