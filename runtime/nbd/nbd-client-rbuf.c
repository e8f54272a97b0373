/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A read-ahead layer between the NBD client's socket and what reads it
 * (the reply parser, or gnutls under the TLS channel). gnutls pulls each
 * record in two reads (5-byte header, then body) and replies start with
 * 4-, 16- and 8-byte headers: without this, every one of those is a
 * syscall. Small reads are served from one 64 KiB refill; a read at least
 * that large with nothing buffered goes straight into the caller's buffer,
 * so READ payloads are not copied twice.
 */
#include "runtime/nbd/nbd-client-priv.h"

#include <string.h>

#define RBUF_SIZE (64 * 1024)

typedef struct {
    WdChannel base;
    WdChannel *inner;
    uint8_t *buf;
    size_t start, end;          /* buffered bytes: buf[start, end) */
} RbufChannel;

static RbufChannel *to_rbuf(WdChannel *ch)
{
    return (RbufChannel *)ch;
}

static ssize_t rbuf_readv(WdChannel *ch, const struct iovec *iov,
                          size_t niov, int **fds, size_t *nfds,
                          GError **errp)
{
    RbufChannel *r = to_rbuf(ch);
    size_t total = 0;

    for (size_t i = 0; i < niov; i++) {
        uint8_t *dst = iov[i].iov_base;
        size_t want = iov[i].iov_len;

        while (want > 0) {
            ssize_t n;

            if (r->start < r->end) {
                size_t take = MIN(want, r->end - r->start);

                memcpy(dst, r->buf + r->start, take);
                r->start += take;
                dst += take;
                want -= take;
                total += take;
                continue;
            }
            if (total > 0) {
                return total;   /* never block once we have something */
            }
            if (want >= RBUF_SIZE) {
                return wd_channel_read(r->inner, dst, want, errp);
            }
            n = wd_channel_read(r->inner, r->buf, RBUF_SIZE, errp);
            if (n <= 0) {
                return n;       /* EOF, WD_CHANNEL_ERR_BLOCK or error */
            }
            r->start = 0;
            r->end = n;
        }
    }
    return total;
}

static ssize_t rbuf_writev(WdChannel *ch, const struct iovec *iov,
                           size_t niov, const int *fds, size_t nfds,
                           GError **errp)
{
    return wd_channel_writev(to_rbuf(ch)->inner, iov, niov, errp);
}

static bool rbuf_set_blocking(WdChannel *ch, bool enabled, GError **errp)
{
    return wd_channel_set_blocking(to_rbuf(ch)->inner, enabled, errp);
}

static bool rbuf_shutdown(WdChannel *ch, WdChannelShutdown how,
                          GError **errp)
{
    return wd_channel_shutdown(to_rbuf(ch)->inner, how, errp);
}

static bool rbuf_close(WdChannel *ch, GError **errp)
{
    return wd_channel_close(to_rbuf(ch)->inner, errp);
}

static size_t rbuf_pending(WdChannel *ch)
{
    RbufChannel *r = to_rbuf(ch);

    return r->end - r->start;
}

static int rbuf_get_fd(WdChannel *ch)
{
    return wd_channel_get_fd(to_rbuf(ch)->inner);
}

static GSource *rbuf_create_watch(WdChannel *ch, GIOCondition cond)
{
    /* Ready for G_IO_IN while bytes are buffered (rbuf_pending). */
    return wd_channel_fd_watch_new(ch, rbuf_get_fd(ch), cond, NULL);
}

static void rbuf_finalize(WdChannel *ch)
{
    RbufChannel *r = to_rbuf(ch);

    wd_channel_unref(r->inner);
    g_free(r->buf);
}

static const WdChannelOps rbuf_ops = {
    .name = "nbd-read-ahead",
    .readv = rbuf_readv,
    .writev = rbuf_writev,
    .set_blocking = rbuf_set_blocking,
    .shutdown = rbuf_shutdown,
    .close = rbuf_close,
    .create_watch = rbuf_create_watch,
    .pending = rbuf_pending,
    .get_fd = rbuf_get_fd,
    .finalize = rbuf_finalize,
};

WdChannel *nbd_rbuf_channel_new(WdChannel *inner)
{
    RbufChannel *r = g_new0(RbufChannel, 1);

    wd_channel_init(&r->base, &rbuf_ops);
    r->base.features = inner->features & WD_CHANNEL_FEATURE_SHUTDOWN;
    wd_channel_set_name(&r->base, inner->name);
    r->inner = wd_channel_ref(inner);
    r->buf = g_malloc(RBUF_SIZE);
    return &r->base;
}
