/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * RFC 6455 without I/O: the upgrade request parser (bounded in bytes and
 * header lines), the accept key, and the frame decoder/encoder. Every
 * byte here comes from an unauthenticated peer; the fuzz target
 * tests/fuzz/fuzz-websock.c drives all of it.
 */
#include "runtime/io/websock-proto.h"

#include <nettle/sha1.h>
#include <string.h>

#include "runtime/error.h"

void wd_websock_handshake_clear(WdWebsockHandshake *hs)
{
    g_clear_pointer(&hs->path, g_free);
    g_clear_pointer(&hs->key, g_free);
    g_clear_pointer(&hs->protocol, g_free);
}

char *wd_websock_accept_key(const char *key)
{
    struct sha1_ctx ctx;
    uint8_t digest[SHA1_DIGEST_SIZE];

    sha1_init(&ctx);
    sha1_update(&ctx, strlen(key), (const uint8_t *)key);
    sha1_update(&ctx, strlen(WD_WEBSOCK_GUID),
                (const uint8_t *)WD_WEBSOCK_GUID);
    sha1_digest(&ctx, sizeof(digest), digest);
    return g_base64_encode(digest, sizeof(digest));
}

char *wd_websock_handshake_response(const WdWebsockHandshake *hs)
{
    g_autofree char *accept = wd_websock_accept_key(hs->key);

    return g_strdup_printf("HTTP/1.1 101 Switching Protocols\r\n"
                           "Upgrade: websocket\r\n"
                           "Connection: Upgrade\r\n"
                           "Sec-WebSocket-Accept: %s\r\n"
                           "%s%s%s"
                           "\r\n",
                           accept,
                           hs->protocol ? "Sec-WebSocket-Protocol: " : "",
                           hs->protocol ? hs->protocol : "",
                           hs->protocol ? "\r\n" : "");
}

/* ---- upgrade request ---- */

/* Does the comma-separated list @list contain @token? */
static bool list_has_token(const char *list, const char *token,
                           bool case_sensitive)
{
    g_auto(GStrv) items = g_strsplit(list, ",", -1);

    for (char **p = items; *p; p++) {
        const char *item = g_strstrip(*p);

        if (case_sensitive ? strcmp(item, token) == 0
                           : g_ascii_strcasecmp(item, token) == 0) {
            return true;
        }
    }
    return false;
}

static bool is_token_char(char c)
{
    return g_ascii_isalnum(c) || strchr("!#$%&'*+-.^_`|~", c);
}

/* 16 random bytes in base64: 22 alphabet characters and "==". */
static bool valid_key(const char *key)
{
    if (strlen(key) != 24 || strcmp(key + 22, "==") != 0) {
        return false;
    }
    for (int i = 0; i < 22; i++) {
        if (!g_ascii_isalnum(key[i]) && key[i] != '+' && key[i] != '/') {
            return false;
        }
    }
    return true;
}

typedef struct {
    const char *host;
    const char *upgrade;
    const char *key;
    const char *version;
    GString *connection;        /* all Connection headers, joined */
    GString *protocols;         /* all Sec-WebSocket-Protocol headers */
} RequestHeaders;

/* A header that may appear only once. */
static bool set_once(const char **slot, const char *value, const char *name,
                     GError **errp)
{
    if (*slot) {
        wd_error_setg(errp, "WebSocket upgrade request has more than one "
                      "%s header", name);
        return false;
    }
    *slot = value;
    return true;
}

static bool parse_header_line(char *line, RequestHeaders *h, GError **errp)
{
    char *colon = strchr(line, ':');
    char *value;

    /* Obsolete line folding is a classic request-smuggling vector. */
    if (line[0] == ' ' || line[0] == '\t') {
        wd_error_setg(errp, "WebSocket upgrade request uses folded header "
                      "lines");
        return false;
    }
    if (!colon || colon == line) {
        wd_error_setg(errp, "Malformed header line in WebSocket upgrade "
                      "request");
        return false;
    }
    *colon = '\0';
    for (const char *p = line; *p; p++) {
        if (!is_token_char(*p)) {
            wd_error_setg(errp, "Invalid header name '%s' in WebSocket "
                          "upgrade request", line);
            return false;
        }
    }
    value = g_strstrip(colon + 1);

    if (g_ascii_strcasecmp(line, "Host") == 0) {
        return set_once(&h->host, value, "Host", errp);
    } else if (g_ascii_strcasecmp(line, "Upgrade") == 0) {
        return set_once(&h->upgrade, value, "Upgrade", errp);
    } else if (g_ascii_strcasecmp(line, "Sec-WebSocket-Key") == 0) {
        return set_once(&h->key, value, "Sec-WebSocket-Key", errp);
    } else if (g_ascii_strcasecmp(line, "Sec-WebSocket-Version") == 0) {
        return set_once(&h->version, value, "Sec-WebSocket-Version", errp);
    } else if (g_ascii_strcasecmp(line, "Connection") == 0) {
        g_string_append_printf(h->connection, "%s,", value);
    } else if (g_ascii_strcasecmp(line, "Sec-WebSocket-Protocol") == 0) {
        g_string_append_printf(h->protocols, "%s,", value);
    }
    return true;
}

