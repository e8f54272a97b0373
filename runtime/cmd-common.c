/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Command-line plumbing shared by the warden subcommands. */
#include "runtime/cmd.h"
#include "runtime/cmd-common.h"
#include "runtime/error.h"
#include "runtime/keyval.h"
#include "runtime/object.h"
#include "runtime/qapi-util.h"
#include "runtime/blockdev.h"
#include "runtime/nbd/client.h"
#include "runtime/nbd/exports.h"
#include "monitor/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int wd_cmd_report_fd = -1;

void wd_cmd_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autofree char *line = g_strdup_printf("warden: %s\n", msg);
    /* A forked child reports to its waiting parent, which prints it. */
    if (wd_cmd_report_fd < 0 ||
        write(wd_cmd_report_fd, line, strlen(line)) < 0) {
        fputs(line, stderr);
    }
}

static void arg_free(gpointer p)
{
    WdCmdArg *a = p;

    g_free(a->option);
    if (a->value) {
        explicit_bzero(a->value, strlen(a->value));  /* may hold data= */
    }
    g_free(a->value);
    g_free(a);
}

GPtrArray *wd_cmd_args_new(void)
{
    return g_ptr_array_new_with_free_func(arg_free);
}

gboolean wd_cmd_collect_arg(const gchar *option_name, const gchar *value,
                            gpointer data, GError **errp)
{
    GPtrArray *args = *(GPtrArray **)data;
    WdCmdArg *a = g_new0(WdCmdArg, 1);

    a->option = g_strdup(option_name + (option_name[1] == '-' ? 2 : 1));
    a->value = g_strdup(value);
    g_ptr_array_add(args, a);
    return TRUE;
}

int wd_cmd_handle_help(GPtrArray *args)
{
    for (guint i = 0; i < args->len; i++) {
        WdCmdArg *a = g_ptr_array_index(args, i);
        bool help = false;

        if (strcmp(a->option, "object") != 0 || a->value[0] == '{') {
            continue;
        }
        g_autoptr(json_t) tree = wd_keyval_parse(a->value, "qom-type",
                                                 &help, NULL);
        if (tree && help) {
            json_t *t = json_object_get(tree, "qom-type");
            wd_object_print_help(json_is_string(t) ? json_string_value(t)
                                                   : NULL, stdout);
            return 0;
        }
    }
    return -1;
}

/*
 * "object 'ID' (TYPE)" from an --object argument that did not parse, by
 * a plain scan for the type and id= elements (nothing else is echoed:
 * the argument may hold secret data).
 */
static char *describe_unparsed(const char *arg)
{
    g_autofree char *type = NULL, *id = NULL;
    GString *cur = g_string_new(NULL);
    bool first = true;

    for (const char *p = arg;; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(cur, ',');
            p++;
            continue;
        }
        if (*p && *p != ',') {
            g_string_append_c(cur, *p);
            continue;
        }
        if (first && !strchr(cur->str, '=') && !type) {
            type = g_strdup(cur->str);
        } else if (g_str_has_prefix(cur->str, "id=") && !id) {
            id = g_strdup(cur->str + 3);
        }
        first = false;
        g_string_truncate(cur, 0);
        if (!*p) {
            break;
        }
    }
    g_string_free(cur, TRUE);
    bool known = type && wd_object_type_info(type);
    if (id && wd_object_id_wellformed(id)) {
        return g_strdup_printf("object '%s'%s%s%s", id, known ? " (" : "",
                               known ? type : "", known ? ")" : "");
    }
    return g_strdup_printf("--object%s%s%s", known ? " (" : "",
                           known ? type : "", known ? ")" : "");
}

bool wd_cmd_object_add(const char *arg, GError **errp)
{
    g_autoptr(json_t) tree = wd_keyval_or_json_parse(arg, "qom-type", NULL,
                                                     errp);
    if (!tree) {
        g_autofree char *what = arg[0] == '{' ? g_strdup("--object")
                                              : describe_unparsed(arg);
        g_prefix_error(errp, "%s: ", what);
        return false;
    }
    json_t *id = json_object_get(tree, "id");
    json_t *type = json_object_get(tree, "qom-type");
    if (!wd_object_add_tree(tree, arg[0] != '{', errp)) {
        /* Name the object and its type, never the argument text (it may
         * hold secret data). */
        g_autofree char *what = json_is_string(type) &&
            wd_object_type_info(json_string_value(type))
            ? g_strdup_printf(" (%s)", json_string_value(type))
            : g_strdup("");
        if (json_is_string(id)) {
            g_prefix_error(errp, "object '%s'%s: ", json_string_value(id),
                           what);
        } else {
            g_prefix_error(errp, "--object%s: ", what);
        }
        return false;
    }
    return true;
}

