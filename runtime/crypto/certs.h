/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Certificate generation for `warden certs create`: a CA plus server and
 * client certificates laid out as tls-creds-x509 (and QEMU, nbdkit)
 * expect, with exactly the extensions the load-time checks require.
 */
#ifndef WARDEN_CRYPTO_CERTS_H
#define WARDEN_CRYPTO_CERTS_H

#include <glib.h>
#include <stdbool.h>

/* Longest validity we issue, in days (100 years). */
#define WD_CERTS_MAX_DAYS 36500

/**
 * wd_certs_create:
 * @dir: output directory; created (mode 0700) if missing.
 * @server_names: DNS names and IP addresses for the server certificate's
 * subjectAltName; the first is also its CN. NULL or empty: "localhost",
 * "127.0.0.1" and "::1".
 * @client_names: the CNs of the client certificates. NULL: one client
 * "client"; empty (first element NULL): no client certificate.
 * @days: validity of every certificate, 1..WD_CERTS_MAX_DAYS.
 *
 * Writes ca-cert.pem, ca-key.pem, server-cert.pem, server-key.pem and
 * client-cert.pem, client-key.pem (the first client); with more than one
 * client, also client-<cn>-cert.pem / client-<cn>-key.pem for each.
 * Keys are RSA 2048 (works with every peer), unencrypted PKCS#8, mode
 * 0600. Existing files are never overwritten. On failure nothing that
 * this call created is left behind. Blocking (key generation, file I/O).
 *
 * Returns: true on success; false with @errp set.
 */
bool wd_certs_create(const char *dir, const char *const *server_names,
                     const char *const *client_names, int days,
                     GError **errp);

#endif
