/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD server object: I/O threads and the worker pool, listening and
 * accepting (with the max-connections limit), connection accounting,
 * exports (add, find, list, safe/hard removal) and the main-thread side
 * of tls-authz checks.
 */
#include "runtime/nbd/nbd-conn-priv.h"

#include <errno.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/uio.h>

#include "runtime/error.h"
#include "runtime/log.h"
#include "runtime/object.h"

static void buf_free(NbdBuf *b)
{
    free(b->base);
    g_free(b);
}

/* ---- exports -------------------------------------------------------------- */

/* Can READs of @node be served on an I/O thread without waiting for a
 * disk?  Decided once per export. */
static NbdInlineMode probe_inline(WdBlockNode *node)
{
    uint64_t fd_off;
    struct statfs sfs;
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    int fd;

    if (wd_block_get_alignment(node) > 1) {
        return NBD_INLINE_NONE;     /* O_DIRECT: always a real disk read */
    }
    if (strcmp(wd_block_driver_name(node), "memory") == 0) {
        return NBD_INLINE_ALWAYS;
    }
    fd = wd_block_get_fd(node, 0, 0, &fd_off);
    if (fd < 0) {
        return NBD_INLINE_NONE;
    }
    if (fstatfs(fd, &sfs) == 0 &&
        (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC)) {
        return NBD_INLINE_ALWAYS;
    }
    if (preadv2(fd, &iov, 1, fd_off, RWF_NOWAIT) < 0 &&
        errno == EOPNOTSUPP) {
        return NBD_INLINE_NONE;
    }
    return NBD_INLINE_NOWAIT;
}

WdNbdExport *wd_nbd_export_new(const char *name, const char *description,
                               WdBlockNode *node, bool writable,
                               bool allow_multi_conn, GError **errp)
{
    WdNbdExport *exp;

    if (strlen(name) > NBD_MAX_STRING || !g_utf8_validate(name, -1, NULL)) {
        wd_error_setg(errp, "Export name must be UTF-8 text of at most %d "
                      "bytes", NBD_MAX_STRING);
        return NULL;
    }
    if (description && (strlen(description) > NBD_MAX_STRING ||
                        !g_utf8_validate(description, -1, NULL))) {
        wd_error_setg(errp, "Description of export '%s' must be UTF-8 text "
                      "of at most %d bytes", name, NBD_MAX_STRING);
        return NULL;
    }
    if (writable && wd_block_is_read_only(node)) {
        wd_error_setg(errp, "Cannot export node '%s' writable: it is "
                      "read-only", wd_block_node_name(node));
        return NULL;
    }
    exp = g_new0(WdNbdExport, 1);
    exp->refcount = 1;
    exp->name = g_strdup(name);
    exp->description = description && *description ?
                       g_strdup(description) : NULL;
    exp->node = wd_block_node_ref(node);
    exp->size = wd_block_get_size(node);
    exp->min_block = wd_block_get_alignment(node);
    exp->writable = writable;
    exp->multi_conn = allow_multi_conn;
    exp->inline_mode = probe_inline(node);
    return exp;
}

WdNbdExport *wd_nbd_export_ref(WdNbdExport *exp)
{
    g_atomic_int_inc(&exp->refcount);
    return exp;
}

void wd_nbd_export_unref(WdNbdExport *exp)
{
    if (!exp || !g_atomic_int_dec_and_test(&exp->refcount)) {
        return;
    }
    wd_block_node_unref(exp->node);
    g_free(exp->name);
    g_free(exp->description);
    g_free(exp);
}

const char *wd_nbd_export_get_name(WdNbdExport *exp)
{
    return exp->name;
}

const char *wd_nbd_export_get_description(WdNbdExport *exp)
{
    return exp->description;
}

WdBlockNode *wd_nbd_export_get_node(WdNbdExport *exp)
{
    return exp->node;
}

bool wd_nbd_export_is_writable(WdNbdExport *exp)
{
    return exp->writable;
}

void wd_nbd_export_set_allocation_depth(WdNbdExport *exp, bool on)
{
    exp->allocation_depth = on;
}

size_t wd_nbd_export_count_connections(WdNbdExport *exp)
{
    size_t n;

    if (!exp->server) {
        return 0;
    }
    g_mutex_lock(&exp->server->lock);
    n = exp->nconns;
    g_mutex_unlock(&exp->server->lock);
    return n;
}

