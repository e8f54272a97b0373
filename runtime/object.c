/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The object model: type registry, the /objects registry of instances,
 * references between objects, and the one creation path shared by
 * --object and QMP object-add.
 */
#include "runtime/object.h"
#include "runtime/error.h"
#include "runtime/qapi-util.h"
#include "runtime/crypto/tlscreds.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* Main-thread only: types and objects are created and deleted from the
 * main loop; I/O threads only ever see objects through references. */
static GHashTable *classes;       /* name -> const WdObjectClass* */
static GHashTable *objects;       /* id -> WdObject* */
static GPtrArray *object_order;   /* WdObject*, creation order */

void wd_object_register_class(const WdObjectClass *klass)
{
    if (!classes) {
        classes = g_hash_table_new(g_str_hash, g_str_equal);
    }
    g_assert(klass->name && klass->complete);
    g_assert(klass->instance_size >= sizeof(WdObject));
    g_assert(wd_object_type_info(klass->name) != NULL);
    g_assert(!g_hash_table_contains(classes, klass->name));
    g_hash_table_insert(classes, (gpointer)klass->name, (gpointer)klass);
}

const QapiObjectInfo *wd_object_type_info(const char *name)
{
    for (size_t i = 0; i < qapi_object_ntypes; i++) {
        if (strcmp(qapi_object_types[i].name, name) == 0) {
            return &qapi_object_types[i];
        }
    }
    return NULL;
}

bool wd_object_type_is_a(const char *name, const char *ancestor)
{
    /* Depth-bounded walk up the parent chain. */
    for (int depth = 0; name && depth < 16; depth++) {
        if (strcmp(name, ancestor) == 0) {
            return true;
        }
        const QapiObjectInfo *info = wd_object_type_info(name);
        name = info ? info->parent : NULL;
    }
    return false;
}

bool wd_object_id_wellformed(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id + 1; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

static void registry_init(void)
{
    if (!objects) {
        objects = g_hash_table_new(g_str_hash, g_str_equal);
        object_order = g_ptr_array_new();
    }
}

WdObject *wd_object_find(const char *id)
{
    registry_init();
    return g_hash_table_lookup(objects, id);
}

GPtrArray *wd_object_list(void)
{
    registry_init();
    return object_order;
}

WdObject *wd_object_ref(WdObject *obj)
{
    g_atomic_int_inc(&obj->refcount);
    return obj;
}

static void release_uses(WdObject *obj)
{
    if (!obj->uses) {
        return;
    }
    for (guint i = 0; i < obj->uses->len; i++) {
        WdObject *used = g_ptr_array_index(obj->uses, i);
        wd_object_release(used, obj->id);
        wd_object_unref(used);
    }
    g_ptr_array_set_size(obj->uses, 0);
}

void wd_object_unref(WdObject *obj)
{
    if (!obj || !g_atomic_int_dec_and_test(&obj->refcount)) {
        return;
    }
    g_assert(!obj->registered);
    if (obj->klass->finalize) {
        obj->klass->finalize(obj);
    }
    release_uses(obj);
    g_clear_pointer(&obj->uses, g_ptr_array_unref);
    g_clear_pointer(&obj->holders, g_ptr_array_unref);
    if (obj->props) {
        obj->info->props_free(obj->props);
    }
    g_free(obj->id);
    g_free(obj);
}

WdObject *wd_object_create(ObjectOptions *o, GError **errp)
{
    const char *type = ObjectType_str(o->qom_type);

    if (!wd_object_id_wellformed(o->id)) {
        wd_error_setg(errp, "Parameter 'id' expects an identifier: "
                      "identifiers consist of letters, digits, '-', '.', "
                      "'_', starting with a letter");
        return NULL;
    }
    const WdObjectClass *klass =
        classes ? g_hash_table_lookup(classes, type) : NULL;
    if (!klass) {
        wd_error_setg(errp, "invalid object type: %s", type);
        return NULL;
    }
    if (wd_object_find(o->id)) {
        wd_error_setg(errp, "an object with id '%s' already exists; "
                      "choose another id or delete it first", o->id);
        return NULL;
    }

    WdObject *obj = g_malloc0(klass->instance_size);
    obj->klass = klass;
    obj->info = wd_object_type_info(type);
    obj->id = g_strdup(o->id);
    obj->refcount = 1;
    obj->uses = g_ptr_array_new();
    obj->holders = g_ptr_array_new_with_free_func(g_free);
    obj->props = g_steal_pointer(&o->u.data);

    if (!klass->complete(obj, errp)) {
        wd_object_unref(obj);     /* finalize + free: nothing registered */
        return NULL;
    }
    obj->registered = true;
    g_hash_table_insert(objects, obj->id, obj);
    g_ptr_array_add(object_order, obj);
    return obj;
}

WdObject *wd_object_add_tree(json_t *tree, bool kv, GError **errp)
{
    g_autoptr(ObjectOptions) opts = NULL;

    if (!qapi_in_ObjectOptions(tree, NULL, kv, &opts, errp)) {
        return NULL;
    }
    return wd_object_create(opts, errp);
}

/* Names of the objects and services that use @obj, or NULL if none. */
static char *describe_users(WdObject *obj)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (guint i = 0; i < obj->holders->len; i++) {
        const char *h = g_ptr_array_index(obj->holders, i);
        g_autofree char *quoted = g_strdup_printf("'%s'", h);
        /* one entry per distinct holder */
        if (!strstr(s->str, quoted)) {
            g_string_append_printf(s, "%s%s", s->len ? ", " : "", quoted);
        }
    }
    return s->len ? g_string_free(g_steal_pointer(&s), FALSE) : NULL;
}

