/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `warden nbd`: export one image now, with qemu-nbd's command line (a
 * qemu-nbd invocation with the program name changed works). Serves until
 * the last client disconnects, or forever with -t.
 */
#include "runtime/cmd.h"
#include "runtime/cmd-common.h"
#include "runtime/blockdev.h"
#include "runtime/error.h"
#include "runtime/keyval.h"
#include "runtime/log.h"
#include "runtime/object.h"
#include "runtime/qapi-util.h"
#include "runtime/nbd/server.h"
#include "runtime/nbd/client.h"
#include "objects/objects.h"
#include "warden-config.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NBD_DEFAULT_PORT "10809"

typedef struct {
    GPtrArray *args;        /* --object, in order */
    char *port;
    char *bind;
    char *socket;
    char *export_name;
    char *description;
    gboolean read_only;
    gboolean persistent;
    int shared;
    char *format;
    gboolean image_opts;
    char *tls_creds;
    char *tls_authz;
    char *pid_file;
    gboolean fork;
    int handshake_limit;
    char *discard;
    char *cache;
    char *aio;
    char *detect_zeroes;
    gboolean nocache;
    gboolean verbose;
    gboolean list;
    char *tls_hostname;
    char *offset;
    gboolean snapshot;
    gboolean allocation_depth;
    char *bitmap;
    char *connect;
    gboolean disconnect;
    gboolean version;
    GMainLoop *loop;
    WdNbdServer *server;
} NbdOpts;

static gboolean on_signal(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_CONTINUE;
}

/* Without -t, qemu-nbd exits once the last client has gone: once a
 * connection was accepted (however short it was) and none is open. */
