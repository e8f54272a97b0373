/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD client's connections: one I/O thread per connection owns the
 * socket (or TLS session) and does all its reading and writing in a poll
 * loop; callers on any thread queue requests and sleep until the reply.
 * Dropped connections are re-established within reconnect-delay and the
 * requests in flight sent again; protocol errors end a connection for
 * good.
 */
#include "runtime/nbd/nbd-client-priv.h"
#include "runtime/error.h"
#include "runtime/log.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Pause between reconnect attempts. */
#define RECONNECT_INTERVAL_US (G_USEC_PER_SEC / 4)
/* After reconnect-delay has passed, keep trying, less often. */
#define RECONNECT_SLOW_INTERVAL_US G_USEC_PER_SEC
/* How long close() tries to send NBD_CMD_DISC to a slow server. */
#define DISC_TIMEOUT_MS 1000

static gint64 seconds_to_us(double s)
{
    return (gint64)(s * G_USEC_PER_SEC);
}

static char *client_where(WdNbdClient *c)
{
    return wd_socket_address_to_string(c->params.addr);
}

/* ---- waking the I/O thread ----------------------------------------------- */

static void wake(NbdConn *cn)
{
    uint64_t one = 1;

    if (write(cn->wake_fd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is already non-zero, the thread will wake */
    }
}

/* Moves new requests to the send queue; returns true if asked to stop. */
static bool take_submissions(NbdConn *cn)
{
    uint64_t v;
    bool stop;

    if (read(cn->wake_fd, &v, sizeof(v)) < 0) {
        /* EAGAIN: nothing to drain */
    }
    g_mutex_lock(&cn->lock);
    while (!g_queue_is_empty(&cn->submitq)) {
        g_queue_push_tail(&cn->sendq, g_queue_pop_head(&cn->submitq));
    }
    cn->wake_pending = false;
    stop = g_atomic_int_get(&cn->stop);
    g_mutex_unlock(&cn->lock);
    return stop;
}

static void fail_queue(GQueue *q, int err, const char *msg)
{
    NbdReq *req;

    while ((req = g_queue_pop_head(q))) {
        nbd_req_fail(req, err, "%s", msg);
        req->done(req);
    }
}

/* ---- submitting (any thread) ------------------------------------------- */

void nbd_conn_submit(NbdConn *cn, NbdReq *req)
{
    g_autofree char *why = NULL;
    bool need_wake = false;

    g_mutex_lock(&cn->lock);
    if (cn->state == CONN_DEAD || g_atomic_int_get(&cn->stop) ||
        (cn->state == CONN_RECONNECTING && cn->reconnect_expired)) {
        why = g_strdup(cn->dead_reason ? cn->dead_reason :
                       "The NBD client is closing");
    } else {
        g_queue_push_tail(&cn->submitq, req);
        need_wake = !cn->wake_pending;
        cn->wake_pending = true;
    }
    g_mutex_unlock(&cn->lock);
    if (why) {
        nbd_req_fail(req, EIO, "%s", why);
        req->done(req);
    } else if (need_wake) {
        wake(cn);
    }
}

/* ---- writing requests (I/O thread) --------------------------------------- */

static void start_request(NbdConn *cn, NbdReq *req)
{
    NbdRequest r = {
        .magic = htobe32(NBD_REQUEST_MAGIC),
        .flags = htobe16(req->flags),
        .type = htobe16(req->type),
        .cookie = htobe64(++cn->next_cookie),
        .offset = htobe64(req->offset),
        .count = htobe32(req->len),
    };

    req->cookie = cn->next_cookie;
    req->sent = false;
    req->data_seen = 0;
    req->got_status = false;
    req->retry = false;
    if (req->extents) {
        g_array_set_size(req->extents, req->extents_base);
    }
    if (g_hash_table_size(cn->inflight) == 0) {
        cn->last_rx = g_get_monotonic_time();   /* stall clock starts */
    }
    g_hash_table_insert(cn->inflight, &req->cookie, req);
    memcpy(cn->wr_hdr, &r, sizeof(r));
    cn->wr_req = req;
    cn->wr_done = 0;
}

/* Writes until done or the socket is full. 1 = ok, -1 = error. */
static int conn_write(NbdConn *cn, GError **errp)
{
    for (;;) {
        NbdReq *req = cn->wr_req;
        struct iovec iov[2];
        size_t total, niov = 0;
        ssize_t n;

        if (!req) {
            req = g_queue_pop_head(&cn->sendq);
            if (!req) {
                return 1;
            }
            start_request(cn, req);
        }
        total = sizeof(NbdRequest) +
                (req->type == NBD_CMD_WRITE ? req->len : 0);
        if (cn->wr_done < sizeof(NbdRequest)) {
            iov[niov].iov_base = cn->wr_hdr + cn->wr_done;
            iov[niov++].iov_len = sizeof(NbdRequest) - cn->wr_done;
        }
        if (total > sizeof(NbdRequest)) {
            size_t off = MAX(cn->wr_done, sizeof(NbdRequest)) -
                         sizeof(NbdRequest);
            iov[niov].iov_base = (uint8_t *)req->buf + off;
            iov[niov++].iov_len = req->len - off;
        }
        n = wd_channel_writev(cn->ch, iov, niov, errp);
        if (n == WD_CHANNEL_ERR_BLOCK) {
            return 1;
        }
        if (n < 0) {
            return -1;
        }
        cn->wr_done += n;
        if (cn->wr_done == total) {
            req->sent = true;
            cn->wr_req = NULL;
        }
    }
}

/* ---- losing and regaining the connection --------------------------------- */

static gint cookie_order(gconstpointer a, gconstpointer b, gpointer unused)
{
    uint64_t x = ((const NbdReq *)a)->cookie;
    uint64_t y = ((const NbdReq *)b)->cookie;

    return x < y ? -1 : x > y;
}

static void conn_close_channel(NbdConn *cn)
{
    if (cn->ch) {
        wd_channel_shutdown(cn->ch, WD_CHANNEL_SHUTDOWN_BOTH, NULL);
        wd_channel_close(cn->ch, NULL);
        g_clear_pointer(&cn->ch, wd_channel_unref);
    }
    cn->fd = -1;
}

/* Takes every request the connection was working on back into @q, in
 * the order they were sent. */
static void collect_inflight(NbdConn *cn, GQueue *q)
{
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, cn->inflight);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        g_queue_insert_sorted(q, value, cookie_order, NULL);
    }
    g_hash_table_remove_all(cn->inflight);
    cn->wr_req = NULL;
    nbd_conn_reset_reader(cn);
}

