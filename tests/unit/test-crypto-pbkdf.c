/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Known-answer tests for runtime/crypto/pbkdf: QEMU's PBKDF2 vectors
 * (RFC 3962, RFC 6070 and cryptsetup-derived ones for the other hashes),
 * argument errors, and the iteration-count measurement.
 */
#include <string.h>
#include <time.h>

#include "runtime/crypto/pbkdf.h"
#include "runtime/error.h"

typedef struct {
    const char *path;
    WdHashAlg hash;
    uint64_t iterations;
    bool slow;                  /* only run with -m slow */
    const char *key;            /* hex */
    const char *salt;           /* hex */
    const char *out;            /* hex, its length sets nout */
} PbkdfVector;

static const PbkdfVector vectors[] = {
    { .path = "rfc3962/sha1/iter1",
      .hash = WD_HASH_ALG_SHA1, .iterations = 1,
      .key = "70617373776f7264",
      .salt = "415448454e412e4d49542e4544557261656275726e",
      .out = "cdedb5281bb2f801565a1122b25635150ad1f7a04bb9f3a333ecc0e2e1f70837",
    },
    { .path = "rfc3962/sha1/iter2",
      .hash = WD_HASH_ALG_SHA1, .iterations = 2,
      .key = "70617373776f7264",
      .salt = "415448454e412e4d49542e4544557261656275726e",
      .out = "01dbee7f4a9e243e988b62c73cda935da05378b93244ec8f48a99e61ad799d86",
    },
    { .path = "rfc3962/sha1/iter1200a",
      .hash = WD_HASH_ALG_SHA1, .iterations = 1200,
      .key = "70617373776f7264",
      .salt = "415448454e412e4d49542e4544557261656275726e",
      .out = "5c08eb61fdf71e4e4ec3cf6ba1f5512ba7e52ddbc5e5142f708a31e2e62b1e13",
    },
    { .path = "rfc3962/sha1/iter5",
      .hash = WD_HASH_ALG_SHA1, .iterations = 5,
      .key = "70617373776f7264",
      .salt = "1234567878563412",
      .out = "d1daa78615f287e6a1c8b120d7062a493f98d203e6be49a6adf4fa574b6e64ee",
    },
    { .path = "rfc3962/sha1/iter1200b",
      .hash = WD_HASH_ALG_SHA1, .iterations = 1200,
      .key =
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858",
      .salt = "706173732070687261736520657175616c7320626c6f636b2073697a65",
      .out = "139c30c0966bc32ba55fdbf212530ac9c5ec59f1a452f5cc9ad940fea0598ed1",
    },
    { .path = "rfc3962/sha1/iter1200c",
      .hash = WD_HASH_ALG_SHA1, .iterations = 1200,
      .key =
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "58",
      .salt = "7061737320706872617365206578636565647320626c6f636b2073697a65",
      .out = "9ccad6d468770cd51b10e6a68721be611a8b4d282601db3b36be9246915ec82a",
    },
    { .path = "rfc3962/sha1/iter50",
      .hash = WD_HASH_ALG_SHA1, .iterations = 50,
      .key = "f09d849e",
      .salt = "4558414d504c452e434f4d7069616e697374",
      .out = "6b9cf26d45455a43a5b8bb276a403b39e7fe37a0c41e02c281ff3069e1e94f52",
    },
    { .path = "rfc6070/sha1/iter1",
      .hash = WD_HASH_ALG_SHA1, .iterations = 1,
      .key = "70617373776f7264",
      .salt = "73616c74",
      .out = "0c60c80f961f0e71f3a9b524af6012062fe037a6",
    },
    { .path = "rfc6070/sha1/iter2",
      .hash = WD_HASH_ALG_SHA1, .iterations = 2,
      .key = "70617373776f7264",
      .salt = "73616c74",
      .out = "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957",
    },
    { .path = "rfc6070/sha1/iter4096",
      .hash = WD_HASH_ALG_SHA1, .iterations = 4096,
      .key = "70617373776f7264",
      .salt = "73616c74",
      .out = "4b007901b765489abead49d926f721d065a429c1",
    },
    { .path = "rfc6070/sha1/iter16777216",
      .hash = WD_HASH_ALG_SHA1, .iterations = 16777216, .slow = true,
      .key = "70617373776f7264",
      .salt = "73616c74",
      .out = "eefe3d61cd4da4e4e9945b3d6ba2158c2634e984",
    },
    { .path = "rfc6070/sha1/iter4096a",
      .hash = WD_HASH_ALG_SHA1, .iterations = 4096,
      .key = "70617373776f726450415353574f524470617373776f7264",
      .salt =
          "73616c7453414c5473616c7453414c5473616c7453414c5473616c7453414c54"
          "73616c74",
      .out = "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038",
    },
    { .path = "rfc6070/sha1/iter4096b",
      .hash = WD_HASH_ALG_SHA1, .iterations = 4096,
      .key = "7061737300776f7264",
      .salt = "7361006c74",
      .out = "56fa6aa75548099dcc37d7f03425e0c3",
    },
    { .path = "nonrfc/sha1/iter2",
      .hash = WD_HASH_ALG_SHA1, .iterations = 2,
      .key = "",
      .salt = "73616c74",
      .out = "133a4ce837b4d2521ee2bf03e11c71ca794e0797",
    },
    { .path = "nonrfc/sha256/iter1200",
      .hash = WD_HASH_ALG_SHA256, .iterations = 1200,
      .key =
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "58",
      .salt = "7061737320706872617365206578636565647320626c6f636b2073697a65",
      .out = "22344bc4b6e32675a8090f3ea80be01d5f95126a2cddc3facc4a5e6dca04ec58",
    },
    { .path = "nonrfc/sha512/iter1200",
      .hash = WD_HASH_ALG_SHA512, .iterations = 1200,
      .key =
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "58",
      .salt = "7061737320706872617365206578636565647320626c6f636b2073697a65",
      .out = "0fb2ed2c0e6efb7d7d8edd5801b45972999216305ea4368d761480f3e37a22b9",
    },
    { .path = "nonrfc/sha224/iter1200",
      .hash = WD_HASH_ALG_SHA224, .iterations = 1200,
      .key =
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "58",
      .salt = "7061737320706872617365206578636565647320626c6f636b2073697a65",
      .out = "133b880c0e52a241493335a6c383ae23f677439e5b30923e4a3aaa24693ced20",
    },
    { .path = "nonrfc/sha384/iter1200",
      .hash = WD_HASH_ALG_SHA384, .iterations = 1200,
      .key =
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "58",
      .salt = "7061737320706872617365206578636565647320626c6f636b2073697a65",
      .out = "fee3e184c9253e1047c87d53c6a5e377294176bd4be39bac056c11dd17c59380",
    },
    { .path = "nonrfc/ripemd160/iter1200",
      .hash = WD_HASH_ALG_RIPEMD160, .iterations = 1200,
      .key =
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "58",
      .salt = "7061737320706872617365206578636565647320626c6f636b2073697a65",
      .out = "d6cbd8a7db0ca22a235e47afdbdaa8efe4010d6fb533c8bdcebf91148b5c4841",
    },
    /* Not in QEMU's set: computed with Python's hashlib.pbkdf2_hmac. */
    { .path = "nonrfc/md5/iter1200",
      .hash = WD_HASH_ALG_MD5, .iterations = 1200,
      .key =
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "5858585858585858585858585858585858585858585858585858585858585858"
          "58",
      .salt = "7061737320706872617365206578636565647320626c6f636b2073697a65",
      .out = "1a457ba8d00b09bae2db5ce4486c67a3e8c46d91980190f48e4b3859012d2fd0",
    },
};

