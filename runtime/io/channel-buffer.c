/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The in-memory channel pair. Both ends share one lock; each end has an
 * eventfd that is readable exactly while it has something to read (data
 * or EOF), which is what its watches poll, so they wake up across
 * threads without any main-context bookkeeping.
 */
#include "runtime/io/channel-buffer.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "runtime/error.h"

typedef struct {
    GMutex lock;
    GCond cond;                 /* broadcast on every state change */
    gint refs;                  /* ends still alive */
} BufferShared;

typedef struct WdChannelBuffer WdChannelBuffer;

struct WdChannelBuffer {
    WdChannel base;
    BufferShared *sh;
    /* Everything below is protected by sh->lock. */
    WdChannelBuffer *peer;      /* NULL once the peer was freed */
    GByteArray *in;             /* written by the peer, read by us */
    bool rd_shut;
    bool wr_shut;
    bool blocking;
    int efd;
    bool signaled;              /* efd counter is non-zero */
};

static const WdChannelOps buffer_ops;

static bool peer_eof(WdChannelBuffer *b)
{
    return !b->peer || b->peer->wr_shut;
}

static bool readable(WdChannelBuffer *b)
{
    return b->in->len > 0 || peer_eof(b) || b->rd_shut;
}

/* Make the eventfd match readable(); called with the lock held after
 * every change. */
static void update_signal(WdChannelBuffer *b)
{
    bool want = readable(b);
    uint64_t v = 1;
    ssize_t rc;

    if (want == b->signaled) {
        return;
    }
    if (want) {
        rc = write(b->efd, &v, sizeof(v));
    } else {
        rc = read(b->efd, &v, sizeof(v));
    }
    g_assert(rc == sizeof(v));
    b->signaled = want;
}

static ssize_t buffer_readv(WdChannel *ch, const struct iovec *iov,
                            size_t niov, int **fds, size_t *nfds,
                            GError **errp)
{
    WdChannelBuffer *b = (WdChannelBuffer *)ch;
    g_autoptr(GMutexLocker) locker G_GNUC_UNUSED =
        g_mutex_locker_new(&b->sh->lock);
    size_t done = 0;

    while (b->in->len == 0) {
        if (b->rd_shut || peer_eof(b)) {
            return 0;
        }
        if (!b->blocking) {
            return WD_CHANNEL_ERR_BLOCK;
        }
        g_cond_wait(&b->sh->cond, &b->sh->lock);
    }
    for (size_t i = 0; i < niov && done < b->in->len; i++) {
        size_t n = MIN(iov[i].iov_len, b->in->len - done);

        memcpy(iov[i].iov_base, b->in->data + done, n);
        done += n;
    }
    g_byte_array_remove_range(b->in, 0, done);
    update_signal(b);
    return done;
}

static ssize_t buffer_writev(WdChannel *ch, const struct iovec *iov,
                             size_t niov, const int *fds, size_t nfds,
                             GError **errp)
{
    WdChannelBuffer *b = (WdChannelBuffer *)ch;
    g_autoptr(GMutexLocker) locker G_GNUC_UNUSED =
        g_mutex_locker_new(&b->sh->lock);
    size_t done = 0;

    if (b->wr_shut) {
        wd_error_setg_errno(errp, EPIPE, "Unable to write to '%s': shut "
                            "down for writing", ch->name);
        return -1;
    }
    if (!b->peer || b->peer->rd_shut) {
        wd_error_setg_errno(errp, EPIPE, "Unable to write to '%s'",
                            ch->name);
        return -1;
    }
    for (size_t i = 0; i < niov; i++) {
        g_byte_array_append(b->peer->in, iov[i].iov_base, iov[i].iov_len);
        done += iov[i].iov_len;
    }
    update_signal(b->peer);
    g_cond_broadcast(&b->sh->cond);
    return done;
}

static bool buffer_set_blocking(WdChannel *ch, bool enabled, GError **errp)
{
    WdChannelBuffer *b = (WdChannelBuffer *)ch;
    g_autoptr(GMutexLocker) locker G_GNUC_UNUSED =
        g_mutex_locker_new(&b->sh->lock);

    b->blocking = enabled;
    return true;
}