static void conn_set_dead(NbdConn *cn, const char *why)
{
    GQueue q = G_QUEUE_INIT;

    collect_inflight(cn, &q);
    while (!g_queue_is_empty(&cn->sendq)) {
        g_queue_push_tail(&q, g_queue_pop_head(&cn->sendq));
    }
    g_mutex_lock(&cn->lock);
    cn->state = CONN_DEAD;
    g_free(cn->dead_reason);
    cn->dead_reason = g_strdup(why);
    g_mutex_unlock(&cn->lock);
    fail_queue(&q, EIO, why);
}

static void conn_lost(NbdConn *cn, GError *err, bool protocol)
{
    WdNbdClient *c = cn->client;
    g_autofree char *where = client_where(c);
    g_autofree char *why = NULL;

    conn_close_channel(cn);
    cn->server_shutdown = false;
    if (protocol || c->reconnect_delay <= 0 || g_atomic_int_get(&cn->stop)) {
        why = g_strdup_printf("Connection to the NBD server at '%s' failed: "
                              "%s", where, err ? err->message : "closed");
        conn_set_dead(cn, why);
    } else {
        GQueue q = G_QUEUE_INIT;

        wd_warn("NBD connection to '%s' lost (%s); reconnecting for up to "
                "%g seconds", where, err ? err->message : "closed",
                c->reconnect_delay);
        collect_inflight(cn, &q);
        /* Resend in the original order, before anything newer. */
        while (!g_queue_is_empty(&q)) {
            g_queue_push_head(&cn->sendq, g_queue_pop_tail(&q));
        }
        g_mutex_lock(&cn->lock);
        cn->state = CONN_RECONNECTING;
        cn->reconnect_expired = false;
        g_mutex_unlock(&cn->lock);
        cn->reconnect_deadline = g_get_monotonic_time() +
                                 seconds_to_us(c->reconnect_delay);
        cn->next_attempt = 0;
    }
    if (err) {
        g_error_free(err);
    }
}

