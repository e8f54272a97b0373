/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The TLS channel: glue between a WdTlsSession and its master channel
 * (push/pull), the asynchronous handshake driven by master watches, and
 * a watch that also wakes for decrypted bytes already buffered.
 */
#include "runtime/io/channel-tls.h"
#include "runtime/error.h"

#include <errno.h>
#include <string.h>

/* Bytes gathered from several iovecs into one record (TLS max record). */
#define TLS_COALESCE_MAX 16384

typedef enum {
    TLS_NEW,
    TLS_HANDSHAKE,
    TLS_OPEN,
    TLS_FAILED,
} TlsState;

typedef struct {
    WdChannel base;
    WdChannel *master;
    WdTlsSession *session;
    TlsState state;
    GError *io_err;             /* the master's last error, for messages */
    GError *read_err;           /* held back behind data already read */
    bool bye_sent;
    /* The handshake task. */
    WdTaskFunc hs_cb;
    gpointer hs_opaque;
    GMainContext *hs_ctx;
    GSource *hs_src;
    GIOCondition hs_cond;       /* what hs_src waits for */
} WdChannelTls;

static const WdChannelOps tls_ops;

static WdChannelTls *to_tls(WdChannel *ch)
{
    g_assert(ch->ops == &tls_ops);
    return (WdChannelTls *)ch;
}

/* ---- transport callbacks ---- */

static ssize_t tls_push(const void *buf, size_t len, void *opaque)
{
    WdChannelTls *tls = opaque;
    g_autoptr(GError) err = NULL;
    ssize_t n = wd_channel_write(tls->master, buf, len, &err);

    if (n == WD_CHANNEL_ERR_BLOCK) {
        errno = EAGAIN;
        return -1;
    }
    if (n < 0) {
        g_clear_error(&tls->io_err);
        tls->io_err = g_steal_pointer(&err);
        errno = EIO;
        return -1;
    }
    return n;
}

static ssize_t tls_pull(void *buf, size_t len, void *opaque)
{
    WdChannelTls *tls = opaque;
    g_autoptr(GError) err = NULL;
    ssize_t n = wd_channel_read(tls->master, buf, len, &err);

    if (n == WD_CHANNEL_ERR_BLOCK) {
        errno = EAGAIN;
        return -1;
    }
    if (n < 0) {
        g_clear_error(&tls->io_err);
        tls->io_err = g_steal_pointer(&err);
        errno = EIO;
        return -1;
    }
    return n;
}

/* A session error caused by the master: say what the master said. */
static void tls_error(WdChannelTls *tls, GError *err, const char *what,
                      GError **errp)
{
    if (tls->io_err) {
        wd_error_setg(errp, "%s: %s", what, tls->io_err->message);
        g_clear_error(&tls->io_err);
        g_error_free(err);
        return;
    }
    g_propagate_error(errp, err);
}

/* ---- channel ops ---- */

static bool check_open(WdChannelTls *tls, GError **errp)
{
    if (tls->state != TLS_OPEN) {
        wd_error_setg(errp, "TLS channel '%s' is not open: the handshake %s",
                      tls->base.name, tls->state == TLS_FAILED ?
                      "failed" : "has not completed");
        return false;
    }
    return true;
}

static ssize_t tls_readv(WdChannel *ch, const struct iovec *iov, size_t niov,
                         int **fds, size_t *nfds, GError **errp)
{
    WdChannelTls *tls = to_tls(ch);
    size_t total = 0;

    if (!check_open(tls, errp)) {
        return -1;
    }
    if (tls->read_err) {
        g_propagate_error(errp, g_steal_pointer(&tls->read_err));
        return -1;
    }
    for (size_t i = 0; i < niov; i++) {
        GError *err = NULL;
        ssize_t n;

        if (iov[i].iov_len == 0) {
            continue;
        }
        n = wd_tls_session_read(tls->session, iov[i].iov_base,
                                iov[i].iov_len, &err);
        if (n == WD_CHANNEL_ERR_BLOCK || n == 0) {
            return total ? (ssize_t)total : n;
        }
        if (n < 0) {
            /* Deliver the bytes first; the error on the next read. */
            tls_error(tls, err, "Cannot read from TLS channel",
                      total ? &tls->read_err : errp);
            return total ? (ssize_t)total : -1;
        }
        total += n;
        if ((size_t)n < iov[i].iov_len) {
            break;
        }
    }
    return total;
}

/*
 * One record per call. Small iovecs (e.g. a reply header and its data)
 * are gathered into one buffer first so they share a record. As gnutls
 * requires, after WD_CHANNEL_ERR_BLOCK the caller retries with the same
 * iovecs, which gathers the same bytes again.
 */
