/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The object model: a registry of user-creatable types keyed by their
 * user-visible name, and the /objects tree of instances keyed by id.
 *
 * Lifecycle (main thread only):
 *
 *   options (JSON or keyval) --generated converter--> ObjectOptions
 *     --> wd_object_create(): id check, type lookup, duplicate check
 *     --> class->complete(obj) with obj->props filled in
 *           ok:   registered under /objects/<id>
 *           fail: class->finalize(obj), freed, nothing registered
 *   object-del --> refused while another object or a service uses it
 *     --> unregistered; freed when the last reference goes
 *
 * Objects refer to each other by id through wd_object_use(), which
 * resolves and type-checks the id and records the use, so deleting a
 * used object fails with a message naming the user.
 */
#ifndef WARDEN_OBJECT_H
#define WARDEN_OBJECT_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "qapi-types.h"

typedef struct WdObject WdObject;

/*
 * A user-creatable type. @name must be declared by an "object" entity in
 * the schema, whose generated converter fills obj->props before
 * complete() runs. Mandatory: name, instance_size, complete. Optional:
 * finalize (release what complete() acquired; also called after a failed
 * complete()), update (qom-set of a mutable property: on success it owns
 * @new_props and replaces obj->props with it, under whatever lock guards
 * readers in other threads), get_secret (this type holds
 * secret bytes: return a copy the caller wipes and frees).
 */
typedef struct WdObjectClass {
    const char *name;
    size_t instance_size;
    bool (*complete)(WdObject *obj, GError **errp);
    void (*finalize)(WdObject *obj);
    bool (*update)(WdObject *obj, void *new_props, GError **errp);
    bool (*get_secret)(WdObject *obj, uint8_t **data, size_t *len,
                       GError **errp);
    /* authz types: may @identity (x509 DN or PSK username) connect? */
    bool (*is_allowed)(WdObject *obj, const char *identity, GError **errp);
    /* tls-creds types: the loaded credentials (borrowed). */
    struct WdTlsCreds *(*get_tls_creds)(WdObject *obj);
} WdObjectClass;

struct WdObject {
    const WdObjectClass *klass;
    const QapiObjectInfo *info;
    char *id;
    void *props;            /* the generated *Properties struct */
    gint refcount;
    GPtrArray *uses;        /* WdObject* this object uses (refs held) */
    GPtrArray *holders;     /* char*: names of services holding it */
    bool registered;
};

/* Register a class (at startup). A duplicate or a name missing from the
 * schema is a programming error. */
void wd_object_register_class(const WdObjectClass *klass);
/* The schema entry for a type name, or NULL. */
const QapiObjectInfo *wd_object_type_info(const char *name);
/* True if type @name is @ancestor or derives from it. */
bool wd_object_type_is_a(const char *name, const char *ancestor);

/* QEMU's id rule: a letter, then letters, digits, '-', '.', '_'. */
bool wd_object_id_wellformed(const char *id);

/*
 * Create an object from options given as JSON (@kv false: QMP object-add,
 * --object '{...}') or as a keyval tree (@kv true). @tree holds qom-type,
 * id and the properties. Returns a borrowed pointer to the registered
 * object, or NULL with @errp set and nothing registered.
 */
WdObject *wd_object_add_tree(json_t *tree, bool kv, GError **errp);
/* The same from parsed options; takes the properties (opts->u.data)
 * out of @opts, which the caller still frees. */
WdObject *wd_object_create(ObjectOptions *opts, GError **errp);

/* object-del: fails if unknown or in use. */
bool wd_object_delete(const char *id, GError **errp);
/* Delete every object, newest first (shutdown). */
void wd_object_delete_all(void);

WdObject *wd_object_find(const char *id);
/* Registered objects in creation order (borrowed). */
GPtrArray *wd_object_list(void);

WdObject *wd_object_ref(WdObject *obj);
void wd_object_unref(WdObject *obj);

/*
 * Resolve @id as used by @user (whose property @prop names it), check it
 * is a @type, and record the use. Errors: "no object with id 'x'",
 * "'x' is not a secret". Returns a borrowed pointer (valid while @user
 * lives), or NULL.
 */
WdObject *wd_object_use(WdObject *user, const char *prop, const char *id,
                        const char *type, GError **errp);

/* A service (listener, connection, export) holds @obj; deletion is
 * refused while held, naming @holder. */
void wd_object_hold(WdObject *obj, const char *holder);
void wd_object_release(WdObject *obj, const char *holder);

/*
 * The bytes of secret @id, as a copy the caller must wipe and free with
 * wd_secret_free(). @user may be NULL (no use recorded).
 */
bool wd_secret_lookup(WdObject *user, const char *prop, const char *id,
                      uint8_t **data, size_t *len, GError **errp);
/* The same, checked to be valid UTF-8 without NUL bytes. */
char *wd_secret_lookup_utf8(WdObject *user, const char *prop,
                            const char *id, GError **errp);
void wd_secret_free(uint8_t *data, size_t len);

/*
 * Make jansson wipe every block it frees: QMP commands (object-add of a
 * secret) pass through its lexer buffers and string values. Call once,
 * first thing in main(); safe at any time (malloc-compatible).
 */
void wd_secret_wipe_json_memory(void);

/*
 * Ask authz object @id whether @identity may connect. False with @errp
 * set names the reason (denied, or a bad authz id).
 */
bool wd_authz_check(const char *id, const char *identity, GError **errp);

/*
 * The TLS credentials of tls-creds object @id as used by @user (may be
 * NULL), checked for @endpoint ("server"/"client" mismatch is an error).
 * Returns a new reference, or NULL.
 */
struct WdTlsCreds *wd_tls_creds_lookup(WdObject *user, const char *prop,
                                       const char *id, bool server,
                                       GError **errp);

/* Properties as JSON without secret members (new reference). */
json_t *wd_object_props_json(WdObject *obj);
/* qom-set: replace one mutable property. */
bool wd_object_set_prop(WdObject *obj, const char *name, json_t *value,
                        GError **errp);

/* Print the list of types, or one type's properties (for --object help). */
void wd_object_print_help(const char *type, FILE *out);

#endif
