/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A raw NBD client on a blocking socketpair and a test server with two
 * memory disks ("disk" writable, "ro" read-only) for the NBD server
 * engine tests (test-nbd-server.c, test-nbd-server-io.c). The client
 * asserts on every unexpected byte.
 */
#ifndef WARDEN_TESTS_NBD_TEST_CLIENT_H
#define WARDEN_TESTS_NBD_TEST_CLIENT_H

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "objects/objects.h"
#include "runtime/crypto/tlssession.h"
#include "runtime/nbd/nbd-conn-priv.h"
#include "runtime/nbd/server.h"
#include "runtime/object.h"

#define DISK_SIZE (1024 * 1024)
#define RO_SIZE (64 * 1024)
#define PSK_USER "alice"
#define PSK_KEY "10ffa6a2c42f0388a8d4b4c1c0d2e3f4"
/* Flags of "disk" without / with structured replies. */
#define DISK_FLAGS 0x0d6d
#define DISK_FLAGS_SR 0x0ded

typedef struct {
    int fd;
    WdTlsSession *tls;
} Cli;

typedef struct {
    WdTlsCreds *creds;
    const char *authz;
    unsigned max_conn;          /* 0: default */
    unsigned hs_seconds;        /* 0: default */
} SrvOpts;

/* A PSK keys file (PSK_USER:PSK_KEY) in a temporary directory. */
void nbd_test_psk_setup(void);
void nbd_test_psk_teardown(void);

void pump_until(gboolean (*cond)(gpointer), gpointer opaque);
ssize_t fd_push(const void *buf, size_t len, void *opaque);
ssize_t fd_pull(void *buf, size_t len, void *opaque);
Cli *cli_new(WdNbdServer *s);
void cli_free(Cli *c);
void cli_write(Cli *c, const void *buf, size_t len);
size_t cli_read_some(Cli *c, void *buf, size_t len);
void cli_read(Cli *c, void *buf, size_t len);
void cli_expect_eof(Cli *c);
void cli_greeting(Cli *c, uint32_t flags);
void cli_opt(Cli *c, uint32_t opt, const void *data, uint32_t len);
uint32_t cli_rep(Cli *c, uint32_t opt, char **payload, uint32_t *len);
void cli_rep_err(Cli *c, uint32_t opt, uint32_t type, const char *msg);
void cli_rep_ack(Cli *c, uint32_t opt);
void cli_send_go(Cli *c, uint32_t opt, const char *name,
                 const uint16_t *infos, uint16_t ninfo);
void cli_send_meta(Cli *c, uint32_t opt, const char *name,
                   const char *const *queries);
uint16_t cli_go_replies(Cli *c, uint32_t opt, uint64_t *size);
uint16_t cli_go(Cli *c, const char *name, bool sr);
void cli_cmd(Cli *c, uint16_t type, uint16_t flags, uint64_t cookie,
             uint64_t off, uint32_t len, const void *data);
uint32_t cli_simple(Cli *c, uint64_t *cookie);
void cli_check(Cli *c, uint16_t type, uint16_t flags, uint64_t off,
               uint32_t len, const void *data, uint32_t err);
uint16_t cli_chunk(Cli *c, uint64_t cookie, uint16_t *flags,
                   uint8_t **payload, uint32_t *len);
WdNbdServer *srv_new(const SrvOpts *o);
gboolean no_connections(gpointer s);
WdTlsCreds *psk_creds(WdTlsEndpoint ep);
void cli_starttls(Cli *c);

#endif