uint16_t nbd_export_eflags(WdNbdExport *exp, bool structured)
{
    uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
                 NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_CACHE;

    if (exp->writable) {
        /* FAST_ZERO is always honest: without a fast way the request
         * fails at once with NBD_ENOTSUP, as the spec asks. */
        f |= NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES |
             NBD_FLAG_SEND_FAST_ZERO;
    } else {
        f |= NBD_FLAG_READ_ONLY;
    }
    if (exp->multi_conn) {
        f |= NBD_FLAG_CAN_MULTI_CONN;
    }
    if (structured) {
        f |= NBD_FLAG_SEND_DF;
    }
    return f;
}

static WdNbdExport *find_locked(WdNbdServer *s, const char *name)
{
    for (guint i = 0; i < s->exports->len; i++) {
        WdNbdExport *e = g_ptr_array_index(s->exports, i);

        if (strcmp(e->name, name) == 0) {
            return e;
        }
    }
    return NULL;
}

bool wd_nbd_server_add_export(WdNbdServer *s, WdNbdExport *exp,
                              GError **errp)
{
    g_autoptr(WdNbdExport) owned = exp;

    g_mutex_lock(&s->lock);
    if (find_locked(s, exp->name)) {
        g_mutex_unlock(&s->lock);
        wd_error_setg(errp, "NBD export '%s' already exists", exp->name);
        return false;
    }
    if (exp->server) {
        g_mutex_unlock(&s->lock);
        wd_error_setg(errp, "NBD export '%s' belongs to a server already",
                      exp->name);
        return false;
    }
    exp->server = s;
    g_ptr_array_add(s->exports, g_steal_pointer(&owned));
    g_mutex_unlock(&s->lock);
    return true;
}

WdNbdExport *wd_nbd_server_find_export(WdNbdServer *s, const char *name)
{
    WdNbdExport *e;

    g_mutex_lock(&s->lock);
    e = find_locked(s, name);
    g_mutex_unlock(&s->lock);
    return e;
}

GPtrArray *wd_nbd_server_list_exports(WdNbdServer *s)
{
    return nbd_server_snapshot_exports(s);
}

GPtrArray *nbd_server_snapshot_exports(WdNbdServer *s)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(
        (GDestroyNotify)wd_nbd_export_unref);

    g_mutex_lock(&s->lock);
    for (guint i = 0; i < s->exports->len; i++) {
        g_ptr_array_add(a, wd_nbd_export_ref(g_ptr_array_index(s->exports,
                                                               i)));
    }
    g_mutex_unlock(&s->lock);
    return a;
}

WdNbdExport *nbd_server_lookup_export(WdNbdServer *s, const char *name)
{
    WdNbdExport *e = NULL;

    g_mutex_lock(&s->lock);
    if (*name) {
        e = find_locked(s, name);
    } else if (s->exports->len) {
        /* "" is the default export, the first one (as qemu-nbd). */
        e = find_locked(s, "");
        e = e ? e : g_ptr_array_index(s->exports, 0);
    }
    if (e) {
        wd_nbd_export_ref(e);
    }
    g_mutex_unlock(&s->lock);
    return e;
}

bool nbd_server_attach_export(WdNbdServer *s, NbdConn *c, WdNbdExport *exp)
{
    bool ok;

    g_mutex_lock(&s->lock);
    ok = !exp->removing && !s->stopping;
    if (ok) {
        /* Under the lock: a hard removal looks for c->exp == exp. */
        exp->nconns++;
        c->exp = exp;
    }
    g_mutex_unlock(&s->lock);
    if (!ok) {
        wd_nbd_export_unref(exp);
    }
    return ok;
}

/* Main context: runs done() of removals whose export has no client. */
static gboolean removals_cb(gpointer opaque)
{
    WdNbdServer *s = opaque;
    g_autoptr(GPtrArray) ready = g_ptr_array_new();

    g_mutex_lock(&s->lock);
    g_clear_pointer(&s->removal_src, g_source_unref);
    for (guint i = 0; i < s->removals->len;) {
        NbdRemoval *r = g_ptr_array_index(s->removals, i);

        if (r->exp->nconns == 0) {
            g_ptr_array_add(ready, g_ptr_array_steal_index(s->removals, i));
        } else {
            i++;
        }
    }
    g_mutex_unlock(&s->lock);
    for (guint i = 0; i < ready->len; i++) {
        NbdRemoval *r = g_ptr_array_index(ready, i);

        if (r->done) {
            r->done(r->opaque);
        }
        wd_nbd_export_unref(r->exp);
        g_free(r);
    }
    return G_SOURCE_REMOVE;
}

