/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared fixtures of the websocket tests: RFC 6455 section 1.3 example. */
#ifndef WARDEN_TESTS_WEBSOCK_TEST_H
#define WARDEN_TESTS_WEBSOCK_TEST_H

#include <stdint.h>
#include <string.h>

#include "runtime/io/websock-proto.h"

#define GOOD_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define GOOD_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

#define GOOD_REQUEST \
    "GET /chat HTTP/1.1\r\n" \
    "Host: server.example.com\r\n" \
    "Upgrade: websocket\r\n" \
    "Connection: keep-alive, Upgrade\r\n" \
    "Sec-WebSocket-Key: " GOOD_KEY "\r\n" \
    "Origin: http://example.com\r\n" \
    "Sec-WebSocket-Protocol: chat, binary\r\n" \
    "Sec-WebSocket-Version: 13\r\n" \
    "\r\n"

#define GOOD_RESPONSE \
    "HTTP/1.1 101 Switching Protocols\r\n" \
    "Upgrade: websocket\r\n" \
    "Connection: Upgrade\r\n" \
    "Sec-WebSocket-Accept: " GOOD_ACCEPT "\r\n" \
    "Sec-WebSocket-Protocol: binary\r\n" \
    "\r\n"

static const uint8_t test_mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* A client frame (masked with test_mask) carrying @payload. */
static inline GByteArray *masked(WdWebsockOpcode op, bool fin,
                                  const char *payload)
{
    GByteArray *b = g_byte_array_new();

    wd_websock_encode_frame(b, op, fin, payload, strlen(payload), test_mask);
    return b;
}

static inline void append_frame(GByteArray *to, WdWebsockOpcode op, bool fin,
                                const char *payload)
{
    g_autoptr(GByteArray) f = masked(op, fin, payload);

    g_byte_array_append(to, f->data, f->len);
}

#endif
