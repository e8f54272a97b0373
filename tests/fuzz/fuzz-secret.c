/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz secret decoding: byte 0 picks base64 and encryption, bytes 1..24
 * are the IV text, the rest is the input.
 */
#include "runtime/secret-util.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[32] = {
        0xf6, 0x68, 0xa5, 0xa0, 0xf4, 0x02, 0xcc, 0x6c, 0xbe, 0x4c, 0xbe,
        0x9a, 0xa2, 0x77, 0xf3, 0x55, 0xca, 0x6d, 0x89, 0xb0, 0xa6, 0x08,
        0x88, 0x4a, 0xce, 0xb9, 0xe5, 0x7f, 0x08, 0x96, 0x8a, 0xf9,
    };
    uint8_t *out = NULL;
    size_t outlen = 0;
    g_autoptr(GError) err = NULL;

    if (size < 25) {
        return 0;
    }
    bool base64 = data[0] & 1;
    bool encrypted = data[0] & 2;
    size_t keylen = data[0] & 4 ? 16 : 32;
    g_autofree char *iv = g_strndup((const char *)data + 1, 24);
    if (wd_secret_decode(data + 25, size - 25, base64,
                         encrypted ? key : NULL, keylen, iv, &out, &outlen,
                         &err)) {
        g_assert(!err);
        g_assert(!encrypted || outlen < size);
        g_free(out);
    } else {
        g_assert(err && !out);
    }
    return 0;
}
