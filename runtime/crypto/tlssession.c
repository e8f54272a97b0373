/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS sessions over caller-supplied push/pull callbacks: setup from
 * credentials, the non-blocking handshake, the peer checks QEMU runs
 * after it (with the reason in the message), and record I/O.
 */
#include "runtime/crypto/tlssession.h"
#include "runtime/crypto/tlscreds-priv.h"
#include "runtime/error.h"
#include "runtime/io/channel.h"

#include <errno.h>
#include <string.h>

struct WdTlsSession {
    WdTlsCreds *creds;
    gnutls_session_t gs;
    char *hostname;
    WdTlsPushFunc push;
    WdTlsPullFunc pull;
    void *opaque;
    int last_errno;             /* of the last failed push/pull */
    bool established;
};

static ssize_t session_push(gnutls_transport_ptr_t p, const void *buf,
                            size_t len)
{
    WdTlsSession *s = p;
    ssize_t ret = s->push(buf, len, s->opaque);

    if (ret < 0) {
        s->last_errno = errno;
        gnutls_transport_set_errno(s->gs, errno);
    }
    return ret;
}

static ssize_t session_pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
    WdTlsSession *s = p;
    ssize_t ret = s->pull(buf, len, s->opaque);

    if (ret < 0) {
        s->last_errno = errno;
        gnutls_transport_set_errno(s->gs, errno);
    }
    return ret;
}

/*
 * gnutls' default "wait for data" function select()s on the transport
 * pointer as if it were an fd. Ours is not: answer "maybe ready" and let
 * the pull callback say EAGAIN; waiting is the caller's job.
 */
static int session_pull_timeout(gnutls_transport_ptr_t p, unsigned ms)
{
    return 1;
}

WdTlsCreds *wd_tls_session_creds_of(gnutls_session_t gs)
{
    WdTlsSession *s = gnutls_session_get_ptr(gs);

    return s ? s->creds : NULL;
}

static bool session_set_creds(WdTlsSession *s, GError **errp)
{
    WdTlsCreds *creds = s->creds;
    bool server = creds->endpoint == WD_TLS_ENDPOINT_SERVER;
    gnutls_credentials_type_t type;
    void *cred;
    int ret;

    switch (creds->type) {
    case WD_TLS_CREDS_X509:
        type = GNUTLS_CRD_CERTIFICATE;
        cred = creds->u.x509;
        break;
    case WD_TLS_CREDS_ANON:
        type = GNUTLS_CRD_ANON;
        cred = server ? (void *)creds->u.anon_server :
                        (void *)creds->u.anon_client;
        break;
    case WD_TLS_CREDS_PSK:
        type = GNUTLS_CRD_PSK;
        cred = server ? (void *)creds->u.psk_server :
                        (void *)creds->u.psk_client;
        break;
    default:
        wd_error_setg(errp, "Unsupported TLS credentials type %d",
                      creds->type);
        return false;
    }
    ret = gnutls_credentials_set(s->gs, type, cred);
    if (ret < 0) {
        wd_error_setg(errp, "Cannot set session credentials: %s",
                      gnutls_strerror(ret));
        return false;
    }
    if (creds->type == WD_TLS_CREDS_X509 && server && creds->verify_peer) {
        /*
         * REQUEST, not REQUIRE, as QEMU: the handshake completes without
         * a client certificate and check_credentials() then refuses the
         * peer with a message that says why.
         */
        gnutls_certificate_server_set_request(s->gs, GNUTLS_CERT_REQUEST);
    }
    return true;
}

