/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD client: connects over TCP or a unix socket, upgrades to TLS with
 * NBD_OPT_STARTTLS when given credentials (and then never continues in
 * clear), negotiates an export with fixed newstyle options (GO/INFO with a
 * fallback to EXPORT_NAME, structured replies, base:allocation) and
 * carries many requests at once over one or more connections, reconnecting
 * after a dropped connection when asked to.
 *
 * Threading: every I/O function may be called from any number of threads
 * at once; each blocks its caller until the reply. Each connection has one
 * I/O thread of its own that does all reading and writing on it (a TLS
 * session is used by one thread only), so callers never touch sockets.
 *
 *   connect --handshake--> CONNECTED --EOF/reset--> RECONNECTING --ok--+
 *                              ^   |                     |             |
 *                              |   +--protocol error--+  +--delay over-+
 *                              +----------------------|--------- DEAD  |
 *                                                     v                |
 *                                                    DEAD <------------+
 *   (requests in flight when the connection drops are sent again after a
 *   reconnect; with reconnect-delay 0 they fail at once)
 */
#ifndef WARDEN_NBD_CLIENT_H
#define WARDEN_NBD_CLIENT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/crypto/tlscreds.h"
#include "runtime/io/channel-socket.h"

/* Most connections one client opens to a multi-conn export. */
#define WD_NBD_CLIENT_MAX_CONNS 16
/* Bound on the whole handshake when no open-timeout is configured: a
 * server that stalls negotiation cannot hang the client forever. */
#define WD_NBD_CLIENT_HANDSHAKE_TIMEOUT 30.0
/* Largest option reply payload we accept (an export name or a message
 * is at most NBD_MAX_STRING bytes; a description the same again). */
#define WD_NBD_CLIENT_MAX_OPTION_REPLY (4 * 4096)
/* Most NBD_REP_SERVER replies to one NBD_OPT_LIST. */
#define WD_NBD_CLIENT_MAX_EXPORTS 4096
/* Most replies to one NBD_OPT_INFO/GO/META_CONTEXT before the final one. */
#define WD_NBD_CLIENT_MAX_INFO_REPLIES 64

typedef struct WdNbdClient WdNbdClient;

/*
 * Connection parameters. Everything is borrowed for the duration of
 * wd_nbd_client_connect() only; the client copies what it keeps and takes
 * its own reference on @tls.
 */
typedef struct {
    const WdSocketAddress *addr;   /* required: inet, unix or fd */
    const char *export_name;       /* NULL = "" (the default export) */
    WdTlsCreds *tls;               /* client endpoint; NULL = no TLS */
    /* Name the server certificate must match; NULL = the inet host. Over
     * a unix socket a verify-peer client needs it. */
    const char *tls_hostname;
    bool no_structured_replies;    /* do not ask for structured replies */
    bool no_meta_context;          /* do not ask for base:allocation */
    /*
     * Seconds (0 = default). @open_timeout: the first connection is
     * retried (connection refused, server not up yet) until it expires,
     * and bounds the handshake; 0 = one attempt whose handshake is
     * bounded by WD_NBD_CLIENT_HANDSHAKE_TIMEOUT. @reconnect_delay: after
     * a dropped connection, requests wait this long for a reconnect
     * before failing with EIO; 0 = fail at once, no reconnect.
     * @request_timeout: a connection that receives nothing for this long
     * while requests wait for replies is treated as dropped (and
     * reconnected, with @reconnect_delay); 0 = no limit.
     */
    double open_timeout;
    double reconnect_delay;
    double request_timeout;
    /* Connections wanted (0 = 1, at most WD_NBD_CLIENT_MAX_CONNS); more
     * than one is used only if the server advertises CAN_MULTI_CONN. */
    unsigned nconns;
    /* Refuse writes (-EPERM) even when the export allows them (for a
     * read-only block node over a writable export). */
    bool read_only;
} WdNbdClientConfig;

/* One block status extent. */
typedef struct {
    uint64_t length;
    uint32_t flags;                /* NBD_STATE_HOLE | NBD_STATE_ZERO */
} WdNbdExtent;

/* One export as NBD_OPT_LIST (+ NBD_OPT_INFO) describes it. */
typedef struct {
    char *name;
    char *description;             /* NULL if none */
    bool has_info;                 /* false: the server refused INFO */
    uint64_t size;
    uint16_t flags;
    uint32_t min_block, pref_block, max_block;
    char **contexts;               /* NBD_OPT_LIST_META_CONTEXT; may be
                                    * NULL */
} WdNbdExportEntry;

/**
 * wd_nbd_client_connect:
 *
 * Connects, negotiates (STARTTLS first when @cfg->tls is set; the server
 * certificate is checked against the CA, dates and hostname) and opens
 * the export, plus extra connections for multi-conn. Blocks the caller.
 * Errors say what happened in plain words, e.g. "Server requires TLS:
 * give tls-creds (or use an nbds:// URI)" or "Export 'x' not found on the
 * server".
 *
 * Returns: a new client, or NULL with @errp set.
 */
WdNbdClient *wd_nbd_client_connect(const WdNbdClientConfig *cfg,
                                   GError **errp);

/*
 * Sends NBD_CMD_DISC, closes every connection and frees @c (NULL is
 * ignored). No request may be in progress.
 */
void wd_nbd_client_close(WdNbdClient *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WdNbdClient, wd_nbd_client_close)

/* ---- What was negotiated (immutable; any thread) ------------------------ */

