/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The secret object through the real creation path: QEMU's known-answer
 * vectors (tests/unit/test-crypto-secret.c), strict padding, error texts,
 * and references between objects.
 */
#include "objects/objects.h"
#include "runtime/error.h"
#include "runtime/keyval.h"

#include <string.h>
#include <unistd.h>

#define MASTER "9miloPQCzGy+TL6aonfzVcptibCmCIhKzrnlfwiWivk="
#define IV "0I7Gw/TKuA+Old2W2apQ3g=="

static WdObject *add(const char *spec, GError **errp)
{
    g_autoptr(json_t) tree = wd_keyval_or_json_parse(spec, "qom-type", NULL,
                                                     errp);
    return tree ? wd_object_add_tree(tree, spec[0] != '{', errp) : NULL;
}

static char *value_of(const char *id)
{
    uint8_t *data = NULL;
    size_t len = 0;
    g_autoptr(GError) err = NULL;

    g_assert_true(wd_secret_lookup(NULL, "test", id, &data, &len, &err));
    char *s = g_strndup((char *)data, len);
    g_assert_cmpuint(strlen(s), ==, len);
    wd_secret_free(data, len);
    return s;
}

typedef struct {
    const char *name;
    const char *spec;       /* the secret under test, id "s" */
    const char *value;      /* expected value, or NULL: must fail */
    const char *error;      /* expected message (substring) */
} Case;

