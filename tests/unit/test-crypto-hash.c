/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Known-answer tests for runtime/crypto/hash: QEMU's vectors (one-shot,
 * iovec, hex, base64), empty-input digests, incremental hashing, result
 * buffers, names and error messages.
 */
#include <string.h>

#include "runtime/crypto/hash.h"
#include "runtime/error.h"

/* QEMU tests/unit/test-crypto-hash.c input, whole and as three pieces. */
#define INPUT_TEXT "Hiss hisss Hissss hiss Hiss hisss Hiss hiss"
#define INPUT_TEXT1 "Hiss hisss "
#define INPUT_TEXT2 "Hissss hiss "
#define INPUT_TEXT3 "Hiss hisss Hiss hiss"

typedef struct {
    WdHashAlg alg;
    const char *name;
    size_t len;
    const char *hex;            /* digest of INPUT_TEXT */
    const char *base64;         /* same, base64 */
    const char *empty_hex;      /* digest of "" */
} HashVector;

static const HashVector vectors[] = {
    { .alg = WD_HASH_ALG_MD5, .name = "md5", .len = 16,
      .hex = "628d206371563035ab8ef62f492bdec9",
      .base64 = "Yo0gY3FWMDWrjvYvSSveyQ==",
      .empty_hex = "d41d8cd98f00b204e9800998ecf8427e" },
    { .alg = WD_HASH_ALG_SHA1, .name = "sha1", .len = 20,
      .hex = "b2e74f26758a3a421e509cee045244b78753cc02",
      .base64 = "sudPJnWKOkIeUJzuBFJEt4dTzAI=",
      .empty_hex = "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
    { .alg = WD_HASH_ALG_SHA224, .name = "sha224", .len = 28,
      .hex = "e2f7415aad33ef79f6516b0986d7175f9ca3389a85bf6cfed078737b",
      .base64 = "4vdBWq0z73n2UWsJhtcXX5yjOJqFv2z+0Hhzew==",
      .empty_hex =
          "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f" },
    { .alg = WD_HASH_ALG_SHA256, .name = "sha256", .len = 32,
      .hex = "bc757abb0436586f392b437e5dd24096"
             "f7f224de6b74d4d86e2abc6121b160d0",
      .base64 = "vHV6uwQ2WG85K0N+XdJAlvfyJN5rdNTYbiq8YSGxYNA=",
      .empty_hex = "e3b0c44298fc1c149afbf4c8996fb924"
                   "27ae41e4649b934ca495991b7852b855" },
    { .alg = WD_HASH_ALG_SHA384, .name = "sha384", .len = 48,
      .hex = "887ce52efb4f46700376356583b7e2794f612bd024e44950"
             "87ddb946c448c69d56dbf7152a94a5e63a80f3ba9f0eed78",
      .base64 = "iHzlLvtPRnADdjVlg7fieU9hK9Ak5ElQh925RsRIxp1W2/cVKpSl5jqA"
                "87qfDu14",
      .empty_hex = "38b060a751ac96384cd9327eb1b1e36a21fdb71114be0743"
                   "4c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b" },
    { .alg = WD_HASH_ALG_SHA512, .name = "sha512", .len = 64,
      .hex = "3a90d79638235ec6c4c11bebd84d83c0549bc1e84edc4b6ec7086487641256cb"
             "63b54e4cb2d2032b393994aa263c0dbbe00a9f2fe9ef6037352232a1eec55ee7",
      .base64 = "OpDXljgjXsbEwRvr2E2DwFSbwehO3Etuxwhkh2QSVstjtU5MstIDKzk5lKom"
                "PA274AqfL+nvYDc1IjKh7sVe5w==",
      .empty_hex =
          "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
          "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e" },
    { .alg = WD_HASH_ALG_RIPEMD160, .name = "ripemd160", .len = 20,
      .hex = "f3d658fad3fdfb2b52c9369cf0d441249ddfa8a0",
      .base64 = "89ZY+tP9+ytSyTac8NRBJJ3fqKA=",
      .empty_hex = "9c1185a5c5e9fc54612808977ee8f548b2258d31" },
};

G_STATIC_ASSERT(G_N_ELEMENTS(vectors) == WD_HASH_ALG__MAX);

static void input_iov(struct iovec iov[3])
{
    iov[0] = (struct iovec){ .iov_base = INPUT_TEXT1,
                             .iov_len = strlen(INPUT_TEXT1) };
    iov[1] = (struct iovec){ .iov_base = INPUT_TEXT2,
                             .iov_len = strlen(INPUT_TEXT2) };
    iov[2] = (struct iovec){ .iov_base = INPUT_TEXT3,
                             .iov_len = strlen(INPUT_TEXT3) };
}

static void test_hash_alloc(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
        const HashVector *v = &vectors[i];
        g_autofree uint8_t *out = NULL;
        g_autofree char *hex = NULL;
        size_t outlen = 0;
        GError *err = NULL;

        g_assert_true(wd_hash_bytes(v->alg, INPUT_TEXT, strlen(INPUT_TEXT),
                                    &out, &outlen, &err));
        g_assert_no_error(err);
        g_assert_cmpuint(outlen, ==, v->len);
        hex = wd_hash_to_hex(out, outlen);
        g_assert_cmpstr(hex, ==, v->hex);
    }
}

