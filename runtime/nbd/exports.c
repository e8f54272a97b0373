/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Registry of NBD servers and block exports. An export holds its block
 * node and its server (an nbd-server object cannot be deleted while an
 * export uses it); removal follows QEMU's safe/hard semantics and
 * BLOCK_EXPORT_DELETED is emitted once the export is really gone.
 */
#include "runtime/nbd/exports.h"
#include "runtime/blockdev.h"
#include "runtime/error.h"
#include "runtime/event.h"
#include "runtime/keyval.h"
#include "runtime/log.h"
#include "runtime/object.h"
#include "runtime/qapi-util.h"

#include <string.h>

#define DEFAULT_SERVER ""     /* key of the nbd-server-start server */
#define MAX_DESCRIPTION 4096  /* NBD_INFO_DESCRIPTION bound, as QEMU */

typedef struct {
    char *id;
    char *server_id;          /* key into servers */
    char *node_name;
    char *holder;             /* "block export 'ID'" */
    WdNbdExport *exp;
    bool shutting_down;
} Export;

static GHashTable *servers;   /* id ("" = default) -> WdNbdServer* */
/* Objects the default server holds (tls-creds, tls-authz ids). */
static GPtrArray *default_holds;
#define DEFAULT_HOLDER "nbd-server (nbd-server-start)"
static GPtrArray *exports;    /* Export*, creation order */

static void init(void)
{
    if (!servers) {
        servers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                        NULL);
        exports = g_ptr_array_new();
    }
}

static Export *find_export(const char *id)
{
    init();
    for (guint i = 0; i < exports->len; i++) {
        Export *e = g_ptr_array_index(exports, i);
        if (strcmp(e->id, id) == 0) {
            return e;
        }
    }
    return NULL;
}

static void export_free(Export *e)
{
    wd_blockdev_release(e->node_name, e->holder);
    if (e->server_id[0]) {
        WdObject *obj = wd_object_find(e->server_id);
        if (obj) {
            wd_object_release(obj, e->holder);
        }
    }
    wd_nbd_export_unref(e->exp);
    g_free(e->id);
    g_free(e->server_id);
    g_free(e->node_name);
    g_free(e->holder);
    g_free(e);
}

/* The export is gone from its server: forget it and tell QMP. */
static void export_done(gpointer opaque)
{
    Export *e = opaque;
    g_autoptr(json_t) data = json_pack("{s:s}", "id", e->id);

    g_ptr_array_remove(exports, e);
    wd_event_emit("BLOCK_EXPORT_DELETED", json_incref(data));
    export_free(e);
}

static bool remove_export(Export *e, BlockExportRemoveMode mode,
                          GError **errp)
{
    WdNbdServer *s = g_hash_table_lookup(servers, e->server_id);

    if (e->shutting_down && mode == BLOCK_EXPORT_REMOVE_MODE_SAFE) {
        return true;
    }
    e->shutting_down = true;
    /* Without clients the export goes at once, and (as in QEMU) the
     * event comes before the command's reply. */
    bool idle = wd_nbd_export_count_connections(e->exp) == 0;
    if (!wd_nbd_server_remove_export(s, wd_nbd_export_get_name(e->exp),
                                     mode == BLOCK_EXPORT_REMOVE_MODE_HARD
                                     ? WD_NBD_REMOVE_HARD
                                     : WD_NBD_REMOVE_SAFE,
                                     idle ? NULL : export_done, e, errp)) {
        e->shutting_down = false;
        return false;
    }
    if (idle) {
        export_done(e);
    }
    return true;
}

bool wd_nbd_servers_add(const char *id, WdNbdServer *server, GError **errp)
{
    init();
    const char *key = id ? id : DEFAULT_SERVER;
    if (g_hash_table_contains(servers, key)) {
        wd_error_setg(errp, "NBD server already running");
        return false;
    }
    g_hash_table_insert(servers, g_strdup(key), server);
    return true;
}

