/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Known-answer tests for runtime/crypto/hmac: QEMU's vectors for every
 * hash (bytes, iovec, hex), RFC 4231 case 2, keys longer than a block,
 * reuse of a keyed HMAC, result buffers and error messages.
 */
#include <string.h>

#include "runtime/crypto/hmac.h"
#include "runtime/error.h"

/* QEMU tests/unit/test-crypto-hmac.c key and message. */
#define KEY "monkey monkey monkey monkey"
#define INPUT_TEXT "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
    "0123456789"
#define INPUT_TEXT1 "ABCDEFGHIJKLMNOPQRSTUVWXY"
#define INPUT_TEXT2 "Zabcdefghijklmnopqrstuvwx"
#define INPUT_TEXT3 "yz0123456789"

typedef struct {
    WdHashAlg alg;
    const char *hex;
} HmacVector;

static const HmacVector vectors[] = {
    { .alg = WD_HASH_ALG_MD5, .hex = "ede9cb83679ba82d88fbeae865b3f8fc" },
    { .alg = WD_HASH_ALG_SHA1,
      .hex = "c7b5a631e3aac975c4ededfcd346e469dbc5f2d1" },
    { .alg = WD_HASH_ALG_SHA224,
      .hex = "5f768179dbb29ca722875d0f461a2e2f597d0210340a84df1a8e9c63" },
    { .alg = WD_HASH_ALG_SHA256,
      .hex = "3798f363c57afa6edaffe39016ca7bad"
             "efd1e670afb0e3987194307dec3197db" },
    { .alg = WD_HASH_ALG_SHA384,
      .hex = "d218680a6032d33dccd9882d6a6a716464f26623be257a9b"
             "2919b185294f4a499e54b190bfd6bc5cedd2cd05c7e65e82" },
    { .alg = WD_HASH_ALG_SHA512,
      .hex = "835a4f5b3750b4c1fccfa88da2f746a4900160c9f18964309bb736c1"
             "3b59491b8e32d37b724cc5aebb0f554c6338a3b594c4ba26862b2dad"
             "b59b7ede1d08d53e" },
    { .alg = WD_HASH_ALG_RIPEMD160,
      .hex = "94964ed4c1155b62b668c241d67279e58a711676" },
};

G_STATIC_ASSERT(G_N_ELEMENTS(vectors) == WD_HASH_ALG__MAX);

static WdHmac *new_hmac(WdHashAlg alg)
{
    GError *err = NULL;
    WdHmac *hmac = wd_hmac_new(alg, (const uint8_t *)KEY, strlen(KEY), &err);

    g_assert_no_error(err);
    g_assert_nonnull(hmac);
    return hmac;
}

static void input_iov(struct iovec iov[3])
{
    iov[0] = (struct iovec){ .iov_base = INPUT_TEXT1,
                             .iov_len = strlen(INPUT_TEXT1) };
    iov[1] = (struct iovec){ .iov_base = INPUT_TEXT2,
                             .iov_len = strlen(INPUT_TEXT2) };
    iov[2] = (struct iovec){ .iov_base = INPUT_TEXT3,
                             .iov_len = strlen(INPUT_TEXT3) };
}

static void test_hmac_alloc(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
        g_autoptr(WdHmac) hmac = new_hmac(vectors[i].alg);
        g_autofree uint8_t *out = NULL;
        g_autofree char *hex = NULL;
        size_t outlen = 0;

        g_assert_true(wd_hmac_supports(vectors[i].alg));
        g_assert_cmpint(wd_hmac_get_alg(hmac), ==, vectors[i].alg);
        g_assert_true(wd_hmac_bytes(hmac, INPUT_TEXT, strlen(INPUT_TEXT),
                                    &out, &outlen, NULL));
        g_assert_cmpuint(outlen, ==, wd_hash_digest_len(vectors[i].alg));
        hex = wd_hash_to_hex(out, outlen);
        g_assert_cmpstr(hex, ==, vectors[i].hex);
    }
}

static void test_hmac_prealloc(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
        g_autoptr(WdHmac) hmac = new_hmac(vectors[i].alg);
        size_t dlen = wd_hash_digest_len(vectors[i].alg);
        uint8_t buf[WD_HASH_MAX_DIGEST_LEN];
        uint8_t *out = buf;
        size_t outlen = dlen;
        g_autofree char *hex = NULL;
        g_autofree char *msg = NULL;
        GError *err = NULL;

        /* One byte short: refused, and the HMAC is still usable. */
        outlen = dlen - 1;
        g_assert_false(wd_hmac_bytes(hmac, INPUT_TEXT, strlen(INPUT_TEXT),
                                     &out, &outlen, &err));
        msg = g_strdup_printf("Result buffer size %zu is smaller than "
                              "hash %zu", dlen - 1, dlen);
        g_assert_cmpstr(err->message, ==, msg);
        g_clear_error(&err);

        outlen = dlen;
        g_assert_true(wd_hmac_bytes(hmac, INPUT_TEXT, strlen(INPUT_TEXT),
                                    &out, &outlen, NULL));
        g_assert_true(out == buf);
        g_assert_cmpuint(outlen, ==, dlen);
        hex = wd_hash_to_hex(out, outlen);
        g_assert_cmpstr(hex, ==, vectors[i].hex);
    }
}

