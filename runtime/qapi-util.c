/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scalar converters for the generated schema code, shared by the JSON and
 * keyval paths. The message texts are QEMU's (qapi/qobject-input-visitor.c)
 * so scripts written for QEMU see the same errors.
 */
#include "runtime/qapi-util.h"
#include "runtime/error.h"

#include <errno.h>
#include <math.h>
#include <string.h>

char *qapi_path(const char *prefix, const char *name)
{
    return prefix ? g_strdup_printf("%s.%s", prefix, name) : g_strdup(name);
}

char *qapi_path_index(const char *prefix, size_t i, bool kv)
{
    if (kv) {
        return g_strdup_printf("%s.%zu", prefix ? prefix : "", i);
    }
    return g_strdup_printf("%s[%zu]", prefix ? prefix : "", i);
}

void qapi_error_missing(GError **errp, const char *name)
{
    wd_error_setg(errp, "Parameter '%s' is missing", name);
}

static bool type_error(json_t *v, const char *name, bool kv,
                       const char *expected, GError **errp)
{
    if (kv && json_is_object(v)) {
        wd_error_setg(errp, "Parameters '%s.*' are unexpected",
                      name ? name : "");
        return false;
    }
    wd_error_setg(errp, "Invalid parameter type for '%s', expected: %s",
                  name ? name : "null", expected);
    return false;
}

bool qapi_in_str(json_t *v, const char *name, bool kv, char **out,
                 GError **errp)
{
    if (!json_is_string(v)) {
        return type_error(v, name, kv, "string", errp);
    }
    g_free(*out);
    *out = g_strndup(json_string_value(v), json_string_length(v));
    return true;
}

bool qapi_in_bool(json_t *v, const char *name, bool kv, bool *out,
                  GError **errp)
{
    if (kv && json_is_string(v)) {
        static const char *const yes[] = {"on", "yes", "true", "y", NULL};
        static const char *const no[] = {"off", "no", "false", "n", NULL};
        const char *s = json_string_value(v);

        if (g_strv_contains(yes, s)) {
            *out = true;
            return true;
        }
        if (g_strv_contains(no, s)) {
            *out = false;
            return true;
        }
        wd_error_setg(errp, "Parameter '%s' expects 'on' or 'off'", name);
        return false;
    }
    if (!json_is_boolean(v)) {
        return type_error(v, name, kv, "boolean", errp);
    }
    *out = json_is_true(v);
    return true;
}

/* Parse a keyval integer: decimal, 0x hex or leading-0 octal (base 0). */
static bool kv_parse_int(const char *s, bool is_signed, int64_t *sv,
                         uint64_t *uv)
{
    char *end = NULL;

    if (!*s || g_ascii_isspace(*s)) {
        return false;
    }
    errno = 0;
    if (is_signed) {
        *sv = strtoll(s, &end, 0);
    } else {
        if (*s == '-') {
            return false;
        }
        *uv = strtoull(s, &end, 0);
    }
    return errno == 0 && end && *end == '\0';
}

bool qapi_in_int(json_t *v, const char *name, bool kv, int64_t min,
                 int64_t max, const char *tname, int64_t *out, GError **errp)
{
    int64_t val;

    if (kv && json_is_string(v)) {
        if (!kv_parse_int(json_string_value(v), true, &val, NULL)) {
            wd_error_setg(errp, "Parameter '%s' expects integer", name);
            return false;
        }
    } else if (json_is_integer(v)) {
        val = json_integer_value(v);
    } else {
        return type_error(v, name, kv, "integer", errp);
    }
    if (val < min || val > max) {
        wd_error_setg(errp, "Parameter '%s' expects %s", name, tname);
        return false;
    }
    *out = val;
    return true;
}

bool qapi_in_uint(json_t *v, const char *name, bool kv, uint64_t max,
                  const char *tname, uint64_t *out, GError **errp)
{
    uint64_t val;

    if (kv && json_is_string(v)) {
        if (!kv_parse_int(json_string_value(v), false, NULL, &val)) {
            wd_error_setg(errp, "Parameter '%s' expects integer", name);
            return false;
        }
    } else if (json_is_integer(v)) {
        if (json_integer_value(v) < 0) {
            wd_error_setg(errp, "Parameter '%s' expects %s", name, tname);
            return false;
        }
        val = (uint64_t)json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) >= 0x1p63 &&
               json_real_value(v) < 0x1p64 &&
               json_real_value(v) == floor(json_real_value(v))) {
        /* jansson keeps integers above INT64_MAX as reals */
        val = (uint64_t)json_real_value(v);
    } else {
        return type_error(v, name, kv, "integer", errp);
    }
    if (val > max) {
        wd_error_setg(errp, "Parameter '%s' expects %s", name, tname);
        return false;
    }
    *out = val;
    return true;
}