/* Is what a reconnect found the export we had? */
static bool same_export(WdNbdClient *c, const NbdNegotiated *n, GError **errp)
{
    const NbdNegotiated *o = &c->info;

    if (n->size != o->size || n->flags != o->flags ||
        n->structured != o->structured || n->meta != o->meta ||
        (n->meta && n->meta_id != o->meta_id)) {
        wd_error_setg(errp, "The export changed while reconnecting (size %"
                      PRIu64 " -> %" PRIu64 ", flags 0x%x -> 0x%x)",
                      o->size, n->size, o->flags, n->flags);
        return false;
    }
    return true;
}

/* Sleeps until @until (monotonic) or a wake-up. */
static void wait_until(NbdConn *cn, gint64 until)
{
    struct pollfd pfd = { .fd = cn->wake_fd, .events = POLLIN };
    gint64 left = until - g_get_monotonic_time();

    if (left > 0) {
        poll(&pfd, 1, (int)MIN((left + 999) / 1000, G_MAXINT));
    }
}

static void conn_reconnect(NbdConn *cn)
{
    WdNbdClient *c = cn->client;
    NbdCancel cancel = { .wake_fd = cn->wake_fd, .stop = &cn->stop };
    g_autoptr(GError) err = NULL;
    NbdNegotiated neg;
    gint64 now = g_get_monotonic_time();
    gint64 deadline;
    WdChannel *ch;

    if (!cn->reconnect_expired && now >= cn->reconnect_deadline) {
        g_autofree char *where = client_where(c);
        g_autofree char *why = g_strdup_printf(
            "Connection to the NBD server at '%s' was lost and not "
            "re-established within %g seconds%s%s", where,
            c->reconnect_delay, cn->last_error ? ": " : "",
            cn->last_error ? cn->last_error : "");

        g_mutex_lock(&cn->lock);
        cn->reconnect_expired = true;
        g_free(cn->dead_reason);
        cn->dead_reason = g_strdup(why);
        g_mutex_unlock(&cn->lock);
    }
    if (cn->reconnect_expired) {
        /* Requests queued before the delay ran out fail now; new ones
         * are refused by nbd_conn_submit() until we are back. */
        g_autofree char *why = NULL;

        g_mutex_lock(&cn->lock);
        why = g_strdup(cn->dead_reason);
        g_mutex_unlock(&cn->lock);
        fail_queue(&cn->sendq, EIO, why);
    }
    if (now < cn->next_attempt) {
        wait_until(cn, cn->reconnect_expired ? cn->next_attempt :
                   MIN(cn->next_attempt, cn->reconnect_deadline));
        return;                 /* the loop takes new requests, comes back */
    }
    deadline = cn->reconnect_expired ?
               now + seconds_to_us(WD_NBD_CLIENT_HANDSHAKE_TIMEOUT) :
               cn->reconnect_deadline;
    ch = nbd_client_handshake(&c->params, deadline, c->reconnect_delay,
                              &cancel, &neg, NULL, &err);
    if (ch && !same_export(c, &neg, &err)) {
        nbd_negotiated_clear(&neg);
        wd_channel_unref(ch);
        g_autofree char *where = client_where(c);
        g_autofree char *why = g_strdup_printf("Connection to the NBD "
                                               "server at '%s' failed: %s",
                                               where, err->message);
        conn_set_dead(cn, why);
        return;
    }
    if (!ch) {
        g_free(cn->last_error);
        cn->last_error = g_strdup(err->message);
        cn->next_attempt = g_get_monotonic_time() +
                           (cn->reconnect_expired ?
                            RECONNECT_SLOW_INTERVAL_US :
                            RECONNECT_INTERVAL_US);
        return;
    }
    nbd_negotiated_clear(&neg);
    cn->ch = ch;
    cn->fd = wd_channel_get_fd(ch);
    nbd_conn_reset_reader(cn);
    g_mutex_lock(&cn->lock);
    cn->state = CONN_CONNECTED;
    cn->reconnect_expired = false;
    g_clear_pointer(&cn->dead_reason, g_free);
    g_mutex_unlock(&cn->lock);
    g_clear_pointer(&cn->last_error, g_free);
    g_autofree char *where = client_where(c);
    wd_warn("NBD connection to '%s' re-established; resending %u "
            "request(s)", where, g_queue_get_length(&cn->sendq));
}

