/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The I/O channel interface: one byte-stream abstraction with socket,
 * TLS, websocket, file and in-memory buffer implementations that stack at
 * run time, so services never write "if (tls) ... else ...".
 *
 * Threading: a channel is used by one thread at a time (the thread whose
 * main context its watches are attached to); it holds no global state.
 */
#ifndef WARDEN_IO_CHANNEL_H
#define WARDEN_IO_CHANNEL_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct WdChannel WdChannel;

/* Returned by read/write functions when a non-blocking channel would block. */
#define WD_CHANNEL_ERR_BLOCK (-2)

typedef enum {
    WD_CHANNEL_SHUTDOWN_READ = 1,
    WD_CHANNEL_SHUTDOWN_WRITE = 2,
    WD_CHANNEL_SHUTDOWN_BOTH = 3,
} WdChannelShutdown;

typedef enum {
    WD_CHANNEL_FEATURE_FD_PASS = 1 << 0,   /* sendmsg/recvmsg SCM_RIGHTS */
    WD_CHANNEL_FEATURE_SHUTDOWN = 1 << 1,
    WD_CHANNEL_FEATURE_LISTEN = 1 << 2,
} WdChannelFeature;

/*
 * Implementation vtable. Mandatory: readv, writev, close, create_watch.
 * Optional (NULL = unsupported): set_blocking, shutdown, pending, get_fd.
 *
 * readv/writev return the number of bytes transferred, 0 for EOF (readv
 * only), WD_CHANNEL_ERR_BLOCK when non-blocking and nothing can be done
 * now, or -1 with @errp set. @fds/@nfds pass file descriptors where the
 * channel has WD_CHANNEL_FEATURE_FD_PASS (readv: *fds is a new array the
 * caller owns and must close/free; may be NULL when not wanted).
 * A writer that got WD_CHANNEL_ERR_BLOCK must retry with the same data:
 * layered channels (TLS, websocket) may already hold part of it, as
 * gnutls_record_send() requires.
 */
typedef struct WdChannelOps {
    const char *name;
    ssize_t (*readv)(WdChannel *ch, const struct iovec *iov, size_t niov,
                     int **fds, size_t *nfds, GError **errp);
    ssize_t (*writev)(WdChannel *ch, const struct iovec *iov, size_t niov,
                      const int *fds, size_t nfds, GError **errp);
    bool (*set_blocking)(WdChannel *ch, bool enabled, GError **errp);
    bool (*shutdown)(WdChannel *ch, WdChannelShutdown how, GError **errp);
    bool (*close)(WdChannel *ch, GError **errp);
    /* A GSource that dispatches a WdChannelFunc when @cond is ready.
     * Must also fire for G_IO_IN when pending() > 0. */
    GSource *(*create_watch)(WdChannel *ch, GIOCondition cond);
    /* Bytes already buffered inside the channel (e.g. decrypted TLS
     * records) that a read returns without touching the transport. */
    size_t (*pending)(WdChannel *ch);
    int (*get_fd)(WdChannel *ch);   /* underlying fd, or -1 */
    /* Optional: release the implementation's resources. Called once by the
     * last wd_channel_unref(), after close; the base then g_free()s the
     * struct itself, so implementations allocate with g_new0()/g_malloc0()
     * and must not free @ch here. */
    void (*finalize)(WdChannel *ch);
} WdChannelOps;

/* The base every implementation embeds as its first member. */
struct WdChannel {
    const WdChannelOps *ops;
    gint refcount;
    unsigned features;          /* WdChannelFeature bits */
    char *name;                 /* for logs: "nbd-client 127.0.0.1:4711" */
    bool closed;                /* set by wd_channel_close(); ops->close
                                 * runs at most once */
};

typedef gboolean (*WdChannelFunc)(WdChannel *ch, GIOCondition cond,
                                  gpointer opaque);

/* Initialise the base of a freshly allocated implementation (refcount 1). */
void wd_channel_init(WdChannel *ch, const WdChannelOps *ops);

WdChannel *wd_channel_ref(WdChannel *ch);
/* Drops a reference; the last one closes (if not yet) and frees. */
void wd_channel_unref(WdChannel *ch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WdChannel, wd_channel_unref)

void wd_channel_set_name(WdChannel *ch, const char *name);
bool wd_channel_has_feature(WdChannel *ch, WdChannelFeature f);