bool wd_cmd_create_all(GPtrArray *args, WdMonitorSet *mons, GError **errp)
{
    for (guint i = 0; i < args->len; i++) {
        WdCmdArg *a = g_ptr_array_index(args, i);
        bool ok;

        if (strcmp(a->option, "object") == 0) {
            ok = wd_cmd_object_add(a->value, errp);
        } else if (strcmp(a->option, "chardev") == 0) {
            ok = wd_monitor_set_add_chardev(mons, a->value, errp);
        } else if (strcmp(a->option, "monitor") == 0) {
            ok = wd_monitor_set_add(mons, a->value, errp);
        } else if (strcmp(a->option, "blockdev") == 0) {
            ok = wd_blockdev_add_arg(a->value, errp) != NULL;
            if (!ok) {
                g_prefix_error(errp, "--blockdev: ");
            }
        } else if (strcmp(a->option, "nbd-server") == 0) {
            ok = wd_cmd_nbd_server_arg(a->value, errp);
            if (!ok) {
                g_prefix_error(errp, "--nbd-server: ");
            }
        } else if (strcmp(a->option, "export") == 0) {
            ok = wd_block_export_add_arg(a->value, errp);
            if (!ok) {
                g_prefix_error(errp, "--export: ");
            }
        } else {
            wd_error_setg(errp, "--%s is not handled here", a->option);
            ok = false;
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool wd_cmd_nbd_server_arg(const char *arg, GError **errp)
{
    g_autoptr(json_t) tree = wd_keyval_or_json_parse(arg, NULL, NULL, errp);
    g_autoptr(NbdServerProperties) p = NULL;

    /* qemu-storage-daemon's --nbd-server: the flat SocketAddress form,
     * the same members as the nbd-server object. */
    if (!tree || !qapi_in_NbdServerProperties(tree, NULL, arg[0] != '{', &p,
                                              errp)) {
        return false;
    }
    if (p->tls_authz && !wd_object_use(NULL, "tls-authz", p->tls_authz,
                                       "authz", errp)) {
        return false;
    }
    return wd_nbd_server_start_default(p->addr, p->tls_creds, p->tls_authz,
                                       true, p->max_connections, errp);
}

char *wd_cmd_format_props(json_t *props)
{
    g_autoptr(GString) s = g_string_new(NULL);
    const char *key;
    json_t *val;

    json_object_foreach(props, key, val) {
        g_autofree char *text = json_is_string(val)
            ? g_strdup(json_string_value(val))
            : json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
        g_string_append_printf(s, "%s%s=%s", s->len ? " " : "", key, text);
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/*
 * --daemonize: fork now; the parent waits until the child reports that
 * every object was created (a 0 byte) or sends the error text, so the
 * parent's exit status is meaningful to init scripts.
 */
int wd_cmd_daemonize_fork(int *report_fd)
{
    int fds[2];

    if (pipe2(fds, O_CLOEXEC) < 0) {
        wd_cmd_error("cannot create pipe: %s", g_strerror(errno));
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        wd_cmd_error("cannot fork: %s", g_strerror(errno));
        return 1;
    }
    if (pid > 0) {
        char buf[4096];
        ssize_t n;

        close(fds[1]);
        do {
            n = read(fds[0], buf, sizeof(buf) - 1);
        } while (n < 0 && errno == EINTR);
        if (n == 1 && buf[0] == '\0') {
            _exit(0);
        }
        if (n > 0) {
            buf[n] = '\0';
            fprintf(stderr, "%s", buf);
        } else {
            fprintf(stderr, "warden: daemon exited during start-up\n");
        }
        _exit(1);
    }
    close(fds[0]);
    setsid();
    *report_fd = fds[1];
    return -1;
}

void wd_cmd_daemonize_done(int fd)
{
    int null = open("/dev/null", O_RDWR);

    if (write(fd, "", 1) < 0) {
        /* the parent is gone; nothing to tell */
    }
    close(fd);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close(null);
    }
}

/* Transmission flags as qemu-nbd -L spells them: "( flush fua )". */
static char *qemu_flag_names(uint16_t flags)
{
    static const char *const names[] = {
        NULL, "readonly", "flush", "fua", "rotational", "trim", "zeroes",
        "df", "multi", "resize", "cache", "fast-zero",
        "block-status-payload",
    };
    GString *s = g_string_new("(");

    for (size_t bit = 1; bit < G_N_ELEMENTS(names); bit++) {
        if (flags & (1u << bit)) {
            g_string_append_printf(s, " %s", names[bit]);
        }
    }
    g_string_append(s, " )");
    return g_string_free(s, FALSE);
}

void wd_cmd_print_exports(GPtrArray *list)
{
    printf("exports available: %u\n", list->len);
    for (guint i = 0; i < list->len; i++) {
        WdNbdExportEntry *e = g_ptr_array_index(list, i);
        guint n = e->contexts ? g_strv_length(e->contexts) : 0;

        printf(" export: '%s'\n", e->name);
        if (e->description) {
            printf("  description: %s\n", e->description);
        }
        if (e->has_info) {
            g_autofree char *names = qemu_flag_names(e->flags);

            printf("  size:  %" PRIu64 "\n", e->size);
            printf("  flags: 0x%x %s\n", e->flags, names);
            printf("  min block: %" PRIu32 "\n", e->min_block);
            printf("  opt block: %" PRIu32 "\n", e->pref_block);
            printf("  max block: %" PRIu32 "\n", e->max_block);
        }
        printf("  available meta contexts: %u\n", n);
        for (guint j = 0; j < n; j++) {
            printf("   %s\n", e->contexts[j]);
        }
    }
}