/* ---- the I/O thread ------------------------------------------------------ */

/* One round of I/O on a connected socket, then wait for more. */
static void conn_service(NbdConn *cn)
{
    WdNbdClient *c = cn->client;
    GError *err = NULL;
    bool protocol = false;
    struct pollfd pfd[2];
    int timeout = -1, r;

    if (conn_write(cn, &err) < 0) {
        conn_lost(cn, err, false);
        return;
    }
    r = nbd_conn_read_replies(cn, &protocol, &err);
    if (r > 0 && cn->server_shutdown) {
        /* The spec asks for a soft disconnect after ESHUTDOWN. */
        wd_error_setg(&err, "The NBD server is shutting down");
        r = -1;
    }
    if (r <= 0) {
        if (r == 0) {
            wd_error_setg(&err, "The NBD server closed the connection");
        }
        conn_lost(cn, err, protocol);
        return;
    }
    if (c->request_timeout > 0 && g_hash_table_size(cn->inflight) > 0) {
        gint64 left = cn->last_rx + seconds_to_us(c->request_timeout) -
                      g_get_monotonic_time();

        if (left <= 0) {
            wd_error_setg(&err, "The NBD server did not reply for %g "
                          "seconds", c->request_timeout);
            conn_lost(cn, err, false);
            return;
        }
        timeout = (int)MIN((left + 999) / 1000, G_MAXINT);
    }
    if (r == 2 || wd_channel_pending(cn->ch) > 0) {
        timeout = 0;            /* bytes wait in a buffer, not the socket */
    }
    pfd[0].fd = cn->fd;
    pfd[0].events = POLLIN;
    if (cn->wr_req || !g_queue_is_empty(&cn->sendq)) {
        pfd[0].events |= POLLOUT;
    }
    pfd[1].fd = cn->wake_fd;
    pfd[1].events = POLLIN;
    poll(pfd, 2, timeout);
}

/* Best effort: tell the server we are going (NBD_CMD_DISC). */
static void send_disc(NbdConn *cn)
{
    NbdRequest r = {
        .magic = htobe32(NBD_REQUEST_MAGIC),
        .type = htobe16(NBD_CMD_DISC),
        .cookie = htobe64(++cn->next_cookie),
    };
    size_t done = 0;
    gint64 until = g_get_monotonic_time() + DISC_TIMEOUT_MS * 1000;

    if (cn->wr_req || g_hash_table_size(cn->inflight) > 0) {
        return;                 /* mid-request: just hang up */
    }
    while (done < sizeof(r) && g_get_monotonic_time() < until) {
        ssize_t n = wd_channel_write(cn->ch, (uint8_t *)&r + done,
                                     sizeof(r) - done, NULL);
        struct pollfd pfd = { .fd = cn->fd, .events = POLLOUT };

        if (n == WD_CHANNEL_ERR_BLOCK) {
            poll(&pfd, 1, 100);
            continue;
        }
        if (n <= 0) {
            return;
        }
        done += n;
    }
}

static gpointer conn_thread(gpointer opaque)
{
    NbdConn *cn = opaque;
    GQueue q = G_QUEUE_INIT;

    while (!take_submissions(cn)) {
        if (cn->ch) {
            conn_service(cn);
        } else if (cn->state == CONN_RECONNECTING) {
            conn_reconnect(cn);
        } else {
            /* DEAD: nothing will ever be sent. */
            g_autofree char *why = g_strdup(cn->dead_reason);
            struct pollfd pfd = { .fd = cn->wake_fd, .events = POLLIN };

            fail_queue(&cn->sendq, EIO, why);
            poll(&pfd, 1, -1);
        }
    }
    if (cn->ch) {
        send_disc(cn);
        conn_close_channel(cn);
    }
    collect_inflight(cn, &q);
    while (!g_queue_is_empty(&cn->sendq)) {
        g_queue_push_tail(&q, g_queue_pop_head(&cn->sendq));
    }
    fail_queue(&q, ESHUTDOWN, "The NBD client was closed");
    return NULL;
}

