/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `warden certs`: create a small PKI in the directory layout QEMU, nbdkit
 * and libnbd read (create), and run the tls-creds-x509 load-time checks
 * on a directory, reporting every problem at once (check).
 */
#include "runtime/cmd.h"
#include "runtime/crypto/certs.h"
#include "runtime/crypto/tlscreds.h"
#include "runtime/error.h"

#include <stdio.h>
#include <string.h>

/* What `certs create` issues when not told otherwise. */
#define CERTS_DEFAULT_DAYS 365
static const char *const default_servers[] = {
    "localhost", "127.0.0.1", "::1", NULL,
};
static const char *const default_clients[] = { "client", NULL };

static void certs_usage(FILE *out)
{
    fprintf(out,
            "Usage:\n"
            "  warden certs create DIR [--server-name NAME...] "
            "[--client-name CN...] [--days N]\n"
            "  warden certs check DIR --endpoint server|client "
            "[--hostname NAME]\n\n"
            "create: write a CA and server and client certificates and "
            "keys into DIR\n"
            "        (ca-cert.pem, ca-key.pem, server-cert.pem, "
            "server-key.pem,\n"
            "        client-cert.pem, client-key.pem), as QEMU, nbdkit and "
            "libnbd expect them.\n"
            "check:  run every check tls-creds-x509 makes when it loads "
            "DIR and print\n"
            "        each problem found; exit 1 if there is any.\n\n"
            "Run 'warden certs create --help' or 'warden certs check "
            "--help' for details.\n");
}

/* @dir as a keyval value: QEMU-style option parsers read ",," as a
 * literal comma. */
static char *keyval_escape(const char *dir)
{
    g_auto(GStrv) parts = g_strsplit(dir, ",", -1);

    return g_strjoinv(",,", parts);
}

static void print_created(const char *dir, const char *const *servers,
                          const char *const *clients, int days)
{
    g_autofree char *servers_text = g_strjoinv(", ", (char **)servers);
    g_autofree char *kv = keyval_escape(dir);

    printf("Wrote to %s (valid for %d day%s):\n", dir, days,
           days == 1 ? "" : "s");
    printf("  %-26s the CA certificate: every peer needs it\n",
           WD_TLS_X509_CA_CERT);
    printf("  %-26s the CA key (mode 0600): only for issuing more "
           "certificates; keep it offline\n", "ca-key.pem");
    printf("  %-26s the server certificate for %s\n",
           WD_TLS_X509_SERVER_CERT, servers_text);
    printf("  %-26s its key (mode 0600)\n", WD_TLS_X509_SERVER_KEY);
    printf("  %-26s the client certificate, identity CN=%s\n",
           WD_TLS_X509_CLIENT_CERT, clients[0]);
    printf("  %-26s its key (mode 0600)\n", WD_TLS_X509_CLIENT_KEY);
    for (unsigned i = 0; clients[1] && clients[i]; i++) {
        g_autofree char *c = g_strdup_printf("client-%s-cert.pem",
                                             clients[i]);
        g_autofree char *k = g_strdup_printf("client-%s-key.pem", clients[i]);
        printf("  %-26s client certificate, identity CN=%s\n", c,
               clients[i]);
        printf("  %-26s its key (mode 0600)\n", k);
    }
    printf("\nServer (warden daemon, qemu-nbd, qemu-storage-daemon):\n"
           "  --object tls-creds-x509,id=tls0,endpoint=server,dir=%s\n"
           "Client (qemu-img, qemu-nbd, QEMU):\n"
           "  --object tls-creds-x509,id=tls0,endpoint=client,dir=%s\n"
           "nbdkit: --tls=require --tls-certificates=%s\n"
           "libnbd (nbdinfo, nbdcopy): "
           "'nbds://%s/?tls-certificates=%s'\n"
           "Restrict clients: --object authz-simple,id=authz0,"
           "identity=CN=%s, then tls-authz=authz0\n",
           kv, kv, dir, servers[0], dir, clients[0]);
    if (clients[1]) {
        printf("Another client gets its own directory with %s and its "
               "client-CN-cert.pem / -key.pem\nrenamed to %s / %s.\n",
               WD_TLS_X509_CA_CERT, WD_TLS_X509_CLIENT_CERT,
               WD_TLS_X509_CLIENT_KEY);
    }
}

static int certs_create(int argc, char **argv)
{
    g_auto(GStrv) servers = NULL;
    g_auto(GStrv) clients = NULL;
    int days = CERTS_DEFAULT_DAYS;
    GOptionEntry entries[] = {
        { "server-name", 0, 0, G_OPTION_ARG_STRING_ARRAY, &servers,
          "DNS name or IP address of the server (repeat for more; the "
          "first is its CN; default: localhost, 127.0.0.1, ::1)", "NAME" },
        { "client-name", 0, 0, G_OPTION_ARG_STRING_ARRAY, &clients,
          "CN of a client certificate (repeat for more; default: client)",
          "CN" },
        { "days", 0, 0, G_OPTION_ARG_INT, &days,
          "validity in days (default 365)", "N" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(
        "DIR - create a CA and server and client certificates");
    g_autoptr(GError) err = NULL;

    g_set_prgname("warden certs create");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx,
        "Existing files are never overwritten. Keys are RSA 2048, "
        "unencrypted, mode 0600.");
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        wd_cmd_error("certs create: %s", err->message);
        return 1;
    }
    if (argc != 2) {
        wd_cmd_error("certs create: %s; see 'warden certs create --help'",
                     argc < 2 ? "give the output directory"
                              : "give exactly one output directory");
        return 1;
    }
    const char *const *sv = servers && servers[0]
                            ? (const char *const *)servers : default_servers;
    const char *const *cl = clients && clients[0]
                            ? (const char *const *)clients : default_clients;
    if (!wd_certs_create(argv[1], sv, cl, days, &err)) {
        wd_cmd_error("certs create: %s", err->message);
        return 1;
    }
    g_autofree char *abs = g_canonicalize_filename(argv[1], NULL);
    print_created(abs, sv, cl, days);
    return 0;
}

