/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * File descriptor channels: pipes, ttys and regular files read and
 * written with readv()/writev() at the current file offset.
 */
#ifndef WARDEN_IO_CHANNEL_FILE_H
#define WARDEN_IO_CHANNEL_FILE_H

#include <sys/types.h>

#include "runtime/io/channel.h"

/*
 * Wrap @fd (takes ownership; closed with the channel). The blocking mode
 * is whatever the fd has. Watches poll the fd (regular files are always
 * ready). Returns a new reference named "fd:N".
 */
WdChannel *wd_channel_file_new_fd(int fd);

/*
 * open(@path, @flags | O_CLOEXEC, @mode) and wrap the result. Returns a
 * new reference named after @path, or NULL.
 */
WdChannel *wd_channel_file_new_path(const char *path, int flags, mode_t mode,
                                    GError **errp);

#endif