static void schedule_removals_locked(WdNbdServer *s)
{
    if (!s->removal_src) {
        s->removal_src = g_idle_source_new();
        g_source_set_callback(s->removal_src, removals_cb, s, NULL);
        g_source_attach(s->removal_src, s->main_ctx);
    }
}

bool wd_nbd_server_remove_export(WdNbdServer *s, const char *name,
                                 WdNbdRemoveMode mode,
                                 void (*done)(gpointer opaque),
                                 gpointer opaque, GError **errp)
{
    NbdRemoval *r;
    WdNbdExport *e;

    g_mutex_lock(&s->lock);
    e = find_locked(s, name);
    if (!e) {
        g_mutex_unlock(&s->lock);
        wd_error_setg(errp, "No NBD export named '%s'", name);
        return false;
    }
    /* No longer listed nor selectable; our reference moves to @r. */
    g_ptr_array_remove(s->exports, e);
    e->removing = true;
    r = g_new0(NbdRemoval, 1);
    r->exp = e;
    r->done = done;
    r->opaque = opaque;
    g_ptr_array_add(s->removals, r);
    if (mode == WD_NBD_REMOVE_HARD) {
        for (guint i = 0; i < s->conns->len; i++) {
            NbdConn *c = g_ptr_array_index(s->conns, i);

            if (c->exp == e) {
                nbd_conn_request_stop(c);
            }
        }
    }
    schedule_removals_locked(s);
    g_mutex_unlock(&s->lock);
    return true;
}

/* ---- data buffers (server-wide pool) ------------------------------------------------------------ */

NbdBuf *nbd_conn_buf_get(NbdConn *c, size_t len)
{
    WdNbdServer *s = c->server;
    size_t room = NBD_SRV_HDR_ROOM;
    int cls = 0;
    NbdBuf *b = NULL;
    void *base;

    while (cls < NBD_SRV_BUF_CLASSES &&
           ((size_t)1 << (NBD_SRV_BUF_MIN_SHIFT + cls)) < len) {
        cls++;
    }
    if (c->exp && c->exp->min_block > room) {
        cls = NBD_SRV_BUF_CLASSES;      /* exotic alignment: not pooled */
        room = c->exp->min_block;
    }
    if (cls < NBD_SRV_BUF_CLASSES) {
        g_mutex_lock(&s->buf_lock);
        if (s->free_bufs[cls]->len) {
            b = g_ptr_array_steal_index_fast(s->free_bufs[cls],
                                             s->free_bufs[cls]->len - 1);
            s->pooled_bytes -= b->cap;
        }
        g_mutex_unlock(&s->buf_lock);
        if (b) {
            return b;
        }
        len = (size_t)1 << (NBD_SRV_BUF_MIN_SHIFT + cls);
    } else {
        cls = -1;
    }
    if (posix_memalign(&base, room, room + len) != 0) {
        g_error("out of memory allocating a %zu byte NBD buffer", len);
    }
    b = g_new(NbdBuf, 1);
    b->base = base;
    b->room = room;
    b->cap = len;
    b->cls = cls;
    return b;
}

void nbd_conn_buf_put(NbdConn *c, NbdBuf *b)
{
    WdNbdServer *s = c->server;

    if (b->cls >= 0) {
        g_mutex_lock(&s->buf_lock);
        if (s->pooled_bytes + b->cap <= NBD_SRV_POOL_BYTES) {
            g_ptr_array_add(s->free_bufs[b->cls], b);
            s->pooled_bytes += b->cap;
            b = NULL;
        }
        g_mutex_unlock(&s->buf_lock);
    }
    if (b) {
        buf_free(b);
    }
}

void nbd_server_pool_clear(WdNbdServer *s)
{
    for (int i = 0; i < NBD_SRV_BUF_CLASSES; i++) {
        for (guint j = 0; j < s->free_bufs[i]->len; j++) {
            buf_free(g_ptr_array_index(s->free_bufs[i], j));
        }
        g_ptr_array_free(s->free_bufs[i], TRUE);
    }
}

/* ---- connections ---------------------------------------------------------- */

