/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Known-answer vectors for tests/unit/test-crypto-cipher.c. */
#ifndef WARDEN_TESTS_CIPHER_VECTORS_H
#define WARDEN_TESTS_CIPHER_VECTORS_H

#include <stddef.h>

#include "runtime/crypto/cipher.h"

typedef struct {
    const char *path;
    WdCipherAlg alg;
    WdCipherMode mode;
    const char *key;            /* hex */
    const char *iv;             /* hex, NULL for none */
    const char *plaintext;      /* hex */
    const char *ciphertext;     /* hex */
} CipherVector;

extern const CipherVector cipher_vectors[];
extern const size_t n_cipher_vectors;

#endif
