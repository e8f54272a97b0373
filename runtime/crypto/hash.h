/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Message digests (MD5, SHA-1, SHA-2, RIPEMD-160) on nettle: one-shot
 * helpers over a buffer or an iovec array, and an incremental context.
 * The algorithm enum and its names are shared with hmac.h and pbkdf.h.
 */
#ifndef WARDEN_CRYPTO_HASH_H
#define WARDEN_CRYPTO_HASH_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef enum {
    WD_HASH_ALG_MD5,        /* "md5", legacy compatibility only */
    WD_HASH_ALG_SHA1,       /* "sha1", legacy compatibility only */
    WD_HASH_ALG_SHA224,     /* "sha224" */
    WD_HASH_ALG_SHA256,     /* "sha256", the recommended default */
    WD_HASH_ALG_SHA384,     /* "sha384" */
    WD_HASH_ALG_SHA512,     /* "sha512" */
    WD_HASH_ALG_RIPEMD160,  /* "ripemd160" */
    WD_HASH_ALG__MAX,
} WdHashAlg;

/* The largest digest of any algorithm (SHA-512), in bytes. */
#define WD_HASH_MAX_DIGEST_LEN 64

/* Returns: true if @alg is a known algorithm (every known one works). */
bool wd_hash_supports(WdHashAlg alg);

/* Returns: the digest size of @alg in bytes, or 0 if @alg is unknown. */
size_t wd_hash_digest_len(WdHashAlg alg);

/*
 * Returns: the user-visible name of @alg ("sha256"), a static string, or
 * NULL if @alg is unknown.
 */
const char *wd_hash_alg_name(WdHashAlg alg);

/*
 * Look up the algorithm called @name (exact, lower case) and store it in
 * @alg.  Returns: false with "Unknown hash algorithm 'NAME'" if there is
 * none.
 */
bool wd_hash_alg_from_name(const char *name, WdHashAlg *alg, GError **errp);

/*
 * Hash @len bytes at @buf (wd_hash_bytes) or the concatenation of the
 * @niov buffers in @iov (wd_hash_bytesv).
 *
 * If *@out is NULL, a buffer of the digest size is allocated and handed
 * to the caller (free with g_free).  Otherwise *@out is a caller buffer
 * of *@outlen bytes, which must hold the whole digest.  On success
 * *@outlen is set to the digest size.
 *
 * Returns: false on an unknown algorithm or a caller buffer that is too
 * small; *@out and *@outlen are then left alone.
 */
bool wd_hash_bytes(WdHashAlg alg, const void *buf, size_t len,
                   uint8_t **out, size_t *outlen, GError **errp);
bool wd_hash_bytesv(WdHashAlg alg, const struct iovec *iov, size_t niov,
                    uint8_t **out, size_t *outlen, GError **errp);

/*
 * Returns: the digest of @buf / @iov as a new lower-case hex string
 * (free with g_free), or NULL on an unknown algorithm.
 */
char *wd_hash_digest(WdHashAlg alg, const void *buf, size_t len,
                     GError **errp);
char *wd_hash_digestv(WdHashAlg alg, const struct iovec *iov, size_t niov,
                      GError **errp);

/*
 * Returns: the digest of @buf / @iov as a new base64 string (standard
 * alphabet, padded; free with g_free), or NULL on an unknown algorithm.
 */
char *wd_hash_base64(WdHashAlg alg, const void *buf, size_t len,
                     GError **errp);
char *wd_hash_base64v(WdHashAlg alg, const struct iovec *iov, size_t niov,
                      GError **errp);

/*
 * Incremental hashing.  A WdHash belongs to one thread at a time.
 * Finalizing hands out the digest and resets the context, so it can hash
 * another message right away.
 */
typedef struct WdHash WdHash;

/* Returns: a new context for @alg, or NULL if @alg is unknown. */
WdHash *wd_hash_new(WdHashAlg alg, GError **errp);

/* Feed @len bytes at @buf (may be NULL when @len is 0). */
void wd_hash_update(WdHash *hash, const void *buf, size_t len);

/* Feed each of the @niov buffers in @iov, in order. */
void wd_hash_updatev(WdHash *hash, const struct iovec *iov, size_t niov);

/*
 * Finish the message.  @out / @outlen follow the rules of wd_hash_bytes.
 * Returns: false if the caller buffer is too small (the context is then
 * unchanged and may be finalized again).
 */
bool wd_hash_finalize_bytes(WdHash *hash, uint8_t **out, size_t *outlen,
                            GError **errp);

/* Finish the message.  Returns: its digest as a new lower-case hex string. */
char *wd_hash_finalize_hex(WdHash *hash);

/* Returns: the algorithm of @hash. */
WdHashAlg wd_hash_get_alg(const WdHash *hash);

/* Wipe and free @hash; NULL is allowed. */
void wd_hash_free(WdHash *hash);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WdHash, wd_hash_free)

/* Returns: @len bytes at @buf as a new lower-case hex string. */
char *wd_hash_to_hex(const uint8_t *buf, size_t len);

/*
 * For the other crypto modules (hmac.c, pbkdf.c) only.
 * Returns: nettle's description of @alg, or NULL if @alg is unknown.
 */
struct nettle_hash;
const struct nettle_hash *wd_hash_get_nettle(WdHashAlg alg);

#endif