static bool parse_request_line(const char *line, WdWebsockHandshake *hs,
                               GError **errp)
{
    g_auto(GStrv) parts = g_strsplit(line, " ", -1);

    if (g_strv_length(parts) != 3) {
        wd_error_setg(errp, "Malformed request line in WebSocket upgrade "
                      "request");
        return false;
    }
    if (strcmp(parts[0], "GET") != 0) {
        wd_error_setg(errp, "WebSocket upgrade request uses method '%s' "
                      "instead of GET", parts[0]);
        return false;
    }
    if (strcmp(parts[2], "HTTP/1.1") != 0) {
        wd_error_setg(errp, "WebSocket upgrade request uses '%s' instead of "
                      "HTTP/1.1", parts[2]);
        return false;
    }
    if (parts[1][0] != '/') {
        wd_error_setg(errp, "WebSocket upgrade request target '%s' is not "
                      "a path", parts[1]);
        return false;
    }
    hs->path = g_strdup(parts[1]);
    return true;
}

static bool check_headers(RequestHeaders *h, WdWebsockHandshake *hs,
                          GError **errp)
{
    if (!h->host) {
        wd_error_setg(errp, "WebSocket upgrade request has no Host header");
        return false;
    }
    if (!h->upgrade || !list_has_token(h->upgrade, "websocket", false)) {
        wd_error_setg(errp, "WebSocket upgrade request lacks 'Upgrade: "
                      "websocket'");
        return false;
    }
    if (!list_has_token(h->connection->str, "upgrade", false)) {
        wd_error_setg(errp, "WebSocket upgrade request lacks 'Connection: "
                      "Upgrade'");
        return false;
    }
    if (!h->version || strcmp(h->version, "13") != 0) {
        wd_error_setg(errp, "WebSocket upgrade request has "
                      "Sec-WebSocket-Version '%s'; only 13 is supported",
                      h->version ? h->version : "(none)");
        return false;
    }
    if (!h->key || !valid_key(h->key)) {
        wd_error_setg(errp, "WebSocket upgrade request has a missing or "
                      "invalid Sec-WebSocket-Key (need base64 of 16 bytes)");
        return false;
    }
    hs->key = g_strdup(h->key);
    if (list_has_token(h->protocols->str, WD_WEBSOCK_PROTOCOL_BINARY, true)) {
        hs->protocol = g_strdup(WD_WEBSOCK_PROTOCOL_BINARY);
    }
    return true;
}

/* Reject bytes no HTTP/1.1 header may contain, so that every string we
 * keep or log is free of NULs and control characters (D4). */
static bool check_bytes(const char *buf, size_t len, GError **errp)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = buf[i];

        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') ||
            c == 0x7f) {
            wd_error_setg(errp, "WebSocket upgrade request contains control "
                          "character 0x%02x", c);
            return false;
        }
    }
    return true;
}

static int parse_request(char *text, WdWebsockHandshake *hs, GError **errp)
{
    g_auto(GStrv) lines = g_strsplit(text, "\r\n", -1);
    RequestHeaders h = {
        .connection = g_string_new(NULL),
        .protocols = g_string_new(NULL),
    };
    bool ok = true;
    guint n = g_strv_length(lines);

    if (n == 0) {
        wd_error_setg(errp, "WebSocket upgrade request is empty");
        ok = false;
    } else if (n - 1 > WD_WEBSOCK_MAX_HEADERS) {
        wd_error_setg(errp, "WebSocket upgrade request has more than %d "
                      "header lines", WD_WEBSOCK_MAX_HEADERS);
        ok = false;
    }
    for (guint i = 0; ok && i < n; i++) {
        /* CRLF is the only line break: a lone CR or LF is ambiguous. */
        if (strpbrk(lines[i], "\r\n")) {
            wd_error_setg(errp, "WebSocket upgrade request contains a bare "
                          "CR or LF");
            ok = false;
        }
    }
    ok = ok && parse_request_line(lines[0], hs, errp);
    for (guint i = 1; ok && i < n; i++) {
        ok = parse_header_line(lines[i], &h, errp);
    }
    ok = ok && check_headers(&h, hs, errp);
    g_string_free(h.connection, TRUE);
    g_string_free(h.protocols, TRUE);
    if (!ok) {
        wd_websock_handshake_clear(hs);
        return -1;
    }
    return 1;
}