/* The one-line summary after a clean check: what was checked. */
static char *check_summary(const char *dir, WdTlsEndpoint ep,
                           const char *hostname)
{
    bool server = ep == WD_TLS_ENDPOINT_SERVER;
    g_autofree char *cert = g_build_filename(
        dir, server ? WD_TLS_X509_SERVER_CERT : WD_TLS_X509_CLIENT_CERT,
        NULL);
    g_autofree char *crl = g_build_filename(dir, WD_TLS_X509_CA_CRL, NULL);
    GString *s = g_string_new(NULL);

    g_string_append_printf(s, "%s: OK for a %s (%s", dir,
                           server ? "server" : "client", WD_TLS_X509_CA_CERT);
    if (g_file_test(crl, G_FILE_TEST_EXISTS)) {
        g_string_append_printf(s, ", %s", WD_TLS_X509_CA_CRL);
    }
    if (server) {
        g_string_append_printf(s, ", %s + %s", WD_TLS_X509_SERVER_CERT,
                               WD_TLS_X509_SERVER_KEY);
    } else if (g_file_test(cert, G_FILE_TEST_EXISTS)) {
        g_string_append_printf(s, ", %s + %s", WD_TLS_X509_CLIENT_CERT,
                               WD_TLS_X509_CLIENT_KEY);
    } else {
        g_string_append(s, " only: no client certificate, so servers with "
                        "verify-peer=on will refuse this client");
    }
    if (hostname) {
        g_string_append_printf(s, "; the server certificate matches '%s'",
                               hostname);
    }
    g_string_append_c(s, ')');
    return g_string_free(s, FALSE);
}

static int certs_check(int argc, char **argv)
{
    g_autofree char *endpoint = NULL;
    g_autofree char *hostname = NULL;
    GOptionEntry entries[] = {
        { "endpoint", 0, 0, G_OPTION_ARG_STRING, &endpoint,
          "check for use as a server or a client (required)",
          "server|client" },
        { "hostname", 0, 0, G_OPTION_ARG_STRING, &hostname,
          "server only: also check that the certificate matches this DNS "
          "name or IP address", "NAME" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(
        "DIR - check a tls-creds-x509 directory");
    g_autoptr(GPtrArray) findings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;
    WdTlsEndpoint ep;

    g_set_prgname("warden certs check");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx,
        "Runs every check tls-creds-x509 makes when it loads DIR (files, "
        "CA flag, dates,\nkey usage and purpose, chain to the CA, key "
        "matches certificate) and prints\neach problem on its own line. "
        "Exit status: 0 no problem, 1 problems found.");
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        wd_cmd_error("certs check: %s", err->message);
        return 1;
    }
    if (argc != 2) {
        wd_cmd_error("certs check: %s; see 'warden certs check --help'",
                     argc < 2 ? "give the directory to check"
                              : "give exactly one directory");
        return 1;
    }
    if (!endpoint) {
        wd_cmd_error("certs check: give --endpoint server or --endpoint "
                     "client: the two use different certificates");
        return 1;
    }
    if (strcmp(endpoint, "server") == 0) {
        ep = WD_TLS_ENDPOINT_SERVER;
    } else if (strcmp(endpoint, "client") == 0) {
        ep = WD_TLS_ENDPOINT_CLIENT;
    } else {
        wd_cmd_error("certs check: --endpoint must be 'server' or 'client', "
                     "not '%s'", endpoint);
        return 1;
    }
    if (hostname && ep != WD_TLS_ENDPOINT_SERVER) {
        wd_cmd_error("certs check: --hostname checks the server "
                     "certificate: use it with --endpoint server");
        return 1;
    }
    if (!wd_tls_x509_check_dir(argv[1], ep, hostname, findings, &err)) {
        for (guint i = 0; i < findings->len; i++) {
            printf("%s\n", (char *)findings->pdata[i]);
        }
        fflush(stdout);
        wd_cmd_error("certs check: %s", err->message);
        return 1;
    }
    g_autofree char *summary = check_summary(argv[1], ep, hostname);
    printf("%s\n", summary);
    return 0;
}

int wd_cmd_certs(int argc, char **argv)
{
    if (argc < 2) {
        certs_usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        certs_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "create") == 0) {
        return certs_create(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "check") == 0) {
        return certs_check(argc - 1, argv + 1);
    }
    wd_cmd_error("certs: unknown action '%s': use 'create' or 'check'",
                 argv[1]);
    return 1;
}
