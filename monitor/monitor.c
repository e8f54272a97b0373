/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP monitor transport: listeners from --monitor/--chardev, one QMP
 * session per connected client (QEMU serves one client per chardev at a
 * time; we serve any number at once, each negotiating on its own), and
 * event fan-out to every client. A client that disconnects, even
 * mid-message, only takes its own session down. TLS, tls-authz and
 * websocket clients go through monitor-secure.c before they get here.
 */
#include "monitor/monitor-priv.h"
#include "runtime/error.h"
#include "runtime/event.h"
#include "runtime/io/channel-socket.h"
#include "runtime/keyval.h"
#include "runtime/log.h"
#include "runtime/qapi-util.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A client may queue at most this much unread output before we drop it
 * (a client that never reads cannot make us buffer without bound). */
#define MONITOR_MAX_OUTPUT (64u << 20)

struct WdMonitorSet {
    GPtrArray *monitors;       /* Monitor* */
    GHashTable *chardevs;      /* id -> json_t* options */
    void (*on_quit)(gpointer);
    gpointer quit_opaque;
};

static GPtrArray *all_sets;    /* for SHUTDOWN from the daemon */

MonClient *mon_client_ref(MonClient *c)
{
    g_atomic_int_inc(&c->refcount);
    return c;
}

/* The last reference: close the channel stack (which closes the socket
 * under it) and free. */
void mon_client_unref(MonClient *c)
{
    if (!c || !g_atomic_int_dec_and_test(&c->refcount)) {
        return;
    }
    g_assert(!c->in_watch && !c->out_watch && !c->deadline);
    qmp_session_free(c->qmp);
    wd_channel_close(c->ch, NULL);
    wd_channel_unref(c->ch);
    wd_channel_unref(c->sock);
    g_string_free(c->out, TRUE);
    g_queue_clear(&c->msg_lens);
    g_free(c->peer);
    g_free(c);
}

/* Stop every source that points at @c and drop the list's reference. A
 * running handshake cannot be cancelled, only failed: shutting the
 * socket down makes it finish (with an error) and drop its reference. */
static void client_detach(MonClient *c)
{
    if (c->in_watch) {
        g_source_remove(c->in_watch);
        c->in_watch = 0;
    }
    if (c->out_watch) {
        g_source_remove(c->out_watch);
        c->out_watch = 0;
    }
    if (c->deadline) {
        g_source_remove(c->deadline);
        c->deadline = 0;
    }
    if (c->close_idle) {
        g_source_remove(c->close_idle);
        c->close_idle = 0;
    }
    if (c->handshaking) {
        wd_channel_shutdown(c->sock, WD_CHANNEL_SHUTDOWN_BOTH, NULL);
    }
    c->closing = true;
    c->mon = NULL;
    mon_client_unref(c);
}

static gboolean client_close_idle(gpointer opaque)
{
    MonClient *c = opaque;

    c->close_idle = 0;
    g_ptr_array_remove(c->mon->clients, c);
    client_detach(c);
    return G_SOURCE_REMOVE;
}

void mon_client_close(MonClient *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    /* Defer: we may be inside this client's own callbacks. */
    c->close_idle = g_idle_add(client_close_idle, c);
}

/* How much of @c->out the next write may take: everything, or for a
 * websocket the rest of the first message (one message per frame). */
static size_t client_chunk(MonClient *c)
{
    if (g_queue_is_empty(&c->msg_lens)) {
        return c->out->len;
    }
    return GPOINTER_TO_SIZE(g_queue_peek_head(&c->msg_lens));
}

static void client_consumed(MonClient *c, size_t n)
{
    g_string_erase(c->out, 0, n);
    if (!g_queue_is_empty(&c->msg_lens)) {
        size_t left = GPOINTER_TO_SIZE(g_queue_pop_head(&c->msg_lens)) - n;
        /* A message over one frame's limit goes out in several frames. */
        if (left) {
            g_queue_push_head(&c->msg_lens, GSIZE_TO_POINTER(left));
        }
    }
}

static bool client_flush(MonClient *c)
{
    while (c->out->len) {
        g_autoptr(GError) err = NULL;
        ssize_t n = wd_channel_write(c->ch, c->out->str, client_chunk(c),
                                     &err);
        if (n == WD_CHANNEL_ERR_BLOCK) {
            return true;
        }
        if (n < 0) {
            wd_debug("monitor %s: client %s: write failed: %s",
                     c->mon ? c->mon->name : "(gone)", c->peer,
                     err->message);
            return false;
        }
        client_consumed(c, n);
    }
    return true;
}

