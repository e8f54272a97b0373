/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A tiny TLS peer built on our credentials, session and TLS channel, for
 * interop tests against gnutls-cli and gnutls-serv (tls-gnutls-tools.sh).
 *
 *   tls-peer server --creds x509|psk|anon --dir DIR [--verify-peer]
 *       listens on 127.0.0.1 (port 0), prints "PORT <n>", accepts one
 *       connection, handshakes, prints "PEER <name>", echoes one line.
 *   tls-peer client --creds ... --dir DIR --port N [--hostname H]
 *       [--psk-user U] --send LINE
 *       connects, handshakes, sends LINE, prints the line it gets back.
 *
 * Errors go to stderr as "tls-peer: <message>", exit status 1. The whole
 * run is bounded by --timeout seconds (SIGALRM).
 */
#include "runtime/error.h"
#include "runtime/io/channel-socket.h"
#include "runtime/io/channel-tls.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Longest line we echo or accept back. */
#define MAX_LINE 4096

static char *opt_creds = "x509";
static char *opt_dir;
static char *opt_hostname;
static char *opt_psk_user;
static char *opt_send;
static char *opt_priority;
static int opt_port;
static int opt_timeout = 20;
static gboolean opt_verify;
static gboolean opt_no_sanity;

static GOptionEntry entries[] = {
    { "creds", 0, 0, G_OPTION_ARG_STRING, &opt_creds,
      "x509, psk or anon", "KIND" },
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir,
      "credentials directory", "DIR" },
    { "verify-peer", 0, 0, G_OPTION_ARG_NONE, &opt_verify,
      "verify the peer (x509)", NULL },
    { "no-sanity-check", 0, 0, G_OPTION_ARG_NONE, &opt_no_sanity,
      "skip the load-time certificate checks", NULL },
    { "hostname", 0, 0, G_OPTION_ARG_STRING, &opt_hostname,
      "client: name the server certificate must match", "NAME" },
    { "psk-user", 0, 0, G_OPTION_ARG_STRING, &opt_psk_user,
      "client: PSK username", "USER" },
    { "priority", 0, 0, G_OPTION_ARG_STRING, &opt_priority,
      "base gnutls priority", "PRIO" },
    { "port", 0, 0, G_OPTION_ARG_INT, &opt_port,
      "client: port on 127.0.0.1", "PORT" },
    { "send", 0, 0, G_OPTION_ARG_STRING, &opt_send,
      "client: the line to send", "LINE" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &opt_timeout,
      "give up after this many seconds (default 20)", "SECONDS" },
    { NULL },
};

static WdTlsCreds *load_creds(WdTlsEndpoint ep, GError **errp)
{
    if (g_str_equal(opt_creds, "x509")) {
        WdTlsX509Config cfg = {
            .dir = opt_dir, .endpoint = ep, .verify_peer = opt_verify,
            .priority = opt_priority, .sanity_check = !opt_no_sanity,
        };
        return wd_tls_creds_x509_load(&cfg, errp);
    }
    if (g_str_equal(opt_creds, "psk")) {
        return wd_tls_creds_psk_load(ep, opt_dir, opt_psk_user, opt_priority,
                                     errp);
    }
    if (g_str_equal(opt_creds, "anon")) {
        return wd_tls_creds_anon_load(ep, opt_dir, opt_priority, errp);
    }
    wd_error_setg(errp, "--creds must be x509, psk or anon, not '%s'",
                  opt_creds);
    return NULL;
}

/* Reads one '\n'-terminated line (bounded), without the newline. */
static char *read_line(WdChannel *ch, GError **errp)
{
    GString *s = g_string_new(NULL);

    while (s->len < MAX_LINE) {
        char c;
        int r = wd_channel_read_all(ch, &c, 1, errp);

        if (r < 0) {
            g_string_free(s, TRUE);
            return NULL;
        }
        if (r == 0 || c == '\n') {
            break;
        }
        g_string_append_c(s, c);
    }
    return g_string_free(s, FALSE);
}

