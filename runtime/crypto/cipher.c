/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Block ciphers on nettle: the algorithm table (nettle's generic cipher
 * descriptions, plus our own for DES/3DES), key and IV checks, and the
 * ECB/CBC/CTR/XTS modes on top of nettle's cbc.h, ctr.h and xts.h.
 */
#include "runtime/crypto/cipher.h"

#include <string.h>

#include <nettle/aes.h>
#include <nettle/cast128.h>
#include <nettle/cbc.h>
#include <nettle/ctr.h>
#include <nettle/des.h>
#include <nettle/nettle-meta.h>
#include <nettle/serpent.h>
#include <nettle/twofish.h>
#include <nettle/xts.h>

#include "runtime/error.h"

/*
 * nettle's des_set_key()/des3_set_key() return 0 for weak keys but still
 * set up the key schedule.  VNC derives the DES key from a password, and
 * an empty password gives the weak all-zero key, which VNC clients expect
 * to work; QEMU ignores the result too.  DES exists here only for that
 * compatibility.
 */
static void des_set_key_any(void *ctx, const uint8_t *key)
{
    (void)des_set_key(ctx, key);
}

static void des_encrypt_any(const void *ctx, size_t len, uint8_t *dst,
                            const uint8_t *src)
{
    des_encrypt(ctx, len, dst, src);
}

static void des_decrypt_any(const void *ctx, size_t len, uint8_t *dst,
                            const uint8_t *src)
{
    des_decrypt(ctx, len, dst, src);
}

static void des3_set_key_any(void *ctx, const uint8_t *key)
{
    (void)des3_set_key(ctx, key);
}

static void des3_encrypt_any(const void *ctx, size_t len, uint8_t *dst,
                             const uint8_t *src)
{
    des3_encrypt(ctx, len, dst, src);
}

static void des3_decrypt_any(const void *ctx, size_t len, uint8_t *dst,
                             const uint8_t *src)
{
    des3_decrypt(ctx, len, dst, src);
}

/* nettle-meta.h has no entries for DES and 3DES: describe them here. */
static const struct nettle_cipher cipher_nettle_des = {
    .name = "des",
    .context_size = sizeof(struct des_ctx),
    .block_size = DES_BLOCK_SIZE,
    .key_size = DES_KEY_SIZE,
    .set_encrypt_key = des_set_key_any,
    .set_decrypt_key = des_set_key_any,
    .encrypt = des_encrypt_any,
    .decrypt = des_decrypt_any,
};

static const struct nettle_cipher cipher_nettle_des3 = {
    .name = "des3",
    .context_size = sizeof(struct des3_ctx),
    .block_size = DES3_BLOCK_SIZE,
    .key_size = DES3_KEY_SIZE,
    .set_encrypt_key = des3_set_key_any,
    .set_decrypt_key = des3_set_key_any,
    .encrypt = des3_encrypt_any,
    .decrypt = des3_decrypt_any,
};

typedef struct {
    const char *name;
    const struct nettle_cipher *nettle;
} CipherInfo;

/* Indexed by WdCipherAlg; names are QAPI's QCryptoCipherAlgorithm. */
static const CipherInfo cipher_info[WD_CIPHER_ALG__MAX] = {
    [WD_CIPHER_ALG_AES_128] = { "aes-128", &nettle_aes128 },
    [WD_CIPHER_ALG_AES_192] = { "aes-192", &nettle_aes192 },
    [WD_CIPHER_ALG_AES_256] = { "aes-256", &nettle_aes256 },
    [WD_CIPHER_ALG_DES] = { "des", &cipher_nettle_des },
    [WD_CIPHER_ALG_3DES] = { "3des", &cipher_nettle_des3 },
    [WD_CIPHER_ALG_CAST5_128] = { "cast5-128", &nettle_cast128 },
    [WD_CIPHER_ALG_SERPENT_128] = { "serpent-128", &nettle_serpent128 },
    [WD_CIPHER_ALG_SERPENT_192] = { "serpent-192", &nettle_serpent192 },
    [WD_CIPHER_ALG_SERPENT_256] = { "serpent-256", &nettle_serpent256 },
    [WD_CIPHER_ALG_TWOFISH_128] = { "twofish-128", &nettle_twofish128 },
    [WD_CIPHER_ALG_TWOFISH_192] = { "twofish-192", &nettle_twofish192 },
    [WD_CIPHER_ALG_TWOFISH_256] = { "twofish-256", &nettle_twofish256 },
};

