/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the NBD client shared by nbd-client.c (connections, I/O
 * threads, requests), nbd-client-reply.c (parsing replies) and
 * nbd-client-handshake.c (connect, STARTTLS, option haggling).
 * Nothing outside runtime/nbd/nbd-client*.c includes this.
 */
#ifndef WARDEN_NBD_CLIENT_PRIV_H
#define WARDEN_NBD_CLIENT_PRIV_H

#include "runtime/nbd/client.h"
#include "runtime/nbd/nbd-protocol.h"

/* ---- Handshake (nbd-client-handshake.c) --------------------------------- */

/* What one negotiation produced. */
typedef struct {
    uint64_t size;
    uint16_t flags;
    uint32_t min_block, pref_block, max_block;
    char *name;                 /* canonical name (NBD_INFO_NAME) or NULL */
    char *description;          /* NULL if none */
    bool structured;            /* structured replies negotiated */
    bool meta;                  /* base:allocation negotiated */
    uint32_t meta_id;           /* its context id */
    bool tls;
    char *tls_peer;             /* server certificate DN, or NULL */
} NbdNegotiated;

void nbd_negotiated_clear(NbdNegotiated *n);

/* Everything a handshake needs, shared by all connections of a client. */
typedef struct {
    WdSocketAddress *addr;
    char *export_name;
    WdTlsCreds *tls;
    char *tls_hostname;         /* resolved: explicit, or the inet host */
    bool structured;
    bool meta;
} NbdOpenParams;

/* Cancels a blocking handshake: polled with the socket; when it becomes
 * readable the handshake drains it and gives up if *@stop is set. */
typedef struct {
    int wake_fd;                /* -1: none */
    gint *stop;                 /* atomic flag, may be NULL */
} NbdCancel;

/*
 * Connects to @p->addr and negotiates the export. The returned channel is
 * the socket or the TLS channel over it, non-blocking. @deadline is a
 * g_get_monotonic_time() value (0 = none) bounding the whole attempt;
 * @timeout_s is only for the message. *@reached (may be NULL) tells
 * whether the socket connected at all (a failure before that is worth
 * retrying while the server starts up).
 */
WdChannel *nbd_client_handshake(const NbdOpenParams *p, gint64 deadline,
                                double timeout_s, const NbdCancel *cancel,
                                NbdNegotiated *out, bool *reached,
                                GError **errp);

/* The same up to (and including) TLS, then NBD_OPT_LIST etc. */
GPtrArray *nbd_client_handshake_list(const NbdOpenParams *p, gint64 deadline,
                                     double timeout_s, GError **errp);

/* Server-supplied text made safe to print: valid UTF-8, no control
 * characters, at most NBD_MAX_STRING bytes. Newly allocated. */
char *nbd_client_sanitize(const char *buf, size_t len);

/* ---- Negotiation internals (nbd-client-handshake.c) ---------------------- */

/* The message a plain client gets from a server that insists on TLS. */
#define MSG_TLS_REQUIRED \
    "Server requires TLS: give tls-creds (or use an nbds:// URI)"
#define MSG_NO_TLS "Server does not support TLS"

/* One negotiation in progress. */
typedef struct {
    const NbdOpenParams *p;
    WdChannel *sock;            /* the socket channel */
    WdChannel *ch;              /* what we talk over: sock, or TLS on it */
    int fd;
    gint64 deadline;            /* monotonic; 0 = none */
    double timeout_s;
    const NbdCancel *cancel;
    char *where;                /* "127.0.0.1:10809", for messages */
    uint32_t opt;               /* option in progress, for messages */
    bool fixed;                 /* fixed newstyle */
    bool no_zeroes;
    bool tls;
    bool eof;                   /* the server closed the connection */
} NbdHs;

/* An option reply; data is NUL-terminated. */
typedef struct {
    uint32_t type;
    uint32_t len;
    char *data;
} NbdOptReply;

void nbd_hs_init(NbdHs *hs, const NbdOpenParams *p, gint64 deadline,
                 double timeout_s, const NbdCancel *cancel);
void nbd_hs_cleanup(NbdHs *hs);
/* Connect, read the greeting, and STARTTLS when configured. */
bool nbd_hs_begin(NbdHs *hs, NbdNegotiated *out, GError **errp);
bool nbd_hs_read(NbdHs *hs, void *buf, size_t len, GError **errp);
bool nbd_hs_write(NbdHs *hs, const void *buf, size_t len, GError **errp);
bool nbd_hs_send_option(NbdHs *hs, uint32_t opt, const void *data,
                        uint32_t len, GError **errp);
/* Reads one reply to hs->opt (bounded by WD_NBD_CLIENT_MAX_OPTION_REPLY). */
bool nbd_hs_read_reply(NbdHs *hs, NbdOptReply *r, GError **errp);
void nbd_opt_reply_clear(NbdOptReply *r);
/* " (server reported: TEXT)" for an error reply with text, else "". */
char *nbd_hs_server_text(const NbdOptReply *r);
/* The error for an error reply that has no more specific meaning. */
void nbd_hs_reply_error(NbdHs *hs, const NbdOptReply *r, GError **errp);
/* Errors after which nothing else can work. */
bool nbd_hs_reply_is_fatal(uint32_t type);
/* An option without payload answered by ACK or an error: 1 = ACK, 0 =
 * error reply in *@r, -1 = failure (*@r may hold data to clear). */
int nbd_hs_simple_option(NbdHs *hs, uint32_t opt, NbdOptReply *r,
                         GError **errp);

/* ---- Requests and connections (nbd-client.c) ---------------------------- */