uint64_t wd_nbd_client_get_size(WdNbdClient *c);
/* Transmission flags (NBD_FLAG_*). */
uint16_t wd_nbd_client_get_flags(WdNbdClient *c);
/* The export is read-only, or the client was opened read-only. */
bool wd_nbd_client_is_read_only(WdNbdClient *c);
/* Block sizes (NBD_INFO_BLOCK_SIZE, or the defaults 1/4096/32 MiB). */
void wd_nbd_client_get_block_sizes(WdNbdClient *c, uint32_t *minimum,
                                   uint32_t *preferred, uint32_t *maximum);
/* Borrowed; NULL if the server sent none. */
const char *wd_nbd_client_get_description(WdNbdClient *c);
/* The canonical export name if the server sent one, else the requested
 * name. Borrowed. */
const char *wd_nbd_client_get_export_name(WdNbdClient *c);
bool wd_nbd_client_has_structured_replies(WdNbdClient *c);
/* "base:allocation" when negotiated, else NULL. */
const char *wd_nbd_client_get_meta_context(WdNbdClient *c);
/* Connections in use (1 unless multi-conn). */
unsigned wd_nbd_client_get_nconns(WdNbdClient *c);
/* Whether the connections are TLS-encrypted. */
bool wd_nbd_client_is_tls(WdNbdClient *c);
/* The server's identity as TLS showed it (its certificate subject DN in
 * RFC 4514 form), newly allocated; NULL without TLS or certificate. */
char *wd_nbd_client_tls_peer(WdNbdClient *c);
/* True while every connection is usable (not DEAD). */
bool wd_nbd_client_is_connected(WdNbdClient *c);

/* ---- I/O (any thread, concurrently; blocking) ----------------------------
 * Each returns 0, or a negative errno with @errp set: the server's error
 * (nbd_wire_to_errno, with its message if it sent one), -EIO when the
 * connection is gone, -EINVAL for a request outside the export, -EPERM for
 * a write to a read-only export. Requests larger than the server's maximum
 * are split and the pieces sent at once. @flags are NBD_CMD_FLAG_*
 * (FUA on writes is emulated with a flush when the server lacks SEND_FUA).
 */
int wd_nbd_client_pread(WdNbdClient *c, void *buf, uint64_t offset,
                        uint64_t len, GError **errp);
int wd_nbd_client_pwrite(WdNbdClient *c, const void *buf, uint64_t offset,
                         uint64_t len, uint32_t flags, GError **errp);
/* No-op success when the server does not advertise SEND_FLUSH. */
int wd_nbd_client_flush(WdNbdClient *c, GError **errp);
/* Advisory: no-op success without SEND_TRIM. */
int wd_nbd_client_trim(WdNbdClient *c, uint64_t offset, uint64_t len,
                       uint32_t flags, GError **errp);
/* -ENOTSUP without SEND_WRITE_ZEROES (or FAST_ZERO asked and not
 * advertised). Flags: FUA, NO_HOLE, FAST_ZERO. */
int wd_nbd_client_write_zeroes(WdNbdClient *c, uint64_t offset,
                               uint64_t len, uint32_t flags, GError **errp);
/* Prefetch hint: no-op success without SEND_CACHE. */
int wd_nbd_client_cache(WdNbdClient *c, uint64_t offset, uint64_t len,
                        GError **errp);
/*
 * Appends to @extents (an array of WdNbdExtent) at least one extent
 * describing [@offset, ...), all inside [@offset, @offset + @len), in
 * order and without gaps. -ENOTSUP when base:allocation was not
 * negotiated.
 */
int wd_nbd_client_block_status(WdNbdClient *c, uint64_t offset,
                               uint64_t len, GArray *extents,
                               GError **errp);

/* ---- Asynchronous I/O ---------------------------------------------------
 * For callers that keep many requests in flight from few threads. @cb runs
 * exactly once: on one of the client's I/O threads when the reply came (it
 * must not block: hand the result to another thread), or on the calling
 * thread, before the call returns, when the request fails at once (bad
 * range, read-only export, unsupported, connection gone). @ret is 0 or a
 * negative errno; @msg (borrowed for the call) explains a failure. The
 * buffer must stay valid until then. @len must not exceed
 * wd_nbd_client_get_max_request() for reads and writes (not split here).
 */
typedef void (*WdNbdClientDone)(void *opaque, int ret, const char *msg);

uint32_t wd_nbd_client_get_max_request(WdNbdClient *c);
void wd_nbd_client_aio_pread(WdNbdClient *c, void *buf, uint64_t offset,
                             uint32_t len, WdNbdClientDone cb, void *opaque);
void wd_nbd_client_aio_pwrite(WdNbdClient *c, const void *buf,
                              uint64_t offset, uint32_t len, uint32_t flags,
                              WdNbdClientDone cb, void *opaque);
/* -ENOTSUP without SEND_WRITE_ZEROES. Flags: FUA, NO_HOLE. */
void wd_nbd_client_aio_write_zeroes(WdNbdClient *c, uint64_t offset,
                                    uint32_t len, uint32_t flags,
                                    WdNbdClientDone cb, void *opaque);

/* ---- Listing ------------------------------------------------------------ */

/*
 * wd_nbd_client_list_exports:
 *
 * Connects like wd_nbd_client_connect() (@cfg->export_name is ignored),
 * lists the exports with NBD_OPT_LIST, asks NBD_OPT_INFO and
 * NBD_OPT_LIST_META_CONTEXT about each, and ends with NBD_OPT_ABORT.
 *
 * Returns: an array of WdNbdExportEntry* (the array frees them), or NULL
 * with @errp set.
 */
GPtrArray *wd_nbd_client_list_exports(const WdNbdClientConfig *cfg,
                                      GError **errp);
void wd_nbd_export_entry_free(WdNbdExportEntry *e);

/* Space-separated names of transmission @flags ("read-only flush fua"),
 * newly allocated; "" for none. */
char *wd_nbd_flag_names(uint16_t flags);

#endif
