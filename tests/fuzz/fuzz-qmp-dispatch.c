/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz QMP dispatch: the input is a QMP byte stream for a negotiated
 * session (monitor/qmp.c) with the real command table and every object
 * type registered, so the argument converters of object-add (each
 * ObjectOptions branch), object-del, qom-*, query-*, blockdev-add/del and
 * the object model behind them run on hostile JSON.  Every reply must be
 * one JSON object line; after each input all objects and block nodes are
 * deleted so inputs stay independent.
 *
 * The harness is a sandbox, not a filter of what the parsers see: it
 * splits the stream with the real framer and passes every message on,
 * except commands that would reach outside the process (nbd-server-start
 * binds sockets, object-add of nbd-server likewise, blockdev-add of the
 * file and nbd drivers opens files or connects).  File names given to
 * secret/authz-listfile/tls-creds must be relative without "..": they
 * resolve in a scratch directory holding a valid secret, authz list, PSK
 * file and x509 directory (psk/, x509/), so loading and its errors are
 * exercised but nothing outside is read.
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "fuzz-qmp-output.h"
#include "fuzz-scratch.h"
#include "monitor/json-stream.h"
#include "monitor/qmp.h"
#include "objects/objects.h"
#include "runtime/blockdev.h"
#include "runtime/crypto/certs.h"
#include "runtime/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const denied_commands[] = {
    "nbd-server-start", "nbd-server-stop",
};

static const char *const path_members[] = {
    "file", "filename", "dir",
};

static bool path_ok(const char *p)
{
    g_auto(GStrv) parts = g_strsplit(p, "/", -1);

    if (p[0] == '/') {
        return false;
    }
    for (size_t i = 0; parts[i]; i++) {
        if (strcmp(parts[i], "..") == 0) {
            return false;
        }
    }
    return true;
}

/* False if @v (anywhere inside) asks for a file or network driver, an
 * nbd-server object or an absolute or climbing file name. */
static bool args_ok(json_t *v)
{
    const char *key;
    json_t *m;
    size_t i;

    if (json_is_array(v)) {
        json_array_foreach(v, i, m) {
            if (!args_ok(m)) {
                return false;
            }
        }
        return true;
    }
    if (!json_is_object(v)) {
        return true;
    }
    json_object_foreach(v, key, m) {
        const char *s = json_string_value(m);

        if (s && strcmp(key, "driver") == 0 && strcmp(s, "memory") != 0 &&
            strcmp(s, "raw") != 0) {
            return false;
        }
        if (s && strcmp(key, "qom-type") == 0 &&
            strcmp(s, "nbd-server") == 0) {
            return false;
        }
        for (i = 0; s && i < G_N_ELEMENTS(path_members); i++) {
            if (strcmp(key, path_members[i]) == 0 && !path_ok(s)) {
                return false;
            }
        }
        if (!args_ok(m)) {
            return false;
        }
    }
    return true;
}

/* Whether the session may see this message; what does not parse as a
 * request goes through (the session reports the error). Parsed with the
 * session's own flags so both see the same request. */
static bool allowed(const char *text, size_t len)
{
    json_error_t jerr;
    g_autoptr(json_t) req = json_loadb(text, len, JSON_REJECT_DUPLICATES |
                                       JSON_DECODE_ANY | JSON_ALLOW_NUL,
                                       &jerr);
    const char *cmd;

    if (!req || !json_is_object(req)) {
        return true;
    }
    cmd = json_string_value(json_object_get(req, "execute"));
    for (size_t i = 0; cmd && i < G_N_ELEMENTS(denied_commands); i++) {
        if (strcmp(cmd, denied_commands[i]) == 0) {
            return false;
        }
    }
    return args_ok(req);
}

static void on_message(const char *text, size_t len, const char *error,
                       gpointer opaque)
{
    QmpSession *s = opaque;

    if (!error && allowed(text, len)) {
        qmp_session_feed(s, text, len);
        qmp_session_feed(s, "\n", 1);
    }
}

static void init(void)
{
    g_autoptr(GError) err = NULL;
    const char *dir = fuzz_scratch_new("fuzz-qmp-XXXXXX");
    static const char *const names[] = { "localhost", NULL };

    wd_log_set_level(WD_LOG_ERROR);
    wd_objects_register_all();
    g_assert(chdir(dir) == 0);
    g_assert(g_file_set_contents("secret.txt", "c2VjcmV0Cg==", -1, &err));
    g_assert(g_file_set_contents(
        "authz.json", "{ \"rules\": [ { \"match\": \"CN=a*\", "
        "\"policy\": \"allow\", \"format\": \"glob\" } ], "
        "\"policy\": \"deny\" }", -1, &err));
    g_assert(g_mkdir("psk", 0700) == 0);
    g_assert(g_file_set_contents(
        "psk/keys.psk", "qemu:0123456789abcdef0123456789abcdef\n", -1,
        &err));
    g_assert(wd_certs_create("x509", names, NULL, 30, &err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gsize once;

    if (g_once_init_enter(&once)) {
        init();
        g_once_init_leave(&once, 1);
    }

    QmpSession *s = qmp_session_new(fuzz_qmp_check_output, NULL);
    WdJsonStream *split = wd_json_stream_new(on_message, s);

    s->negotiated = true;
    wd_json_stream_feed(split, (const char *)data, size);
    wd_json_stream_free(split);
    qmp_session_free(s);
    wd_object_delete_all();
    wd_blockdev_delete_all();
    return 0;
}