int wd_websock_parse_handshake(const char *buf, size_t len,
                               WdWebsockHandshake *hs, size_t *consumed,
                               GError **errp)
{
    size_t scan = MIN(len, (size_t)WD_WEBSOCK_MAX_HEADER_BYTES);
    const char *end = memmem(buf, scan, "\r\n\r\n", 4);
    g_autofree char *text = NULL;
    size_t hlen;

    memset(hs, 0, sizeof(*hs));
    if (!end) {
        if (len >= WD_WEBSOCK_MAX_HEADER_BYTES) {
            wd_error_setg(errp, "WebSocket upgrade request exceeds %d bytes",
                          WD_WEBSOCK_MAX_HEADER_BYTES);
            return -1;
        }
        /* Fail early rather than wait for the rest of garbage. */
        return check_bytes(buf, len, errp) ? 0 : -1;
    }
    hlen = end - buf + 4;
    if (!check_bytes(buf, hlen, errp)) {
        return -1;
    }
    text = g_strndup(buf, hlen - 4);
    if (parse_request(text, hs, errp) < 0) {
        return -1;
    }
    *consumed = hlen;
    return 1;
}

/* ---- frames ---- */

static int frame_error(WdWebsockFrame *frame, uint16_t code, GError **errp,
                       const char *msg)
{
    frame->close_code = code;
    wd_error_setg(errp, "WebSocket protocol error: %s", msg);
    return -1;
}

