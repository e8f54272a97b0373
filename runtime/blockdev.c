/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Named block nodes: creation from BlockdevOptions, lookup, use counts. */
#include "runtime/blockdev.h"
#include "runtime/error.h"
#include "runtime/keyval.h"
#include "runtime/object.h"
#include "runtime/qapi-util.h"
#include "runtime/block/block-nbd.h"
#include "runtime/crypto/tlscreds.h"

#include <string.h>

typedef struct {
    WdBlockNode *node;
    char *driver;
    char *filename;
    char *parent;              /* set when created inline by its parent */
    GPtrArray *users;          /* char*: "block export 'exp0'" */
} Blockdev;

static GHashTable *nodes;      /* node-name -> Blockdev* */
static GPtrArray *order;       /* Blockdev*, creation order */

static void blockdev_free(Blockdev *b)
{
    wd_block_node_unref(b->node);
    g_free(b->driver);
    g_free(b->filename);
    g_free(b->parent);
    g_ptr_array_unref(b->users);
    g_free(b);
}

static void init(void)
{
    if (!nodes) {
        nodes = g_hash_table_new(g_str_hash, g_str_equal);
        order = g_ptr_array_new();
    }
}

WdSocketAddress *wd_socket_address_from_qapi(const SocketAddress *a,
                                             GError **errp)
{
    switch (a->type) {
    case SOCKET_ADDRESS_TYPE_INET: {
        WdSocketAddress *w = wd_socket_address_new_inet(a->u.inet->host,
                                                        a->u.inet->port);
        w->ipv4 = a->u.inet->has_ipv4 && a->u.inet->ipv4;
        w->ipv6 = a->u.inet->has_ipv6 && a->u.inet->ipv6;
        return w;
    }
    case SOCKET_ADDRESS_TYPE_UNIX:
        if (a->u.q_unix->has_abstract && a->u.q_unix->abstract) {
            wd_error_setg(errp, "abstract unix sockets are not supported; "
                          "give a filesystem path");
            return NULL;
        }
        return wd_socket_address_new_unix(a->u.q_unix->path);
    case SOCKET_ADDRESS_TYPE_FD: {
        char *end = NULL;
        long fd = strtol(a->u.fd->str, &end, 10);
        if (*end || fd < 0 || fd > INT32_MAX) {
            wd_error_setg(errp, "addr.str: '%s' is not a file descriptor "
                          "number", a->u.fd->str);
            return NULL;
        }
        return wd_socket_address_new_fd((int)fd);
    }
    default:
        break;
    }
    wd_error_setg(errp, "unsupported socket address type");
    return NULL;
}

WdSocketAddress *wd_socket_address_from_legacy(const SocketAddressLegacy *a,
                                               GError **errp)
{
    SocketAddress flat = { .type = a->type };

    switch (a->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        flat.u.inet = a->u.inet->data;
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        flat.u.q_unix = a->u.q_unix->data;
        break;
    case SOCKET_ADDRESS_TYPE_FD:
        flat.u.fd = a->u.fd->data;
        break;
    default:
        break;
    }
    return wd_socket_address_from_qapi(&flat, errp);
}

static WdBlockNode *open_nbd(const char *name, const BlockdevOptionsNbd *o,
                             bool ro, char **filename, GError **errp)
{
    g_autoptr(WdSocketAddress) addr = wd_socket_address_from_qapi(o->server,
                                                                  errp);
    g_autoptr(WdTlsCreds) creds = NULL;

    if (!addr) {
        return NULL;
    }
    if (o->tls_creds) {
        creds = wd_tls_creds_lookup(NULL, "tls-creds", o->tls_creds, false,
                                    errp);
        if (!creds) {
            return NULL;
        }
    }
    WdNbdClientConfig cfg = {
        .addr = addr,
        .export_name = o->export ? o->export : "",
        .tls = creds,
        .tls_hostname = o->tls_hostname,
        .reconnect_delay = o->reconnect_delay,
        .open_timeout = o->open_timeout,
        .nconns = 4,
        .read_only = ro,
    };
    g_autofree char *where = wd_socket_address_to_string(addr);
    *filename = g_strdup_printf("nbd%s://%s/%s", creds ? "s" : "", where,
                                cfg.export_name);
    return wd_block_nbd_open(name, &cfg, errp);
}

static void remove_node(Blockdev *b);
/* What an inline child takes from its parent unless it says otherwise. */
typedef struct {
    bool read_only;
    BlockdevDiscardOptions discard;
} Inherited;

