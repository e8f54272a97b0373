/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NBD transmission on the server: request parsing on the I/O thread
 * (headers batched from one read, WRITE payloads read straight into their
 * buffer), validation with one mapping to wire errors, small in-memory
 * READs answered inline into one batched write, everything else run by
 * the worker pool, which sends each reply as soon as it is done (out of
 * order, as the protocol allows): simple replies, or structured ones
 * (OFFSET_DATA, BLOCK_STATUS, ERROR) once negotiated.
 */
#include "runtime/nbd/nbd-conn-priv.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>

#include "runtime/log.h"

/* Bytes of header in front of READ data: simple reply, or an OFFSET_DATA
 * chunk header plus its offset. */
#define READ_HDR_SIMPLE sizeof(NbdSimpleReply)
#define READ_HDR_CHUNK (sizeof(NbdStructuredReply) + 8)

/* Error message sent in structured ERROR chunks (never internals). */
static const char *error_text(uint32_t err)
{
    switch (err) {
    case NBD_EPERM:
        return "export is read-only";
    case NBD_EIO:
        return "I/O error";
    case NBD_ENOMEM:
        return "out of memory";
    case NBD_ENOSPC:
        return "no space left on the export";
    case NBD_ENOTSUP:
        return "operation not supported";
    case NBD_ESHUTDOWN:
        return "server shutting down";
    default:
        return "invalid request";
    }
}

/* ---- validation --------------------------------------------------------- */

/*
 * The one place deciding whether a request may run, and with which wire
 * error it is refused otherwise (STYLE C3).  Order as qemu-nbd: command
 * and flags, size limit, read-only, range (overflow-safe), alignment.
 */
static uint32_t tx_validate(NbdConn *c, uint16_t type, uint16_t flags,
                            uint64_t off, uint32_t len)
{
    WdNbdExport *e = c->exp;
    uint16_t allowed = NBD_CMD_FLAG_FUA;
    bool writes = false, aligned = false, ranged = true;

    switch (type) {
    case NBD_CMD_READ:
        allowed |= c->structured ? NBD_CMD_FLAG_DF : 0;
        aligned = true;
        break;
    case NBD_CMD_WRITE:
        writes = aligned = true;
        break;
    case NBD_CMD_FLUSH:
        ranged = false;
        break;
    case NBD_CMD_TRIM:
        writes = true;
        break;
    case NBD_CMD_CACHE:
        break;
    case NBD_CMD_WRITE_ZEROES:
        allowed |= NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_FAST_ZERO;
        writes = aligned = true;
        break;
    case NBD_CMD_BLOCK_STATUS:
        allowed |= NBD_CMD_FLAG_REQ_ONE;
        /* Only with a meta context selected for this export, which
         * implies structured replies (spec). */
        if (!c->structured || !(c->meta_alloc || c->meta_depth) ||
            len == 0) {
            return NBD_EINVAL;
        }
        break;
    default:
        return NBD_EINVAL;
    }
    if (flags & ~allowed) {
        return NBD_EINVAL;
    }
    if ((type == NBD_CMD_READ || type == NBD_CMD_WRITE) &&
        len > NBD_MAX_PAYLOAD) {
        return NBD_EINVAL;
    }
    if (writes && !e->writable) {
        return NBD_EPERM;
    }
    if (ranged && (off > e->size || len > e->size - off)) {
        /* The spec: ENOSPC for writes past the end, EINVAL otherwise. */
        return type == NBD_CMD_WRITE || type == NBD_CMD_WRITE_ZEROES ?
               NBD_ENOSPC : NBD_EINVAL;
    }
    if (aligned && e->min_block > 1 &&
        ((off | len) & (e->min_block - 1))) {
        return NBD_EINVAL;
    }
    return NBD_SUCCESS;
}

/* ---- reply building ----------------------------------------------------- */

static void put_simple(uint8_t *p, uint32_t err, uint64_t cookie)
{
    NbdSimpleReply r = {
        .magic = htobe32(NBD_SIMPLE_REPLY_MAGIC),
        .error = htobe32(err),
        .cookie = cookie,           /* opaque: echoed as received */
    };

    memcpy(p, &r, sizeof(r));
}

