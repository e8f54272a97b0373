/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NBD URI parsing (GLib GUri) with exact, named errors, and loading the
 * TLS client credentials a URI asks for (x509 directory, PSK file or the
 * system CA store) through the runtime's credential loaders.
 */
#include "runtime/nbd/nbd-uri.h"
#include "runtime/error.h"
#include "runtime/nbd/nbd-protocol.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *scheme;
    bool tls;
    bool unix_socket;
} Scheme;

static const Scheme schemes[] = {
    { "nbd", false, false },
    { "nbds", true, false },
    { "nbd+tcp", false, false },
    { "nbds+tcp", true, false },
    { "nbd+unix", false, true },
    { "nbds+unix", true, true },
};

/* The query parameters we know. */
static const char *const params[] = {
    "socket", "tls-certificates", "tls-psk-file", "tls-username",
    "tls-hostname", "tls-verify-peer",
};

bool wd_nbd_uri_is_uri(const char *str)
{
    const char *colon = strchr(str, ':');
    g_autofree char *scheme = NULL;

    if (!colon) {
        return false;
    }
    scheme = g_ascii_strdown(str, colon - str);
    return g_str_has_prefix(scheme, "nbd") &&
           strspn(scheme, "abcdefghijklmnopqrstuvwxyz+") == strlen(scheme);
}

void wd_nbd_uri_free(WdNbdUri *u)
{
    if (u) {
        wd_socket_address_free(u->addr);
        g_free(u->export_name);
        g_free(u->tls_certificates);
        g_free(u->tls_psk_file);
        g_free(u->tls_username);
        g_free(u->tls_hostname);
        g_free(u);
    }
}

static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = { "true", "on", "yes", "1" };
    static const char *const no[] = { "false", "off", "no", "0" };

    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_ascii_strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (g_ascii_strcasecmp(v, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Stores one query parameter; @socket receives socket=. */
static bool set_param(WdNbdUri *u, const char *str, const char *k,
                      const char *v, char **socket, GError **errp)
{
    if (strcmp(k, "socket") == 0) {
        *socket = g_strdup(v);
    } else if (strcmp(k, "tls-certificates") == 0) {
        u->tls_certificates = g_strdup(v);
    } else if (strcmp(k, "tls-psk-file") == 0) {
        u->tls_psk_file = g_strdup(v);
    } else if (strcmp(k, "tls-username") == 0) {
        u->tls_username = g_strdup(v);
    } else if (strcmp(k, "tls-hostname") == 0) {
        u->tls_hostname = g_strdup(v);
    } else if (strcmp(k, "tls-verify-peer") == 0) {
        if (!parse_bool(v, &u->tls_verify_peer)) {
            wd_error_setg(errp, "Invalid value '%s' for tls-verify-peer in "
                          "NBD URI '%s' (use true or false)", v, str);
            return false;
        }
    }
    if (!u->tls && g_str_has_prefix(k, "tls-")) {
        wd_error_setg(errp, "Parameter '%s' in NBD URI '%s' needs TLS: use "
                      "an nbds:// or nbds+unix:// URI", k, str);
        return false;
    }
    if (*v == '\0' && strcmp(k, "tls-verify-peer") != 0) {
        wd_error_setg(errp, "Parameter '%s' in NBD URI '%s' is empty", k,
                      str);
        return false;
    }
    return true;
}

static bool parse_query(WdNbdUri *u, const char *str, const char *query,
                        char **socket, GError **errp)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash,
                                                       g_str_equal, g_free,
                                                       NULL);
    g_autoptr(GPtrArray) unknown = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;
    GUriParamsIter it;
    char *k, *v;

    if (!query || !*query) {
        return true;
    }
    g_uri_params_iter_init(&it, query, -1, "&", G_URI_PARAMS_NONE);
    while (g_uri_params_iter_next(&it, &k, &v, &err)) {
        g_autofree char *key = k;
        g_autofree char *val = v;
        bool known = false;

        if (!key) {
            break;
        }
        for (size_t i = 0; i < G_N_ELEMENTS(params); i++) {
            known = known || strcmp(key, params[i]) == 0;
        }
        if (!known) {
            g_ptr_array_add(unknown, g_strdup_printf("'%s'", key));
            continue;
        }
        if (g_hash_table_contains(seen, key)) {
            wd_error_setg(errp, "Parameter '%s' is given twice in NBD URI "
                          "'%s'", key, str);
            return false;
        }
        g_hash_table_add(seen, g_strdup(key));
        if (!set_param(u, str, key, val, socket, errp)) {
            return false;
        }
    }
    if (err) {
        wd_error_setg(errp, "Invalid query in NBD URI '%s': %s", str,
                      err->message);
        return false;
    }
    if (unknown->len) {
        g_ptr_array_add(unknown, NULL);
        g_autofree char *names = g_strjoinv(", ", (char **)unknown->pdata);
        wd_error_setg(errp, "Unknown parameter%s %s in NBD URI '%s' (known: "
                      "socket, tls-certificates, tls-psk-file, "
                      "tls-username, tls-hostname, tls-verify-peer)",
                      unknown->len > 2 ? "s" : "", names, str);
        return false;
    }
    return true;
}

