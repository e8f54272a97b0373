/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What each NBD option means to the server (after nbd-handshake.c framed
 * and gated it): EXPORT_NAME, ABORT, LIST, STARTTLS, INFO, GO,
 * STRUCTURED_REPLY, LIST_META_CONTEXT and SET_META_CONTEXT.  Every length
 * inside an option's payload is checked against the payload and against
 * NBD_MAX_STRING before use.
 */
#include "runtime/nbd/nbd-conn-priv.h"

#include <endian.h>
#include <string.h>

#include "runtime/log.h"

/* A bounds-checked cursor over an option payload. */
typedef struct {
    const uint8_t *p;
    uint32_t left;
} OptReader;

static bool rd_u16(OptReader *r, uint16_t *v)
{
    if (r->left < 2) {
        return false;
    }
    memcpy(v, r->p, 2);
    *v = be16toh(*v);
    r->p += 2;
    r->left -= 2;
    return true;
}

static bool rd_u32(OptReader *r, uint32_t *v)
{
    if (r->left < 4) {
        return false;
    }
    memcpy(v, r->p, 4);
    *v = be32toh(*v);
    r->p += 4;
    r->left -= 4;
    return true;
}

static bool rd_bytes(OptReader *r, uint32_t n, const uint8_t **out)
{
    if (r->left < n) {
        return false;
    }
    *out = r->p;
    r->p += n;
    r->left -= n;
    return true;
}

/* A peer string becomes a C string only without NULs and as UTF-8
 * (STYLE D4).  Returns NULL otherwise. */
static char *peer_string(const uint8_t *p, uint32_t len)
{
    if (memchr(p, 0, len) || !g_utf8_validate((const char *)p, len, NULL)) {
        return NULL;
    }
    return g_strndup((const char *)p, len);
}

static const char *opt_text(uint32_t opt)
{
    switch (opt) {
    case NBD_OPT_LIST:
        return "list";
    case NBD_OPT_STRUCTURED_REPLY:
        return "structured reply";
    case NBD_OPT_INFO:
        return "info";
    case NBD_OPT_GO:
        return "go";
    case NBD_OPT_LIST_META_CONTEXT:
        return "list meta context";
    case NBD_OPT_SET_META_CONTEXT:
        return "set meta context";
    default:
        return "?";
    }
}

static void reply_bad_length(NbdConn *c)
{
    nbd_hs_reply_err(c, NBD_REP_ERR_INVALID,
                     "option '%s' has unexpected length", opt_text(c->opt));
}

/* Sends NBD_REP_INFO of @type with @len bytes of @data. */
static void reply_info(NbdConn *c, uint16_t type, const void *data,
                       size_t len)
{
    g_autofree uint8_t *buf = g_malloc(2 + len);
    uint16_t t = htobe16(type);

    memcpy(buf, &t, 2);
    if (len) {
        memcpy(buf + 2, data, len);
    }
    nbd_hs_reply(c, NBD_REP_INFO, buf, 2 + len);
}

static void reply_info_export(NbdConn *c, WdNbdExport *exp)
{
    NbdInfoExport ie = {
        .info = htobe16(NBD_INFO_EXPORT),
        .exportsize = htobe64(exp->size),
        .eflags = htobe16(nbd_export_eflags(exp, c->structured)),
    };

    nbd_hs_reply(c, NBD_REP_INFO, &ie, sizeof(ie));
}

static void reply_info_block_size(NbdConn *c, WdNbdExport *exp)
{
    NbdInfoBlockSize bs = {
        .info = htobe16(NBD_INFO_BLOCK_SIZE),
        .minimum = htobe32(exp->min_block),
        .preferred = htobe32(MAX(exp->min_block, NBD_DEFAULT_PREF_BLOCK)),
        .maximum = htobe32(NBD_MAX_PAYLOAD),
    };

    nbd_hs_reply(c, NBD_REP_INFO, &bs, sizeof(bs));
}

