/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMAC on nettle's generic hmac_set_key/hmac_update/hmac_digest, which
 * work with any struct nettle_hash; hash.c supplies the table.
 */
#include "runtime/crypto/hmac.h"

#include <string.h>

#include <nettle/hmac.h>
#include <nettle/nettle-meta.h>

#include "runtime/error.h"

struct WdHmac {
    WdHashAlg alg;
    const struct nettle_hash *nettle;
    /*
     * nettle keeps three hash states: the inner and outer ones derived
     * from the key (both secret-equivalent) and the running state.
     */
    void *outer;
    void *inner;
    void *state;
};

bool wd_hmac_supports(WdHashAlg alg)
{
    return wd_hash_supports(alg);
}

WdHmac *wd_hmac_new(WdHashAlg alg, const uint8_t *key, size_t nkey,
                    GError **errp)
{
    static const uint8_t empty_key[1];
    const struct nettle_hash *nh = wd_hash_get_nettle(alg);
    WdHmac *hmac;

    if (!nh) {
        wd_error_setg(errp, "Unknown hash algorithm %d for HMAC", (int)alg);
        return NULL;
    }
    hmac = g_new0(WdHmac, 1);
    hmac->alg = alg;
    hmac->nettle = nh;
    hmac->outer = g_malloc0(nh->context_size);
    hmac->inner = g_malloc0(nh->context_size);
    hmac->state = g_malloc0(nh->context_size);
    /* nettle copies the key with memcpy, which must not see NULL. */
    hmac_set_key(hmac->outer, hmac->inner, hmac->state, nh, nkey,
                 key ? key : empty_key);
    return hmac;
}

/*
 * Caller buffers are checked before any MAC is computed, so a short one
 * leaves the HMAC ready for the next message.
 */
bool wd_hmac_bytesv(WdHmac *hmac, const struct iovec *iov, size_t niov,
                    uint8_t **out, size_t *outlen, GError **errp)
{
    size_t dlen = hmac->nettle->digest_size;

    if (*out && *outlen < dlen) {
        wd_error_setg(errp, "Result buffer size %zu is smaller than hash %zu",
                      *outlen, dlen);
        return false;
    }
    for (size_t i = 0; i < niov; i++) {
        if (iov[i].iov_len > 0) {
            hmac_update(hmac->state, hmac->nettle, iov[i].iov_len,
                        iov[i].iov_base);
        }
    }
    if (!*out) {
        *out = g_malloc(dlen);
    }
    /* hmac_digest() also resets the running state to the inner key. */
    hmac_digest(hmac->outer, hmac->inner, hmac->state, hmac->nettle, dlen,
                *out);
    *outlen = dlen;
    return true;
}

bool wd_hmac_bytes(WdHmac *hmac, const void *buf, size_t len,
                   uint8_t **out, size_t *outlen, GError **errp)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    return wd_hmac_bytesv(hmac, &iov, 1, out, outlen, errp);
}

char *wd_hmac_digestv(WdHmac *hmac, const struct iovec *iov, size_t niov,
                      GError **errp)
{
    uint8_t digest[WD_HASH_MAX_DIGEST_LEN];
    uint8_t *out = digest;
    size_t outlen = sizeof(digest);

    if (!wd_hmac_bytesv(hmac, iov, niov, &out, &outlen, errp)) {
        return NULL;
    }
    return wd_hash_to_hex(digest, outlen);
}

char *wd_hmac_digest(WdHmac *hmac, const void *buf, size_t len,
                     GError **errp)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    return wd_hmac_digestv(hmac, &iov, 1, errp);
}

WdHashAlg wd_hmac_get_alg(const WdHmac *hmac)
{
    return hmac->alg;
}

void wd_hmac_free(WdHmac *hmac)
{
    size_t size;

    if (!hmac) {
        return;
    }
    size = hmac->nettle->context_size;
    explicit_bzero(hmac->outer, size);
    explicit_bzero(hmac->inner, size);
    explicit_bzero(hmac->state, size);
    g_free(hmac->outer);
    g_free(hmac->inner);
    g_free(hmac->state);
    g_free(hmac);
}
