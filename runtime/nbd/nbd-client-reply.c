/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD client's reply reader: a non-blocking state machine run by a
 * connection's I/O thread that matches simple replies and structured
 * chunks to requests by cookie and puts READ data straight into the
 * caller's buffer. Everything the server says is checked first: an
 * unknown cookie, a chunk outside its request, a length beyond its bound
 * or extents out of range are protocol errors that end the connection,
 * so no byte is ever written outside the request's own buffer.
 */
#include "runtime/nbd/nbd-client-priv.h"
#include "runtime/error.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* Largest payload of an error chunk: u32 error, u16 length, a message of
 * at most NBD_MAX_STRING bytes and, for ERROR_OFFSET, a u64 offset. */
#define MAX_ERROR_CHUNK (sizeof(NbdChunkError) + NBD_MAX_STRING + 8)
/* Largest block status chunk: context id + the most extents we take. */
#define MAX_STATUS_CHUNK (4 + 8 * (size_t)NBD_MAX_BLOCK_STATUS_EXTENTS)
/* Bytes read per call before the I/O thread looks at its other work. */
#define READ_BUDGET (16 * 1024 * 1024)

void nbd_req_fail(NbdReq *req, int err, const char *fmt, ...)
{
    va_list ap;

    if (req->err) {
        return;
    }
    req->err = err;
    va_start(ap, fmt);
    req->errmsg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

static void expect(NbdConn *cn, NbdReadState st, void *ptr, size_t len)
{
    cn->rd_state = st;
    cn->rd_ptr = ptr;
    cn->rd_left = len;
}

void nbd_conn_reset_reader(NbdConn *cn)
{
    cn->rd_req = NULL;
    expect(cn, RD_MAGIC, cn->rd_hdr, 4);
}

void nbd_conn_complete(NbdConn *cn, NbdReq *req)
{
    g_hash_table_remove(cn->inflight, &req->cookie);
    req->done(req);
}

static uint8_t *scratch(NbdConn *cn, size_t len)
{
    if (cn->scratch_size < len) {
        g_free(cn->scratch);
        cn->scratch_size = MAX(len, 4096);
        cn->scratch = g_malloc(cn->scratch_size);
    }
    return cn->scratch;
}

static bool G_GNUC_PRINTF(3, 4) protocol_error(bool *protocol, GError **errp,
                                               const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    wd_error_setg(errp, "NBD protocol error: %s", msg);
    *protocol = true;
    return false;
}

static const char *cmd_name(uint16_t type)
{
    return name_of_nbd_cmd(type);
}

/* The request a reply is for, or a protocol error. */
static NbdReq *lookup(NbdConn *cn, uint64_t cookie, bool *protocol,
                      GError **errp)
{
    NbdReq *req = g_hash_table_lookup(cn->inflight, &cookie);

    if (!req) {
        protocol_error(protocol, errp, "the server sent a reply for unknown "
                       "handle 0x%" PRIx64, cookie);
        return NULL;
    }
    if (!req->sent) {
        /* It cannot have read a request we have not finished sending;
         * completing it now would free a buffer we still write from. */
        protocol_error(protocol, errp, "the server replied to handle 0x%"
                       PRIx64 " before receiving all of it", cookie);
        return NULL;
    }
    return req;
}

/* The reply of the current chunk is complete when it carried DONE. */
static void chunk_end(NbdConn *cn)
{
    NbdReq *req = cn->rd_req;

    if ((cn->rd_flags & NBD_REPLY_FLAG_DONE) && req->retry) {
        /* Stays in flight: sent again once we have reconnected. */
        nbd_conn_reset_reader(cn);
        return;
    }
    if (cn->rd_flags & NBD_REPLY_FLAG_DONE) {
        if (!req->err && req->type == NBD_CMD_READ &&
            req->data_seen != req->len) {
            nbd_req_fail(req, EIO, "The NBD server returned %" PRIu64
                         " of %" PRIu32 " bytes for READ at offset %"
                         PRIu64, req->data_seen, req->len, req->offset);
        }
        if (!req->err && req->type == NBD_CMD_BLOCK_STATUS &&
            !req->got_status) {
            nbd_req_fail(req, EIO, "The NBD server sent no block status for "
                         "offset %" PRIu64, req->offset);
        }
        nbd_conn_complete(cn, req);
    }
    nbd_conn_reset_reader(cn);
}

/*
 * A server error: fail the request with its errno and message. A server
 * that is shutting down (NBD_ESHUTDOWN) wants us to disconnect; with
 * reconnect-delay the request is sent again to the server that comes
 * back instead of failing.
 */
static void server_error(NbdConn *cn, NbdReq *req, uint32_t err,
                         const char *msg, size_t msglen)
{
    int e = nbd_wire_to_errno(err);

    if (err == NBD_ESHUTDOWN) {
        cn->server_shutdown = true;
        if (cn->client->reconnect_delay > 0) {
            req->retry = true;
            return;
        }
    }
    g_autofree char *text = msglen ? nbd_client_sanitize(msg, msglen) : NULL;

    nbd_req_fail(req, e, "The NBD server failed %s at offset %" PRIu64
                 " (%" PRIu32 " bytes): %s%s%s", cmd_name(req->type),
                 req->offset, req->len, g_strerror(e), text ? ": " : "",
                 text ? text : "");
}

static bool got_simple(NbdConn *cn, bool *protocol, GError **errp)
{
    NbdSimpleReply r;
    NbdReq *req;

    memcpy(&r, cn->rd_hdr, sizeof(r));
    req = lookup(cn, be64toh(r.cookie), protocol, errp);
    if (!req) {
        return false;
    }
    cn->rd_req = req;
    cn->rd_flags = NBD_REPLY_FLAG_DONE;
    cn->rd_type = NBD_REPLY_TYPE_NONE;
    if (be32toh(r.error) != 0) {
        server_error(cn, req, be32toh(r.error), NULL, 0);
        chunk_end(cn);
        return true;
    }
    if (req->type == NBD_CMD_BLOCK_STATUS) {
        return protocol_error(protocol, errp, "the server sent a simple "
                              "reply to NBD_CMD_BLOCK_STATUS");
    }
    if (req->type == NBD_CMD_READ) {
        /* The data follows, exactly as long as the request. */
        req->data_seen = req->len;
        expect(cn, RD_DATA, req->buf, req->len);
        return true;
    }
    chunk_end(cn);
    return true;
}

static bool got_chunk_header(NbdConn *cn, bool *protocol, GError **errp)
{
    NbdStructuredReply h;
    NbdReq *req;
    uint32_t len;
    uint16_t type;

    memcpy(&h, cn->rd_hdr, sizeof(h));
    req = lookup(cn, be64toh(h.cookie), protocol, errp);
    if (!req) {
        return false;
    }
    cn->rd_req = req;
    cn->rd_flags = be16toh(h.flags);
    cn->rd_type = type = be16toh(h.type);
    cn->rd_len = len = be32toh(h.length);

    switch (type) {
    case NBD_REPLY_TYPE_NONE:
        if (len != 0 || !(cn->rd_flags & NBD_REPLY_FLAG_DONE)) {
            return protocol_error(protocol, errp, "bad NBD_REPLY_TYPE_NONE "
                                  "chunk (length %" PRIu32 ", flags 0x%x)",
                                  len, cn->rd_flags);
        }
        chunk_end(cn);
        return true;
    case NBD_REPLY_TYPE_OFFSET_DATA:
        if (req->type != NBD_CMD_READ || len <= 8 ||
            len - 8 > req->len) {
            return protocol_error(protocol, errp, "the server sent a data "
                                  "chunk of %" PRIu32 " bytes for %s of %"
                                  PRIu32 " bytes", len, cmd_name(req->type),
                                  req->len);
        }
        expect(cn, RD_DATA_OFFSET, scratch(cn, 8), 8);
        return true;
    case NBD_REPLY_TYPE_OFFSET_HOLE:
        if (req->type != NBD_CMD_READ || len != sizeof(NbdChunkOffsetHole)) {
            return protocol_error(protocol, errp, "the server sent a bad "
                                  "hole chunk (%" PRIu32 " bytes, for %s)",
                                  len, cmd_name(req->type));
        }
        break;
    case NBD_REPLY_TYPE_BLOCK_STATUS:
        if (req->type != NBD_CMD_BLOCK_STATUS || len < 12 ||
            (len - 4) % 8 != 0 || len > MAX_STATUS_CHUNK) {
            return protocol_error(protocol, errp, "the server sent a bad "
                                  "block status chunk (%" PRIu32 " bytes, "
                                  "for %s)", len, cmd_name(req->type));
        }
        break;
    default:
        if (!NBD_REPLY_TYPE_IS_ERR(type)) {
            return protocol_error(protocol, errp, "the server sent a chunk "
                                  "of unknown type %u", type);
        }
        if (len < sizeof(NbdChunkError) || len > MAX_ERROR_CHUNK ||
            (type == NBD_REPLY_TYPE_ERROR_OFFSET &&
             len < sizeof(NbdChunkError) + 8)) {
            return protocol_error(protocol, errp, "the server sent an error "
                                  "chunk of %" PRIu32 " bytes", len);
        }
        break;
    }
    expect(cn, RD_PAYLOAD, scratch(cn, len), len);
    return true;
}

/* Is [off, off + len) inside the request? */
static bool in_request(const NbdReq *req, uint64_t off, uint64_t len)
{
    return off >= req->offset && len <= req->len &&
           off - req->offset <= req->len - len;
}

static bool got_data_offset(NbdConn *cn, bool *protocol, GError **errp)
{
    NbdReq *req = cn->rd_req;
    uint64_t off;
    uint32_t len = cn->rd_len - 8;

    memcpy(&off, cn->scratch, 8);
    off = be64toh(off);
    if (!in_request(req, off, len)) {
        return protocol_error(protocol, errp, "the server sent data for "
                              "offset %" PRIu64 " (%" PRIu32 " bytes) "
                              "outside the READ at offset %" PRIu64 " (%"
                              PRIu32 " bytes)", off, len, req->offset,
                              req->len);
    }
    req->data_seen += len;
    if (req->data_seen > req->len) {
        return protocol_error(protocol, errp, "the server sent more data "
                              "than the READ at offset %" PRIu64 " asked "
                              "for", req->offset);
    }
    expect(cn, RD_DATA, (uint8_t *)req->buf + (off - req->offset), len);
    return true;
}

static bool got_hole(NbdConn *cn, bool *protocol, GError **errp)
{
    NbdReq *req = cn->rd_req;
    NbdChunkOffsetHole h;
    uint64_t off;
    uint32_t len;

    memcpy(&h, cn->scratch, sizeof(h));
    off = be64toh(h.offset);
    len = be32toh(h.length);
    if (len == 0 || !in_request(req, off, len) ||
        req->data_seen + len > req->len) {
        return protocol_error(protocol, errp, "the server sent a hole at "
                              "offset %" PRIu64 " (%" PRIu32 " bytes) "
                              "outside the READ at offset %" PRIu64 " (%"
                              PRIu32 " bytes)", off, len, req->offset,
                              req->len);
    }
    memset((uint8_t *)req->buf + (off - req->offset), 0, len);
    req->data_seen += len;
    return true;
}

static bool got_status(NbdConn *cn, bool *protocol, GError **errp)
{
    NbdReq *req = cn->rd_req;
    const uint8_t *p = cn->scratch;
    uint32_t n = (cn->rd_len - 4) / 8;
    uint32_t id;
    uint64_t pos = 0;

    memcpy(&id, p, 4);
    id = be32toh(id);
    if (!cn->client->info.meta || id != cn->client->info.meta_id) {
        return protocol_error(protocol, errp, "the server sent block status "
                              "for context %" PRIu32 ", which was not "
                              "negotiated", id);
    }
    if (req->got_status) {
        return protocol_error(protocol, errp, "the server sent two block "
                              "status chunks for one context");
    }
    req->got_status = true;
    for (uint32_t i = 0; i < n; i++) {
        NbdBlockDescriptor d;
        WdNbdExtent e;

        memcpy(&d, p + 4 + 8 * (size_t)i, sizeof(d));
        e.length = be32toh(d.length);
        e.flags = be32toh(d.status_flags);
        /* Every extent but the last must start and, except for the
         * last, end inside the request. */
        if (e.length == 0 || pos >= req->len) {
            g_array_set_size(req->extents, req->extents_base);
            return protocol_error(protocol, errp, "the server sent block "
                                  "status extents out of range (extent %"
                                  PRIu32 " of %" PRIu32 " for %" PRIu32
                                  " bytes)", i, n, req->len);
        }
        e.length = MIN(e.length, req->len - pos);
        pos += e.length;
        if (req->extents->len > req->extents_base) {
            WdNbdExtent *last = &g_array_index(req->extents, WdNbdExtent,
                                               req->extents->len - 1);
            if (last->flags == e.flags) {
                last->length += e.length;   /* merge equal neighbours */
                continue;
            }
        }
        g_array_append_val(req->extents, e);
    }
    return true;
}

static void got_error_chunk(NbdConn *cn)
{
    NbdReq *req = cn->rd_req;
    NbdChunkError ce;
    uint32_t err;
    uint16_t msglen;
    size_t room = cn->rd_len - sizeof(ce);

    memcpy(&ce, cn->scratch, sizeof(ce));
    err = be32toh(ce.error);
    msglen = be16toh(ce.len);
    if (cn->rd_type == NBD_REPLY_TYPE_ERROR_OFFSET) {
        room -= 8;
    }
    /* A bad message length or error 0 still fails the request. */
    server_error(cn, req, err ? err : NBD_EIO,
                 (const char *)cn->scratch + sizeof(ce), MIN(msglen, room));
}

static bool got_payload(NbdConn *cn, bool *protocol, GError **errp)
{
    switch (cn->rd_type) {
    case NBD_REPLY_TYPE_OFFSET_HOLE:
        if (!got_hole(cn, protocol, errp)) {
            return false;
        }
        break;
    case NBD_REPLY_TYPE_BLOCK_STATUS:
        if (!got_status(cn, protocol, errp)) {
            return false;
        }
        break;
    default:
        got_error_chunk(cn);
        break;
    }
    chunk_end(cn);
    return true;
}

/* The current target is full: act on it and set the next one. */
static bool process(NbdConn *cn, bool *protocol, GError **errp)
{
    uint32_t magic;

    switch (cn->rd_state) {
    case RD_MAGIC:
        memcpy(&magic, cn->rd_hdr, 4);
        magic = be32toh(magic);
        if (magic == NBD_SIMPLE_REPLY_MAGIC) {
            expect(cn, RD_SIMPLE, cn->rd_hdr + 4,
                   sizeof(NbdSimpleReply) - 4);
            return true;
        }
        if (magic == NBD_STRUCTURED_REPLY_MAGIC &&
            cn->client->info.structured) {
            expect(cn, RD_CHUNK, cn->rd_hdr + 4,
                   sizeof(NbdStructuredReply) - 4);
            return true;
        }
        return protocol_error(protocol, errp, "the server sent a reply with "
                              "bad magic 0x%08" PRIx32, magic);
    case RD_SIMPLE:
        return got_simple(cn, protocol, errp);
    case RD_CHUNK:
        return got_chunk_header(cn, protocol, errp);
    case RD_DATA_OFFSET:
        return got_data_offset(cn, protocol, errp);
    case RD_DATA:
        chunk_end(cn);
        return true;
    case RD_PAYLOAD:
        return got_payload(cn, protocol, errp);
    }
    g_assert_not_reached();
}

int nbd_conn_read_replies(NbdConn *cn, bool *protocol, GError **errp)
{
    size_t budget = READ_BUDGET;

    *protocol = false;
    while (budget > 0) {
        ssize_t n = wd_channel_read(cn->ch, cn->rd_ptr, cn->rd_left, errp);

        if (n == WD_CHANNEL_ERR_BLOCK) {
            return 1;
        }
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            if (cn->rd_state == RD_MAGIC && cn->rd_left == 4) {
                return 0;
            }
            wd_error_setg(errp, "The NBD server closed the connection in "
                          "the middle of a reply");
            return -1;
        }
        cn->last_rx = g_get_monotonic_time();
        cn->rd_ptr += n;
        cn->rd_left -= n;
        budget -= MIN((size_t)n, budget);
        while (cn->rd_left == 0) {
            if (!process(cn, protocol, errp)) {
                return -1;
            }
        }
    }
    return 2;
}
