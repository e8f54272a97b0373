/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for runtime/keyval: the keyval grammar with QEMU's error texts,
 * implied keys, help detection, input bounds and the JSON alternative form.
 */
#include <string.h>

#include <glib.h>
#include <jansson.h>

#include "runtime/error.h"
#include "runtime/keyval.h"

/* A parse that must succeed. */
typedef struct {
    const char *name;
    const char *input;
    const char *implied;    /* implied key, or NULL */
    const char *expect;     /* expected result as JSON text */
    bool help;              /* expected *help */
    bool json_form;         /* parse with wd_keyval_or_json_parse() */
} GoodCase;

/* A parse that must fail with exactly @error. */
typedef struct {
    const char *name;
    const char *input;
    const char *implied;
    const char *error;
    bool help_null;         /* pass help == NULL */
    bool json_form;
} BadCase;

static const GoodCase good_cases[] = {
    /* Basic grammar */
    { .name = "empty", .input = "", .expect = "{}" },
    { .name = "single", .input = "a=1", .expect = "{\"a\":\"1\"}" },
    { .name = "two", .input = "a=1,b=2",
      .expect = "{\"a\":\"1\",\"b\":\"2\"}" },
    { .name = "trailing-comma", .input = "a=1,",
      .expect = "{\"a\":\"1\"}" },
    { .name = "empty-value", .input = "a=", .expect = "{\"a\":\"\"}" },
    { .name = "empty-values", .input = "a=,b=",
      .expect = "{\"a\":\"\",\"b\":\"\"}" },
    { .name = "spaces-kept", .input = "a= x y ",
      .expect = "{\"a\":\" x y \"}" },
    { .name = "utf8-value", .input = "data=h\xc3\xa9llo",
      .expect = "{\"data\":\"h\\u00e9llo\"}" },
    { .name = "question-value", .input = "a=?", .expect = "{\"a\":\"?\"}" },
    /* ',,' escapes (QEMU ref 2.3: data=a,,b,,,,c gives a,b,,c) */
    { .name = "comma-escape", .input = "data=a,,b,,,,c",
      .expect = "{\"data\":\"a,b,,c\"}" },
    { .name = "comma-escape-then-key", .input = "a=1,,,b=2",
      .expect = "{\"a\":\"1,\",\"b\":\"2\"}" },
    { .name = "comma-escape-only", .input = "a=,,",
      .expect = "{\"a\":\",\"}" },
    { .name = "comma-escape-at-end", .input = "a=x,,,,,",
      .expect = "{\"a\":\"x,,\"}" },
    { .name = "equals-in-value", .input = "data=x=y",
      .expect = "{\"data\":\"x=y\"}" },
    { .name = "comma-in-key-part", .input = "id=s,,data=x",
      .expect = "{\"id\":\"s,data=x\"}" },
    /* Key characters and nesting */
    { .name = "key-chars", .input = "A-b_c9=1",
      .expect = "{\"A-b_c9\":\"1\"}" },
    { .name = "nested", .input = "addr.type=inet,addr.port=10809",
      .expect = "{\"addr\":{\"type\":\"inet\",\"port\":\"10809\"}}" },
    { .name = "nested-merge", .input = "a.b.c=1,a.b.d=2,a.e=3",
      .expect = "{\"a\":{\"b\":{\"c\":\"1\",\"d\":\"2\"},\"e\":\"3\"}}" },
    { .name = "list-index",
      .input = "rules.0.match=CN=foo*,rules.0.policy=allow,rules.1.match=x",
      .expect = "{\"rules\":{\"0\":{\"match\":\"CN=foo*\","
                "\"policy\":\"allow\"},\"1\":{\"match\":\"x\"}}}" },
    { .name = "index-leaf", .input = "a.1=y,a.0=x",
      .expect = "{\"a\":{\"0\":\"x\",\"1\":\"y\"}}" },
    { .name = "index-leading-zeros", .input = "a.007=x",
      .expect = "{\"a\":{\"007\":\"x\"}}" },
    { .name = "downstream-name", .input = "__com.redhat_foo=1",
      .expect = "{\"__com.redhat_foo\":\"1\"}" },
    { .name = "downstream-nested", .input = "__com.redhat_foo.bar=1",
      .expect = "{\"__com.redhat_foo\":{\"bar\":\"1\"}}" },
    /* Implied key */
    { .name = "implied", .input = "secret,id=s0", .implied = "qom-type",
      .expect = "{\"qom-type\":\"secret\",\"id\":\"s0\"}" },
    { .name = "implied-only", .input = "secret", .implied = "qom-type",
      .expect = "{\"qom-type\":\"secret\"}" },
    { .name = "implied-trailing-comma", .input = "secret,",
      .implied = "qom-type", .expect = "{\"qom-type\":\"secret\"}" },
    { .name = "implied-explicit", .input = "qom-type=secret,id=s",
      .implied = "qom-type",
      .expect = "{\"qom-type\":\"secret\",\"id\":\"s\"}" },
    { .name = "implied-any-chars", .input = "a.b%,id=x",
      .implied = "qom-type",
      .expect = "{\"qom-type\":\"a.b%\",\"id\":\"x\"}" },
    { .name = "implied-dotted-key", .input = "inet,addr.port=1",
      .implied = "addr.type",
      .expect = "{\"addr\":{\"type\":\"inet\",\"port\":\"1\"}}" },
    /* Help */
    { .name = "help", .input = "help", .expect = "{}", .help = true },
    { .name = "help-question", .input = "?", .expect = "{}", .help = true },
    { .name = "help-trailing-comma", .input = "help,", .expect = "{}",
      .help = true },
    { .name = "help-first-with-implied", .input = "help",
      .implied = "qom-type", .expect = "{}", .help = true },
    { .name = "help-after-implied", .input = "secret,help",
      .implied = "qom-type", .expect = "{\"qom-type\":\"secret\"}",
      .help = true },
    { .name = "help-last", .input = "secret,id=s,?", .implied = "qom-type",
      .expect = "{\"qom-type\":\"secret\",\"id\":\"s\"}", .help = true },
    { .name = "help-middle", .input = "a=1,help,b=2",
      .expect = "{\"a\":\"1\",\"b\":\"2\"}", .help = true },
    { .name = "help-as-key", .input = "help=x",
      .expect = "{\"help\":\"x\"}" },
    { .name = "help-prefix-is-value", .input = "helpx",
      .implied = "qom-type", .expect = "{\"qom-type\":\"helpx\"}" },
    /* JSON form */
    { .name = "json-object", .json_form = true,
      .input = "{\"qom-type\":\"secret\",\"id\":\"s2\",\"data\":\"x,y\"}",
      .expect = "{\"qom-type\":\"secret\",\"id\":\"s2\",\"data\":\"x,y\"}" },
    { .name = "json-types-kept", .json_form = true,
      .input = "{\"a\":1,\"b\":[true,null],\"c\":{\"d\":\"e\"}}",
      .expect = "{\"a\":1,\"b\":[true,null],\"c\":{\"d\":\"e\"}}" },
    { .name = "json-empty", .json_form = true, .input = "{}",
      .expect = "{}" },
    { .name = "json-whitespace", .json_form = true,
      .input = "{ \"a\" :\n \"b\" }\n", .expect = "{\"a\":\"b\"}" },
    { .name = "json-help-key", .json_form = true,
      .input = "{\"help\":\"x\"}", .expect = "{\"help\":\"x\"}" },
    { .name = "json-implied-ignored", .json_form = true,
      .input = "{\"id\":\"s\"}", .implied = "qom-type",
      .expect = "{\"id\":\"s\"}" },
    { .name = "json-fallback-keyval", .json_form = true,
      .input = "secret,id=s", .implied = "qom-type",
      .expect = "{\"qom-type\":\"secret\",\"id\":\"s\"}" },
    { .name = "json-fallback-help", .json_form = true, .input = "help",
      .expect = "{}", .help = true },
};

