/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The websocket channel: the asynchronous server handshake driven by
 * watches on the master, and the byte-stream view of the frame layer
 * (decode on read, answer pings/close, encode one frame per write).
 */
#include "runtime/io/channel-websock.h"

#include <errno.h>
#include <string.h>

#include "runtime/error.h"

/* Bytes asked from the master per read once the connection is open. */
#define WS_READ_CHUNK 65536

/* Pongs are dropped while this much output is already queued, so a peer
 * that sends pings without reading cannot grow our memory (G3). */
#define WS_MAX_QUEUED_CONTROL 65536

typedef enum {
    WS_NEW,
    WS_HANDSHAKE,
    WS_OPEN,
    WS_FAILED,
} WsState;

typedef struct {
    WdChannel base;
    WdChannel *master;
    WsState state;
    bool text;
    char *protocol;
    WdWebsockDecoder dec;
    GByteArray *rawin;          /* from the master, not decoded yet */
    GByteArray *decoded;        /* payload bytes ready for readers */
    GByteArray *out;            /* encoded, not yet written to master */
    size_t out_frame_end;       /* bytes of @out up to the end of the
                                 * data frame a blocked write accepted */
    size_t out_frame_payload;   /* that frame's payload length */
    bool eof;                   /* close frame received or master EOF */
    bool close_sent;
    GError *read_err;           /* protocol error, reported by reads */

    /* The handshake task. */
    WdTaskFunc hs_cb;
    gpointer hs_opaque;
    GMainContext *hs_ctx;
    GSource *hs_src;
    GError *hs_err;             /* bad request: reported after the 400 */
    bool hs_writing;
} WdChannelWebsock;

static const WdChannelOps websock_ops;

static WdChannelWebsock *to_ws(WdChannel *ch)
{
    g_assert(ch->ops == &websock_ops);
    return (WdChannelWebsock *)ch;
}

/* Write queued output. Returns 1 when all is out, 0 if the master would
 * block, -1 on error. */
static int flush_out(WdChannelWebsock *ws, GError **errp)
{
    while (ws->out->len > 0) {
        ssize_t n = wd_channel_write(ws->master, ws->out->data, ws->out->len,
                                     errp);

        if (n == WD_CHANNEL_ERR_BLOCK) {
            return 0;
        }
        if (n < 0) {
            return -1;
        }
        g_byte_array_remove_range(ws->out, 0, n);
        ws->out_frame_end = ws->out_frame_end > (size_t)n ?
                            ws->out_frame_end - n : 0;
    }
    return 1;
}

static void flush_best_effort(WdChannelWebsock *ws)
{
    g_autoptr(GError) err = NULL;

    if (flush_out(ws, &err) < 0) {
        /* The next read or write on the master reports it. */
        g_debug("websocket '%s': %s", ws->base.name, err->message);
    }
}

static void send_close(WdChannelWebsock *ws, uint16_t code)
{
    if (!ws->close_sent) {
        wd_websock_encode_close(ws->out, code);
        ws->close_sent = true;
    }
}

/* Read up to @want bytes from the master into rawin. */
static ssize_t read_master(WdChannelWebsock *ws, size_t want, GError **errp)
{
    guint old = ws->rawin->len;
    ssize_t n;

    g_byte_array_set_size(ws->rawin, old + want);
    n = wd_channel_read(ws->master, ws->rawin->data + old, want, errp);
    g_byte_array_set_size(ws->rawin, old + MAX(n, 0));
    return n;
}

/* Decode every complete frame in rawin, so that readiness only depends on
 * decoded/eof/read_err and an incomplete frame never wakes a watch. */