bool qapi_parse_size(const char *s, uint64_t *out)
{
    static const char suffixes[] = "kmgtpe";
    char *end = NULL;
    double mult = 1;

    if (!*s || *s == '-' || g_ascii_isspace(*s)) {
        return false;
    }
    errno = 0;
    /* Integers exactly; fractions only together with a suffix (1.5G). */
    uint64_t ival = strtoull(s, &end, 10);
    if (errno) {
        return false;
    }
    if (*end == '\0') {
        *out = ival;
        return true;
    }
    double dval = g_ascii_strtod(s, &end);
    if (end == s || !*end || end[1] != '\0') {
        return false;
    }
    const char *p = strchr(suffixes, g_ascii_tolower(*end));
    if (!p) {
        return *end == 'b' || *end == 'B' ? (*out = ival, end[1] == '\0')
                                          : false;
    }
    for (const char *q = suffixes; q <= p; q++) {
        mult *= 1024;
    }
    dval *= mult;
    if (dval < 0 || dval >= 0x1p64) {
        return false;
    }
    *out = (uint64_t)dval;
    return true;
}

bool qapi_in_size(json_t *v, const char *name, bool kv, uint64_t *out,
                  GError **errp)
{
    if (kv && json_is_string(v)) {
        if (!qapi_parse_size(json_string_value(v), out)) {
            wd_error_setg(errp, "Parameter '%s' expects a size value: a "
                          "number with an optional suffix k, M, G, T, P "
                          "or E (powers of 1024)", name);
            return false;
        }
        return true;
    }
    return qapi_in_uint(v, name, kv, UINT64_MAX, "size", out, errp);
}

bool qapi_in_number(json_t *v, const char *name, bool kv, double *out,
                    GError **errp)
{
    if (kv && json_is_string(v)) {
        char *end = NULL;
        const char *s = json_string_value(v);
        double d = g_ascii_strtod(s, &end);

        if (end == s || *end || !isfinite(d)) {
            wd_error_setg(errp, "Parameter '%s' expects a number", name);
            return false;
        }
        *out = d;
        return true;
    }
    if (!json_is_number(v)) {
        return type_error(v, name, kv, "number", errp);
    }
    *out = json_number_value(v);
    return true;
}

bool qapi_in_any(json_t *v, const char *name, bool kv, json_t **out,
                 GError **errp)
{
    json_decref(*out);
    *out = json_incref(v);
    return true;
}

bool qapi_in_enum(json_t *v, const char *name, bool kv,
                  const char *const *lookup, int n, int *out, GError **errp)
{
    if (!json_is_string(v)) {
        return type_error(v, name, kv, "string", errp);
    }
    const char *s = json_string_value(v);
    for (int i = 0; i < n; i++) {
        if (strcmp(lookup[i], s) == 0) {
            *out = i;
            return true;
        }
    }
    wd_error_setg(errp, "Parameter '%s' does not accept value '%s'",
                  name ? name : "null", s);
    return false;
}

bool qapi_in_object_check(json_t *v, const char *name, GError **errp)
{
    if (!json_is_object(v)) {
        wd_error_setg(errp, "Invalid parameter type for '%s', expected: "
                      "object", name ? name : "null");
        return false;
    }
    return true;
}

json_t *qapi_list_items(json_t *v, const char *name, bool kv, size_t *n,
                        GError **errp)
{
    if (json_is_array(v)) {
        *n = json_array_size(v);
        return json_incref(v);
    }
    if (!kv || !json_is_object(v)) {
        wd_error_setg(errp, "Invalid parameter type for '%s', expected: "
                      "array", name ? name : "null");
        return NULL;
    }
    size_t count = json_object_size(v);
    g_autoptr(json_t) arr = json_array();
    for (size_t i = 0; i < count; i++) {
        char key[32];

        snprintf(key, sizeof(key), "%zu", i);
        json_t *item = json_object_get(v, key);
        if (!item) {
            wd_error_setg(errp, "Parameter '%s.%zu' missing", name, i);
            return NULL;
        }
        json_array_append(arr, item);
    }
    *n = count;
    return g_steal_pointer(&arr);
}

bool qapi_check_unexpected(json_t *v, const char *name,
                           const char *const *names1,
                           const char *const *names2, GError **errp)
{
    const char *key;
    json_t *val;

    json_object_foreach(v, key, val) {
        if (g_strv_contains(names1, key) ||
            (names2 && g_strv_contains(names2, key))) {
            continue;
        }
        g_autofree char *full = qapi_path(name, key);
        wd_error_setg(errp, "Parameter '%s' is unexpected", full);
        return false;
    }
    return true;
}

bool qapi_check_no_args(json_t *args, GError **errp)
{
    static const char *const none[] = {NULL};

    return !args || qapi_check_unexpected(args, NULL, none, NULL, errp);
}

json_t *qapi_out_uint64(uint64_t v)
{
    if (v > INT64_MAX) {
        return json_real((double)v);
    }
    return json_integer((json_int_t)v);
}

char *qapi_json_error_text(const char *t)
{
    const char *near = strstr(t, " near '\"");

    if (g_str_has_prefix(t, "invalid Unicode '")) {
        return g_strdup("invalid Unicode escape in a string");
    }
    if (near && !g_str_has_prefix(t, "duplicate object key") &&
        near[strlen(" near '\"")] != '\'') {
        return g_strndup(t, near - t);
    }
    return g_strdup(t);
}

void qapi_free_secret_str(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        g_free(s);
    }
}