/* Meta contexts chosen for another export do not apply to this one. */
static void meta_for_export(NbdConn *c, WdNbdExport *exp)
{
    if (c->meta_export && strcmp(c->meta_export, exp->name) != 0) {
        c->meta_alloc = false;
        c->meta_depth = false;
    }
}

/* c->exp is selected and the final reply sent: transmission starts,
 * unless sending that reply failed. */
static bool enter_transmission(NbdConn *c)
{
    if (c->state != NBD_CONN_OPTIONS) {
        return false;
    }
    meta_for_export(c, c->exp);
    nbd_tx_start(c);
    return c->state == NBD_CONN_TRANSMISSION;
}

static bool opt_export_name(NbdConn *c, const uint8_t *data, uint32_t len)
{
    g_autofree char *name = NULL;
    WdNbdExport *exp;
    struct {
        NbdExportNameReply r;
        uint8_t zeroes[NBD_EXPORT_NAME_ZEROES];
    } __attribute__((packed)) reply;

    /* No error reply exists for EXPORT_NAME: refusals hang up. */
    name = len <= NBD_MAX_STRING ? peer_string(data, len) : NULL;
    if (!name) {
        nbd_conn_close(c, "invalid export name");
        return false;
    }
    exp = nbd_server_lookup_export(c->server, name);
    if (!exp || !nbd_server_attach_export(c->server, c, exp)) {
        wd_debug("nbd-server %s: client %s asked for unknown export '%s'",
                 c->server->name, c->peer, name);
        nbd_conn_close(c, "unknown export");
        return false;
    }
    memset(&reply, 0, sizeof(reply));
    reply.r.exportsize = htobe64(exp->size);
    reply.r.eflags = htobe16(nbd_export_eflags(exp, c->structured));
    nbd_conn_send_copy(c, &reply, c->no_zeroes ? sizeof(reply.r) :
                       sizeof(reply));
    c->export_name_end = true;
    return enter_transmission(c);
}

static bool opt_list(NbdConn *c, uint32_t len)
{
    g_autoptr(GPtrArray) exps = NULL;

    if (len != 0) {
        reply_bad_length(c);
        return true;
    }
    exps = nbd_server_snapshot_exports(c->server);
    for (guint i = 0; i < exps->len; i++) {
        WdNbdExport *e = g_ptr_array_index(exps, i);
        size_t nlen = strlen(e->name);
        size_t dlen = e->description ? strlen(e->description) : 0;
        g_autofree uint8_t *buf = g_malloc(4 + nlen + dlen);
        uint32_t be = htobe32(nlen);

        memcpy(buf, &be, 4);
        memcpy(buf + 4, e->name, nlen);
        if (dlen) {
            memcpy(buf + 4 + nlen, e->description, dlen);
        }
        nbd_hs_reply(c, NBD_REP_SERVER, buf, 4 + nlen + dlen);
    }
    nbd_hs_reply(c, NBD_REP_ACK, NULL, 0);
    return true;
}

/* Reads an export name (u32 length + bytes) from @r; replies and
 * returns NULL on error. */
static char *read_export_name(NbdConn *c, OptReader *r)
{
    const uint8_t *p;
    uint32_t n;
    char *name;

    if (!rd_u32(r, &n) || n > r->left) {
        reply_bad_length(c);
        return NULL;
    }
    if (n > NBD_MAX_STRING) {
        nbd_hs_reply_err(c, NBD_REP_ERR_TOO_BIG, "export name of %u bytes "
                         "is longer than %d", n, NBD_MAX_STRING);
        return NULL;
    }
    rd_bytes(r, n, &p);
    name = peer_string(p, n);
    if (!name) {
        nbd_hs_reply_err(c, NBD_REP_ERR_INVALID,
                         "export name is not valid UTF-8 text");
    }
    return name;
}