static gboolean check_idle(gpointer opaque)
{
    NbdOpts *o = opaque;

    if (wd_nbd_server_count_accepted(o->server) > 0 &&
        wd_nbd_server_count_connections(o->server) == 0) {
        g_main_loop_quit(o->loop);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* The image: a file (raw), or --image-opts keyval/JSON options. */
static WdBlockNode *open_image(NbdOpts *o, const char *image, GError **errp)
{
    if (o->format && strcmp(o->format, "raw") != 0) {
        wd_error_setg(errp, "format '%s' is not supported: warden exports "
                      "raw images (use -f raw)", o->format);
        return NULL;
    }
    /* -s: the image itself is only read; writes go to the overlay. */
    bool ro = o->read_only || o->snapshot;
    if (o->image_opts) {
        return wd_blockdev_add_image_opts(image, ro, errp);
    }
    bool direct = (o->cache && (strcmp(o->cache, "none") == 0 ||
                                strcmp(o->cache, "directsync") == 0)) ||
                  o->nocache;
    return wd_block_file_open("disk", image, ro, direct, errp);
}

/* qemu-nbd's -o: a decimal, octal (0...) or hex (0x...) byte count. */
static bool parse_offset(const char *text, uint64_t *out)
{
    char *end = NULL;

    if (!g_ascii_isdigit(*text)) {
        return false;
    }
    errno = 0;
    *out = g_ascii_strtoull(text, &end, 0);
    return errno == 0 && end != text && *end == '\0';
}

/* qemu-nbd's --discard spellings: ignore/off, unmap/on. */
static bool parse_discard(const char *mode, bool *unmap)
{
    if (!mode || strcmp(mode, "ignore") == 0 || strcmp(mode, "off") == 0) {
        *unmap = false;
    } else if (strcmp(mode, "unmap") == 0 || strcmp(mode, "on") == 0) {
        *unmap = true;
    } else {
        return false;
    }
    return true;
}

/* -o OFFSET: export the image from OFFSET on, as a raw window. */
static WdBlockNode *apply_offset(WdBlockNode *node, uint64_t offset,
                                 GError **errp)
{
    uint64_t size = wd_block_get_size(node);
    WdBlockNode *win;

    if (offset > size) {
        wd_error_setg(errp, "Offset (%" PRIu64 ") cannot be greater than "
                      "size of the containing file (%" PRIu64 ")", offset,
                      size);
        wd_block_node_unref(node);
        return NULL;
    }
    win = wd_block_raw_new("disk-window", node, offset, size - offset, errp);
    wd_block_node_unref(node);
    return win;
}

static bool build_server(NbdOpts *o, WdBlockNode *node, GError **errp)
{
    g_autoptr(WdTlsCreds) creds = NULL;
    g_autoptr(WdSocketAddress) addr = NULL;
    WdSocketListener *listener = NULL;

    if (o->tls_creds) {
        creds = wd_tls_creds_lookup(NULL, "--tls-creds", o->tls_creds, true,
                                    errp);
        if (!creds) {
            return false;
        }
    }
    if (o->tls_authz && !o->tls_creds) {
        wd_error_setg(errp, "--tls-authz is not permitted without "
                      "--tls-creds");
        return false;
    }
    if (o->tls_authz && !wd_object_use(NULL, "--tls-authz", o->tls_authz,
                                       "authz", errp)) {
        return false;
    }
    if (g_getenv("LISTEN_FDS")) {
        if (o->socket || o->port || o->bind) {
            wd_error_setg(errp, "-k, -p and -b cannot be used with systemd "
                          "socket activation (LISTEN_FDS is set)");
            return false;
        }
        listener = wd_socket_listener_from_systemd(errp);
        if (!listener) {
            return false;
        }
    } else if (o->socket) {
        addr = wd_socket_address_new_unix(o->socket);
    } else {
        addr = wd_socket_address_new_inet(o->bind ? o->bind : "0.0.0.0",
                                          o->port ? o->port
                                                  : NBD_DEFAULT_PORT);
    }
    WdNbdServerConfig cfg = {
        .addrs = addr,
        .naddrs = addr ? 1 : 0,
        .listener = listener,
        .tls_creds = creds,
        .tls_authz = o->tls_authz,
        .max_connections_set = true,
        .max_connections = o->shared,
        .handshake_max_seconds_set = o->handshake_limit >= 0,
        .handshake_max_seconds = o->handshake_limit,
        .name = "warden nbd",
    };
    o->server = wd_nbd_server_new(&cfg, errp);
    if (!o->server) {
        return false;
    }
    /* qemu-nbd advertises multi-conn only when several clients may
     * connect (-e N, N > 1). */
    WdNbdExport *exp = wd_nbd_export_new(o->export_name ? o->export_name
                                                        : "",
                                         o->description, node,
                                         !o->read_only, o->shared != 1,
                                         errp);
    if (exp) {
        wd_nbd_export_set_allocation_depth(exp, o->allocation_depth);
    }
    /* The server takes ownership of @exp, also on failure. */
    return exp && wd_nbd_server_add_export(o->server, exp, errp);
}

/* -L: list a server's exports the way qemu-nbd -L prints them. */
static int list_exports(NbdOpts *o, GError **errp)
{
    g_autoptr(WdSocketAddress) addr = o->socket
        ? wd_socket_address_new_unix(o->socket)
        : wd_socket_address_new_inet(o->bind ? o->bind : "localhost",
                                     o->port ? o->port : NBD_DEFAULT_PORT);
    g_autoptr(WdTlsCreds) creds = NULL;

    for (guint i = 0; i < o->args->len; i++) {
        WdCmdArg *a = g_ptr_array_index(o->args, i);
        if (!wd_cmd_object_add(a->value, errp)) {
            return 1;
        }
    }
    if (o->tls_creds) {
        creds = wd_tls_creds_lookup(NULL, "--tls-creds", o->tls_creds, false,
                                    errp);
        if (!creds) {
            return 1;
        }
    }
    WdNbdClientConfig cfg = {
        .addr = addr,
        .tls = creds,
        .tls_hostname = o->tls_hostname,
    };
    g_autoptr(GPtrArray) list = wd_nbd_client_list_exports(&cfg, errp);
    if (!list) {
        return 1;
    }
    wd_cmd_print_exports(list);
    return 0;
}

int wd_cmd_nbd(int argc, char **argv)
{
    NbdOpts o = { .args = wd_cmd_args_new(), .shared = 1,
                  .handshake_limit = -1 };
    GOptionEntry entries[] = {
        WD_CMD_OBJECT_OPTION(o.args),
        { "port", 'p', 0, G_OPTION_ARG_STRING, &o.port,
          "port to listen on (default 10809)", "PORT" },
        { "bind", 'b', 0, G_OPTION_ARG_STRING, &o.bind,
          "interface to bind to (default 0.0.0.0)", "ADDR" },
        { "socket", 'k', 0, G_OPTION_ARG_FILENAME, &o.socket,
          "serve on a unix socket instead of TCP", "PATH" },
        { "export-name", 'x', 0, G_OPTION_ARG_STRING, &o.export_name,
          "the export name (default \"\")", "NAME" },
        { "description", 'D', 0, G_OPTION_ARG_STRING, &o.description,
          "export description", "TEXT" },
        { "read-only", 'r', 0, G_OPTION_ARG_NONE, &o.read_only,
          "export read-only", NULL },
        { "persistent", 't', 0, G_OPTION_ARG_NONE, &o.persistent,
          "don't exit when the last client disconnects", NULL },
        { "shared", 'e', 0, G_OPTION_ARG_INT, &o.shared,
          "allow N clients at once (default 1; 0 = unlimited)", "N" },
        { "format", 'f', 0, G_OPTION_ARG_STRING, &o.format,
          "image format (raw)", "FORMAT" },
        { "image-opts", 0, 0, G_OPTION_ARG_NONE, &o.image_opts,
          "IMAGE is a keyval option string (driver=file,filename=...)",
          NULL },
        { "tls-creds", 0, 0, G_OPTION_ARG_STRING, &o.tls_creds,
          "require TLS with these server credentials (an --object id)",
          "ID" },
        { "tls-authz", 0, 0, G_OPTION_ARG_STRING, &o.tls_authz,
          "authorize TLS clients with this authz object", "ID" },
        { "pid-file", 0, 0, G_OPTION_ARG_FILENAME, &o.pid_file,
          "write the process id to FILE", "FILE" },
        { "fork", 0, 0, G_OPTION_ARG_NONE, &o.fork,
          "fork off the server once it listens", NULL },
        { "handshake-limit", 0, 0, G_OPTION_ARG_INT, &o.handshake_limit,
          "seconds a client has to finish the handshake (default 10; "
          "0 = none)", "N" },
        { "discard", 0, 0, G_OPTION_ARG_STRING, &o.discard,
          "ignore or unmap discard requests", "MODE" },
        { "cache", 0, 0, G_OPTION_ARG_STRING, &o.cache,
          "cache mode (none/directsync = O_DIRECT)", "MODE" },
        { "nocache", 'n', 0, G_OPTION_ARG_NONE, &o.nocache,
          "same as --cache=none", NULL },
        { "aio", 0, 0, G_OPTION_ARG_STRING, &o.aio,
          "accepted for compatibility", "MODE" },
        { "detect-zeroes", 0, 0, G_OPTION_ARG_STRING, &o.detect_zeroes,
          "accepted for compatibility", "MODE" },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &o.verbose,
          "log connections", NULL },
        { "list", 'L', 0, G_OPTION_ARG_NONE, &o.list,
          "list the exports of the server at -k or -b/-p (client)", NULL },
        { "tls-hostname", 0, 0, G_OPTION_ARG_STRING, &o.tls_hostname,
          "with -L: name the server certificate must match", "NAME" },
        { "offset", 'o', 0, G_OPTION_ARG_STRING, &o.offset,
          "export the image from this byte offset on", "OFFSET" },
        { "snapshot", 's', 0, G_OPTION_ARG_NONE, &o.snapshot,
          "export a writable throwaway view: writes go to a temporary "
          "file in $TMPDIR and are lost on exit", NULL },
        { "allocation-depth", 'A', 0, G_OPTION_ARG_NONE,
          &o.allocation_depth,
          "offer the qemu:allocation-depth meta context", NULL },
        { "bitmap", 'B', 0, G_OPTION_ARG_STRING, &o.bitmap,
          "expose a persistent dirty bitmap (raw images have none)", "NAME" },
        { "connect", 'c', 0, G_OPTION_ARG_FILENAME, &o.connect,
          "not supported: attach with nbd-client instead", "DEV" },
        { "disconnect", 'd', 0, G_OPTION_ARG_NONE, &o.disconnect,
          "not supported: detach with nbd-client -d instead", NULL },
        { "version", 'V', 0, G_OPTION_ARG_NONE, &o.version,
          "show the version", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("IMAGE - export "
                                                         "an image over "
                                                         "NBD");
    g_autoptr(GError) err = NULL;
    WdBlockNode *node = NULL;
    int report_fd = -1;
    int ret = 1;

    GOptionGroup *group = g_option_group_new("nbd", "", "", &o, NULL);
    g_option_group_add_entries(group, entries);
    g_option_context_set_main_group(ctx, group);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        wd_cmd_error("%s", err->message);
        goto out;
    }
    if (o.version) {
        printf("warden nbd %s\n", WARDEN_VERSION);
        ret = 0;
        goto out;
    }
    if (o.connect || o.disconnect) {
        wd_cmd_error("-c/--connect and -d/--disconnect are not supported: "
                     "warden does not drive the kernel NBD driver; serve "
                     "with -k or -p and attach /dev/nbdN with nbd-client");
        goto out;
    }
    uint64_t offset = 0;
    if (o.offset && !parse_offset(o.offset, &offset)) {
        wd_cmd_error("Invalid offset '%s'", o.offset);
        goto out;
    }
    bool unmap;
    if (!parse_discard(o.discard, &unmap)) {
        wd_cmd_error("Invalid discard mode `%s'", o.discard);
        goto out;
    }
    wd_objects_register_all();
    int help = wd_cmd_handle_help(o.args);
    if (help >= 0) {
        ret = help;
        goto out;
    }
    if (o.list) {
        ret = list_exports(&o, &err);
        if (ret) {
            wd_cmd_error("%s", err->message);
        }
        goto out;
    }
    if (argc != 2) {
        wd_cmd_error(argc < 2 ? "Expected exactly one image argument "
                                "(try 'warden nbd --help')"
                              : "unexpected argument '%s'",
                     argc > 2 ? argv[2] : "");
        goto out;
    }
    if (o.shared < 0) {
        wd_cmd_error("-e/--shared must be 0 (unlimited) or more");
        goto out;
    }
    if (o.verbose) {
        wd_log_set_level(WD_LOG_INFO);
    }
    /* Fork before any thread exists (the server starts I/O threads); the
     * parent exits once the child listens, or with its error. */
    if (o.fork) {
        int r = wd_cmd_daemonize_fork(&report_fd);
        if (r >= 0) {
            return r;
        }
        wd_cmd_report_fd = report_fd;
    }
    for (guint i = 0; i < o.args->len; i++) {
        WdCmdArg *a = g_ptr_array_index(o.args, i);
        if (!wd_cmd_object_add(a->value, &err)) {
            wd_cmd_error("%s", err->message);
            goto out;
        }
    }
    node = open_image(&o, argv[1], &err);
    if (!node) {
        wd_cmd_error("Failed to blk_new_open '%s': %s", argv[1],
                     err->message);
        goto out;
    }
    if (o.offset && !(node = apply_offset(node, offset, &err))) {
        wd_cmd_error("%s", err->message);
        goto out;
    }
    if (o.snapshot && !o.read_only) {
        WdBlockNode *snap = wd_block_snapshot_new("disk-snapshot", node,
                                                  &err);
        wd_block_node_unref(node);
        if (!(node = snap)) {
            wd_cmd_error("%s", err->message);
            goto out;
        }
    }
    wd_block_set_discard_unmap(node, unmap);
    if (o.bitmap) {
        /* Dirty bitmaps live in qcow2 images; raw ones have none. */
        wd_cmd_error("Bitmap '%s' is not found", o.bitmap);
        goto out;
    }
    if (!build_server(&o, node, &err)) {
        wd_cmd_error("%s", err->message);
        goto out;
    }
    if (o.pid_file) {
        g_autofree char *text = g_strdup_printf("%d\n", (int)getpid());
        if (!g_file_set_contents(o.pid_file, text, -1, &err)) {
            wd_cmd_error("Cannot write pid file: %s", err->message);
            g_clear_pointer(&o.pid_file, g_free);
            goto out;
        }
    }
    if (report_fd >= 0) {
        wd_cmd_daemonize_done(report_fd);
        wd_cmd_report_fd = -1;
    }
    o.loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGINT, on_signal, o.loop);
    g_unix_signal_add(SIGTERM, on_signal, o.loop);
    g_unix_signal_add(SIGHUP, on_signal, o.loop);
    signal(SIGPIPE, SIG_IGN);
    if (!o.persistent) {
        g_timeout_add(50, check_idle, &o);
    }
    g_main_loop_run(o.loop);
    g_main_loop_unref(o.loop);
    ret = 0;
out:
    g_clear_pointer(&o.server, wd_nbd_server_free);
    if (node) {
        wd_block_node_unref(node);
    }
    wd_blockdev_delete_all();
    wd_object_delete_all();
    if (o.pid_file) {
        unlink(o.pid_file);
    }
    g_ptr_array_unref(o.args);
    char **strings[] = { &o.port, &o.bind, &o.socket, &o.export_name,
                         &o.description, &o.format, &o.tls_creds,
                         &o.tls_authz, &o.pid_file, &o.discard, &o.cache,
                         &o.aio, &o.detect_zeroes, &o.tls_hostname,
                         &o.offset, &o.bitmap, &o.connect };
    for (size_t i = 0; i < G_N_ELEMENTS(strings); i++) {
        g_clear_pointer(strings[i], g_free);
    }
    return ret;
}