WdTlsSession *wd_tls_session_new(WdTlsCreds *creds, const char *hostname,
                                 WdTlsPushFunc push, WdTlsPullFunc pull,
                                 void *opaque, GError **errp)
{
    g_autoptr(WdTlsSession) s = g_new0(WdTlsSession, 1);
    bool server = creds->endpoint == WD_TLS_ENDPOINT_SERVER;
    int ret;

    s->creds = wd_tls_creds_ref(creds);
    s->hostname = g_strdup(hostname);
    s->push = push;
    s->pull = pull;
    s->opaque = opaque;
    ret = gnutls_init(&s->gs, server ? GNUTLS_SERVER : GNUTLS_CLIENT);
    if (ret < 0) {
        s->gs = NULL;
        wd_error_setg(errp, "Cannot initialize TLS session: %s",
                      gnutls_strerror(ret));
        return NULL;
    }
    ret = gnutls_priority_set(s->gs, creds->prio);
    if (ret < 0) {
        wd_error_setg(errp, "Unable to set TLS session priority %s: %s",
                      creds->priority, gnutls_strerror(ret));
        return NULL;
    }
    if (!session_set_creds(s, errp)) {
        return NULL;
    }
    /* SNI carries DNS names only (RFC 6066), never address literals. */
    if (!server && hostname && creds->type == WD_TLS_CREDS_X509 &&
        !g_hostname_is_ip_address(hostname)) {
        gnutls_server_name_set(s->gs, GNUTLS_NAME_DNS, hostname,
                               strlen(hostname));
    }
    /* Handshake deadlines are the caller's (timers on its main loop). */
    gnutls_handshake_set_timeout(s->gs, 0);
    gnutls_session_set_ptr(s->gs, s);
    gnutls_transport_set_ptr(s->gs, s);
    gnutls_transport_set_push_function(s->gs, session_push);
    gnutls_transport_set_pull_function(s->gs, session_pull);
    gnutls_transport_set_pull_timeout_function(s->gs, session_pull_timeout);
    return g_steal_pointer(&s);
}

void wd_tls_session_free(WdTlsSession *s)
{
    if (!s) {
        return;
    }
    if (s->gs) {
        gnutls_deinit(s->gs);
    }
    wd_tls_creds_unref(s->creds);
    g_free(s->hostname);
    g_free(s);
}

/* gnutls' text plus what the peer or the transport said. */
static char *session_error_text(WdTlsSession *s, int ret)
{
    if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED ||
        ret == GNUTLS_E_WARNING_ALERT_RECEIVED) {
        const char *alert = gnutls_alert_get_name(gnutls_alert_get(s->gs));

        return g_strdup_printf("%s (the peer says: %s)",
                               gnutls_strerror(ret), alert ? alert : "?");
    }
    if ((ret == GNUTLS_E_PUSH_ERROR || ret == GNUTLS_E_PULL_ERROR) &&
        s->last_errno) {
        return g_strdup_printf("%s (%s)", gnutls_strerror(ret),
                               g_strerror(s->last_errno));
    }
    if (ret == GNUTLS_E_PREMATURE_TERMINATION && !s->established) {
        return g_strdup_printf("%s (the peer closed the connection; it may "
                               "have rejected our credentials)",
                               gnutls_strerror(ret));
    }
    return g_strdup(gnutls_strerror(ret));
}

int wd_tls_session_handshake(WdTlsSession *s, GError **errp)
{
    int ret;

    if (s->established) {
        return WD_TLS_HANDSHAKE_COMPLETE;
    }
    do {
        ret = gnutls_handshake(s->gs);
    } while (ret == GNUTLS_E_INTERRUPTED);
    if (ret == 0) {
        s->established = true;
        return WD_TLS_HANDSHAKE_COMPLETE;
    }
    if (ret == GNUTLS_E_AGAIN) {
        return gnutls_record_get_direction(s->gs) ? WD_TLS_HANDSHAKE_SENDING :
               WD_TLS_HANDSHAKE_RECVING;
    }
    g_autofree char *why = session_error_text(s, ret);
    wd_error_setg(errp, "TLS handshake failed: %s", why);
    return -1;
}

bool wd_tls_session_is_established(WdTlsSession *s)
{
    return s->established;
}

WdTlsCreds *wd_tls_session_get_creds(WdTlsSession *s)
{
    return s->creds;
}

static gnutls_x509_crt_t peer_cert(WdTlsSession *s, unsigned idx)
{
    unsigned n = 0;
    const gnutls_datum_t *certs;
    gnutls_x509_crt_t crt;

    if (gnutls_certificate_type_get(s->gs) != GNUTLS_CRT_X509) {
        return NULL;
    }
    certs = gnutls_certificate_get_peers(s->gs, &n);
    if (!certs || idx >= n || gnutls_x509_crt_init(&crt) < 0) {
        return NULL;
    }
    if (gnutls_x509_crt_import(crt, &certs[idx], GNUTLS_X509_FMT_DER) < 0) {
        gnutls_x509_crt_deinit(crt);
        return NULL;
    }
    return crt;
}