void nbd_tx_put_chunk(uint8_t *p, uint16_t flags, uint16_t type,
                      uint64_t cookie, uint32_t len)
{
    NbdStructuredReply r = {
        .magic = htobe32(NBD_STRUCTURED_REPLY_MAGIC),
        .flags = htobe16(flags),
        .type = htobe16(type),
        .cookie = cookie,
        .length = htobe32(len),
    };

    memcpy(p, &r, sizeof(r));
}

/* Writes the error reply for a request into @p; returns its length
 * (at most 64 bytes). */
static size_t put_error(NbdConn *c, uint8_t *p, uint16_t type,
                        uint64_t cookie, uint32_t err)
{
    const char *msg = error_text(err);
    NbdChunkError ce = {
        .error = htobe32(err),
        .len = htobe16(strlen(msg)),
    };

    if (!c->structured ||
        (type != NBD_CMD_READ && type != NBD_CMD_BLOCK_STATUS)) {
        put_simple(p, err, cookie);
        return sizeof(NbdSimpleReply);
    }
    nbd_tx_put_chunk(p, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, cookie,
              sizeof(ce) + strlen(msg));
    memcpy(p + sizeof(NbdStructuredReply), &ce, sizeof(ce));
    memcpy(p + sizeof(NbdStructuredReply) + sizeof(ce), msg, strlen(msg));
    return sizeof(NbdStructuredReply) + sizeof(ce) + strlen(msg);
}

/* Writes the header of a successful READ of @len bytes at @off so that it
 * ends at @data_start; returns the header length. */
static size_t put_read_hdr(NbdConn *c, uint8_t *data_start, uint64_t cookie,
                           uint64_t off, uint32_t len)
{
    if (!c->structured) {
        put_simple(data_start - READ_HDR_SIMPLE, 0, cookie);
        return READ_HDR_SIMPLE;
    }
    if (len == 0) {
        /* OFFSET_DATA needs at least one byte: an empty final chunk. */
        nbd_tx_put_chunk(data_start - sizeof(NbdStructuredReply),
                  NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, cookie, 0);
        return sizeof(NbdStructuredReply);
    }
    uint64_t be_off = htobe64(off);

    nbd_tx_put_chunk(data_start - READ_HDR_CHUNK, NBD_REPLY_FLAG_DONE,
              NBD_REPLY_TYPE_OFFSET_DATA, cookie, 8 + len);
    memcpy(data_start - 8, &be_off, 8);
    return READ_HDR_CHUNK;
}

/* Sends a reply without data for @req (which it finishes). */
void nbd_tx_reply_status(NbdReq *req, uint32_t err)
{
    NbdConn *c = req->conn;
    NbdOut o = { .req = req };

    if (err) {
        o.len = put_error(c, o.small, req->type, req->cookie, err);
    } else {
        put_simple(o.small, 0, req->cookie);
        o.len = sizeof(NbdSimpleReply);
    }
    o.p = o.small;
    o.buf = req->buf;
    req->buf = NULL;
    nbd_conn_send(c, &o);
}

/* ---- the inline batch (I/O thread) -------------------------------------- */

static uint8_t *batch_room(NbdConn *c, size_t need)
{
    if (c->batch && c->batch_len &&
        c->batch_len + need > MIN(c->batch->cap, NBD_SRV_BATCH_FLUSH)) {
        nbd_tx_flush_batch(c);
    }
    if (!c->batch) {
        c->batch = nbd_conn_buf_get(c, MAX(need, NBD_SRV_BATCH_FLUSH +
                                           NBD_SRV_INLINE_READ_MAX));
    }
    return nbd_buf_data(c->batch) + c->batch_len;
}

void nbd_tx_flush_batch(NbdConn *c)
{
    NbdOut o = { .len = c->batch_len };

    if (!c->batch_len) {
        return;
    }
    /* Plain: one send for many replies.  TLS: full 16 KiB records
     * instead of one small record per reply.  The buffer goes with the
     * output (back to the pool once written, or with the queue). */
    o.buf = g_steal_pointer(&c->batch);
    o.p = nbd_buf_data(o.buf);
    c->batch_len = 0;
    nbd_conn_send(c, &o);
}

static void batch_error(NbdConn *c, uint16_t type, uint64_t cookie,
                        uint32_t err)
{
    uint8_t *p = batch_room(c, 64);

    c->batch_len += put_error(c, p, type, cookie, err);
}