static void process_input(WdChannelWebsock *ws)
{
    while (!ws->eof && !ws->read_err) {
        WdWebsockFrame frame;
        size_t consumed = 0;
        int r = wd_websock_decode_frame(&ws->dec, ws->rawin->data,
                                        ws->rawin->len, &consumed,
                                        ws->decoded, &frame, &ws->read_err);

        if (r == 0) {
            break;
        }
        if (r < 0) {
            send_close(ws, frame.close_code);
            g_byte_array_set_size(ws->rawin, 0);
            break;
        }
        g_byte_array_remove_range(ws->rawin, 0, consumed);
        switch (frame.opcode) {
        case WD_WEBSOCK_OP_PING:
            if (!ws->close_sent && ws->out->len <= WS_MAX_QUEUED_CONTROL) {
                wd_websock_encode_frame(ws->out, WD_WEBSOCK_OP_PONG, true,
                                        frame.control, frame.control_len,
                                        NULL);
            }
            break;
        case WD_WEBSOCK_OP_CLOSE:
            /* Echo the status (RFC 6455 5.5.1); anything after it is
             * ignored. */
            send_close(ws, frame.close_code);
            ws->eof = true;
            g_byte_array_set_size(ws->rawin, 0);
            break;
        default:
            break;              /* data already appended; pong ignored */
        }
    }
    flush_best_effort(ws);
}

static bool check_open(WdChannelWebsock *ws, GError **errp)
{
    if (ws->state != WS_OPEN) {
        wd_error_setg(errp, "WebSocket '%s' is not open (handshake %s)",
                      ws->base.name,
                      ws->state == WS_FAILED ? "failed" : "not completed");
        return false;
    }
    return true;
}

static ssize_t websock_readv(WdChannel *ch, const struct iovec *iov,
                             size_t niov, int **fds, size_t *nfds,
                             GError **errp)
{
    WdChannelWebsock *ws = to_ws(ch);
    size_t done = 0;

    if (!check_open(ws, errp)) {
        return -1;
    }
    while (ws->decoded->len == 0 && !ws->eof && !ws->read_err) {
        ssize_t n = read_master(ws, WS_READ_CHUNK, errp);

        if (n == WD_CHANNEL_ERR_BLOCK || n < 0) {
            return n;
        }
        if (n == 0) {
            ws->eof = true;     /* TCP closed without a close frame */
            break;
        }
        process_input(ws);
    }
    if (ws->decoded->len > 0) {
        for (size_t i = 0; i < niov && done < ws->decoded->len; i++) {
            size_t n = MIN(iov[i].iov_len, ws->decoded->len - done);

            memcpy(iov[i].iov_base, ws->decoded->data + done, n);
            done += n;
        }
        g_byte_array_remove_range(ws->decoded, 0, done);
        return done;
    }
    if (ws->read_err) {
        g_propagate_error(errp, g_error_copy(ws->read_err));
        return -1;
    }
    return 0;
}

static ssize_t websock_writev(WdChannel *ch, const struct iovec *iov,
                              size_t niov, const int *fds, size_t nfds,
                              GError **errp)
{
    WdChannelWebsock *ws = to_ws(ch);
    g_autofree uint8_t *payload = NULL;
    size_t total = 0;
    int r;

    if (!check_open(ws, errp)) {
        return -1;
    }
    if (ws->out_frame_payload > 0) {
        /* The retry of a write that blocked mid-frame. */
        if (flush_out(ws, errp) < 0) {
            return -1;
        }
        if (ws->out_frame_end > 0) {
            return WD_CHANNEL_ERR_BLOCK;
        }
        total = ws->out_frame_payload;
        ws->out_frame_payload = 0;
        return total;
    }
    if (ws->close_sent) {
        wd_error_setg_errno(errp, EPIPE, "Unable to write to WebSocket '%s' "
                            "after the close handshake", ch->name);
        return -1;
    }
    r = flush_out(ws, errp);
    if (r <= 0) {
        return r < 0 ? -1 : WD_CHANNEL_ERR_BLOCK;
    }
    for (size_t i = 0; i < niov; i++) {
        total += iov[i].iov_len;
    }
    total = MIN(total, (size_t)WD_WEBSOCK_MAX_PAYLOAD);
    if (total == 0) {
        return 0;
    }
    payload = g_malloc(total);
    for (size_t i = 0, off = 0; i < niov && off < total; i++) {
        size_t n = MIN(iov[i].iov_len, total - off);

        memcpy(payload + off, iov[i].iov_base, n);
        off += n;
    }
    wd_websock_encode_frame(ws->out, ws->text ? WD_WEBSOCK_OP_TEXT
                                              : WD_WEBSOCK_OP_BINARY,
                            true, payload, total, NULL);
    ws->out_frame_end = ws->out->len;
    if (flush_out(ws, errp) < 0) {
        return -1;
    }
    if (ws->out_frame_end > 0) {
        ws->out_frame_payload = total;
        return WD_CHANNEL_ERR_BLOCK;
    }
    return total;
}