static char *peer_cn(gnutls_x509_crt_t crt)
{
    char cn[256];
    size_t size = sizeof(cn);

    if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0,
                                      cn, &size) < 0) {
        return g_strdup("without a common name");
    }
    return g_strdup_printf("CN=%s", cn);
}

/* Names the peer certificate whose dates are out, with the date. */
static bool report_dates(WdTlsSession *s, GError **errp)
{
    unsigned n = 0;
    time_t now = time(NULL);

    gnutls_certificate_get_peers(s->gs, &n);
    for (unsigned i = 0; i < n; i++) {
        gnutls_x509_crt_t crt = peer_cert(s, i);
        time_t t;

        if (!crt) {
            continue;
        }
        g_autofree char *cn = peer_cn(crt);
        if ((t = gnutls_x509_crt_get_expiration_time(crt)) < now) {
            g_autofree char *when = wd_tls_format_time(t);
            wd_error_setg(errp, "The certificate has expired: the peer's "
                          "certificate %s expired on %s", cn, when);
            gnutls_x509_crt_deinit(crt);
            return true;
        }
        if ((t = gnutls_x509_crt_get_activation_time(crt)) > now) {
            g_autofree char *when = wd_tls_format_time(t);
            wd_error_setg(errp, "The certificate is not yet activated: the "
                          "peer's certificate %s is valid from %s", cn, when);
            gnutls_x509_crt_deinit(crt);
            return true;
        }
        gnutls_x509_crt_deinit(crt);
    }
    return false;
}

static bool check_status(WdTlsSession *s, unsigned status, GError **errp)
{
    bool server = s->creds->endpoint == WD_TLS_ENDPOINT_SERVER;

    if (!status) {
        return true;
    }
    if ((status & GNUTLS_CERT_SIGNER_NOT_FOUND) &&
        !(status & GNUTLS_CERT_REVOKED)) {
        gnutls_x509_crt_t crt = peer_cert(s, 0);
        g_autofree char *cn = crt ? peer_cn(crt) : g_strdup("?");

        if (crt) {
            gnutls_x509_crt_deinit(crt);
        }
        wd_error_setg(errp, "The certificate hasn't got a known issuer: "
                      "the %s's certificate %s is not signed by a CA in %s",
                      server ? "client" : "server", cn, s->creds->ca_path);
        return false;
    }
    if ((status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED)) &&
        !(status & GNUTLS_CERT_REVOKED) && report_dates(s, errp)) {
        return false;
    }
    wd_error_setg(errp, "%s", wd_tls_verify_reason(status));
    return false;
}

static bool check_x509_peer(WdTlsSession *s, GError **errp)
{
    bool server = s->creds->endpoint == WD_TLS_ENDPOINT_SERVER;
    gnutls_x509_crt_t crt;
    unsigned status = 0;
    int ret;

    /* QEMU's rule; libnbd instead connects unverified (nbd.md 4c). */
    if (!server && !s->hostname) {
        wd_error_setg(errp, "No hostname for certificate validation: give "
                      "the server's name or address (e.g. tls-hostname=) "
                      "so its certificate can be checked");
        return false;
    }
    ret = gnutls_certificate_verify_peers2(s->gs, &status);
    if (ret == GNUTLS_E_NO_CERTIFICATE_FOUND) {
        /* A gnutls client only offers a certificate whose issuer is in
         * the CA list the server sends, so "none" also means "not ours". */
        wd_error_setg(errp, "Verify failed: %s The %s sent no certificate "
                      "signed by a CA in %s; with verify-peer on, it needs "
                      "one", gnutls_strerror(ret),
                      server ? "client" : "server", s->creds->ca_path);
        return false;
    }
    if (ret < 0) {
        wd_error_setg(errp, "Verify failed: %s", gnutls_strerror(ret));
        return false;
    }
    if (!check_status(s, status, errp)) {
        return false;
    }
    crt = peer_cert(s, 0);
    if (!crt) {
        wd_error_setg(errp, "No certificate peers");
        return false;
    }
    if (!server && !gnutls_x509_crt_check_hostname2(crt, s->hostname, 0)) {
        g_autofree char *names = wd_tls_cert_names(crt);

        wd_error_setg(errp, "Certificate does not match the hostname %s: "
                      "the certificate has %s", s->hostname, names);
        gnutls_x509_crt_deinit(crt);
        return false;
    }
    gnutls_x509_crt_deinit(crt);
    return true;
}

