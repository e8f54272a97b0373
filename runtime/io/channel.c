/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The channel base: reference counting, the wrappers that cope with
 * absent optional ops, the blocking *_all helpers (which wait with poll()
 * rather than a nested main loop) and the generic fd watch GSource that
 * every fd-backed implementation uses for create_watch.
 */
#include "runtime/io/channel.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include "runtime/error.h"

void wd_channel_init(WdChannel *ch, const WdChannelOps *ops)
{
    g_assert(ops && ops->readv && ops->writev && ops->close &&
             ops->create_watch);
    ch->ops = ops;
    ch->refcount = 1;
    ch->features = 0;
    ch->name = NULL;
    ch->closed = false;
}

WdChannel *wd_channel_ref(WdChannel *ch)
{
    g_assert(ch && g_atomic_int_get(&ch->refcount) > 0);
    g_atomic_int_inc(&ch->refcount);
    return ch;
}

void wd_channel_unref(WdChannel *ch)
{
    if (!ch) {
        return;
    }
    g_assert(g_atomic_int_get(&ch->refcount) > 0);
    if (!g_atomic_int_dec_and_test(&ch->refcount)) {
        return;
    }
    if (!ch->closed) {
        g_autoptr(GError) err = NULL;

        /* Nobody is left to report a close error to; log it. */
        if (!wd_channel_close(ch, &err)) {
            g_debug("closing channel '%s': %s",
                    ch->name ? ch->name : ch->ops->name, err->message);
        }
    }
    if (ch->ops->finalize) {
        ch->ops->finalize(ch);
    }
    g_free(ch->name);
    g_free(ch);
}

void wd_channel_set_name(WdChannel *ch, const char *name)
{
    g_free(ch->name);
    ch->name = g_strdup(name);
}

bool wd_channel_has_feature(WdChannel *ch, WdChannelFeature f)
{
    return (ch->features & f) == (unsigned)f;
}

static const char *channel_label(WdChannel *ch)
{
    return ch->name ? ch->name : ch->ops->name;
}

static bool check_open(WdChannel *ch, GError **errp)
{
    if (ch->closed) {
        wd_error_setg(errp, "Channel '%s' is closed", channel_label(ch));
        return false;
    }
    return true;
}

ssize_t wd_channel_readv_fds(WdChannel *ch, const struct iovec *iov,
                             size_t niov, int **fds, size_t *nfds,
                             GError **errp)
{
    if (fds) {
        *fds = NULL;
    }
    if (nfds) {
        *nfds = 0;
    }
    if (!check_open(ch, errp)) {
        return -1;
    }
    /* Callers may always ask for fds; channels that cannot carry them
     * simply never return any. */
    if (!wd_channel_has_feature(ch, WD_CHANNEL_FEATURE_FD_PASS) ||
        !fds || !nfds) {
        fds = NULL;
        nfds = NULL;
    }
    return ch->ops->readv(ch, iov, niov, fds, nfds, errp);
}

ssize_t wd_channel_writev_fds(WdChannel *ch, const struct iovec *iov,
                              size_t niov, const int *fds, size_t nfds,
                              GError **errp)
{
    if (!check_open(ch, errp)) {
        return -1;
    }
    if (nfds > 0 && !wd_channel_has_feature(ch, WD_CHANNEL_FEATURE_FD_PASS)) {
        wd_error_setg(errp, "Channel '%s' cannot pass file descriptors",
                      channel_label(ch));
        return -1;
    }
    return ch->ops->writev(ch, iov, niov, nfds ? fds : NULL, nfds, errp);
}

ssize_t wd_channel_readv(WdChannel *ch, const struct iovec *iov, size_t niov,
                         GError **errp)
{
    return wd_channel_readv_fds(ch, iov, niov, NULL, NULL, errp);
}

ssize_t wd_channel_writev(WdChannel *ch, const struct iovec *iov,
                          size_t niov, GError **errp)
{
    return wd_channel_writev_fds(ch, iov, niov, NULL, 0, errp);
}

ssize_t wd_channel_read(WdChannel *ch, void *buf, size_t len, GError **errp)
{
    struct iovec iov = { .iov_base = buf, .iov_len = len };

    return wd_channel_readv(ch, &iov, 1, errp);
}

ssize_t wd_channel_write(WdChannel *ch, const void *buf, size_t len,
                         GError **errp)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    return wd_channel_writev(ch, &iov, 1, errp);
}

static gboolean wait_done(WdChannel *ch, GIOCondition cond, gpointer opaque)
{
    *(bool *)opaque = true;
    return G_SOURCE_REMOVE;
}

