/* SPDX-License-Identifier: GPL-2.0-or-later */
/* QMP control commands: negotiation, version, command list, schema, quit. */
#include "monitor/qmp.h"
#include "runtime/error.h"

#include <string.h>

bool qmp_qmp_capabilities(QmpSession *session,
                          const q_obj_qmp_capabilities_arg *arg,
                          GError **errp)
{
    for (QMPCapabilityList *c = arg->enable; c; c = c->next) {
        wd_error_setg(errp, "Capability %s not available",
                      QMPCapability_str(c->value));
        return false;
    }
    session->negotiated = true;
    return true;
}

bool qmp_query_version(QmpSession *session, VersionInfo **ret, GError **errp)
{
    g_autoptr(json_t) v = qmp_version_json();

    return qapi_in_VersionInfo(v, NULL, false, ret, errp);
}

bool qmp_query_commands(QmpSession *session, CommandInfoList **ret,
                        GError **errp)
{
    CommandInfoList *head = NULL, **tail = &head;

    for (size_t i = 0; i < qmp_ncommands; i++) {
        CommandInfoList *n = g_new0(CommandInfoList, 1);
        n->value = g_new0(CommandInfo, 1);
        n->value->name = g_strdup(qmp_commands[i].name);
        *tail = n;
        tail = &n->next;
    }
    *ret = head;
    return true;
}

bool qmp_query_qmp_schema(QmpSession *session, json_t **ret, GError **errp)
{
    json_error_t jerr;

    *ret = json_loads(qmp_schema_json, 0, &jerr);
    g_assert(*ret);
    return true;
}

typedef struct {
    void (*on_quit)(gpointer);
    gpointer opaque;
} QuitRequest;

static gboolean quit_idle(gpointer opaque)
{
    QuitRequest *q = opaque;

    q->on_quit(q->opaque);
    g_free(q);
    return G_SOURCE_REMOVE;
}

bool qmp_quit(QmpSession *session, GError **errp)
{
    if (!session->on_quit) {
        wd_error_setg(errp, "quit is not available here");
        return false;
    }
    /* Reply first; the daemon then emits SHUTDOWN and exits 0. The idle
     * does not touch the session, which may be gone by then. */
    QuitRequest *q = g_new0(QuitRequest, 1);
    q->on_quit = session->on_quit;
    q->opaque = session->quit_opaque;
    g_idle_add(quit_idle, q);
    return true;
}