static const Case cases[] = {
    { .name = "direct", .spec = "secret,id=s,data=123456", .value = "123456" },
    { .name = "base64", .spec = "secret,id=s,data=MTIzNDU2,format=base64",
      .value = "123456" },
    { .name = "base64-bad", .spec = "secret,id=s,data=MTI$NDU2,format=base64",
      .error = "Base64 data contains invalid characters" },
    { .name = "crypt-base64",
      .spec = "secret,id=s,data=zL/3CUYZC1IqOrRrzXqwsA==,format=base64,"
              "keyid=master,iv=" IV, .value = "123456" },
    { .name = "crypt-long",
      .spec = "secret,id=s,data=QFUIhW2OTUNRV6+5oCzatUUE2B7dCUXlS2spbP8M/e0=,"
              "format=base64,keyid=master,iv=" IV,
      .value = "hello world, this is a secret!" },
    { .name = "pad-17", .spec = "secret,id=s,data=IaPWpqAomkpHI7spqcXyPg==,"
              "format=base64,keyid=master,iv=" IV,
      .error = "Incorrect padding found on decrypted data" },
    /* QEMU accepts these two (it checks only the last byte); we do not. */
    { .name = "pad-0", .spec = "secret,id=s,data=Fn8ebWFdS067HRllojYatg==,"
              "format=base64,keyid=master,iv=" IV,
      .error = "Incorrect padding found on decrypted data" },
    { .name = "pad-inconsistent",
      .spec = "secret,id=s,data=UmI4Nnm++3S/wfLcTQx4hA==,format=base64,"
              "keyid=master,iv=" IV,
      .error = "Incorrect padding found on decrypted data" },
    { .name = "empty-ciphertext", .spec = "secret,id=s,data=,format=base64,"
              "keyid=master,iv=" IV, .error = "The encrypted secret is empty" },
    { .name = "empty-raw-ciphertext", .spec = "secret,id=s,data=,"
              "keyid=master,iv=" IV, .error = "The encrypted secret is empty" },
    { .name = "empty-plain", .spec = "secret,id=s,data=", .value = "" },
    { .name = "short-ciphertext",
      .spec = "secret,id=s,data=zL/3CUYZC1IqOrRr,format=base64,keyid=master,"
              "iv=" IV, .error = "Length 12 must be a multiple of block size 16" },
    { .name = "raw-b64-text",
      .spec = "secret,id=s,data=zL/3CUYZC1IqOrRrzXqwsA==,keyid=master,iv=" IV,
      .error = "Length 24 must be a multiple of block size 16" },
    { .name = "short-iv", .spec = "secret,id=s,data=zL/3CUYZC1IqOrRrzXqwsA==,"
              "format=base64,keyid=master,iv=0I7Gw/TKuA+Old2W2a",
      .error = "IV should be 16 bytes in length not 12" },
    { .name = "bad-iv", .spec = "secret,id=s,data=zL/3CUYZC1IqOrRrzXqwsA==,"
              "format=base64,keyid=master,iv=0I7Gw/TK$$uA+Old2W2a",
      .error = "iv: Base64 data contains invalid characters" },
    { .name = "missing-iv", .spec = "secret,id=s,data=zL/3CUYZC1IqOrRrzXqwsA==,"
              "format=base64,keyid=master",
      .error = "IV is required to decrypt secret" },
    { .name = "short-key", .spec = "secret,id=s,data=zL/3CUYZC1IqOrRrzXqwsA==,"
              "format=base64,keyid=shortkey,iv=" IV,
      .error = "Key should be 32 bytes in length: secret 'shortkey' (keyid) "
               "holds " },
    { .name = "no-key", .spec = "secret,id=s,data=x,keyid=nokey,iv=" IV,
      .error = "keyid: no object with id 'nokey'" },
    { .name = "key-not-secret", .spec = "secret,id=s,data=x,keyid=az,iv=" IV,
      .error = "keyid: 'az' is not a secret (it is a authz-simple)" },
    { .name = "self-reference", .spec = "secret,id=s,data=x,keyid=s,iv=" IV,
      .error = "refers to itself in 'keyid': a reference cycle" },
    { .name = "both", .spec = "secret,id=s,data=x,file=/etc/hostname",
      .error = "'file' and 'data' are mutually exclusive" },
    { .name = "neither", .spec = "secret,id=s",
      .error = "Either 'file' or 'data' must be provided" },
    { .name = "missing-file", .spec = "secret,id=s,file=/nonexistent/x",
      .error = "Unable to read /nonexistent/x: No such file or directory" },
    { .name = "endless-file", .spec = "secret,id=s,file=/dev/zero",
      .error = "Unable to read /dev/zero: it holds more than 16 MiB, which "
               "is no password or key; check the file= path" },
    { .name = "bad-format", .spec = "secret,id=s,data=x,format=hex",
      .error = "Parameter 'format' does not accept value 'hex'" },
    { .name = "unknown-prop", .spec = "secret,id=s,data=x,bogus=1",
      .error = "Parameter 'bogus' is unexpected" },
    { .name = "json-wrong-type",
      .spec = "{\"qom-type\":\"secret\",\"id\":\"s\",\"data\":1}",
      .error = "Invalid parameter type for 'data', expected: string" },
    { .name = "bad-id", .spec = "secret,id=1s,data=x",
      .error = "Parameter 'id' expects an identifier" },
    { .name = "missing-id", .spec = "secret,data=x",
      .error = "Parameter 'id' is missing" },
    { .name = "unknown-type", .spec = "nosuchtype,id=s",
      .error = "Parameter 'qom-type' does not accept value 'nosuchtype'" },
    { .name = "duplicate-id", .spec = "secret,id=master,data=x",
      .error = "an object with id 'master' already exists" },
};

static void setup(void)
{
    g_autoptr(GError) err = NULL;

    wd_object_delete_all();
    g_assert_nonnull(add("secret,id=master,format=base64,data=" MASTER,
                         &err));
    g_assert_nonnull(add("secret,id=shortkey,format=base64,"
                         "data=9miloPQCzGy+TL6aonfzVc", &err));
    g_assert_nonnull(add("authz-simple,id=az,identity=CN=x", &err));
}