/*
 * Sends the reply header of a READ of @len bytes at @off, then the data
 * straight from the node's file (sendfile: no copy through our memory;
 * since Linux 6.5 a unix socket even takes the page-cache pages by
 * reference).  Plain connections and large reads only: a small one would
 * pay an extra syscall to save little copying.  @req: the
 * worker's request (finished once sent), or NULL on the I/O thread, whose
 * inline batch goes out first.  Returns false when the node has no file
 * to send from.
 */
static bool tx_sendfile_read(NbdConn *c, NbdReq *req, uint64_t cookie,
                             uint64_t off, uint32_t len)
{
    NbdOut o = { .req = req };
    uint64_t fd_off;
    int fd;

    if (c->tls_active || len < NBD_SRV_SENDFILE_MIN ||
        (fd = wd_block_get_fd(c->exp->node, off, len, &fd_off)) < 0) {
        return false;
    }
    if (!req) {
        nbd_tx_flush_batch(c);  /* replies produced before this one */
    }
    o.len = put_read_hdr(c, o.small + sizeof(o.small), cookie, off, len);
    o.p = o.small + sizeof(o.small) - o.len;
    o.sf_fd = fd;
    o.sf_off = fd_off;
    o.sf_len = len;
    nbd_conn_send(c, &o);
    return true;
}

/*
 * Answers a small READ on the I/O thread when its data is in memory.
 * Returns false (nothing sent) when the worker pool must do it.
 */
static bool tx_inline_read(NbdConn *c, uint64_t cookie, uint64_t off,
                           uint32_t len)
{
    WdNbdExport *e = c->exp;
    size_t hdr = c->structured ? READ_HDR_CHUNK : READ_HDR_SIMPLE;
    uint8_t *data;
    int ret;

    if (len > NBD_SRV_INLINE_READ_MAX || len == 0 ||
        e->inline_mode == NBD_INLINE_NONE || c->inline_broken) {
        return false;
    }
    if (e->inline_mode == NBD_INLINE_ALWAYS && tx_sendfile_read(c, NULL, cookie,
                                                                 off, len)) {
        return true;
    }
    data = batch_room(c, hdr + len) + hdr;
    if (e->inline_mode == NBD_INLINE_NOWAIT) {
        uint64_t fd_off;
        int fd = wd_block_get_fd(e->node, off, len, &fd_off);
        struct iovec iov = { .iov_base = data, .iov_len = len };
        ssize_t n;

        if (fd < 0) {
            c->inline_broken = true;
            return false;
        }
        n = preadv2(fd, &iov, 1, fd_off, RWF_NOWAIT);
        if (n < 0 && errno == EOPNOTSUPP) {
            c->inline_broken = true;
        }
        if (n != len) {
            return false;       /* not (all) cached: a worker waits */
        }
        ret = 0;
    } else {
        ret = wd_block_pread(e->node, off, data, len);
    }
    if (ret < 0) {
        batch_error(c, NBD_CMD_READ, cookie, nbd_errno_to_wire(ret));
        return true;
    }
    c->batch_len += put_read_hdr(c, data, cookie, off, len) + len;
    return true;
}

/* ---- request intake (I/O thread) ---------------------------------------- */

static NbdReq *req_new(NbdConn *c, uint16_t flags, uint16_t type,
                       uint64_t cookie, uint64_t off, uint32_t len,
                       size_t charge)
{
    NbdReq *req = g_new0(NbdReq, 1);

    req->conn = nbd_conn_ref(c);
    req->flags = flags;
    req->type = type;
    req->cookie = cookie;
    req->offset = off;
    req->len = len;
    req->charged = charge;
    g_atomic_int_inc(&c->inflight);
    g_atomic_int_add(&c->inflight_bytes, (gint)charge);
    return req;
}