/* Starts serving @ch. Sets *@over_limit (if given) when max-connections
 * is why not. */
static bool take_client(WdNbdServer *s, WdChannel *ch, bool *over_limit,
                        GError **errp)
{
    NbdIoThread *io = &s->io[0];
    unsigned id;
    NbdConn *c;

    g_mutex_lock(&s->lock);
    if (s->stopping) {
        g_mutex_unlock(&s->lock);
        wd_error_setg(errp, "NBD server '%s' is stopping", s->name);
        return false;
    }
    if (s->max_connections && s->nconns >= s->max_connections) {
        bool first = !s->refusal_logged;

        s->refusal_logged = true;
        if (over_limit) {
            *over_limit = true;
        }
        g_mutex_unlock(&s->lock);
        wd_error_setg(errp, "NBD server '%s' has reached its limit of %u "
                      "connections (max-connections); try again when a "
                      "client has disconnected", s->name,
                      s->max_connections);
        if (first) {
            wd_warn("nbd-server %s: refusing connection from %s: limit of "
                    "%u connections reached (logged once until a "
                    "connection closes)", s->name,
                    wd_channel_socket_peer_name(ch) ?
                    wd_channel_socket_peer_name(ch) : "(unknown)",
                    s->max_connections);
        }
        return false;
    }
    s->nconns++;
    id = ++s->next_id;
    g_mutex_unlock(&s->lock);

    if (!wd_channel_set_blocking(ch, false, errp)) {
        g_mutex_lock(&s->lock);
        s->nconns--;
        g_mutex_unlock(&s->lock);
        return false;
    }
    for (unsigned i = 1; i < s->nio; i++) {
        if (g_atomic_int_get(&s->io[i].nconns) <
            g_atomic_int_get(&io->nconns)) {
            io = &s->io[i];
        }
    }
    g_atomic_int_inc(&io->nconns);
    c = nbd_conn_new(s, ch, io, id);
    g_mutex_lock(&s->lock);
    g_ptr_array_add(s->conns, c);       /* the list's reference */
    g_mutex_unlock(&s->lock);
    wd_debug("nbd-server %s: connection %u from %s accepted", s->name, id,
             c->peer);
    g_main_context_invoke_full(io->ctx, G_PRIORITY_DEFAULT, nbd_conn_start,
                               nbd_conn_ref(c),
                               (GDestroyNotify)nbd_conn_unref);
    return true;
}

bool wd_nbd_server_add_client(WdNbdServer *s, WdChannel *ch, GError **errp)
{
    if (wd_channel_get_fd(ch) < 0) {
        wd_error_setg(errp, "NBD clients must be socket channels");
        return false;
    }
    return take_client(s, ch, NULL, errp);
}

static void server_accept(WdChannel *client, gpointer opaque)
{
    g_autoptr(GError) err = NULL;
    bool over_limit = false;

    /* Never queued: over the limit, the client is told why by one of a
     * few refusal threads, or (when they are all busy, or the server is
     * stopping) closed at once, so a flood costs us nothing. */
    if (!take_client(opaque, client, &over_limit, &err) &&
        !(over_limit && nbd_server_refuse(opaque, client, err->message))) {
        wd_channel_close(client, NULL);
    }
}

void nbd_server_conn_finished(WdNbdServer *s, NbdConn *c)
{
    g_mutex_lock(&s->lock);
    g_ptr_array_remove_fast(s->conns, c);
    s->nconns--;
    s->refusal_logged = false;
    if (c->exp) {
        if (--c->exp->nconns == 0 && c->exp->removing) {
            schedule_removals_locked(s);
        }
    }
    g_atomic_int_add(&c->io->nconns, -1);
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
    nbd_conn_unref(c);                  /* the list's reference */
}

uint64_t wd_nbd_server_count_accepted(WdNbdServer *s)
{
    uint64_t n;

    g_mutex_lock(&s->lock);
    n = s->next_id;
    g_mutex_unlock(&s->lock);
    return n;
}

size_t wd_nbd_server_count_connections(WdNbdServer *s)
{
    size_t n;

    g_mutex_lock(&s->lock);
    n = s->nconns;
    g_mutex_unlock(&s->lock);
    return n;
}

/* ---- tls-authz on the main thread ----------------------------------------- */

typedef struct {
    NbdConn *conn;
    char *authz;
    char *identity;
    GError *err;
} AuthzJob;

