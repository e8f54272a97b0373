/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP object commands: object-add/object-del and the qom-* family, over
 * the same object model and converters as --object.
 */
#include "monitor/qmp.h"
#include "runtime/error.h"
#include "runtime/object.h"

#include <string.h>

bool qmp_object_add(QmpSession *session, const ObjectOptions *arg,
                    GError **errp)
{
    /* The model takes the properties out of the parsed options. */
    return wd_object_create((ObjectOptions *)arg, errp) != NULL;
}

bool qmp_object_del(QmpSession *session, const q_obj_object_del_arg *arg,
                    GError **errp)
{
    return wd_object_delete(arg->id, errp);
}

static ObjectPropertyInfoList *prop_list_add(ObjectPropertyInfoList ***tail,
                                             const char *name,
                                             const char *type)
{
    ObjectPropertyInfoList *n = g_new0(ObjectPropertyInfoList, 1);

    n->value = g_new0(ObjectPropertyInfo, 1);
    n->value->name = g_strdup(name);
    n->value->type = g_strdup(type);
    **tail = n;
    *tail = &n->next;
    return n;
}

/* Resolve "/objects/ID" (or "ID" relative to /objects). */
static WdObject *resolve_path(const char *path, GError **errp)
{
    const char *id = NULL;

    if (g_str_has_prefix(path, "/objects/")) {
        id = path + strlen("/objects/");
    } else if (path[0] != '/') {
        id = path;
    }
    WdObject *obj = id ? wd_object_find(id) : NULL;
    if (!obj) {
        g_set_error(errp, WD_ERROR, WD_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", path);
    }
    return obj;
}

bool qmp_qom_list(QmpSession *session, const q_obj_qom_list_arg *arg,
                  ObjectPropertyInfoList **ret, GError **errp)
{
    ObjectPropertyInfoList *head = NULL, **tail = &head;

    if (strcmp(arg->path, "/") == 0) {
        prop_list_add(&tail, "type", "string");
        prop_list_add(&tail, "objects", "child<container>");
        *ret = head;
        return true;
    }
    if (strcmp(arg->path, "/objects") == 0 ||
        strcmp(arg->path, "/objects/") == 0) {
        GPtrArray *objs = wd_object_list();
        prop_list_add(&tail, "type", "string");
        for (guint i = 0; i < objs->len; i++) {
            WdObject *o = g_ptr_array_index(objs, i);
            g_autofree char *t = g_strdup_printf("child<%s>", o->info->name);
            prop_list_add(&tail, o->id, t);
        }
        *ret = head;
        return true;
    }
    WdObject *obj = resolve_path(arg->path, errp);
    if (!obj) {
        return false;
    }
    prop_list_add(&tail, "type", "string");
    for (size_t i = 0; i < obj->info->nmembers; i++) {
        prop_list_add(&tail, obj->info->members[i].name,
                      obj->info->members[i].type);
    }
    *ret = head;
    return true;
}

bool qmp_qom_get(QmpSession *session, const q_obj_qom_get_arg *arg,
                 json_t **ret, GError **errp)
{
    WdObject *obj = resolve_path(arg->path, errp);

    if (!obj) {
        return false;
    }
    if (strcmp(arg->property, "type") == 0) {
        *ret = json_string(obj->info->name);
        return true;
    }
    for (size_t i = 0; i < obj->info->nmembers; i++) {
        const QapiMemberInfo *m = &obj->info->members[i];
        if (strcmp(m->name, arg->property) != 0) {
            continue;
        }
        if (m->secret) {
            /* QEMU returns inline secret data here; we never do. */
            wd_error_setg(errp, "Property '%s.%s' holds secret data and "
                          "cannot be read", obj->info->name, m->name);
            return false;
        }
        g_autoptr(json_t) props = wd_object_props_json(obj);
        json_t *v = json_object_get(props, m->name);
        if (v) {
            *ret = json_incref(v);
        } else if (strcmp(m->type, "string") == 0) {
            *ret = json_string("");     /* unset strings read as "" */
        } else {
            *ret = json_null();
        }
        return true;
    }
    wd_error_setg(errp, "Property '%s.%s' not found", obj->info->name,
                  arg->property);
    return false;
}

bool qmp_qom_set(QmpSession *session, const q_obj_qom_set_arg *arg,
                 GError **errp)
{
    WdObject *obj = resolve_path(arg->path, errp);

    return obj && wd_object_set_prop(obj, arg->property, arg->value, errp);
}

bool qmp_qom_list_types(QmpSession *session,
                        const q_obj_qom_list_types_arg *arg,
                        ObjectTypeInfoList **ret, GError **errp)
{
    ObjectTypeInfoList *head = NULL, **tail = &head;

    for (size_t i = 0; i < qapi_object_ntypes; i++) {
        const QapiObjectInfo *t = &qapi_object_types[i];
        if ((t->abstract && !arg->abstract) ||
            (arg->implements &&
             !wd_object_type_is_a(t->name, arg->implements))) {
            continue;
        }
        ObjectTypeInfoList *n = g_new0(ObjectTypeInfoList, 1);
        n->value = g_new0(ObjectTypeInfo, 1);
        n->value->name = g_strdup(t->name);
        if (t->abstract) {
            n->value->has_abstract = true;
            n->value->abstract = true;
        }
        n->value->parent = g_strdup(t->parent);
        n->value->has_parent = t->parent != NULL;
        *tail = n;
        tail = &n->next;
    }
    *ret = head;
    return true;
}

bool qmp_qom_list_properties(QmpSession *session,
                             const q_obj_qom_list_properties_arg *arg,
                             ObjectPropertyInfoList **ret, GError **errp)
{
    const QapiObjectInfo *t = wd_object_type_info(arg->typename);
    ObjectPropertyInfoList *head = NULL, **tail = &head;

    if (!t) {
        wd_error_setg(errp, "Class '%s' not found", arg->typename);
        return false;
    }
    for (size_t i = 0; i < t->nmembers; i++) {
        const QapiMemberInfo *m = &t->members[i];
        ObjectPropertyInfoList *n = prop_list_add(&tail, m->name, m->type);
        n->value->description = g_strdup(m->doc);
        n->value->has_description = true;
        if (m->default_json) {
            n->value->default_value = json_loads(m->default_json,
                                                 JSON_DECODE_ANY, NULL);
            n->value->has_default_value = true;
        }
    }
    *ret = head;
    return true;
}
