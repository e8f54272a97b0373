/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the NBD server's negotiation (nbd-handshake.c,
 * nbd-options.c): the input is what a client sends after the greeting
 * (client flags, options, STARTTLS and whatever follows), fed to a real
 * server over a socketpair while its output is drained.  The first byte
 * picks a server without TLS or one that requires TLS (PSK).  The server
 * must always end the connection once the input ends, without crashing,
 * leaking or hanging.
 */
#include <glib.h>

#include "fuzz-nbd-server.h"

static WdNbdServer *servers[2];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gsize once;

    if (g_once_init_enter(&once)) {
        g_autoptr(WdTlsCreds) creds = fuzz_nbd_psk_creds();

        servers[0] = fuzz_nbd_server_new(NULL);
        servers[1] = fuzz_nbd_server_new(creds);
        g_once_init_leave(&once, 1);
    }
    if (size == 0) {
        return 0;
    }
    fuzz_nbd_server_run(servers[data[0] & 1], data + 1, size - 1);
    return 0;
}