static bool valid_close_code(uint16_t code)
{
    /* RFC 6455 7.4: 1004-1006 and 1015 must never be sent; 1016-2999 are
     * reserved; 3000-4999 are for libraries and applications. */
    return (code >= 1000 && code <= 1003) ||
           (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* Check the opcode against the fragmentation state and the bits that
 * must be clear; returns -1 (frame_error) or 0. */
static int check_header(WdWebsockDecoder *dec, uint8_t b0, uint8_t b1,
                        WdWebsockFrame *frame, GError **errp)
{
    unsigned op = b0 & 0x0f;
    bool control = op & 0x8;

    if (b0 & 0x70) {
        return frame_error(frame, WD_WEBSOCK_CLOSE_PROTOCOL_ERROR, errp,
                           "reserved bits set (no extension negotiated)");
    }
    if (op != WD_WEBSOCK_OP_CONTINUATION && op != WD_WEBSOCK_OP_TEXT &&
        op != WD_WEBSOCK_OP_BINARY && op != WD_WEBSOCK_OP_CLOSE &&
        op != WD_WEBSOCK_OP_PING && op != WD_WEBSOCK_OP_PONG) {
        return frame_error(frame, WD_WEBSOCK_CLOSE_PROTOCOL_ERROR, errp,
                           "unknown opcode");
    }
    /* Masking is what keeps a browser-based attacker from steering
     * intermediary caches with chosen bytes (RFC 6455 10.3). */
    if (dec->require_mask && !(b1 & 0x80)) {
        return frame_error(frame, WD_WEBSOCK_CLOSE_PROTOCOL_ERROR, errp,
                           "client frame is not masked");
    }
    if (control && !(b0 & 0x80)) {
        return frame_error(frame, WD_WEBSOCK_CLOSE_PROTOCOL_ERROR, errp,
                           "fragmented control frame");
    }
    if (control && (b1 & 0x7f) > WD_WEBSOCK_MAX_CONTROL_PAYLOAD) {
        return frame_error(frame, WD_WEBSOCK_CLOSE_PROTOCOL_ERROR, errp,
                           "control frame payload over 125 bytes");
    }
    if (op == WD_WEBSOCK_OP_CONTINUATION && !dec->in_message) {
        return frame_error(frame, WD_WEBSOCK_CLOSE_PROTOCOL_ERROR, errp,
                           "continuation frame without a message");
    }
    if ((op == WD_WEBSOCK_OP_TEXT || op == WD_WEBSOCK_OP_BINARY) &&
        dec->in_message) {
        return frame_error(frame, WD_WEBSOCK_CLOSE_PROTOCOL_ERROR, errp,
                           "new message before the fragmented one ended");
    }
    return 0;
}

static void unmask(uint8_t *dst, const uint8_t *src, size_t len,
                   const uint8_t *mask)
{
    for (size_t i = 0; i < len; i++) {
        dst[i] = mask ? src[i] ^ mask[i & 3] : src[i];
    }
}

static int decode_close(WdWebsockFrame *frame, GError **errp)
{
    if (frame->control_len == 0) {
        frame->close_code = WD_WEBSOCK_CLOSE_NO_STATUS;
        return 1;
    }
    if (frame->control_len == 1) {
        return frame_error(frame, WD_WEBSOCK_CLOSE_PROTOCOL_ERROR, errp,
                           "close frame with a 1-byte payload");
    }
    frame->close_code = (uint16_t)(frame->control[0] << 8 |
                                   frame->control[1]);
    if (!valid_close_code(frame->close_code)) {
        return frame_error(frame, WD_WEBSOCK_CLOSE_PROTOCOL_ERROR, errp,
                           "invalid close status code");
    }
    return 1;
}

int wd_websock_decode_frame(WdWebsockDecoder *dec, const uint8_t *buf,
                            size_t len, size_t *consumed, GByteArray *out,
                            WdWebsockFrame *frame, GError **errp)
{
    size_t hdr = 2;
    uint64_t plen;
    const uint8_t *mask = NULL;

    memset(frame, 0, sizeof(*frame));
    if (len < 2) {
        return 0;
    }
    if (check_header(dec, buf[0], buf[1], frame, errp) < 0) {
        return -1;
    }
    frame->fin = buf[0] & 0x80;
    frame->opcode = buf[0] & 0x0f;
    plen = buf[1] & 0x7f;
    if (plen == 126) {
        if (len < 4) {
            return 0;
        }
        plen = (uint64_t)buf[2] << 8 | buf[3];
        hdr = 4;
    } else if (plen == 127) {
        if (len < 10) {
            return 0;
        }
        plen = 0;
        for (int i = 0; i < 8; i++) {
            plen = plen << 8 | buf[2 + i];
        }
        hdr = 10;
        if (plen >> 63) {
            return frame_error(frame, WD_WEBSOCK_CLOSE_PROTOCOL_ERROR, errp,
                               "payload length has the top bit set");
        }
    }
    if (plen > WD_WEBSOCK_MAX_PAYLOAD) {
        return frame_error(frame, WD_WEBSOCK_CLOSE_TOO_BIG, errp,
                           "frame payload exceeds 1 MiB");
    }
    if (buf[1] & 0x80) {
        if (len < hdr + 4) {
            return 0;
        }
        mask = buf + hdr;
        hdr += 4;
    }
    if (len - hdr < plen) {
        return 0;
    }
    frame->payload_len = plen;

    if (frame->opcode & 0x8) {
        frame->control_len = plen;
        unmask(frame->control, buf + hdr, plen, mask);
        if (frame->opcode == WD_WEBSOCK_OP_CLOSE &&
            decode_close(frame, errp) < 0) {
            return -1;
        }
    } else {
        guint old = out->len;

        if (plen > 0) {
            g_byte_array_set_size(out, old + plen);
            unmask(out->data + old, buf + hdr, plen, mask);
        }
        if (frame->opcode != WD_WEBSOCK_OP_CONTINUATION) {
            dec->message_opcode = frame->opcode;
        }
        dec->in_message = !frame->fin;
    }
    *consumed = hdr + plen;
    return 1;
}

void wd_websock_encode_frame(GByteArray *out, WdWebsockOpcode opcode,
                             bool fin, const void *payload, size_t len,
                             const uint8_t *mask)
{
    uint8_t hdr[WD_WEBSOCK_MAX_FRAME_HEADER];
    size_t hlen = 2;
    guint old;

    hdr[0] = (fin ? 0x80 : 0) | (opcode & 0x0f);
    hdr[1] = mask ? 0x80 : 0;
    if (len < 126) {
        hdr[1] |= len;
    } else if (len <= 0xffff) {
        hdr[1] |= 126;
        hdr[2] = len >> 8;
        hdr[3] = len & 0xff;
        hlen = 4;
    } else {
        hdr[1] |= 127;
        for (int i = 0; i < 8; i++) {
            hdr[2 + i] = (uint64_t)len >> (56 - 8 * i);
        }
        hlen = 10;
    }
    if (mask) {
        memcpy(hdr + hlen, mask, 4);
        hlen += 4;
    }
    g_byte_array_append(out, hdr, hlen);
    old = out->len;
    g_byte_array_set_size(out, old + len);
    if (len) {
        unmask(out->data + old, payload, len, mask);
    }
}

void wd_websock_encode_close(GByteArray *out, uint16_t code)
{
    uint8_t payload[2] = { code >> 8, code & 0xff };

    wd_websock_encode_frame(out, WD_WEBSOCK_OP_CLOSE, true, payload,
                            code == WD_WEBSOCK_CLOSE_NO_STATUS ? 0 : 2,
                            NULL);
}
