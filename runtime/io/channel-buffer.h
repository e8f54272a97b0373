/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * In-memory channel pairs for tests: what one end writes, the other end
 * reads, like a socketpair() without a kernel.
 */
#ifndef WARDEN_IO_CHANNEL_BUFFER_H
#define WARDEN_IO_CHANNEL_BUFFER_H

#include "runtime/io/channel.h"

/*
 * Create two connected channels *@a and *@b (new references, named
 * "buffer-a"/"buffer-b"). Each direction is an unbounded byte queue, so
 * writes never block and never return short. Reads take what is queued;
 * when the queue is empty they return 0 (EOF) once the peer shut down
 * writing or closed, WD_CHANNEL_ERR_BLOCK in non-blocking mode, and
 * otherwise wait for the peer (blocking mode, the default: only useful
 * when the peer is driven by another thread). Writing after the peer
 * shut down reading or closed fails ("Broken pipe").
 *
 * The two ends may be used from two different threads. Watches fire for
 * G_IO_IN while data (or EOF) is waiting and always for G_IO_OUT; they
 * are woken across threads. No fd passing; wd_channel_get_fd() is -1.
 */
void wd_channel_buffer_pair_new(WdChannel **a, WdChannel **b);

/* Bytes queued for reading at @ch (a buffer channel). */
size_t wd_channel_buffer_queued(WdChannel *ch);

#endif