/* A request whose payload (if any) is complete goes to its executor. */
static void tx_dispatch(NbdConn *c, NbdReq *req)
{
    if (req->error) {
        batch_error(c, req->type, req->cookie, req->error);
        nbd_conn_req_finished(req);
        return;
    }
    if (req->type == NBD_CMD_WRITE || req->type == NBD_CMD_WRITE_ZEROES ||
        req->type == NBD_CMD_TRIM) {
        g_atomic_int_set(&c->dirty, 1);
    }
    if (req->type == NBD_CMD_WRITE && req->len && !c->tls_active &&
        c->exp->inline_mode == NBD_INLINE_ALWAYS &&
        req->len <= NBD_SRV_INLINE_READ_MAX) {
        /* RAM (memory node, tmpfs): writing is a memcpy, cheaper than
         * the hand-off to a worker and back (plain: +25 % nbdcopy
         * write throughput).  Not with TLS, where decryption already
         * keeps this thread busy: the memcpy belongs on another core. */
        int ret = wd_block_pwrite(c->exp->node, req->offset,
                                  nbd_buf_data(req->buf), req->len,
                                  (req->flags & NBD_CMD_FLAG_FUA) ?
                                  WD_BLOCK_FUA : 0);
        uint8_t *p = batch_room(c, 64);

        if (ret < 0) {
            c->batch_len += put_error(c, p, req->type, req->cookie,
                                      nbd_errno_to_wire(ret));
        } else {
            put_simple(p, 0, req->cookie);
            c->batch_len += sizeof(NbdSimpleReply);
        }
        nbd_conn_req_finished(req);
        return;
    }
    g_thread_pool_push(c->server->pool, req, NULL);
}

static bool inline_candidate(NbdConn *c, uint32_t len)
{
    return len > 0 && len <= NBD_SRV_INLINE_READ_MAX &&
           c->exp->inline_mode != NBD_INLINE_NONE && !c->inline_broken;
}

/*
 * Answers deferred READs, oldest first, until @max bytes of data went
 * out.  Those that turn out not to be in memory go to the workers.
 */
static size_t tx_run_deferred(NbdConn *c, size_t max)
{
    size_t done = 0;

    while (c->ndefer && done < max) {
        NbdDeferred *d = &c->defer[c->defer_head];

        c->defer_head = (c->defer_head + 1) % NBD_SRV_MAX_DEFER;
        c->ndefer--;
        if (tx_inline_read(c, d->cookie, d->offset, d->len)) {
            done += d->len;
        } else {
            tx_dispatch(c, req_new(c, d->flags, NBD_CMD_READ, d->cookie,
                                   d->offset, d->len, d->len));
        }
    }
    return done;
}

void nbd_tx_run_all_deferred(NbdConn *c)
{
    tx_run_deferred(c, SIZE_MAX);
}

/* Parses one request header from the input buffer. */
static void tx_request(NbdConn *c)
{
    NbdRequest r;
    uint16_t type, flags;
    uint64_t off;
    uint32_t len, err;
    NbdReq *req;

    memcpy(&r, c->in + c->in_start, sizeof(r));
    c->in_start += sizeof(r);
    if (be32toh(r.magic) != NBD_REQUEST_MAGIC) {
        /* Framing is lost: nothing sensible can be replied. */
        nbd_conn_close(c, "invalid request magic 0x%08x", be32toh(r.magic));
        return;
    }
    type = be16toh(r.type);
    flags = be16toh(r.flags);
    off = be64toh(r.offset);
    len = be32toh(r.count);
    if (type == NBD_CMD_DISC) {
        /* In-flight requests still complete and get their replies. */
        nbd_conn_close(c, "client sent NBD_CMD_DISC");
        return;
    }
    err = tx_validate(c, type, flags, off, len);
    if (type == NBD_CMD_WRITE) {
        if (len > NBD_MAX_PAYLOAD) {
            /* We would have to read and discard it all; the spec lets
             * the server hang up on over-long writes instead. */
            nbd_conn_close(c, "NBD_CMD_WRITE of %u bytes exceeds %d", len,
                           NBD_MAX_PAYLOAD);
            return;
        }
        req = req_new(c, flags, type, r.cookie, off, len, len);
        req->error = err;
        if (!err && len) {
            req->buf = nbd_conn_buf_get(c, len);
        }
        c->cur = req;           /* its payload follows */
        return;
    }
    if (err) {
        batch_error(c, type, r.cookie, err);
        return;
    }
    if (type == NBD_CMD_READ && inline_candidate(c, len)) {
        /*
         * Answered after every request already buffered has been taken
         * in: a BLOCK_STATUS or FLUSH behind 64 big READs then runs on a
         * worker at once instead of waiting for all of them (nbdcopy
         * stalls on exactly that at each 128 MiB step).
         */
        NbdDeferred *d = &c->defer[(c->defer_head + c->ndefer) %
                                   NBD_SRV_MAX_DEFER];

        d->cookie = r.cookie;
        d->offset = off;
        d->len = len;
        d->flags = flags;
        c->ndefer++;
        return;
    }
    req = req_new(c, flags, type, r.cookie, off, len,
                  type == NBD_CMD_READ ? len : 0);
    tx_dispatch(c, req);
}