static bool opt_info_go(NbdConn *c, const uint8_t *data, uint32_t len)
{
    OptReader r = { data, len };
    g_autofree char *name = read_export_name(c, &r);
    bool want_name = false, want_desc = false;
    WdNbdExport *exp;
    uint16_t nreq;

    if (!name) {
        return true;
    }
    if (!rd_u16(&r, &nreq) || r.left != 2u * nreq) {
        reply_bad_length(c);
        return true;
    }
    for (uint16_t i = 0; i < nreq; i++) {
        uint16_t info = 0;

        rd_u16(&r, &info);
        want_name |= info == NBD_INFO_NAME;
        want_desc |= info == NBD_INFO_DESCRIPTION;
        /* NBD_INFO_BLOCK_SIZE is always sent; unknown ones are ignored. */
    }
    exp = nbd_server_lookup_export(c->server, name);
    if (!exp) {
        nbd_hs_reply_err(c, NBD_REP_ERR_UNKNOWN, "export '%s' not present",
                         name);
        return true;
    }
    if (want_name) {
        reply_info(c, NBD_INFO_NAME, exp->name, strlen(exp->name));
    }
    if (want_desc && exp->description) {
        reply_info(c, NBD_INFO_DESCRIPTION, exp->description,
                   strlen(exp->description));
    }
    reply_info_block_size(c, exp);
    reply_info_export(c, exp);
    if (c->opt == NBD_OPT_INFO) {
        nbd_hs_reply(c, NBD_REP_ACK, NULL, 0);
        wd_nbd_export_unref(exp);
        return true;
    }
    if (!nbd_server_attach_export(c->server, c, exp)) {
        nbd_hs_reply_err(c, NBD_REP_ERR_UNKNOWN, "export '%s' not present",
                         name);
        return true;
    }
    nbd_hs_reply(c, NBD_REP_ACK, NULL, 0);
    return enter_transmission(c);
}

static bool opt_structured_reply(NbdConn *c, uint32_t len)
{
    if (len != 0) {
        reply_bad_length(c);
    } else if (c->structured) {
        nbd_hs_reply_err(c, NBD_REP_ERR_INVALID,
                         "structured reply already negotiated");
    } else {
        c->structured = true;
        nbd_hs_reply(c, NBD_REP_ACK, NULL, 0);
    }
    return true;
}

/* Meta contexts, as bits of a mask. */
enum {
    CTX_ALLOCATION = 1 << 0,    /* base:allocation */
    CTX_DEPTH = 1 << 1,         /* qemu:allocation-depth */
};

static const struct {
    unsigned bit;
    const char *name;
    uint32_t id;
} contexts[] = {
    { CTX_ALLOCATION, NBD_META_BASE_ALLOCATION, NBD_SRV_META_ID_ALLOCATION },
    { CTX_DEPTH, NBD_META_QEMU_ALLOCATION_DEPTH, NBD_SRV_META_ID_DEPTH },
};

/* The contexts query @q names; LIST also takes a namespace ("base:",
 * "qemu:") as a wildcard for the contexts in it. */
static unsigned query_matches(const uint8_t *q, uint32_t n, bool list)
{
    unsigned mask = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(contexts); i++) {
        const char *name = contexts[i].name;
        size_t ns = strchr(name, ':') + 1 - name;

        if ((n == strlen(name) && memcmp(q, name, n) == 0) ||
            (list && n == ns && memcmp(q, name, ns) == 0)) {
            mask |= contexts[i].bit;
        }
    }
    return mask;
}

