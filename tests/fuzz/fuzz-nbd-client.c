/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the NBD client, playing a hostile server: the
 * input is everything the "server" sends, written into one end of a
 * socketpair (then EOF) before the client negotiates and runs a few
 * requests on the other; what the client sends is left unread. The
 * first input byte picks the client mode (connect or list, structured
 * replies on or off); the rest is the server's byte stream. Every
 * outcome must be a clean error: no crash, no hang, no write outside a
 * request buffer (ASan).
 *
 * Build: clang -fsanitize=fuzzer,address,undefined (tests/fuzz/run.sh);
 * seeds in tests/fuzz/corpus/nbd-client/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/nbd/client.h"
#include "runtime/nbd/nbd-protocol.h"

/* Inputs up to this size are written before the client starts, into
 * the socket buffer (a unix socketpair holds ~200 KiB), and what the
 * client sends stays unread in the other direction's buffer: no thread
 * per input, which was most of the cost of an execution. A larger input
 * is sent by a thread. */
#define FEED_INLINE_MAX 65536

typedef struct {
    int fd;
    const uint8_t *data;
    size_t size;
} Feed;

/* The server: sends the input, then EOF. */
static gpointer feed(gpointer opaque)
{
    Feed *f = opaque;
    size_t off = 0;

    while (off < f->size) {
        ssize_t n = send(f->fd, f->data + off, f->size - off, MSG_NOSIGNAL);

        if (n <= 0) {
            break;              /* the client hung up */
        }
        off += n;
    }
    shutdown(f->fd, SHUT_WR);
    return NULL;
}

static void exercise(WdNbdClient *c)
{
    g_autoptr(GArray) ext = g_array_new(FALSE, FALSE, sizeof(WdNbdExtent));
    uint64_t size = wd_nbd_client_get_size(c);
    uint64_t len = MIN(size, 4096);
    uint8_t *buf = g_malloc0(4096);

    if (len) {
        wd_nbd_client_pread(c, buf, 0, len, NULL);
        wd_nbd_client_block_status(c, 0, len, ext, NULL);
        wd_nbd_client_pwrite(c, buf, 0, len, NBD_CMD_FLAG_FUA, NULL);
        wd_nbd_client_write_zeroes(c, 0, len, 0, NULL);
        wd_nbd_client_trim(c, 0, len, 0, NULL);
        wd_nbd_client_cache(c, 0, len, NULL);
    }
    wd_nbd_client_flush(c, NULL);
    g_free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t mode = size ? data[0] : 0;
    int sv[2];
    Feed f;
    GThread *feeder = NULL;
    WdSocketAddress *addr;
    WdNbdClientConfig cfg = {
        .export_name = "fuzz",
        .no_structured_replies = mode & 2,
        .no_meta_context = mode & 4,
        .open_timeout = 2,
        .request_timeout = 2,
    };

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        abort();
    }
    f = (Feed){ .fd = sv[0], .data = data + !!size, .size = size - !!size };
    if (f.size <= FEED_INLINE_MAX) {
        feed(&f);
    } else {
        feeder = g_thread_new("feed", feed, &f);
    }
    addr = wd_socket_address_new_fd(sv[1]);
    cfg.addr = addr;
    if (mode & 1) {
        GPtrArray *list = wd_nbd_client_list_exports(&cfg, NULL);

        if (list) {
            g_ptr_array_unref(list);
        }
    } else {
        WdNbdClient *c = wd_nbd_client_connect(&cfg, NULL);

        if (c) {
            exercise(c);
            wd_nbd_client_close(c);
        }
    }
    shutdown(sv[1], SHUT_RDWR);
    close(sv[1]);
    if (feeder) {
        g_thread_join(feeder);
    }
    close(sv[0]);
    wd_socket_address_free(addr);
    return 0;
}