static void test_hash_prealloc(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
        const HashVector *v = &vectors[i];
        uint8_t buf[WD_HASH_MAX_DIGEST_LEN + 8];
        uint8_t *out = buf;
        size_t outlen = sizeof(buf);
        g_autofree char *hex = NULL;

        memset(buf, 0xaa, sizeof(buf));
        g_assert_true(wd_hash_bytes(v->alg, INPUT_TEXT, strlen(INPUT_TEXT),
                                    &out, &outlen, NULL));
        g_assert_true(out == buf);
        g_assert_cmpuint(outlen, ==, v->len);
        hex = wd_hash_to_hex(out, outlen);
        g_assert_cmpstr(hex, ==, v->hex);
        /* Nothing written past the digest. */
        g_assert_cmpuint(buf[v->len], ==, 0xaa);
    }
}

static void test_hash_prealloc_short(void)
{
    uint8_t buf[31];
    uint8_t *out = buf;
    size_t outlen = sizeof(buf);
    GError *err = NULL;

    memset(buf, 0xaa, sizeof(buf));
    g_assert_false(wd_hash_bytes(WD_HASH_ALG_SHA256, INPUT_TEXT,
                                 strlen(INPUT_TEXT), &out, &outlen, &err));
    g_assert_error(err, WD_ERROR, WD_ERROR_GENERIC);
    g_assert_cmpstr(err->message, ==,
                    "Result buffer size 31 is smaller than hash 32");
    g_clear_error(&err);
    g_assert_true(out == buf);
    g_assert_cmpuint(outlen, ==, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++) {
        g_assert_cmpuint(buf[i], ==, 0xaa);
    }
}

static void test_hash_iov(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
        const HashVector *v = &vectors[i];
        struct iovec iov[3];
        g_autofree uint8_t *out = NULL;
        g_autofree char *hex = NULL;
        g_autofree char *hexv = NULL;
        size_t outlen = 0;

        input_iov(iov);
        g_assert_true(wd_hash_bytesv(v->alg, iov, 3, &out, &outlen, NULL));
        g_assert_cmpuint(outlen, ==, v->len);
        hex = wd_hash_to_hex(out, outlen);
        g_assert_cmpstr(hex, ==, v->hex);
        hexv = wd_hash_digestv(v->alg, iov, 3, NULL);
        g_assert_cmpstr(hexv, ==, v->hex);
    }
}

static void test_hash_digest(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
        const HashVector *v = &vectors[i];
        g_autofree char *hex = NULL;
        g_autofree char *empty = NULL;

        hex = wd_hash_digest(v->alg, INPUT_TEXT, strlen(INPUT_TEXT), NULL);
        g_assert_cmpstr(hex, ==, v->hex);
        empty = wd_hash_digest(v->alg, NULL, 0, NULL);
        g_assert_cmpstr(empty, ==, v->empty_hex);
    }
}