static void shutdown_locked(WdChannelBuffer *b, WdChannelShutdown how)
{
    if (how & WD_CHANNEL_SHUTDOWN_READ) {
        b->rd_shut = true;
        g_byte_array_set_size(b->in, 0);
    }
    if (how & WD_CHANNEL_SHUTDOWN_WRITE) {
        b->wr_shut = true;
    }
    update_signal(b);
    if (b->peer) {
        update_signal(b->peer);
    }
    g_cond_broadcast(&b->sh->cond);
}

static bool buffer_shutdown(WdChannel *ch, WdChannelShutdown how,
                            GError **errp)
{
    WdChannelBuffer *b = (WdChannelBuffer *)ch;
    g_autoptr(GMutexLocker) locker G_GNUC_UNUSED =
        g_mutex_locker_new(&b->sh->lock);

    shutdown_locked(b, how);
    return true;
}

static bool buffer_close(WdChannel *ch, GError **errp)
{
    WdChannelBuffer *b = (WdChannelBuffer *)ch;
    g_autoptr(GMutexLocker) locker G_GNUC_UNUSED =
        g_mutex_locker_new(&b->sh->lock);

    /* The eventfd stays open until finalize: watches may still poll it. */
    shutdown_locked(b, WD_CHANNEL_SHUTDOWN_BOTH);
    return true;
}

static size_t buffer_pending(WdChannel *ch)
{
    WdChannelBuffer *b = (WdChannelBuffer *)ch;
    g_autoptr(GMutexLocker) locker G_GNUC_UNUSED =
        g_mutex_locker_new(&b->sh->lock);

    return b->in->len;
}

static GSource *buffer_create_watch(WdChannel *ch, GIOCondition cond)
{
    /* eventfd: POLLIN while signaled, POLLOUT always (writes never
     * block), which is exactly the readiness of this end. */
    return wd_channel_fd_watch_new(ch, ((WdChannelBuffer *)ch)->efd, cond,
                                   NULL);
}

static void buffer_finalize(WdChannel *ch)
{
    WdChannelBuffer *b = (WdChannelBuffer *)ch;
    BufferShared *sh = b->sh;

    g_mutex_lock(&sh->lock);
    if (b->peer) {
        b->peer->peer = NULL;
        update_signal(b->peer);
    }
    g_cond_broadcast(&sh->cond);
    g_mutex_unlock(&sh->lock);

    close(b->efd);
    g_byte_array_unref(b->in);
    if (g_atomic_int_dec_and_test(&sh->refs)) {
        g_mutex_clear(&sh->lock);
        g_cond_clear(&sh->cond);
        g_free(sh);
    }
}

static const WdChannelOps buffer_ops = {
    .name = "buffer",
    .readv = buffer_readv,
    .writev = buffer_writev,
    .set_blocking = buffer_set_blocking,
    .shutdown = buffer_shutdown,
    .close = buffer_close,
    .create_watch = buffer_create_watch,
    .pending = buffer_pending,
    .finalize = buffer_finalize,
};

static WdChannelBuffer *buffer_new(BufferShared *sh, const char *name)
{
    WdChannelBuffer *b = g_new0(WdChannelBuffer, 1);

    wd_channel_init(&b->base, &buffer_ops);
    b->base.features = WD_CHANNEL_FEATURE_SHUTDOWN;
    wd_channel_set_name(&b->base, name);
    b->sh = sh;
    b->in = g_byte_array_new();
    b->blocking = true;
    b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    /* Out of fds while building a test fixture: nothing sane to do. */
    if (b->efd < 0) {
        g_error("eventfd: %s", g_strerror(errno));
    }
    return b;
}

void wd_channel_buffer_pair_new(WdChannel **a, WdChannel **b)
{
    BufferShared *sh = g_new0(BufferShared, 1);
    WdChannelBuffer *ba, *bb;

    g_mutex_init(&sh->lock);
    g_cond_init(&sh->cond);
    sh->refs = 2;
    ba = buffer_new(sh, "buffer-a");
    bb = buffer_new(sh, "buffer-b");
    ba->peer = bb;
    bb->peer = ba;
    *a = &ba->base;
    *b = &bb->base;
}

size_t wd_channel_buffer_queued(WdChannel *ch)
{
    g_assert(ch->ops == &buffer_ops);
    return buffer_pending(ch);
}
