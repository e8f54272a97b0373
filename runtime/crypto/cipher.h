/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Block ciphers (AES, DES, 3DES, CAST5, Serpent, Twofish) in ECB, CBC,
 * CTR and XTS mode on nettle, with the algorithm and mode names used by
 * QEMU's QAPI schema ("aes-256", "xts").
 */
#ifndef WARDEN_CRYPTO_CIPHER_H
#define WARDEN_CRYPTO_CIPHER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    WD_CIPHER_ALG_AES_128,      /* "aes-128" */
    WD_CIPHER_ALG_AES_192,      /* "aes-192" */
    WD_CIPHER_ALG_AES_256,      /* "aes-256" */
    WD_CIPHER_ALG_DES,          /* "des": only for VNC-style auth */
    WD_CIPHER_ALG_3DES,         /* "3des": EDE with a 24-byte key */
    WD_CIPHER_ALG_CAST5_128,    /* "cast5-128" */
    WD_CIPHER_ALG_SERPENT_128,  /* "serpent-128" */
    WD_CIPHER_ALG_SERPENT_192,  /* "serpent-192" */
    WD_CIPHER_ALG_SERPENT_256,  /* "serpent-256" */
    WD_CIPHER_ALG_TWOFISH_128,  /* "twofish-128" */
    WD_CIPHER_ALG_TWOFISH_192,  /* "twofish-192" */
    WD_CIPHER_ALG_TWOFISH_256,  /* "twofish-256" */
    WD_CIPHER_ALG__MAX,
} WdCipherAlg;

typedef enum {
    WD_CIPHER_MODE_ECB,         /* "ecb": no IV */
    WD_CIPHER_MODE_CBC,         /* "cbc": IV chains across calls */
    WD_CIPHER_MODE_XTS,         /* "xts": IV = tweak, 16-byte blocks only */
    WD_CIPHER_MODE_CTR,         /* "ctr": IV = big-endian counter block */
    WD_CIPHER_MODE__MAX,
} WdCipherMode;

/* The largest block size of any algorithm, in bytes. */
#define WD_CIPHER_MAX_BLOCK_LEN 16

/*
 * Returns: true if @alg can run in @mode.  XTS needs a 16-byte block, so
 * it is refused for DES, 3DES and CAST5; every other pair works.
 */
bool wd_cipher_supports(WdCipherAlg alg, WdCipherMode mode);

/* Returns: the name of @alg / @mode (static), or NULL if unknown. */
const char *wd_cipher_alg_name(WdCipherAlg alg);
const char *wd_cipher_mode_name(WdCipherMode mode);

/*
 * Look up an algorithm / mode by its exact name.
 * Returns: false with "Unknown cipher algorithm 'NAME'" (resp. "Unknown
 * cipher mode 'NAME'") if there is none; *@alg / *@mode is then untouched.
 */
bool wd_cipher_alg_from_name(const char *name, WdCipherAlg *alg,
                             GError **errp);
bool wd_cipher_mode_from_name(const char *name, WdCipherMode *mode,
                              GError **errp);

/* Returns: the block size of @alg in bytes, or 0 if @alg is unknown. */
size_t wd_cipher_get_block_len(WdCipherAlg alg);

/*
 * Returns: the key size of @alg in bytes, or 0 if @alg is unknown.  XTS
 * takes two such keys concatenated (data key, then tweak key).
 */
size_t wd_cipher_get_key_len(WdCipherAlg alg);

/*
 * Returns: the IV size wd_cipher_set_iv() expects for @alg in @mode: the
 * block size, or 0 for ECB and for unknown or unsupported pairs.
 */
size_t wd_cipher_get_iv_len(WdCipherAlg alg, WdCipherMode mode);

/*
 * A keyed cipher.  It is not thread-safe: CBC and CTR keep IV state that
 * each call advances.  Body in cipher.c.
 */
typedef struct WdCipher WdCipher;

/*
 * Create a cipher for @alg in @mode with the @nkey-byte @key, which must
 * be wd_cipher_get_key_len(@alg) bytes (twice that for XTS).  The key is
 * expanded into key schedules and not kept; the caller wipes its copy.
 * CBC, CTR and XTS start with an all-zero IV.
 * Returns: the cipher, or NULL with an error naming the algorithm and
 * mode (unknown value, unsupported pair, wrong key length).
 */
WdCipher *wd_cipher_new(WdCipherAlg alg, WdCipherMode mode,
                        const uint8_t *key, size_t nkey, GError **errp);

/*
 * Set the IV (CBC), initial counter block (CTR) or tweak (XTS) to the
 * @niv bytes at @iv, which must be the block size.  In CTR mode this also
 * drops any keystream left over from a partial block.
 * Returns: false for ECB (which takes no IV) or a wrong @niv.
 */
bool wd_cipher_set_iv(WdCipher *cipher, const uint8_t *iv, size_t niv,
                      GError **errp);

/*
 * Encrypt / decrypt @len bytes from @in into @out.  @in and @out may be
 * the same buffer but must not otherwise overlap.
 *
 * ECB, CBC and XTS need @len to be a multiple of the block size; CTR
 * takes any length and is a stream: splitting the data over several calls
 * gives the same result as one call.  CBC chains the IV across calls.
 * XTS treats each call as one data unit (disk sector) with the current
 * tweak, which calls do not change.
 *
 * Returns: false if @len is not allowed; @out is then untouched.
 */
bool wd_cipher_encrypt(WdCipher *cipher, const void *in, void *out,
                       size_t len, GError **errp);
bool wd_cipher_decrypt(WdCipher *cipher, const void *in, void *out,
                       size_t len, GError **errp);

/* Returns: the algorithm / mode @cipher was created with. */
WdCipherAlg wd_cipher_get_alg(const WdCipher *cipher);
WdCipherMode wd_cipher_get_mode(const WdCipher *cipher);

/* Wipe the key schedules and IV state and free @cipher; NULL is allowed. */
void wd_cipher_free(WdCipher *cipher);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WdCipher, wd_cipher_free)

#endif