static ssize_t tls_writev(WdChannel *ch, const struct iovec *iov,
                          size_t niov, const int *fds, size_t nfds,
                          GError **errp)
{
    WdChannelTls *tls = to_tls(ch);
    g_autofree char *gather = NULL;
    const void *buf = NULL;
    size_t len = 0;
    GError *err = NULL;
    ssize_t n;

    if (!check_open(tls, errp)) {
        return -1;
    }
    while (niov && iov->iov_len == 0) {
        iov++;
        niov--;
    }
    if (niov == 0) {
        return 0;
    }
    if (niov == 1 || iov[0].iov_len >= TLS_COALESCE_MAX) {
        buf = iov[0].iov_base;
        len = iov[0].iov_len;
    } else {
        gather = g_malloc(TLS_COALESCE_MAX);
        for (size_t i = 0; i < niov && len < TLS_COALESCE_MAX; i++) {
            size_t take = MIN(iov[i].iov_len, TLS_COALESCE_MAX - len);

            memcpy(gather + len, iov[i].iov_base, take);
            len += take;
        }
        buf = gather;
    }
    n = wd_tls_session_write(tls->session, buf, len, &err);
    if (n == -1) {
        tls_error(tls, err, "Cannot write to TLS channel", errp);
    }
    return n;
}

static bool tls_set_blocking(WdChannel *ch, bool enabled, GError **errp)
{
    return wd_channel_set_blocking(to_tls(ch)->master, enabled, errp);
}

/* close_notify, once, best effort: the peer sees a clean EOF. */
static void tls_send_bye(WdChannelTls *tls)
{
    if (tls->state == TLS_OPEN && !tls->bye_sent) {
        tls->bye_sent = wd_tls_session_bye(tls->session);
        g_clear_error(&tls->io_err);
    }
}

static bool tls_shutdown(WdChannel *ch, WdChannelShutdown how, GError **errp)
{
    WdChannelTls *tls = to_tls(ch);

    if (how & WD_CHANNEL_SHUTDOWN_WRITE) {
        tls_send_bye(tls);
    }
    return wd_channel_shutdown(tls->master, how, errp);
}

static bool tls_close(WdChannel *ch, GError **errp)
{
    WdChannelTls *tls = to_tls(ch);

    tls_send_bye(tls);
    return wd_channel_close(tls->master, errp);
}

static GIOCondition tls_ready(WdChannel *ch, GIOCondition cond)
{
    WdChannelTls *tls = to_tls(ch);

    /* Decrypted bytes waiting in gnutls: the fd may never wake again. */
    if (tls->state == TLS_OPEN &&
        (wd_tls_session_pending(tls->session) || tls->read_err)) {
        return G_IO_IN;
    }
    return 0;
}

static GSource *tls_create_watch(WdChannel *ch, GIOCondition cond)
{
    WdChannelTls *tls = to_tls(ch);
    int fd = wd_channel_get_fd(tls->master);

    if (fd >= 0) {
        return wd_channel_fd_watch_new(ch, fd, cond, tls_ready);
    }
    return wd_channel_child_watch_new(ch, tls->master, cond, tls_ready);
}

static size_t tls_pending(WdChannel *ch)
{
    WdChannelTls *tls = to_tls(ch);

    return tls->state == TLS_OPEN ? wd_tls_session_pending(tls->session) : 0;
}

static int tls_get_fd(WdChannel *ch)
{
    return wd_channel_get_fd(to_tls(ch)->master);
}

static void tls_finalize(WdChannel *ch)
{
    WdChannelTls *tls = to_tls(ch);

    wd_tls_session_free(tls->session);
    wd_channel_unref(tls->master);
    g_clear_error(&tls->io_err);
    g_clear_error(&tls->read_err);
}

static const WdChannelOps tls_ops = {
    .name = "tls",
    .readv = tls_readv,
    .writev = tls_writev,
    .set_blocking = tls_set_blocking,
    .shutdown = tls_shutdown,
    .close = tls_close,
    .create_watch = tls_create_watch,
    .pending = tls_pending,
    .get_fd = tls_get_fd,
    .finalize = tls_finalize,
};

static WdChannel *tls_new(WdChannel *master, WdTlsCreds *creds,
                          WdTlsEndpoint ep, const char *hostname,
                          GError **errp)
{
    WdChannelTls *tls;
    g_autofree char *name = NULL;

    if (wd_tls_creds_get_endpoint(creds) != ep) {
        bool server = ep == WD_TLS_ENDPOINT_SERVER;

        wd_error_setg(errp, "TLS credentials are for a %s, but this end of "
                      "the connection is the %s: use credentials with "
                      "endpoint=%s", server ? "client" : "server",
                      server ? "server" : "client",
                      server ? "server" : "client");
        return NULL;
    }
    tls = g_new0(WdChannelTls, 1);
    wd_channel_init(&tls->base, &tls_ops);
    tls->base.features = master->features & WD_CHANNEL_FEATURE_SHUTDOWN;
    name = g_strdup_printf("tls %s",
                           master->name ? master->name : master->ops->name);
    wd_channel_set_name(&tls->base, name);
    tls->master = wd_channel_ref(master);
    tls->session = wd_tls_session_new(creds, hostname, tls_push, tls_pull,
                                      tls, errp);
    if (!tls->session) {
        /* Nothing was sent: make the unref not touch the master. */
        tls->base.closed = true;
        wd_channel_unref(&tls->base);
        return NULL;
    }
    tls->state = TLS_NEW;
    return &tls->base;
}