static uint8_t *unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex) / 2;
    uint8_t *buf = g_malloc0(n + 1);

    g_assert_cmpuint(strlen(hex) % 2, ==, 0);
    for (size_t i = 0; i < n; i++) {
        int hi = g_ascii_xdigit_value(hex[i * 2]);
        int lo = g_ascii_xdigit_value(hex[i * 2 + 1]);

        g_assert_cmpint(hi, >=, 0);
        g_assert_cmpint(lo, >=, 0);
        buf[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n;
    return buf;
}

static void test_pbkdf_vector(gconstpointer opaque)
{
    const PbkdfVector *v = opaque;
    size_t nkey, nsalt, nout;
    g_autofree uint8_t *key = unhex(v->key, &nkey);
    g_autofree uint8_t *salt = unhex(v->salt, &nsalt);
    g_autofree uint8_t *expect = unhex(v->out, &nout);
    g_autofree uint8_t *out = g_malloc(nout + 1);
    GError *err = NULL;

    if (v->slow && !g_test_slow()) {
        g_test_skip("slow test: run with -m slow");
        return;
    }
    g_assert_true(wd_pbkdf2_supports(v->hash));
    out[nout] = 0xa5;
    g_assert_true(wd_pbkdf2(v->hash, nkey ? key : NULL, nkey, salt, nsalt,
                            v->iterations, out, nout, &err));
    g_assert_no_error(err);
    g_assert_cmpmem(out, nout, expect, nout);
    g_assert_cmpuint(out[nout], ==, 0xa5);
}

static void test_pbkdf_errors(void)
{
    uint8_t out[20];
    GError *err = NULL;

    memset(out, 0x5a, sizeof(out));
    g_assert_false(wd_pbkdf2(WD_HASH_ALG_SHA256, (const uint8_t *)"pw", 2,
                             (const uint8_t *)"salt", 4, 0, out, sizeof(out),
                             &err));
    g_assert_error(err, WD_ERROR, WD_ERROR_GENERIC);
    g_assert_cmpstr(err->message, ==,
                    "PBKDF2 iteration count must be at least 1");
    g_clear_error(&err);

    g_assert_false(wd_pbkdf2(WD_HASH_ALG_SHA256, (const uint8_t *)"pw", 2,
                             (const uint8_t *)"salt", 4,
                             (uint64_t)UINT32_MAX + 1, out, sizeof(out),
                             &err));
    g_assert_cmpstr(err->message, ==, "PBKDF2 iteration count 4294967296 is "
                    "larger than the maximum 4294967295");
    g_clear_error(&err);

    g_assert_false(wd_pbkdf2(WD_HASH_ALG__MAX, (const uint8_t *)"pw", 2,
                             (const uint8_t *)"salt", 4, 1, out, sizeof(out),
                             &err));
    g_assert_cmpstr(err->message, ==,
                    "PBKDF2 does not support hash algorithm 7");
    g_clear_error(&err);
    g_assert_false(wd_pbkdf2_supports(WD_HASH_ALG__MAX));

    /* Failures leave the output alone. */
    for (size_t i = 0; i < sizeof(out); i++) {
        g_assert_cmpuint(out[i], ==, 0x5a);
    }

    /* Zero output bytes is a valid, empty request. */
    g_assert_true(wd_pbkdf2(WD_HASH_ALG_SHA1, NULL, 0, NULL, 0, 1, NULL, 0,
                            &err));
    g_assert_no_error(err);
}

static void test_pbkdf_count_errors(void)
{
    GError *err = NULL;

    g_assert_cmpuint(wd_pbkdf2_count_iters(WD_HASH_ALG__MAX,
                                           (const uint8_t *)"pw", 2,
                                           (const uint8_t *)"salt", 4, 32,
                                           100, &err), ==, 0);
    g_assert_cmpstr(err->message, ==,
                    "PBKDF2 does not support hash algorithm 7");
    g_clear_error(&err);

    g_assert_cmpuint(wd_pbkdf2_count_iters(WD_HASH_ALG_SHA256,
                                           (const uint8_t *)"pw", 2,
                                           (const uint8_t *)"salt", 4, 32,
                                           0, &err), ==, 0);
    g_assert_cmpstr(err->message, ==,
                    "PBKDF2 target time must be at least 1 ms");
    g_clear_error(&err);

    g_assert_cmpuint(wd_pbkdf2_count_iters(WD_HASH_ALG_SHA256,
                                           (const uint8_t *)"pw", 2,
                                           (const uint8_t *)"salt", 4, 0,
                                           100, &err), ==, 0);
    g_assert_cmpstr(err->message, ==,
                    "PBKDF2 output length must be at least 1 byte");
    g_clear_error(&err);

    /* ~2^52 ms is far beyond what 2^32 iterations of MD5 can take. */
    g_assert_cmpuint(wd_pbkdf2_count_iters(WD_HASH_ALG_MD5,
                                           (const uint8_t *)"pw", 2,
                                           (const uint8_t *)"salt", 4, 16,
                                           1ULL << 52, &err), ==, 0);
    g_assert_cmpstr(err->message, ==, "PBKDF2 with hash 'md5' needs more "
                    "than 4294967295 iterations to take 4503599627370496 ms");
    g_clear_error(&err);
}

static uint64_t thread_cpu_ms(void)
{
    struct timespec ts;

    g_assert_cmpint(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts), ==, 0);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The count must scale with the target, and running that many iterations
 * must take about the target CPU time.  The bounds are loose (factor 4)
 * because CI machines are shared and CPU frequency varies.
 */
static void test_pbkdf_count_iters(void)
{
    static const uint8_t key[] = "password";
    static const uint8_t salt[] = "saltSALTsalt";
    uint8_t out[32];
    GError *err = NULL;
    uint64_t iters, iters_long, start, spent;

    iters = wd_pbkdf2_count_iters(WD_HASH_ALG_SHA256, key, 8, salt, 12,
                                  sizeof(out), 100, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(iters, >, 0);
    g_assert_cmpuint(iters, <=, UINT32_MAX);

    start = thread_cpu_ms();
    g_assert_true(wd_pbkdf2(WD_HASH_ALG_SHA256, key, 8, salt, 12, iters,
                            out, sizeof(out), NULL));
    spent = thread_cpu_ms() - start;
    g_test_message("%" G_GUINT64_FORMAT " iterations for 100 ms took %"
                   G_GUINT64_FORMAT " ms", iters, spent);
    g_assert_cmpuint(spent, >=, 25);
    g_assert_cmpuint(spent, <=, 400);

    iters_long = wd_pbkdf2_count_iters(WD_HASH_ALG_SHA256, key, 8, salt, 12,
                                       sizeof(out), 1000, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(iters_long, >=, iters * 10 / 4);
    g_assert_cmpuint(iters_long, <=, iters * 10 * 4);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
        g_autofree char *path = g_strdup_printf("/crypto/pbkdf/%s",
                                                vectors[i].path);

        g_test_add_data_func(path, &vectors[i], test_pbkdf_vector);
    }
    g_test_add_func("/crypto/pbkdf/errors", test_pbkdf_errors);
    g_test_add_func("/crypto/pbkdf/count-iters-errors",
                    test_pbkdf_count_errors);
    g_test_add_func("/crypto/pbkdf/count-iters", test_pbkdf_count_iters);
    return g_test_run();
}
