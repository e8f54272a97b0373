/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to the NBD server: the server, export, connection and request
 * structs, the bounds a client is held to, and the functions the server
 * files (nbd-server.c, nbd-conn.c, nbd-handshake.c, nbd-options.c,
 * nbd-transmit.c) call in each other.
 *
 * Threads and ownership, in one picture:
 *
 *   main thread             I/O thread k (GMainContext)      worker pool
 *   -----------             ---------------------------      -----------
 *   accept ──new conn──────▶ greeting, options, STARTTLS,
 *   authz check ◀──invoke── TLS handshake (non-blocking)
 *              ──invoke───▶ read request headers + payloads
 *                           READs of data in RAM / page cache
 *                           (and plain WRITEs to RAM) answered
 *                           here, in order, batched ─────────▶ (none)
 *                           everything else ──push──────────▶ disk I/O,
 *                                                             send reply
 *                           ◀──kick (resume / arm OUT)─────── under send_lock
 *
 * A connection's reading state is touched only by its I/O thread; its
 * output (socket writes or TLS records) only under send_lock, by whoever
 * has a reply ready.  Counters crossing threads are atomics.  A request
 * holds a reference on its connection until its reply is written (or
 * dropped); the server waits for every connection before it goes.
 */
#ifndef WARDEN_NBD_CONN_PRIV_H
#define WARDEN_NBD_CONN_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <glib.h>

#include "runtime/block/block.h"
#include "runtime/crypto/tlssession.h"
#include "runtime/io/channel-socket.h"
#include "runtime/nbd/nbd-protocol.h"
#include "runtime/nbd/server.h"

/* ---- Bounds on what a client controls (STYLE G3) ------------------------ */

/* Options per handshake.  Higher than nbdkit's 32: `nbdinfo --list` sends
 * one NBD_OPT_INFO per export; the handshake timer bounds the rest. */
#define NBD_SRV_MAX_OPTIONS 1000
/* Largest option payload read; a longer one gets ERR_TOO_BIG and the
 * connection is closed (we will not buffer or skip gigabytes). */
#define NBD_SRV_MAX_OPTION_LEN NBD_MAX_OPTION_LENGTH
/* Requests in flight per connection and their payload bytes: reading
 * stops while either is reached (back-pressure instead of buffering). */
#define NBD_SRV_MAX_INFLIGHT 64
#define NBD_SRV_MAX_INFLIGHT_BYTES (64 * 1024 * 1024)
/* Reply bytes queued because the client does not read: reading stops
 * beyond this. */
#define NBD_SRV_MAX_QUEUED_OUT (1024 * 1024)
/* Extents in one BLOCK_STATUS reply (the spec allows fewer than asked). */
#define NBD_SRV_MAX_EXTENTS 4096

/* ---- Tuning ------------------------------------------------------------- */

/* Input buffer: many small requests are parsed from one read(). */
#define NBD_SRV_INBUF_SIZE (64 * 1024)
/* Payload bytes still missing beyond this are read straight into the
 * request's buffer rather than through the input buffer. */
#define NBD_SRV_DIRECT_READ_MIN (16 * 1024)
/* READs up to this size whose data is known to be in memory (page cache
 * checked with RWF_NOWAIT, tmpfs, memory nodes) are answered by the I/O
 * thread itself, in order, into a batch that goes out in one write / full
 * TLS records: no thread hand-off, no futex, no reordering (measured: out
 * of order replies double the client's malloc/page-fault cost in
 * nbdcopy). */
#define NBD_SRV_INLINE_READ_MAX (1024 * 1024)
/* The batch is flushed when it reaches this size. */
#define NBD_SRV_BATCH_FLUSH (256 * 1024)
/* TLS records produced while sending a reply are collected and written
 * with one send() per this many bytes (16 KiB records one send() each
 * cost a loopback packet and a syscall apiece). */
#define NBD_SRV_PUSH_FLUSH (256 * 1024)
/* TCP_NOTSENT_LOWAT of client sockets (see nbd_conn_new). */
#define NBD_SRV_TCP_NOTSENT_LOWAT (128 * 1024)
/* Plain-socket READs of at least this size from a file use sendfile(). */
#define NBD_SRV_SENDFILE_MIN (64 * 1024)
/* Data buffers come in power-of-two size classes from 64 KiB to 32 MiB;
 * free ones are kept in a server-wide pool of at most this many bytes
 * (fresh buffers cost page faults on every request). */
