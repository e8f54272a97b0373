/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the websocket server: the input is what a client
 * sends (upgrade request, then frames). It drives the I/O-free parser
 * and frame decoder directly, checks that re-encoding decoded frames
 * round-trips, and replays the input through a websocket channel on an
 * in-memory pair so the channel's own state machine is covered too.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined (see the report /
 * tests/fuzz/meson.build); seeds in tests/fuzz/corpus/websock/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/io/channel-buffer.h"
#include "runtime/io/channel-websock.h"

/* Decode frames from @buf until the input ends or a protocol error. */
static void decode_all(const uint8_t *buf, size_t len, bool server)
{
    WdWebsockDecoder dec = { .require_mask = server };
    GByteArray *out = g_byte_array_new();
    size_t off = 0;

    while (off < len) {
        WdWebsockFrame frame;
        size_t consumed = 0;
        guint before = out->len;
        int r = wd_websock_decode_frame(&dec, buf + off, len - off,
                                        &consumed, out, &frame, NULL);

        if (r <= 0) {
            if (r < 0 && frame.close_code != 1002 &&
                frame.close_code != 1009) {
                abort();
            }
            break;
        }
        if (consumed == 0 || consumed > len - off ||
            frame.payload_len > WD_WEBSOCK_MAX_PAYLOAD) {
            abort();
        }
        /* Re-encode the payload unmasked and decode it back. */
        if (!(frame.opcode & 0x8)) {
            GByteArray *enc = g_byte_array_new();
            GByteArray *back = g_byte_array_new();
            WdWebsockDecoder dec2 = { .require_mask = false };
            WdWebsockFrame f2;
            size_t c2 = 0;
            size_t plen = out->len - before;
            const uint8_t *payload = plen ? out->data + before
                                          : (const uint8_t *)"";

            wd_websock_encode_frame(enc, WD_WEBSOCK_OP_BINARY, true,
                                    payload, plen, NULL);
            if (wd_websock_decode_frame(&dec2, enc->data, enc->len, &c2,
                                        back, &f2, NULL) != 1 ||
                c2 != enc->len || back->len != plen ||
                (plen && memcmp(back->data, payload, plen) != 0)) {
                abort();
            }
            g_byte_array_unref(enc);
            g_byte_array_unref(back);
        }
        off += consumed;
        if (frame.opcode == WD_WEBSOCK_OP_CLOSE) {
            break;
        }
    }
    g_byte_array_unref(out);
}

static void on_handshake(WdChannel *ws, GError *err, gpointer opaque)
{
    *(bool *)opaque = true;
}

/* The whole server channel, fed @data by an in-memory client. */
static void replay_channel(const uint8_t *data, size_t size)
{
    GMainContext *ctx = g_main_context_new();
    WdChannel *client, *server, *ws;
    bool done = false;
    char buf[4096];

    g_main_context_push_thread_default(ctx);
    wd_channel_buffer_pair_new(&client, &server);
    wd_channel_set_blocking(server, false, NULL);
    ws = wd_channel_websock_new_server(server);
    wd_channel_unref(server);

    wd_channel_write(client, data, size, NULL);
    wd_channel_shutdown(client, WD_CHANNEL_SHUTDOWN_WRITE, NULL);
    wd_channel_websock_handshake(ws, on_handshake, &done, ctx);
    /* Every step consumes input or ends at EOF: this terminates. */
    while (!done) {
        g_main_context_iteration(ctx, TRUE);
    }
    while (wd_channel_read(ws, buf, sizeof(buf), NULL) > 0) {
    }
    wd_channel_write(ws, "reply", 5, NULL);

    wd_channel_unref(ws);
    wd_channel_unref(client);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    WdWebsockHandshake hs;
    size_t consumed = 0;
    int r;

    r = wd_websock_parse_handshake((const char *)data, size, &hs, &consumed,
                                   NULL);
    if (r == 1) {
        char *resp = wd_websock_handshake_response(&hs);

        if (consumed > size || consumed > WD_WEBSOCK_MAX_HEADER_BYTES ||
            strlen(hs.key) != 24) {
            abort();
        }
        g_free(resp);
        wd_websock_handshake_clear(&hs);
        decode_all(data + consumed, size - consumed, true);
    } else {
        /* Not a request: still give the frame decoder the bytes. */
        decode_all(data, size, true);
        decode_all(data, size, false);
    }
    replay_channel(data, size);
    return 0;
}