static void test_hash_base64(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
        const HashVector *v = &vectors[i];
        struct iovec iov[3];
        g_autofree char *b64 = NULL;
        g_autofree char *b64v = NULL;

        b64 = wd_hash_base64(v->alg, INPUT_TEXT, strlen(INPUT_TEXT), NULL);
        g_assert_cmpstr(b64, ==, v->base64);
        input_iov(iov);
        b64v = wd_hash_base64v(v->alg, iov, 3, NULL);
        g_assert_cmpstr(b64v, ==, v->base64);
    }
}

/* Incremental hashing in odd pieces equals one-shot, and finalize resets. */
static void test_hash_incremental(void)
{
    static const size_t steps[] = { 1, 3, 7, 64, 100 };
    g_autofree uint8_t *big = g_malloc(1000);

    for (size_t i = 0; i < 1000; i++) {
        big[i] = (uint8_t)(i * 7 + 3);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
        const HashVector *v = &vectors[i];
        g_autoptr(WdHash) hash = wd_hash_new(v->alg, NULL);
        g_autofree char *oneshot = wd_hash_digest(v->alg, big, 1000, NULL);
        g_autofree char *text = NULL;
        g_autofree char *empty = NULL;

        g_assert_nonnull(hash);
        g_assert_cmpint(wd_hash_get_alg(hash), ==, v->alg);
        for (size_t s = 0; s < G_N_ELEMENTS(steps); s++) {
            g_autofree char *hex = NULL;

            for (size_t off = 0; off < 1000; off += steps[s]) {
                wd_hash_update(hash, big + off, MIN(steps[s], 1000 - off));
            }
            hex = wd_hash_finalize_hex(hash);
            g_assert_cmpstr(hex, ==, oneshot);
        }

        /* The context is fresh after finalizing: hash the QEMU text. */
        wd_hash_update(hash, INPUT_TEXT1, strlen(INPUT_TEXT1));
        wd_hash_update(hash, NULL, 0);
        wd_hash_update(hash, INPUT_TEXT2 INPUT_TEXT3,
                       strlen(INPUT_TEXT2 INPUT_TEXT3));
        text = wd_hash_finalize_hex(hash);
        g_assert_cmpstr(text, ==, v->hex);

        empty = wd_hash_finalize_hex(hash);
        g_assert_cmpstr(empty, ==, v->empty_hex);
    }
}

static void test_hash_incremental_bytes(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
        const HashVector *v = &vectors[i];
        g_autoptr(WdHash) hash = wd_hash_new(v->alg, NULL);
        g_autofree uint8_t *out = NULL;
        g_autofree char *hex = NULL;
        uint8_t small[8];
        uint8_t *sp = small;
        size_t outlen = 0;
        size_t smalllen = sizeof(small);
        struct iovec iov[3];
        GError *err = NULL;
        g_autofree char *msg = NULL;

        input_iov(iov);
        wd_hash_updatev(hash, iov, 3);

        /* A short buffer fails and leaves the message unfinished. */
        g_assert_false(wd_hash_finalize_bytes(hash, &sp, &smalllen, &err));
        msg = g_strdup_printf("Result buffer size 8 is smaller than hash %zu",
                              v->len);
        g_assert_cmpstr(err->message, ==, msg);
        g_clear_error(&err);

        g_assert_true(wd_hash_finalize_bytes(hash, &out, &outlen, NULL));
        g_assert_cmpuint(outlen, ==, v->len);
        hex = wd_hash_to_hex(out, outlen);
        g_assert_cmpstr(hex, ==, v->hex);
    }
}

/* Hashing an iovec array equals hashing the concatenated buffer. */
static void test_hash_iov_concat(void)
{
    uint8_t data[777];
    struct iovec iov[6];
    static const size_t cuts[] = { 0, 1, 0, 300, 64, 412 };
    size_t off = 0;

    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i ^ (i >> 3));
    }
    for (size_t i = 0; i < G_N_ELEMENTS(iov); i++) {
        iov[i].iov_base = data + off;
        iov[i].iov_len = cuts[i];
        off += cuts[i];
    }
    g_assert_cmpuint(off, ==, sizeof(data));
    for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
        g_autofree char *whole = wd_hash_digest(vectors[i].alg, data,
                                                sizeof(data), NULL);
        g_autofree char *split = wd_hash_digestv(vectors[i].alg, iov,
                                                 G_N_ELEMENTS(iov), NULL);

        g_assert_nonnull(whole);
        g_assert_cmpstr(whole, ==, split);
    }
}

