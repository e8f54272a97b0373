/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `warden qmp`: a QMP client for scripts and people. One-shot
 * (`warden qmp SOCK COMMAND key=value...`), event listener (--events) or,
 * with no command on a terminal, an interactive prompt with line editing
 * (libedit). Exit 0 = success, 1 = the command failed, 2 = could not talk
 * to the monitor.
 */
#include "runtime/cmd.h"
#include "runtime/error.h"
#include "runtime/json-util.h"
#include "runtime/io/channel-socket.h"

#include <editline/readline.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define QMP_MAX_LINE (64u << 20)

typedef struct {
    WdChannel *ch;
    GString *buf;
    unsigned next_id;
} Conn;

/* Read one \r\n-terminated JSON message; NULL on EOF, error or timeout
 * (@timeout_ms < 0: wait forever). */
static json_t *read_msg(Conn *c, int timeout_ms, GError **errp)
{
    for (;;) {
        char *nl = memchr(c->buf->str, '\n', c->buf->len);
        if (nl) {
            size_t len = nl - c->buf->str + 1;
            json_error_t jerr;
            json_t *m = json_loadb(c->buf->str, len, 0, &jerr);
            g_string_erase(c->buf, 0, len);
            if (!m) {
                wd_error_setg(errp, "bad reply from the monitor: %s",
                              jerr.text);
            }
            return m;
        }
        if (c->buf->len > QMP_MAX_LINE) {
            wd_error_setg(errp, "reply from the monitor is too long");
            return NULL;
        }
        struct pollfd p = { .fd = wd_channel_get_fd(c->ch), .events = POLLIN };
        int r = poll(&p, 1, timeout_ms);
        if (r == 0) {
            return NULL;
        }
        char tmp[65536];
        ssize_t n = wd_channel_read(c->ch, tmp, sizeof(tmp), errp);
        if (n == WD_CHANNEL_ERR_BLOCK) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                wd_error_setg(errp, "the monitor closed the connection");
            }
            return NULL;
        }
        g_string_append_len(c->buf, tmp, n);
    }
}

static bool send_msg(Conn *c, json_t *msg, GError **errp)
{
    g_autofree char *text = json_dumps(msg, JSON_COMPACT);
    g_autofree char *line = g_strconcat(text, "\n", NULL);

    return wd_channel_write_all(c->ch, line, strlen(line), errp);
}

static void print_json(FILE *f, json_t *v)
{
    g_autofree char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
    fprintf(f, "%s\n", s);
}

/* Send @cmd with @args, wait for its reply (printing events if asked). */
static json_t *execute(Conn *c, const char *cmd, json_t *args,
                       bool print_events, GError **errp)
{
    g_autoptr(json_t) req = json_pack("{s:s,s:I}", "execute", cmd, "id",
                                      (json_int_t)++c->next_id);
    if (args) {
        json_object_set(req, "arguments", args);
    }
    if (!send_msg(c, req, errp)) {
        return NULL;
    }
    for (;;) {
        json_t *m = read_msg(c, -1, errp);
        if (!m) {
            if (errp && !*errp) {
                wd_error_setg(errp, "no reply from the monitor");
            }
            return NULL;
        }
        json_t *id = json_object_get(m, "id");
        if (json_object_get(m, "event")) {
            if (print_events) {
                print_json(stdout, m);
            }
            json_decref(m);
            continue;
        }
        if (json_is_integer(id) &&
            json_integer_value(id) == (json_int_t)c->next_id) {
            return m;
        }
        json_decref(m);
    }
}

static bool connect_monitor(Conn *c, const char *target, GError **errp)
{
    g_autoptr(WdSocketAddress) addr = NULL;

    if (g_str_has_prefix(target, "tcp:") || g_str_has_prefix(target,
                                                             "unix:")) {
        addr = wd_socket_address_parse(target, errp);
    } else {
        addr = wd_socket_address_new_unix(target);
    }
    if (!addr) {
        return false;
    }
    c->ch = wd_channel_socket_connect_sync(addr, errp);
    if (!c->ch) {
        g_prefix_error(errp, "cannot connect to the monitor %s: ", target);
        return false;
    }
    c->buf = g_string_new(NULL);
    g_autoptr(json_t) greeting = read_msg(c, 10000, errp);
    if (!greeting || !json_object_get(greeting, "QMP")) {
        if (errp && !*errp) {
            wd_error_setg(errp, "%s did not greet with QMP: is it a QMP "
                          "monitor?", target);
        }
        return false;
    }
    g_autoptr(json_t) r = execute(c, "qmp_capabilities", NULL, false, errp);
    if (!r) {
        return false;
    }
    if (!json_object_get(r, "return")) {
        wd_error_setg(errp, "capabilities negotiation failed");
        return false;
    }
    return true;
}

/* key=value arguments: JSON values where they parse, else strings;
 * dotted keys nest. */
static json_t *build_args(int argc, char **argv, GError **errp)
{
    json_t *args = json_object();

    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            wd_error_setg(errp, "argument '%s' is not key=value", argv[i]);
            json_decref(args);
            return NULL;
        }
        g_autofree char *key = g_strndup(argv[i], eq - argv[i]);
        json_t *val = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
        if (!val) {
            val = json_string(eq + 1);
        }
        g_auto(GStrv) parts = g_strsplit(key, ".", 0);
        json_t *node = args;
        for (int p = 0; parts[p + 1]; p++) {
            json_t *child = json_object_get(node, parts[p]);
            if (!json_is_object(child)) {
                child = json_object();
                json_object_set_new(node, parts[p], child);
            }
            node = child;
        }
        json_object_set_new(node, parts[g_strv_length(parts) - 1], val);
    }
    return args;
}