static gboolean client_writable(WdChannel *ch, GIOCondition cond,
                                gpointer opaque)
{
    MonClient *c = opaque;

    if (!client_flush(c)) {
        c->out_watch = 0;
        mon_client_close(c);
        return G_SOURCE_REMOVE;
    }
    if (c->out->len == 0) {
        c->out_watch = 0;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void client_output(const char *text, size_t len, gpointer opaque)
{
    MonClient *c = opaque;

    if (c->closing) {
        return;
    }
    if (c->out->len + len > MONITOR_MAX_OUTPUT) {
        wd_warn("monitor %s: client %s does not read its replies; "
                "disconnecting it", c->mon->name, c->peer);
        mon_client_close(c);
        return;
    }
    g_string_append_len(c->out, text, len);
    if (c->mon->websocket) {
        g_queue_push_tail(&c->msg_lens, GSIZE_TO_POINTER(len));
    }
    if (!client_flush(c)) {
        mon_client_close(c);
        return;
    }
    if (c->out->len && !c->out_watch) {
        c->out_watch = wd_channel_add_watch(c->ch, G_IO_OUT, client_writable,
                                            c, NULL, NULL);
    }
}

static gboolean client_readable(WdChannel *ch, GIOCondition cond,
                                gpointer opaque)
{
    MonClient *c = opaque;
    char buf[65536];

    /* Bounded: at most a few reads per wakeup so one busy client cannot
     * starve the others. */
    for (int i = 0; i < 4 && !c->closing; i++) {
        g_autoptr(GError) err = NULL;
        ssize_t n = wd_channel_read(c->ch, buf, sizeof(buf), &err);
        if (n == WD_CHANNEL_ERR_BLOCK) {
            return G_SOURCE_CONTINUE;
        }
        if (n <= 0) {
            if (n < 0) {
                wd_debug("monitor %s: client %s: %s", c->mon->name, c->peer,
                         err->message);
            }
            c->in_watch = 0;
            mon_client_close(c);
            return G_SOURCE_REMOVE;
        }
        qmp_session_feed(c->qmp, buf, n);
        explicit_bzero(buf, n);       /* may hold object-add data= */
    }
    if (c->closing) {
        c->in_watch = 0;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

void mon_client_start(MonClient *c)
{
    Monitor *mon = c->mon;

    c->qmp = qmp_session_new(client_output, c);
    c->qmp->pretty = mon->pretty;
    c->qmp->on_quit = mon->set->on_quit;
    c->qmp->quit_opaque = mon->set->quit_opaque;
    qmp_session_greet(c->qmp);
    c->in_watch = wd_channel_add_watch(c->ch, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                       client_readable, c, NULL, NULL);
}

static void monitor_accept(WdChannel *ch, gpointer opaque)
{
    Monitor *mon = opaque;
    MonClient *c = g_new0(MonClient, 1);
    const char *peer = wd_channel_socket_peer_name(ch);

    c->refcount = 1;                /* the client list's */
    c->mon = mon;
    c->sock = wd_channel_ref(ch);   /* the listener's is borrowed */
    c->ch = wd_channel_ref(ch);
    c->peer = g_strdup(peer ? peer : "(unknown)");
    c->out = g_string_new(NULL);
    g_queue_init(&c->msg_lens);
    wd_channel_set_blocking(ch, false, NULL);
    g_ptr_array_add(mon->clients, c);
    mon_secure_accept(c);
}

static void on_event(const char *name, json_t *data, gpointer opaque)
{
    WdMonitorSet *ms = opaque;

    for (guint i = 0; i < ms->monitors->len; i++) {
        Monitor *mon = g_ptr_array_index(ms->monitors, i);
        for (guint j = 0; j < mon->clients->len; j++) {
            MonClient *c = g_ptr_array_index(mon->clients, j);
            /* Not before its handshakes and tls-authz succeeded. */
            if (c->qmp && !c->closing) {
                qmp_session_send_event(c->qmp, name, data);
            }
        }
    }
}

WdMonitorSet *wd_monitor_set_new(void (*on_quit)(gpointer), gpointer opaque)
{
    WdMonitorSet *ms = g_new0(WdMonitorSet, 1);

    ms->monitors = g_ptr_array_new();
    ms->chardevs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify)json_decref);
    ms->on_quit = on_quit;
    ms->quit_opaque = opaque;
    wd_event_add_sink(on_event, ms);
    if (!all_sets) {
        all_sets = g_ptr_array_new();
    }
    g_ptr_array_add(all_sets, ms);
    return ms;
}

bool wd_monitor_set_add_chardev(WdMonitorSet *ms, const char *spec,
                                GError **errp)
{
    g_autoptr(json_t) opts = wd_keyval_parse(spec, "backend", NULL, errp);
    if (!opts) {
        g_prefix_error(errp, "--chardev: ");
        return false;
    }
    json_t *backend = json_object_get(opts, "backend");
    json_t *id = json_object_get(opts, "id");
    if (!json_is_string(id)) {
        wd_error_setg(errp, "--chardev: Parameter 'id' is missing");
        return false;
    }
    if (!json_is_string(backend) ||
        strcmp(json_string_value(backend), "socket") != 0) {
        wd_error_setg(errp, "--chardev '%s': only the 'socket' backend is "
                      "supported for monitors", json_string_value(id));
        return false;
    }
    if (g_hash_table_contains(ms->chardevs, json_string_value(id))) {
        wd_error_setg(errp, "--chardev: a chardev with id '%s' already "
                      "exists", json_string_value(id));
        return false;
    }
    g_hash_table_insert(ms->chardevs, g_strdup(json_string_value(id)),
                        json_incref(opts));
    return true;
}

/* Socket address of a chardev: path=... or host=...,port=... */
static WdSocketAddress *chardev_address(json_t *cd, GError **errp)
{
    const char *id = json_string_value(json_object_get(cd, "id"));
    json_t *path = json_object_get(cd, "path");
    json_t *host = json_object_get(cd, "host");
    json_t *port = json_object_get(cd, "port");
    const char *key;
    json_t *val;
    static const char *const known[] = {
        "backend", "id", "path", "host", "port", "server", "wait",
        "ipv4", "ipv6", NULL };

    json_object_foreach(cd, key, val) {
        if (!g_strv_contains(known, key)) {
            wd_error_setg(errp, "chardev '%s': Parameter '%s' is unexpected",
                          id, key);
            return NULL;
        }
    }
    json_t *server = json_object_get(cd, "server");
    bool is_server = false;
    if (!server || !qapi_in_bool(server, "server", true, &is_server, errp)) {
        if (!server) {
            wd_error_setg(errp, "chardev '%s': a monitor chardev must be a "
                          "listening socket: add server=on,wait=off", id);
        }
        return NULL;
    }
    if (!is_server) {
        wd_error_setg(errp, "chardev '%s': a monitor chardev must be a "
                      "listening socket: add server=on,wait=off", id);
        return NULL;
    }
    if (json_is_string(path)) {
        return wd_socket_address_new_unix(json_string_value(path));
    }
    if (json_is_string(port)) {
        return wd_socket_address_new_inet(
            json_is_string(host) ? json_string_value(host) : "",
            json_string_value(port));
    }
    wd_error_setg(errp, "chardev '%s': give path=PATH or host=HOST,port=PORT",
                  id);
    return NULL;
}

/* Flush and drop every client, stop listening, release the objects. */
static void monitor_free(Monitor *mon)
{
    for (guint j = 0; j < mon->clients->len; j++) {
        MonClient *c = g_ptr_array_index(mon->clients, j);
        if (c->qmp && !c->closing) {
            /* Last chance to deliver the reply to quit and SHUTDOWN. */
            wd_channel_set_blocking(c->ch, true, NULL);
            client_flush(c);
        }
        client_detach(c);
    }
    g_ptr_array_unref(mon->clients);
    if (mon->listener) {
        wd_socket_listener_free(mon->listener);
    }
    if (mon->holder) {
        mon_secure_release(mon);
    }
    g_free(mon->holder);
    g_free(mon->tls_creds);
    g_free(mon->tls_authz);
    g_free(mon->name);
    g_free(mon);
}

bool wd_monitor_set_add(WdMonitorSet *ms, const char *spec, GError **errp)
{
    g_autoptr(WdSocketAddress) addr = NULL;
    g_autoptr(json_t) opts = NULL;
    bool pretty = false;

    /* "unix:PATH,opt=..." / "tcp:H:P,..." / "chardev=ID,pretty=on" */
    opts = wd_keyval_parse(spec, "address", NULL, errp);
    if (!opts) {
        g_prefix_error(errp, "--monitor: ");
        return false;
    }
    json_t *pv = json_object_get(opts, "pretty");
    if (pv && !qapi_in_bool(pv, "pretty", true, &pretty, errp)) {
        return false;
    }
    json_t *cdid = json_object_get(opts, "chardev");
    json_t *address = json_object_get(opts, "address");
    json_t *mode = json_object_get(opts, "mode");
    const char *key;
    json_t *val;
    json_object_foreach(opts, key, val) {
        static const char *const known[] = {
            "address", "chardev", "pretty", "mode", "id", "tls-creds",
            "tls-authz", "websocket", NULL };
        if (!g_strv_contains(known, key)) {
            wd_error_setg(errp, "--monitor: Parameter '%s' is unexpected",
                          key);
            return false;
        }
    }
    if (json_is_string(cdid)) {
        json_t *cd = g_hash_table_lookup(ms->chardevs,
                                         json_string_value(cdid));
        if (!cd) {
            wd_error_setg(errp, "--monitor: chardev '%s' not found; define "
                          "it with --chardev socket,id=%s,... before the "
                          "monitor", json_string_value(cdid),
                          json_string_value(cdid));
            return false;
        }
        addr = chardev_address(cd, errp);
    } else if (json_is_string(address)) {
        addr = wd_socket_address_parse(json_string_value(address), errp);
    } else {
        wd_error_setg(errp, "--monitor: give unix:PATH, tcp:HOST:PORT or "
                      "chardev=ID");
        return false;
    }
    if (!addr) {
        g_prefix_error(errp, "--monitor: ");
        return false;
    }

    /* Check the objects before binding: a bad id leaves no socket. */
    Monitor *mon = g_new0(Monitor, 1);
    mon->set = ms;
    mon->pretty = pretty;
    mon->clients = g_ptr_array_new();
    if (!mon_secure_parse(mon, opts, errp)) {
        g_prefix_error(errp, "--monitor: ");
        monitor_free(mon);
        return false;
    }
    /* Backlog SOMAXCONN (0): with 16, a burst of clients connecting at
     * once got EAGAIN from connect() on the unix socket. */
    g_autoptr(WdSocketListener) l = wd_socket_listener_new(addr, 1, 0,
                                                           errp);
    if (!l) {
        g_prefix_error(errp, "--monitor: ");
        monitor_free(mon);
        return false;
    }
    if (addr->type == WD_SOCKET_ADDRESS_UNIX && json_is_string(mode)) {
        char *end = NULL;
        unsigned long m = strtoul(json_string_value(mode), &end, 8);
        if (*end || m > 0777 || chmod(addr->path, m) < 0) {
            wd_error_setg(errp, "--monitor: cannot set mode '%s' on %s",
                          json_string_value(mode), addr->path);
            monitor_free(mon);
            return false;
        }
    }
    mon->name = wd_socket_address_to_string(addr);
    /* The name object-del reports: "monitor tcp:127.0.0.1:4444". */
    mon->holder = g_strdup_printf("monitor %s%s",
                                  addr->type == WD_SOCKET_ADDRESS_INET
                                  ? "tcp:" : "", mon->name);
    mon_secure_hold(mon);
    mon->listener = g_steal_pointer(&l);
    wd_socket_listener_set_accept(mon->listener, monitor_accept, mon, NULL);
    g_ptr_array_add(ms->monitors, mon);
    return true;
}

void wd_monitor_emit_shutdown(const char *reason)
{
    g_autoptr(json_t) data = json_pack("{s:b,s:s}", "guest", 0, "reason",
                                       reason ? reason : "host-signal");
    wd_event_emit("SHUTDOWN", json_incref(data));
}

void wd_monitor_set_free(WdMonitorSet *ms)
{
    if (!ms) {
        return;
    }
    wd_event_remove_sink(on_event, ms);
    g_ptr_array_remove(all_sets, ms);
    for (guint i = 0; i < ms->monitors->len; i++) {
        monitor_free(g_ptr_array_index(ms->monitors, i));
    }
    g_ptr_array_unref(ms->monitors);
    g_hash_table_unref(ms->chardevs);
    g_free(ms);
}