bool wd_nbd_servers_remove(const char *id, GError **errp)
{
    init();
    const char *key = id ? id : DEFAULT_SERVER;
    WdNbdServer *s = g_hash_table_lookup(servers, key);

    if (!s) {
        wd_error_setg(errp, "NBD server not running");
        return false;
    }
    /* Every export on it goes, hard: the server stops listening. */
    for (guint i = exports->len; i-- > 0;) {
        Export *e = g_ptr_array_index(exports, i);
        if (strcmp(e->server_id, key) == 0) {
            g_autoptr(GError) err = NULL;
            e->shutting_down = false;
            if (!remove_export(e, BLOCK_EXPORT_REMOVE_MODE_HARD, &err)) {
                wd_warn("removing export '%s': %s", e->id, err->message);
            }
        }
    }
    g_hash_table_remove(servers, key);
    wd_nbd_server_free(s);
    if (!id && default_holds) {
        for (guint i = 0; i < default_holds->len; i++) {
            WdObject *obj = wd_object_find(g_ptr_array_index(default_holds,
                                                             i));
            if (obj) {
                wd_object_release(obj, DEFAULT_HOLDER);
            }
        }
        g_clear_pointer(&default_holds, g_ptr_array_unref);
    }
    /* Exports whose done() did not run yet are gone with the server. */
    for (guint i = exports->len; i-- > 0;) {
        Export *e = g_ptr_array_index(exports, i);
        if (strcmp(e->server_id, key) == 0) {
            export_done(e);
        }
    }
    return true;
}

WdNbdServer *wd_nbd_servers_find(const char *id)
{
    init();
    return g_hash_table_lookup(servers, id ? id : DEFAULT_SERVER);
}

bool wd_nbd_server_start_default(const SocketAddress *addr,
                                 const char *tls_creds, const char *tls_authz,
                                 bool has_max, uint32_t max_connections,
                                 GError **errp)
{
    init();
    if (g_hash_table_contains(servers, DEFAULT_SERVER)) {
        wd_error_setg(errp, "NBD server already running");
        return false;
    }
    g_autoptr(WdSocketAddress) a = wd_socket_address_from_qapi(addr, errp);
    g_autoptr(WdTlsCreds) creds = NULL;
    if (!a) {
        return false;
    }
    if (tls_creds) {
        creds = wd_tls_creds_lookup(NULL, "tls-creds", tls_creds, true,
                                    errp);
        if (!creds) {
            return false;
        }
    }
    WdNbdServerConfig cfg = {
        .addrs = a,
        .naddrs = 1,
        .tls_creds = creds,
        .tls_authz = tls_authz,
        .max_connections_set = has_max,
        .max_connections = max_connections,
        .name = "nbd-server",
    };
    WdNbdServer *s = wd_nbd_server_new(&cfg, errp);
    if (!s || !wd_nbd_servers_add(NULL, s, errp)) {
        g_clear_pointer(&s, wd_nbd_server_free);
        return false;
    }
    /* Credentials and authz in use by the server cannot be deleted. */
    default_holds = g_ptr_array_new_with_free_func(g_free);
    const char *held[] = { tls_creds, tls_authz };
    for (size_t i = 0; i < G_N_ELEMENTS(held); i++) {
        WdObject *obj = held[i] ? wd_object_find(held[i]) : NULL;
        if (obj) {
            wd_object_hold(obj, DEFAULT_HOLDER);
            g_ptr_array_add(default_holds, g_strdup(held[i]));
        }
    }
    return true;
}

/* Which server an export goes to: named, the default, or the only one. */
static const char *pick_server(const char *name, GError **errp)
{
    if (name) {
        WdObject *obj = wd_object_use(NULL, "server", name, "nbd-server",
                                      errp);
        return obj ? obj->id : NULL;
    }
    if (g_hash_table_contains(servers, DEFAULT_SERVER)) {
        return DEFAULT_SERVER;
    }
    if (g_hash_table_size(servers) == 1) {
        GHashTableIter it;
        gpointer key;
        g_hash_table_iter_init(&it, servers);
        g_hash_table_iter_next(&it, &key, NULL);
        return key;
    }
    if (g_hash_table_size(servers) == 0) {
        wd_error_setg(errp, "NBD server not running");
    } else {
        wd_error_setg(errp, "several NBD servers are running: name one "
                      "with server=ID");
    }
    return NULL;
}

