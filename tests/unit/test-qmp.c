/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP session: request validation and replies in QEMU's shapes and
 * texts (../shared/ref/qmp-qom.md §1), framing limits and recovery,
 * split and pipelined input, object commands.
 */
#include "monitor/qmp.h"
#include "objects/objects.h"

#include <string.h>

static GString *out;

static void capture(const char *text, size_t len, gpointer opaque)
{
    g_string_append_len(out, text, len);
}

static QmpSession *session(bool negotiated)
{
    QmpSession *s = qmp_session_new(capture, NULL);

    s->negotiated = negotiated;
    g_string_truncate(out, 0);
    return s;
}

/* Feed @in and compare the complete output with @want. */
static void check(QmpSession *s, const char *in, const char *want)
{
    g_string_truncate(out, 0);
    qmp_session_feed(s, in, strlen(in));
    if (strcmp(out->str, want) != 0) {
        g_error("input %s\nwant %s\ngot  %s", in, want, out->str);
    }
}

typedef struct {
    const char *name;
    bool negotiated;
    const char *in;
    const char *out;
} Case;

#define ERR(cls, desc) "{\"error\": {\"class\": \"" cls "\", \"desc\": \"" \
    desc "\"}}\r\n"
#define ERRID(id, cls, desc) "{\"id\": " id ", \"error\": {\"class\": \"" \
    cls "\", \"desc\": \"" desc "\"}}\r\n"

static const Case cases[] = {
    { "before-negotiation", false, "{\"execute\":\"query-version\",\"id\":1}",
      ERRID("1", "CommandNotFound",
            "Expecting capabilities negotiation with 'qmp_capabilities'") },
    { "negotiate", false, "{\"execute\":\"qmp_capabilities\"}",
      "{\"return\": {}}\r\n" },
    { "negotiate-oob", false,
      "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}",
      ERR("GenericError", "Capability oob not available") },
    { "negotiate-twice", true, "{\"execute\":\"qmp_capabilities\",\"id\":{\"a\":[1]}}",
      ERRID("{\"a\": [1]}", "CommandNotFound",
            "Capabilities negotiation is already complete, command ignored") },
    { "unknown-command", true, "{\"execute\":\"object_add\",\"id\":\"x\"}",
      ERRID("\"x\"", "CommandNotFound",
            "The command object_add has not been found") },
    { "id-null", true, "{\"execute\":\"nope\",\"id\":null}",
      ERRID("null", "CommandNotFound", "The command nope has not been found") },
    { "not-object", true, "[]",
      ERR("GenericError", "QMP input must be a JSON object") },
    { "scalar", true, "1 ",
      ERR("GenericError", "QMP input must be a JSON object") },
    { "lacks-execute", true, "{}",
      ERR("GenericError", "QMP input lacks member 'execute'") },
    { "execute-not-string", true, "{\"execute\":1,\"id\":2}",
      ERRID("2", "GenericError",
            "QMP input member 'execute' must be a string") },
    { "arguments-not-object", true,
      "{\"execute\":\"quit\",\"arguments\":[],\"id\":3}",
      ERRID("3", "GenericError",
            "QMP input member 'arguments' must be an object") },
    { "unexpected-member", true, "{\"execute\":\"quit\",\"foo\":1}",
      ERR("GenericError", "QMP input member 'foo' is unexpected") },
    { "missing-arg", true, "{\"execute\":\"object-del\"}",
      ERR("GenericError", "Parameter 'id' is missing") },
    { "wrong-arg-type", true,
      "{\"execute\":\"object-del\",\"arguments\":{\"id\":1}}",
      ERR("GenericError", "Invalid parameter type for 'id', expected: string") },
    { "unexpected-arg", true,
      "{\"execute\":\"query-version\",\"arguments\":{\"x\":1}}",
      ERR("GenericError", "Parameter 'x' is unexpected") },
    { "del-missing", true,
      "{\"execute\":\"object-del\",\"arguments\":{\"id\":\"nope\"}}",
      ERR("GenericError", "object 'nope' not found") },
    { "add-unknown-type", true,
      "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"x\",\"id\":\"a\"}}",
      ERR("GenericError", "Parameter 'qom-type' does not accept value 'x'") },
    { "add-bad-id", true,
      "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"secret\","
      "\"id\":\"1bad\",\"data\":\"x\"}}",
      ERR("GenericError", "Parameter 'id' expects an identifier: identifiers "
          "consist of letters, digits, '-', '.', '_', starting with a letter") },
    { "qom-get-missing", true,
      "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/objects/x\","
      "\"property\":\"data\"}}",
      ERR("DeviceNotFound", "Device '/objects/x' not found") },
    { "parse-error-recovers", true,
      "{ \"execute\": }{\"execute\":\"object-del\",\"arguments\":{\"id\":\"q\"}}",
      ERR("GenericError", "JSON parse error, unexpected token near '}'")
      ERR("GenericError", "object 'q' not found") },
    { "duplicate-key", true, "{\"execute\":\"quit\",\"execute\":\"quit\"}",
      ERR("GenericError", "JSON parse error, duplicate object key near "
          "'\\\"execute\\\"'") },
    /* Errors inside a string never quote it: it may be a secret. */
    { "bad-string-quiet", true,
      "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":"
      "\"secret\",\"id\":\"s\",\"data\":\"TOPSECRET\\q\"}}"
      "{\"execute\":\"x\",\"arguments\":{\"data\":\"TOPSECRET\x01\"}}"
      "{\"execute\":\"x\",\"arguments\":{\"data\":\"TOPSECRET\\ud800\"}}",
      ERR("GenericError", "JSON parse error, invalid escape")
      ERR("GenericError", "JSON parse error, control character 0x1")
      ERR("GenericError", "JSON parse error, invalid Unicode escape in a "
          "string") },
    { "stray-close", true, "}",
      ERR("GenericError", "JSON parse error, expecting value") },
    { "invalid-utf8", true, "{\"execute\":\"\xc3\x28\"}",
      ERR("GenericError", "JSON parse error, unable to decode byte 0xc3 near "
          "'\\\"'") },
    { "pipelined", true,
      "{\"execute\":\"object-del\",\"arguments\":{\"id\":\"a\"},\"id\":1}"
      "{\"execute\":\"object-del\",\"arguments\":{\"id\":\"b\"},\"id\":2}",
      ERRID("1", "GenericError", "object 'a' not found")
      ERRID("2", "GenericError", "object 'b' not found") },
};

