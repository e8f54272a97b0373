/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Refusing a connection over max-connections, in words the client can
 * show its user. A plain close leaves qemu-img with "Failed to read
 * initial magic" and nbdinfo with "server disconnected unexpectedly",
 * which sends people looking for a crash. Instead the refused client gets
 * the greeting and then NBD_REP_ERR_POLICY, carrying the reason, for each
 * option it sends (STARTTLS included: the reason is no secret), until it
 * gives up, sends NBD_OPT_ABORT (acknowledged) or NBD_OPT_EXPORT_NAME
 * (which has no error reply, so: closed).
 *
 * This must not become a way around the limit: each refusal runs on a
 * short-lived thread with a hard deadline (NBD_SRV_REFUSE_MS) and a cap on
 * options, at most NBD_SRV_MAX_REFUSING at once; past that a connection
 * is just closed, as before. The server waits for its refusals when it is
 * freed, after shutting their sockets down.
 */
#include "runtime/nbd/nbd-conn-priv.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/log.h"

typedef struct {
    WdNbdServer *server;
    WdChannel *ch;
    char *reason;
} NbdRefusal;

/* Moves @len bytes over the non-blocking @fd before @deadline. */
static bool xfer(int fd, void *buf, size_t len, bool out, gint64 deadline)
{
    uint8_t *p = buf;

    while (len > 0) {
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        struct pollfd pfd = { .fd = fd, .events = out ? POLLOUT : POLLIN };
        ssize_t n;

        if (left <= 0 || poll(&pfd, 1, left) <= 0) {
            return false;       /* out of time (or poll failed) */
        }
        n = out ? send(fd, p, len, MSG_NOSIGNAL) : read(fd, p, len);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            return false;
        }
        if (n > 0) {
            p += n;
            len -= n;
        }
    }
    return true;
}

static bool reply(int fd, uint32_t option, uint32_t type, const char *msg,
                  gint64 deadline)
{
    size_t mlen = msg ? strlen(msg) : 0;
    NbdFixedNewOptionReply r = {
        .magic = htobe64(NBD_REP_MAGIC),
        .option = htobe32(option),
        .reply = htobe32(type),
        .replylen = htobe32(mlen),
    };

    return xfer(fd, &r, sizeof(r), true, deadline) &&
           (mlen == 0 || xfer(fd, (void *)msg, mlen, true, deadline));
}

/* The client side of the conversation, until one of us gives up. */
static void converse(int fd, const char *reason)
{
    gint64 deadline = g_get_monotonic_time() +
                      NBD_SRV_REFUSE_MS * G_TIME_SPAN_MILLISECOND;
    NbdNewGreeting g = {
        .nbdmagic = htobe64(NBD_MAGIC),
        .version = htobe64(NBD_NEW_VERSION),
        .gflags = htobe16(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES),
    };
    uint32_t cflags;

    if (!xfer(fd, &g, sizeof(g), true, deadline) ||
        !xfer(fd, &cflags, sizeof(cflags), false, deadline)) {
        return;
    }
    for (unsigned i = 0; i < NBD_SRV_REFUSE_OPTIONS; i++) {
        NbdOption o;
        uint8_t skip[4096];
        uint32_t len, opt;

        if (!xfer(fd, &o, sizeof(o), false, deadline) ||
            be64toh(o.version) != NBD_OPTS_MAGIC) {
            return;
        }
        opt = be32toh(o.option);
        len = be32toh(o.optlen);
        if (len > NBD_MAX_OPTION_LENGTH) {
            return;
        }
        while (len > 0) {
            uint32_t n = MIN(len, sizeof(skip));

            if (!xfer(fd, skip, n, false, deadline)) {
                return;
            }
            len -= n;
        }
        if (opt == NBD_OPT_EXPORT_NAME) {
            return;
        }
        if (opt == NBD_OPT_ABORT) {
            reply(fd, opt, NBD_REP_ACK, NULL, deadline);
            return;
        }
        if (!reply(fd, opt, NBD_REP_ERR_POLICY, reason, deadline)) {
            return;
        }
    }
}

/*
 * Takes @r's channel off the server's list (waking nbd_server_wait_refusals)
 * before closing it, so that the server never shuts down a descriptor
 * number that has been closed and reused.
 */
static void refusal_end(NbdRefusal *r, bool close_channel)
{
    WdNbdServer *s = r->server;

    g_mutex_lock(&s->lock);
    g_ptr_array_remove_fast(s->refusing, r->ch);
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
    if (close_channel) {
        wd_channel_close(r->ch, NULL);
    }
    wd_channel_unref(r->ch);
    g_free(r->reason);
    g_free(r);
}

static gpointer refusal_thread(gpointer opaque)
{
    NbdRefusal *r = opaque;

    converse(wd_channel_get_fd(r->ch), r->reason);
    refusal_end(r, true);
    return NULL;
}

bool nbd_server_refuse(WdNbdServer *s, WdChannel *ch, const char *reason)
{
    NbdRefusal *r;
    GThread *t;

    if (wd_channel_get_fd(ch) < 0 || !wd_channel_set_blocking(ch, false, NULL)) {
        return false;
    }
    g_mutex_lock(&s->lock);
    if (s->stopping || s->refusing->len >= NBD_SRV_MAX_REFUSING) {
        g_mutex_unlock(&s->lock);
        return false;
    }
    g_ptr_array_add(s->refusing, ch);
    g_mutex_unlock(&s->lock);

    r = g_new0(NbdRefusal, 1);
    r->server = s;
    r->ch = wd_channel_ref(ch);
    r->reason = g_strdup(reason);
    t = g_thread_try_new("nbd-refuse", refusal_thread, r, NULL);
    if (!t) {
        refusal_end(r, false);  /* the caller closes @ch */
        return false;
    }
    g_thread_unref(t);
    return true;
}

void nbd_server_wait_refusals(WdNbdServer *s)
{
    g_mutex_lock(&s->lock);
    for (guint i = 0; i < s->refusing->len; i++) {
        shutdown(wd_channel_get_fd(g_ptr_array_index(s->refusing, i)),
                 SHUT_RDWR);
    }
    while (s->refusing->len > 0) {
        g_cond_wait(&s->cond, &s->lock);
    }
    g_mutex_unlock(&s->lock);
}
