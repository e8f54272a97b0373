/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test driver: runs the NBD server engine (runtime/nbd/server.h) on one
 * export from command-line arguments so shell tests can point real
 * clients (qemu-img, nbdinfo, nbdcopy, nbdsh, fio) at it.  Prints
 * "listening on ADDR" on stdout once it accepts (port 0 gives a free
 * port), serves until SIGTERM/SIGINT, then shuts the server down cleanly.
 */
#include <glib-unix.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "objects/objects.h"
#include "runtime/block/block.h"
#include "runtime/crypto/tlscreds.h"
#include "runtime/log.h"
#include "runtime/nbd/server.h"
#include "runtime/object.h"

typedef struct {
    char *file;
    gint64 memory;
    char *name;
    char *description;
    gboolean read_only;
    gboolean no_multi_conn;
    char *unix_path;
    char *tcp_host;
    char *port;
    char *x509_dir;
    gboolean verify_peer;
    char *psk_dir;
    char *authz_identity;
    gint max_connections;
    gint handshake_seconds;
    gint io_threads;
    gboolean debug;
} Options;

static gboolean on_signal(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static WdTlsCreds *load_creds(const Options *o, GError **errp)
{
    if (o->x509_dir) {
        WdTlsX509Config cfg = {
            .dir = o->x509_dir,
            .endpoint = WD_TLS_ENDPOINT_SERVER,
            .verify_peer = o->verify_peer,
            .sanity_check = true,
        };

        return wd_tls_creds_x509_load(&cfg, errp);
    }
    if (o->psk_dir) {
        return wd_tls_creds_psk_load(WD_TLS_ENDPOINT_SERVER, o->psk_dir,
                                     NULL, NULL, errp);
    }
    return NULL;
}

static bool make_authz(const char *identity, GError **errp)
{
    json_t *tree = json_pack("{s:s, s:s, s:s}", "qom-type", "authz-simple",
                             "id", "authz0", "identity", identity);
    bool ok;

    wd_objects_register_all();
    ok = wd_object_add_tree(tree, false, errp) != NULL;
    json_decref(tree);
    return ok;
}

static int run(const Options *o)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdBlockNode) node = NULL;
    g_autoptr(WdTlsCreds) creds = NULL;
    g_autoptr(WdSocketAddress) addr = NULL;
    g_autoptr(WdSocketAddress) bound = NULL;
    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    g_autofree char *bound_str = NULL;
    WdNbdServerConfig cfg = { .name = "test" };
    WdNbdServer *srv;
    WdNbdExport *exp;

    node = o->file ? wd_block_file_open(NULL, o->file, o->read_only, false,
                                         &err)
                   : wd_block_memory_new(NULL, o->memory, &err);
    if (!node) {
        goto fail;
    }
    if ((o->x509_dir || o->psk_dir) && !(creds = load_creds(o, &err))) {
        goto fail;
    }
    if (o->authz_identity && !make_authz(o->authz_identity, &err)) {
        goto fail;
    }
    addr = o->unix_path ? wd_socket_address_new_unix(o->unix_path)
                        : wd_socket_address_new_inet(o->tcp_host, o->port);
    cfg.addrs = addr;
    cfg.naddrs = 1;
    cfg.tls_creds = creds;
    cfg.tls_authz = o->authz_identity ? "authz0" : NULL;
    cfg.max_connections_set = o->max_connections >= 0;
    cfg.max_connections = MAX(o->max_connections, 0);
    cfg.handshake_max_seconds_set = o->handshake_seconds >= 0;
    cfg.handshake_max_seconds = MAX(o->handshake_seconds, 0);
    cfg.io_threads = o->io_threads;
    srv = wd_nbd_server_new(&cfg, &err);
    if (!srv) {
        goto fail;
    }
    exp = wd_nbd_export_new(o->name, o->description, node, !o->read_only,
                            !o->no_multi_conn, &err);
    if (!exp || !wd_nbd_server_add_export(srv, exp, &err)) {
        wd_nbd_server_free(srv);
        goto fail;
    }
    bound = wd_nbd_server_get_bound_address(srv, 0, &err);
    if (!bound) {
        wd_nbd_server_free(srv);
        goto fail;
    }
    bound_str = wd_socket_address_to_string(bound);
    printf("listening on %s\n", bound_str);
    fflush(stdout);
    g_unix_signal_add(SIGTERM, on_signal, loop);
    g_unix_signal_add(SIGINT, on_signal, loop);
    g_main_loop_run(loop);
    wd_nbd_server_free(srv);
    printf("stopped\n");
    return 0;