static void test_hash_names(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
        const HashVector *v = &vectors[i];
        WdHashAlg alg = WD_HASH_ALG__MAX;

        g_assert_true(wd_hash_supports(v->alg));
        g_assert_cmpstr(wd_hash_alg_name(v->alg), ==, v->name);
        g_assert_true(wd_hash_alg_from_name(v->name, &alg, NULL));
        g_assert_cmpint(alg, ==, v->alg);
        g_assert_cmpuint(wd_hash_digest_len(v->alg), ==, v->len);
    }
    g_assert_false(wd_hash_supports(WD_HASH_ALG__MAX));
    g_assert_false(wd_hash_supports((WdHashAlg)-1));
    g_assert_null(wd_hash_alg_name(WD_HASH_ALG__MAX));
    g_assert_cmpuint(wd_hash_digest_len(WD_HASH_ALG__MAX), ==, 0);
    g_assert_null(wd_hash_get_nettle(WD_HASH_ALG__MAX));
}

static void test_hash_errors(void)
{
    GError *err = NULL;
    WdHashAlg alg = WD_HASH_ALG_SHA256;
    uint8_t *out = NULL;
    size_t outlen = 0;

    g_assert_false(wd_hash_alg_from_name("SHA256", &alg, &err));
    g_assert_cmpstr(err->message, ==, "Unknown hash algorithm 'SHA256'");
    g_assert_cmpint(alg, ==, WD_HASH_ALG_SHA256);
    g_clear_error(&err);

    g_assert_false(wd_hash_alg_from_name("sm3", &alg, &err));
    g_assert_cmpstr(err->message, ==, "Unknown hash algorithm 'sm3'");
    g_clear_error(&err);

    g_assert_false(wd_hash_bytes(WD_HASH_ALG__MAX, "x", 1, &out, &outlen,
                                 &err));
    g_assert_cmpstr(err->message, ==, "Unknown hash algorithm 7");
    g_assert_null(out);
    g_clear_error(&err);

    g_assert_null(wd_hash_digest((WdHashAlg)42, "x", 1, &err));
    g_assert_cmpstr(err->message, ==, "Unknown hash algorithm 42");
    g_clear_error(&err);

    g_assert_null(wd_hash_base64((WdHashAlg)-3, "x", 1, &err));
    g_assert_cmpstr(err->message, ==, "Unknown hash algorithm -3");
    g_clear_error(&err);

    g_assert_null(wd_hash_new(WD_HASH_ALG__MAX, &err));
    g_assert_cmpstr(err->message, ==, "Unknown hash algorithm 7");
    g_clear_error(&err);

    wd_hash_free(NULL);
}

static void test_hash_to_hex(void)
{
    static const uint8_t bytes[] = { 0x00, 0x0f, 0xa5, 0xff };
    g_autofree char *hex = wd_hash_to_hex(bytes, sizeof(bytes));
    g_autofree char *none = wd_hash_to_hex(NULL, 0);

    g_assert_cmpstr(hex, ==, "000fa5ff");
    g_assert_cmpstr(none, ==, "");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/crypto/hash/alloc", test_hash_alloc);
    g_test_add_func("/crypto/hash/prealloc", test_hash_prealloc);
    g_test_add_func("/crypto/hash/prealloc-short", test_hash_prealloc_short);
    g_test_add_func("/crypto/hash/iov", test_hash_iov);
    g_test_add_func("/crypto/hash/iov-concat", test_hash_iov_concat);
    g_test_add_func("/crypto/hash/digest", test_hash_digest);
    g_test_add_func("/crypto/hash/base64", test_hash_base64);
    g_test_add_func("/crypto/hash/incremental", test_hash_incremental);
    g_test_add_func("/crypto/hash/incremental-bytes",
                    test_hash_incremental_bytes);
    g_test_add_func("/crypto/hash/names", test_hash_names);
    g_test_add_func("/crypto/hash/errors", test_hash_errors);
    g_test_add_func("/crypto/hash/to-hex", test_hash_to_hex);
    return g_test_run();
}
