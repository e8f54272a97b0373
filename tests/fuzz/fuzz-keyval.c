/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for runtime/keyval: feeds arbitrary bytes to
 * wd_keyval_parse() and wd_keyval_or_json_parse() and checks the
 * invariants of their results (string leaves, bounded depth, help handling,
 * and that re-serialising a parsed tree parses back to the same tree).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <jansson.h>

#include "runtime/error.h"
#include "runtime/keyval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            g_printerr("fuzz-keyval: invariant failed: %s\n", #cond);      \
            abort();                                                        \
        }                                                                   \
    } while (0)

/* A failed parse returns NULL and sets exactly one error, and vice versa. */
static void check_outcome(json_t *result, GError *err)
{
    CHECK((result == NULL) == (err != NULL));
    CHECK(!result || json_is_object(result));
    CHECK(!err || (err->domain == WD_ERROR && err->message[0] != '\0' &&
                   g_utf8_validate(err->message, -1, NULL)));
}

/* Leaves are strings, objects are non-empty, depth is bounded. */
static void check_tree(json_t *node, unsigned depth)
{
    const char *name;
    json_t *member;

    CHECK(depth <= WD_KEYVAL_MAX_DEPTH);
    CHECK(json_object_size(node) > 0 || depth == 0);
    json_object_foreach(node, name, member) {
        CHECK(name[0] != '\0' && strlen(name) <= WD_KEYVAL_MAX_FRAGMENT);
        if (json_is_object(member)) {
            check_tree(member, depth + 1);
        } else {
            CHECK(json_is_string(member));
        }
    }
}

/* Write @node back as "path.to.key=value" elements, escaping ','. */
static void serialise(json_t *node, const char *prefix, GString *out)
{
    const char *name;
    json_t *member;

    json_object_foreach(node, name, member) {
        g_autofree char *path = prefix ? g_strdup_printf("%s.%s", prefix, name)
                                       : g_strdup(name);

        if (json_is_object(member)) {
            serialise(member, path, out);
            continue;
        }
        if (out->len) {
            g_string_append_c(out, ',');
        }
        g_string_append_printf(out, "%s=", path);
        for (const char *v = json_string_value(member); *v; v++) {
            if (*v == ',') {
                g_string_append_c(out, ',');
            }
            g_string_append_c(out, *v);
        }
    }
}

static void check_round_trip(json_t *tree)
{
    g_autoptr(GString) text = g_string_new(NULL);
    GError *err = NULL;
    json_t *again;

    serialise(tree, NULL, text);
    again = wd_keyval_parse(text->str, NULL, NULL, &err);
    CHECK(err == NULL);
    CHECK(json_equal(tree, again));
    json_decref(again);
}

static void fuzz_keyval(const char *input, const char *implied_key)
{
    GError *err = NULL;
    GError *err2 = NULL;
    bool help = false;
    json_t *tree = wd_keyval_parse(input, implied_key, &help, &err);
    json_t *nohelp = wd_keyval_parse(input, implied_key, NULL, &err2);

    check_outcome(tree, err);
    check_outcome(nohelp, err2);
    if (tree) {
        check_tree(tree, 0);
        check_round_trip(tree);
        if (help) {
            /* All elements parsed, so only the help complaint is left. */
            CHECK(nohelp == NULL);
            CHECK(!strcmp(err2->message,
                          "Help is not available for this option"));
        } else {
            CHECK(nohelp && json_equal(tree, nohelp));
        }
    } else {
        CHECK(!help);
        /* Help or not, the first syntax error is the same. */
        CHECK(err2 && !strcmp(err->message, err2->message));
    }
    json_decref(tree);
    json_decref(nohelp);
    g_clear_error(&err);
    g_clear_error(&err2);
}

static void fuzz_either(const char *input)
{
    GError *err = NULL;
    bool help = true;
    json_t *obj = wd_keyval_or_json_parse(input, "qom-type", &help, &err);

    check_outcome(obj, err);
    if (input[0] == '{') {
        CHECK(!help);
    } else if (obj) {
        check_tree(obj, 0);
    }
    json_decref(obj);
    g_clear_error(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *input = g_malloc(size + 1);

    /* Embedded NULs simply end the string, as on a command line. */
    memcpy(input, data, size);
    input[size] = '\0';

    fuzz_keyval(input, NULL);
    fuzz_keyval(input, "qom-type");
    fuzz_either(input);

    g_free(input);
    return 0;
}