static const BadCase bad_cases[] = {
    /* Invalid keys */
    { .name = "empty-key", .input = "=x", .error = "Invalid parameter ''" },
    /* Repeated keys are errors (QEMU keeps the last one silently). */
    { .name = "implied-repeated", .input = "secret,qom-type=x",
      .implied = "qom-type",
      .error = "Parameter 'qom-type' is given more than once" },
    { .name = "repeated-key", .input = "data=x,data=y",
      .error = "Parameter 'data' is given more than once" },
    { .name = "repeated-nested-key", .input = "a.b=1,a.b=2",
      .error = "Parameter 'a.b' is given more than once" },
    { .name = "leading-comma", .input = ",a=1",
      .error = "Invalid parameter ''" },
    { .name = "only-commas", .input = ",,", .error = "Invalid parameter ''" },
    { .name = "bad-char", .input = "da%ta=x",
      .error = "Invalid parameter 'da%ta'" },
    { .name = "empty-fragment", .input = "a..b=1",
      .error = "Invalid parameter 'a..b'" },
    { .name = "leading-dot", .input = ".a=1",
      .error = "Invalid parameter '.a'" },
    { .name = "trailing-dot", .input = "a.=1",
      .error = "Invalid parameter 'a.'" },
    { .name = "index-first", .input = "0=x",
      .error = "Invalid parameter '0'" },
    { .name = "index-with-suffix", .input = "a.1b=x",
      .error = "Invalid parameter 'a.1b'" },
    { .name = "underscore-fragment", .input = "a._b=x",
      .error = "Invalid parameter 'a._b'" },
    { .name = "bad-downstream-prefix", .input = "__a.b=1",
      .error = "Invalid parameter '__a.b'" },
    { .name = "space-in-key", .input = "a b=1",
      .error = "Invalid parameter 'a b'" },
    { .name = "question-key", .input = "?x=1",
      .error = "Invalid parameter '?x'" },
    { .name = "bad-key-later", .input = "a=1,b%=2",
      .error = "Invalid parameter 'b%'" },
    { .name = "invalid-utf8-key", .input = "a\xff=1",
      .error = "Invalid parameter 'a\xef\xbf\xbd'" },
    /* Missing '=' */
    { .name = "missing-equals", .input = "foo",
      .error = "Expected '=' after parameter 'foo'" },
    { .name = "missing-equals-later", .input = "a=1,foo",
      .error = "Expected '=' after parameter 'foo'" },
    { .name = "bare-flag", .input = "verify-peer",
      .error = "Expected '=' after parameter 'verify-peer'" },
    { .name = "missing-equals-dotted", .input = "a.b,c=1",
      .error = "Expected '=' after parameter 'a.b'" },
    { .name = "implied-only-first", .input = "secret,foo",
      .implied = "qom-type",
      .error = "Expected '=' after parameter 'foo'" },
    { .name = "help-then-implied", .input = "help,secret",
      .implied = "qom-type",
      .error = "Expected '=' after parameter 'secret'" },
    /* Leaf and prefix at once */
    { .name = "leaf-then-prefix", .input = "data=x,data.a=y",
      .error = "Parameters 'data.*' used inconsistently" },
    { .name = "prefix-then-leaf", .input = "a.b=1,a=2",
      .error = "Parameters 'a.*' used inconsistently" },
    { .name = "deep-leaf-then-prefix", .input = "a.b=1,a.b.c=2",
      .error = "Parameters 'a.b.*' used inconsistently" },
    { .name = "deep-prefix-then-leaf", .input = "a.b.c=1,a.b=2",
      .error = "Parameters 'a.b.*' used inconsistently" },
    { .name = "index-conflict", .input = "a.0=x,a.0.b=y",
      .error = "Parameters 'a.0.*' used inconsistently" },
    { .name = "implied-conflict", .input = "secret,qom-type.x=1",
      .implied = "qom-type",
      .error = "Parameters 'qom-type.*' used inconsistently" },
    /* QEMU reports the conflict before looking at the later fragments */
    { .name = "conflict-before-later-syntax", .input = "a=1,a.b.c%=2",
      .error = "Parameters 'a.*' used inconsistently" },
    /* Help where none is available */
    { .name = "help-unavailable", .input = "help", .help_null = true,
      .error = "Help is not available for this option" },
    { .name = "help-unavailable-later", .input = "a=1,?", .help_null = true,
      .error = "Help is not available for this option" },
    { .name = "help-unavailable-syntax-first", .input = "help,b",
      .help_null = true, .error = "Expected '=' after parameter 'b'" },
    /* Values must be UTF-8 (our deviation, see keyval.h) */
    { .name = "invalid-utf8-value", .input = "a=\xff",
      .error = "Parameter 'a' value is not valid UTF-8" },
    { .name = "invalid-utf8-implied", .input = "\xc3\x28,id=s",
      .implied = "qom-type",
      .error = "Parameter 'qom-type' value is not valid UTF-8" },
    /* JSON form */
    { .name = "json-premature-end", .json_form = true,
      .input = "{\"qom-type\":\"secret\",\"id\":\"s\",\"data\":\"x\"",
      .error = "JSON parse error at line 1 column 40: "
               "'}' expected near end of file" },
    { .name = "json-duplicate-key", .json_form = true,
      .input = "{\"a\":1,\"a\":2}",
      .error = "JSON parse error at line 1 column 10: "
               "duplicate object key near '\"a\"'" },
    { .name = "json-trailing-text", .json_form = true, .input = "{} x",
      .error = "JSON parse error at line 1 column 4: "
               "end of file expected near 'x'" },
    /* A bad string is not quoted: it may be a short secret. */
    { .name = "json-bad-string-quiet", .json_form = true,
      .input = "{\"qom-type\":\"secret\",\"id\":\"s\",\"data\":\"pw\\q\"}",
      .error = "JSON parse error at line 1 column 42: invalid escape" },
    { .name = "json-single-quotes", .json_form = true, .input = "{'a':1}",
      .error = "JSON parse error at line 1 column 2: "
               "string or '}' expected near '''" },
    { .name = "json-second-line", .json_form = true,
      .input = "{\"a\":\n\"b\"]",
      .error = "JSON parse error at line 2 column 4: "
               "'}' expected near ']'" },
    { .name = "json-leading-space-is-keyval", .json_form = true,
      .input = " {\"a\":1}", .error = "Invalid parameter ' {\"a\":1}'" },
    { .name = "json-fallback-error", .json_form = true,
      .input = "secret,foo", .implied = "qom-type",
      .error = "Expected '=' after parameter 'foo'" },
};