/* Reads the current WRITE's payload: 1 = progress, 0 = would block,
 * -1 = the connection is closing. */
static int tx_payload(NbdConn *c)
{
    NbdReq *req = c->cur;
    size_t take = MIN(nbd_conn_avail(c), req->len - req->got);
    ssize_t n;

    if (req->buf) {
        memcpy(nbd_buf_data(req->buf) + req->got, c->in + c->in_start, take);
    }
    c->in_start += take;
    req->got += take;
    if (req->got == req->len) {
        c->cur = NULL;
        tx_dispatch(c, req);
        return 1;
    }
    if (req->buf && req->len - req->got >= NBD_SRV_DIRECT_READ_MIN) {
        /* Large payloads skip the input buffer. */
        n = nbd_conn_recv(c, nbd_buf_data(req->buf) + req->got,
                          req->len - req->got);
        if (n > 0) {
            req->got += n;
        }
    } else {
        n = nbd_conn_fill(c);
    }
    if (n == WD_CHANNEL_ERR_BLOCK) {
        return 0;
    }
    if (n <= 0) {
        nbd_conn_close(c, n == 0 ? "client closed the connection" :
                       "read error");
        return -1;
    }
    return 1;
}

void nbd_tx_start(NbdConn *c)
{
    nbd_conn_stop_timer(c);
    c->eflags = nbd_export_eflags(c->exp, c->structured);
    nbd_conn_reserve(c, NBD_SRV_INBUF_SIZE);
    c->defer = g_new(NbdDeferred, NBD_SRV_MAX_DEFER);
    c->state = NBD_CONN_TRANSMISSION;
    wd_debug("nbd-server %s: client %s: transmission on export '%s'%s",
             c->server->name, c->peer, c->exp->name,
             c->tls_active ? " (TLS)" : "");
    nbd_tx_readable(c);
}

/* Requests taken in, and inline reply bytes produced, per wake-up before
 * the other connections of the I/O thread get a turn; inline bytes
 * produced between two looks at the input. */
#define TX_BUDGET 1024
#define TX_BUDGET_BYTES (4 * 1024 * 1024)
#define TX_SLICE_BYTES (1024 * 1024)

/* Takes in requests until the input would block (true) or something
 * else stops it (false). */
static bool tx_intake(NbdConn *c, unsigned *budget)
{
    while (c->state == NBD_CONN_TRANSMISSION && *budget > 0 &&
           c->ndefer < NBD_SRV_MAX_DEFER && !nbd_tx_over_limits(c)) {
        ssize_t n;

        if (c->cur) {
            int r = tx_payload(c);

            if (r <= 0) {
                return r == 0;
            }
            continue;
        }
        if (nbd_conn_avail(c) >= sizeof(NbdRequest)) {
            tx_request(c);
            (*budget)--;
            continue;
        }
        n = nbd_conn_fill(c);
        if (n == WD_CHANNEL_ERR_BLOCK) {
            return true;
        }
        if (n <= 0) {
            nbd_conn_close(c, n == 0 ? "client closed the connection" :
                           "read error");
        }
    }
    return false;
}

void nbd_tx_readable(NbdConn *c)
{
    unsigned budget = TX_BUDGET;
    size_t produced = 0;

    while (c->state == NBD_CONN_TRANSMISSION) {
        bool blocked = tx_intake(c, &budget);

        if (c->state != NBD_CONN_TRANSMISSION) {
            break;
        }
        if (nbd_tx_over_limits(c)) {
            /* Back-pressure: stop until a worker (or the output drain)
             * brings us under the limits again and kicks us. */
            g_atomic_int_set(&c->paused, 1);
            if (nbd_tx_over_limits(c) ||
                !g_atomic_int_compare_and_exchange(&c->paused, 1, 0)) {
                nbd_conn_want(c, false, false);
                break;
            }
            continue;
        }
        if (budget == 0 || produced > TX_BUDGET_BYTES) {
            /* Buffered, deferred or TLS-pending input would not wake
             * poll(): come back after the other connections. */
            nbd_conn_schedule_kick(c);
            break;
        }
        if (c->ndefer) {
            produced += tx_run_deferred(c, TX_SLICE_BYTES);
            continue;
        }
        if (blocked) {
            nbd_conn_want(c, true, false);
            break;
        }
    }
    nbd_tx_flush_batch(c);
}

