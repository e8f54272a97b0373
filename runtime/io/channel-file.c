/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fd channel: readv()/writev() on any descriptor (pipe, file, tty),
 * EINTR retried, EAGAIN reported as WD_CHANNEL_ERR_BLOCK.
 */
#include "runtime/io/channel-file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "runtime/error.h"

typedef struct {
    WdChannel base;
    int fd;
} WdChannelFile;

static ssize_t file_readv(WdChannel *ch, const struct iovec *iov,
                          size_t niov, int **fds, size_t *nfds,
                          GError **errp)
{
    WdChannelFile *f = (WdChannelFile *)ch;
    ssize_t n;

    do {
        n = readv(f->fd, iov, (int)MIN(niov, IOV_MAX));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return WD_CHANNEL_ERR_BLOCK;
        }
        wd_error_setg_errno(errp, errno, "Unable to read from '%s'",
                            ch->name);
        return -1;
    }
    return n;
}

static ssize_t file_writev(WdChannel *ch, const struct iovec *iov,
                           size_t niov, const int *fds, size_t nfds,
                           GError **errp)
{
    WdChannelFile *f = (WdChannelFile *)ch;
    ssize_t n;

    do {
        n = writev(f->fd, iov, (int)MIN(niov, IOV_MAX));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return WD_CHANNEL_ERR_BLOCK;
        }
        wd_error_setg_errno(errp, errno, "Unable to write to '%s'",
                            ch->name);
        return -1;
    }
    return n;
}

static bool file_set_blocking(WdChannel *ch, bool enabled, GError **errp)
{
    WdChannelFile *f = (WdChannelFile *)ch;
    int flags = fcntl(f->fd, F_GETFL);

    if (flags < 0 ||
        fcntl(f->fd, F_SETFL, enabled ? flags & ~O_NONBLOCK
                                      : flags | O_NONBLOCK) < 0) {
        wd_error_setg_errno(errp, errno, "Cannot set %sblocking mode on '%s'",
                            enabled ? "" : "non-", ch->name);
        return false;
    }
    return true;
}

static bool file_close(WdChannel *ch, GError **errp)
{
    WdChannelFile *f = (WdChannelFile *)ch;
    int fd = f->fd;

    f->fd = -1;
    /* Linux releases the fd even when close() reports EINTR. */
    if (fd >= 0 && close(fd) < 0 && errno != EINTR) {
        wd_error_setg_errno(errp, errno, "Unable to close '%s'", ch->name);
        return false;
    }
    return true;
}

static GSource *file_create_watch(WdChannel *ch, GIOCondition cond)
{
    return wd_channel_fd_watch_new(ch, ((WdChannelFile *)ch)->fd, cond, NULL);
}

static int file_get_fd(WdChannel *ch)
{
    return ((WdChannelFile *)ch)->fd;
}

static const WdChannelOps file_ops = {
    .name = "file",
    .readv = file_readv,
    .writev = file_writev,
    .set_blocking = file_set_blocking,
    .close = file_close,
    .create_watch = file_create_watch,
    .get_fd = file_get_fd,
};

WdChannel *wd_channel_file_new_fd(int fd)
{
    WdChannelFile *f = g_new0(WdChannelFile, 1);
    g_autofree char *name = g_strdup_printf("fd:%d", fd);

    wd_channel_init(&f->base, &file_ops);
    f->fd = fd;
    wd_channel_set_name(&f->base, name);
    return &f->base;
}

WdChannel *wd_channel_file_new_path(const char *path, int flags, mode_t mode,
                                    GError **errp)
{
    WdChannel *ch;
    int fd;

    do {
        fd = open(path, flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        wd_error_setg_errno(errp, errno, "Cannot open '%s'", path);
        return NULL;
    }
    ch = wd_channel_file_new_fd(fd);
    wd_channel_set_name(ch, path);
    return ch;
}
