/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz the address texts a user or a peer's configuration hands us: NBD
 * URIs as libnbd spells them (wd_nbd_uri_parse, nbd-uri.c) and socket
 * addresses ("unix:/path", "host:port", "[v6]:port", "fd:N";
 * wd_socket_address_parse). The input is one string (cut at a NUL).
 * A URI that parses must satisfy what nbd-uri.h promises; an address that
 * parses must survive wd_socket_address_to_string() and parse back equal.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "runtime/nbd/nbd-protocol.h"
#include "runtime/nbd/nbd-uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_uri(const char *str)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdNbdUri) u = wd_nbd_uri_parse(str, &err);
    WdNbdClientConfig cfg = { 0 };

    if (!u) {
        g_assert(err && err->message[0]);
        return;
    }
    g_assert(!err && wd_nbd_uri_is_uri(str));
    g_assert(u->addr && u->export_name);
    g_assert(strlen(u->export_name) <= NBD_MAX_STRING);
    if (u->addr->type == WD_SOCKET_ADDRESS_UNIX) {
        g_assert(u->addr->path && u->addr->path[0]);
    } else {
        g_assert(u->addr->type == WD_SOCKET_ADDRESS_INET);
        g_assert(u->addr->host && u->addr->host[0]);
        int port = atoi(u->addr->port);
        g_assert(port >= 1 && port <= 65535);
    }
    if (!u->tls) {
        g_assert(!u->tls_certificates && !u->tls_psk_file &&
                 !u->tls_username && !u->tls_hostname);
    }
    g_assert(!(u->tls_certificates && u->tls_psk_file));
    g_assert(!u->tls_username || u->tls_psk_file);
    wd_nbd_uri_fill_config(u, NULL, &cfg);
    g_assert(cfg.addr == u->addr);
}

static void check_address(const char *str)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(WdSocketAddress) a = wd_socket_address_parse(str, &err);
    g_autoptr(WdSocketAddress) b = NULL;
    g_autoptr(WdSocketAddress) c = NULL;
    g_autofree char *text = NULL;

    if (!a) {
        g_assert(err && err->message[0]);
        return;
    }
    g_assert(!err);
    c = wd_socket_address_copy(a);
    text = wd_socket_address_to_string(a);
    b = wd_socket_address_parse(text, &err);
    if (!b) {
        /* abort(), not g_error(): libFuzzer saves the input on SIGABRT. */
        fprintf(stderr, "'%s' parsed, but its text '%s' does not: %s\n",
                str, text, err->message);
        abort();
    }
    g_assert(a->type == b->type && b->type == c->type);
    g_assert(g_strcmp0(a->host, b->host) == 0);
    g_assert(g_strcmp0(a->port, b->port) == 0);
    g_assert(g_strcmp0(a->path, b->path) == 0);
    g_assert(g_strcmp0(a->path, c->path) == 0);
    g_assert(a->type != WD_SOCKET_ADDRESS_FD || a->fd == b->fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *str = g_strndup((const char *)data, size);

    check_uri(str);
    check_address(str);
    return 0;
}