/* ---- workers ------------------------------------------------------------ */

static void worker_read(NbdReq *req)
{
    NbdConn *c = req->conn;
    WdNbdExport *e = c->exp;
    NbdOut o = { .req = req };
    int ret;

    if (tx_sendfile_read(c, req, req->cookie, req->offset, req->len)) {
        return;
    }
    req->buf = nbd_conn_buf_get(c, req->len);
    ret = wd_block_pread(e->node, req->offset, nbd_buf_data(req->buf),
                         req->len);
    if (ret < 0) {
        wd_debug("nbd-server %s: client %s: read of %u bytes at %" G_GUINT64_FORMAT
                 " failed: %s", c->server->name, c->peer, req->len,
                 req->offset, g_strerror(-ret));
        nbd_tx_reply_status(req, nbd_errno_to_wire(ret));
        return;
    }
    /* Header right in front of the data: one contiguous send. */
    o.len = put_read_hdr(c, nbd_buf_data(req->buf), req->cookie,
                         req->offset, req->len) + req->len;
    o.p = nbd_buf_data(req->buf) + req->len - o.len;
    o.buf = req->buf;
    req->buf = NULL;
    nbd_conn_send(c, &o);
}

static int worker_cache(WdNbdExport *e, uint64_t off, uint32_t len)
{
    uint64_t fd_off;
    int fd = len ? wd_block_get_fd(e->node, off, len, &fd_off) : -1;

    /* A hint: prefetch into the page cache where there is one. */
    if (fd >= 0) {
        posix_fadvise(fd, fd_off, len, POSIX_FADV_WILLNEED);
    }
    return 0;
}

void nbd_tx_worker(gpointer data, gpointer user_data)
{
    NbdReq *req = data;
    NbdConn *c = req->conn;
    WdNbdExport *e = c->exp;
    int fua = (req->flags & NBD_CMD_FLAG_FUA) ? WD_BLOCK_FUA : 0;
    int ret = 0;

    switch (req->type) {
    case NBD_CMD_READ:
        worker_read(req);
        return;
    case NBD_CMD_BLOCK_STATUS:
        nbd_tx_block_status(req);
        return;
    case NBD_SRV_CMD_CLOSE_FLUSH:
        ret = wd_block_flush(e->node);
        if (ret < 0) {
            wd_warn("nbd-server %s: flushing export '%s' after client %s "
                    "disconnected failed: %s", c->server->name, e->name,
                    c->peer, g_strerror(-ret));
        }
        nbd_server_conn_finished(c->server, c);
        nbd_conn_unref(c);
        g_free(req);
        return;
    case NBD_CMD_WRITE:
        ret = req->len ? wd_block_pwrite(e->node, req->offset,
                                         nbd_buf_data(req->buf), req->len,
                                         fua) : 0;
        break;
    case NBD_CMD_FLUSH:
        ret = wd_block_flush(e->node);
        break;
    case NBD_CMD_TRIM:
        ret = wd_block_discard(e->node, req->offset, req->len);
        if (ret == 0 && fua) {
            ret = wd_block_flush(e->node);
        }
        break;
    case NBD_CMD_CACHE:
        ret = worker_cache(e, req->offset, req->len);
        break;
    case NBD_CMD_WRITE_ZEROES:
        ret = wd_block_write_zeroes(e->node, req->offset, req->len,
            fua |
            ((req->flags & NBD_CMD_FLAG_NO_HOLE) ? 0 : WD_BLOCK_MAY_UNMAP) |
            ((req->flags & NBD_CMD_FLAG_FAST_ZERO) ? WD_BLOCK_NO_FALLBACK :
             0));
        break;
    default:
        g_assert_not_reached();     /* tx_validate refused it */
    }
    if (ret < 0 && !(ret == -ENOTSUP &&
                     (req->flags & NBD_CMD_FLAG_FAST_ZERO))) {
        wd_debug("nbd-server %s: client %s: %s of %u bytes at %"
                 G_GUINT64_FORMAT " failed: %s", c->server->name, c->peer,
                 name_of_nbd_cmd(req->type), req->len, req->offset,
                 g_strerror(-ret));
    }
    /* FAST_ZERO that would be slow: -ENOTSUP maps to NBD_ENOTSUP. */
    nbd_tx_reply_status(req, ret < 0 ? nbd_errno_to_wire(ret) : 0);
}