bool wd_tls_session_check_credentials(WdTlsSession *s, GError **errp)
{
    if (!s->established) {
        wd_error_setg(errp, "TLS peer credentials checked before the "
                      "handshake completed");
        return false;
    }
    /* anon/psk: nothing to check (the key exchange proved the PSK). */
    if (s->creds->type != WD_TLS_CREDS_X509 || !s->creds->verify_peer) {
        return true;
    }
    return check_x509_peer(s, errp);
}

static char *peer_dn(WdTlsSession *s, unsigned flags)
{
    gnutls_x509_crt_t crt = peer_cert(s, 0);
    gnutls_datum_t dn = { NULL, 0 };
    char *out = NULL;

    if (!crt) {
        return NULL;
    }
    if (gnutls_x509_crt_get_dn3(crt, &dn, flags) == 0) {
        out = g_strndup((const char *)dn.data, dn.size);
        gnutls_free(dn.data);
    }
    gnutls_x509_crt_deinit(crt);
    return out;
}

char *wd_tls_session_get_peer_name(WdTlsSession *s)
{
    if (!s->established) {
        return NULL;
    }
    if (s->creds->type == WD_TLS_CREDS_PSK) {
        const char *user = s->creds->endpoint == WD_TLS_ENDPOINT_SERVER ?
                           gnutls_psk_server_get_username(s->gs) : NULL;
        return user ? g_strdup(user) : NULL;
    }
    if (s->creds->type == WD_TLS_CREDS_X509) {
        return peer_dn(s, 0);
    }
    return NULL;
}

char *wd_tls_session_get_peer_dn_qemu(WdTlsSession *s)
{
    if (!s->established || s->creds->type != WD_TLS_CREDS_X509) {
        return NULL;
    }
    return peer_dn(s, GNUTLS_X509_DN_FLAG_COMPAT);
}

ssize_t wd_tls_session_read(WdTlsSession *s, void *buf, size_t len,
                            GError **errp)
{
    ssize_t ret;

    do {
        ret = gnutls_record_recv(s->gs, buf, len);
    } while (ret == GNUTLS_E_INTERRUPTED);
    if (ret >= 0) {
        return ret;
    }
    if (ret == GNUTLS_E_AGAIN) {
        return WD_CHANNEL_ERR_BLOCK;
    }
    g_autofree char *why = session_error_text(s, ret);
    wd_error_setg(errp, "Cannot read from TLS channel: %s", why);
    return -1;
}

ssize_t wd_tls_session_write(WdTlsSession *s, const void *buf, size_t len,
                             GError **errp)
{
    ssize_t ret;

    do {
        ret = gnutls_record_send(s->gs, buf, len);
    } while (ret == GNUTLS_E_INTERRUPTED);
    if (ret >= 0) {
        return ret;
    }
    if (ret == GNUTLS_E_AGAIN) {
        return WD_CHANNEL_ERR_BLOCK;
    }
    g_autofree char *why = session_error_text(s, ret);
    wd_error_setg(errp, "Cannot write to TLS channel: %s", why);
    return -1;
}

size_t wd_tls_session_pending(WdTlsSession *s)
{
    return gnutls_record_check_pending(s->gs);
}

void wd_tls_session_cork(WdTlsSession *s, bool on)
{
    if (on) {
        gnutls_record_cork(s->gs);
    } else {
        /* Errors surface on the next read or write of the session. */
        gnutls_record_uncork(s->gs, GNUTLS_RECORD_WAIT);
    }
}

bool wd_tls_session_bye(WdTlsSession *s)
{
    int ret;

    do {
        ret = gnutls_bye(s->gs, GNUTLS_SHUT_WR);
    } while (ret == GNUTLS_E_INTERRUPTED);
    return ret == 0;
}