void wd_channel_wait(WdChannel *ch, GIOCondition cond)
{
    int fd;

    if ((cond & G_IO_IN) && wd_channel_pending(ch) > 0) {
        return;
    }
    fd = wd_channel_get_fd(ch);
    if (fd >= 0) {
        struct pollfd pfd = { .fd = fd, .events = 0 };

        if (cond & G_IO_IN) {
            pfd.events |= POLLIN;
        }
        if (cond & G_IO_OUT) {
            pfd.events |= POLLOUT;
        }
        /* Any revents (including POLLHUP/POLLERR) ends the wait: the
         * retried operation then reports EOF or the error. */
        while (poll(&pfd, 1, -1) < 0 && errno == EINTR) {
        }
        return;
    }

    /* No fd (e.g. the in-memory buffer channel): run the channel's own
     * watch in a private context, so the caller's context never
     * dispatches anything re-entrantly (G6). */
    GMainContext *ctx = g_main_context_new();
    GSource *src = wd_channel_create_watch(ch, cond);
    bool done = false;

    g_source_set_callback(src, G_SOURCE_FUNC(wait_done), &done, NULL);
    g_source_attach(src, ctx);
    while (!done) {
        g_main_context_iteration(ctx, TRUE);
    }
    g_source_destroy(src);
    g_source_unref(src);
    g_main_context_unref(ctx);
}

int wd_channel_read_all(WdChannel *ch, void *buf, size_t len, GError **errp)
{
    char *p = buf;
    size_t done = 0;

    while (done < len) {
        ssize_t n = wd_channel_read(ch, p + done, len - done, errp);

        if (n == WD_CHANNEL_ERR_BLOCK) {
            wd_channel_wait(ch, G_IO_IN);
            continue;
        }
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            if (done == 0) {
                return 0;
            }
            wd_error_setg(errp, "Unexpected end of stream on channel '%s' "
                          "after %zu of %zu bytes", channel_label(ch),
                          done, len);
            return -1;
        }
        done += n;
    }
    return 1;
}

bool wd_channel_writev_all(WdChannel *ch, const struct iovec *iov,
                           size_t niov, GError **errp)
{
    g_autofree struct iovec *local = g_memdup2(iov, niov * sizeof(*iov));
    struct iovec *cur = local;
    size_t left = niov;

    while (left > 0 && cur->iov_len == 0) {
        cur++;
        left--;
    }
    while (left > 0) {
        ssize_t n = wd_channel_writev(ch, cur, left, errp);

        if (n == WD_CHANNEL_ERR_BLOCK) {
            wd_channel_wait(ch, G_IO_OUT);
            continue;
        }
        if (n < 0) {
            return false;
        }
        /* Skip what was written: whole iovecs, then part of one. */
        size_t written = n;
        while (left > 0 && written >= cur->iov_len) {
            written -= cur->iov_len;
            cur++;
            left--;
        }
        if (left > 0) {
            cur->iov_base = (char *)cur->iov_base + written;
            cur->iov_len -= written;
        }
        while (left > 0 && cur->iov_len == 0) {
            cur++;
            left--;
        }
    }
    return true;
}

bool wd_channel_write_all(WdChannel *ch, const void *buf, size_t len,
                          GError **errp)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    return wd_channel_writev_all(ch, &iov, 1, errp);
}

bool wd_channel_set_blocking(WdChannel *ch, bool enabled, GError **errp)
{
    if (!ch->ops->set_blocking) {
        wd_error_setg(errp, "Channel '%s' (%s) cannot change blocking mode",
                      channel_label(ch), ch->ops->name);
        return false;
    }
    return ch->ops->set_blocking(ch, enabled, errp);
}

bool wd_channel_shutdown(WdChannel *ch, WdChannelShutdown how,
                         GError **errp)
{
    if (!ch->ops->shutdown) {
        wd_error_setg(errp, "Channel '%s' (%s) does not support shutdown",
                      channel_label(ch), ch->ops->name);
        return false;
    }
    if (!check_open(ch, errp)) {
        return false;
    }
    return ch->ops->shutdown(ch, how, errp);
}

bool wd_channel_close(WdChannel *ch, GError **errp)
{
    if (ch->closed) {
        return true;
    }
    ch->closed = true;
    return ch->ops->close(ch, errp);
}

size_t wd_channel_pending(WdChannel *ch)
{
    return ch->ops->pending ? ch->ops->pending(ch) : 0;
}

