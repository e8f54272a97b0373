/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz the keys.psk parser of tls-creds-psk (wd_tls_psk_parse): the input
 * is a whole file. It is validated without a username, then looked up for
 * "qemu" and for the username of its first line. A key that is returned
 * must be 1..WD_TLS_PSK_MAX_KEY bytes and the decoding of hex digits that
 * are in the file; a file that validates must not fail a lookup except
 * with "not found".
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "runtime/crypto/tlscreds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Looks @user up in @buf and checks the key against the file's text. */
static void lookup(const char *buf, size_t len, const char *user,
                   bool valid)
{
    g_autoptr(GError) err = NULL;
    uint8_t *key = (uint8_t *)"";
    size_t keylen = 1;

    if (!wd_tls_psk_parse(buf, len, user, &key, &keylen, &err)) {
        g_assert(err && !key && keylen == 0);
        g_assert(!valid || strstr(err->message, "not found"));
        return;
    }
    g_assert(!err && key);
    g_assert(keylen >= 1 && keylen <= WD_TLS_PSK_MAX_KEY);
    g_autofree char *hex = g_malloc(2 * keylen + 1);
    g_autofree char *luser = g_ascii_strdown(user, -1);
    g_autofree char *lower = g_ascii_strdown(buf, len);
    g_autofree char *entry = NULL;

    for (size_t i = 0; i < keylen; i++) {
        g_snprintf(hex + 2 * i, 3, "%02x", key[i]);
    }
    entry = g_strconcat(luser, ":", hex, NULL);
    /* The matching line precedes any bad one, so the text holds it; the
     * comparison ignores case as hex digits may be upper case. */
    g_assert(g_strstr_len(lower, len, entry));
    wd_tls_psk_key_free(key, keylen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    g_autoptr(GError) err = NULL;
    uint8_t *key = (uint8_t *)"";
    size_t keylen = 1;
    bool valid = wd_tls_psk_parse(buf, size, NULL, &key, &keylen, &err);
    const char *colon = memchr(buf, ':', size);

    g_assert(!key && keylen == 0);
    g_assert(valid == !err);
    lookup(buf, size, "qemu", valid);
    if (colon && colon > buf && !memchr(buf, '\0', colon - buf) &&
        !memchr(buf, '\n', colon - buf)) {
        g_autofree char *user = g_strndup(buf, colon - buf);

        lookup(buf, size, user, valid);
    }
    return 0;
}
