/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NBD URIs as the NBD URI spec and libnbd spell them:
 *
 *   nbd://HOST[:PORT]/EXPORT            plain TCP (default port 10809)
 *   nbds://[USER@]HOST[:PORT]/EXPORT    TLS required
 *   nbd+unix:///EXPORT?socket=PATH      plain unix socket
 *   nbds+unix:///EXPORT?socket=PATH     TLS over a unix socket
 *
 * Query parameters: socket=, tls-certificates=DIR, tls-psk-file=FILE,
 * tls-username=, tls-hostname=, tls-verify-peer=true|false. Anything else
 * is an error naming it. Parsed with GLib's GUri.
 */
#ifndef WARDEN_NBD_URI_H
#define WARDEN_NBD_URI_H

#include <glib.h>
#include <stdbool.h>

#include "runtime/crypto/tlscreds.h"
#include "runtime/io/channel-socket.h"
#include "runtime/nbd/client.h"

/* Where nbds:// without credentials finds the system's CA certificates. */
#define WD_NBD_URI_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"

typedef struct {
    bool tls;                   /* nbds:// or nbds+unix:// */
    WdSocketAddress *addr;      /* inet or unix */
    char *export_name;          /* "" = the default export */
    char *tls_certificates;     /* x509 credentials directory, or NULL */
    char *tls_psk_file;         /* PSK key file, or NULL */
    char *tls_username;         /* PSK username (URI user or parameter) */
    char *tls_hostname;         /* NULL = the URI host */
    bool tls_verify_peer;       /* default true */
} WdNbdUri;

/* True if @str starts with an NBD URI scheme ("nbd:", "nbds+unix:", ...),
 * i.e. is meant as a URI rather than a file name. */
bool wd_nbd_uri_is_uri(const char *str);

/*
 * wd_nbd_uri_parse:
 *
 * Parses and checks @str: the scheme, a host for TCP and none for unix,
 * socket= exactly for unix, the port (1..65535), no password or fragment,
 * every query parameter known and given once, TLS parameters only with
 * an nbds scheme, tls-certificates and tls-psk-file not both.
 *
 * Returns: a new WdNbdUri, or NULL with @errp set.
 */
WdNbdUri *wd_nbd_uri_parse(const char *str, GError **errp);
void wd_nbd_uri_free(WdNbdUri *u);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WdNbdUri, wd_nbd_uri_free)

/*
 * wd_nbd_uri_load_tls:
 *
 * The client credentials an nbds URI asks for: x509 from
 * tls-certificates=DIR (ca-cert.pem, optional client-cert.pem and
 * client-key.pem; the server is verified unless tls-verify-peer=false),
 * PSK from tls-psk-file=FILE with the URI's username (default: the login
 * name, as libnbd), or else the system CA store (WD_NBD_URI_SYSTEM_CA).
 * Blocking (file I/O).
 *
 * Returns: new credentials; NULL with @errp set on failure, and NULL
 * without an error for a plain (nbd://) URI.
 */
WdTlsCreds *wd_nbd_uri_load_tls(const WdNbdUri *u, GError **errp);

/*
 * Points @cfg's address, export name and TLS hostname at @u's (borrowed:
 * @u must outlive the connect call) and sets @cfg->tls to @creds. Other
 * fields are left as they are.
 */
void wd_nbd_uri_fill_config(const WdNbdUri *u, WdTlsCreds *creds,
                            WdNbdClientConfig *cfg);

#endif