static void test_case(gconstpointer data)
{
    const Case *c = data;
    QmpSession *s = session(c->negotiated);

    check(s, c->in, c->out);
    qmp_session_free(s);
}

static void test_split(void)
{
    QmpSession *s = session(false);
    const char *msg = "{\"execute\":\"qmp_capabilities\",\"id\":\"a{[\\\"\"}";

    for (const char *p = msg; *p; p++) {
        qmp_session_feed(s, p, 1);
        if (p[1]) {
            g_assert_cmpuint(out->len, ==, 0);
        }
    }
    g_assert_cmpstr(out->str, ==, "{\"return\": {}, \"id\": \"a{[\\\"\"}\r\n");
    qmp_session_free(s);
}

static void test_nesting_limit(void)
{
    QmpSession *s = session(true);
    GString *deep = g_string_new(NULL);

    for (int i = 0; i < 100000; i++) {
        g_string_append_c(deep, '[');
    }
    for (int i = 0; i < 100000; i++) {
        g_string_append_c(deep, ']');
    }
    g_string_append(deep, "{\"execute\":\"object-del\",\"arguments\":"
                    "{\"id\":\"z\"}}");
    check(s, deep->str, ERR("GenericError", "JSON nesting depth limit exceeded")
          ERR("GenericError", "object 'z' not found"));
    g_string_free(deep, TRUE);
    qmp_session_free(s);
}

static void test_size_limit(void)
{
    QmpSession *s = session(true);
    size_t big = 20u << 20;   /* over the 16 MiB limit */
    char *buf = g_malloc(big);

    memset(buf, 'a', big);
    const char *head = "{\"execute\":\"x\",\"id\":\"";
    qmp_session_feed(s, head, strlen(head));
    qmp_session_feed(s, buf, big);
    g_free(buf);
    check(s, "\"}{\"execute\":\"object-del\",\"arguments\":{\"id\":\"z\"}}",
          ERR("GenericError", "object 'z' not found"));
    qmp_session_free(s);
}

