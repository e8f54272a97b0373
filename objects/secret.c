/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The secret object: bytes given inline, in a file, or encrypted with a
 * master-key secret. The decoded value lives only here; users get a copy
 * through wd_secret_lookup() and the value is wiped on finalize.
 */
#include "objects/objects.h"
#include "runtime/error.h"
#include "runtime/secret-util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    WdObject parent;
    uint8_t *value;
    size_t len;
} WdSecret;

/* Secrets are passwords and keys: a file this big is a mistake (say
 * file=/dev/zero), not a secret. */
#define SECRET_FILE_MAX (16 * 1024 * 1024)

/*
 * Reads @path whole, bounded by SECRET_FILE_MAX. The buffer grows by
 * copying into a new one and wiping the old, so no stale copy of the
 * secret is left in freed memory (g_file_get_contents reallocs).
 */
static bool read_secret_file(const char *path, uint8_t **in, size_t *len,
                             GError **errp)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    size_t cap = 4096, n = 0;
    uint8_t *buf;

    if (fd < 0) {
        wd_error_setg(errp, "Unable to read %s: %s", path, g_strerror(errno));
        return false;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0) {
        cap = MIN((size_t)st.st_size, (size_t)SECRET_FILE_MAX) + 1;
    }
    buf = g_malloc(cap + 1);
    for (;;) {
        ssize_t r;

        if (n == cap) {
            if (cap > SECRET_FILE_MAX) {
                wd_secret_free(buf, cap + 1);
                close(fd);
                wd_error_setg(errp, "Unable to read %s: it holds more than "
                              "%d MiB, which is no password or key; check "
                              "the file= path", path,
                              SECRET_FILE_MAX >> 20);
                return false;
            }
            uint8_t *bigger = g_malloc(2 * cap + 1);
            memcpy(bigger, buf, n);
            wd_secret_free(buf, cap + 1);
            buf = bigger;
            cap *= 2;
        }
        r = read(fd, buf + n, cap - n);
        if (r == 0) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            int e = errno;
            wd_secret_free(buf, cap + 1);
            close(fd);
            wd_error_setg(errp, "Unable to read %s: %s", path, g_strerror(e));
            return false;
        }
        n += r > 0 ? (size_t)r : 0;
    }
    close(fd);
    buf[n] = '\0';
    *in = buf;
    *len = n;
    return true;
}

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
        return read_secret_file(p->file, in, len, errp);
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
