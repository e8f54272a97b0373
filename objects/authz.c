/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authz-simple, authz-list and authz-listfile: the answer to "may this
 * TLS identity connect?". Called from I/O threads, so the mutable state
 * (listfile contents, qom-set updates) is guarded.
 */
#include "objects/objects.h"
#include "runtime/authz.h"
#include "runtime/error.h"
#include "runtime/log.h"
#include "runtime/qapi-util.h"

#include <sys/stat.h>

static GMutex authz_lock;   /* guards props swaps and listfile reloads */

static bool simple_complete(WdObject *obj, GError **errp)
{
    return true;
}

static bool simple_allowed(WdObject *obj, const char *identity,
                           GError **errp)
{
    g_autoptr(GMutexLocker) l = g_mutex_locker_new(&authz_lock);
    const AuthZSimpleProperties *p = obj->props;

    if (wd_authz_match_exact(p->identity, identity)) {
        return true;
    }
    wd_error_setg(errp, "identity '%s' is not allowed by authz-simple "
                  "'%s'", identity, obj->id);
    return false;
}

/* qom-set: swap in the re-validated properties under the lock that
 * readers in I/O threads take. */
static bool update_locked(WdObject *obj, void *new_props, GError **errp)
{
    void *old;

    g_mutex_lock(&authz_lock);
    old = obj->props;
    obj->props = new_props;
    g_mutex_unlock(&authz_lock);
    obj->info->props_free(old);
    return true;
}

/* Evaluate rules in order; the first match decides. */
static bool list_eval(const char *what, const char *id,
                      const AuthZListProperties *p, const char *identity,
                      GError **errp)
{
    for (const QAuthZListRuleList *r = p->rules; r; r = r->next) {
        const QAuthZListRule *rule = r->value;
        bool hit = rule->format == QAUTH_ZLIST_FORMAT_GLOB
                   ? wd_authz_match_glob(rule->match, identity)
                   : wd_authz_match_exact(rule->match, identity);
        if (hit) {
            if (rule->policy == QAUTH_ZLIST_POLICY_ALLOW) {
                return true;
            }
            wd_error_setg(errp, "identity '%s' is denied by rule '%s' of "
                          "%s '%s'", identity, rule->match, what, id);
            return false;
        }
    }
    if (p->policy == QAUTH_ZLIST_POLICY_ALLOW) {
        return true;
    }
    wd_error_setg(errp, "identity '%s' matches no rule of %s '%s' and its "
                  "default policy is deny", identity, what, id);
    return false;
}

static bool list_allowed(WdObject *obj, const char *identity, GError **errp)
{
    g_autoptr(GMutexLocker) l = g_mutex_locker_new(&authz_lock);

    return list_eval("authz-list", obj->id, obj->props, identity, errp);
}

typedef struct {
    WdObject parent;
    AuthZListProperties *rules;   /* NULL after a failed reload: deny */
    struct stat st;               /* of the loaded file */
} WdAuthzListFile;

static AuthZListProperties *listfile_load(const char *filename,
                                          struct stat *st, GError **errp)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *text = NULL;
    json_error_t jerr;

    if (stat(filename, st) < 0 ||
        !g_file_get_contents(filename, &text, NULL, &err)) {
        wd_error_setg(errp, "Unable to read '%s': %s", filename,
                      err ? err->message : g_strerror(errno));
        return NULL;
    }
    g_autoptr(json_t) tree = json_loads(text, 0, &jerr);
    if (!tree || !json_is_object(tree)) {
        wd_error_setg(errp, "File '%s' must contain a JSON object with "
                      "'policy' and 'rules' (as authz-list takes)%s%s",
                      filename, tree ? "" : ": ", tree ? "" : jerr.text);
        return NULL;
    }
    AuthZListProperties *p = NULL;
    if (!qapi_in_AuthZListProperties(tree, NULL, false, &p, errp)) {
        g_prefix_error(errp, "File '%s': ", filename);
        return NULL;
    }
    return p;
}

static bool listfile_complete(WdObject *obj, GError **errp)
{
    WdAuthzListFile *f = (WdAuthzListFile *)obj;
    const AuthZListFileProperties *p = obj->props;

    f->rules = listfile_load(p->filename, &f->st, errp);
    return f->rules != NULL;
}

static void listfile_refresh(WdAuthzListFile *f,
                             const AuthZListFileProperties *p)
{
    struct stat st;

    if (stat(p->filename, &st) == 0 && st.st_mtim.tv_sec ==
        f->st.st_mtim.tv_sec && st.st_mtim.tv_nsec == f->st.st_mtim.tv_nsec
        && st.st_size == f->st.st_size && st.st_ino == f->st.st_ino &&
        f->rules) {
        return;
    }
    g_autoptr(GError) err = NULL;
    qapi_free_AuthZListProperties(f->rules);
    f->rules = listfile_load(p->filename, &f->st, &err);
    if (!f->rules) {
        /* QEMU's rule: all authorizations fail until the next good load */
        wd_warn("authz-listfile '%s': reload failed, denying everyone "
                "until the file is fixed: %s", f->parent.id, err->message);
    } else {
        wd_info("authz-listfile '%s': reloaded %s", f->parent.id,
                p->filename);
    }
}

static bool listfile_allowed(WdObject *obj, const char *identity,
                             GError **errp)
{
    g_autoptr(GMutexLocker) l = g_mutex_locker_new(&authz_lock);
    WdAuthzListFile *f = (WdAuthzListFile *)obj;
    const AuthZListFileProperties *p = obj->props;

    if (p->refresh) {
        listfile_refresh(f, p);
    }
    if (!f->rules) {
        wd_error_setg(errp, "authz-listfile '%s': '%s' could not be "
                      "loaded, so every identity is denied", obj->id,
                      p->filename);
        return false;
    }
    return list_eval("authz-listfile", obj->id, f->rules, identity, errp);
}

static void listfile_finalize(WdObject *obj)
{
    WdAuthzListFile *f = (WdAuthzListFile *)obj;

    qapi_free_AuthZListProperties(f->rules);
}

const WdObjectClass wd_authz_simple_class = {
    .name = "authz-simple",
    .instance_size = sizeof(WdObject),
    .complete = simple_complete,
    .update = update_locked,
    .is_allowed = simple_allowed,
};

const WdObjectClass wd_authz_list_class = {
    .name = "authz-list",
    .instance_size = sizeof(WdObject),
    .complete = simple_complete,
    .update = update_locked,
    .is_allowed = list_allowed,
};

const WdObjectClass wd_authz_listfile_class = {
    .name = "authz-listfile",
    .instance_size = sizeof(WdAuthzListFile),
    .complete = listfile_complete,
    .finalize = listfile_finalize,
    .is_allowed = listfile_allowed,
};
