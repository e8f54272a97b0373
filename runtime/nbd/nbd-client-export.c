/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD client's export negotiation after the greeting (and STARTTLS):
 * structured replies, base:allocation, NBD_OPT_GO/INFO with every info
 * reply checked, the EXPORT_NAME fallback for old servers, and
 * NBD_OPT_LIST (+ INFO, LIST_META_CONTEXT) for `warden img list`.
 */
#include "runtime/nbd/nbd-client-priv.h"
#include "runtime/error.h"

#include <endian.h>
#include <inttypes.h>
#include <string.h>

/* ---- export negotiation -------------------------------------------------- */

/* u32 name length + name: the prefix of INFO/GO/META payloads. */
static void put_name(GByteArray *b, const char *name)
{
    uint32_t len = htobe32(strlen(name));

    g_byte_array_append(b, (const guint8 *)&len, sizeof(len));
    g_byte_array_append(b, (const guint8 *)name, strlen(name));
}

static void set_meta(NbdHs *hs, NbdNegotiated *out, GError **errp_fatal)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    const char *ctx = NBD_META_BASE_ALLOCATION;
    uint32_t v = htobe32(1);
    NbdOptReply r = { 0 };

    put_name(b, hs->p->export_name);
    g_byte_array_append(b, (const guint8 *)&v, sizeof(v));
    v = htobe32(strlen(ctx));
    g_byte_array_append(b, (const guint8 *)&v, sizeof(v));
    g_byte_array_append(b, (const guint8 *)ctx, strlen(ctx));
    if (!nbd_hs_send_option(hs, NBD_OPT_SET_META_CONTEXT, b->data, b->len,
                            errp_fatal)) {
        return;
    }
    for (int i = 0; i <= WD_NBD_CLIENT_MAX_INFO_REPLIES; i++) {
        if (!nbd_hs_read_reply(hs, &r, errp_fatal)) {
            break;
        }
        if (r.type == NBD_REP_ACK) {
            break;
        }
        if (NBD_REP_IS_ERR(r.type)) {
            /* No block status then; only hopeless errors are fatal. */
            if (nbd_hs_reply_is_fatal(r.type)) {
                nbd_hs_reply_error(hs, &r, errp_fatal);
            }
            out->meta = false;
            break;
        }
        if (r.type != NBD_REP_META_CONTEXT || r.len < 4) {
            wd_error_setg(errp_fatal, "The NBD server sent a bad reply %s "
                          "(%" PRIu32 " bytes) to %s", name_of_nbd_rep(r.type),
                          r.len, name_of_nbd_opt(hs->opt));
            break;
        }
        if (r.len - 4 == strlen(ctx) && memcmp(r.data + 4, ctx,
                                               strlen(ctx)) == 0) {
            memcpy(&v, r.data, 4);
            out->meta = true;
            out->meta_id = be32toh(v);
        }
        if (i == WD_NBD_CLIENT_MAX_INFO_REPLIES) {
            wd_error_setg(errp_fatal, "The NBD server sent too many replies "
                          "to %s", name_of_nbd_opt(hs->opt));
        }
    }
    nbd_opt_reply_clear(&r);
}

static bool valid_block_sizes(uint32_t min, uint32_t pref, uint32_t max)
{
    bool pow2_min = min && !(min & (min - 1));
    bool pow2_pref = pref && !(pref & (pref - 1));

    return pow2_min && min <= NBD_MAX_MIN_BLOCK && pow2_pref &&
           pref >= min && max >= min &&
           (max == UINT32_MAX || max % min == 0);
}

/* Parses one NBD_REP_INFO into @out; *@have_export when it was
 * NBD_INFO_EXPORT. */
