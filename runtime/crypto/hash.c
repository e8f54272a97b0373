/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Message digests on nettle's generic hash interface (nettle-meta.h):
 * the algorithm table, one-shot and incremental hashing, hex and base64
 * output.
 */
#include "runtime/crypto/hash.h"

#include <string.h>

#include <nettle/md5.h>
#include <nettle/nettle-meta.h>
#include <nettle/ripemd160.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "runtime/error.h"

typedef struct {
    const char *name;
    const struct nettle_hash *nettle;
} WdHashInfo;

/* Indexed by WdHashAlg; names are the QAPI QCryptoHashAlgorithm names. */
static const WdHashInfo hash_info[WD_HASH_ALG__MAX] = {
    [WD_HASH_ALG_MD5] = { "md5", &nettle_md5 },
    [WD_HASH_ALG_SHA1] = { "sha1", &nettle_sha1 },
    [WD_HASH_ALG_SHA224] = { "sha224", &nettle_sha224 },
    [WD_HASH_ALG_SHA256] = { "sha256", &nettle_sha256 },
    [WD_HASH_ALG_SHA384] = { "sha384", &nettle_sha384 },
    [WD_HASH_ALG_SHA512] = { "sha512", &nettle_sha512 },
    [WD_HASH_ALG_RIPEMD160] = { "ripemd160", &nettle_ripemd160 },
};

G_STATIC_ASSERT(SHA512_DIGEST_SIZE == WD_HASH_MAX_DIGEST_LEN);

struct WdHash {
    WdHashAlg alg;
    const struct nettle_hash *nettle;
    void *ctx;                  /* nettle->context_size bytes */
};

/* Enums may come from integers parsed elsewhere: never index blindly. */
static bool hash_alg_valid(WdHashAlg alg)
{
    return (unsigned int)alg < WD_HASH_ALG__MAX;
}

static bool hash_check_alg(WdHashAlg alg, GError **errp)
{
    if (!hash_alg_valid(alg)) {
        wd_error_setg(errp, "Unknown hash algorithm %d", (int)alg);
        return false;
    }
    return true;
}

bool wd_hash_supports(WdHashAlg alg)
{
    return hash_alg_valid(alg);
}

size_t wd_hash_digest_len(WdHashAlg alg)
{
    return hash_alg_valid(alg) ? hash_info[alg].nettle->digest_size : 0;
}

const char *wd_hash_alg_name(WdHashAlg alg)
{
    return hash_alg_valid(alg) ? hash_info[alg].name : NULL;
}

bool wd_hash_alg_from_name(const char *name, WdHashAlg *alg, GError **errp)
{
    for (int i = 0; i < WD_HASH_ALG__MAX; i++) {
        if (strcmp(hash_info[i].name, name) == 0) {
            *alg = (WdHashAlg)i;
            return true;
        }
    }
    wd_error_setg(errp, "Unknown hash algorithm '%s'", name);
    return false;
}

const struct nettle_hash *wd_hash_get_nettle(WdHashAlg alg)
{
    return hash_alg_valid(alg) ? hash_info[alg].nettle : NULL;
}

char *wd_hash_to_hex(const uint8_t *buf, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *hex = g_malloc(len * 2 + 1);

    for (size_t i = 0; i < len; i++) {
        hex[i * 2] = digits[buf[i] >> 4];
        hex[i * 2 + 1] = digits[buf[i] & 0xf];
    }
    hex[len * 2] = '\0';
    return hex;
}

/*
 * Check that a caller-supplied result buffer can hold @dlen bytes.  The
 * check happens before nettle writes anything, so a short buffer is an
 * error rather than an overflow.
 */
static bool hash_check_out(uint8_t **out, size_t *outlen, size_t dlen,
                           GError **errp)
{
    if (*out && *outlen < dlen) {
        wd_error_setg(errp, "Result buffer size %zu is smaller than hash %zu",
                      *outlen, dlen);
        return false;
    }
    return true;
}