static void test_object_add_del(void)
{
    QmpSession *s = session(true);

    check(s, "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":"
          "\"secret\",\"id\":\"sec0\",\"data\":\"hunter2\"}}",
          "{\"return\": {}}\r\n");
    check(s, "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":"
          "\"secret\",\"id\":\"sec0\",\"data\":\"x\"}}",
          ERR("GenericError", "an object with id 'sec0' already exists; "
              "choose another id or delete it first"));
    check(s, "{\"execute\":\"qom-get\",\"arguments\":{\"path\":"
          "\"/objects/sec0\",\"property\":\"format\"}}",
          "{\"return\": \"raw\"}\r\n");
    check(s, "{\"execute\":\"qom-get\",\"arguments\":{\"path\":"
          "\"/objects/sec0\",\"property\":\"data\"}}",
          ERR("GenericError", "Property 'secret.data' holds secret data and "
              "cannot be read"));
    check(s, "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/objects\"}}",
          "{\"return\": [{\"name\": \"type\", \"type\": \"string\"}, "
          "{\"name\": \"sec0\", \"type\": \"child<secret>\"}]}\r\n");
    check(s, "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":"
          "\"authz-simple\",\"id\":\"az\",\"identity\":\"CN=a\"}}",
          "{\"return\": {}}\r\n");
    check(s, "{\"execute\":\"qom-set\",\"arguments\":{\"path\":"
          "\"/objects/az\",\"property\":\"identity\",\"value\":\"CN=b\"}}",
          "{\"return\": {}}\r\n");
    check(s, "{\"execute\":\"qom-get\",\"arguments\":{\"path\":"
          "\"/objects/az\",\"property\":\"identity\"}}",
          "{\"return\": \"CN=b\"}\r\n");
    check(s, "{\"execute\":\"qom-set\",\"arguments\":{\"path\":"
          "\"/objects/sec0\",\"property\":\"format\",\"value\":\"base64\"}}",
          ERR("GenericError", "Property 'secret.format' cannot be changed "
              "after the object is created; delete and re-create the object"));
    check(s, "{\"execute\":\"object-del\",\"arguments\":{\"id\":\"sec0\"}}",
          "{\"return\": {}}\r\n");
    check(s, "{\"execute\":\"object-del\",\"arguments\":{\"id\":\"az\"}}",
          "{\"return\": {}}\r\n");
    g_assert_false(strstr(out->str, "hunter2"));
    qmp_session_free(s);
}

static void test_schema(void)
{
    QmpSession *s = session(true);
    json_error_t jerr;

    g_string_truncate(out, 0);
    const char *q = "{\"execute\":\"query-qmp-schema\"}";
    qmp_session_feed(s, q, strlen(q));
    g_autoptr(json_t) r = json_loads(out->str, 0, &jerr);
    json_t *list = json_object_get(r, "return");
    g_assert_true(json_is_array(list));
    bool found = false;
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && strcmp(n, "object-add") == 0) {
            found = true;
            g_assert_cmpstr(json_string_value(json_object_get(e, "meta-type")),
                            ==, "command");
        }
    }
    g_assert_true(found);
    qmp_session_free(s);
}

/* Every line ends in \r\n, compact and pretty (QEMU's pretty=on). */
static void test_format(void)
{
    g_autoptr(json_t) msg = json_pack("{s:{s:[i,s]}}", "return", "a", 1,
                                      "x\ny");
    QmpSession *s = session(true);
    g_autofree char *compact = NULL, *pretty = NULL;
    size_t len;

    compact = qmp_format(s, msg, &len);
    g_assert_cmpstr(compact, ==, "{\"return\": {\"a\": [1, \"x\\ny\"]}}\r\n");
    g_assert_cmpuint(len, ==, strlen(compact));
    s->pretty = true;
    pretty = qmp_format(s, msg, &len);
    g_assert_cmpstr(pretty, ==,
                    "{\r\n    \"return\": {\r\n        \"a\": [\r\n"
                    "            1,\r\n            \"x\\ny\"\r\n"
                    "        ]\r\n    }\r\n}\r\n");
    g_assert_cmpuint(len, ==, strlen(pretty));
    qmp_session_free(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    out = g_string_new(NULL);
    wd_objects_register_all();
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/qmp/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_case);
    }
    g_test_add_func("/qmp/split", test_split);
    g_test_add_func("/qmp/nesting-limit", test_nesting_limit);
    g_test_add_func("/qmp/size-limit", test_size_limit);
    g_test_add_func("/qmp/object-add-del", test_object_add_del);
    g_test_add_func("/qmp/schema", test_schema);
    g_test_add_func("/qmp/format", test_format);
    return g_test_run();
}