static bool parse_info(NbdHs *hs, const NbdOptReply *r, NbdNegotiated *out,
                       bool *have_export, GError **errp)
{
    uint16_t type;

    if (r->len < 2) {
        goto bad;
    }
    memcpy(&type, r->data, 2);
    switch (be16toh(type)) {
    case NBD_INFO_EXPORT: {
        NbdInfoExport ie;

        if (r->len != sizeof(ie)) {
            goto bad;
        }
        memcpy(&ie, r->data, sizeof(ie));
        out->size = be64toh(ie.exportsize);
        out->flags = be16toh(ie.eflags);
        *have_export = true;
        return true;
    }
    case NBD_INFO_BLOCK_SIZE: {
        NbdInfoBlockSize bs;

        if (r->len != sizeof(bs)) {
            goto bad;
        }
        memcpy(&bs, r->data, sizeof(bs));
        out->min_block = be32toh(bs.minimum);
        out->pref_block = be32toh(bs.preferred);
        out->max_block = be32toh(bs.maximum);
        if (!valid_block_sizes(out->min_block, out->pref_block,
                               out->max_block)) {
            wd_error_setg(errp, "The NBD server sent invalid block sizes "
                          "(minimum %" PRIu32 ", preferred %" PRIu32
                          ", maximum %" PRIu32 ")", out->min_block,
                          out->pref_block, out->max_block);
            return false;
        }
        return true;
    }
    case NBD_INFO_NAME:
        g_free(out->name);
        out->name = nbd_client_sanitize(r->data + 2, r->len - 2);
        return true;
    case NBD_INFO_DESCRIPTION:
        g_free(out->description);
        out->description = nbd_client_sanitize(r->data + 2, r->len - 2);
        return true;
    }
    return true;                /* unknown information: ignored */
bad:
    wd_error_setg(errp, "The NBD server sent a malformed NBD_REP_INFO "
                  "(%" PRIu32 " bytes) to %s", r->len,
                  name_of_nbd_opt(hs->opt));
    return false;
}

/*
 * NBD_OPT_INFO or NBD_OPT_GO for @name. Returns 1 on ACK, 0 when the
 * server does not know the option (ERR_UNSUP: try EXPORT_NAME), -1 on
 * error.
 */
static int info_or_go(NbdHs *hs, uint32_t opt, const char *name,
                      NbdNegotiated *out, GError **errp)
{
    static const uint16_t want[] = {
        NBD_INFO_BLOCK_SIZE, NBD_INFO_NAME, NBD_INFO_DESCRIPTION,
    };
    g_autoptr(GByteArray) b = g_byte_array_new();
    uint16_t n = htobe16(G_N_ELEMENTS(want));
    NbdOptReply r = { 0 };
    bool have_export = false;
    int ret = -1;

    put_name(b, name);
    g_byte_array_append(b, (const guint8 *)&n, sizeof(n));
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        uint16_t w = htobe16(want[i]);
        g_byte_array_append(b, (const guint8 *)&w, sizeof(w));
    }
    if (!nbd_hs_send_option(hs, opt, b->data, b->len, errp)) {
        return -1;
    }
    for (int i = 0;; i++) {
        if (!nbd_hs_read_reply(hs, &r, errp)) {
            break;
        }
        if (r.type == NBD_REP_INFO) {
            if (i >= WD_NBD_CLIENT_MAX_INFO_REPLIES) {
                wd_error_setg(errp, "The NBD server sent too many replies "
                              "to %s", name_of_nbd_opt(opt));
                break;
            }
            if (!parse_info(hs, &r, out, &have_export, errp)) {
                break;
            }
            continue;
        }
        if (r.type == NBD_REP_ACK) {
            if (!have_export) {
                wd_error_setg(errp, "The NBD server finished %s without "
                              "sending the export size", name_of_nbd_opt(opt));
                break;
            }
            ret = 1;
            break;
        }
        if (r.type == NBD_REP_ERR_UNSUP && i == 0) {
            ret = 0;
            break;
        }
        if (r.type == NBD_REP_ERR_UNKNOWN) {
            g_autofree char *text = nbd_hs_server_text(&r);
            wd_error_setg(errp, "Export '%s' not found on the server%s",
                          name, text);
            break;
        }
        nbd_hs_reply_error(hs, &r, errp);
        break;
    }
    nbd_opt_reply_clear(&r);
    return ret;
}

/* The pre-GO way in: no reply header; the server hangs up on a bad name. */
static bool export_name(NbdHs *hs, NbdNegotiated *out, GError **errp)
{
    const char *name = hs->p->export_name;
    NbdExportNameReply rep;
    uint8_t zeroes[NBD_EXPORT_NAME_ZEROES];
    g_autoptr(GError) err = NULL;

    if (!nbd_hs_send_option(hs, NBD_OPT_EXPORT_NAME, name, strlen(name),
                            errp)) {
        return false;
    }
    if (!nbd_hs_read(hs, &rep, sizeof(rep), &err) ||
        (!hs->no_zeroes && !nbd_hs_read(hs, zeroes, sizeof(zeroes), &err))) {
        if (hs->eof) {
            wd_error_setg(errp, "Export '%s' not found on the server (it "
                          "closed the connection after NBD_OPT_EXPORT_NAME)",
                          name);
        } else {
            g_propagate_error(errp, g_steal_pointer(&err));
        }
        return false;
    }
    out->size = be64toh(rep.exportsize);
    out->flags = be16toh(rep.eflags);
    return true;
}