#define NBD_SRV_BUF_MIN_SHIFT 16
#define NBD_SRV_BUF_CLASSES 10
#define NBD_SRV_POOL_BYTES (128 * 1024 * 1024)
/* Room before a buffer's data for a reply header, so header and data go
 * out contiguously (one write, full TLS records); a page, so the data is
 * page-aligned (enough for O_DIRECT on all but exotic devices). */
#define NBD_SRV_HDR_ROOM 4096

/* The ids we give the meta contexts in NBD_REP_META_CONTEXT. */
#define NBD_SRV_META_ID_ALLOCATION 1
#define NBD_SRV_META_ID_DEPTH 2

/* READs taken in but not yet answered inline, per connection. */
#define NBD_SRV_MAX_DEFER 128

/* Refusals over max-connections (nbd-refuse.c): how many may be talking
 * at once, for how long each, and how many options each answers. */
#define NBD_SRV_MAX_REFUSING 8
#define NBD_SRV_REFUSE_MS 2000
#define NBD_SRV_REFUSE_OPTIONS 16

/* Internal request type: final flush of a connection that wrote. */
#define NBD_SRV_CMD_CLOSE_FLUSH 0xffff

typedef struct NbdConn NbdConn;

/* How READs of an export may be served without blocking the I/O thread. */
typedef enum {
    NBD_INLINE_NONE,        /* always through the worker pool */
    NBD_INLINE_NOWAIT,      /* preadv2(RWF_NOWAIT) on the node's fd */
    NBD_INLINE_ALWAYS,      /* memory node or tmpfs file: never waits */
} NbdInlineMode;

typedef struct NbdIoThread {
    GThread *thread;
    GMainContext *ctx;
    gint quit;              /* atomic: leave the loop */
    gint nconns;            /* atomic: for placing new connections */
} NbdIoThread;

/* A pending export removal (under server->lock). */
typedef struct NbdRemoval {
    WdNbdExport *exp;
    void (*done)(gpointer opaque);
    gpointer opaque;
} NbdRemoval;

struct WdNbdServer {
    char *name;
    GMainContext *main_ctx;
    WdSocketListener *listener;
    WdTlsCreds *tls_creds;
    char *tls_authz;
    unsigned max_connections;       /* 0 = unlimited */
    unsigned handshake_ms;          /* 0 = unlimited */
    NbdIoThread *io;
    unsigned nio;
    GThreadPool *pool;

    GMutex buf_lock;        /* guards the buffer pool */
    GPtrArray *free_bufs[NBD_SRV_BUF_CLASSES];
    size_t pooled_bytes;

    GMutex lock;            /* guards everything below */
    GCond cond;             /* signalled when a connection is gone */
    GPtrArray *exports;     /* WdNbdExport* (references), add order */
    GPtrArray *conns;       /* NbdConn* (references) */
    GPtrArray *refusing;    /* WdChannel* being refused (nbd-refuse.c) */
    GPtrArray *removals;    /* NbdRemoval* */
    GSource *removal_src;   /* idle in main_ctx completing removals */
    unsigned nconns;
    unsigned next_id;
    bool refusal_logged;
    bool stopping;
};

struct WdNbdExport {
    gint refcount;
    char *name;
    char *description;
    WdBlockNode *node;
    uint64_t size;
    uint32_t min_block;
    bool writable;
    bool multi_conn;
    bool allocation_depth;  /* offers qemu:allocation-depth */
    NbdInlineMode inline_mode;
    /* under server->lock once added */
    WdNbdServer *server;
    unsigned nconns;
    bool removing;
};

/* A data buffer; the data starts NBD_SRV_HDR_ROOM (or the node's
 * alignment, if larger) bytes into it. */
typedef struct NbdBuf {
    uint8_t *base;
    size_t cap;             /* bytes usable after the header room */
    size_t room;
    int cls;                /* size class, or -1: not pooled */
} NbdBuf;