static const Scheme *find_scheme(const char *str, const char *name,
                                 GError **errp)
{
    for (size_t i = 0; i < G_N_ELEMENTS(schemes); i++) {
        if (g_ascii_strcasecmp(name, schemes[i].scheme) == 0) {
            return &schemes[i];
        }
    }
    if (strstr(name, "vsock")) {
        wd_error_setg(errp, "NBD over vsock is not supported ('%s')", str);
    } else {
        wd_error_setg(errp, "Unknown NBD URI scheme '%s' in '%s' (use nbd, "
                      "nbds, nbd+unix or nbds+unix)", name, str);
    }
    return NULL;
}

/* Host/port or socket, after the query was read. */
static bool set_address(WdNbdUri *u, const Scheme *sc, GUri *uri,
                        const char *str, char *socket, GError **errp)
{
    const char *host = g_uri_get_host(uri);
    int port = g_uri_get_port(uri);

    if (sc->unix_socket) {
        if ((host && *host) || port != -1) {
            wd_error_setg(errp, "NBD URI '%s' names a host, but %s URIs use "
                          "socket=PATH instead", str, sc->scheme);
            return false;
        }
        if (!socket) {
            wd_error_setg(errp, "NBD URI '%s' needs a socket=PATH parameter",
                          str);
            return false;
        }
        u->addr = wd_socket_address_new_unix(socket);
        return true;
    }
    if (socket) {
        wd_error_setg(errp, "Parameter 'socket' in NBD URI '%s' needs an "
                      "nbd+unix:// or nbds+unix:// URI", str);
        return false;
    }
    if (!host || !*host) {
        wd_error_setg(errp, "NBD URI '%s' has no host name", str);
        return false;
    }
    if (port == 0) {
        wd_error_setg(errp, "NBD URI '%s' has port 0", str);
        return false;
    }
    g_autofree char *p = g_strdup_printf("%d", port == -1 ? NBD_DEFAULT_PORT
                                                          : port);
    u->addr = wd_socket_address_new_inet(host, p);
    return true;
}

/* The PSK username: the URI's user part and tls-username must agree. */
static bool set_username(WdNbdUri *u, GUri *uri, const char *str,
                         GError **errp)
{
    const char *user = g_uri_get_user(uri);

    if (g_uri_get_password(uri)) {
        wd_error_setg(errp, "NBD URI '%s' has a password; NBD URIs take no "
                      "passwords (use tls-psk-file=)", str);
        return false;
    }
    if (user && *user) {
        if (u->tls_username && strcmp(u->tls_username, user) != 0) {
            wd_error_setg(errp, "NBD URI '%s' names two different users "
                          "('%s' and tls-username=%s)", str, user,
                          u->tls_username);
            return false;
        }
        g_free(u->tls_username);
        u->tls_username = g_strdup(user);
    }
    if (u->tls_username && !u->tls_psk_file) {
        wd_error_setg(errp, "NBD URI '%s' has a user name, which is the TLS "
                      "PSK username: it needs tls-psk-file=FILE", str);
        return false;
    }
    return true;
}

