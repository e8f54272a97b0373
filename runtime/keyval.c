/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Keyval parser: turns "secret,id=s0,addr.port=10809" into a JSON object
 * of strings, with QEMU's grammar and error messages (see keyval.h), and
 * the JSON alternative form of the same command-line arguments.
 */
#include "runtime/keyval.h"

#include <string.h>

#include "runtime/error.h"
#include "runtime/qapi-util.h"

/*
 * jansson reports allocation failure by returning NULL / -1. GLib aborts on
 * out-of-memory, and so do we: a half-built tree is not worth recovering.
 */
static json_t *checked(json_t *value)
{
    if (!value) {
        g_error("keyval: out of memory");
    }
    return value;
}

static void set_member(json_t *obj, const char *name, json_t *value)
{
    if (json_object_set_new(obj, name, value) < 0) {
        g_error("keyval: out of memory");
    }
}

/*
 * Keys appear in error messages, which may end up in QMP replies or logs;
 * bytes that are not UTF-8 are replaced so the message stays valid text.
 */
static char *printable(const char *s, size_t len)
{
    return g_utf8_make_valid(s, (gssize)len);
}

/* Length of a help element at @s ("?" or "help"), 0 if there is none. */
static size_t help_len(const char *s)
{
    if (s[0] == '?') {
        return 1;
    }
    if (g_str_has_prefix(s, "help")) {
        return 4;
    }
    return 0;
}

/*
 * Length of the qapi-name at @s, 0 if there is none:
 * [A-Za-z][A-Za-z0-9_-]*, optionally preceded by a downstream prefix
 * "__RFQDN_" (RFQDN made of [A-Za-z0-9.-]). The prefix may contain '.',
 * which then does not separate fragments, exactly as in QEMU.
 */
static size_t name_len(const char *s)
{
    const char *p = s;

    if (p[0] == '_') {
        if (p[1] != '_') {
            return 0;
        }
        p += 2;
        while (g_ascii_isalnum(*p) || *p == '-' || *p == '.') {
            p++;
        }
        if (*p != '_') {
            return 0;
        }
        p++;
    }
    if (!g_ascii_isalpha(*p)) {
        return 0;
    }
    p++;
    while (g_ascii_isalnum(*p) || *p == '-' || *p == '_') {
        p++;
    }
    return p - s;
}

/* Length of the list index (decimal digits) at @s. */
static size_t index_len(const char *s)
{
    size_t n = 0;

    while (g_ascii_isdigit(s[n])) {
        n++;
    }
    return n;
}

static void error_inconsistent(GError **errp, const char *key,
                               size_t prefix_len)
{
    g_autofree char *prefix = printable(key, prefix_len);

    wd_error_setg(errp, "Parameters '%s.*' used inconsistently", prefix);
}

/*
 * Return the object member @name of @cur, creating it if absent. @key and
 * @prefix_len name the key prefix that @name ends, for the error message
 * when @name already holds a string.
 */
static json_t *descend(json_t *cur, const char *name, const char *key,
                       size_t prefix_len, GError **errp)
{
    json_t *old = json_object_get(cur, name);
    json_t *obj;

    if (!old) {
        obj = checked(json_object());
        set_member(cur, name, obj);
        return obj;
    }
    if (!json_is_object(old)) {
        error_inconsistent(errp, key, prefix_len);
        return NULL;
    }
    return old;
}

/*
 * Walk the fragments of the key [@key, @key_end), creating intermediate
 * objects under @root. Returns the object that holds the last fragment and
 * copies that fragment into @leaf; NULL with @errp set on error.
 *
 * Checks run fragment by fragment (syntax, length, depth, then the
 * leaf/prefix conflict of the previous fragment), so the error reported for
 * a key with several problems is the one QEMU reports.
 */
static json_t *walk_key(json_t *root, const char *key, const char *key_end,
                        char leaf[WD_KEYVAL_MAX_FRAGMENT + 1], GError **errp)
{
    json_t *cur = root;
    const char *s = key;
    unsigned depth = 0;

    for (;;) {
        /* A list index is allowed anywhere but in the first fragment. */
        size_t len = s != key && g_ascii_isdigit(*s) ? index_len(s)
                                                     : name_len(s);

        if (len == 0 || (s + len < key_end && s[len] != '.')) {
            g_autofree char *k = printable(key, key_end - key);

            wd_error_setg(errp, "Invalid parameter '%s'", k);
            return NULL;
        }
        /* Key characters never include the '=' or ',' at @key_end. */
        g_assert(s + len <= key_end);

        if (len > WD_KEYVAL_MAX_FRAGMENT) {
            bool whole = s == key && s + len == key_end;
            g_autofree char *frag = printable(s, len);

            wd_error_setg(errp, "Parameter%s '%s' is too long",
                          whole ? "" : " fragment", frag);
            return NULL;
        }
        if (++depth > WD_KEYVAL_MAX_DEPTH) {
            g_autofree char *k = printable(key, key_end - key);

            wd_error_setg(errp,
                          "Parameter '%s' is nested too deeply "
                          "(more than %d levels)",
                          k, WD_KEYVAL_MAX_DEPTH);
            return NULL;
        }
        if (s != key) {
            /* The previous fragment, ending at s - 1, is an object. */
            cur = descend(cur, leaf, key, s - 1 - key, errp);
            if (!cur) {
                return NULL;
            }
        }
        memcpy(leaf, s, len);
        leaf[len] = '\0';
        s += len;
        if (s == key_end) {
            return cur;
        }
        s++; /* the '.' */
    }
}

