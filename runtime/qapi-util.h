/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scalar converters used by the generated schema code. One set of
 * functions serves both inputs: strict JSON (QMP, --object '{...}') and
 * keyval trees (--object a=b,...) whose leaves are all strings (@kv true),
 * so type checks and messages are identical on both paths. @name is the
 * full member name used in messages ("addr.port"); NULL for the top level.
 */
#ifndef WARDEN_QAPI_UTIL_H
#define WARDEN_QAPI_UTIL_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/json-util.h"

/* "prefix.name" (or "name"); returns a new string. */
char *qapi_path(const char *prefix, const char *name);
/* "prefix[i]" for JSON, "prefix.i" for keyval; returns a new string. */
char *qapi_path_index(const char *prefix, size_t i, bool kv);

void qapi_error_missing(GError **errp, const char *name);

bool qapi_in_str(json_t *v, const char *name, bool kv, char **out,
                 GError **errp);
bool qapi_in_bool(json_t *v, const char *name, bool kv, bool *out,
                  GError **errp);
bool qapi_in_int(json_t *v, const char *name, bool kv, int64_t min,
                 int64_t max, const char *tname, int64_t *out,
                 GError **errp);
bool qapi_in_uint(json_t *v, const char *name, bool kv, uint64_t max,
                  const char *tname, uint64_t *out, GError **errp);
bool qapi_in_size(json_t *v, const char *name, bool kv, uint64_t *out,
                  GError **errp);
bool qapi_in_number(json_t *v, const char *name, bool kv, double *out,
                    GError **errp);
bool qapi_in_any(json_t *v, const char *name, bool kv, json_t **out,
                 GError **errp);
bool qapi_in_enum(json_t *v, const char *name, bool kv,
                  const char *const *lookup, int n, int *out, GError **errp);
bool qapi_in_object_check(json_t *v, const char *name, GError **errp);
/* The items of a list as a JSON array (new reference): a JSON array as
 * is, or a keyval object with dense keys "0".."n-1". */
json_t *qapi_list_items(json_t *v, const char *name, bool kv, size_t *n,
                        GError **errp);
/* Report the first member of @v not in @names1 or @names2. */
bool qapi_check_unexpected(json_t *v, const char *name,
                           const char *const *names1,
                           const char *const *names2, GError **errp);
bool qapi_check_no_args(json_t *args, GError **errp);

/* uint64 values above INT64_MAX are emitted as reals (jansson limit). */
json_t *qapi_out_uint64(uint64_t v);

/* Parse a size with an optional k/M/G/T/P/E suffix (powers of 1024). */
bool qapi_parse_size(const char *s, uint64_t *out);

/* Wipe and free a string that held secret data. */
void qapi_free_secret_str(char *s);

/*
 * A jansson error text fit to show: jansson quotes the token it stopped
 * at (up to 20 bytes); inside a string that is the string so far, which
 * may be a secret (a malformed data=), so it is left out. Keys (duplicate
 * object key) and structural tokens stay. Returns a new string.
 */
char *qapi_json_error_text(const char *text);

#endif