static void authz_job_free(gpointer p)
{
    AuthzJob *j = p;

    nbd_conn_unref(j->conn);
    g_free(j->authz);
    g_free(j->identity);
    g_clear_error(&j->err);
    g_free(j);
}

static gboolean authz_io_cb(gpointer p)
{
    AuthzJob *j = p;

    nbd_hs_authz_done(j->conn, j->err, j->identity);
    return G_SOURCE_REMOVE;
}

static gboolean authz_main_cb(gpointer p)
{
    AuthzJob *j = p;
    AuthzJob *back;

    /* A finished connection may outlive its server: touch neither. */
    if (g_atomic_int_get(&j->conn->finished) ||
        g_atomic_int_get(&j->conn->stop)) {
        return G_SOURCE_REMOVE;
    }
    if (!j->identity) {
        wd_error_setg(&j->err, "the client presented no identity (no "
                      "certificate or PSK username)");
    } else {
        wd_authz_check(j->authz, j->identity, &j->err);
    }
    back = g_new0(AuthzJob, 1);
    back->conn = nbd_conn_ref(j->conn);
    back->identity = g_steal_pointer(&j->identity);
    back->err = g_steal_pointer(&j->err);
    g_main_context_invoke_full(j->conn->io->ctx, G_PRIORITY_DEFAULT,
                               authz_io_cb, back, authz_job_free);
    return G_SOURCE_REMOVE;
}

void nbd_server_authz_async(WdNbdServer *s, NbdConn *c, char *identity)
{
    AuthzJob *j = g_new0(AuthzJob, 1);
    GSource *src = g_idle_source_new();

    /* The object registry belongs to the main thread. */
    j->conn = nbd_conn_ref(c);
    j->authz = g_strdup(s->tls_authz);
    j->identity = identity;
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, authz_main_cb, j, authz_job_free);
    g_source_attach(src, s->main_ctx);
    g_source_unref(src);
}

/* ---- the server ----------------------------------------------------------- */

static gpointer io_thread_main(gpointer opaque)
{
    NbdIoThread *t = opaque;

    g_main_context_push_thread_default(t->ctx);
    /* Not g_main_loop_run(): a quit before it starts would be lost. */
    while (!g_atomic_int_get(&t->quit)) {
        g_main_context_iteration(t->ctx, TRUE);
    }
    g_main_context_pop_thread_default(t->ctx);
    return NULL;
}

static void stop_io_threads(WdNbdServer *s)
{
    for (unsigned i = 0; i < s->nio; i++) {
        NbdIoThread *t = &s->io[i];

        if (t->thread) {
            g_atomic_int_set(&t->quit, 1);
            g_main_context_wakeup(t->ctx);
            g_thread_join(t->thread);
        }
        /* Pending sources (kicks) drop their connection references. */
        g_main_context_unref(t->ctx);
    }
    g_free(s->io);
    s->io = NULL;
}

