/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the NBD server's negotiation (nbd-handshake.c,
 * nbd-options.c): the input is what a client sends after the greeting
 * (client flags, options, STARTTLS and whatever follows), fed to a real
 * server over a socketpair while its output is drained.  The first byte
 * picks a server without TLS or one that requires TLS (PSK).  The server
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

#include "runtime/crypto/tlscreds.h"
#include "runtime/log.h"
#include "runtime/nbd/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "fuzz-nbd-handshake: invariant failed: %s\n",  \
                    #cond);                                                 \
            abort();                                                        \
        }                                                                   \
    } while (0)

static WdNbdServer *servers[2];

static WdNbdServer *make_server(WdTlsCreds *creds)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdBlockNode) disk = wd_block_memory_new(NULL, 1 << 20, &err);
    g_autoptr(WdBlockNode) ro = wd_block_memory_new(NULL, 65536, &err);
    WdNbdServerConfig cfg = {
        .tls_creds = creds, .max_connections_set = true,
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
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("fuzz-nbd-XXXXXX", &err);
    g_autofree char *keys = g_build_filename(dir, "keys.psk", NULL);
    g_autoptr(WdTlsCreds) creds = NULL;

    wd_log_set_level(WD_LOG_ERROR);
    CHECK(g_file_set_contents(keys, "qemu:0123456789abcdef0123456789abcdef\n",
                              -1, &err));
    creds = wd_tls_creds_psk_load(WD_TLS_ENDPOINT_SERVER, dir, NULL, NULL,
                                  &err);
    CHECK(creds);
    unlink(keys);
    rmdir(dir);
    servers[0] = make_server(NULL);
    servers[1] = make_server(creds);
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
    run(servers[data[0] & 1], data + 1, size - 1);
    return 0;
}