static bool leaves_are_strings(json_t *node)
{
    const char *name;
    json_t *member;

    if (!json_is_object(node)) {
        return json_is_string(node);
    }
    json_object_foreach(node, name, member) {
        if (!leaves_are_strings(member)) {
            return false;
        }
    }
    return true;
}

static void assert_json_eq(json_t *got, const char *expect_text)
{
    json_error_t jerr;
    json_t *expect = json_loads(expect_text, 0, &jerr);
    char *got_s;
    char *expect_s;

    g_assert_nonnull(expect);
    /* Compare dumps first: a mismatch then prints both trees. */
    got_s = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
    expect_s = json_dumps(expect, JSON_COMPACT | JSON_SORT_KEYS);
    g_assert_cmpstr(got_s, ==, expect_s);
    g_assert_true(json_equal(got, expect));
    free(got_s);
    free(expect_s);
    json_decref(expect);
}

static void assert_wd_error(GError *err, const char *message)
{
    g_assert_error(err, WD_ERROR, WD_ERROR_GENERIC);
    g_assert_cmpstr(err->message, ==, message);
}

static json_t *parse(const char *input, const char *implied, bool *help,
                     bool json_form, GError **errp)
{
    if (json_form) {
        return wd_keyval_or_json_parse(input, implied, help, errp);
    }
    return wd_keyval_parse(input, implied, help, errp);
}

