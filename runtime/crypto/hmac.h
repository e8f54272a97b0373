/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMAC (RFC 2104) over the digests of hash.h, on nettle's generic HMAC.
 * A WdHmac holds the keyed state; each call MACs one whole message.
 */
#ifndef WARDEN_CRYPTO_HMAC_H
#define WARDEN_CRYPTO_HMAC_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "runtime/crypto/hash.h"

typedef struct WdHmac WdHmac;

/* Returns: true if HMAC over @alg is available (every known hash). */
bool wd_hmac_supports(WdHashAlg alg);

/*
 * Create an HMAC keyed with the @nkey bytes at @key (any length; @key may
 * be NULL when @nkey is 0).  The key is copied into the hash state, not
 * kept; the caller still owns and wipes its own copy.
 * Returns: the new HMAC, or NULL if @alg is unknown.
 */
WdHmac *wd_hmac_new(WdHashAlg alg, const uint8_t *key, size_t nkey,
                    GError **errp);

/*
 * MAC @len bytes at @buf (wd_hmac_bytes) or the concatenation of the
 * @niov buffers in @iov (wd_hmac_bytesv).  @out / @outlen follow the
 * rules of wd_hash_bytes: *@out NULL means "allocate"; otherwise it is a
 * caller buffer of *@outlen bytes.  On success *@outlen is the digest
 * size.  The HMAC stays keyed and can MAC further messages.
 * Returns: false if a caller buffer is too small.
 */
bool wd_hmac_bytes(WdHmac *hmac, const void *buf, size_t len,
                   uint8_t **out, size_t *outlen, GError **errp);
bool wd_hmac_bytesv(WdHmac *hmac, const struct iovec *iov, size_t niov,
                    uint8_t **out, size_t *outlen, GError **errp);

/*
 * Returns: the MAC of @buf / @iov as a new lower-case hex string (free
 * with g_free).  Never NULL; @errp is kept for API symmetry.
 */
char *wd_hmac_digest(WdHmac *hmac, const void *buf, size_t len,
                     GError **errp);
char *wd_hmac_digestv(WdHmac *hmac, const struct iovec *iov, size_t niov,
                      GError **errp);

/* Returns: the hash algorithm of @hmac. */
WdHashAlg wd_hmac_get_alg(const WdHmac *hmac);

/* Wipe the keyed state and free @hmac; NULL is allowed. */
void wd_hmac_free(WdHmac *hmac);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WdHmac, wd_hmac_free)

#endif