static void test_case(gconstpointer data)
{
    const Case *c = data;
    g_autoptr(GError) err = NULL;

    setup();
    WdObject *obj = add(c->spec, &err);
    if (c->value) {
        g_assert_no_error(err);
        g_assert_nonnull(obj);
        g_autofree char *v = value_of("s");
        g_assert_cmpstr(v, ==, c->value);
    } else {
        g_assert_null(obj);
        g_assert_nonnull(err);
        if (!strstr(err->message, c->error)) {
            g_error("case %s: expected '%s' in '%s'", c->name, c->error,
                    err->message);
        }
        /* A failed creation leaves nothing behind. */
        if (strcmp(c->name, "duplicate-id") != 0) {
            g_assert_null(wd_object_find("s"));
        }
    }
}

static void test_file_keeps_newline(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("secret-XXXXXX", &path, &err);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, "123456\n", 7), ==, 7);
    close(fd);
    setup();
    g_autofree char *spec = g_strdup_printf("secret,id=s,file=%s", path);
    g_assert_nonnull(add(spec, &err));
    uint8_t *data;
    size_t len;
    g_assert_true(wd_secret_lookup(NULL, "t", "s", &data, &len, &err));
    g_assert_cmpuint(len, ==, 7);
    g_assert_cmpmem(data, len, "123456\n", 7);
    wd_secret_free(data, len);
    unlink(path);
}

typedef struct {
    int fd;
    const uint8_t *data;
} PipeFeed;

static gpointer feed_pipe(gpointer opaque)
{
    PipeFeed *f = opaque;

    for (size_t off = 0; off < 100000; off += 1000) {
        g_assert_cmpint(write(f->fd, f->data + off, 1000), ==, 1000);
    }
    close(f->fd);
    return NULL;
}

/* A file read in pieces (a pipe has no size to go by) comes out whole. */
static void test_file_from_pipe(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree uint8_t *want = g_malloc(100000);
    int p[2];

    for (size_t i = 0; i < 100000; i++) {
        want[i] = (uint8_t)(i * 31 + 7);
    }
    g_assert_cmpint(pipe(p), ==, 0);
    PipeFeed feed = { .fd = p[1], .data = want };
    GThread *t = g_thread_new("feed", feed_pipe, &feed);
    setup();
    g_autofree char *spec = g_strdup_printf("secret,id=s,file=/proc/self/fd/%d",
                                            p[0]);
    g_assert_nonnull(add(spec, &err));
    g_assert_no_error(err);
    g_thread_join(t);
    close(p[0]);
    uint8_t *data;
    size_t len;
    g_assert_true(wd_secret_lookup(NULL, "t", "s", &data, &len, &err));
    g_assert_cmpmem(data, len, want, 100000);
    wd_secret_free(data, len);
}

static void test_in_use(void)
{
    g_autoptr(GError) err = NULL;

    setup();
    g_assert_nonnull(add("secret,id=s,data=zL/3CUYZC1IqOrRrzXqwsA==,"
                         "format=base64,keyid=master,iv=" IV, &err));
    g_assert_false(wd_object_delete("master", &err));
    g_assert_cmpstr(err->message, ==, "object 'master' is in use by 's' and "
                    "cannot be deleted; delete the user first");
    g_clear_error(&err);
    g_assert_true(wd_object_delete("s", &err));
    g_assert_true(wd_object_delete("master", &err));
    g_assert_false(wd_object_delete("master", &err));
    g_assert_cmpstr(err->message, ==, "object 'master' not found");
}

static void test_utf8(void)
{
    g_autoptr(GError) err = NULL;

    setup();
    g_assert_nonnull(add("secret,id=s,data=f0VMRgIBAQAAAA==,format=base64",
                         &err));
    g_assert_null(wd_secret_lookup_utf8(NULL, "t", "s", &err));
    g_assert_cmpstr(err->message, ==, "Data from secret s is not valid UTF-8");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    wd_objects_register_all();
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/secret/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_case);
    }
    g_test_add_func("/secret/file-keeps-newline", test_file_keeps_newline);
    g_test_add_func("/secret/file-from-pipe", test_file_from_pipe);
    g_test_add_func("/secret/in-use", test_in_use);
    g_test_add_func("/secret/utf8", test_utf8);
    int ret = g_test_run();
    wd_object_delete_all();
    return ret;
}
