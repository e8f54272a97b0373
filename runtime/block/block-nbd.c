/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "nbd" block driver: maps block node requests onto the NBD client
 * (READ/WRITE/FLUSH/TRIM/WRITE_ZEROES/BLOCK_STATUS). The client is
 * thread-safe and spreads requests over its connections; this file only
 * translates flags and errors and caches the last block status reply, as
 * callers walk extents one at a time.
 */
#include "runtime/block/block-nbd.h"

#include <errno.h>
#include <string.h>

#include "runtime/error.h"
#include "runtime/log.h"
#include "runtime/nbd/nbd-protocol.h"

/* Gathered iovecs up to this size go through one bounce buffer (one
 * request) instead of one request per element. */
#define BOUNCE_MAX (4 * 1024 * 1024)

typedef struct NbdNodeState {
    WdNbdClient *client;
    char *name;                 /* for messages */
    GMutex lock;                /* guards the cache */
    uint64_t cache_start;
    GArray *cache;              /* WdNbdExtent from cache_start */
    gint cache_gen;             /* gen when the cache was filled */
    gint gen;                   /* bumped by every change (atomic) */
} NbdNodeState;

static const WdBlockDriver nbd_driver;

static NbdNodeState *nbd_state(WdBlockNode *bs)
{
    return wd_block_node_opaque(bs);
}

/* Logs the client's message (the errno alone says little) and returns
 * the error. */
static int report(NbdNodeState *s, int ret, GError *err)
{
    if (ret < 0 && err) {
        wd_warn("nbd node '%s': %s", s->name, err->message);
    }
    if (err) {
        g_error_free(err);
    }
    return ret;
}

static void invalidate(NbdNodeState *s)
{
    g_atomic_int_inc(&s->gen);
}

static size_t iov_total(const struct iovec *iov, int niov)
{
    size_t total = 0;

    for (int i = 0; i < niov; i++) {
        total += iov[i].iov_len;
    }
    return total;
}

static int nbd_preadv(WdBlockNode *bs, uint64_t offset,
                      const struct iovec *iov, int niov, uint64_t len)
{
    NbdNodeState *s = nbd_state(bs);
    GError *err = NULL;
    int ret = 0;

    if (niov == 1) {
        ret = wd_nbd_client_pread(s->client, iov[0].iov_base, offset, len,
                                  &err);
        return report(s, ret, err);
    }
    if (len <= BOUNCE_MAX) {
        g_autofree uint8_t *buf = g_malloc(len);
        size_t pos = 0;

        ret = wd_nbd_client_pread(s->client, buf, offset, len, &err);
        for (int i = 0; ret == 0 && i < niov; i++) {
            memcpy(iov[i].iov_base, buf + pos, iov[i].iov_len);
            pos += iov[i].iov_len;
        }
        return report(s, ret, err);
    }
    for (int i = 0; ret == 0 && i < niov; i++) {
        ret = wd_nbd_client_pread(s->client, iov[i].iov_base, offset,
                                  iov[i].iov_len, &err);
        offset += iov[i].iov_len;
    }
    return report(s, ret, err);
}

static int nbd_pwritev(WdBlockNode *bs, uint64_t offset,
                       const struct iovec *iov, int niov, uint64_t len,
                       int flags)
{
    NbdNodeState *s = nbd_state(bs);
    uint32_t f = (flags & WD_BLOCK_FUA) ? NBD_CMD_FLAG_FUA : 0;
    GError *err = NULL;
    int ret = 0;

    invalidate(s);
    if (niov == 1) {
        ret = wd_nbd_client_pwrite(s->client, iov[0].iov_base, offset, len,
                                   f, &err);
        return report(s, ret, err);
    }
    if (len <= BOUNCE_MAX) {
        g_autofree uint8_t *buf = g_malloc(len);
        size_t pos = 0;

        for (int i = 0; i < niov; i++) {
            memcpy(buf + pos, iov[i].iov_base, iov[i].iov_len);
            pos += iov[i].iov_len;
        }
        ret = wd_nbd_client_pwrite(s->client, buf, offset, len, f, &err);
        return report(s, ret, err);
    }
    g_assert(iov_total(iov, niov) == len);
    for (int i = 0; ret == 0 && i < niov; i++) {
        ret = wd_nbd_client_pwrite(s->client, iov[i].iov_base, offset,
                                   iov[i].iov_len, f, &err);
        offset += iov[i].iov_len;
    }
    return report(s, ret, err);
}

static int nbd_flush(WdBlockNode *bs)
{
    NbdNodeState *s = nbd_state(bs);
    GError *err = NULL;

    return report(s, wd_nbd_client_flush(s->client, &err), err);
}

static int nbd_discard(WdBlockNode *bs, uint64_t offset, uint64_t len)
{
    NbdNodeState *s = nbd_state(bs);
    GError *err = NULL;

    invalidate(s);
    return report(s, wd_nbd_client_trim(s->client, offset, len, 0, &err),
                  err);
}

