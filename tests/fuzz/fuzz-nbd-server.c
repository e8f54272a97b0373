/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The shared part of the NBD server fuzz targets; see fuzz-nbd-server.h.
 */
#include "fuzz-nbd-server.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "runtime/log.h"

WdNbdServer *fuzz_nbd_server_new(WdTlsCreds *creds)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdBlockNode) disk = wd_block_memory_new(NULL, 512 << 10, &err);
    g_autoptr(WdBlockNode) ro = wd_block_memory_new(NULL, 65536, &err);
    WdNbdServerConfig cfg = {
        .tls_creds = creds, .max_connections_set = true,
        .io_threads = 2, .worker_threads = 4, .name = "fuzz",
    };
    WdNbdServer *s;

    wd_log_set_level(WD_LOG_ERROR);
    s = wd_nbd_server_new(&cfg, &err);
    FUZZ_CHECK(s && disk && ro);
    FUZZ_CHECK(wd_nbd_server_add_export(
        s, wd_nbd_export_new("disk", "Fuzz disk", disk, true, true, &err),
        &err));
    FUZZ_CHECK(wd_nbd_server_add_export(
        s, wd_nbd_export_new("ro", NULL, ro, false, false, &err), &err));
    return s;
}

WdTlsCreds *fuzz_nbd_psk_creds(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("fuzz-nbd-XXXXXX", &err);
    g_autofree char *keys = g_build_filename(dir, "keys.psk", NULL);
    WdTlsCreds *creds;

    FUZZ_CHECK(g_file_set_contents(
        keys, "qemu:0123456789abcdef0123456789abcdef\n", -1, &err));
    creds = wd_tls_creds_psk_load(WD_TLS_ENDPOINT_SERVER, dir, NULL, NULL,
                                  &err);
    FUZZ_CHECK(creds);
    unlink(keys);
    rmdir(dir);
    return creds;
}

void fuzz_nbd_server_run(WdNbdServer *s, const uint8_t *data, size_t size)
{
    g_autoptr(GError) err = NULL;
    gint64 deadline = g_get_monotonic_time() +
                      FUZZ_NBD_DEADLINE * G_USEC_PER_SEC;
    uint8_t buf[65536];
    size_t off = 0;
    bool eof = false;
    WdChannel *ch;
    int sv[2];

    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    ch = wd_channel_socket_new_fd(sv[0], &err);
    FUZZ_CHECK(ch && wd_nbd_server_add_client(s, ch, &err));
    wd_channel_unref(ch);
    if (size == 0) {
        shutdown(sv[1], SHUT_WR);
    }
    while (!eof) {
        struct pollfd p = {
            .fd = sv[1], .events = POLLIN | (off < size ? POLLOUT : 0),
        };

        FUZZ_CHECK(g_get_monotonic_time() < deadline);
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
        FUZZ_CHECK(g_get_monotonic_time() < deadline);
        g_usleep(100);
    }
}
