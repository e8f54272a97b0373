/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `warden demo`: a throwaway PKI from warden's own certificate code, a
 * daemon configuration built from it (master-key-encrypted secret, x509
 * server and client credentials, authz), a QMP monitor, and a round trip
 * over it; then it prints commands to try and serves until Ctrl-C.
 */
#include "runtime/cmd.h"
#include "runtime/cmd-common.h"
#include "runtime/crypto/certs.h"
#include "runtime/crypto/random.h"
#include "runtime/error.h"
#include "runtime/object.h"
#include "monitor/monitor.h"
#include "objects/objects.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static gboolean on_signal(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_CONTINUE;
}

static void on_quit(gpointer loop)
{
    g_main_loop_quit(loop);
}

/* Talk QMP to our own monitor from a thread (the main loop serves it). */
static gpointer qmp_round_trip(gpointer path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    GString *got = g_string_new(NULL);
    const char *req = "{\"execute\":\"qmp_capabilities\"}\n"
                      "{\"execute\":\"qom-list\",\"arguments\":"
                      "{\"path\":\"/objects\"},\"id\":\"demo\"}\n";
    struct timeval tv = { .tv_sec = 5 };

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

static gboolean round_trip_done(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

typedef struct {
    char *path;
    GMainLoop *loop;
    char *reply;
} RoundTrip;

static gpointer round_trip_thread(gpointer opaque)
{
    RoundTrip *rt = opaque;

    rt->reply = qmp_round_trip(rt->path);
    g_idle_add(round_trip_done, rt->loop);
    return NULL;
}

int wd_cmd_demo(int argc, char **argv)
{
    gboolean once = FALSE;
    GOptionEntry entries[] = {
        { "once", 0, 0, G_OPTION_ARG_NONE, &once,
          "exit after the round trip instead of serving", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- run a "
                                                         "self-contained "
                                                         "demo");
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *mspec = NULL;
    int ret = 1;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        wd_cmd_error("%s", err->message);
        return 1;
    }
    wd_objects_register_all();
    dir = g_dir_make_tmp("warden-demo-XXXXXX", &err);
    if (!dir) {
        wd_cmd_error("%s", err->message);
        return 1;
    }
    g_autofree char *pki = g_build_filename(dir, "pki", NULL);
    g_autofree char *sock = g_build_filename(dir, "qmp.sock", NULL);
    const char *servers[] = { "localhost", "127.0.0.1", NULL };
    const char *clients[] = { "demo-client", NULL };
    uint8_t key[32];
    if (!wd_certs_create(pki, servers, clients, 30, &err) ||
        !wd_random_bytes(key, sizeof(key), &err)) {
        wd_cmd_error("%s", err->message);
        return 1;
    }
    g_autofree char *keyb64 = g_base64_encode(key, sizeof(key));
    explicit_bzero(key, sizeof(key));
    g_autofree char *o1 = g_strdup_printf("secret,id=master,format=base64,"
                                          "data=%s", keyb64);
    g_autofree char *o2 = g_strdup_printf("tls-creds-x509,id=tls0,"
                                          "endpoint=server,dir=%s", pki);
    g_autofree char *o3 = g_strdup("authz-simple,id=authz0,"
                                   "identity=CN=demo-client");
    const char *objs[] = { o1, o2, o3 };
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    WdMonitorSet *mons = wd_monitor_set_new(on_quit, loop);
    for (size_t i = 0; i < G_N_ELEMENTS(objs); i++) {
        if (!wd_cmd_object_add(objs[i], &err)) {
            wd_cmd_error("%s", err->message);
            goto out;
        }
    }
    mspec = g_strdup_printf("unix:%s", sock);
    if (!wd_monitor_set_add(mons, mspec, &err)) {
        wd_cmd_error("%s", err->message);
        goto out;
    }

    RoundTrip rt = { .path = sock, .loop = loop };
    GThread *t = g_thread_new("demo-qmp", round_trip_thread, &rt);
    g_main_loop_run(loop);
    g_thread_join(t);
    if (!rt.reply || !strstr(rt.reply, "child<tls-creds-x509>")) {
        wd_cmd_error("QMP round trip failed: %s", rt.reply ? rt.reply : "");
        g_free(rt.reply);
        goto out;
    }
    printf("warden demo: PKI in %s, objects master, tls0, authz0 created\n"
           "QMP round trip OK: %s"
           "Try:\n  socat - UNIX-CONNECT:%s\n"
           "  {\"execute\":\"qmp_capabilities\"}\n"
           "  {\"execute\":\"qom-list\",\"arguments\":{\"path\":"
           "\"/objects\"}}\n", pki, strchr(rt.reply, '\n') + 1, sock);
    g_free(rt.reply);
    fflush(stdout);
    if (!once) {
        printf("Serving until Ctrl-C.\n");
        fflush(stdout);
        g_unix_signal_add(SIGINT, on_signal, loop);
        g_unix_signal_add(SIGTERM, on_signal, loop);
        g_main_loop_run(loop);
    }
    ret = 0;
out:
    wd_monitor_set_free(mons);
    wd_object_delete_all();
    g_main_loop_unref(loop);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);
    if (system(rm) != 0) {
        /* best effort */
    }
    return ret;
}
