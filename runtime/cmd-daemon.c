/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `warden daemon`: the long-running object runtime, modelled on
 * qemu-storage-daemon. Creates the --object/--monitor/... arguments in
 * order, runs the main loop until SIGINT/SIGTERM or QMP quit, then
 * deletes objects newest first.
 */
#include "runtime/cmd.h"
#include "runtime/cmd-common.h"
#include "runtime/error.h"
#include "runtime/event.h"
#include "runtime/object.h"
#include "runtime/blockdev.h"
#include "runtime/nbd/exports.h"
#include "monitor/monitor.h"
#include "objects/objects.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    GPtrArray *args;         /* WdCmdArg*, command-line order */
    char *pidfile;
    gboolean daemonize;
    gboolean check;
    GMainLoop *loop;
    const char *quit_reason;
} DaemonOpts;

static gboolean on_signal(gpointer opaque)
{
    DaemonOpts *d = opaque;

    d->quit_reason = "host-signal";
    g_main_loop_quit(d->loop);
    return G_SOURCE_CONTINUE;
}

static void on_quit(gpointer opaque)
{
    DaemonOpts *d = opaque;

    d->quit_reason = "host-qmp-quit";
    g_main_loop_quit(d->loop);
}

static bool write_pidfile(const char *path, GError **errp)
{
    g_autofree char *text = g_strdup_printf("%d\n", (int)getpid());
    g_autoptr(GError) err = NULL;

    if (!g_file_set_contents(path, text, -1, &err)) {
        wd_error_setg(errp, "Cannot write pid file: %s", err->message);
        return false;
    }
    return true;
}

/* Print one line per object: id, type and its non-secret properties. */
static void print_check(void)
{
    GPtrArray *objs = wd_object_list();

    for (guint i = 0; i < objs->len; i++) {
        WdObject *obj = g_ptr_array_index(objs, i);
        g_autoptr(json_t) props = wd_object_props_json(obj);
        g_autofree char *line = wd_cmd_format_props(props);
        printf("%s %s%s%s\n", obj->id, obj->info->name, *line ? " " : "",
               line);
    }
}

int wd_cmd_daemon(int argc, char **argv)
{
    DaemonOpts d = { .args = wd_cmd_args_new() };
    GOptionEntry entries[] = {
        WD_CMD_OBJECT_OPTION(d.args),
        { "monitor", 0, 0, G_OPTION_ARG_CALLBACK, wd_cmd_collect_arg,
          "QMP monitor: unix:PATH, tcp:HOST:PORT[,tls-creds=ID,"
          "tls-authz=ID,websocket=on] or chardev=ID", "SPEC" },
        { "chardev", 0, 0, G_OPTION_ARG_CALLBACK, wd_cmd_collect_arg,
          "socket character device for --monitor chardev=ID "
          "(socket,id=ID,path=PATH,server=on,wait=off)", "SPEC" },
        { "blockdev", 0, 0, G_OPTION_ARG_CALLBACK, wd_cmd_collect_arg,
          "create a block node: driver=file|memory|raw|nbd,node-name=N,...",
          "SPEC" },
        { "nbd-server", 0, 0, G_OPTION_ARG_CALLBACK, wd_cmd_collect_arg,
          "start the NBD server: addr.type=inet,addr.host=H,addr.port=P"
          "[,tls-creds=ID][,tls-authz=ID][,max-connections=N]", "SPEC" },
        { "export", 0, 0, G_OPTION_ARG_CALLBACK, wd_cmd_collect_arg,
          "export a node: type=nbd,id=ID,node-name=N[,name=NAME]"
          "[,writable=on][,description=TEXT][,server=ID]", "SPEC" },
        { "pidfile", 0, 0, G_OPTION_ARG_FILENAME, &d.pidfile,
          "write the process id to FILE (removed on exit)", "FILE" },
        { "daemonize", 0, 0, G_OPTION_ARG_NONE, &d.daemonize,
          "run in the background once every object is created", NULL },
        { "check", 0, 0, G_OPTION_ARG_NONE, &d.check,
          "create every object, print them, tear down and exit", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- run the Warden "
                                                         "object runtime");
    g_autoptr(GError) err = NULL;
    int report_fd = -1;
    int ret = 1;

    g_option_context_set_summary(ctx, "Objects are created in command-line "
        "order; later ones may refer to earlier ones by id.\n"
        "--object TYPE,id=ID,... (or JSON); --object help lists the types, "
        "--object TYPE,help their properties.");
    GOptionGroup *group = g_option_group_new("daemon", "", "", &d, NULL);
    g_option_group_add_entries(group, entries);
    g_option_context_set_main_group(ctx, group);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        wd_cmd_error("%s", err->message);
        return 1;
    }
    if (argc > 1) {
        wd_cmd_error("unexpected argument '%s'", argv[1]);
        return 1;
    }
    wd_objects_register_all();

    int help = wd_cmd_handle_help(d.args);
    if (help >= 0) {
        return help;
    }
    if (d.daemonize && !d.check) {
        int r = wd_cmd_daemonize_fork(&report_fd);
        if (r >= 0) {
            return r;
        }
        wd_cmd_report_fd = report_fd;
    }

    d.loop = g_main_loop_new(NULL, FALSE);
    WdMonitorSet *mons = wd_monitor_set_new(on_quit, &d);
    if (!wd_cmd_create_all(d.args, mons, &err)) {
        wd_cmd_error("%s", err->message);
        goto out;
    }
    if (d.check) {
        print_check();
        ret = 0;
        goto out;
    }
    if (d.pidfile && !write_pidfile(d.pidfile, &err)) {
        wd_cmd_error("%s", err->message);
        g_clear_pointer(&d.pidfile, g_free);
        goto out;
    }
    if (report_fd >= 0) {
        wd_cmd_daemonize_done(report_fd);
        wd_cmd_report_fd = report_fd = -1;
    }

    g_unix_signal_add(SIGINT, on_signal, &d);
    g_unix_signal_add(SIGTERM, on_signal, &d);
    g_unix_signal_add(SIGHUP, on_signal, &d);
    signal(SIGPIPE, SIG_IGN);
    g_main_loop_run(d.loop);
    wd_monitor_emit_shutdown(d.quit_reason);
    ret = 0;

out:
    wd_monitor_set_free(mons);
    /* Exports first (clients finish their in-flight requests), then
     * nodes, then objects newest first. */
    wd_nbd_exports_shutdown();
    wd_blockdev_delete_all();
    wd_object_delete_all();
    if (d.pidfile) {
        unlink(d.pidfile);
    }
    g_main_loop_unref(d.loop);
    g_ptr_array_unref(d.args);
    g_free(d.pidfile);
    return ret;
}