static int nbd_write_zeroes(WdBlockNode *bs, uint64_t offset, uint64_t len,
                            int flags)
{
    NbdNodeState *s = nbd_state(bs);
    uint16_t eflags = wd_nbd_client_get_flags(s->client);
    uint32_t f = 0;
    GError *err = NULL;
    int ret;

    if (!(eflags & NBD_FLAG_SEND_WRITE_ZEROES) ||
        ((flags & WD_BLOCK_NO_FALLBACK) &&
         !(eflags & NBD_FLAG_SEND_FAST_ZERO))) {
        return -ENOTSUP;        /* the block layer knows what to do */
    }
    f |= (flags & WD_BLOCK_FUA) ? NBD_CMD_FLAG_FUA : 0;
    f |= (flags & WD_BLOCK_MAY_UNMAP) ? 0 : NBD_CMD_FLAG_NO_HOLE;
    f |= (flags & WD_BLOCK_NO_FALLBACK) ? NBD_CMD_FLAG_FAST_ZERO : 0;
    invalidate(s);
    ret = wd_nbd_client_write_zeroes(s->client, offset, len, f, &err);
    if (ret == -ENOTSUP) {
        g_clear_error(&err);    /* FAST_ZERO refused: not worth a log */
    }
    return report(s, ret, err);
}

/* Answers from the cached reply if it covers @offset. */
static bool from_cache(NbdNodeState *s, uint64_t offset, uint64_t len,
                       uint64_t *pnum, int *status)
{
    uint64_t pos;
    bool hit = false;

    g_mutex_lock(&s->lock);
    if (s->cache && s->cache_gen != g_atomic_int_get(&s->gen)) {
        g_clear_pointer(&s->cache, g_array_unref);  /* written since */
    }
    pos = s->cache_start;
    for (guint i = 0; s->cache && i < s->cache->len && pos <= offset; i++) {
        WdNbdExtent *e = &g_array_index(s->cache, WdNbdExtent, i);

        if (offset < pos + e->length) {
            *pnum = MIN(pos + e->length - offset, len);
            *status = ((e->flags & NBD_STATE_HOLE) ? 0 : WD_BLOCK_DATA) |
                      ((e->flags & NBD_STATE_ZERO) ? WD_BLOCK_ZERO : 0);
            hit = true;
            break;
        }
        pos += e->length;
    }
    g_mutex_unlock(&s->lock);
    return hit;
}

static int nbd_block_status(WdBlockNode *bs, uint64_t offset, uint64_t len,
                            uint64_t *pnum, int *status)
{
    NbdNodeState *s = nbd_state(bs);
    g_autoptr(GArray) ext = NULL;
    GError *err = NULL;
    gint gen = g_atomic_int_get(&s->gen);
    int ret;

    if (!wd_nbd_client_get_meta_context(s->client)) {
        *pnum = len;
        *status = WD_BLOCK_DATA;
        return 0;
    }
    if (from_cache(s, offset, len, pnum, status)) {
        return 0;
    }
    ext = g_array_new(FALSE, FALSE, sizeof(WdNbdExtent));
    ret = wd_nbd_client_block_status(s->client, offset, len, ext, &err);
    if (ret < 0) {
        return report(s, ret, err);
    }
    g_mutex_lock(&s->lock);
    if (g_atomic_int_get(&s->gen) == gen) {
        g_clear_pointer(&s->cache, g_array_unref);
        s->cache = g_array_ref(ext);
        s->cache_start = offset;
        s->cache_gen = gen;
    }
    g_mutex_unlock(&s->lock);
    WdNbdExtent *e = &g_array_index(ext, WdNbdExtent, 0);
    *pnum = MIN(e->length, len);
    *status = ((e->flags & NBD_STATE_HOLE) ? 0 : WD_BLOCK_DATA) |
              ((e->flags & NBD_STATE_ZERO) ? WD_BLOCK_ZERO : 0);
    return 0;
}

static bool nbd_can_zero_fast(WdBlockNode *bs)
{
    return wd_nbd_client_get_flags(nbd_state(bs)->client) &
           NBD_FLAG_SEND_FAST_ZERO;
}

static void state_free(NbdNodeState *s)
{
    wd_nbd_client_close(s->client);
    if (s->cache) {
        g_array_unref(s->cache);
    }
    g_mutex_clear(&s->lock);
    g_free(s->name);
    g_free(s);
}

static void nbd_close(WdBlockNode *bs)
{
    state_free(nbd_state(bs));
}

static const WdBlockDriver nbd_driver = {
    .name = "nbd",
    .preadv = nbd_preadv,
    .pwritev = nbd_pwritev,
    .flush = nbd_flush,
    .discard = nbd_discard,
    .write_zeroes = nbd_write_zeroes,
    .block_status = nbd_block_status,
    .can_zero_fast = nbd_can_zero_fast,
    .close = nbd_close,
};

WdBlockNode *wd_block_nbd_open(const char *node_name,
                               const WdNbdClientConfig *cfg, GError **errp)
{
    NbdNodeState *s;
    WdBlockNode *bs;
    uint32_t min, pref, max;

    s = g_new0(NbdNodeState, 1);
    g_mutex_init(&s->lock);
    s->client = wd_nbd_client_connect(cfg, errp);
    if (!s->client) {
        state_free(s);
        return NULL;
    }
    s->name = g_strdup(node_name ? node_name : "(nbd)");
    wd_nbd_client_get_block_sizes(s->client, &min, &pref, &max);
    bs = wd_block_node_new(&nbd_driver, node_name,
                           wd_nbd_client_get_size(s->client),
                           wd_nbd_client_is_read_only(s->client),
                           MIN(min, (uint32_t)WD_BLOCK_MAX_ALIGNMENT), s,
                           errp);
    if (!bs) {
        state_free(s);
        return NULL;
    }
    return bs;
}

WdNbdClient *wd_block_nbd_get_client(WdBlockNode *bs)
{
    if (strcmp(wd_block_driver_name(bs), nbd_driver.name) != 0) {
        return NULL;
    }
    return nbd_state(bs)->client;
}