/* Indexed by WdCipherMode; names are QAPI's QCryptoCipherMode. */
static const char *const cipher_mode_names[WD_CIPHER_MODE__MAX] = {
    [WD_CIPHER_MODE_ECB] = "ecb",
    [WD_CIPHER_MODE_CBC] = "cbc",
    [WD_CIPHER_MODE_XTS] = "xts",
    [WD_CIPHER_MODE_CTR] = "ctr",
};

struct WdCipher {
    WdCipherAlg alg;
    WdCipherMode mode;
    const struct nettle_cipher *nettle;
    size_t block_len;
    void *enc_ctx;      /* encryption key schedule (all modes) */
    void *dec_ctx;      /* decryption key schedule (ECB, CBC, XTS) */
    void *twk_ctx;      /* XTS: encryption schedule of the tweak key */
    /* CBC: chaining value; CTR: next counter block; XTS: the tweak. */
    uint8_t iv[WD_CIPHER_MAX_BLOCK_LEN];
    /*
     * CTR: keystream of the last counter block, of which the final
     * ks_left bytes have not been used yet (a call ended mid-block).
     */
    uint8_t keystream[WD_CIPHER_MAX_BLOCK_LEN];
    size_t ks_left;
};

/* Enums may come from integers parsed elsewhere: never index blindly. */
static bool cipher_alg_valid(WdCipherAlg alg)
{
    return (unsigned int)alg < WD_CIPHER_ALG__MAX;
}

static bool cipher_mode_valid(WdCipherMode mode)
{
    return (unsigned int)mode < WD_CIPHER_MODE__MAX;
}

bool wd_cipher_supports(WdCipherAlg alg, WdCipherMode mode)
{
    if (!cipher_alg_valid(alg) || !cipher_mode_valid(mode)) {
        return false;
    }
    /*
     * XTS multiplies the tweak in GF(2^128): it is defined for 16-byte
     * blocks only (IEEE 1619), not for the 8-byte DES/3DES/CAST5 blocks.
     */
    if (mode == WD_CIPHER_MODE_XTS) {
        return cipher_info[alg].nettle->block_size == XTS_BLOCK_SIZE;
    }
    return true;
}

const char *wd_cipher_alg_name(WdCipherAlg alg)
{
    return cipher_alg_valid(alg) ? cipher_info[alg].name : NULL;
}

const char *wd_cipher_mode_name(WdCipherMode mode)
{
    return cipher_mode_valid(mode) ? cipher_mode_names[mode] : NULL;
}

bool wd_cipher_alg_from_name(const char *name, WdCipherAlg *alg,
                             GError **errp)
{
    for (int i = 0; i < WD_CIPHER_ALG__MAX; i++) {
        if (strcmp(cipher_info[i].name, name) == 0) {
            *alg = (WdCipherAlg)i;
            return true;
        }
    }
    wd_error_setg(errp, "Unknown cipher algorithm '%s'", name);
    return false;
}

bool wd_cipher_mode_from_name(const char *name, WdCipherMode *mode,
                              GError **errp)
{
    for (int i = 0; i < WD_CIPHER_MODE__MAX; i++) {
        if (strcmp(cipher_mode_names[i], name) == 0) {
            *mode = (WdCipherMode)i;
            return true;
        }
    }
    wd_error_setg(errp, "Unknown cipher mode '%s'", name);
    return false;
}

size_t wd_cipher_get_block_len(WdCipherAlg alg)
{
    return cipher_alg_valid(alg) ? cipher_info[alg].nettle->block_size : 0;
}

size_t wd_cipher_get_key_len(WdCipherAlg alg)
{
    return cipher_alg_valid(alg) ? cipher_info[alg].nettle->key_size : 0;
}

size_t wd_cipher_get_iv_len(WdCipherAlg alg, WdCipherMode mode)
{
    if (!wd_cipher_supports(alg, mode) || mode == WD_CIPHER_MODE_ECB) {
        return 0;
    }
    return wd_cipher_get_block_len(alg);
}