static NbdConn *conn_new(WdNbdClient *c, unsigned index, WdChannel *ch)
{
    NbdConn *cn = g_new0(NbdConn, 1);

    cn->client = c;
    cn->index = index;
    cn->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    g_mutex_init(&cn->lock);
    g_queue_init(&cn->submitq);
    g_queue_init(&cn->sendq);
    cn->inflight = g_hash_table_new(g_int64_hash, g_int64_equal);
    cn->state = CONN_CONNECTED;
    cn->ch = ch;
    cn->fd = wd_channel_get_fd(ch);
    nbd_conn_reset_reader(cn);
    return cn;
}

static void conn_free(NbdConn *cn)
{
    if (!cn) {
        return;
    }
    if (cn->thread) {
        g_mutex_lock(&cn->lock);
        g_atomic_int_set(&cn->stop, 1);
        g_mutex_unlock(&cn->lock);
        wake(cn);
        g_thread_join(cn->thread);
    }
    conn_close_channel(cn);
    g_hash_table_destroy(cn->inflight);
    g_mutex_clear(&cn->lock);
    if (cn->wake_fd >= 0) {
        close(cn->wake_fd);
    }
    g_free(cn->dead_reason);
    g_free(cn->last_error);
    g_free(cn->scratch);
    g_free(cn);
}

/* ---- opening and closing ------------------------------------------------- */

static bool check_config(const WdNbdClientConfig *cfg, GError **errp)
{
    if (!cfg->addr) {
        wd_error_setg(errp, "No NBD server address given");
        return false;
    }
    if (cfg->nconns > WD_NBD_CLIENT_MAX_CONNS) {
        wd_error_setg(errp, "At most %d connections per NBD client are "
                      "allowed, not %u", WD_NBD_CLIENT_MAX_CONNS,
                      cfg->nconns);
        return false;
    }
    if (cfg->open_timeout < 0 || cfg->reconnect_delay < 0 ||
        cfg->request_timeout < 0) {
        wd_error_setg(errp, "NBD client timeouts must not be negative");
        return false;
    }
    if (cfg->export_name && strlen(cfg->export_name) > NBD_MAX_STRING) {
        wd_error_setg(errp, "Export name is longer than %d bytes",
                      NBD_MAX_STRING);
        return false;
    }
    if (cfg->tls &&
        wd_tls_creds_get_endpoint(cfg->tls) != WD_TLS_ENDPOINT_CLIENT) {
        wd_error_setg(errp, "TLS credentials for an NBD client need "
                      "endpoint=client");
        return false;
    }
    return true;
}

/* Fills @p from @cfg; fails when the server cannot be verified. */
static bool params_init(NbdOpenParams *p, const WdNbdClientConfig *cfg,
                        GError **errp)
{
    const WdSocketAddress *a = cfg->addr;

    p->addr = wd_socket_address_copy(a);
    p->export_name = g_strdup(cfg->export_name ? cfg->export_name : "");
    p->tls = cfg->tls ? wd_tls_creds_ref(cfg->tls) : NULL;
    p->structured = !cfg->no_structured_replies;
    p->meta = !cfg->no_meta_context;
    if (cfg->tls_hostname && *cfg->tls_hostname) {
        p->tls_hostname = g_strdup(cfg->tls_hostname);
    } else if (a->type == WD_SOCKET_ADDRESS_INET && a->host && *a->host) {
        p->tls_hostname = g_strdup(a->host);
    }
    if (p->tls && !p->tls_hostname &&
        wd_tls_creds_get_type(p->tls) == WD_TLS_CREDS_X509 &&
        wd_tls_creds_get_verify_peer(p->tls)) {
        g_autofree char *where = wd_socket_address_to_string(a);
        /* libnbd 1.14 silently skips verification here; QEMU refuses. */
        wd_error_setg(errp, "No hostname for certificate validation: the "
                      "NBD server is at '%s', so give tls-hostname=NAME "
                      "(a name in its certificate), or turn verification "
                      "off with tls-verify-peer=false / verify-peer=off",
                      where);
        return false;
    }
    return true;
}

static void params_clear(NbdOpenParams *p)
{
    wd_socket_address_free(p->addr);
    g_free(p->export_name);
    wd_tls_creds_unref(p->tls);
    g_free(p->tls_hostname);
    memset(p, 0, sizeof(*p));
}

/* The first connection, retried within open-timeout while the server
 * refuses (e.g. is still starting). */