static bool open_export(NbdHs *hs, NbdNegotiated *out, GError **errp)
{
    NbdOptReply r = { 0 };
    GError *fatal = NULL;
    int rc;

    out->min_block = NBD_DEFAULT_MIN_BLOCK;
    out->pref_block = NBD_DEFAULT_PREF_BLOCK;
    out->max_block = NBD_MAX_PAYLOAD;
    if (hs->fixed && hs->p->structured) {
        rc = nbd_hs_simple_option(hs, NBD_OPT_STRUCTURED_REPLY, &r, errp);
        if (rc < 0) {
            nbd_opt_reply_clear(&r);
            return false;
        }
        if (rc == 0 && nbd_hs_reply_is_fatal(r.type)) {
            nbd_hs_reply_error(hs, &r, errp);
            nbd_opt_reply_clear(&r);
            return false;
        }
        out->structured = rc == 1;
        nbd_opt_reply_clear(&r);
    }
    if (out->structured && hs->p->meta) {
        set_meta(hs, out, &fatal);
        if (fatal) {
            g_propagate_error(errp, fatal);
            return false;
        }
    }
    rc = hs->fixed ? info_or_go(hs, NBD_OPT_GO, hs->p->export_name, out,
                                errp) : 0;
    if (rc < 0 || (rc == 0 && !export_name(hs, out, errp))) {
        return false;
    }
    if (!(out->flags & NBD_FLAG_HAS_FLAGS)) {
        out->flags = 0;
    }
    if (!out->structured) {
        out->flags &= ~NBD_FLAG_SEND_DF;
    }
    if (out->size > INT64_MAX) {
        wd_error_setg(errp, "The NBD server reported an export size of %"
                      PRIu64 " bytes, which is too large", out->size);
        return false;
    }
    return true;
}

WdChannel *nbd_client_handshake(const NbdOpenParams *p, gint64 deadline,
                                double timeout_s, const NbdCancel *cancel,
                                NbdNegotiated *out, bool *reached,
                                GError **errp)
{
    NbdHs hs;
    WdChannel *ch = NULL;
    bool ok;

    memset(out, 0, sizeof(*out));
    nbd_hs_init(&hs, p, deadline, timeout_s, cancel);
    ok = nbd_hs_begin(&hs, out, errp);
    if (reached) {
        *reached = hs.sock != NULL;
    }
    if (ok && open_export(&hs, out, errp)) {
        ch = wd_channel_ref(hs.ch);
    } else {
        nbd_negotiated_clear(out);
    }
    nbd_hs_cleanup(&hs);
    return ch;
}

/* ---- listing ------------------------------------------------------------- */

void wd_nbd_export_entry_free(WdNbdExportEntry *e)
{
    if (e) {
        g_free(e->name);
        g_free(e->description);
        g_strfreev(e->contexts);
        g_free(e);
    }
}

static bool list_names(NbdHs *hs, GPtrArray *list, GError **errp)
{
    NbdOptReply r = { 0 };
    bool ok = false;

    if (!nbd_hs_send_option(hs, NBD_OPT_LIST, NULL, 0, errp)) {
        return false;
    }
    for (;;) {
        uint32_t nlen;
        WdNbdExportEntry *e;

        if (!nbd_hs_read_reply(hs, &r, errp)) {
            break;
        }
        if (r.type == NBD_REP_ACK) {
            ok = true;
            break;
        }
        if (r.type == NBD_REP_ERR_POLICY) {
            g_autofree char *text = nbd_hs_server_text(&r);
            wd_error_setg(errp, "The NBD server does not allow listing its "
                          "exports%s", text);
            break;
        }
        if (r.type != NBD_REP_SERVER) {
            nbd_hs_reply_error(hs, &r, errp);
            break;
        }
        memcpy(&nlen, r.data, MIN(r.len, 4));
        nlen = be32toh(nlen);
        if (r.len < 4 || nlen > r.len - 4 || nlen > NBD_MAX_STRING) {
            wd_error_setg(errp, "The NBD server sent a malformed "
                          "NBD_REP_SERVER reply to NBD_OPT_LIST");
            break;
        }
        if (list->len >= WD_NBD_CLIENT_MAX_EXPORTS) {
            wd_error_setg(errp, "The NBD server lists more than %d exports",
                          WD_NBD_CLIENT_MAX_EXPORTS);
            break;
        }
        e = g_new0(WdNbdExportEntry, 1);
        e->name = nbd_client_sanitize(r.data + 4, nlen);
        if (r.len - 4 - nlen > 0) {
            e->description = nbd_client_sanitize(r.data + 4 + nlen,
                                                 r.len - 4 - nlen);
        }
        g_ptr_array_add(list, e);
    }
    nbd_opt_reply_clear(&r);
    return ok;
}