static inline uint8_t *nbd_buf_data(NbdBuf *b)
{
    return b->base + b->room;
}

/* A READ to answer inline once the buffered input is taken in. */
typedef struct NbdDeferred {
    uint64_t cookie;        /* wire order, echoed */
    uint64_t offset;
    uint32_t len;
    uint16_t flags;
} NbdDeferred;

/* A transmission request on its way through the worker pool. */
typedef struct NbdReq {
    NbdConn *conn;          /* holds a reference */
    uint16_t flags;
    uint16_t type;
    uint64_t cookie;
    uint64_t offset;
    uint32_t len;
    uint32_t got;           /* WRITE payload bytes read so far */
    uint32_t error;         /* NBD_E* decided while parsing, or 0 */
    NbdBuf *buf;            /* WRITE payload / READ data, or NULL */
    size_t charged;         /* bytes counted in inflight_bytes */
} NbdReq;

/*
 * One reply (or handshake output) to send: @len contiguous bytes at @p,
 * then optionally @sf_len bytes of file @sf_fd from @sf_off (sendfile).
 * When it cannot all be written now it is copied to the heap and queued,
 * keeping @buf / @mem (freed when sent) and @req (finished when sent).
 */
typedef struct NbdOut {
    const uint8_t *p;
    size_t len;
    int sf_fd;
    uint64_t sf_off;
    uint64_t sf_len;
    NbdBuf *buf;            /* owned: returned to the cache when sent */
    uint8_t *mem;           /* owned: g_free()d when sent */
    NbdReq *req;            /* finished when sent */
    size_t qbytes;          /* counted in outq_bytes while queued */
    uint8_t small[64];      /* storage for short replies */
} NbdOut;

typedef enum {
    NBD_CONN_GREETING,      /* reading the client flags */
    NBD_CONN_OPTIONS,       /* option haggling */
    NBD_CONN_STARTTLS,      /* ACK queued; handshake once it is sent */
    NBD_CONN_TLS_HANDSHAKE,
    NBD_CONN_AUTHZ,         /* waiting for the main thread's verdict */
    NBD_CONN_TRANSMISSION,
    NBD_CONN_CLOSING,       /* no more input; draining in-flight work */
    NBD_CONN_CLOSED,
} NbdConnState;

struct NbdConn {
    gint refcount;
    WdNbdServer *server;    /* valid until the connection is finished */
    NbdIoThread *io;
    WdChannel *ch;
    int fd;
    unsigned id;
    char *peer;             /* "127.0.0.1:4711" for logs */

    /* ---- I/O thread only ---- */
    NbdConnState state;
    GSource *src;           /* fd source (G_IO_IN / G_IO_OUT as needed) */
    gpointer src_tag;       /* NULL once the fd is no longer polled */
    GIOCondition src_cond;
    bool want_in;           /* the phase wants to read */
    bool want_out;          /* the TLS handshake wants to write */
    GSource *timer;         /* handshake deadline */
    uint8_t *in;            /* input buffer */
    size_t in_start, in_end, in_cap;
    /* handshake */
    uint32_t nr_options;
    bool no_zeroes;
    bool opt_hdr_done;      /* have the current option's header */
    uint32_t opt;
    uint32_t opt_len;
    WdTlsSession *tls;
    bool tls_active;        /* handshake done: all I/O goes through tls */
    bool structured;        /* structured replies negotiated */
    bool meta_alloc;        /* base:allocation selected ... */
    bool meta_depth;        /* qemu:allocation-depth selected ... */
    char *meta_export;      /* ... for this export name */
    bool export_name_end;   /* handshake ended by EXPORT_NAME */
    /* transmission */
    WdNbdExport *exp;       /* reference */
    uint16_t eflags;
    NbdReq *cur;            /* WRITE whose payload is being read */
    NbdDeferred *defer;     /* ring of NBD_SRV_MAX_DEFER */
    unsigned defer_head, ndefer;
    NbdBuf *batch;          /* inline replies awaiting one write */
    size_t batch_len;
    bool disc;              /* NBD_CMD_DISC received */
    bool inline_broken;     /* RWF_NOWAIT turned out unsupported */
    char *close_reason;     /* debug log text */