static WdBlockNode *blockdev_add(const BlockdevOptions *opts,
                                 const Inherited *from, GError **errp);

/*
 * The child of a raw node: an existing node by name, or a new node from
 * inline options (QEMU's BlockdevRef), which inherits read-only and discard
 * from its parent unless it says otherwise and is deleted with it.
 * *@created is set to the new node's entry so that a failing parent can
 * undo it.
 */
static WdBlockNode *open_child(const BlockdevRef *ref, const Inherited *from,
                               Blockdev **created, GError **errp)
{
    if (ref->type == BLOCKDEV_REF_KIND_REFERENCE) {
        return wd_blockdev_find(ref->u.reference, errp);
    }
    WdBlockNode *child = blockdev_add(ref->u.definition, from, errp);
    if (child) {
        *created = g_hash_table_lookup(nodes, wd_block_node_name(child));
    }
    return child;
}

static WdBlockNode *blockdev_add(const BlockdevOptions *opts,
                                 const Inherited *from, GError **errp)
{
    g_autofree char *filename = NULL;
    const char *name = opts->node_name;
    Inherited mine = {
        .read_only = opts->has_read_only || !from ? opts->read_only
                                                  : from->read_only,
        .discard = opts->has_discard || !from ? opts->discard
                                              : from->discard,
    };
    bool ro = mine.read_only;
    WdBlockNode *node = NULL, *child = NULL;
    Blockdev *inline_child = NULL;

    init();
    if (name && g_hash_table_contains(nodes, name)) {
        wd_error_setg(errp, "Duplicate nodes with node-name='%s'", name);
        return NULL;
    }
    switch (opts->driver) {
    case BLOCKDEV_DRIVER_FILE:
        filename = g_strdup(opts->u.file->filename);
        node = wd_block_file_open(name, filename, ro, opts->cache &&
                                  opts->cache->direct, errp);
        break;
    case BLOCKDEV_DRIVER_MEMORY:
        filename = g_strdup("memory");
        node = wd_block_memory_new(name, opts->u.memory->size, errp);
        break;
    case BLOCKDEV_DRIVER_RAW: {
        const BlockdevOptionsRaw *r = opts->u.raw;
        child = open_child(r->file, &mine, &inline_child, errp);
        if (!child) {
            return NULL;
        }
        Blockdev *cb = g_hash_table_lookup(nodes, wd_block_node_name(child));
        filename = g_strdup(cb->filename);
        node = wd_block_raw_new(name, child, r->offset,
                                r->has_size ? r->size : 0, errp);
        break;
    }
    case BLOCKDEV_DRIVER_NBD:
        node = open_nbd(name, opts->u.nbd, ro, &filename, errp);
        break;
    default:
        wd_error_setg(errp, "unsupported block driver");
        return NULL;
    }
    if (node && g_hash_table_contains(nodes, wd_block_node_name(node))) {
        wd_error_setg(errp, "Duplicate nodes with node-name='%s'",
                      wd_block_node_name(node));
        g_clear_pointer(&node, wd_block_node_unref);
    }
    if (!node) {
        if (inline_child) {
            remove_node(inline_child);
        }
        return NULL;
    }
    name = wd_block_node_name(node);
    wd_block_set_discard_unmap(node, mine.discard ==
                                     BLOCKDEV_DISCARD_OPTIONS_UNMAP);
    Blockdev *b = g_new0(Blockdev, 1);
    b->node = node;
    b->driver = g_strdup(BlockdevDriver_str(opts->driver));
    b->filename = g_steal_pointer(&filename);
    b->users = g_ptr_array_new_with_free_func(g_free);
    if (child) {
        wd_blockdev_use(wd_block_node_name(child), name);
    }
    if (inline_child) {
        inline_child->parent = g_strdup(name);
    }
    g_hash_table_insert(nodes, (gpointer)name, b);
    g_ptr_array_add(order, b);
    return node;
}

WdBlockNode *wd_blockdev_add(const BlockdevOptions *opts, GError **errp)
{
    return blockdev_add(opts, NULL, errp);
}

WdBlockNode *wd_blockdev_add_arg(const char *arg, GError **errp)
{
    g_autoptr(json_t) tree = wd_keyval_or_json_parse(arg, "driver", NULL,
                                                     errp);
    g_autoptr(BlockdevOptions) opts = NULL;

    if (!tree || !qapi_in_BlockdevOptions(tree, NULL, arg[0] != '{', &opts,
                                          errp)) {
        return NULL;
    }
    return wd_blockdev_add(opts, errp);
}

