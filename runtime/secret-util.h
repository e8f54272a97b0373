/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Decoding of secret inputs: base64 and AES-256-CBC master-key
 * encryption with strict PKCS#7 padding. Pure functions over bytes, used
 * by the secret object and driven by a fuzz target.
 */
#ifndef WARDEN_SECRET_UTIL_H
#define WARDEN_SECRET_UTIL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Decode base64 that uses only A-Z a-z 0-9 + / = and newlines (QEMU's
 * rule); @len bytes of @in, which must not contain NUL. On success *out
 * is a new buffer (wipe it if secret).
 */
bool wd_base64_decode_strict(const char *in, size_t len, uint8_t **out,
                             size_t *outlen, GError **errp);

/*
 * Turn the raw input of a secret into its value.
 * @base64: the input is base64 text (with @key: base64 of ciphertext).
 * @key/@keylen: the master key (must be 32 bytes) or NULL for plain input.
 * @iv_b64: base64 of the 16-byte IV; required with @key.
 * With a key the input is AES-256-CBC ciphertext whose PKCS#7 padding is
 * checked strictly (every padding byte, 1..16, non-empty input).
 */
bool wd_secret_decode(const uint8_t *in, size_t inlen, bool base64,
                      const uint8_t *key, size_t keylen, const char *iv_b64,
                      uint8_t **out, size_t *outlen, GError **errp);

#endif