/* NBD_OPT_LIST_META_CONTEXT with no query: every context of @name. */
static char **list_contexts(NbdHs *hs, const char *name, GError **errp)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    uint32_t zero = 0;
    NbdOptReply r = { 0 };
    bool ok = false;

    put_name(b, name);
    g_byte_array_append(b, (const guint8 *)&zero, sizeof(zero));
    if (!nbd_hs_send_option(hs, NBD_OPT_LIST_META_CONTEXT, b->data, b->len,
                            errp)) {
        return NULL;
    }
    for (int i = 0; i <= WD_NBD_CLIENT_MAX_INFO_REPLIES; i++) {
        if (!nbd_hs_read_reply(hs, &r, errp)) {
            break;
        }
        if (r.type == NBD_REP_ACK || NBD_REP_IS_ERR(r.type)) {
            ok = true;
            break;
        }
        if (r.type != NBD_REP_META_CONTEXT || r.len < 4) {
            wd_error_setg(errp, "The NBD server sent a bad reply to "
                          "NBD_OPT_LIST_META_CONTEXT");
            break;
        }
        g_ptr_array_add(names, nbd_client_sanitize(r.data + 4, r.len - 4));
    }
    nbd_opt_reply_clear(&r);
    if (!ok) {
        if (errp && !*errp) {
            wd_error_setg(errp, "The NBD server sent too many replies to "
                          "NBD_OPT_LIST_META_CONTEXT");
        }
        return NULL;
    }
    g_ptr_array_add(names, NULL);
    return (char **)g_ptr_array_steal(names, NULL);
}

GPtrArray *nbd_client_handshake_list(const NbdOpenParams *p, gint64 deadline,
                                     double timeout_s, GError **errp)
{
    g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(
        (GDestroyNotify)wd_nbd_export_entry_free);
    NbdNegotiated neg = { 0 };
    NbdOptReply r = { 0 };
    NbdHs hs;
    bool ok = false;
    /* Servers cap options per connection (nbdkit: 32); stay below. */
    int budget = NBD_MAX_NR_OPTIONS - 4;

    nbd_hs_init(&hs, p, deadline, timeout_s, NULL);
    if (!nbd_hs_begin(&hs, &neg, errp)) {
        goto out;
    }
    if (!hs.fixed) {
        wd_error_setg(errp, "The NBD server at '%s' cannot list exports "
                      "(it does not use fixed newstyle negotiation)",
                      hs.where);
        goto out;
    }
    int rc = nbd_hs_simple_option(&hs, NBD_OPT_STRUCTURED_REPLY, &r, errp);
    if (rc < 0 || (rc == 0 && nbd_hs_reply_is_fatal(r.type))) {
        if (rc == 0) {
            nbd_hs_reply_error(&hs, &r, errp);
        }
        goto out;
    }
    bool structured = rc == 1;
    if (!list_names(&hs, list, errp)) {
        goto out;
    }
    for (guint i = 0; i < list->len && budget >= 2; i++, budget -= 2) {
        WdNbdExportEntry *e = g_ptr_array_index(list, i);
        NbdNegotiated info = { 0 };
        g_autoptr(GError) err = NULL;

        rc = info_or_go(&hs, NBD_OPT_INFO, e->name, &info, &err);
        if (rc < 0 && hs.eof) {
            nbd_negotiated_clear(&info);
            break;          /* the server stopped answering: show names */
        }
        if (rc == 1) {
            e->has_info = true;
            e->size = info.size;
            e->flags = info.flags;
            e->min_block = info.min_block ? info.min_block :
                           NBD_DEFAULT_MIN_BLOCK;
            e->pref_block = info.pref_block ? info.pref_block :
                            NBD_DEFAULT_PREF_BLOCK;
            e->max_block = info.max_block ? info.max_block : NBD_MAX_PAYLOAD;
            if (!e->description && info.description) {
                e->description = g_steal_pointer(&info.description);
            }
        }
        nbd_negotiated_clear(&info);
        if (structured) {
            g_clear_error(&err);
            e->contexts = list_contexts(&hs, e->name, &err);
            if (hs.eof) {
                break;
            }
        }
    }
    /* Soft disconnect; a server that just closes is fine too. */
    if (!hs.eof && nbd_hs_send_option(&hs, NBD_OPT_ABORT, NULL, 0, NULL)) {
        nbd_hs_read_reply(&hs, &r, NULL);
    }
    ok = true;
out:
    nbd_opt_reply_clear(&r);
    nbd_negotiated_clear(&neg);
    nbd_hs_cleanup(&hs);
    return ok ? g_steal_pointer(&list) : NULL;
}
