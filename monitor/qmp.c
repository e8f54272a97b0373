/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP protocol: greeting, capabilities negotiation, request validation
 * in QEMU's order (qapi/qmp-dispatch.c) with QEMU's messages, dispatch
 * through the generated table, and event formatting.
 */
#include "monitor/qmp.h"
#include "monitor/json-stream.h"
#include "runtime/error.h"
#include "runtime/qapi-util.h"
#include "warden-config.h"

#include <string.h>
#include <sys/time.h>

static void on_message(const char *text, size_t len, const char *error,
                       gpointer opaque);

QmpSession *qmp_session_new(QmpOutputFunc output, gpointer opaque)
{
    QmpSession *s = g_new0(QmpSession, 1);

    s->output = output;
    s->opaque = opaque;
    s->stream = wd_json_stream_new(on_message, s);
    return s;
}

void qmp_session_free(QmpSession *s)
{
    if (s) {
        wd_json_stream_free(s->stream);
        g_free(s);
    }
}

char *qmp_format(QmpSession *s, json_t *msg, size_t *len)
{
    size_t flags = JSON_ENSURE_ASCII | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17);
    g_autofree char *text = json_dumps(msg, flags | (s && s->pretty
                                                      ? JSON_INDENT(4) : 0));
    size_t n = strlen(text);
    GString *out = g_string_sized_new(n + 64);
    const char *p = text, *nl;

    /* QEMU ends every line with \r\n, also inside pretty output. This
     * runs for every reply and event: copy whole lines, not bytes. */
    while ((nl = memchr(p, '\n', text + n - p))) {
        g_string_append_len(out, p, nl - p);
        g_string_append_len(out, "\r\n", 2);
        p = nl + 1;
    }
    g_string_append_len(out, p, text + n - p);
    g_string_append_len(out, "\r\n", 2);
    *len = out->len;
    return g_string_free(out, FALSE);
}

static void send_msg(QmpSession *s, json_t *msg)
{
    size_t len;
    g_autofree char *text = qmp_format(s, msg, &len);

    s->output(text, len, s->opaque);
}

json_t *qmp_version_json(void)
{
    unsigned major = 0, minor = 0, micro = 0;

    sscanf(WARDEN_VERSION, "%u.%u.%u", &major, &minor, &micro);
    return json_pack("{s:{s:i,s:i,s:i},s:s}", "qemu", "micro", micro,
                     "minor", minor, "major", major, "package",
                     "warden " WARDEN_VERSION);
}

void qmp_session_greet(QmpSession *s)
{
    g_autoptr(json_t) g = json_pack("{s:{s:o,s:[]}}", "QMP", "version",
                                    qmp_version_json(), "capabilities");
    send_msg(s, g);
}

static json_t *error_reply(const char *klass, const char *desc, json_t *id)
{
    json_t *r = json_object();

    if (id) {
        json_object_set(r, "id", id);
    }
    json_object_set_new(r, "error", json_pack("{s:s,s:s}", "class", klass,
                                              "desc", desc));
    return r;
}

static const QmpCommandDef *find_command(const char *name)
{
    for (size_t i = 0; i < qmp_ncommands; i++) {
        if (strcmp(qmp_commands[i].name, name) == 0) {
            return &qmp_commands[i];
        }
    }
    return NULL;
}

json_t *qmp_dispatch(QmpSession *s, json_t *req)
{
    const char *key;
    json_t *val, *id, *args = NULL;
    const char *cmd = NULL;

    if (!json_is_object(req)) {
        return error_reply("GenericError", "QMP input must be a JSON object",
                           NULL);
    }
    id = json_object_get(req, "id");
    json_object_foreach(req, key, val) {
        if (strcmp(key, "execute") == 0) {
            if (!json_is_string(val)) {
                return error_reply("GenericError", "QMP input member "
                                   "'execute' must be a string", id);
            }
            cmd = json_string_value(val);
        } else if (strcmp(key, "arguments") == 0) {
            if (!json_is_object(val)) {
                return error_reply("GenericError", "QMP input member "
                                   "'arguments' must be an object", id);
            }
            args = val;
        } else if (strcmp(key, "id") != 0) {
            g_autofree char *m = g_strdup_printf("QMP input member '%s' is "
                                                 "unexpected", key);
            return error_reply("GenericError", m, id);
        }
    }
    if (!cmd) {
        return error_reply("GenericError", "QMP input lacks member "
                           "'execute'", id);
    }
    bool is_caps = strcmp(cmd, "qmp_capabilities") == 0;
    if (!s->negotiated && !is_caps) {
        return error_reply("CommandNotFound", "Expecting capabilities "
                           "negotiation with 'qmp_capabilities'", id);
    }
    if (s->negotiated && is_caps) {
        return error_reply("CommandNotFound", "Capabilities negotiation is "
                           "already complete, command ignored", id);
    }
    const QmpCommandDef *def = find_command(cmd);
    if (!def) {
        g_autofree char *m = g_strdup_printf("The command %s has not been "
                                             "found", cmd);
        return error_reply("CommandNotFound", m, id);
    }

    g_autoptr(json_t) empty = json_object();
    g_autoptr(GError) err = NULL;
    json_t *ret = NULL;
    if (!def->fn(s, args ? args : empty, &ret, &err)) {
        return error_reply(wd_error_class_name(err), err->message, id);
    }
    json_t *r = json_object();
    json_object_set_new(r, "return", ret);
    if (id) {
        json_object_set(r, "id", id);
    }
    return r;
}

static void on_message(const char *text, size_t len, const char *error,
                       gpointer opaque)
{
    QmpSession *s = opaque;

    if (error) {
        g_autoptr(json_t) r = error_reply("GenericError", error, NULL);
        send_msg(s, r);
        return;
    }
    json_error_t jerr;
    g_autoptr(json_t) req = json_loadb(text, len, JSON_REJECT_DUPLICATES |
                                       JSON_DECODE_ANY | JSON_ALLOW_NUL,
                                       &jerr);
    if (!req) {
        g_autofree char *what = qapi_json_error_text(jerr.text);
        g_autofree char *m = g_strdup_printf("JSON parse error, %s", what);
        explicit_bzero(&jerr, sizeof(jerr));
        g_autoptr(json_t) r = error_reply("GenericError", m, NULL);
        send_msg(s, r);
        return;
    }
    g_autoptr(json_t) reply = qmp_dispatch(s, req);
    send_msg(s, reply);
}

void qmp_session_feed(QmpSession *s, const char *buf, size_t len)
{
    wd_json_stream_feed(s->stream, buf, len);
}

void qmp_session_send_event(QmpSession *s, const char *name, json_t *data)
{
    struct timeval tv;

    if (!s->negotiated) {
        return;     /* QEMU drops events before negotiation */
    }
    gettimeofday(&tv, NULL);
    g_autoptr(json_t) ev = json_pack("{s:{s:I,s:I},s:s}", "timestamp",
                                     "seconds", (json_int_t)tv.tv_sec,
                                     "microseconds", (json_int_t)tv.tv_usec,
                                     "event", name);
    if (data) {
        json_object_set(ev, "data", data);
    }
    send_msg(s, ev);
}