bool wd_block_export_add(const BlockExportOptions *o, GError **errp)
{
    const BlockExportOptionsNbd *n = o->u.nbd;

    init();
    if (find_export(o->id)) {
        wd_error_setg(errp, "Block export id '%s' is already in use", o->id);
        return false;
    }
    const char *server_id = pick_server(n->server, errp);
    if (!server_id) {
        return false;
    }
    WdBlockNode *node = wd_blockdev_find(o->node_name, errp);
    if (!node) {
        return false;
    }
    if (n->bitmaps) {
        /* QEMU's text: raw nodes have no dirty bitmaps to export. */
        wd_error_setg(errp, "Bitmap '%s' is not found", n->bitmaps->value);
        return false;
    }
    if (n->description && strlen(n->description) > MAX_DESCRIPTION) {
        wd_error_setg(errp, "description may not exceed %d bytes",
                      MAX_DESCRIPTION);
        return false;
    }
    if (o->writable && wd_block_is_read_only(node)) {
        wd_error_setg(errp, "Cannot export node '%s' writable: it is "
                      "read-only", o->node_name);
        return false;
    }
    WdNbdServer *s = g_hash_table_lookup(servers, server_id);
    const char *name = n->name ? n->name : o->node_name;
    if (wd_nbd_server_find_export(s, name)) {
        wd_error_setg(errp, "NBD server already has export named '%s'",
                      name);
        return false;
    }
    WdNbdExport *exp = wd_nbd_export_new(name, n->description, node,
                                         o->writable, true, errp);
    if (!exp) {
        return false;
    }
    wd_nbd_export_set_allocation_depth(exp, n->has_allocation_depth &&
                                            n->allocation_depth);
    /* The server takes the creation reference; the registry keeps one. */
    if (!wd_nbd_server_add_export(s, wd_nbd_export_ref(exp), errp)) {
        wd_nbd_export_unref(exp);
        return false;
    }
    Export *e = g_new0(Export, 1);
    e->id = g_strdup(o->id);
    e->server_id = g_strdup(server_id);
    e->node_name = g_strdup(o->node_name);
    e->holder = g_strdup_printf("block export '%s'", o->id);
    e->exp = exp;
    wd_blockdev_use(o->node_name, e->holder);
    if (server_id[0]) {
        wd_object_hold(wd_object_find(server_id), e->holder);
    }
    g_ptr_array_add(exports, e);
    return true;
}

bool wd_block_export_add_arg(const char *arg, GError **errp)
{
    g_autoptr(json_t) tree = wd_keyval_or_json_parse(arg, "type", NULL,
                                                     errp);
    g_autoptr(BlockExportOptions) opts = NULL;

    if (!tree || !qapi_in_BlockExportOptions(tree, NULL, arg[0] != '{',
                                             &opts, errp)) {
        return false;
    }
    return wd_block_export_add(opts, errp);
}

bool wd_block_export_del(const char *id, BlockExportRemoveMode mode,
                         GError **errp)
{
    Export *e = find_export(id);

    if (!e) {
        wd_error_setg(errp, "Export '%s' is not found", id);
        return false;
    }
    return remove_export(e, mode, errp);
}

const char *wd_block_export_id_by_name(const char *name)
{
    init();
    for (guint i = 0; i < exports->len; i++) {
        Export *e = g_ptr_array_index(exports, i);
        if (!e->server_id[0] &&
            strcmp(wd_nbd_export_get_name(e->exp), name) == 0) {
            return e->id;
        }
    }
    return NULL;
}

BlockExportInfoList *wd_block_export_query(void)
{
    BlockExportInfoList *head = NULL, **tail = &head;

    init();
    for (guint i = 0; i < exports->len; i++) {
        Export *e = g_ptr_array_index(exports, i);
        BlockExportInfoList *n = g_new0(BlockExportInfoList, 1);
        n->value = g_new0(BlockExportInfo, 1);
        n->value->id = g_strdup(e->id);
        n->value->type = BLOCK_EXPORT_TYPE_NBD;
        n->value->node_name = g_strdup(e->node_name);
        n->value->shutting_down = e->shutting_down;
        *tail = n;
        tail = &n->next;
    }
    return head;
}

void wd_nbd_exports_shutdown(void)
{
    init();
    GList *keys = g_hash_table_get_keys(servers);
    for (GList *k = keys; k; k = k->next) {
        g_autofree char *key = g_strdup(k->data);
        wd_nbd_servers_remove(key[0] ? key : NULL, NULL);
    }
    g_list_free(keys);
}