static bool websock_set_blocking(WdChannel *ch, bool enabled, GError **errp)
{
    return wd_channel_set_blocking(to_ws(ch)->master, enabled, errp);
}

static bool websock_shutdown(WdChannel *ch, WdChannelShutdown how,
                             GError **errp)
{
    WdChannelWebsock *ws = to_ws(ch);

    if ((how & WD_CHANNEL_SHUTDOWN_WRITE) && ws->state == WS_OPEN) {
        send_close(ws, WD_WEBSOCK_CLOSE_NORMAL);
        flush_best_effort(ws);
    }
    return wd_channel_shutdown(ws->master, how, errp);
}

static bool websock_close(WdChannel *ch, GError **errp)
{
    WdChannelWebsock *ws = to_ws(ch);

    if (ws->state == WS_OPEN) {
        send_close(ws, WD_WEBSOCK_CLOSE_NORMAL);
        flush_best_effort(ws);
    }
    return wd_channel_close(ws->master, errp);
}

static GIOCondition websock_ready(WdChannel *ch, GIOCondition cond)
{
    WdChannelWebsock *ws = to_ws(ch);

    if (ws->decoded->len > 0 || ws->eof || ws->read_err ||
        ws->state == WS_FAILED ||
        (ws->state == WS_OPEN && wd_channel_pending(ws->master) > 0)) {
        return G_IO_IN;
    }
    return 0;
}

static GSource *websock_create_watch(WdChannel *ch, GIOCondition cond)
{
    WdChannelWebsock *ws = to_ws(ch);
    int fd = wd_channel_get_fd(ws->master);

    if (fd >= 0) {
        return wd_channel_fd_watch_new(ch, fd, cond, websock_ready);
    }
    return wd_channel_child_watch_new(ch, ws->master, cond, websock_ready);
}

static size_t websock_pending(WdChannel *ch)
{
    return to_ws(ch)->decoded->len;
}

static int websock_get_fd(WdChannel *ch)
{
    return wd_channel_get_fd(to_ws(ch)->master);
}

static void websock_finalize(WdChannel *ch)
{
    WdChannelWebsock *ws = to_ws(ch);

    wd_channel_unref(ws->master);
    g_byte_array_unref(ws->rawin);
    g_byte_array_unref(ws->decoded);
    g_byte_array_unref(ws->out);
    g_clear_error(&ws->read_err);
    g_free(ws->protocol);
}

static const WdChannelOps websock_ops = {
    .name = "websocket",
    .readv = websock_readv,
    .writev = websock_writev,
    .set_blocking = websock_set_blocking,
    .shutdown = websock_shutdown,
    .close = websock_close,
    .create_watch = websock_create_watch,
    .pending = websock_pending,
    .get_fd = websock_get_fd,
    .finalize = websock_finalize,
};

WdChannel *wd_channel_websock_new_server(WdChannel *master)
{
    WdChannelWebsock *ws = g_new0(WdChannelWebsock, 1);
    g_autofree char *name = g_strdup_printf("websocket %s",
        master->name ? master->name : master->ops->name);

    wd_channel_init(&ws->base, &websock_ops);
    ws->base.features = master->features & WD_CHANNEL_FEATURE_SHUTDOWN;
    wd_channel_set_name(&ws->base, name);
    ws->master = wd_channel_ref(master);
    ws->state = WS_NEW;
    ws->dec.require_mask = true;
    ws->rawin = g_byte_array_new();
    ws->decoded = g_byte_array_new();
    ws->out = g_byte_array_new();
    return &ws->base;
}

void wd_channel_websock_set_text(WdChannel *ws, bool text)
{
    to_ws(ws)->text = text;
}

const char *wd_channel_websock_get_protocol(WdChannel *ws)
{
    return to_ws(ws)->protocol;
}

bool wd_channel_is_websock(WdChannel *ch)
{
    return ch && ch->ops == &websock_ops;
}

/* ---- handshake ---- */

static gboolean hs_io(WdChannel *master, GIOCondition cond, gpointer opaque);

