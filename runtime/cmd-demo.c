/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `warden demo`: Warden's main job on a built-in default. Makes a
 * throwaway PKI with warden's own certificate code, starts the runtime
 * with a memory disk exported over TLS on 127.0.0.1 (client certificate
 * required and authorized by DN) and a QMP socket, proves a round trip
 * through the TLS export and through QMP, prints ready-to-paste client
 * commands, and serves until Ctrl-C (or exits with --once).
 */
#include "runtime/cmd.h"
#include "runtime/cmd-common.h"
#include "runtime/blockdev.h"
#include "runtime/crypto/certs.h"
#include "runtime/error.h"
#include "runtime/object.h"
#include "runtime/nbd/exports.h"
#include "monitor/monitor.h"
#include "objects/objects.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEMO_GREETING "Hello from Warden over TLS!"

static gboolean on_signal(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_CONTINUE;
}

static void on_quit(gpointer loop)
{
    g_main_loop_quit(loop);
}

typedef struct {
    GMainLoop *loop;
    char *qmp_path;
    char *nbd_uri;       /* nbds://127.0.0.1:PORT/demo?tls-certificates=DIR */
    char *qmp_reply;
    char *nbd_result;    /* what the client read, or an error */
    bool nbd_ok;
} RoundTrip;

/* QMP from a thread: the main loop serves the monitor meanwhile. */
static char *qmp_round_trip(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    GString *got = g_string_new(NULL);
    const char *req = "{\"execute\":\"qmp_capabilities\"}\n"
                      "{\"execute\":\"query-block-exports\",\"id\":"
                      "\"demo\"}\n";
    struct timeval tv = { .tv_sec = 10 };

    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
        char buf[4096];
        ssize_t n;
        while (!strstr(got->str, "\"demo\"") &&
               (n = read(fd, buf, sizeof(buf))) > 0) {
            g_string_append_len(got, buf, n);
        }
    }
    close(fd);
    return g_string_free(got, FALSE);
}

/* Read the greeting back through the TLS export with a real NBD client
 * (libnbd's nbdinfo/nbdcopy when installed). */
static void nbd_round_trip(RoundTrip *rt)
{
    g_autofree char *out = NULL, *errtext = NULL;
    g_autoptr(GError) err = NULL;
    int status = 0;
    const char *argv[] = { "nbdcopy", rt->nbd_uri, "-", NULL };

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
                      NULL, &out, &errtext, &status, &err)) {
        rt->nbd_result = g_strdup_printf("could not run nbdcopy (install "
                                         "libnbd-bin): %s", err->message);
        return;
    }
    if (!g_spawn_check_wait_status(status, NULL) || !out ||
        strncmp(out, DEMO_GREETING, strlen(DEMO_GREETING)) != 0) {
        rt->nbd_result = g_strdup_printf("nbdcopy failed: %s",
                                         errtext ? errtext : "");
        return;
    }
    rt->nbd_ok = true;
    rt->nbd_result = g_strdup(DEMO_GREETING);
}