static WdChannel *open_first(WdNbdClient *c, NbdNegotiated *neg,
                             GError **errp)
{
    double t = c->open_timeout > 0 ? c->open_timeout :
               WD_NBD_CLIENT_HANDSHAKE_TIMEOUT;
    gint64 deadline = g_get_monotonic_time() + seconds_to_us(t);

    for (;;) {
        g_autoptr(GError) err = NULL;
        bool reached = false;
        WdChannel *ch = nbd_client_handshake(&c->params, deadline, t, NULL,
                                             neg, &reached, &err);

        if (ch) {
            return ch;
        }
        if (reached || c->open_timeout <= 0 ||
            g_get_monotonic_time() + RECONNECT_INTERVAL_US >= deadline) {
            g_propagate_error(errp, g_steal_pointer(&err));
            return NULL;
        }
        g_usleep(RECONNECT_INTERVAL_US);
    }
}

static void set_max_request(WdNbdClient *c)
{
    uint32_t max = MIN(c->info.max_block, (uint32_t)NBD_MAX_PAYLOAD);

    max -= max % c->info.min_block;
    c->max_request = MAX(max, c->info.min_block);
}

WdNbdClient *wd_nbd_client_connect(const WdNbdClientConfig *cfg,
                                   GError **errp)
{
    g_autoptr(WdNbdClient) c = NULL;
    unsigned want;
    WdChannel *ch;

    if (!check_config(cfg, errp)) {
        return NULL;
    }
    c = g_new0(WdNbdClient, 1);
    c->open_timeout = cfg->open_timeout;
    c->reconnect_delay = cfg->reconnect_delay;
    c->request_timeout = cfg->request_timeout;
    c->read_only = cfg->read_only;
    if (!params_init(&c->params, cfg, errp)) {
        return NULL;
    }
    ch = open_first(c, &c->info, errp);
    if (!ch) {
        return NULL;
    }
    set_max_request(c);
    c->conns[c->nconns++] = conn_new(c, 0, ch);
    want = MAX(cfg->nconns, 1);
    if (!(c->info.flags & NBD_FLAG_CAN_MULTI_CONN)) {
        want = 1;
    }
    while (c->nconns < want) {
        double t = c->open_timeout > 0 ? c->open_timeout :
                   WD_NBD_CLIENT_HANDSHAKE_TIMEOUT;
        NbdNegotiated neg;

        ch = nbd_client_handshake(&c->params, g_get_monotonic_time() +
                                  seconds_to_us(t), t, NULL, &neg, NULL,
                                  errp);
        if (!ch) {
            g_prefix_error(errp, "Extra connection %u: ", c->nconns + 1);
            return NULL;
        }
        if (!same_export(c, &neg, errp)) {
            nbd_negotiated_clear(&neg);
            wd_channel_unref(ch);
            return NULL;
        }
        nbd_negotiated_clear(&neg);
        c->conns[c->nconns] = conn_new(c, c->nconns, ch);
        c->nconns++;
    }
    for (unsigned i = 0; i < c->nconns; i++) {
        c->conns[i]->thread = g_thread_new("nbd-client", conn_thread,
                                           c->conns[i]);
    }
    return g_steal_pointer(&c);
}

void wd_nbd_client_close(WdNbdClient *c)
{
    if (!c) {
        return;
    }
    for (unsigned i = 0; i < c->nconns; i++) {
        conn_free(c->conns[i]);
    }
    params_clear(&c->params);
    nbd_negotiated_clear(&c->info);
    g_free(c);
}

GPtrArray *wd_nbd_client_list_exports(const WdNbdClientConfig *cfg,
                                      GError **errp)
{
    NbdOpenParams p = { 0 };
    double t = cfg->open_timeout > 0 ? cfg->open_timeout :
               WD_NBD_CLIENT_HANDSHAKE_TIMEOUT;
    GPtrArray *list = NULL;

    if (check_config(cfg, errp) && params_init(&p, cfg, errp)) {
        list = nbd_client_handshake_list(&p, g_get_monotonic_time() +
                                         seconds_to_us(t), t, errp);
    }
    params_clear(&p);
    return list;
}

NbdConn *nbd_client_pick_conn(WdNbdClient *c)
{
    if (c->nconns == 1) {
        return c->conns[0];
    }
    return c->conns[(guint)g_atomic_int_add(&c->next_conn, 1) % c->nconns];
}