WdCipher *wd_cipher_new(WdCipherAlg alg, WdCipherMode mode,
                        const uint8_t *key, size_t nkey, GError **errp)
{
    const struct nettle_cipher *nc;
    size_t key_len;
    WdCipher *cipher;

    if (!cipher_alg_valid(alg)) {
        wd_error_setg(errp, "Unknown cipher algorithm %d", (int)alg);
        return NULL;
    }
    if (!cipher_mode_valid(mode)) {
        wd_error_setg(errp, "Unknown cipher mode %d", (int)mode);
        return NULL;
    }
    if (!wd_cipher_supports(alg, mode)) {
        wd_error_setg(errp, "Cipher '%s' does not support mode '%s'",
                      cipher_info[alg].name, cipher_mode_names[mode]);
        return NULL;
    }
    nc = cipher_info[alg].nettle;
    /* XTS: data key followed by tweak key, each a full cipher key. */
    key_len = nc->key_size * (mode == WD_CIPHER_MODE_XTS ? 2 : 1);
    if (nkey != key_len) {
        wd_error_setg(errp, "Cipher '%s' in mode '%s' needs a key of %zu "
                      "bytes, not %zu", cipher_info[alg].name,
                      cipher_mode_names[mode], key_len, nkey);
        return NULL;
    }

    cipher = g_new0(WdCipher, 1);
    cipher->alg = alg;
    cipher->mode = mode;
    cipher->nettle = nc;
    cipher->block_len = nc->block_size;
    cipher->enc_ctx = g_malloc0(nc->context_size);
    nc->set_encrypt_key(cipher->enc_ctx, key);
    /* CTR only ever runs the cipher forwards. */
    if (mode != WD_CIPHER_MODE_CTR) {
        cipher->dec_ctx = g_malloc0(nc->context_size);
        nc->set_decrypt_key(cipher->dec_ctx, key);
    }
    if (mode == WD_CIPHER_MODE_XTS) {
        cipher->twk_ctx = g_malloc0(nc->context_size);
        nc->set_encrypt_key(cipher->twk_ctx, key + nc->key_size);
    }
    return cipher;
}

/* Both halves of "cipher 'X' in mode 'Y'", for error messages. */
static const char *cipher_name(const WdCipher *cipher)
{
    return cipher_info[cipher->alg].name;
}

static const char *cipher_mode(const WdCipher *cipher)
{
    return cipher_mode_names[cipher->mode];
}

bool wd_cipher_set_iv(WdCipher *cipher, const uint8_t *iv, size_t niv,
                      GError **errp)
{
    if (cipher->mode == WD_CIPHER_MODE_ECB) {
        wd_error_setg(errp, "Cipher '%s' in mode 'ecb' does not take an IV",
                      cipher_name(cipher));
        return false;
    }
    if (niv != cipher->block_len) {
        wd_error_setg(errp, "Cipher '%s' in mode '%s' needs an IV of %zu "
                      "bytes, not %zu", cipher_name(cipher),
                      cipher_mode(cipher), cipher->block_len, niv);
        return false;
    }
    memcpy(cipher->iv, iv, niv);
    /* Keystream of the old counter must not leak into the new stream. */
    explicit_bzero(cipher->keystream, sizeof(cipher->keystream));
    cipher->ks_left = 0;
    return true;
}

static void xor_bytes(uint8_t *dst, const uint8_t *a, const uint8_t *b,
                      size_t len)
{
    for (size_t i = 0; i < len; i++) {
        dst[i] = a[i] ^ b[i];
    }
}

/*
 * CTR as a stream cipher.  nettle's ctr_crypt() handles a trailing
 * partial block but throws the rest of that keystream block away, so
 * the next call would skip bytes.  Instead whole blocks go to
 * ctr_crypt(), and a partial tail uses a keystream block that we keep
 * for the next call.
 */