static void hs_watch(WdChannelWebsock *ws, GIOCondition cond)
{
    if (ws->hs_src) {
        g_source_destroy(ws->hs_src);
        g_clear_pointer(&ws->hs_src, g_source_unref);
    }
    if (cond) {
        ws->hs_src = wd_channel_create_watch(ws->master, cond);
        g_source_set_callback(ws->hs_src, G_SOURCE_FUNC(hs_io), ws, NULL);
        g_source_attach(ws->hs_src, ws->hs_ctx);
    }
}

/* Report the result (takes ownership of @err) and drop the task's
 * reference. */
static void hs_finish(WdChannelWebsock *ws, GError *err)
{
    hs_watch(ws, 0);
    if (err) {
        ws->state = WS_FAILED;
    } else {
        ws->state = WS_OPEN;
        process_input(ws);      /* frames sent right after the request */
    }
    ws->hs_cb(&ws->base, err, ws->hs_opaque);
    if (err) {
        g_error_free(err);
    }
    g_clear_pointer(&ws->hs_ctx, g_main_context_unref);
    wd_channel_unref(&ws->base);
}

static gboolean hs_flush(WdChannelWebsock *ws)
{
    GError *err = NULL;
    int r = flush_out(ws, &err);

    if (r == 0) {
        if (!ws->hs_writing) {
            ws->hs_writing = true;
            hs_watch(ws, G_IO_OUT);
        }
        return G_SOURCE_CONTINUE;
    }
    if (ws->hs_err) {
        /* The 400 went out (or not): report the bad request itself. */
        g_clear_error(&err);
        err = g_steal_pointer(&ws->hs_err);
    }
    hs_finish(ws, err);
    return G_SOURCE_REMOVE;
}

static gboolean hs_read(WdChannelWebsock *ws)
{
    WdWebsockHandshake hs;
    GError *err = NULL;
    size_t consumed = 0;
    ssize_t n;
    int r;

    /* Never read past the header limit: the parser sees at most
     * WD_WEBSOCK_MAX_HEADER_BYTES and fails if they hold no request. */
    n = read_master(ws, WD_WEBSOCK_MAX_HEADER_BYTES - ws->rawin->len, &err);
    if (n == WD_CHANNEL_ERR_BLOCK) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        if (n == 0) {
            wd_error_setg(&err, "Client closed the connection during the "
                          "WebSocket handshake");
        }
        hs_finish(ws, err);
        return G_SOURCE_REMOVE;
    }
    r = wd_websock_parse_handshake((const char *)ws->rawin->data,
                                   ws->rawin->len, &hs, &consumed, &err);
    if (r == 0) {
        return G_SOURCE_CONTINUE;
    }
    if (r < 0) {
        g_byte_array_append(ws->out,
                            (const guint8 *)WD_WEBSOCK_RESPONSE_BAD_REQUEST,
                            strlen(WD_WEBSOCK_RESPONSE_BAD_REQUEST));
        ws->hs_err = err;
    } else {
        g_autofree char *resp = wd_websock_handshake_response(&hs);

        g_byte_array_append(ws->out, (const guint8 *)resp, strlen(resp));
        g_byte_array_remove_range(ws->rawin, 0, consumed);
        ws->protocol = g_steal_pointer(&hs.protocol);
        wd_websock_handshake_clear(&hs);
    }
    return hs_flush(ws);
}

static gboolean hs_io(WdChannel *master, GIOCondition cond, gpointer opaque)
{
    WdChannelWebsock *ws = opaque;

    return ws->hs_writing ? hs_flush(ws) : hs_read(ws);
}

void wd_channel_websock_handshake(WdChannel *ch, WdTaskFunc cb,
                                  gpointer opaque, GMainContext *ctx)
{
    WdChannelWebsock *ws = to_ws(ch);

    g_assert(ws->state == WS_NEW);
    ws->state = WS_HANDSHAKE;
    ws->hs_cb = cb;
    ws->hs_opaque = opaque;
    ws->hs_ctx = ctx ? g_main_context_ref(ctx)
                     : g_main_context_ref_thread_default();
    wd_channel_ref(ch);
    hs_watch(ws, G_IO_IN);
}
