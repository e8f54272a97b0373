/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the NBD server's transmission phase
 * (nbd-transmit.c and the output path of nbd-conn.c): a valid negotiation
 * chosen by the first input byte (bit 0: structured replies and
 * base:allocation, bit 1: the read-only export, bit 2: EXPORT_NAME instead
 * of GO) is followed by the rest of the input as requests, fed to a real
 * server over a socketpair while its replies are drained.  The server
 * must always end the connection once the input ends, without crashing,
 * leaking or hanging.
 */
#include <endian.h>
#include <string.h>

#include <glib.h>

#include "fuzz-nbd-server.h"
#include "runtime/nbd/nbd-protocol.h"

static WdNbdServer *server;

static void add_option(GByteArray *a, uint32_t opt, const void *data,
                       uint32_t len)
{
    NbdOption h = {
        .version = htobe64(NBD_OPTS_MAGIC),
        .option = htobe32(opt),
        .optlen = htobe32(len),
    };

    g_byte_array_append(a, (const uint8_t *)&h, sizeof(h));
    g_byte_array_append(a, data, len);
}

/* The client side of a successful negotiation selected by @how. */
static GByteArray *negotiation(uint8_t how)
{
    static const uint8_t meta[] = {
        0, 0, 0, 4, 'd', 'i', 's', 'k', 0, 0, 0, 1, 0, 0, 0, 15,
        'b', 'a', 's', 'e', ':', 'a', 'l', 'l', 'o', 'c', 'a', 't', 'i',
        'o', 'n',
    };
    GByteArray *a = g_byte_array_new();
    const char *name = (how & 2) ? "ro" : "disk";
    uint32_t flags = htobe32(NBD_FLAG_C_FIXED_NEWSTYLE |
                             NBD_FLAG_C_NO_ZEROES);
    uint32_t nlen = htobe32(strlen(name));
    g_autoptr(GByteArray) go = g_byte_array_new();

    g_byte_array_append(a, (const uint8_t *)&flags, 4);
    if (how & 1) {
        add_option(a, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
        add_option(a, NBD_OPT_SET_META_CONTEXT, meta, sizeof(meta));
    }
    if (how & 4) {
        add_option(a, NBD_OPT_EXPORT_NAME, name, strlen(name));
    } else {
        g_byte_array_append(go, (const uint8_t *)&nlen, 4);
        g_byte_array_append(go, (const uint8_t *)name, strlen(name));
        g_byte_array_append(go, (const uint8_t *)"\0\0", 2);
        add_option(a, NBD_OPT_GO, go->data, go->len);
    }
    return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gsize once;

    if (g_once_init_enter(&once)) {
        server = fuzz_nbd_server_new(NULL);
        g_once_init_leave(&once, 1);
    }
    if (size == 0) {
        return 0;
    }
    g_autoptr(GByteArray) in = negotiation(data[0]);

    g_byte_array_append(in, data + 1, size - 1);
    fuzz_nbd_server_run(server, in->data, in->len);
    return 0;
}