static gboolean round_trip_done(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static gpointer round_trip_thread(gpointer opaque)
{
    RoundTrip *rt = opaque;

    rt->qmp_reply = qmp_round_trip(rt->qmp_path);
    nbd_round_trip(rt);
    g_idle_add(round_trip_done, rt->loop);
    return NULL;
}

static bool setup(const char *dir, const char *pki, const char *sock,
                  WdMonitorSet *mons, GError **errp)
{
    const char *servers[] = { "localhost", "127.0.0.1", NULL };
    const char *clients[] = { "demo-client", NULL };

    if (!wd_certs_create(pki, servers, clients, 30, errp)) {
        return false;
    }
    g_autofree char *o_tls = g_strdup_printf("tls-creds-x509,id=tls0,"
                                             "endpoint=server,dir=%s", pki);
    g_autofree char *mon = g_strdup_printf("unix:%s", sock);
    const char *objects[] = {
        o_tls, "authz-simple,id=authz0,identity=CN=demo-client",
        "nbd-server,id=nbd0,addr.type=inet,addr.host=127.0.0.1,"
        "addr.port=0,tls-creds=tls0,tls-authz=authz0",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(objects); i++) {
        if (!wd_cmd_object_add(objects[i], errp)) {
            return false;
        }
    }
    WdBlockNode *disk = wd_blockdev_add_arg("driver=memory,node-name=disk0,"
                                            "size=64M", errp);
    if (!disk ||
        wd_block_pwrite(disk, 0, DEMO_GREETING, strlen(DEMO_GREETING), 0) ||
        !wd_block_export_add_arg("type=nbd,id=exp0,node-name=disk0,"
                                 "name=demo,writable=on,description=Warden "
                                 "demo disk", errp) ||
        !wd_monitor_set_add(mons, mon, errp)) {
        if (errp && !*errp) {
            wd_error_setg(errp, "writing the demo disk failed");
        }
        return false;
    }
    return true;
}

int wd_cmd_demo(int argc, char **argv)
{
    gboolean once = FALSE;
    GOptionEntry entries[] = {
        { "once", 0, 0, G_OPTION_ARG_NONE, &once,
          "exit after the round trip instead of serving", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(
        "- serve a memory disk over TLS with a throwaway PKI");
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = NULL;
    RoundTrip rt = { 0 };
    g_autoptr(WdSocketAddress) bound = NULL;
    int ret = 1;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        wd_cmd_error("%s", err->message);
        return 1;
    }
    wd_objects_register_all();
    signal(SIGPIPE, SIG_IGN);
    dir = g_dir_make_tmp("warden-demo-XXXXXX", &err);
    if (!dir) {
        wd_cmd_error("%s", err->message);
        return 1;
    }
    g_autofree char *pki = g_build_filename(dir, "pki", NULL);
    g_autofree char *sock = g_build_filename(dir, "qmp.sock", NULL);
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    WdMonitorSet *mons = wd_monitor_set_new(on_quit, loop);
    if (!setup(dir, pki, sock, mons, &err)) {
        wd_cmd_error("%s", err->message);
        goto out;
    }
    bound = wd_nbd_server_get_bound_address(
        wd_nbd_servers_find("nbd0"), 0, &err);
    if (!bound) {
        wd_cmd_error("%s", err->message);
        goto out;
    }
    rt.loop = loop;
    rt.qmp_path = sock;
    rt.nbd_uri = g_strdup_printf("nbds://127.0.0.1:%s/demo?"
                                 "tls-certificates=%s", bound->port, pki);
    GThread *t = g_thread_new("demo-client", round_trip_thread, &rt);
    g_main_loop_run(loop);
    g_thread_join(t);

    printf("Warden demo: a 64 MiB memory disk exported over TLS on "
           "127.0.0.1:%s (client certificate required, authorized as "
           "CN=demo-client).\n", bound->port);
    printf("  PKI (warden certs):  %s\n", pki);
    printf("  QMP monitor:         %s\n", sock);
    printf("Round trip through the TLS export: %s%s\n",
           rt.nbd_ok ? "OK, read back: " : "FAILED: ", rt.nbd_result);
    printf("Round trip through QMP: %s\n",
           rt.qmp_reply && strstr(rt.qmp_reply, "\"exp0\"")
           ? "OK (query-block-exports lists exp0)" : "FAILED");
    printf("\nTry:\n"
           "  nbdinfo '%s'\n"
           "  qemu-img info --object tls-creds-x509,id=t0,endpoint=client,"
           "dir=%s --image-opts driver=nbd,server.type=inet,"
           "server.host=127.0.0.1,server.port=%s,export=demo,tls-creds=t0\n"
           "  qemu-io --object tls-creds-x509,id=t0,endpoint=client,dir=%s "
           "--image-opts driver=nbd,server.type=inet,server.host=127.0.0.1,"
           "server.port=%s,export=demo,tls-creds=t0 -c 'read -v 0 32'\n"
           "  warden qmp %s query-block-exports\n",
           rt.nbd_uri, pki, bound->port, pki, bound->port, sock);
    fflush(stdout);
    ret = rt.nbd_ok && rt.qmp_reply && strstr(rt.qmp_reply, "\"exp0\"")
          ? 0 : 1;
    if (ret == 0 && !once) {
        printf("Serving until Ctrl-C.\n");
        fflush(stdout);
        g_unix_signal_add(SIGINT, on_signal, loop);
        g_unix_signal_add(SIGTERM, on_signal, loop);
        g_main_loop_run(loop);
    }
out:
    wd_monitor_set_free(mons);
    wd_nbd_exports_shutdown();
    wd_blockdev_delete_all();
    wd_object_delete_all();
    g_main_loop_unref(loop);
    g_free(rt.nbd_uri);
    g_free(rt.qmp_reply);
    g_free(rt.nbd_result);
    const char *rm[] = { "rm", "-rf", dir, NULL };
    g_spawn_sync(NULL, (char **)rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                 NULL, NULL, NULL, NULL);
    return ret;
}