    /* ---- atomics ---- */
    gint inflight;          /* requests in the pool or with queued reply */
    gint inflight_bytes;
    gint paused;            /* reading stopped for back-pressure */
    gint out_armed;         /* a G_IO_OUT watch is requested */
    gint broken;            /* output failed: drop further output */
    gint stop;              /* server or export wants it closed */
    gint dirty;             /* wrote since the connection started */
    gint idle_wake;         /* closing: kick when inflight reaches 0 */
    gint finished;          /* closed and uncounted */
    gint outq_bytes;        /* bytes in outq */

    /* ---- under send_lock ---- */
    GMutex send_lock;
    GQueue outq;            /* NbdOut* not yet (fully) written */
    uint8_t *push_buf;      /* TLS records not yet written */
    size_t push_len, push_cap;
    gpointer push_owner;    /* GThread* collecting records (atomic) */
};

/* ---- nbd-server.c ---------------------------------------------------- */

/* Looks up @name ("" = the first export) for GO/INFO/EXPORT_NAME; returns
 * a new reference or NULL (also for an export being removed). */
WdNbdExport *nbd_server_lookup_export(WdNbdServer *s, const char *name);
/* Snapshot of the exports for NBD_OPT_LIST (new array of references). */
GPtrArray *nbd_server_snapshot_exports(WdNbdServer *s);
/* The connection selects @exp (GO / EXPORT_NAME): counts it and moves
 * the caller's reference to c->exp; or, when @exp is being removed,
 * drops that reference and fails. */
bool nbd_server_attach_export(WdNbdServer *s, NbdConn *c, WdNbdExport *exp);
/* Last step of a connection (any thread): uncounts it everywhere. */
void nbd_server_conn_finished(WdNbdServer *s, NbdConn *c);

/* Tells @ch why it is refused (@reason, as NBD option errors) on a thread
 * of its own, then closes it. False if that cannot start (too many
 * refusals at once, server stopping): the caller closes @ch. */
bool nbd_server_refuse(WdNbdServer *s, WdChannel *ch, const char *reason);

/* Cuts the refusals short and waits until they are gone. */
void nbd_server_wait_refusals(WdNbdServer *s);
/* Runs wd_authz_check() on the main thread, then nbd_hs_authz_done() on
 * the connection's I/O thread. */
void nbd_server_authz_async(WdNbdServer *s, NbdConn *c, char *identity);
/* A buffer with at least @len data bytes (aligned for c->exp), from the
 * server's pool; any thread. */
NbdBuf *nbd_conn_buf_get(NbdConn *c, size_t len);
void nbd_conn_buf_put(NbdConn *c, NbdBuf *b);
/* Frees the pool (server teardown). */
void nbd_server_pool_clear(WdNbdServer *s);
/* Transmission flags for @exp as negotiated on @c. */
uint16_t nbd_export_eflags(WdNbdExport *exp, bool structured);

/* ---- nbd-conn.c ------------------------------------------------------ */

NbdConn *nbd_conn_new(WdNbdServer *s, WdChannel *ch, NbdIoThread *io,
                      unsigned id);
NbdConn *nbd_conn_ref(NbdConn *c);
void nbd_conn_unref(NbdConn *c);
/* Runs in @c's I/O thread: greeting, timer, watch. */
gboolean nbd_conn_start(gpointer opaque);
/* Asks @c to finish from any thread (server stop, hard export removal). */
void nbd_conn_request_stop(NbdConn *c);
/* I/O thread: stop reading and close once in-flight work is done. */
void nbd_conn_close(NbdConn *c, const char *why, ...) G_GNUC_PRINTF(2, 3);
/* I/O thread: what to poll the socket for (besides queued output). */
void nbd_conn_want(NbdConn *c, bool in, bool out);
/* I/O thread: the handshake deadline no longer applies. */
void nbd_conn_stop_timer(NbdConn *c);
/* Transport callbacks of the connection's TLS session. */
ssize_t nbd_conn_tls_push(const void *buf, size_t len, void *opaque);
ssize_t nbd_conn_tls_pull(void *buf, size_t len, void *opaque);
/* Any thread: run nbd_conn_kick() soon in @c's I/O thread. */
void nbd_conn_schedule_kick(NbdConn *c);
/* I/O thread: room for @need bytes from in_start in the input buffer. */
void nbd_conn_reserve(NbdConn *c, size_t need);
/* Reads into the input buffer: >0 bytes, 0 EOF, WD_CHANNEL_ERR_BLOCK,
 * or -1 (the connection is then closed). I/O thread. */