static void unregister(WdObject *obj)
{
    g_hash_table_remove(objects, obj->id);
    g_ptr_array_remove(object_order, obj);
    obj->registered = false;
    release_uses(obj);
}

bool wd_object_delete(const char *id, GError **errp)
{
    WdObject *obj = wd_object_find(id);

    if (!obj) {
        wd_error_setg(errp, "object '%s' not found", id);
        return false;
    }
    g_autofree char *users = describe_users(obj);
    if (users) {
        wd_error_setg(errp, "object '%s' is in use by %s and cannot be "
                      "deleted; delete the user first", id, users);
        return false;
    }
    unregister(obj);
    wd_object_unref(obj);
    return true;
}

void wd_object_delete_all(void)
{
    registry_init();
    /* Newest first: users are always newer than what they use. */
    while (object_order->len) {
        WdObject *obj = g_ptr_array_index(object_order,
                                          object_order->len - 1);
        unregister(obj);
        wd_object_unref(obj);
    }
}

WdObject *wd_object_use(WdObject *user, const char *prop, const char *id,
                        const char *type, GError **errp)
{
    if (user && strcmp(user->id, id) == 0) {
        wd_error_setg(errp, "%s '%s' refers to itself in '%s': a reference "
                      "cycle; name another object", user->info->name,
                      user->id, prop);
        return NULL;
    }
    WdObject *obj = wd_object_find(id);
    if (!obj) {
        wd_error_setg(errp, "%s: no object with id '%s'; create it "
                      "before the objects that use it", prop, id);
        return NULL;
    }
    if (!wd_object_type_is_a(obj->info->name, type)) {
        wd_error_setg(errp, "%s: '%s' is not a %s (it is a %s)", prop, id,
                      type, obj->info->name);
        return NULL;
    }
    if (user) {
        wd_object_hold(obj, user->id);
        g_ptr_array_add(user->uses, wd_object_ref(obj));
    }
    return obj;
}

void wd_object_hold(WdObject *obj, const char *holder)
{
    g_ptr_array_add(obj->holders, g_strdup(holder));
}

void wd_object_release(WdObject *obj, const char *holder)
{
    for (guint i = 0; i < obj->holders->len; i++) {
        if (strcmp(g_ptr_array_index(obj->holders, i), holder) == 0) {
            g_ptr_array_remove_index(obj->holders, i);
            return;
        }
    }
}

bool wd_secret_lookup(WdObject *user, const char *prop, const char *id,
                      uint8_t **data, size_t *len, GError **errp)
{
    WdObject *obj = wd_object_use(user, prop, id, "secret", errp);

    if (!obj) {
        return false;
    }
    g_assert(obj->klass->get_secret);
    return obj->klass->get_secret(obj, data, len, errp);
}

