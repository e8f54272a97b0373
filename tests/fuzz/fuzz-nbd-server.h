/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the NBD server fuzz targets (fuzz-nbd-handshake, fuzz-nbd-transmit)
 * share: a real server with two in-memory exports, and a driver that feeds
 * one input to a new connection over a socketpair.
 */
#ifndef WARDEN_FUZZ_NBD_SERVER_H
#define WARDEN_FUZZ_NBD_SERVER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/crypto/tlscreds.h"
#include "runtime/nbd/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts (a finding for libFuzzer) when a harness invariant fails. */
#define FUZZ_CHECK(cond)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s: invariant failed: %s\n", __FILE__, #cond); \
            abort();                                                        \
        }                                                                   \
    } while (0)

/* A server (TLS required if @creds is not NULL) exporting "disk" (512 KiB,
 * writable, with a description) and "ro" (64 KiB, read-only). Errors are
 * the only log output. */
WdNbdServer *fuzz_nbd_server_new(WdTlsCreds *creds);

/* PSK server credentials (user "qemu"), loaded from a scratch file. */
WdTlsCreds *fuzz_nbd_psk_creds(void);

/* Seconds one input may take before the harness calls it a hang. An
 * input takes milliseconds; the margin is for a loaded machine, where a
 * campaign at nice 19 can be starved for many seconds (libFuzzer's own
 * -timeout is the tighter bound in CI). */
#define FUZZ_NBD_DEADLINE 60

/* Sends @data to a new connection of @s, drains the replies until the
 * server hangs up, and waits for the connection to be gone. Aborts if
 * that takes more than FUZZ_NBD_DEADLINE: a hang is a bug. */
void fuzz_nbd_server_run(WdNbdServer *s, const uint8_t *data, size_t size);

#endif