fail:
    fprintf(stderr, "nbd-server-test: %s\n", err->message);
    return 1;
}

int main(int argc, char **argv)
{
    Options o = {
        .name = NULL, .tcp_host = NULL, .port = NULL,
        .max_connections = -1, .handshake_seconds = -1,
    };
    GOptionEntry entries[] = {
        { "file", 'f', 0, G_OPTION_ARG_FILENAME, &o.file,
          "export this file", "PATH" },
        { "memory", 'm', 0, G_OPTION_ARG_INT64, &o.memory,
          "export a memory disk of this many bytes", "SIZE" },
        { "name", 'x', 0, G_OPTION_ARG_STRING, &o.name,
          "export name (default \"\")", "NAME" },
        { "description", 'D', 0, G_OPTION_ARG_STRING, &o.description,
          "export description", "TEXT" },
        { "read-only", 'r', 0, G_OPTION_ARG_NONE, &o.read_only,
          "export read-only", NULL },
        { "no-multi-conn", 0, 0, G_OPTION_ARG_NONE, &o.no_multi_conn,
          "do not advertise CAN_MULTI_CONN", NULL },
        { "unix", 'k', 0, G_OPTION_ARG_FILENAME, &o.unix_path,
          "listen on this unix socket", "PATH" },
        { "tcp", 'b', 0, G_OPTION_ARG_STRING, &o.tcp_host,
          "listen on this TCP host (default 127.0.0.1)", "HOST" },
        { "port", 'p', 0, G_OPTION_ARG_STRING, &o.port,
          "TCP port (default 0: a free one)", "PORT" },
        { "x509", 0, 0, G_OPTION_ARG_FILENAME, &o.x509_dir,
          "require TLS with x509 credentials from DIR", "DIR" },
        { "verify-peer", 0, 0, G_OPTION_ARG_NONE, &o.verify_peer,
          "x509: require and check client certificates", NULL },
        { "psk", 0, 0, G_OPTION_ARG_FILENAME, &o.psk_dir,
          "require TLS with PSK keys from DIR/keys.psk", "DIR" },
        { "authz-identity", 0, 0, G_OPTION_ARG_STRING, &o.authz_identity,
          "tls-authz: allow only this DN or PSK username", "ID" },
        { "max-connections", 'e', 0, G_OPTION_ARG_INT, &o.max_connections,
          "connection limit (0 = none; default 100)", "N" },
        { "handshake-seconds", 0, 0, G_OPTION_ARG_INT, &o.handshake_seconds,
          "negotiation time limit (0 = none; default 10)", "N" },
        { "io-threads", 0, 0, G_OPTION_ARG_INT, &o.io_threads,
          "I/O threads (default: CPUs, at least 2)", "N" },
        { "debug", 'v', 0, G_OPTION_ARG_NONE, &o.debug,
          "debug logging", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- NBD server "
                                                         "test driver");
    g_autoptr(GError) err = NULL;
    int ret;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "nbd-server-test: %s\n", err->message);
        return 1;
    }
    if (!o.file == !o.memory || o.memory < 0 ||
        (o.unix_path && (o.tcp_host || o.port)) ||
        (o.x509_dir && o.psk_dir)) {
        fprintf(stderr, "nbd-server-test: give one of --file/--memory, at "
                "most one of --unix/--tcp and of --x509/--psk\n");
        return 1;
    }
    if (!o.name) {
        o.name = g_strdup("");
    }
    if (!o.unix_path && !o.tcp_host) {
        o.tcp_host = g_strdup("127.0.0.1");
    }
    if (!o.unix_path && !o.port) {
        o.port = g_strdup("0");
    }
    if (o.debug) {
        wd_log_set_level(WD_LOG_DEBUG);
    }
    ret = run(&o);
    /* GOption allocated these; LeakSanitizer runs over this program. */
    g_free(o.file);
    g_free(o.name);
    g_free(o.description);
    g_free(o.unix_path);
    g_free(o.tcp_host);
    g_free(o.port);
    g_free(o.x509_dir);
    g_free(o.psk_dir);
    g_free(o.authz_identity);
    return ret;
}
