/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PBKDF2 on nettle's generic pbkdf2() driven by nettle's generic HMAC,
 * and the CPU-time measurement behind wd_pbkdf2_count_iters().
 */
#include "runtime/crypto/pbkdf.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <nettle/hmac.h>
#include <nettle/nettle-meta.h>
#include <nettle/pbkdf2.h>

#include "runtime/error.h"

#define NS_PER_MS 1000000ULL

/*
 * wd_pbkdf2_count_iters() runs PBKDF2 until one run takes at least this
 * much CPU time: shorter samples are dominated by clock granularity and
 * scheduling noise.  The first run starts small and grows at most 10x per
 * step so the whole measurement stays a few hundred milliseconds.
 */
#define PBKDF_SAMPLE_MIN_NS (100 * NS_PER_MS)
#define PBKDF_SAMPLE_START_ITERS 4096
#define PBKDF_SAMPLE_MAX_GROWTH 10

/* The keyed HMAC state that nettle's pbkdf2() drives via callbacks. */
typedef struct {
    const struct nettle_hash *nettle;
    void *outer;
    void *inner;
    void *state;
} PbkdfMac;

static void pbkdf_mac_update(void *opaque, size_t len, const uint8_t *data)
{
    PbkdfMac *mac = opaque;

    if (len > 0) {
        hmac_update(mac->state, mac->nettle, len, data);
    }
}

static void pbkdf_mac_digest(void *opaque, size_t len, uint8_t *digest)
{
    PbkdfMac *mac = opaque;

    hmac_digest(mac->outer, mac->inner, mac->state, mac->nettle, len,
                digest);
}

bool wd_pbkdf2_supports(WdHashAlg hash)
{
    return wd_hash_supports(hash);
}

static bool pbkdf_check_hash(WdHashAlg hash, GError **errp)
{
    if (!wd_hash_supports(hash)) {
        wd_error_setg(errp, "PBKDF2 does not support hash algorithm %d",
                      (int)hash);
        return false;
    }
    return true;
}

bool wd_pbkdf2(WdHashAlg hash, const uint8_t *key, size_t nkey,
               const uint8_t *salt, size_t nsalt, uint64_t iterations,
               uint8_t *out, size_t nout, GError **errp)
{
    static const uint8_t empty[1];
    PbkdfMac mac;
    size_t ctx_size;

    if (!pbkdf_check_hash(hash, errp)) {
        return false;
    }
    if (iterations == 0) {
        wd_error_setg(errp, "PBKDF2 iteration count must be at least 1");
        return false;
    }
    /* nettle takes an unsigned int; a silent truncation would weaken keys. */
    if (iterations > UINT32_MAX) {
        wd_error_setg(errp, "PBKDF2 iteration count %llu is larger than "
                      "the maximum %u", (unsigned long long)iterations,
                      UINT32_MAX);
        return false;
    }
    if (nout == 0) {
        return true;
    }

    mac.nettle = wd_hash_get_nettle(hash);
    ctx_size = mac.nettle->context_size;
    mac.outer = g_malloc0(ctx_size);
    mac.inner = g_malloc0(ctx_size);
    mac.state = g_malloc0(ctx_size);
    hmac_set_key(mac.outer, mac.inner, mac.state, mac.nettle, nkey,
                 key ? key : empty);
    pbkdf2(&mac, pbkdf_mac_update, pbkdf_mac_digest,
           mac.nettle->digest_size, (unsigned int)iterations, nsalt,
           salt ? salt : empty, nout, out);

    /* The HMAC states are as good as the password: wipe them. */
    explicit_bzero(mac.outer, ctx_size);
    explicit_bzero(mac.inner, ctx_size);
    explicit_bzero(mac.state, ctx_size);
    g_free(mac.outer);
    g_free(mac.inner);
    g_free(mac.state);
    return true;
}

/*
 * CPU time of this thread, like QEMU's RUSAGE_THREAD measurement but with
 * nanosecond resolution.
 */
static bool pbkdf_thread_cpu_ns(uint64_t *ns, GError **errp)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0) {
        wd_error_setg_errno(errp, errno, "Unable to get thread CPU usage");
        return false;
    }
    *ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    return true;
}

uint64_t wd_pbkdf2_count_iters(WdHashAlg hash, const uint8_t *key,
                               size_t nkey, const uint8_t *salt,
                               size_t nsalt, size_t nout,
                               uint64_t target_ms, GError **errp)
{
    g_autofree uint8_t *out = NULL;
    uint64_t iterations = PBKDF_SAMPLE_START_ITERS;
    uint64_t start, end, delta;
    double result;

    if (!pbkdf_check_hash(hash, errp)) {
        return 0;
    }
    if (nout == 0) {
        wd_error_setg(errp, "PBKDF2 output length must be at least 1 byte");
        return 0;
    }
    if (target_ms == 0) {
        wd_error_setg(errp, "PBKDF2 target time must be at least 1 ms");
        return 0;
    }

    out = g_malloc(nout);
    for (;;) {
        if (!pbkdf_thread_cpu_ns(&start, errp) ||
            !wd_pbkdf2(hash, key, nkey, salt, nsalt, iterations, out, nout,
                       errp) ||
            !pbkdf_thread_cpu_ns(&end, errp)) {
            explicit_bzero(out, nout);
            return 0;
        }
        delta = end - start;
        if (delta == 0) {
            /* A clock that does not move cannot measure anything. */
            explicit_bzero(out, nout);
            wd_error_setg(errp, "Unable to get accurate CPU usage");
            return 0;
        }
        if (delta >= PBKDF_SAMPLE_MIN_NS || iterations == UINT32_MAX) {
            break;
        }
        /* Aim at twice the minimum, growing at most 10x per step. */
        if (delta * PBKDF_SAMPLE_MAX_GROWTH < 2 * PBKDF_SAMPLE_MIN_NS) {
            iterations *= PBKDF_SAMPLE_MAX_GROWTH;
        } else {
            iterations = iterations * 2 * PBKDF_SAMPLE_MIN_NS / delta + 1;
        }
        iterations = MIN(iterations, (uint64_t)UINT32_MAX);
    }
    explicit_bzero(out, nout);

    /* Iterations grow linearly with time; double avoids overflow here. */
    result = (double)iterations * (double)target_ms * (double)NS_PER_MS /
             (double)delta;
    if (result > (double)UINT32_MAX) {
        wd_error_setg(errp, "PBKDF2 with hash '%s' needs more than %u "
                      "iterations to take %llu ms", wd_hash_alg_name(hash),
                      UINT32_MAX, (unsigned long long)target_ms);
        return 0;
    }
    return result < 1.0 ? 1 : (uint64_t)result;
}