char *wd_secret_lookup_utf8(WdObject *user, const char *prop,
                            const char *id, GError **errp)
{
    uint8_t *data = NULL;
    size_t len = 0;

    if (!wd_secret_lookup(user, prop, id, &data, &len, errp)) {
        return NULL;
    }
    if (!g_utf8_validate((const char *)data, len, NULL) ||
        memchr(data, 0, len)) {
        wd_secret_free(data, len);
        wd_error_setg(errp, "Data from secret %s is not valid UTF-8", id);
        return NULL;
    }
    char *s = g_malloc(len + 1);
    memcpy(s, data, len);
    s[len] = '\0';
    wd_secret_free(data, len);
    return s;
}

void wd_secret_free(uint8_t *data, size_t len)
{
    if (data) {
        explicit_bzero(data, len);
        g_free(data);
    }
}

static void json_wipe_free(void *p)
{
    if (p) {
        explicit_bzero(p, malloc_usable_size(p));
        free(p);
    }
}

void wd_secret_wipe_json_memory(void)
{
    json_set_alloc_funcs(malloc, json_wipe_free);
}

bool wd_authz_check(const char *id, const char *identity, GError **errp)
{
    WdObject *obj = wd_object_use(NULL, "tls-authz", id, "authz", errp);

    if (!obj) {
        return false;
    }
    return obj->klass->is_allowed(obj, identity, errp);
}

struct WdTlsCreds *wd_tls_creds_lookup(WdObject *user, const char *prop,
                                       const char *id, bool server,
                                       GError **errp)
{
    WdObject *obj = wd_object_use(user, prop, id, "tls-creds", errp);

    if (!obj) {
        return NULL;
    }
    WdTlsCreds *creds = obj->klass->get_tls_creds(obj);
    bool is_server = wd_tls_creds_get_endpoint(creds) ==
                     WD_TLS_ENDPOINT_SERVER;
    if (is_server != server) {
        wd_error_setg(errp, "%s: TLS credentials '%s' are for a %s, but "
                      "this side is a %s: create them with endpoint=%s",
                      prop, id, is_server ? "server" : "client",
                      server ? "server" : "client",
                      server ? "server" : "client");
        return NULL;
    }
    return wd_tls_creds_ref(creds);
}

json_t *wd_object_props_json(WdObject *obj)
{
    return obj->info->props_out(obj->props, false);
}

bool wd_object_set_prop(WdObject *obj, const char *name, json_t *value,
                        GError **errp)
{
    const QapiMemberInfo *m = NULL;

    for (size_t i = 0; i < obj->info->nmembers; i++) {
        if (strcmp(obj->info->members[i].name, name) == 0) {
            m = &obj->info->members[i];
        }
    }
    if (!m) {
        wd_error_setg(errp, "Property '%s.%s' not found", obj->info->name,
                      name);
        return false;
    }
    if (!m->is_mutable || !obj->klass->update) {
        wd_error_setg(errp, "Property '%s.%s' cannot be changed after the "
                      "object is created; delete and re-create the object",
                      obj->info->name, name);
        return false;
    }
    /* Re-validate the whole property set through the generated converter
     * so a changed value gets exactly the checks a new object gets. */
    g_autoptr(json_t) all = obj->info->props_out(obj->props, true);
    json_object_set(all, name, value);
    void *props = NULL;
    if (!obj->info->props_in(all, false, &props, errp)) {
        return false;
    }
    if (!obj->klass->update(obj, props, errp)) {
        obj->info->props_free(props);
        return false;
    }
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void wd_object_print_help(const char *type, FILE *out)
{
    const QapiObjectInfo *info = type ? wd_object_type_info(type) : NULL;

    if (!info || info->abstract) {
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        fprintf(out, "List of user creatable objects:\n");
        for (size_t i = 0; i < qapi_object_ntypes; i++) {
            if (!qapi_object_types[i].abstract) {
                g_ptr_array_add(names, (gpointer)qapi_object_types[i].name);
            }
        }
        g_ptr_array_sort(names, cmp_str);
        for (guint i = 0; i < names->len; i++) {
            fprintf(out, "  %s\n", (char *)g_ptr_array_index(names, i));
        }
        return;
    }
    fprintf(out, "%s options:\n", info->name);
    fprintf(out, "  id=<string> - the object id (required)\n");
    for (size_t i = 0; i < info->nmembers; i++) {
        const QapiMemberInfo *m = &info->members[i];
        fprintf(out, "  %s=<%s> - %s", m->name, m->type, m->doc);
        if (!m->optional) {
            fprintf(out, " (required)");
        } else if (m->default_json) {
            fprintf(out, " (default: %s)", m->default_json);
        }
        fprintf(out, "\n");
    }
}
