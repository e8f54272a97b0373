/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Secret decoding. Deviation from QEMU (crypto/secret_common.c): QEMU
 * looks only at the last plaintext byte to strip padding, accepts a pad
 * length of 0 and inconsistent padding bytes, and reads before the buffer
 * for an empty ciphertext. We require valid PKCS#7 (what openssl enc
 * writes) and a non-empty ciphertext, so a wrong key or IV is reported
 * instead of yielding garbage.
 */
#include "runtime/secret-util.h"
#include "runtime/crypto/cipher.h"
#include "runtime/error.h"

#include <string.h>

#define SECRET_KEY_LEN 32
#define SECRET_IV_LEN 16
#define SECRET_BLOCK 16

bool wd_base64_decode_strict(const char *in, size_t len, uint8_t **out,
                             size_t *outlen, GError **errp)
{
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '\0') {
            wd_error_setg(errp, "Base64 data contains embedded NUL "
                          "characters");
            return false;
        }
        if (!g_ascii_isalnum(c) && c != '+' && c != '/' && c != '=' &&
            c != '\n') {
            wd_error_setg(errp, "Base64 data contains invalid characters");
            return false;
        }
    }
    g_autofree char *copy = g_strndup(in, len);
    gsize n = 0;
    *out = g_base64_decode(copy, &n);
    *outlen = n;
    explicit_bzero(copy, len);
    return true;
}

static bool decrypt(const uint8_t *ct, size_t ctlen, const uint8_t *key,
                    size_t keylen, const char *iv_b64, uint8_t **out,
                    size_t *outlen, GError **errp)
{
    g_autofree uint8_t *iv = NULL;
    size_t ivlen = 0;

    if (keylen != SECRET_KEY_LEN) {
        wd_error_setg(errp, "Key should be 32 bytes in length");
        return false;
    }
    if (!iv_b64) {
        wd_error_setg(errp, "IV is required to decrypt secret");
        return false;
    }
    if (!wd_base64_decode_strict(iv_b64, strlen(iv_b64), &iv, &ivlen,
                                 errp)) {
        g_prefix_error(errp, "iv: ");
        return false;
    }
    if (ivlen != SECRET_IV_LEN) {
        wd_error_setg(errp, "IV should be 16 bytes in length not %zu",
                      ivlen);
        return false;
    }
    if (ctlen == 0) {
        wd_error_setg(errp, "The encrypted secret is empty: expected "
                      "AES-256-CBC ciphertext of at least one 16-byte "
                      "block");
        return false;
    }
    if (ctlen % SECRET_BLOCK) {
        wd_error_setg(errp, "Length %zu must be a multiple of block size "
                      "16", ctlen);
        return false;
    }
    g_autoptr(WdCipher) c = wd_cipher_new(WD_CIPHER_ALG_AES_256,
                                          WD_CIPHER_MODE_CBC, key, keylen,
                                          errp);
    if (!c || !wd_cipher_set_iv(c, iv, ivlen, errp)) {
        return false;
    }
    uint8_t *pt = g_malloc(ctlen);
    if (!wd_cipher_decrypt(c, ct, pt, ctlen, errp)) {
        explicit_bzero(pt, ctlen);
        g_free(pt);
        return false;
    }
    unsigned pad = pt[ctlen - 1];
    bool ok = pad >= 1 && pad <= SECRET_BLOCK;
    for (size_t i = 0; ok && i < pad; i++) {
        ok = pt[ctlen - 1 - i] == pad;
    }
    if (!ok) {
        explicit_bzero(pt, ctlen);
        g_free(pt);
        wd_error_setg(errp, "Incorrect padding found on decrypted data: "
                      "the master key or IV is wrong, or the data was not "
                      "encrypted with AES-256-CBC and PKCS#7 padding (as "
                      "'openssl enc -aes-256-cbc' writes)");
        return false;
    }
    *outlen = ctlen - pad;
    explicit_bzero(pt + *outlen, pad);
    *out = pt;
    return true;
}

bool wd_secret_decode(const uint8_t *in, size_t inlen, bool base64,
                      const uint8_t *key, size_t keylen, const char *iv_b64,
                      uint8_t **out, size_t *outlen, GError **errp)
{
    uint8_t *buf = NULL;
    size_t len = 0;

    if (base64) {
        if (!wd_base64_decode_strict((const char *)in, inlen, &buf, &len,
                                     errp)) {
            return false;
        }
    } else {
        /* Copy exactly inlen bytes: an empty input is valid (fuzz-found:
         * copying one byte of an empty buffer read past its end). */
        buf = g_malloc(inlen + 1);
        memcpy(buf, in, inlen);
        len = inlen;
    }
    if (!key) {
        *out = buf;
        *outlen = len;
        return true;
    }
    bool ok = decrypt(buf, len, key, keylen, iv_b64, out, outlen, errp);
    explicit_bzero(buf, len);
    g_free(buf);
    return ok;
}