ssize_t nbd_conn_fill(NbdConn *c);
/* Reads directly into @buf (TLS or plain), same returns. */
ssize_t nbd_conn_recv(NbdConn *c, void *buf, size_t len);
static inline size_t nbd_conn_avail(NbdConn *c)
{
    return c->in_end - c->in_start;
}
/* Sends @o (any thread); on return @o's owned parts belong to the
 * connection and @o->req has been or will be finished. */
void nbd_conn_send(NbdConn *c, NbdOut *o);
/* Sends @len bytes copied from @data (handshake output). */
void nbd_conn_send_copy(NbdConn *c, const void *data, size_t len);
/* The request's reply was sent (or dropped): accounting, wake-ups. */
void nbd_conn_req_finished(NbdReq *req);
/* Queued output bytes (any thread). */
size_t nbd_conn_queued(NbdConn *c);
/* I/O thread: re-evaluate everything (stop requests, failed output,
 * resumed reading, the end of closing). */
void nbd_conn_kick(NbdConn *c);

/* ---- nbd-handshake.c ------------------------------------------------- */

/* Where the option gate sends an option (tested by the unit tests). */
typedef enum {
    NBD_GATE_HANDLE,        /* process normally */
    NBD_GATE_TLS_REQD,      /* reply ERR_TLS_REQD "Option 0x%x not ..." */
    NBD_GATE_DISCONNECT,    /* EXPORT_NAME before TLS: hang up */
} NbdGate;
NbdGate nbd_option_gate(bool tls_required, bool tls_active, uint32_t opt);

void nbd_hs_start(NbdConn *c);
/* Input arrived or output drained during negotiation. */
void nbd_hs_io(NbdConn *c, GIOCondition cond);
void nbd_hs_authz_done(NbdConn *c, GError *err, const char *identity);
/* Appends an option reply (header + @len bytes) to the output. */
void nbd_hs_reply(NbdConn *c, uint32_t type, const void *data, size_t len);
void nbd_hs_reply_err(NbdConn *c, uint32_t type, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* Resets all state negotiated so far (after STARTTLS: CVE-2021-3716). */
void nbd_hs_reset_negotiated(NbdConn *c);
/* NBD_OPT_STARTTLS with @len bytes of payload. */
void nbd_hs_starttls(NbdConn *c, uint32_t len);

/* ---- nbd-options.c --------------------------------------------------- */

/* Handles the current option (c->opt, payload @data/@len).  Returns
 * false when the connection was closed. */
bool nbd_opt_dispatch(NbdConn *c, const uint8_t *data, uint32_t len);

/* ---- nbd-transmit.c -------------------------------------------------- */

/* Enters transmission on c->exp (after GO / EXPORT_NAME). */
void nbd_tx_start(NbdConn *c);
/* Input ready (or resumed) in transmission. */
void nbd_tx_readable(NbdConn *c);
/* Worker pool function (data = NbdReq*). */
void nbd_tx_worker(gpointer data, gpointer user_data);
/* Answers every deferred READ (closing). I/O thread. */
void nbd_tx_run_all_deferred(NbdConn *c);
/* Flushes the inline-reply batch. I/O thread. */
void nbd_tx_flush_batch(NbdConn *c);
/* Reply building shared by the transmission files. */
void nbd_tx_put_chunk(uint8_t *p, uint16_t flags, uint16_t type,
                      uint64_t cookie, uint32_t len);
/* Sends a reply without data for @req (which it finishes). */
void nbd_tx_reply_status(NbdReq *req, uint32_t err);
/* Worker: answers a BLOCK_STATUS request (nbd-block-status.c). */
void nbd_tx_block_status(NbdReq *req);
/* Whether reading must pause for back-pressure. */
bool nbd_tx_over_limits(NbdConn *c);

#endif