WdChannel *wd_channel_tls_new_server(WdChannel *master, WdTlsCreds *creds,
                                     GError **errp)
{
    return tls_new(master, creds, WD_TLS_ENDPOINT_SERVER, NULL, errp);
}

WdChannel *wd_channel_tls_new_client(WdChannel *master, WdTlsCreds *creds,
                                     const char *hostname, GError **errp)
{
    return tls_new(master, creds, WD_TLS_ENDPOINT_CLIENT, hostname, errp);
}

WdTlsSession *wd_channel_tls_get_session(WdChannel *ch)
{
    return to_tls(ch)->session;
}

bool wd_channel_is_tls(WdChannel *ch)
{
    return ch && ch->ops == &tls_ops;
}

/* ---- handshake ---- */

/*
 * One step. Returns 1 when done (the peer checked), 0 to wait for
 * *@wait on the master, -1 on failure.
 */
static int hs_step(WdChannelTls *tls, GIOCondition *wait, GError **errp)
{
    GError *err = NULL;
    int r = wd_tls_session_handshake(tls->session, &err);

    if (r < 0) {
        tls->state = TLS_FAILED;
        tls_error(tls, err, "TLS handshake failed", errp);
        return -1;
    }
    if (r == WD_TLS_HANDSHAKE_RECVING || r == WD_TLS_HANDSHAKE_SENDING) {
        *wait = r == WD_TLS_HANDSHAKE_RECVING ? G_IO_IN : G_IO_OUT;
        return 0;
    }
    if (!wd_tls_session_check_credentials(tls->session, errp)) {
        tls->state = TLS_FAILED;
        return -1;
    }
    tls->state = TLS_OPEN;
    return 1;
}

static gboolean hs_io(WdChannel *master, GIOCondition cond, gpointer opaque);

static void hs_watch(WdChannelTls *tls, GIOCondition cond)
{
    if (tls->hs_src && cond == tls->hs_cond) {
        return;                 /* still waiting for the same thing */
    }
    tls->hs_cond = cond;
    if (tls->hs_src) {
        g_source_destroy(tls->hs_src);
        g_clear_pointer(&tls->hs_src, g_source_unref);
    }
    if (cond) {
        tls->hs_src = wd_channel_create_watch(tls->master, cond);
        g_source_set_callback(tls->hs_src, G_SOURCE_FUNC(hs_io), tls, NULL);
        g_source_attach(tls->hs_src, tls->hs_ctx);
    }
}

/* Reports (takes @err) and drops the task's reference. */
static void hs_finish(WdChannelTls *tls, GError *err)
{
    hs_watch(tls, 0);
    tls->hs_cb(&tls->base, err, tls->hs_opaque);
    if (err) {
        g_error_free(err);
    }
    g_clear_pointer(&tls->hs_ctx, g_main_context_unref);
    wd_channel_unref(&tls->base);
}

static void hs_run(WdChannelTls *tls)
{
    GIOCondition wait = 0;
    GError *err = NULL;
    int r = hs_step(tls, &wait, &err);

    if (r != 0) {
        hs_finish(tls, err);
    } else {
        hs_watch(tls, wait);
    }
}

static gboolean hs_io(WdChannel *master, GIOCondition cond, gpointer opaque)
{
    WdChannelTls *tls = opaque;
    GSource *self = g_main_current_source();

    /* hs_run keeps, replaces or removes this source itself. */
    g_source_ref(self);
    hs_run(tls);
    gboolean keep = !g_source_is_destroyed(self);
    g_source_unref(self);
    return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean hs_start(gpointer opaque)
{
    WdChannelTls *tls = opaque;

    hs_run(tls);
    return G_SOURCE_REMOVE;
}

void wd_channel_tls_handshake(WdChannel *ch, WdTaskFunc cb, gpointer opaque,
                              GMainContext *ctx)
{
    WdChannelTls *tls = to_tls(ch);
    GSource *idle;

    g_assert(tls->state == TLS_NEW);
    tls->state = TLS_HANDSHAKE;
    tls->hs_cb = cb;
    tls->hs_opaque = opaque;
    tls->hs_ctx = ctx ? g_main_context_ref(ctx)
                      : g_main_context_ref_thread_default();
    wd_channel_ref(ch);
    /* First step from the loop, so @cb never runs inside this call. */
    idle = g_idle_source_new();
    g_source_set_callback(idle, hs_start, tls, NULL);
    g_source_attach(idle, tls->hs_ctx);
    g_source_unref(idle);
}

bool wd_channel_tls_handshake_sync(WdChannel *ch, GError **errp)
{
    WdChannelTls *tls = to_tls(ch);

    g_assert(tls->state == TLS_NEW);
    tls->state = TLS_HANDSHAKE;
    for (;;) {
        GIOCondition wait = 0;
        int r = hs_step(tls, &wait, errp);

        if (r != 0) {
            return r > 0;
        }
        wd_channel_wait(tls->master, wait);
    }
}
