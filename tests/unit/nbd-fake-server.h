/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test helper: a scripted NBD server for client tests. A script runs on
 * its own thread and speaks the protocol byte by byte (or misbehaves on
 * purpose) over one end of a socketpair, or over connections accepted on
 * a unix socket (for reconnect and multi-conn tests). The fs_* helpers
 * abort the test when the client does not send what the script expects.
 */
#ifndef WARDEN_TESTS_NBD_FAKE_SERVER_H
#define WARDEN_TESTS_NBD_FAKE_SERVER_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/crypto/tlscreds.h"
#include "runtime/io/channel.h"
#include "runtime/io/channel-socket.h"
#include "runtime/nbd/client.h"
#include "runtime/nbd/nbd-protocol.h"

typedef struct FakeServer FakeServer;
typedef void (*FakeScript)(FakeServer *s);

struct FakeServer {
    WdChannel *ch;              /* the current connection (blocking) */
    int listen_fd;              /* unix mode: -1 otherwise */
    char *path;                 /* unix mode: socket path */
    FakeScript script;
    void *opaque;               /* for the script */
    WdTlsCreds *tls;            /* server credentials for fs_starttls */
    GThread *thread;
    unsigned accepted;          /* connections accepted so far */
};

/* A script on one end of a socketpair; *@addr (new) is the other end as
 * an fd address for the client (close it with fake_server_close_client). */
FakeServer *fake_server_pair(FakeScript script, void *opaque,
                             WdSocketAddress **addr);
/* A script that accepts connections on a new unix socket in @dir;
 * *@addr (new) is its address. The script calls fs_accept(). */
FakeServer *fake_server_unix(const char *dir, FakeScript script,
                             void *opaque, WdSocketAddress **addr);
/* Waits for the script to end and frees everything. */
void fake_server_join(FakeServer *s);

/* Accepts the next connection (unix mode), replacing the current one. */
void fs_accept(FakeServer *s);
/* Closes the current connection (the client sees EOF). */
void fs_hangup(FakeServer *s);

void fs_read(FakeServer *s, void *buf, size_t len);
/* false on EOF before the first byte */
bool fs_try_read(FakeServer *s, void *buf, size_t len);
void fs_write(FakeServer *s, const void *buf, size_t len);

/* Sends NBDMAGIC IHAVEOPT @gflags and reads the client flags. */
void fs_greeting(FakeServer *s, uint16_t gflags);
/* Reads one option; *@data (may be NULL) gets its payload. */
uint32_t fs_read_option(FakeServer *s, char **data, uint32_t *len);
void fs_reply(FakeServer *s, uint32_t opt, uint32_t type, const void *data,
              uint32_t len);
void fs_reply_text(FakeServer *s, uint32_t opt, uint32_t type,
                   const char *text);
void fs_info_export(FakeServer *s, uint32_t opt, uint64_t size,
                    uint16_t flags);
/* Answers STARTTLS with ACK and runs the server side of the TLS
 * handshake; false if it failed (the client gave up). */
bool fs_starttls(FakeServer *s);

/* The usual negotiation: SR -> ACK, SET_META_CONTEXT -> id @meta_id,
 * GO -> BLOCK_SIZE + EXPORT(@size, @flags) + ACK. */
#define FS_META_ID 7
void fs_negotiate(FakeServer *s, uint64_t size, uint16_t flags);

/* One request, fields in host order; false on EOF. WRITE data is read
 * into *@data when @data is non-NULL, else discarded. */
typedef struct {
    uint16_t flags, type;
    uint64_t cookie, offset;
    uint32_t count;
} FsRequest;
bool fs_read_request(FakeServer *s, FsRequest *r, char **data);

void fs_simple_reply(FakeServer *s, uint64_t cookie, uint32_t err,
                     const void *data, uint32_t len);
void fs_chunk(FakeServer *s, uint16_t flags, uint16_t type, uint64_t cookie,
              const void *payload, uint32_t len);
void fs_data_chunk(FakeServer *s, uint64_t cookie, bool done,
                   uint64_t offset, const void *data, uint32_t len);

/* Server credentials fs_starttls uses for new servers (tests set it). */
extern WdTlsCreds *fake_server_creds;

/* A client on a new socketpair server running @script (@cfg NULL: open
 * and request timeouts of 5 s); the client's fd copy is closed. */
WdNbdClient *fake_connect(FakeScript script, void *opaque,
                          WdNbdClientConfig *cfg, FakeServer **fs,
                          GError **errp);
/* Expects connecting to fail with @want ('*' matches any text). */
void fake_expect_connect_error(FakeScript script, WdNbdClientConfig *cfg,
                               const char *want);
/* Reads requests (answering none) until NBD_CMD_DISC or EOF. */
void fs_drain(FakeServer *s);
/* Reads and ignores bytes until the client hangs up. */
void fs_until_eof(FakeServer *s);
/* Asserts the client sends nothing more and hangs up. */
void fs_expect_eof(FakeServer *s);

#endif
