/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Command-line plumbing shared by subcommands: ordered collection of
 * --object/--monitor/... arguments, --object help, and creating them.
 */
#ifndef WARDEN_CMD_COMMON_H
#define WARDEN_CMD_COMMON_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>

typedef struct WdMonitorSet WdMonitorSet;

typedef struct {
    char *option;     /* "object", "monitor", "chardev", ... */
    char *value;
} WdCmdArg;

/* If >= 0, errors also go to this fd (the --daemonize parent). */
extern int wd_cmd_report_fd;

GPtrArray *wd_cmd_args_new(void);

/* GOptionArgFunc collecting an option into the GPtrArray that is the
 * first member of the option group's user data. */
gboolean wd_cmd_collect_arg(const gchar *option_name, const gchar *value,
                            gpointer data, GError **errp);

#define WD_CMD_OBJECT_OPTION(args) \
    { "object", 0, 0, G_OPTION_ARG_CALLBACK, wd_cmd_collect_arg, \
      "create an object: TYPE,id=ID,PROP=VALUE,... or JSON; " \
      "'help' lists types, 'TYPE,help' their properties", "SPEC" }

/* Handle --object help / TYPE,help: prints and returns 0; -1 if none. */
int wd_cmd_handle_help(GPtrArray *args);

/* Create --object, --chardev and --monitor arguments in order.
 * Errors are prefixed with the object id (never the argument text, which
 * may hold secret data). */
bool wd_cmd_create_all(GPtrArray *args, WdMonitorSet *mons, GError **errp);

/* Create one object from an --object argument. */
bool wd_cmd_object_add(const char *arg, GError **errp);

/* --nbd-server: start the default NBD server. */
bool wd_cmd_nbd_server_arg(const char *arg, GError **errp);

/*
 * --daemonize/--fork: fork; the parent waits for the child's report and
 * exits 0 (started) or 1 (printing the child's error). Returns -1 in the
 * child with *report_fd set (errors from wd_cmd_error() go there too), or
 * an exit status if forking failed.
 */
int wd_cmd_daemonize_fork(int *report_fd);
/* The child is ready: release the parent, detach stdio. */
void wd_cmd_daemonize_done(int fd);

/*
 * Prints the WdNbdExportEntry array from wd_nbd_client_list_exports() the
 * way qemu-nbd -L does (warden nbd -L, warden img list), so that scripts
 * written against qemu-nbd's output keep working.
 */
void wd_cmd_print_exports(GPtrArray *list);

/* "key=value ..." for properties (strings unquoted). */
char *wd_cmd_format_props(json_t *props);

#endif
