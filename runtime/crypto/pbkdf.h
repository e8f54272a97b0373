/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PBKDF2 (RFC 8018) with HMAC over the hashes of hash.h, and a helper
 * that measures how many iterations take a given amount of CPU time (as
 * LUKS needs when it picks an iteration count).
 */
#ifndef WARDEN_CRYPTO_PBKDF_H
#define WARDEN_CRYPTO_PBKDF_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/crypto/hash.h"

/* Returns: true if PBKDF2 can use @hash (every known hash). */
bool wd_pbkdf2_supports(WdHashAlg hash);

/*
 * Derive @nout bytes into @out from the password @key (@nkey bytes) and
 * @salt (@nsalt bytes) with @iterations rounds of HMAC-@hash.  @key and
 * @salt may be NULL when their length is 0.  Blocks the calling thread
 * for as long as the iterations take.
 * Returns: false if @hash is unknown, or @iterations is 0 or larger than
 * UINT32_MAX (nettle's limit); @out is then untouched.
 */
bool wd_pbkdf2(WdHashAlg hash, const uint8_t *key, size_t nkey,
               const uint8_t *salt, size_t nsalt, uint64_t iterations,
               uint8_t *out, size_t nout, GError **errp);

/*
 * Measure, in CPU time of the calling thread (so other load on the host
 * disturbs it little), how fast PBKDF2 runs with these parameters, and
 * compute the iteration count that takes @target_ms milliseconds.
 * Runs PBKDF2 for roughly 100-300 ms of CPU time to measure.
 * Returns: the iteration count (at least 1, at most UINT32_MAX), or 0 on
 * error: unknown @hash, @nout or @target_ms of 0, an unreadable or
 * too coarse CPU clock, or a target needing more than UINT32_MAX
 * iterations.
 */
uint64_t wd_pbkdf2_count_iters(WdHashAlg hash, const uint8_t *key,
                               size_t nkey, const uint8_t *salt,
                               size_t nsalt, size_t nout,
                               uint64_t target_ms, GError **errp);

#endif