WdBlockNode *wd_blockdev_add_image_opts(const char *arg, bool read_only,
                                        GError **errp)
{
    g_autoptr(json_t) tree = wd_keyval_or_json_parse(arg, "driver", NULL,
                                                     errp);

    bool kv = arg[0] != '{';
    g_autoptr(BlockdevOptions) opts = NULL;

    if (!tree) {
        return NULL;
    }
    if (read_only && !json_object_get(tree, "read-only")) {
        /* Inline children inherit it. */
        json_object_set_new(tree, "read-only",
                            kv ? json_string("on") : json_true());
    }
    if (!qapi_in_BlockdevOptions(tree, NULL, kv, &opts, errp)) {
        return NULL;
    }
    WdBlockNode *node = wd_blockdev_add(opts, errp);
    return node ? wd_block_node_ref(node) : NULL;
}

WdBlockNode *wd_blockdev_find(const char *node_name, GError **errp)
{
    init();
    Blockdev *b = g_hash_table_lookup(nodes, node_name);
    if (!b) {
        wd_error_setg(errp, "Cannot find device='' nor node-name='%s'",
                      node_name);
        return NULL;
    }
    return b->node;
}

void wd_blockdev_use(const char *node_name, const char *user)
{
    Blockdev *b = g_hash_table_lookup(nodes, node_name);

    g_assert(b);
    g_ptr_array_add(b->users, g_strdup(user));
}

void wd_blockdev_release(const char *node_name, const char *user)
{
    Blockdev *b = nodes ? g_hash_table_lookup(nodes, node_name) : NULL;

    for (guint i = 0; b && i < b->users->len; i++) {
        if (strcmp(g_ptr_array_index(b->users, i), user) == 0) {
            g_ptr_array_remove_index(b->users, i);
            return;
        }
    }
}

/* Removes @b, releases what it used and deletes the children it created
 * inline. */
static void remove_node(Blockdev *b)
{
    g_autofree char *name = g_strdup(wd_block_node_name(b->node));
    Blockdev *inline_child = NULL;

    for (guint i = 0; i < order->len; i++) {
        Blockdev *o = g_ptr_array_index(order, i);
        wd_blockdev_release(wd_block_node_name(o->node), name);
        if (o->parent && strcmp(o->parent, name) == 0) {
            inline_child = o;
        }
    }
    g_hash_table_remove(nodes, name);
    g_ptr_array_remove(order, b);
    blockdev_free(b);
    if (inline_child) {
        remove_node(inline_child);
    }
}

bool wd_blockdev_del(const char *node_name, GError **errp)
{
    init();
    Blockdev *b = g_hash_table_lookup(nodes, node_name);

    if (!b) {
        wd_error_setg(errp, "Failed to find node with node-name='%s'",
                      node_name);
        return false;
    }
    if (b->parent) {
        wd_error_setg(errp, "Node '%s' was created with node '%s' and is "
                      "deleted with it; delete '%s' instead", node_name,
                      b->parent, b->parent);
        return false;
    }
    if (b->users->len) {
        wd_error_setg(errp, "Node '%s' is busy: it is used by %s; remove "
                      "that first", node_name,
                      (char *)g_ptr_array_index(b->users, 0));
        return false;
    }
    remove_node(b);
    return true;
}

void wd_blockdev_delete_all(void)
{
    init();
    while (order->len) {
        remove_node(g_ptr_array_index(order, order->len - 1));
    }
}

BlockDeviceInfoList *wd_blockdev_query(void)
{
    BlockDeviceInfoList *head = NULL, **tail = &head;

    init();
    for (guint i = 0; i < order->len; i++) {
        Blockdev *b = g_ptr_array_index(order, i);
        BlockDeviceInfoList *n = g_new0(BlockDeviceInfoList, 1);
        BlockDeviceInfo *info = n->value = g_new0(BlockDeviceInfo, 1);
        info->node_name = g_strdup(wd_block_node_name(b->node));
        info->file = g_strdup(b->filename);
        info->ro = wd_block_is_read_only(b->node);
        info->drv = g_strdup(b->driver);
        info->image = g_new0(ImageInfo, 1);
        info->image->filename = g_strdup(b->filename);
        info->image->format = g_strdup(b->driver);
        info->image->virtual_size = (int64_t)wd_block_get_size(b->node);
        *tail = n;
        tail = &n->next;
    }
    return head;
}
