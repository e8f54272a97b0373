/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tls-creds-x509, tls-creds-anon and tls-creds-psk: thin objects over
 * runtime/crypto/tlscreds.c. Everything is loaded and checked in
 * complete(), so a misconfiguration fails when the object is created,
 * not at the first handshake. The loaded credentials are immutable and
 * shared by reference with listeners and connections.
 */
#include "objects/objects.h"
#include "runtime/crypto/tlscreds.h"
#include "runtime/error.h"

typedef struct {
    WdObject parent;
    WdTlsCreds *creds;
} WdTlsCredsObject;

static WdTlsEndpoint endpoint_of(QCryptoTLSCredsEndpoint e)
{
    return e == QCRYPTO_TLSCREDS_ENDPOINT_SERVER ? WD_TLS_ENDPOINT_SERVER
                                                 : WD_TLS_ENDPOINT_CLIENT;
}

static bool x509_complete(WdObject *obj, GError **errp)
{
    WdTlsCredsObject *t = (WdTlsCredsObject *)obj;
    const TlsCredsX509Properties *p = obj->props;
    uint8_t *pw = NULL;
    size_t pwlen = 0;

    if (!p->dir) {
        wd_error_setg(errp, "tls-creds-x509 needs dir=DIR: the directory "
                      "with ca-cert.pem and the %s certificate and key",
                      p->endpoint == QCRYPTO_TLSCREDS_ENDPOINT_SERVER
                      ? "server" : "client");
        return false;
    }
    if (p->passwordid && !wd_secret_lookup(obj, "passwordid", p->passwordid,
                                           &pw, &pwlen, errp)) {
        return false;
    }
    WdTlsX509Config cfg = {
        .dir = p->dir,
        .endpoint = endpoint_of(p->endpoint),
        .verify_peer = p->verify_peer,
        .priority = p->priority,
        .key_password = pw,
        .key_password_len = pwlen,
        .sanity_check = p->sanity_check,
    };
    t->creds = wd_tls_creds_x509_load(&cfg, errp);
    wd_secret_free(pw, pwlen);
    return t->creds != NULL;
}

static bool anon_complete(WdObject *obj, GError **errp)
{
    WdTlsCredsObject *t = (WdTlsCredsObject *)obj;
    const TlsCredsAnonProperties *p = obj->props;

    t->creds = wd_tls_creds_anon_load(endpoint_of(p->endpoint), p->dir,
                                      p->priority, errp);
    return t->creds != NULL;
}

static bool psk_complete(WdObject *obj, GError **errp)
{
    WdTlsCredsObject *t = (WdTlsCredsObject *)obj;
    const TlsCredsPskProperties *p = obj->props;

    if (!p->dir) {
        wd_error_setg(errp, "tls-creds-psk needs dir=DIR: the directory "
                      "with keys.psk (username:hexkey lines, as psktool "
                      "writes them)");
        return false;
    }
    /* username has a schema default ("qemu") for clients; a server gets
     * it only if the user really set it (which the loader refuses). */
    bool server = p->endpoint == QCRYPTO_TLSCREDS_ENDPOINT_SERVER;
    t->creds = wd_tls_creds_psk_load(endpoint_of(p->endpoint), p->dir,
                                     server && !p->has_username ? NULL
                                                                : p->username,
                                     p->priority, errp);
    return t->creds != NULL;
}

static void creds_finalize(WdObject *obj)
{
    WdTlsCredsObject *t = (WdTlsCredsObject *)obj;

    g_clear_pointer(&t->creds, wd_tls_creds_unref);
}

static WdTlsCreds *creds_get(WdObject *obj)
{
    return ((WdTlsCredsObject *)obj)->creds;
}

const WdObjectClass wd_tls_creds_x509_class = {
    .name = "tls-creds-x509",
    .instance_size = sizeof(WdTlsCredsObject),
    .complete = x509_complete,
    .finalize = creds_finalize,
    .get_tls_creds = creds_get,
};

const WdObjectClass wd_tls_creds_anon_class = {
    .name = "tls-creds-anon",
    .instance_size = sizeof(WdTlsCredsObject),
    .complete = anon_complete,
    .finalize = creds_finalize,
    .get_tls_creds = creds_get,
};

const WdObjectClass wd_tls_creds_psk_class = {
    .name = "tls-creds-psk",
    .instance_size = sizeof(WdTlsCredsObject),
    .complete = psk_complete,
    .finalize = creds_finalize,
    .get_tls_creds = creds_get,
};