static int listen_local(GError **errp)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 1) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        wd_error_setg_errno(errp, errno, "Cannot listen on 127.0.0.1");
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    printf("PORT %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    return fd;
}

static bool run_server(GError **errp)
{
    g_autoptr(WdTlsCreds) creds = load_creds(WD_TLS_ENDPOINT_SERVER, errp);
    g_autoptr(WdChannel) sock = NULL;
    g_autoptr(WdChannel) tls = NULL;
    g_autofree char *line = NULL;
    g_autofree char *peer = NULL;
    int lfd, fd;

    if (!creds || (lfd = listen_local(errp)) < 0) {
        return false;
    }
    fd = accept(lfd, NULL, NULL);
    close(lfd);
    if (fd < 0) {
        wd_error_setg_errno(errp, errno, "accept failed");
        return false;
    }
    sock = wd_channel_socket_new_fd(fd, errp);
    if (!sock) {
        close(fd);
        return false;
    }
    tls = wd_channel_tls_new_server(sock, creds, errp);
    if (!tls || !wd_channel_tls_handshake_sync(tls, errp)) {
        return false;
    }
    peer = wd_tls_session_get_peer_name(wd_channel_tls_get_session(tls));
    printf("PEER %s\n", peer ? peer : "(none)");
    fflush(stdout);
    line = read_line(tls, errp);
    if (!line) {
        return false;
    }
    printf("GOT %s\n", line);
    fflush(stdout);
    return wd_channel_write_all(tls, line, strlen(line), errp) &&
           wd_channel_write_all(tls, "\n", 1, errp) &&
           wd_channel_close(tls, errp);
}

static bool run_client(GError **errp)
{
    g_autoptr(WdTlsCreds) creds = load_creds(WD_TLS_ENDPOINT_CLIENT, errp);
    g_autoptr(WdSocketAddress) addr = NULL;
    g_autoptr(WdChannel) sock = NULL;
    g_autoptr(WdChannel) tls = NULL;
    g_autofree char *port = g_strdup_printf("%d", opt_port);
    g_autofree char *reply = NULL;

    if (!creds) {
        return false;
    }
    if (!opt_send || opt_port <= 0) {
        wd_error_setg(errp, "client mode needs --port and --send");
        return false;
    }
    addr = wd_socket_address_new_inet("127.0.0.1", port);
    sock = wd_channel_socket_connect_sync(addr, errp);
    if (!sock) {
        return false;
    }
    tls = wd_channel_tls_new_client(sock, creds, opt_hostname, errp);
    if (!tls || !wd_channel_tls_handshake_sync(tls, errp) ||
        !wd_channel_write_all(tls, opt_send, strlen(opt_send), errp) ||
        !wd_channel_write_all(tls, "\n", 1, errp)) {
        return false;
    }
    reply = read_line(tls, errp);
    if (!reply) {
        return false;
    }
    printf("%s\n", reply);
    return wd_channel_close(tls, errp);
}

int main(int argc, char **argv)
{
    g_autoptr(GOptionContext) octx = g_option_context_new(
        "server|client - TLS interop peer");
    g_autoptr(GError) err = NULL;
    bool ok;

    g_option_context_add_main_entries(octx, entries, NULL);
    if (!g_option_context_parse(octx, &argc, &argv, &err) || argc != 2 ||
        (!g_str_equal(argv[1], "server") && !g_str_equal(argv[1], "client"))) {
        fprintf(stderr, "tls-peer: %s\n",
                err ? err->message : "say 'server' or 'client'");
        return 2;
    }
    alarm(opt_timeout);
    ok = g_str_equal(argv[1], "server") ? run_server(&err) : run_client(&err);
    if (!ok) {
        fprintf(stderr, "tls-peer: %s\n", err->message);
        return 1;
    }
    return 0;
}
