/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The secure accept path of QMP monitors: TLS (tls-creds=ID) with an
 * optional tls-authz=ID check of the peer identity, and QMP over a
 * websocket (websocket=on, over TLS when both are given). Clients get a
 * greeting only after every handshake and the authz check succeeded;
 * all of it runs asynchronously under one deadline per client.
 */
#include "monitor/monitor-priv.h"
#include "runtime/crypto/tlssession.h"
#include "runtime/error.h"
#include "runtime/io/channel-tls.h"
#include "runtime/io/channel-websock.h"
#include "runtime/log.h"
#include "runtime/qapi-util.h"

#include <string.h>

bool mon_secure_parse(Monitor *mon, json_t *opts, GError **errp)
{
    json_t *creds = json_object_get(opts, "tls-creds");
    json_t *authz = json_object_get(opts, "tls-authz");
    json_t *ws = json_object_get(opts, "websocket");

    if (ws && !qapi_in_bool(ws, "websocket", true, &mon->websocket, errp)) {
        return false;
    }
    if (creds) {
        if (!qapi_in_str(creds, "tls-creds", true, &mon->tls_creds, errp)) {
            return false;
        }
        /* Only to check it now; each client looks the creds up again. */
        g_autoptr(WdTlsCreds) c = wd_tls_creds_lookup(NULL, "tls-creds",
                                                      mon->tls_creds, true,
                                                      errp);
        if (!c) {
            return false;
        }
    }
    if (authz) {
        if (!mon->tls_creds) {
            wd_error_setg(errp, "tls-authz needs tls-creds: without TLS a "
                          "client has no identity to check; add "
                          "tls-creds=ID (server credentials)");
            return false;
        }
        if (!qapi_in_str(authz, "tls-authz", true, &mon->tls_authz, errp) ||
            !wd_object_use(NULL, "tls-authz", mon->tls_authz, "authz",
                           errp)) {
            return false;
        }
    }
    return true;
}

void mon_secure_hold(Monitor *mon)
{
    /* Held, not just looked up: deleting credentials or the authz object
     * under a live listener would silently change who may connect. */
    if (mon->tls_creds) {
        wd_object_hold(wd_object_find(mon->tls_creds), mon->holder);
    }
    if (mon->tls_authz) {
        wd_object_hold(wd_object_find(mon->tls_authz), mon->holder);
    }
}

void mon_secure_release(Monitor *mon)
{
    const char *ids[] = { mon->tls_creds, mon->tls_authz };

    for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
        WdObject *obj = ids[i] ? wd_object_find(ids[i]) : NULL;
        if (obj) {
            wd_object_release(obj, mon->holder);
        }
    }
}

/* The client's channel stack grows by @top (we take a new reference). */
static void client_push_channel(MonClient *c, WdChannel *top)
{
    wd_channel_unref(c->ch);
    c->ch = wd_channel_ref(top);
}

/* All handshakes done: stop the clock and speak QMP. */
static void client_ready(MonClient *c)
{
    if (c->deadline) {
        g_source_remove(c->deadline);
        c->deadline = 0;
    }
    mon_client_start(c);
}

/*
 * Common start of a handshake callback: drops the handshake's reference
 * and returns false if the client is gone or the handshake failed (then
 * logged and closing); true if the caller may go on with @c (the list's
 * reference keeps it alive).
 */
static bool handshake_finished(MonClient *c, GError *err, const char *what)
{
    bool gone = !c->mon || c->closing;

    c->handshaking = false;
    if (!gone && err) {
        if (c->timed_out) {
            wd_debug("monitor %s: client %s: %s after the deadline: %s",
                     c->mon->name, c->peer, what, err->message);
        } else {
            wd_warn("monitor %s: client %s: %s failed: %s", c->mon->name,
                    c->peer, what, err->message);
        }
        mon_client_close(c);
    }
    mon_client_unref(c);
    return !gone && !err;
}

static void ws_done(WdChannel *ws, GError *err, gpointer opaque)
{
    MonClient *c = opaque;

    if (!handshake_finished(c, err, "WebSocket handshake")) {
        return;
    }
    /* One QMP message per write, so one message per text frame; what
     * the client sends is a byte stream whatever its framing. */
    wd_channel_websock_set_text(ws, true);
    client_push_channel(c, ws);
    client_ready(c);
}

