/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The server side of a WebSocket (RFC 6455) as a byte-stream channel
 * stacked on another channel (a socket, or TLS for wss://). The pure
 * protocol code lives in websock-proto.h.
 */
#ifndef WARDEN_IO_CHANNEL_WEBSOCK_H
#define WARDEN_IO_CHANNEL_WEBSOCK_H

#include "runtime/io/channel.h"
#include "runtime/io/websock-proto.h"

/*
 * Wrap @master (takes a new reference; closing the websocket channel
 * closes @master). Nothing can be read or written before
 * wd_channel_websock_handshake() has completed successfully.
 *
 *   new_server --handshake()--> HANDSHAKE --101 sent--> OPEN
 *                                   |                    |
 *                     bad request: 400 sent, FAILED      | close frame or
 *                                                        v protocol error
 *                                                      CLOSING (reads EOF /
 *                                                      the error)
 *
 * Reading: the channel is a byte stream. Data frames (text or binary,
 * fragmented or not) are unmasked and concatenated in order; the
 * fragmentation sequence is validated. Pings are answered with pongs,
 * pongs ignored. A close frame is echoed and then reads return 0 (EOF).
 * A protocol violation (unmasked frame, bad length, frame over 1 MiB,
 * bad sequence) sends a close frame with 1002 or 1009 and then reads
 * fail with the error. Text payloads are not checked for UTF-8.
 *
 * Writing: each write call becomes one unmasked frame (binary, or text
 * after wd_channel_websock_set_text()) of at most WD_WEBSOCK_MAX_PAYLOAD
 * bytes; larger writes are short. If the master would block in the
 * middle of a frame, the write returns WD_CHANNEL_ERR_BLOCK and the
 * caller must retry with the same data (as with gnutls_record_send),
 * which then reports the frame's length once it is fully sent.
 */
WdChannel *wd_channel_websock_new_server(WdChannel *master);

/*
 * Read the HTTP upgrade request from the master (watching it in @ctx;
 * NULL = the caller's thread-default context), validate it and answer
 * "101 Switching Protocols", or "400 Bad Request" followed by a failure.
 * @cb runs exactly once, from @ctx, with @ws (borrowed) and NULL or the
 * error. The handshake holds a reference on @ws until then. The master
 * should be non-blocking. Bytes the client sent after its request are
 * kept as frame data.
 */
void wd_channel_websock_handshake(WdChannel *ws, WdTaskFunc cb,
                                  gpointer opaque, GMainContext *ctx);

/* Send text (true) or binary (false, the default) frames. For QMP over a
 * websocket: one JSON message per write, one text frame each. */
void wd_channel_websock_set_text(WdChannel *ws, bool text);

/* The subprotocol agreed in the handshake ("binary") or NULL. */
const char *wd_channel_websock_get_protocol(WdChannel *ws);

/* True if @ch is a websocket channel. */
bool wd_channel_is_websock(WdChannel *ch);

#endif
