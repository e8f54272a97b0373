/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD client's request API: what was negotiated, blocking requests
 * (split to the server's maximum and sent at once, any thread) and
 * asynchronous ones with a completion callback, all checked locally
 * (range, read-only, alignment, advertised support) before sending.
 */
#include "runtime/nbd/nbd-client-priv.h"
#include "runtime/error.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* Pieces of TRIM / WRITE_ZEROES / CACHE requests (lengths are u32). */
#define MAX_EFFECT_LENGTH (UINT32_C(1) << 30)
/* Longest BLOCK_STATUS request. */
#define MAX_STATUS_LENGTH (UINT32_C(1) << 31)

/* ---- properties ---------------------------------------------------------- */

uint64_t wd_nbd_client_get_size(WdNbdClient *c)
{
    return c->info.size;
}

uint16_t wd_nbd_client_get_flags(WdNbdClient *c)
{
    return c->info.flags;
}

bool wd_nbd_client_is_read_only(WdNbdClient *c)
{
    return c->read_only || (c->info.flags & NBD_FLAG_READ_ONLY);
}

void wd_nbd_client_get_block_sizes(WdNbdClient *c, uint32_t *minimum,
                                   uint32_t *preferred, uint32_t *maximum)
{
    *minimum = c->info.min_block;
    *preferred = c->info.pref_block;
    *maximum = c->info.max_block;
}

const char *wd_nbd_client_get_description(WdNbdClient *c)
{
    return c->info.description;
}

const char *wd_nbd_client_get_export_name(WdNbdClient *c)
{
    return c->info.name ? c->info.name : c->params.export_name;
}

bool wd_nbd_client_has_structured_replies(WdNbdClient *c)
{
    return c->info.structured;
}

const char *wd_nbd_client_get_meta_context(WdNbdClient *c)
{
    return c->info.meta ? NBD_META_BASE_ALLOCATION : NULL;
}

unsigned wd_nbd_client_get_nconns(WdNbdClient *c)
{
    return c->nconns;
}

bool wd_nbd_client_is_tls(WdNbdClient *c)
{
    return c->info.tls;
}

char *wd_nbd_client_tls_peer(WdNbdClient *c)
{
    return g_strdup(c->info.tls_peer);
}

bool wd_nbd_client_is_connected(WdNbdClient *c)
{
    bool ok = true;

    for (unsigned i = 0; i < c->nconns; i++) {
        NbdConn *cn = c->conns[i];

        g_mutex_lock(&cn->lock);
        ok = ok && cn->state != CONN_DEAD;
        g_mutex_unlock(&cn->lock);
    }
    return ok;
}

char *wd_nbd_flag_names(uint16_t flags)
{
    static const struct {
        uint16_t bit;
        const char *name;
    } names[] = {
        { NBD_FLAG_READ_ONLY, "read-only" },
        { NBD_FLAG_SEND_FLUSH, "flush" },
        { NBD_FLAG_SEND_FUA, "fua" },
        { NBD_FLAG_ROTATIONAL, "rotational" },
        { NBD_FLAG_SEND_TRIM, "trim" },
        { NBD_FLAG_SEND_WRITE_ZEROES, "write-zeroes" },
        { NBD_FLAG_SEND_DF, "df" },
        { NBD_FLAG_CAN_MULTI_CONN, "multi-conn" },
        { NBD_FLAG_SEND_RESIZE, "resize" },
        { NBD_FLAG_SEND_CACHE, "cache" },
        { NBD_FLAG_SEND_FAST_ZERO, "fast-zero" },
        { NBD_FLAG_BLOCK_STAT_PAYLOAD, "block-status-payload" },
    };
    GString *s = g_string_new(NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (flags & names[i].bit) {
            g_string_append_printf(s, "%s%s", s->len ? " " : "",
                                   names[i].name);
        }
    }
    return g_string_free(s, FALSE);
}

/* ---- blocking requests --------------------------------------------------- */

typedef struct {
    GMutex lock;
    GCond cond;
    unsigned pending;
    int err;
    char *msg;
} Waiter;

static void waiter_done(NbdReq *req)
{
    Waiter *w = req->opaque;
    int err = req->err;
    char *msg = req->errmsg;

    g_free(req);
    g_mutex_lock(&w->lock);
    if (err && !w->err) {
        w->err = err;
        w->msg = msg;
        msg = NULL;
    }
    if (--w->pending == 0) {
        g_cond_signal(&w->cond);
    }
    g_mutex_unlock(&w->lock);
    g_free(msg);
}

/* 0, or -EINVAL / -EPERM with @errp set. */
static int check_request(WdNbdClient *c, uint16_t type, uint64_t offset,
                         uint64_t len, GError **errp)
{
    bool write = type == NBD_CMD_WRITE || type == NBD_CMD_TRIM ||
                 type == NBD_CMD_WRITE_ZEROES;
    uint32_t align = c->info.min_block;

    if (offset > c->info.size || len > c->info.size - offset) {
        wd_error_setg(errp, "%s at offset %" PRIu64 " (%" PRIu64 " bytes) "
                      "is beyond the end of the export (%" PRIu64 " bytes)",
                      name_of_nbd_cmd(type), offset, len, c->info.size);
        return -EINVAL;
    }
    if (write && wd_nbd_client_is_read_only(c)) {
        wd_error_setg(errp, "The NBD export is read-only");
        return -EPERM;
    }
    if (align > 1 && (offset % align || (len % align &&
                                         offset + len != c->info.size))) {
        wd_error_setg(errp, "%s at offset %" PRIu64 " (%" PRIu64 " bytes) "
                      "is not aligned to the export's %" PRIu32 "-byte "
                      "blocks", name_of_nbd_cmd(type), offset, len, align);
        return -EINVAL;
    }
    return 0;
}

/* Sends @type for [offset, offset + len) in pieces of at most @piece
 * bytes, all at once, and waits for every reply. */
static int run(WdNbdClient *c, uint16_t type, uint16_t flags,
               uint64_t offset, uint64_t len, uint64_t piece, void *buf,
               GArray *extents, GError **errp)
{
    Waiter w = { 0 };
    int err = 0;

    err = check_request(c, type, offset, len, errp);
    if (err < 0) {
        return err;
    }
    if (len == 0) {
        return 0;
    }
    g_mutex_init(&w.lock);
    g_cond_init(&w.cond);
    w.pending = (len + piece - 1) / piece;
    for (uint64_t done = 0; done < len; done += piece) {
        NbdReq *req = g_new0(NbdReq, 1);

        req->type = type;
        req->flags = flags;
        req->offset = offset + done;
        req->len = MIN(piece, len - done);
        req->buf = buf ? (uint8_t *)buf + done : NULL;
        req->extents = extents;
        req->extents_base = extents ? extents->len : 0;
        req->done = waiter_done;
        req->opaque = &w;
        nbd_conn_submit(nbd_client_pick_conn(c), req);
    }
    g_mutex_lock(&w.lock);
    while (w.pending > 0) {
        g_cond_wait(&w.cond, &w.lock);
    }
    g_mutex_unlock(&w.lock);
    if (w.err) {
        err = -w.err;
        wd_error_setg(errp, "%s", w.msg ? w.msg : g_strerror(w.err));
    }
    g_free(w.msg);
    g_mutex_clear(&w.lock);
    g_cond_clear(&w.cond);
    return err;
}

int wd_nbd_client_pread(WdNbdClient *c, void *buf, uint64_t offset,
                        uint64_t len, GError **errp)
{
    return run(c, NBD_CMD_READ, 0, offset, len, c->max_request, buf, NULL,
               errp);
}

/* FUA without SEND_FUA: write, then flush. */
static int fua_fallback(WdNbdClient *c, int ret, uint32_t flags,
                        GError **errp)
{
    if (ret == 0 && (flags & NBD_CMD_FLAG_FUA) &&
        !(c->info.flags & NBD_FLAG_SEND_FUA)) {
        return wd_nbd_client_flush(c, errp);
    }
    return ret;
}

static uint16_t fua_flag(WdNbdClient *c, uint32_t flags)
{
    return (flags & NBD_CMD_FLAG_FUA) && (c->info.flags & NBD_FLAG_SEND_FUA)
           ? NBD_CMD_FLAG_FUA : 0;
}

int wd_nbd_client_pwrite(WdNbdClient *c, const void *buf, uint64_t offset,
                         uint64_t len, uint32_t flags, GError **errp)
{
    int ret = run(c, NBD_CMD_WRITE, fua_flag(c, flags), offset, len,
                  c->max_request, (void *)buf, NULL, errp);

    return fua_fallback(c, ret, flags, errp);
}

int wd_nbd_client_flush(WdNbdClient *c, GError **errp)
{
    Waiter w = { 0 };
    int err = 0;

    if (!(c->info.flags & NBD_FLAG_SEND_FLUSH)) {
        return 0;
    }
    /* With CAN_MULTI_CONN one flush covers every connection; without it
     * there is only one connection. */
    g_mutex_init(&w.lock);
    g_cond_init(&w.cond);
    w.pending = 1;
    NbdReq *req = g_new0(NbdReq, 1);
    req->type = NBD_CMD_FLUSH;
    req->done = waiter_done;
    req->opaque = &w;
    nbd_conn_submit(c->conns[0], req);
    g_mutex_lock(&w.lock);
    while (w.pending > 0) {
        g_cond_wait(&w.cond, &w.lock);
    }
    g_mutex_unlock(&w.lock);
    if (w.err) {
        err = -w.err;
        wd_error_setg(errp, "%s", w.msg ? w.msg : g_strerror(w.err));
    }
    g_free(w.msg);
    g_mutex_clear(&w.lock);
    g_cond_clear(&w.cond);
    return err;
}

static uint64_t effect_piece(WdNbdClient *c)
{
    return MAX_EFFECT_LENGTH - MAX_EFFECT_LENGTH % c->info.min_block;
}

int wd_nbd_client_trim(WdNbdClient *c, uint64_t offset, uint64_t len,
                       uint32_t flags, GError **errp)
{
    if (!(c->info.flags & NBD_FLAG_SEND_TRIM)) {
        return check_request(c, NBD_CMD_TRIM, offset, len, errp);
    }
    int ret = run(c, NBD_CMD_TRIM, fua_flag(c, flags), offset, len,
                  effect_piece(c), NULL, NULL, errp);
    return fua_fallback(c, ret, flags, errp);
}

int wd_nbd_client_write_zeroes(WdNbdClient *c, uint64_t offset,
                               uint64_t len, uint32_t flags, GError **errp)
{
    uint16_t f = fua_flag(c, flags) | (flags & NBD_CMD_FLAG_NO_HOLE);

    if (!(c->info.flags & NBD_FLAG_SEND_WRITE_ZEROES)) {
        wd_error_setg(errp, "The NBD server does not support WRITE_ZEROES");
        return -ENOTSUP;
    }
    if (flags & NBD_CMD_FLAG_FAST_ZERO) {
        if (!(c->info.flags & NBD_FLAG_SEND_FAST_ZERO)) {
            wd_error_setg(errp, "The NBD server does not support fast "
                          "zeroing");
            return -ENOTSUP;
        }
        f |= NBD_CMD_FLAG_FAST_ZERO;
    }
    int ret = run(c, NBD_CMD_WRITE_ZEROES, f, offset, len, effect_piece(c),
                  NULL, NULL, errp);
    return fua_fallback(c, ret, flags, errp);
}

int wd_nbd_client_cache(WdNbdClient *c, uint64_t offset, uint64_t len,
                        GError **errp)
{
    if (!(c->info.flags & NBD_FLAG_SEND_CACHE)) {
        return check_request(c, NBD_CMD_CACHE, offset, len, errp);
    }
    return run(c, NBD_CMD_CACHE, 0, offset, len, effect_piece(c), NULL,
               NULL, errp);
}

int wd_nbd_client_block_status(WdNbdClient *c, uint64_t offset,
                               uint64_t len, GArray *extents, GError **errp)
{
    uint64_t max = MAX_STATUS_LENGTH - MAX_STATUS_LENGTH % c->info.min_block;

    if (!c->info.meta) {
        wd_error_setg(errp, "The NBD server does not report block status "
                      "(no base:allocation context)");
        return -ENOTSUP;
    }
    len = MIN(len, max);
    return run(c, NBD_CMD_BLOCK_STATUS, 0, offset, len, len, NULL, extents,
               errp);
}

/* ---- asynchronous requests ----------------------------------------------- */

typedef struct {
    NbdReq req;                 /* first: done() gets this */
    WdNbdClientDone cb;
    void *opaque;
} AioReq;

static void aio_done(NbdReq *req)
{
    AioReq *a = (AioReq *)req;

    a->cb(a->opaque, -req->err, req->err ? (req->errmsg ? req->errmsg :
                                            g_strerror(req->err)) : NULL);
    g_free(req->errmsg);
    g_free(a);
}

static void aio_submit(WdNbdClient *c, uint16_t type, uint16_t flags,
                       uint64_t offset, uint32_t len, void *buf,
                       WdNbdClientDone cb, void *opaque)
{
    g_autoptr(GError) err = NULL;
    AioReq *a;

    if ((type == NBD_CMD_READ || type == NBD_CMD_WRITE) &&
        len > c->max_request) {
        g_autofree char *msg = g_strdup_printf(
            "%s of %" PRIu32 " bytes is larger than the %" PRIu32 " bytes "
            "the server accepts", name_of_nbd_cmd(type), len,
            c->max_request);
        cb(opaque, -EINVAL, msg);
        return;
    }
    int ret = check_request(c, type, offset, len, &err);

    if (ret < 0) {
        cb(opaque, ret, err->message);
        return;
    }
    if (len == 0) {
        cb(opaque, 0, NULL);
        return;
    }
    a = g_new0(AioReq, 1);
    a->req.type = type;
    a->req.flags = flags;
    a->req.offset = offset;
    a->req.len = len;
    a->req.buf = buf;
    a->req.done = aio_done;
    a->cb = cb;
    a->opaque = opaque;
    nbd_conn_submit(nbd_client_pick_conn(c), &a->req);
}

uint32_t wd_nbd_client_get_max_request(WdNbdClient *c)
{
    return c->max_request;
}

void wd_nbd_client_aio_pread(WdNbdClient *c, void *buf, uint64_t offset,
                             uint32_t len, WdNbdClientDone cb, void *opaque)
{
    aio_submit(c, NBD_CMD_READ, 0, offset, len, buf, cb, opaque);
}

void wd_nbd_client_aio_pwrite(WdNbdClient *c, const void *buf,
                              uint64_t offset, uint32_t len, uint32_t flags,
                              WdNbdClientDone cb, void *opaque)
{
    aio_submit(c, NBD_CMD_WRITE, fua_flag(c, flags), offset, len,
               (void *)buf, cb, opaque);
}

void wd_nbd_client_aio_write_zeroes(WdNbdClient *c, uint64_t offset,
                                    uint32_t len, uint32_t flags,
                                    WdNbdClientDone cb, void *opaque)
{
    if (!(c->info.flags & NBD_FLAG_SEND_WRITE_ZEROES)) {
        cb(opaque, -ENOTSUP, "The NBD server does not support "
           "WRITE_ZEROES");
        return;
    }
    aio_submit(c, NBD_CMD_WRITE_ZEROES,
               fua_flag(c, flags) | (flags & NBD_CMD_FLAG_NO_HOLE), offset,
               len, NULL, cb, opaque);
}