typedef struct NbdReq NbdReq;
typedef struct NbdConn NbdConn;
typedef void (*NbdReqDoneFunc)(NbdReq *req);

struct NbdReq {
    /* Set by the submitter, constant afterwards. */
    uint16_t type;              /* NBD_CMD_* */
    uint16_t flags;             /* NBD_CMD_FLAG_* */
    uint64_t offset;
    uint32_t len;
    void *buf;                  /* READ: destination; WRITE: source */
    GArray *extents;            /* BLOCK_STATUS: appended to */
    guint extents_base;         /* its length before the request */
    NbdReqDoneFunc done;        /* called exactly once */
    void *opaque;
    /* Result, valid in done(). */
    int err;                    /* positive errno; 0 = success */
    char *errmsg;               /* owned; NULL = generic */
    /* I/O thread only. */
    uint64_t cookie;
    bool sent;                  /* completely written on this connection */
    uint64_t data_seen;         /* READ: payload bytes received */
    bool got_status;            /* BLOCK_STATUS: the chunk arrived */
    bool retry;                 /* ESHUTDOWN: send again after reconnect */
};

typedef enum {
    CONN_CONNECTED,
    CONN_RECONNECTING,          /* the I/O thread is trying to reconnect */
    CONN_DEAD,                  /* failed for good */
} NbdConnState;

/* What the reader is reading into its current target. */
typedef enum {
    RD_MAGIC,                   /* first 4 bytes of any reply */
    RD_SIMPLE,                  /* rest of a simple reply header */
    RD_CHUNK,                   /* rest of a structured chunk header */
    RD_DATA_OFFSET,             /* the u64 offset of an OFFSET_DATA chunk */
    RD_DATA,                    /* READ payload, into the request buffer */
    RD_PAYLOAD,                 /* a whole small chunk, into scratch */
} NbdReadState;

struct NbdConn {
    WdNbdClient *client;
    unsigned index;
    GThread *thread;
    int wake_fd;                /* eventfd: submissions and stop */

    /* Guarded by lock. */
    GMutex lock;
    GQueue submitq;             /* NbdReq* not yet taken by the thread */
    bool wake_pending;          /* wake_fd was written since last drain */
    NbdConnState state;
    bool reconnect_expired;     /* the delay passed: fail new requests */
    char *dead_reason;          /* why DEAD (or why expired) */
    gint stop;                  /* atomic too: read by the handshake */

    /* I/O thread only. */
    WdChannel *ch;              /* NULL while not connected */
    int fd;
    GQueue sendq;               /* NbdReq* to write, head first */
    GHashTable *inflight;       /* cookie -> NbdReq* (being sent or sent) */
    uint64_t next_cookie;
    NbdReq *wr_req;             /* being written */
    size_t wr_done;             /* bytes of header + payload written */
    uint8_t wr_hdr[sizeof(NbdRequest)];
    NbdReadState rd_state;
    uint8_t *rd_ptr;            /* current read target */
    size_t rd_left;
    uint8_t rd_hdr[sizeof(NbdStructuredReply)];
    NbdReq *rd_req;             /* request of the reply being read */
    uint16_t rd_flags, rd_type; /* of the current chunk */
    uint32_t rd_len;            /* its payload length */
    uint8_t *scratch;           /* small chunk payloads */
    size_t scratch_size;
    gint64 last_rx;             /* monotonic time of the last bytes read */
    gint64 reconnect_deadline;  /* RECONNECTING: requests fail after it */
    gint64 next_attempt;        /* RECONNECTING: no attempt before it */
    char *last_error;           /* of the last reconnect attempt */
    bool server_shutdown;       /* a reply said ESHUTDOWN: reconnect */
};

struct WdNbdClient {
    NbdOpenParams params;
    double open_timeout;
    double reconnect_delay;
    double request_timeout;
    bool read_only;             /* refuse writes even if the export
                                 * allows them */
    NbdNegotiated info;         /* from the first connection */
    uint32_t max_request;       /* largest READ/WRITE we send */
    NbdConn *conns[WD_NBD_CLIENT_MAX_CONNS];
    unsigned nconns;
    guint next_conn;            /* atomic round-robin counter */
};

/* Queues @req on @cn for its I/O thread (any thread); fails it at once
 * when the connection is dead or closing. */
void nbd_conn_submit(NbdConn *cn, NbdReq *req);
/* The next connection, round-robin. */
NbdConn *nbd_client_pick_conn(WdNbdClient *c);

/* ---- Read-ahead (nbd-client-rbuf.c) -------------------------------------- */

/* A channel over @inner (new reference taken) that reads ahead in 64 KiB
 * refills; a read that returns WD_CHANNEL_ERR_BLOCK has emptied it. */
WdChannel *nbd_rbuf_channel_new(WdChannel *inner);

/* ---- Reply parsing (nbd-client-reply.c) --------------------------------- */

/*
 * Reads what the socket has (until it would block) and completes
 * requests. Returns 1 when the socket would block, 2 when it stopped
 * after its byte budget (more may be buffered: do not wait), 0 on clean
 * EOF, -1 on error; *@protocol is set when the server broke the protocol
 * (no reconnect then).
 */
int nbd_conn_read_replies(NbdConn *cn, bool *protocol, GError **errp);

/* Resets the reader to expect a new reply (after a reconnect). */
void nbd_conn_reset_reader(NbdConn *cn);

/* Completes @req (removing it from the in-flight table). */
void nbd_conn_complete(NbdConn *cn, NbdReq *req);

/* Sets req->err / req->errmsg unless already failed. */
void nbd_req_fail(NbdReq *req, int err, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

#endif