WdNbdServer *wd_nbd_server_new(const WdNbdServerConfig *cfg, GError **errp)
{
    g_autoptr(WdSocketListener) listener = cfg->listener;
    unsigned ncpu = g_get_num_processors();
    unsigned nworkers;
    WdNbdServer *s;

    if (cfg->tls_creds &&
        wd_tls_creds_get_endpoint(cfg->tls_creds) != WD_TLS_ENDPOINT_SERVER) {
        wd_error_setg(errp, "TLS credentials for an NBD server must have "
                      "endpoint 'server'");
        return NULL;
    }
    if (cfg->tls_authz && !cfg->tls_creds) {
        wd_error_setg(errp, "tls-authz is only meaningful with tls-creds");
        return NULL;
    }
    if (!listener && cfg->naddrs) {
        listener = wd_socket_listener_new(cfg->addrs, cfg->naddrs, 0, errp);
        if (!listener) {
            return NULL;
        }
    }
    s = g_new0(WdNbdServer, 1);
    s->name = g_strdup(cfg->name ? cfg->name : "nbd");
    s->main_ctx = g_main_context_ref_thread_default();
    s->tls_creds = cfg->tls_creds ? wd_tls_creds_ref(cfg->tls_creds) : NULL;
    s->tls_authz = g_strdup(cfg->tls_authz);
    s->max_connections = cfg->max_connections_set ? cfg->max_connections :
                         WD_NBD_DEFAULT_MAX_CONNECTIONS;
    s->handshake_ms = 1000 * (cfg->handshake_max_seconds_set ?
                              cfg->handshake_max_seconds :
                              WD_NBD_DEFAULT_HANDSHAKE_SECONDS);
    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    g_mutex_init(&s->buf_lock);
    for (int i = 0; i < NBD_SRV_BUF_CLASSES; i++) {
        s->free_bufs[i] = g_ptr_array_new();
    }
    s->exports = g_ptr_array_new();
    s->conns = g_ptr_array_new();
    s->refusing = g_ptr_array_new();
    s->removals = g_ptr_array_new();

    nworkers = cfg->worker_threads ? cfg->worker_threads :
               CLAMP(4 * ncpu, 8, 64);
    s->pool = g_thread_pool_new(nbd_tx_worker, s, nworkers, TRUE, errp);
    if (!s->pool) {
        wd_nbd_server_free(s);
        return NULL;
    }
    s->nio = cfg->io_threads ? cfg->io_threads : MAX(2, ncpu);
    s->io = g_new0(NbdIoThread, s->nio);
    for (unsigned i = 0; i < s->nio; i++) {
        g_autofree char *tname = g_strdup_printf("nbd-io-%u", i);
        NbdIoThread *t = &s->io[i];

        t->ctx = g_main_context_new();
        t->thread = g_thread_try_new(tname, io_thread_main, t, errp);
        if (!t->thread) {
            wd_nbd_server_free(s);
            return NULL;
        }
    }
    if (listener) {
        s->listener = g_steal_pointer(&listener);
        wd_socket_listener_set_accept(s->listener, server_accept, s,
                                      s->main_ctx);
    }
    return s;
}

size_t wd_nbd_server_get_n_listeners(WdNbdServer *s)
{
    return s->listener ? wd_socket_listener_get_n_fds(s->listener) : 0;
}

WdSocketAddress *wd_nbd_server_get_bound_address(WdNbdServer *s,
                                                 size_t index,
                                                 GError **errp)
{
    if (index >= wd_nbd_server_get_n_listeners(s)) {
        wd_error_setg(errp, "NBD server '%s' has no listening socket %zu",
                      s->name, index);
        return NULL;
    }
    return wd_socket_listener_get_bound_address(s->listener, index, errp);
}

void wd_nbd_server_free(WdNbdServer *s)
{
    if (!s) {
        return;
    }
    g_clear_pointer(&s->listener, wd_socket_listener_free);

    /* Every connection finishes its in-flight requests and closes. */
    g_mutex_lock(&s->lock);
    s->stopping = true;
    for (guint i = 0; i < s->conns->len; i++) {
        nbd_conn_request_stop(g_ptr_array_index(s->conns, i));
    }
    while (s->nconns > 0) {
        g_cond_wait(&s->cond, &s->lock);
    }
    g_mutex_unlock(&s->lock);
    nbd_server_wait_refusals(s);
    g_mutex_lock(&s->lock);
    if (s->removal_src) {
        g_source_destroy(s->removal_src);
        g_clear_pointer(&s->removal_src, g_source_unref);
    }
    g_mutex_unlock(&s->lock);

    if (s->pool) {
        g_thread_pool_free(s->pool, FALSE, TRUE);
    }
    if (s->io) {
        stop_io_threads(s);
    }
    /* Pending removals complete now: their exports have no client. */
    for (guint i = 0; i < s->removals->len; i++) {
        NbdRemoval *r = g_ptr_array_index(s->removals, i);

        if (r->done) {
            r->done(r->opaque);
        }
        wd_nbd_export_unref(r->exp);
        g_free(r);
    }
    g_ptr_array_free(s->removals, TRUE);
    for (guint i = 0; i < s->exports->len; i++) {
        WdNbdExport *e = g_ptr_array_index(s->exports, i);

        e->server = NULL;
        wd_nbd_export_unref(e);
    }
    g_ptr_array_free(s->exports, TRUE);
    g_ptr_array_free(s->conns, TRUE);
    g_ptr_array_free(s->refusing, TRUE);
    nbd_server_pool_clear(s);
    g_mutex_clear(&s->buf_lock);
    wd_tls_creds_unref(s->tls_creds);
    g_main_context_unref(s->main_ctx);
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->cond);
    g_free(s->tls_authz);
    g_free(s->name);
    g_free(s);
}
