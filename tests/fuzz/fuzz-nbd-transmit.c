/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the NBD server's transmission phase
 * (nbd-transmit.c and the output path of nbd-conn.c): a valid negotiation
 * chosen by the first input byte (bit 0: structured replies and
 * base:allocation, bit 1: the read-only export, bit 2: EXPORT_NAME instead
 * of GO) is followed by the rest of the input as requests, fed to a real
 * server over a socketpair while its replies are drained.  The server
 * must always end the connection once the input ends, without crashing,
 * leaking or hanging.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include <endian.h>

#include "runtime/nbd/nbd-protocol.h"
#include "runtime/log.h"
#include "runtime/nbd/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "fuzz-nbd-transmit: invariant failed: %s\n",  \
                    #cond);                                                 \
            abort();                                                        \
        }                                                                   \
    } while (0)

static WdNbdServer *server;

static WdNbdServer *make_server(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdBlockNode) disk = wd_block_memory_new(NULL, 1 << 20, &err);
    g_autoptr(WdBlockNode) ro = wd_block_memory_new(NULL, 65536, &err);
    WdNbdServerConfig cfg = {
        .max_connections_set = true,
        .io_threads = 2, .worker_threads = 4, .name = "fuzz",
    };
    WdNbdServer *s = wd_nbd_server_new(&cfg, &err);

    CHECK(s && disk && ro);
    CHECK(wd_nbd_server_add_export(
        s, wd_nbd_export_new("disk", "Fuzz disk", disk, true, true, &err),
        &err));
    CHECK(wd_nbd_server_add_export(
        s, wd_nbd_export_new("ro", NULL, ro, false, false, &err), &err));
    return s;
}

static void init(void)
{
    wd_log_set_level(WD_LOG_ERROR);
    server = make_server();
}

static void add_option(GByteArray *a, uint32_t opt, const void *data,
                       uint32_t len)
{
    NbdOption h = {
        .version = htobe64(NBD_OPTS_MAGIC),
        .option = htobe32(opt),
        .optlen = htobe32(len),
    };

    g_byte_array_append(a, (const uint8_t *)&h, sizeof(h));
    g_byte_array_append(a, data, len);
}

/* The client side of a successful negotiation selected by @how. */
static GByteArray *negotiation(uint8_t how)
{
    static const uint8_t meta[] = {
        0, 0, 0, 4, 'd', 'i', 's', 'k', 0, 0, 0, 1, 0, 0, 0, 15,
        'b', 'a', 's', 'e', ':', 'a', 'l', 'l', 'o', 'c', 'a', 't', 'i',
        'o', 'n',
    };
    GByteArray *a = g_byte_array_new();
    const char *name = (how & 2) ? "ro" : "disk";
    uint32_t flags = htobe32(NBD_FLAG_C_FIXED_NEWSTYLE |
                             NBD_FLAG_C_NO_ZEROES);
    uint32_t nlen = htobe32(strlen(name));
    g_autoptr(GByteArray) go = g_byte_array_new();

    g_byte_array_append(a, (const uint8_t *)&flags, 4);
    if (how & 1) {
        add_option(a, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
        add_option(a, NBD_OPT_SET_META_CONTEXT, meta, sizeof(meta));
    }
    if (how & 4) {
        add_option(a, NBD_OPT_EXPORT_NAME, name, strlen(name));
    } else {
        g_byte_array_append(go, (const uint8_t *)&nlen, 4);
        g_byte_array_append(go, (const uint8_t *)name, strlen(name));
        g_byte_array_append(go, (const uint8_t *)"\0\0", 2);
        add_option(a, NBD_OPT_GO, go->data, go->len);
    }
    return a;
}

/* Sends @data to a new connection of @s, drains the replies until the
 * server hangs up (bounded), and waits for the connection to be gone. */
static void run(WdNbdServer *s, const uint8_t *data, size_t size)
{
    g_autoptr(GError) err = NULL;
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    uint8_t buf[65536];
    size_t off = 0;
    bool eof = false;
    WdChannel *ch;
    int sv[2];

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    ch = wd_channel_socket_new_fd(sv[0], &err);
    CHECK(ch && wd_nbd_server_add_client(s, ch, &err));
    wd_channel_unref(ch);
    if (size == 0) {
        shutdown(sv[1], SHUT_WR);
    }
    while (!eof) {
        struct pollfd p = {
            .fd = sv[1], .events = POLLIN | (off < size ? POLLOUT : 0),
        };

        CHECK(g_get_monotonic_time() < deadline);   /* a hang is a bug */
        if (poll(&p, 1, 100) <= 0) {
            continue;
        }
        if ((p.revents & POLLOUT) && off < size) {
            ssize_t n = send(sv[1], data + off, size - off, MSG_NOSIGNAL);

            if (n > 0) {
                off += n;
            } else if (n < 0 && errno != EAGAIN) {
                off = size;     /* the server hung up on us */
            }
            if (off == size) {
                shutdown(sv[1], SHUT_WR);
            }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(sv[1], buf, sizeof(buf), 0);

            eof = n == 0 || (n < 0 && errno != EAGAIN);
        }
    }
    close(sv[1]);
    while (wd_nbd_server_count_connections(s) > 0) {
        CHECK(g_get_monotonic_time() < deadline);
        g_usleep(100);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gsize once;

    if (g_once_init_enter(&once)) {
        init();
        g_once_init_leave(&once, 1);
    }
    if (size == 0) {
        return 0;
    }
    g_autoptr(GByteArray) in = negotiation(data[0]);

    g_byte_array_append(in, data + 1, size - 1);
    run(server, in->data, in->len);
    return 0;
}