int wd_channel_get_fd(WdChannel *ch)
{
    return ch->ops->get_fd ? ch->ops->get_fd(ch) : -1;
}

GSource *wd_channel_create_watch(WdChannel *ch, GIOCondition cond)
{
    return ch->ops->create_watch(ch, cond);
}

guint wd_channel_add_watch(WdChannel *ch, GIOCondition cond,
                           WdChannelFunc func, gpointer opaque,
                           GDestroyNotify notify, GMainContext *ctx)
{
    GSource *src = wd_channel_create_watch(ch, cond);
    guint id;

    g_source_set_callback(src, G_SOURCE_FUNC(func), opaque, notify);
    id = g_source_attach(src, ctx);
    g_source_unref(src);
    return id;
}

/* ---- generic fd watch ---- */

/* Conditions that are always delivered so a dead fd cannot spin. */
#define WATCH_ALWAYS (G_IO_HUP | G_IO_ERR | G_IO_NVAL)

typedef struct {
    GSource source;
    WdChannel *ch;
    GIOCondition cond;
    gpointer tag;               /* g_source_add_unix_fd() tag or NULL */
    WdChannelReadyFunc ready;
    bool has_child;             /* a master's watch is our child source */
} WdChannelWatch;

static GIOCondition watch_buffered(WdChannelWatch *w)
{
    if (w->ready) {
        return w->ready(w->ch, w->cond) & w->cond;
    }
    if ((w->cond & G_IO_IN) && wd_channel_pending(w->ch) > 0) {
        return G_IO_IN;
    }
    return 0;
}

static GIOCondition watch_polled(WdChannelWatch *w)
{
    if (!w->tag) {
        return 0;
    }
    return g_source_query_unix_fd(&w->source, w->tag) &
           (w->cond | WATCH_ALWAYS);
}

static gboolean watch_prepare(GSource *source, gint *timeout)
{
    WdChannelWatch *w = (WdChannelWatch *)source;

    *timeout = -1;
    return watch_buffered(w) != 0;
}

static gboolean watch_check(GSource *source)
{
    WdChannelWatch *w = (WdChannelWatch *)source;

    return watch_polled(w) != 0 || watch_buffered(w) != 0;
}

static gboolean watch_dispatch(GSource *source, GSourceFunc callback,
                               gpointer user_data)
{
    WdChannelWatch *w = (WdChannelWatch *)source;
    WdChannelFunc func = (WdChannelFunc)(void (*)(void))callback;

    GIOCondition revents = watch_polled(w) | watch_buffered(w);

    if (!func) {
        g_warning("channel watch on '%s' dispatched without a callback",
                  channel_label(w->ch));
        return G_SOURCE_REMOVE;
    }
    if (!revents && w->has_child) {
        /* Woken by the master's watch, which does not tell us what. */
        revents = w->cond;
    }
    return func(w->ch, revents, user_data);
}

static void watch_finalize(GSource *source)
{
    WdChannelWatch *w = (WdChannelWatch *)source;

    wd_channel_unref(w->ch);
}

static GSourceFuncs watch_funcs = {
    .prepare = watch_prepare,
    .check = watch_check,
    .dispatch = watch_dispatch,
    .finalize = watch_finalize,
};

GSource *wd_channel_fd_watch_new(WdChannel *ch, int fd, GIOCondition cond,
                                 WdChannelReadyFunc ready)
{
    GSource *src = g_source_new(&watch_funcs, sizeof(WdChannelWatch));
    WdChannelWatch *w = (WdChannelWatch *)src;

    w->ch = wd_channel_ref(ch);
    w->cond = cond;
    w->ready = ready;
    if (fd >= 0) {
        w->tag = g_source_add_unix_fd(src, fd, cond);
    }
    g_source_set_name(src, "wd-channel-watch");
    return src;
}

static gboolean child_ready(WdChannel *ch, GIOCondition cond, gpointer opaque)
{
    /* GLib marks the parent ready too; it does the real dispatch. */
    return G_SOURCE_CONTINUE;
}

GSource *wd_channel_child_watch_new(WdChannel *ch, WdChannel *master,
                                    GIOCondition cond,
                                    WdChannelReadyFunc ready)
{
    GSource *src = wd_channel_fd_watch_new(ch, -1, cond, ready);
    GSource *child = wd_channel_create_watch(master, cond);

    g_source_set_callback(child, G_SOURCE_FUNC(child_ready), NULL, NULL);
    g_source_add_child_source(src, child);
    g_source_unref(child);
    ((WdChannelWatch *)src)->has_child = true;
    return src;
}