static void test_good(gconstpointer data)
{
    const GoodCase *c = data;
    GError *err = NULL;
    bool help = !c->help;   /* must be overwritten */
    json_t *got = parse(c->input, c->implied, &help, c->json_form, &err);

    g_assert_no_error(err);
    g_assert_nonnull(got);
    g_assert_true(json_is_object(got));
    g_assert_cmpint(got->refcount, ==, 1);
    assert_json_eq(got, c->expect);
    if (!c->json_form || c->input[0] != '{') {
        g_assert_true(leaves_are_strings(got));
    }
    g_assert_cmpint(help, ==, c->help);
    json_decref(got);

    /* Without a help pointer the same input parses the same (or fails). */
    if (!c->help) {
        got = parse(c->input, c->implied, NULL, c->json_form, &err);
        g_assert_no_error(err);
        assert_json_eq(got, c->expect);
        json_decref(got);
    }
}

static void test_bad(gconstpointer data)
{
    const BadCase *c = data;
    GError *err = NULL;
    bool help = true;
    json_t *got = parse(c->input, c->implied, c->help_null ? NULL : &help,
                        c->json_form, &err);

    g_assert_null(got);
    assert_wd_error(err, c->error);
    if (!c->help_null) {
        g_assert_false(help);
    }
    g_error_free(err);
}