/*
 * Append the value starting at @s to @val, undoing ",," escapes; stop at a
 * single ',' or at the end. Returns where the next element starts.
 */
static const char *scan_value(const char *s, GString *val)
{
    for (;;) {
        const char *comma = s + strcspn(s, ",");

        g_string_append_len(val, s, comma - s);
        if (*comma == '\0') {
            return comma;
        }
        if (comma[1] != ',') {
            return comma + 1;
        }
        g_string_append_c(val, ',');
        s = comma + 2;
    }
}

/*
 * Store @val as member @leaf of @cur. A repeated key is an error: QEMU
 * silently keeps the last value, which hides typos such as a second
 * data= that was meant to be file= (a deliberate difference).
 */
static bool put_leaf(json_t *cur, const char *leaf, const GString *val,
                     const char *key, size_t key_len, GError **errp)
{
    json_t *old = json_object_get(cur, leaf);

    if (old && !json_is_string(old)) {
        error_inconsistent(errp, key, key_len);
        return false;
    }
    if (old) {
        g_autofree char *k = printable(key, key_len);

        wd_error_setg(errp, "Parameter '%s' is given more than once", k);
        return false;
    }
    /*
     * QEMU keeps arbitrary bytes; jansson strings must be UTF-8, and a
     * NULL from json_stringn() would be indistinguishable from OOM.
     */
    if (!g_utf8_validate_len(val->str, val->len, NULL)) {
        g_autofree char *k = printable(key, key_len);

        wd_error_setg(errp, "Parameter '%s' value is not valid UTF-8", k);
        return false;
    }
    set_member(cur, leaf, checked(json_stringn(val->str, val->len)));
    return true;
}

/*
 * Parse the element starting at @elem into @root. Returns where the next
 * element starts, or NULL with @errp set.
 */
static const char *parse_element(json_t *root, const char *elem,
                                 const char *implied_key, bool *help_seen,
                                 GError **errp)
{
    size_t len = strcspn(elem, "=,");
    const char *key = elem;
    const char *implied_end = NULL;
    char leaf[WD_KEYVAL_MAX_FRAGMENT + 1];
    g_autoptr(GString) val = NULL;
    const char *next;
    json_t *cur;

    if (len > 0 && elem[len] != '=') {
        /* "help" / "?" exactly, not "helpx" or "help=..." */
        if (help_len(elem) == len) {
            *help_seen = true;
            return elem[len] == ',' ? elem + len + 1 : elem + len;
        }
        if (implied_key) {
            implied_end = elem + len;
            key = implied_key;
            len = strlen(implied_key);
        }
    }

    cur = walk_key(root, key, key + len, leaf, errp);
    if (!cur) {
        return NULL;
    }

    val = g_string_new(NULL);
    if (implied_end) {
        /* No escapes here: the value ended at the first ',' */
        g_string_append_len(val, elem, implied_end - elem);
        next = *implied_end == ',' ? implied_end + 1 : implied_end;
    } else {
        if (key[len] != '=') {
            g_autofree char *k = printable(key, len);

            wd_error_setg(errp, "Expected '=' after parameter '%s'", k);
            return NULL;
        }
        next = scan_value(key + len + 1, val);
    }

    if (!put_leaf(cur, leaf, val, key, len, errp)) {
        return NULL;
    }
    return next;
}

json_t *wd_keyval_parse(const char *params, const char *implied_key,
                        bool *help, GError **errp)
{
    json_t *root;
    bool help_seen = false;
    const char *s = params;

    g_return_val_if_fail(params != NULL, NULL);

    if (help) {
        *help = false;
    }
    root = checked(json_object());
    while (*s) {
        s = parse_element(root, s, implied_key, &help_seen, errp);
        if (!s) {
            json_decref(root);
            return NULL;
        }
        /* Only the first element may omit its key. */
        implied_key = NULL;
    }

    if (help) {
        *help = help_seen;
    } else if (help_seen) {
        json_decref(root);
        wd_error_setg(errp, "Help is not available for this option");
        return NULL;
    }
    return root;
}

json_t *wd_keyval_or_json_parse(const char *arg, const char *implied_key,
                                bool *help, GError **errp)
{
    json_error_t jerr;
    json_t *obj;

    g_return_val_if_fail(arg != NULL, NULL);

    if (arg[0] != '{') {
        return wd_keyval_parse(arg, implied_key, help, errp);
    }

    if (help) {
        *help = false;
    }
    /*
     * QEMU's JSON parser rejects duplicate keys ("duplicate key"); without
     * JSON_REJECT_DUPLICATES jansson would silently keep the last one.
     * jansson also rejects trailing text after the object and bounds the
     * nesting depth (JSON_PARSER_MAX_DEPTH).
     */
    obj = json_loads(arg, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        g_autofree char *quiet = qapi_json_error_text(jerr.text);
        g_autofree char *text = printable(quiet, strlen(quiet));

        wd_error_setg(errp, "JSON parse error at line %d column %d: %s",
                      jerr.line, jerr.column, text);
        explicit_bzero(&jerr, sizeof(jerr));
        return NULL;
    }
    /* Cannot happen for input starting with '{'; checked all the same. */
    if (!json_is_object(obj)) {
        json_decref(obj);
        wd_error_setg(errp, "JSON parse error: expected an object");
        return NULL;
    }
    return obj;
}
