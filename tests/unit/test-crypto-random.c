/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests for runtime/crypto/random: buffers get filled (small, odd-sized
 * and larger than one getrandom() chunk), two draws differ, and a kernel
 * failure becomes an error with the exact message.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runtime/crypto/random.h"
#include "runtime/error.h"

static bool all_bytes_are(const uint8_t *buf, size_t len, uint8_t value)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != value) {
            return false;
        }
    }
    return true;
}

/*
 * Fill a buffer pre-set to 0x00 and again pre-set to 0xff: a random
 * 32-byte block equal to either pattern has probability 2^-255.
 */
static void test_random_fill(void)
{
    static const size_t sizes[] = { 1, 3, 16, 32, 255, 256, 257, 4097 };

    for (size_t s = 0; s < G_N_ELEMENTS(sizes); s++) {
        size_t len = sizes[s];
        g_autofree uint8_t *buf = g_malloc(len + 1);
        GError *err = NULL;

        for (int fill = 0; fill < 2; fill++) {
            uint8_t value = fill ? 0xff : 0x00;

            memset(buf, value, len + 1);
            g_assert_true(wd_random_bytes(buf, len, &err));
            g_assert_no_error(err);
            /* Nothing is written past the requested length. */
            g_assert_cmpuint(buf[len], ==, value);
            /* Only check spans where a false alarm is negligible. */
            for (size_t off = 0; off + 32 <= len; off += 32) {
                g_assert_false(all_bytes_are(buf + off, 32, value));
            }
        }
    }
}

static void test_random_differs(void)
{
    uint8_t a[32], b[32];

    g_assert_true(wd_random_bytes(a, sizeof(a), NULL));
    g_assert_true(wd_random_bytes(b, sizeof(b), NULL));
    g_assert_true(memcmp(a, b, sizeof(a)) != 0);
}

/* Every 4 KiB page of a 1 MiB buffer gets random data. */
static void test_random_large(void)
{
    size_t len = 1024 * 1024;
    g_autofree uint8_t *buf = g_malloc0(len);

    g_assert_true(wd_random_bytes(buf, len, NULL));
    for (size_t off = 0; off < len; off += 4096) {
        g_assert_false(all_bytes_are(buf + off, 4096, 0));
    }
}

static void test_random_empty(void)
{
    GError *err = NULL;

    g_assert_true(wd_random_bytes(NULL, 0, &err));
    g_assert_no_error(err);
}

/*
 * The kernel refuses to write into a read-only page (EFAULT).  A mapped
 * page rather than NULL keeps valgrind from flagging the test itself.
 */
static void test_random_error(void)
{
    GError *err = NULL;
    long pagesize = sysconf(_SC_PAGESIZE);
    void *page = mmap(NULL, pagesize, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    g_autofree char *msg = g_strdup_printf("Unable to read 16 random bytes: "
                                           "%s", g_strerror(EFAULT));

    g_assert_true(page != MAP_FAILED);
    g_assert_false(wd_random_bytes(page, 16, &err));
    g_assert_error(err, WD_ERROR, WD_ERROR_GENERIC);
    g_assert_cmpstr(err->message, ==, msg);
    g_clear_error(&err);
    g_assert_true(all_bytes_are(page, 16, 0));
    munmap(page, pagesize);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/crypto/random/fill", test_random_fill);
    g_test_add_func("/crypto/random/differs", test_random_differs);
    g_test_add_func("/crypto/random/large", test_random_large);
    g_test_add_func("/crypto/random/empty", test_random_empty);
    g_test_add_func("/crypto/random/error", test_random_error);
    return g_test_run();
}