static void test_hmac_iov(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
        g_autoptr(WdHmac) hmac = new_hmac(vectors[i].alg);
        g_autofree uint8_t *out = NULL;
        g_autofree char *hex = NULL;
        size_t outlen = 0;
        struct iovec iov[3];

        input_iov(iov);
        g_assert_true(wd_hmac_bytesv(hmac, iov, 3, &out, &outlen, NULL));
        hex = wd_hash_to_hex(out, outlen);
        g_assert_cmpstr(hex, ==, vectors[i].hex);
    }
}

static void test_hmac_digest(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
        g_autoptr(WdHmac) hmac = new_hmac(vectors[i].alg);
        g_autofree char *hex = NULL;
        g_autofree char *again = NULL;
        g_autofree char *hexv = NULL;
        struct iovec iov[3];

        hex = wd_hmac_digest(hmac, INPUT_TEXT, strlen(INPUT_TEXT), NULL);
        g_assert_cmpstr(hex, ==, vectors[i].hex);
        /* The HMAC stays keyed: the same message gives the same MAC. */
        again = wd_hmac_digest(hmac, INPUT_TEXT, strlen(INPUT_TEXT), NULL);
        g_assert_cmpstr(again, ==, vectors[i].hex);
        input_iov(iov);
        hexv = wd_hmac_digestv(hmac, iov, 3, NULL);
        g_assert_cmpstr(hexv, ==, vectors[i].hex);
    }
}

/* RFC 4231 test case 2 (short key) and a key longer than a hash block. */
static void test_hmac_rfc4231(void)
{
    static const char data[] = "what do ya want for nothing?";
    g_autoptr(WdHmac) hmac = wd_hmac_new(WD_HASH_ALG_SHA256,
                                         (const uint8_t *)"Jefe", 4, NULL);
    g_autofree char *hex = wd_hmac_digest(hmac, data, strlen(data), NULL);

    g_assert_cmpstr(hex, ==, "5bdcc146bf60754e6a042426089575c7"
                             "5a003f089d2739839dec58b964ec3843");
}

/*
 * RFC 4231 test case 6: a 131-byte key (longer than SHA-256's 64-byte
 * block) is hashed first.
 */
static void test_hmac_long_key(void)
{
    static const char data[] =
        "Test Using Larger Than Block-Size Key - Hash Key First";
    uint8_t key[131];
    g_autoptr(WdHmac) hmac = NULL;
    g_autofree char *hex = NULL;

    memset(key, 0xaa, sizeof(key));
    hmac = wd_hmac_new(WD_HASH_ALG_SHA256, key, sizeof(key), NULL);
    hex = wd_hmac_digest(hmac, data, strlen(data), NULL);
    g_assert_cmpstr(hex, ==, "60e431591ee0b67f0d8a26aacbf5b77f"
                             "8e0bc6213728c5140546040f0ee37f54");
}

/* An empty key is allowed (HMAC pads it with zeros). */
static void test_hmac_empty_key(void)
{
    g_autoptr(WdHmac) hmac = wd_hmac_new(WD_HASH_ALG_SHA256, NULL, 0, NULL);
    g_autofree char *hex = wd_hmac_digest(hmac, NULL, 0, NULL);

    g_assert_cmpstr(hex, ==, "b613679a0814d9ec772f95d778c35fc5"
                             "ff1697c493715653c6c712144292c5ad");
}

static void test_hmac_errors(void)
{
    GError *err = NULL;

    g_assert_null(wd_hmac_new(WD_HASH_ALG__MAX, (const uint8_t *)KEY,
                              strlen(KEY), &err));
    g_assert_error(err, WD_ERROR, WD_ERROR_GENERIC);
    g_assert_cmpstr(err->message, ==, "Unknown hash algorithm 7 for HMAC");
    g_clear_error(&err);

    g_assert_null(wd_hmac_new((WdHashAlg)-1, NULL, 0, &err));
    g_assert_cmpstr(err->message, ==, "Unknown hash algorithm -1 for HMAC");
    g_clear_error(&err);

    g_assert_false(wd_hmac_supports(WD_HASH_ALG__MAX));
    wd_hmac_free(NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/crypto/hmac/alloc", test_hmac_alloc);
    g_test_add_func("/crypto/hmac/prealloc", test_hmac_prealloc);
    g_test_add_func("/crypto/hmac/iov", test_hmac_iov);
    g_test_add_func("/crypto/hmac/digest", test_hmac_digest);
    g_test_add_func("/crypto/hmac/rfc4231-2", test_hmac_rfc4231);
    g_test_add_func("/crypto/hmac/rfc4231-6-long-key", test_hmac_long_key);
    g_test_add_func("/crypto/hmac/empty-key", test_hmac_empty_key);
    g_test_add_func("/crypto/hmac/errors", test_hmac_errors);
    return g_test_run();
}