WdNbdUri *wd_nbd_uri_parse(const char *str, GError **errp)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GUri) uri = NULL;
    g_autoptr(WdNbdUri) u = NULL;
    g_autofree char *socket = NULL;
    const Scheme *sc;
    const char *path;

    uri = g_uri_parse(str, G_URI_FLAGS_ENCODED_QUERY |
                      G_URI_FLAGS_HAS_PASSWORD, &err);
    if (!uri) {
        wd_error_setg(errp, "Invalid NBD URI '%s': %s", str, err->message);
        return NULL;
    }
    sc = find_scheme(str, g_uri_get_scheme(uri), errp);
    if (!sc) {
        return NULL;
    }
    u = g_new0(WdNbdUri, 1);
    u->tls = sc->tls;
    u->tls_verify_peer = true;
    if (g_uri_get_fragment(uri)) {
        wd_error_setg(errp, "NBD URI '%s' must not have a fragment (#...)",
                      str);
        return NULL;
    }
    if (!parse_query(u, str, g_uri_get_query(uri), &socket, errp) ||
        !set_address(u, sc, uri, str, socket, errp) ||
        !set_username(u, uri, str, errp)) {
        return NULL;
    }
    if (u->tls_certificates && u->tls_psk_file) {
        wd_error_setg(errp, "NBD URI '%s' has both tls-certificates and "
                      "tls-psk-file; give one", str);
        return NULL;
    }
    path = g_uri_get_path(uri);
    if (*path && *path != '/') {
        wd_error_setg(errp, "NBD URI '%s' has a relative path; write the "
                      "export as /EXPORT", str);
        return NULL;
    }
    u->export_name = g_strdup(*path ? path + 1 : "");
    if (strlen(u->export_name) > NBD_MAX_STRING) {
        wd_error_setg(errp, "The export name in NBD URI '%s' is longer "
                      "than %d bytes", str, NBD_MAX_STRING);
        return NULL;
    }
    return g_steal_pointer(&u);
}

/* ---- credentials ------------------------------------------------------ */

/*
 * The runtime loaders read fixed names from a directory (keys.psk,
 * ca-cert.pem). For a file with another name, make a private directory
 * holding a symlink to it (the secret itself is never copied), load, and
 * remove the directory again.
 */
static char *link_dir(const char *file, const char *as, GError **errp)
{
    g_autofree char *abs = g_canonicalize_filename(file, NULL);
    g_autoptr(GError) err = NULL;
    char *dir = g_dir_make_tmp("warden-nbd-XXXXXX", &err);

    if (!dir) {
        wd_error_setg(errp, "Cannot create a temporary directory: %s",
                      err->message);
        return NULL;
    }
    g_autofree char *link = g_build_filename(dir, as, NULL);
    if (symlink(abs, link) < 0) {
        wd_error_setg_errno(errp, errno, "Cannot link '%s'", file);
        rmdir(dir);
        g_free(dir);
        return NULL;
    }
    return dir;
}

static void unlink_dir(char *dir, const char *as)
{
    g_autofree char *link = g_build_filename(dir, as, NULL);

    unlink(link);
    rmdir(dir);
    g_free(dir);
}

/* Rewrites "@from" in an error message to "@to" (the user's file). */
static void rename_in_error(GError *err, const char *from, const char *to)
{
    g_auto(GStrv) parts = NULL;

    if (!err || !strstr(err->message, from)) {
        return;
    }
    parts = g_strsplit(err->message, from, -1);
    g_free(err->message);
    err->message = g_strjoinv(to, parts);
}

