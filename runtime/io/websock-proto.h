/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The WebSocket wire protocol (RFC 6455), server side, without any I/O:
 * the HTTP upgrade request parser and responses, the frame decoder with
 * its fragmentation state, and the frame encoder. Shared by the websocket
 * channel, its unit tests and the fuzz target.
 *
 * Byte order on the wire is big-endian (network order) throughout.
 */
#ifndef WARDEN_IO_WEBSOCK_PROTO_H
#define WARDEN_IO_WEBSOCK_PROTO_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on what an unauthenticated peer may make us buffer (G3). */
#define WD_WEBSOCK_MAX_HEADER_BYTES 4096    /* request line + headers */
#define WD_WEBSOCK_MAX_HEADERS 32           /* header lines */
#define WD_WEBSOCK_MAX_PAYLOAD (1024 * 1024) /* one frame, either way */
#define WD_WEBSOCK_MAX_CONTROL_PAYLOAD 125  /* RFC 6455 5.5 */
#define WD_WEBSOCK_MAX_FRAME_HEADER 14      /* 2 + 8 length + 4 mask */

/* Appended to Sec-WebSocket-Key before hashing (RFC 6455 1.3). */
#define WD_WEBSOCK_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* The one subprotocol we accept when a client offers it. */
#define WD_WEBSOCK_PROTOCOL_BINARY "binary"

typedef enum {
    WD_WEBSOCK_OP_CONTINUATION = 0x0,
    WD_WEBSOCK_OP_TEXT = 0x1,
    WD_WEBSOCK_OP_BINARY = 0x2,
    WD_WEBSOCK_OP_CLOSE = 0x8,
    WD_WEBSOCK_OP_PING = 0x9,
    WD_WEBSOCK_OP_PONG = 0xA,
} WdWebsockOpcode;

/* Close status codes (RFC 6455 7.4.1). */
#define WD_WEBSOCK_CLOSE_NORMAL 1000
#define WD_WEBSOCK_CLOSE_PROTOCOL_ERROR 1002
#define WD_WEBSOCK_CLOSE_NO_STATUS 1005     /* never sent on the wire */
#define WD_WEBSOCK_CLOSE_TOO_BIG 1009

/* The parts of a valid upgrade request we need. */
typedef struct WdWebsockHandshake {
    char *path;         /* request target, e.g. "/" */
    char *key;          /* Sec-WebSocket-Key, 24 base64 characters */
    char *protocol;     /* subprotocol we chose ("binary") or NULL */
} WdWebsockHandshake;

/*
 * Parse the HTTP upgrade request at the start of @buf (@len bytes read so
 * far). Returns 1 with @hs filled (clear it with
 * wd_websock_handshake_clear) and *@consumed = the request's length (the
 * bytes after it are already websocket frames); 0 if the request is
 * incomplete but may still become valid (read more); -1 with @errp set if
 * it is invalid or over WD_WEBSOCK_MAX_HEADER_BYTES /
 * WD_WEBSOCK_MAX_HEADERS: answer WD_WEBSOCK_RESPONSE_BAD_REQUEST.
 */
int wd_websock_parse_handshake(const char *buf, size_t len,
                               WdWebsockHandshake *hs, size_t *consumed,
                               GError **errp);
void wd_websock_handshake_clear(WdWebsockHandshake *hs);

/* base64(SHA-1(@key + GUID)): the Sec-WebSocket-Accept value. Returns a
 * new string. */
char *wd_websock_accept_key(const char *key);

/* The "101 Switching Protocols" response for @hs. Returns a new string. */
char *wd_websock_handshake_response(const WdWebsockHandshake *hs);

#define WD_WEBSOCK_RESPONSE_BAD_REQUEST \
    "HTTP/1.1 400 Bad Request\r\n" \
    "Connection: close\r\n" \
    "Content-Length: 0\r\n" \
    "\r\n"

/* Decoder state carried between frames: fragmented message in progress. */
typedef struct WdWebsockDecoder {
    bool require_mask;          /* server side: client frames are masked */
    bool in_message;            /* got a non-final data frame */
    WdWebsockOpcode message_opcode; /* TEXT or BINARY of that message */
} WdWebsockDecoder;

/* One decoded frame. */
typedef struct WdWebsockFrame {
    WdWebsockOpcode opcode;     /* as sent (CONTINUATION for fragments) */
    bool fin;
    uint64_t payload_len;
    /* Control frames: the unmasked payload. */
    uint8_t control[WD_WEBSOCK_MAX_CONTROL_PAYLOAD];
    size_t control_len;
    /* CLOSE: the peer's status (WD_WEBSOCK_CLOSE_NO_STATUS if none).
     * On a -1 return: the status to close the connection with. */
    uint16_t close_code;
} WdWebsockFrame;

/*
 * Decode the frame at the start of @buf. Returns 1 when a whole frame was
 * there: *@consumed = its size, @frame filled, and for data frames
 * (TEXT/BINARY/CONTINUATION) the unmasked payload appended to @out. 0 if
 * more bytes are needed (nothing consumed or appended). -1 on a protocol
 * violation, with @errp set and @frame->close_code the status to send
 * (1002, or 1009 for a payload over WD_WEBSOCK_MAX_PAYLOAD); the
 * connection cannot continue. Length and sequencing errors are reported
 * as soon as the header is complete, before the payload arrives.
 */
int wd_websock_decode_frame(WdWebsockDecoder *dec, const uint8_t *buf,
                            size_t len, size_t *consumed, GByteArray *out,
                            WdWebsockFrame *frame, GError **errp);

/*
 * Append one frame to @out: @mask NULL for server frames (unmasked), or 4
 * bytes for a client frame. Any length is encoded; staying under the
 * peer's limits is up to the caller.
 */
void wd_websock_encode_frame(GByteArray *out, WdWebsockOpcode opcode,
                             bool fin, const void *payload, size_t len,
                             const uint8_t *mask);

/* A CLOSE frame (server side) carrying @code; no payload for
 * WD_WEBSOCK_CLOSE_NO_STATUS. */
void wd_websock_encode_close(GByteArray *out, uint16_t code);

#endif