static void cipher_ctr(WdCipher *cipher, const uint8_t *in, uint8_t *out,
                       size_t len)
{
    static const uint8_t zero[WD_CIPHER_MAX_BLOCK_LEN];
    size_t bs = cipher->block_len;
    size_t n = MIN(len, cipher->ks_left);

    xor_bytes(out, in, cipher->keystream + bs - cipher->ks_left, n);
    cipher->ks_left -= n;
    in += n;
    out += n;
    len -= n;

    n = len - len % bs;
    if (n > 0) {
        ctr_crypt(cipher->enc_ctx, cipher->nettle->encrypt, bs, cipher->iv,
                  n, out, in);
        in += n;
        out += n;
        len -= n;
    }

    if (len > 0) {
        /* Encrypting zeros yields the keystream and bumps the counter. */
        ctr_crypt(cipher->enc_ctx, cipher->nettle->encrypt, bs, cipher->iv,
                  bs, cipher->keystream, zero);
        xor_bytes(out, in, cipher->keystream, len);
        cipher->ks_left = bs - len;
    }
}

static bool cipher_run(WdCipher *cipher, bool encrypt, const uint8_t *in,
                       uint8_t *out, size_t len, GError **errp)
{
    const struct nettle_cipher *nc = cipher->nettle;
    size_t bs = cipher->block_len;

    if (cipher->mode != WD_CIPHER_MODE_CTR && len % bs != 0) {
        wd_error_setg(errp, "Length %zu must be a multiple of block size "
                      "%zu for cipher '%s' in mode '%s'", len, bs,
                      cipher_name(cipher), cipher_mode(cipher));
        return false;
    }
    if (len == 0) {
        /* nettle's XTS asserts at least one block; nothing to do anyway. */
        return true;
    }

    switch (cipher->mode) {
    case WD_CIPHER_MODE_ECB:
        if (encrypt) {
            nc->encrypt(cipher->enc_ctx, len, out, in);
        } else {
            nc->decrypt(cipher->dec_ctx, len, out, in);
        }
        break;
    case WD_CIPHER_MODE_CBC:
        if (encrypt) {
            cbc_encrypt(cipher->enc_ctx, nc->encrypt, bs, cipher->iv, len,
                        out, in);
        } else {
            cbc_decrypt(cipher->dec_ctx, nc->decrypt, bs, cipher->iv, len,
                        out, in);
        }
        break;
    case WD_CIPHER_MODE_XTS:
        /* One data unit per call; the tweak in iv[] is not advanced. */
        if (encrypt) {
            xts_encrypt_message(cipher->enc_ctx, cipher->twk_ctx,
                                nc->encrypt, cipher->iv, len, out, in);
        } else {
            xts_decrypt_message(cipher->dec_ctx, cipher->twk_ctx,
                                nc->decrypt, nc->encrypt, cipher->iv, len,
                                out, in);
        }
        break;
    case WD_CIPHER_MODE_CTR:
        cipher_ctr(cipher, in, out, len);
        break;
    case WD_CIPHER_MODE__MAX:
        g_assert_not_reached();
    }
    return true;
}

bool wd_cipher_encrypt(WdCipher *cipher, const void *in, void *out,
                       size_t len, GError **errp)
{
    return cipher_run(cipher, true, in, out, len, errp);
}

bool wd_cipher_decrypt(WdCipher *cipher, const void *in, void *out,
                       size_t len, GError **errp)
{
    return cipher_run(cipher, false, in, out, len, errp);
}

WdCipherAlg wd_cipher_get_alg(const WdCipher *cipher)
{
    return cipher->alg;
}

WdCipherMode wd_cipher_get_mode(const WdCipher *cipher)
{
    return cipher->mode;
}

/* Wipe a key schedule before freeing: it is equivalent to the key. */
static void cipher_free_ctx(void *ctx, size_t size)
{
    if (ctx) {
        explicit_bzero(ctx, size);
        g_free(ctx);
    }
}

void wd_cipher_free(WdCipher *cipher)
{
    size_t size;

    if (!cipher) {
        return;
    }
    size = cipher->nettle->context_size;
    cipher_free_ctx(cipher->enc_ctx, size);
    cipher_free_ctx(cipher->dec_ctx, size);
    cipher_free_ctx(cipher->twk_ctx, size);
    explicit_bzero(cipher, sizeof(*cipher));
    g_free(cipher);
}