static bool opt_meta_context(NbdConn *c, const uint8_t *data, uint32_t len)
{
    bool list = c->opt == NBD_OPT_LIST_META_CONTEXT;
    OptReader r = { data, len };
    g_autofree char *name = NULL;
    g_autoptr(WdNbdExport) exp = NULL;
    unsigned match = 0;
    uint32_t nq;

    if (!list && !c->structured) {
        nbd_hs_reply_err(c, NBD_REP_ERR_INVALID, "NBD_OPT_SET_META_CONTEXT "
                         "needs structured replies to be negotiated first");
        return true;
    }
    name = read_export_name(c, &r);
    if (!name) {
        return true;
    }
    if (!rd_u32(&r, &nq)) {
        reply_bad_length(c);
        return true;
    }
    if (nq > NBD_MAX_META_QUERIES) {
        nbd_hs_reply_err(c, NBD_REP_ERR_TOO_BIG, "%u queries are more than "
                         "the %d we accept", nq, NBD_MAX_META_QUERIES);
        return true;
    }
    for (uint32_t i = 0; i < nq; i++) {
        const uint8_t *q;
        uint32_t qlen;

        if (!rd_u32(&r, &qlen) || !rd_bytes(&r, qlen, &q)) {
            reply_bad_length(c);
            return true;
        }
        if (qlen > NBD_MAX_STRING) {
            nbd_hs_reply_err(c, NBD_REP_ERR_TOO_BIG, "query of %u bytes is "
                             "longer than %d", qlen, NBD_MAX_STRING);
            return true;
        }
        match |= query_matches(q, qlen, list);
    }
    if (r.left) {
        reply_bad_length(c);
        return true;
    }
    exp = nbd_server_lookup_export(c->server, name);
    if (!exp) {
        nbd_hs_reply_err(c, NBD_REP_ERR_UNKNOWN, "export '%s' not present",
                         name);
        return true;
    }
    unsigned offered = CTX_ALLOCATION |
                       (exp->allocation_depth ? CTX_DEPTH : 0);
    /* No query: LIST lists everything, SET selects nothing. */
    if (list && nq == 0) {
        match = offered;
    }
    match &= offered;
    for (size_t i = 0; i < G_N_ELEMENTS(contexts); i++) {
        if (match & contexts[i].bit) {
            size_t n = strlen(contexts[i].name);
            uint8_t buf[4 + NBD_MAX_STRING];
            uint32_t id = htobe32(list ? 0 : contexts[i].id);

            memcpy(buf, &id, 4);
            memcpy(buf + 4, contexts[i].name, n);
            nbd_hs_reply(c, NBD_REP_META_CONTEXT, buf, 4 + n);
        }
    }
    if (!list) {
        /* SET replaces the previous selection. */
        c->meta_alloc = match & CTX_ALLOCATION;
        c->meta_depth = match & CTX_DEPTH;
        g_free(c->meta_export);
        c->meta_export = g_strdup(exp->name);
    }
    nbd_hs_reply(c, NBD_REP_ACK, NULL, 0);
    return true;
}

bool nbd_opt_dispatch(NbdConn *c, const uint8_t *data, uint32_t len)
{
    switch (c->opt) {
    case NBD_OPT_EXPORT_NAME:
        return opt_export_name(c, data, len);
    case NBD_OPT_ABORT:
        /* The payload, if any, is ignored as the spec says. */
        nbd_hs_reply(c, NBD_REP_ACK, NULL, 0);
        nbd_conn_close(c, "client sent NBD_OPT_ABORT");
        return false;
    case NBD_OPT_LIST:
        return opt_list(c, len);
    case NBD_OPT_STARTTLS:
        nbd_hs_starttls(c, len);
        return c->state != NBD_CONN_CLOSING;
    case NBD_OPT_INFO:
    case NBD_OPT_GO:
        return opt_info_go(c, data, len);
    case NBD_OPT_STRUCTURED_REPLY:
        return opt_structured_reply(c, len);
    case NBD_OPT_LIST_META_CONTEXT:
    case NBD_OPT_SET_META_CONTEXT:
        return opt_meta_context(c, data, len);
    default:
        /* qemu-nbd's text. */
        nbd_hs_reply_err(c, NBD_REP_ERR_UNSUP, "Unsupported option %u (%s)",
                         c->opt, name_of_nbd_opt(c->opt));
        return true;
    }
}
