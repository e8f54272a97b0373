/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The secret object: bytes given inline, in a file, or encrypted with a
 * master-key secret. The decoded value lives only here; users get a copy
 * through wd_secret_lookup() and the value is wiped on finalize.
 */
#include "objects/objects.h"
#include "runtime/error.h"
#include "runtime/secret-util.h"

#include <string.h>

typedef struct {
    WdObject parent;
    uint8_t *value;
    size_t len;
} WdSecret;

static bool read_input(const SecretProperties *p, uint8_t **in, size_t *len,
                       GError **errp)
{
    if (p->data && p->file) {
        wd_error_setg(errp, "'file' and 'data' are mutually exclusive");
        return false;
    }
    if (p->data) {
        *len = strlen(p->data);
        *in = g_memdup2(p->data, *len + 1);
        return true;
    }
    if (p->file) {
        g_autoptr(GError) err = NULL;
        gchar *buf = NULL;
        gsize n = 0;

        if (!g_file_get_contents(p->file, &buf, &n, &err)) {
            wd_error_setg(errp, "Unable to read %s: %s", p->file,
                          err->message);
            return false;
        }
        *in = (uint8_t *)buf;
        *len = n;
        return true;
    }
    wd_error_setg(errp, "Either 'file' or 'data' must be provided");
    return false;
}

static bool secret_complete(WdObject *obj, GError **errp)
{
    WdSecret *s = (WdSecret *)obj;
    const SecretProperties *p = obj->props;
    uint8_t *in = NULL, *key = NULL;
    size_t inlen = 0, keylen = 0;
    bool ok = false;

    if (!read_input(p, &in, &inlen, errp)) {
        return false;
    }
    if (p->keyid) {
        if (!wd_secret_lookup(obj, "keyid", p->keyid, &key, &keylen,
                              errp)) {
            goto out;
        }
        if (keylen != 32) {
            wd_error_setg(errp, "Key should be 32 bytes in length: secret "
                          "'%s' (keyid) holds %zu bytes; create the master "
                          "key from 'openssl rand -base64 32' with "
                          "format=base64", p->keyid, keylen);
            goto out;
        }
    }
    ok = wd_secret_decode(in, inlen, p->format == QCRYPTO_SECRET_FORMAT_BASE64,
                          key, keylen, p->keyid ? p->iv : NULL, &s->value,
                          &s->len, errp);
out:
    wd_secret_free(in, inlen);
    wd_secret_free(key, keylen);
    return ok;
}

static bool secret_get(WdObject *obj, uint8_t **data, size_t *len,
                       GError **errp)
{
    WdSecret *s = (WdSecret *)obj;

    /* One spare NUL byte so callers may treat text secrets as strings. */
    *data = g_malloc0(s->len + 1);
    memcpy(*data, s->value, s->len);
    *len = s->len;
    return true;
}

static void secret_finalize(WdObject *obj)
{
    WdSecret *s = (WdSecret *)obj;

    wd_secret_free(s->value, s->len);
    s->value = NULL;
}

const WdObjectClass wd_secret_class = {
    .name = "secret",
    .instance_size = sizeof(WdSecret),
    .complete = secret_complete,
    .finalize = secret_finalize,
    .get_secret = secret_get,
};