/* Parse @input, expecting failure with @message. */
static void check_fails(const char *input, const char *message)
{
    GError *err = NULL;
    json_t *got = wd_keyval_parse(input, NULL, NULL, &err);

    g_assert_null(got);
    assert_wd_error(err, message);
    g_error_free(err);
}

static void test_fragment_length(void)
{
    g_autofree char *a127 = g_strnfill(127, 'a');
    g_autofree char *a128 = g_strnfill(128, 'a');
    g_autofree char *b128 = g_strnfill(128, 'b');
    g_autofree char *ok = g_strdup_printf("%s=x,c.%s=y", a127, a127);
    g_autofree char *whole = g_strdup_printf("%s=x", a128);
    g_autofree char *last = g_strdup_printf("a.%s=x", b128);
    g_autofree char *first = g_strdup_printf("%s.b=x", a128);
    g_autofree char *noeq = g_strdup_printf("%s", a128);
    g_autofree char *msg_whole = NULL;
    g_autofree char *msg_a = NULL;
    g_autofree char *msg_b = NULL;
    GError *err = NULL;
    json_t *got;

    got = wd_keyval_parse(ok, NULL, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(json_string_value(json_object_get(got, a127)), ==, "x");
    g_assert_cmpstr(json_string_value(json_object_get(
                        json_object_get(got, "c"), a127)), ==, "y");
    json_decref(got);

    msg_whole = g_strdup_printf("Parameter '%s' is too long", a128);
    check_fails(whole, msg_whole);
    /* The length check comes before the '=' check, as in QEMU. */
    check_fails(noeq, msg_whole);
    msg_b = g_strdup_printf("Parameter fragment '%s' is too long", b128);
    check_fails(last, msg_b);
    msg_a = g_strdup_printf("Parameter fragment '%s' is too long", a128);
    check_fails(first, msg_a);
}

static void test_implied_value_unbounded(void)
{
    /* Only keys are bounded; a long implied value is fine. */
    g_autofree char *v = g_strnfill(10000, 'v');
    g_autofree char *input = g_strdup_printf("%s,id=s", v);
    GError *err = NULL;
    json_t *got = wd_keyval_parse(input, "qom-type", NULL, &err);

    g_assert_no_error(err);
    g_assert_cmpstr(json_string_value(json_object_get(got, "qom-type")), ==,
                    v);
    json_decref(got);
}

/* "a.a.a...=x" with @n fragments */
static char *deep_key(unsigned n)
{
    GString *s = g_string_new("a");

    for (unsigned i = 1; i < n; i++) {
        g_string_append(s, ".a");
    }
    return g_string_free(s, FALSE);
}

static void test_depth(void)
{
    g_autofree char *key_max = deep_key(WD_KEYVAL_MAX_DEPTH);
    g_autofree char *key_over = deep_key(WD_KEYVAL_MAX_DEPTH + 1);
    g_autofree char *ok = g_strdup_printf("%s=x", key_max);
    g_autofree char *over = g_strdup_printf("%s=x", key_over);
    g_autofree char *msg = g_strdup_printf(
        "Parameter '%s' is nested too deeply (more than 32 levels)",
        key_over);
    GError *err = NULL;
    json_t *got = wd_keyval_parse(ok, NULL, NULL, &err);
    json_t *node = got;

    g_assert_no_error(err);
    for (unsigned i = 1; i < WD_KEYVAL_MAX_DEPTH; i++) {
        node = json_object_get(node, "a");
        g_assert_true(json_is_object(node));
        g_assert_cmpuint(json_object_size(node), ==, 1);
    }
    g_assert_cmpstr(json_string_value(json_object_get(node, "a")), ==, "x");
    json_decref(got);

    g_assert_cmpint(WD_KEYVAL_MAX_DEPTH, ==, 32);
    check_fails(over, msg);
}

static void test_large_input(void)
{
    GString *in = g_string_new("data=");
    GString *want = g_string_new(NULL);
    GError *err = NULL;
    json_t *got;

    /* A 1 MiB value full of escapes, then 10000 distinct keys. */
    for (int i = 0; i < (1 << 18); i++) {
        g_string_append(in, "ab,,");
        g_string_append(want, "ab,");
    }
    for (int i = 0; i < 10000; i++) {
        g_string_append_printf(in, ",k%d=%d", i, i);
    }
    got = wd_keyval_parse(in->str, NULL, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(json_object_size(got), ==, 10001);
    g_assert_cmpstr(json_string_value(json_object_get(got, "data")), ==,
                    want->str);
    g_assert_cmpstr(json_string_value(json_object_get(got, "k9999")), ==,
                    "9999");
    json_decref(got);
    g_string_free(in, TRUE);
    g_string_free(want, TRUE);
}

static void test_help_reset(void)
{
    GError *err = NULL;
    bool help = true;
    json_t *got;

    /* *help is cleared on success without help ... */
    got = wd_keyval_or_json_parse("a=1", NULL, &help, &err);
    g_assert_no_error(err);
    g_assert_false(help);
    json_decref(got);

    /* ... on the JSON form, even with a "help" member ... */
    help = true;
    got = wd_keyval_or_json_parse("{\"help\":\"x\"}", NULL, &help, &err);
    g_assert_no_error(err);
    g_assert_false(help);
    json_decref(got);

    /* ... and on failure after a help element. */
    help = true;
    got = wd_keyval_parse("help,=x", NULL, &help, &err);
    g_assert_null(got);
    assert_wd_error(err, "Invalid parameter ''");
    g_assert_false(help);
    g_clear_error(&err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(good_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/keyval/good/%s", good_cases[i].name);

        g_test_add_data_func(path, &good_cases[i], test_good);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/keyval/bad/%s", bad_cases[i].name);

        g_test_add_data_func(path, &bad_cases[i], test_bad);
    }
    g_test_add_func("/keyval/limits/fragment-length", test_fragment_length);
    g_test_add_func("/keyval/limits/implied-value-unbounded",
                    test_implied_value_unbounded);
    g_test_add_func("/keyval/limits/depth", test_depth);
    g_test_add_func("/keyval/limits/large-input", test_large_input);
    g_test_add_func("/keyval/help-reset", test_help_reset);

    return g_test_run();
}