static void ws_begin(MonClient *c)
{
    g_autoptr(WdChannel) ws = wd_channel_websock_new_server(c->ch);

    c->handshaking = true;
    wd_channel_websock_handshake(ws, ws_done, mon_client_ref(c), NULL);
}

/*
 * The identity tls-authz decides on: for x509 the subject DN in QEMU's
 * order (authz rules written for QEMU keep working; authz.c matches
 * either order anyway), for PSK the username. NULL for none.
 */
static char *peer_identity(WdChannel *tls)
{
    WdTlsSession *s = wd_channel_tls_get_session(tls);

    if (wd_tls_creds_get_type(wd_tls_session_get_creds(s)) ==
        WD_TLS_CREDS_X509) {
        return wd_tls_session_get_peer_dn_qemu(s);
    }
    return wd_tls_session_get_peer_name(s);
}

/* tls-authz: true if the client may go on; false: logged, closing. */
static bool client_authorized(MonClient *c, WdChannel *tls)
{
    Monitor *mon = c->mon;
    g_autofree char *identity = peer_identity(tls);
    g_autoptr(GError) err = NULL;

    if (!mon->tls_authz) {
        return true;
    }
    if (!identity) {
        wd_error_setg(&err, "the client presented no identity (no "
                      "certificate or PSK username)");
    } else if (wd_authz_check(mon->tls_authz, identity, &err)) {
        wd_debug("monitor %s: client %s authorized as '%s'", mon->name,
                 c->peer, identity);
        return true;
    }
    /* Only the log learns why; the peer just sees the connection end,
     * before any greeting (nothing about us leaks to a stranger). */
    wd_warn("monitor %s: client %s (identity '%s') rejected by tls-authz "
            "'%s': %s", mon->name, c->peer, identity ? identity : "(none)",
            mon->tls_authz, err->message);
    mon_client_close(c);
    return false;
}

static void tls_done(WdChannel *tls, GError *err, gpointer opaque)
{
    MonClient *c = opaque;

    if (!handshake_finished(c, err, "TLS handshake")) {
        return;
    }
    /* Pushed first so even a rejected client gets a TLS close_notify. */
    client_push_channel(c, tls);
    if (!client_authorized(c, tls)) {
        return;
    }
    if (c->mon->websocket) {
        ws_begin(c);
    } else {
        client_ready(c);
    }
}

static void tls_begin(MonClient *c)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdTlsCreds) creds = NULL;
    g_autoptr(WdChannel) tls = NULL;

    /* Looked up per client: the object is held, so it is still there. */
    creds = wd_tls_creds_lookup(NULL, "tls-creds", c->mon->tls_creds, true,
                                &err);
    if (creds) {
        tls = wd_channel_tls_new_server(c->sock, creds, &err);
    }
    if (!tls) {
        wd_warn("monitor %s: client %s: cannot start TLS: %s",
                c->mon->name, c->peer, err->message);
        mon_client_close(c);
        return;
    }
    c->handshaking = true;
    wd_channel_tls_handshake(tls, tls_done, mon_client_ref(c), NULL);
}

/*
 * A client that connects and then stalls (never finishes a handshake)
 * would hold its connection forever. Shutting the socket down makes the
 * running handshake fail promptly and report through its callback, which
 * closes the client; other clients are not affected.
 */
static gboolean handshake_deadline(gpointer opaque)
{
    MonClient *c = opaque;

    c->deadline = 0;
    c->timed_out = true;
    wd_warn("monitor %s: client %s did not complete the %s handshake "
            "within %d s; disconnecting it", c->mon->name, c->peer,
            wd_channel_is_tls(c->ch) || !c->mon->tls_creds ? "WebSocket"
                                                            : "TLS",
            MONITOR_HANDSHAKE_TIMEOUT_S);
    wd_channel_shutdown(c->sock, WD_CHANNEL_SHUTDOWN_BOTH, NULL);
    if (!c->handshaking) {
        mon_client_close(c);
    }
    return G_SOURCE_REMOVE;
}

void mon_secure_accept(MonClient *c)
{
    Monitor *mon = c->mon;

    if (!mon->tls_creds && !mon->websocket) {
        mon_client_start(c);
        return;
    }
    c->deadline = g_timeout_add_seconds(MONITOR_HANDSHAKE_TIMEOUT_S,
                                        handshake_deadline, c);
    if (mon->tls_creds) {
        tls_begin(c);
    } else {
        ws_begin(c);
    }
}