static WdTlsCreds *load_psk(const WdNbdUri *u, GError **errp)
{
    const char *user = u->tls_username ? u->tls_username : g_get_user_name();
    g_autofree char *base = g_path_get_basename(u->tls_psk_file);
    GError *err = NULL;
    WdTlsCreds *creds;

    if (strcmp(base, WD_TLS_PSK_FILE) == 0) {
        g_autofree char *dir = g_path_get_dirname(u->tls_psk_file);
        return wd_tls_creds_psk_load(WD_TLS_ENDPOINT_CLIENT, dir, user, NULL,
                                     errp);
    }
    char *dir = link_dir(u->tls_psk_file, WD_TLS_PSK_FILE, errp);
    if (!dir) {
        return NULL;
    }
    g_autofree char *link = g_build_filename(dir, WD_TLS_PSK_FILE, NULL);
    creds = wd_tls_creds_psk_load(WD_TLS_ENDPOINT_CLIENT, dir, user, NULL,
                                  &err);
    rename_in_error(err, link, u->tls_psk_file);
    rename_in_error(err, dir, u->tls_psk_file);
    unlink_dir(dir, WD_TLS_PSK_FILE);
    if (err) {
        g_propagate_error(errp, err);
    }
    return creds;
}

static WdTlsCreds *load_system_ca(const WdNbdUri *u, GError **errp)
{
    WdTlsX509Config cfg = {
        .endpoint = WD_TLS_ENDPOINT_CLIENT,
        .verify_peer = u->tls_verify_peer,
        .sanity_check = false,      /* a bundle of foreign CAs */
    };
    g_autoptr(GError) err = NULL;
    WdTlsCreds *creds;
    char *dir;

    if (access(WD_NBD_URI_SYSTEM_CA, R_OK) < 0) {
        wd_error_setg(errp, "An nbds:// URI needs TLS credentials: add "
                      "tls-certificates=DIR (a directory with ca-cert.pem) "
                      "or tls-psk-file=FILE (no system CA store at %s)",
                      WD_NBD_URI_SYSTEM_CA);
        return NULL;
    }
    dir = link_dir(WD_NBD_URI_SYSTEM_CA, WD_TLS_X509_CA_CERT, errp);
    if (!dir) {
        return NULL;
    }
    cfg.dir = dir;
    creds = wd_tls_creds_x509_load(&cfg, &err);
    unlink_dir(dir, WD_TLS_X509_CA_CERT);
    if (!creds) {
        wd_error_setg(errp, "An nbds:// URI needs TLS credentials: add "
                      "tls-certificates=DIR (a directory with ca-cert.pem) "
                      "or tls-psk-file=FILE (the system CA store %s did not "
                      "load: %s)", WD_NBD_URI_SYSTEM_CA, err->message);
    }
    return creds;
}

WdTlsCreds *wd_nbd_uri_load_tls(const WdNbdUri *u, GError **errp)
{
    if (!u->tls) {
        return NULL;
    }
    if (u->tls_psk_file) {
        return load_psk(u, errp);
    }
    if (u->tls_certificates) {
        WdTlsX509Config cfg = {
            .dir = u->tls_certificates,
            .endpoint = WD_TLS_ENDPOINT_CLIENT,
            .verify_peer = u->tls_verify_peer,
            .sanity_check = true,
        };
        return wd_tls_creds_x509_load(&cfg, errp);
    }
    return load_system_ca(u, errp);
}

void wd_nbd_uri_fill_config(const WdNbdUri *u, WdTlsCreds *creds,
                            WdNbdClientConfig *cfg)
{
    cfg->addr = u->addr;
    cfg->export_name = u->export_name;
    cfg->tls = creds;
    cfg->tls_hostname = u->tls_hostname;
}