ssize_t wd_channel_readv(WdChannel *ch, const struct iovec *iov, size_t niov,
                         GError **errp);
ssize_t wd_channel_writev(WdChannel *ch, const struct iovec *iov,
                          size_t niov, GError **errp);
ssize_t wd_channel_read(WdChannel *ch, void *buf, size_t len, GError **errp);
ssize_t wd_channel_write(WdChannel *ch, const void *buf, size_t len,
                         GError **errp);
ssize_t wd_channel_readv_fds(WdChannel *ch, const struct iovec *iov,
                             size_t niov, int **fds, size_t *nfds,
                             GError **errp);
ssize_t wd_channel_writev_fds(WdChannel *ch, const struct iovec *iov,
                              size_t niov, const int *fds, size_t nfds,
                              GError **errp);

/*
 * Blocking-mode helpers: loop until everything is transferred. On a
 * non-blocking channel they wait for readiness with poll() on the fd (no
 * nested main loop). read_all: returns 1 on success, 0 on clean EOF before
 * the first byte, -1 on error (EOF mid-buffer is an error).
 */
int wd_channel_read_all(WdChannel *ch, void *buf, size_t len, GError **errp);
bool wd_channel_write_all(WdChannel *ch, const void *buf, size_t len,
                          GError **errp);
bool wd_channel_writev_all(WdChannel *ch, const struct iovec *iov,
                           size_t niov, GError **errp);

bool wd_channel_set_blocking(WdChannel *ch, bool enabled, GError **errp);
bool wd_channel_shutdown(WdChannel *ch, WdChannelShutdown how,
                         GError **errp);
bool wd_channel_close(WdChannel *ch, GError **errp);
size_t wd_channel_pending(WdChannel *ch);
int wd_channel_get_fd(WdChannel *ch);

/* Create a watch and attach it to @ctx (NULL = default context).
 * The watch holds a reference on @ch; @notify(@opaque) runs when the
 * source is destroyed. Returns the source id. */
guint wd_channel_add_watch(WdChannel *ch, GIOCondition cond,
                           WdChannelFunc func, gpointer opaque,
                           GDestroyNotify notify, GMainContext *ctx);
GSource *wd_channel_create_watch(WdChannel *ch, GIOCondition cond);

/*
 * Helper for implementations' create_watch: a GSource that polls @fd
 * (may be -1: no fd) for @cond and is also ready for the conditions that
 * @ready(@ch, @cond) returns (state buffered inside the channel, checked
 * before and after each poll). @ready NULL means "G_IO_IN is ready while
 * wd_channel_pending(@ch) > 0". G_IO_HUP/G_IO_ERR/G_IO_NVAL are always
 * reported (never masked, so a hung-up fd cannot spin the loop). The callback is a WdChannelFunc
 * (set it with G_SOURCE_FUNC()); the source holds a reference on @ch.
 */
typedef GIOCondition (*WdChannelReadyFunc)(WdChannel *ch, GIOCondition cond);
GSource *wd_channel_fd_watch_new(WdChannel *ch, int fd, GIOCondition cond,
                                 WdChannelReadyFunc ready);

/*
 * The same for a layered channel (websocket, TLS) whose @master has no fd
 * (e.g. an in-memory buffer channel): ready when @master's own watch for
 * @cond fires (a child source) or for what @ready(@ch, @cond) returns.
 * Master readiness is not broken down further: the callback then gets
 * all of @cond, so it must tolerate a spurious WD_CHANNEL_ERR_BLOCK.
 */
GSource *wd_channel_child_watch_new(WdChannel *ch, WdChannel *master,
                                    GIOCondition cond,
                                    WdChannelReadyFunc ready);

/*
 * Wait, blocking the calling thread (poll() on the channel's fd, or a
 * private GMainContext for fd-less channels; never the caller's
 * context), until @cond is ready on @ch. Used by the *_all helpers on
 * non-blocking channels after WD_CHANNEL_ERR_BLOCK.
 */
void wd_channel_wait(WdChannel *ch, GIOCondition cond);

/*
 * Async completion (QIOTask-like): connect, accept and TLS handshakes
 * report through a WdTaskFunc exactly once, from the main context they
 * were started in. @err is NULL on success; the callee owns nothing.
 */
typedef void (*WdTaskFunc)(WdChannel *ch, GError *err, gpointer opaque);

#endif
