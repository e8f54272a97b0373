/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DN-aware identity matching. QEMU compares the configured identity with
 * gnutls_x509_crt_get_dn()'s legacy string (C=..,O=..,CN=..) only, so an
 * identity copied from 'openssl x509 -subject' or RFC 4514 tools (CN
 * first) silently never matches; we accept both orders.
 */
#include "runtime/authz.h"

#include <glib.h>
#include <string.h>

/* Split a DN at unescaped commas, trimming blanks around components. */
static GPtrArray *dn_split(const char *dn)
{
    GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
    GString *cur = g_string_new(NULL);

    for (const char *p = dn; *p; p++) {
        if (*p == '\\' && p[1]) {
            g_string_append_c(cur, *p++);
            g_string_append_c(cur, *p);
        } else if (*p == ',') {
            g_ptr_array_add(parts, g_strstrip(g_strdup(cur->str)));
            g_string_truncate(cur, 0);
        } else {
            g_string_append_c(cur, *p);
        }
    }
    g_ptr_array_add(parts, g_strstrip(g_string_free(cur, FALSE)));
    return parts;
}

/* @dn with its components in reverse order, or NULL if it has one. */
static char *dn_reversed(const char *dn)
{
    g_autoptr(GPtrArray) parts = dn_split(dn);

    if (parts->len < 2) {
        return NULL;
    }
    GString *s = g_string_new(NULL);
    for (guint i = parts->len; i-- > 0;) {
        g_string_append(s, g_ptr_array_index(parts, i));
        if (i) {
            g_string_append_c(s, ',');
        }
    }
    return g_string_free(s, FALSE);
}

/* Canonical form: components trimmed, joined by ','. */
static char *dn_canonical(const char *dn)
{
    g_autoptr(GPtrArray) parts = dn_split(dn);

    g_ptr_array_add(parts, NULL);
    return g_strjoinv(",", (char **)parts->pdata);
}

bool wd_authz_match_exact(const char *want, const char *identity)
{
    if (strcmp(want, identity) == 0) {
        return true;
    }
    g_autofree char *w = dn_canonical(want);
    g_autofree char *id = dn_canonical(identity);
    g_autofree char *rev = dn_reversed(id);
    return strcmp(w, id) == 0 || (rev && strcmp(w, rev) == 0);
}

bool wd_authz_match_glob(const char *pattern, const char *identity)
{
    if (g_pattern_match_simple(pattern, identity)) {
        return true;
    }
    g_autofree char *id = dn_canonical(identity);
    g_autofree char *rev = dn_reversed(id);
    return g_pattern_match_simple(pattern, id) ||
           (rev && g_pattern_match_simple(pattern, rev));
}