WdHash *wd_hash_new(WdHashAlg alg, GError **errp)
{
    WdHash *hash;

    if (!hash_check_alg(alg, errp)) {
        return NULL;
    }
    hash = g_new0(WdHash, 1);
    hash->alg = alg;
    hash->nettle = hash_info[alg].nettle;
    hash->ctx = g_malloc0(hash->nettle->context_size);
    hash->nettle->init(hash->ctx);
    return hash;
}

void wd_hash_update(WdHash *hash, const void *buf, size_t len)
{
    if (len > 0) {
        hash->nettle->update(hash->ctx, len, buf);
    }
}

void wd_hash_updatev(WdHash *hash, const struct iovec *iov, size_t niov)
{
    for (size_t i = 0; i < niov; i++) {
        wd_hash_update(hash, iov[i].iov_base, iov[i].iov_len);
    }
}

bool wd_hash_finalize_bytes(WdHash *hash, uint8_t **out, size_t *outlen,
                            GError **errp)
{
    size_t dlen = hash->nettle->digest_size;

    if (!hash_check_out(out, outlen, dlen, errp)) {
        return false;
    }
    if (!*out) {
        *out = g_malloc(dlen);
    }
    /* nettle's digest() also re-initialises the context. */
    hash->nettle->digest(hash->ctx, dlen, *out);
    *outlen = dlen;
    return true;
}

char *wd_hash_finalize_hex(WdHash *hash)
{
    uint8_t digest[WD_HASH_MAX_DIGEST_LEN];
    size_t dlen = hash->nettle->digest_size;

    hash->nettle->digest(hash->ctx, dlen, digest);
    return wd_hash_to_hex(digest, dlen);
}

WdHashAlg wd_hash_get_alg(const WdHash *hash)
{
    return hash->alg;
}

void wd_hash_free(WdHash *hash)
{
    if (!hash) {
        return;
    }
    /* The state may hold part of a hashed secret (e.g. a password). */
    explicit_bzero(hash->ctx, hash->nettle->context_size);
    g_free(hash->ctx);
    g_free(hash);
}

bool wd_hash_bytesv(WdHashAlg alg, const struct iovec *iov, size_t niov,
                    uint8_t **out, size_t *outlen, GError **errp)
{
    g_autoptr(WdHash) hash = NULL;

    if (!hash_check_alg(alg, errp) ||
        !hash_check_out(out, outlen, wd_hash_digest_len(alg), errp)) {
        return false;
    }
    hash = wd_hash_new(alg, errp);
    wd_hash_updatev(hash, iov, niov);
    return wd_hash_finalize_bytes(hash, out, outlen, errp);
}

bool wd_hash_bytes(WdHashAlg alg, const void *buf, size_t len,
                   uint8_t **out, size_t *outlen, GError **errp)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    return wd_hash_bytesv(alg, &iov, 1, out, outlen, errp);
}

char *wd_hash_digestv(WdHashAlg alg, const struct iovec *iov, size_t niov,
                      GError **errp)
{
    uint8_t digest[WD_HASH_MAX_DIGEST_LEN];
    uint8_t *out = digest;
    size_t outlen = sizeof(digest);

    if (!wd_hash_bytesv(alg, iov, niov, &out, &outlen, errp)) {
        return NULL;
    }
    return wd_hash_to_hex(digest, outlen);
}

char *wd_hash_digest(WdHashAlg alg, const void *buf, size_t len,
                     GError **errp)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    return wd_hash_digestv(alg, &iov, 1, errp);
}

char *wd_hash_base64v(WdHashAlg alg, const struct iovec *iov, size_t niov,
                      GError **errp)
{
    uint8_t digest[WD_HASH_MAX_DIGEST_LEN];
    uint8_t *out = digest;
    size_t outlen = sizeof(digest);

    if (!wd_hash_bytesv(alg, iov, niov, &out, &outlen, errp)) {
        return NULL;
    }
    return g_base64_encode(digest, outlen);
}

char *wd_hash_base64(WdHashAlg alg, const void *buf, size_t len,
                     GError **errp)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    return wd_hash_base64v(alg, &iov, 1, errp);
}