static int report(json_t *r)
{
    json_t *ret = json_object_get(r, "return");
    if (ret) {
        print_json(stdout, ret);
        return 0;
    }
    json_t *desc = json_object_get(json_object_get(r, "error"), "desc");
    fprintf(stderr, "%s\n", json_is_string(desc) ? json_string_value(desc)
                                                 : "command failed");
    return 1;
}

static int interactive(Conn *c)
{
    char *line;

    printf("Connected. Type a command and key=value arguments, a JSON "
           "request, or 'help'; Ctrl-D quits.\n");
    while ((line = readline("(warden) ")) != NULL) {
        g_autofree char *l = g_strstrip(line);
        if (!*l) {
            continue;
        }
        add_history(l);
        g_autoptr(GError) err = NULL;
        g_autoptr(json_t) r = NULL;
        if (strcmp(l, "help") == 0) {
            r = execute(c, "query-commands", NULL, true, &err);
        } else if (l[0] == '{') {
            g_autoptr(json_t) req = json_loads(l, 0, NULL);
            json_t *cmd = json_object_get(req, "execute");
            if (!json_is_string(cmd)) {
                fprintf(stderr, "not a QMP request\n");
                continue;
            }
            r = execute(c, json_string_value(cmd),
                        json_object_get(req, "arguments"), true, &err);
        } else {
            g_auto(GStrv) words = g_strsplit_set(l, " \t", 0);
            int n = g_strv_length(words);
            g_autoptr(json_t) args = build_args(n - 1, words + 1, &err);
            if (args) {
                r = execute(c, words[0], json_object_size(args) ? args : NULL,
                            true, &err);
            }
        }
        if (!r) {
            fprintf(stderr, "%s\n", err ? err->message : "no reply");
            if (!err || strstr(err->message, "closed")) {
                return 2;
            }
            continue;
        }
        report(r);
    }
    printf("\n");
    return 0;
}

int wd_cmd_qmp(int argc, char **argv)
{
    gchar *json_args = NULL;
    gboolean events = FALSE;
    int timeout = -1;
    GOptionEntry entries[] = {
        { "json", 0, 0, G_OPTION_ARG_STRING, &json_args,
          "arguments as a JSON object, passed verbatim", "JSON" },
        { "events", 0, 0, G_OPTION_ARG_NONE, &events,
          "print events as they arrive (after COMMAND, if given)", NULL },
        { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
          "with --events: stop after S seconds", "S" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(
        "SOCKET [COMMAND [KEY=VALUE...]] - talk QMP to a monitor");
    g_autoptr(GError) err = NULL;
    Conn c = { 0 };
    int ret = 2;

    g_option_context_set_summary(ctx, "SOCKET is a unix socket path or "
        "tcp:HOST:PORT. Values that parse as JSON are used as JSON, others "
        "as strings; dotted keys nest (addr.port=10809).\nExit status: 0 "
        "success, 1 the command failed (its error on stderr), 2 the monitor "
        "could not be reached.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        wd_cmd_error("%s", err->message);
        return 2;
    }
    if (argc < 2) {
        wd_cmd_error("give the monitor socket (try 'warden qmp --help')");
        return 2;
    }
    if (!connect_monitor(&c, argv[1], &err)) {
        wd_cmd_error("%s", err->message);
        goto out;
    }
    if (argc >= 3) {
        g_autoptr(json_t) args = NULL;
        if (json_args) {
            json_error_t jerr;
            args = json_loads(json_args, 0, &jerr);
            if (!json_is_object(args)) {
                wd_cmd_error("--json: not a JSON object: %s", jerr.text);
                ret = 1;
                goto out;
            }
        } else {
            args = build_args(argc - 3, argv + 3, &err);
            if (!args) {
                wd_cmd_error("%s", err->message);
                ret = 1;
                goto out;
            }
        }
        g_autoptr(json_t) r = execute(&c, argv[2], json_object_size(args)
                                                   ? args : NULL,
                                      events, &err);
        if (!r) {
            wd_cmd_error("%s", err->message);
            goto out;
        }
        ret = report(r);
        if (!events || ret) {
            goto out;
        }
    }
    if (events) {
        gint64 end = timeout >= 0 ? g_get_monotonic_time() +
                                    (gint64)timeout * G_USEC_PER_SEC : -1;
        for (;;) {
            int wait = end < 0 ? -1 : (int)MAX(0, (end -
                                   g_get_monotonic_time()) / 1000);
            g_autoptr(GError) e2 = NULL;
            g_autoptr(json_t) m = read_msg(&c, wait, &e2);
            if (!m) {
                /* Timeout, or the daemon went away (after SHUTDOWN):
                 * both end the stream normally. */
                bool closed = e2 && strstr(e2->message, "closed");
                ret = e2 && !closed ? 2 : 0;
                if (ret) {
                    wd_cmd_error("%s", e2->message);
                }
                break;
            }
            if (json_object_get(m, "event")) {
                print_json(stdout, m);
                fflush(stdout);
            }
        }
        goto out;
    }
    if (argc == 2) {
        if (!isatty(STDIN_FILENO)) {
            wd_cmd_error("give a COMMAND (no terminal for an interactive "
                         "session)");
            ret = 2;
            goto out;
        }
        ret = interactive(&c);
    }
out:
    if (c.ch) {
        wd_channel_unref(c.ch);
    }
    if (c.buf) {
        g_string_free(c.buf, TRUE);
    }
    g_free(json_args);
    return ret;
}
