/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Listening sockets: binding every address of a host name, private unix
 * sockets (0600, stale-file replacement, removal on free), adoption of
 * inherited / systemd-activated sockets, and the accept GSources.
 */
#include "runtime/io/channel-socket.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime/error.h"

/* Attempts at finding one free port for all addresses of a host when the
 * caller asked for port 0. */
#define PORT_ZERO_RETRIES 16

/* Pause after accept() fails for lack of resources (EMFILE and friends):
 * the socket stays readable, so retrying at once would spin the loop. */
#define ACCEPT_BACKOFF_MS 100

typedef struct {
    int fd;
    int family;
    GSource *src;
    char *unix_path;            /* socket file we created, or NULL */
    dev_t dev;                  /* ... identified so we never unlink a */
    ino_t ino;                  /* file someone else put there later */
} ListenSock;

struct WdSocketListener {
    GArray *socks;              /* of ListenSock */
    WdSocketAcceptFunc func;
    gpointer opaque;
    GMainContext *ctx;
    GSource *backoff;
};

static WdSocketListener *listener_new(void)
{
    WdSocketListener *l = g_new0(WdSocketListener, 1);

    l->socks = g_array_new(FALSE, TRUE, sizeof(ListenSock));
    return l;
}

static ListenSock *sock_at(WdSocketListener *l, size_t i)
{
    return &g_array_index(l->socks, ListenSock, i);
}

/* Close and forget the sockets from index @from on. */
static void drop_socks(WdSocketListener *l, size_t from)
{
    for (size_t i = from; i < l->socks->len; i++) {
        ListenSock *s = sock_at(l, i);
        struct stat st;

        if (s->src) {
            g_source_destroy(s->src);
            g_source_unref(s->src);
        }
        if (s->unix_path && lstat(s->unix_path, &st) == 0 &&
            st.st_dev == s->dev && st.st_ino == s->ino) {
            unlink(s->unix_path);
        }
        g_free(s->unix_path);
        close(s->fd);
    }
    g_array_set_size(l->socks, from);
}

static void add_sock(WdSocketListener *l, int fd, int family)
{
    ListenSock s = { .fd = fd, .family = family };

    g_array_append_val(l->socks, s);
}

static int sockaddr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    }
    return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
}

static void sockaddr_set_port(struct sockaddr *sa, int port)
{
    if (sa->sa_family == AF_INET) {
        ((struct sockaddr_in *)sa)->sin_port = htons(port);
    } else {
        ((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
    }
}

/* Bind one inet address; returns the fd or -errno. */
static int bind_inet(const struct addrinfo *ai, int port, int backlog)
{
    struct sockaddr_storage ss;
    int one = 1, fd, err;

    memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    if (port >= 0) {
        sockaddr_set_port((struct sockaddr *)&ss, port);
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                ai->ai_protocol);
    if (fd < 0) {
        return -errno;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* v6 sockets serve only v6, so "::" and "0.0.0.0" can both bind and
     * every address getaddrinfo returns gets its own socket. */
    if (ai->ai_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    if (bind(fd, (struct sockaddr *)&ss, ai->ai_addrlen) < 0 ||
        listen(fd, backlog) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/*
 * Bind all results of @res. With port 0 the first bind picks the port and
 * the others reuse it; if one of them finds it taken, start over.
 * Returns 0, or -errno of the failure that made the whole address fail.
 */
static int bind_all(WdSocketListener *l, struct addrinfo *res, bool any_port,
                    int backlog)
{
    int err = -EADDRNOTAVAIL;

    for (int attempt = 0; attempt < PORT_ZERO_RETRIES; attempt++) {
        size_t start = l->socks->len;
        int port = -1;
        bool retry = false;

        err = -EADDRNOTAVAIL;
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            int fd = bind_inet(ai, port, backlog);

            if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL) {
                /* e.g. "localhost" -> ::1 on a host without IPv6: the
                 * other addresses still serve. */
                err = fd;
                continue;
            }
            if (fd == -EADDRINUSE && any_port && port >= 0) {
                retry = true;
                break;
            }
            if (fd < 0) {
                drop_socks(l, start);
                return fd;
            }
            if (any_port && port < 0) {
                struct sockaddr_storage ss;
                socklen_t len = sizeof(ss);

                getsockname(fd, (struct sockaddr *)&ss, &len);
                port = sockaddr_port((struct sockaddr *)&ss);
            }
            add_sock(l, fd, ai->ai_family);
        }
        if (!retry) {
            return l->socks->len > start ? 0 : err;
        }
        drop_socks(l, start);
        err = -EADDRINUSE;
    }
    return err;
}

static bool listen_inet(WdSocketListener *l, const WdSocketAddress *addr,
                        int backlog, GError **errp)
{
    struct addrinfo hints = {
        .ai_flags = AI_PASSIVE,
        .ai_socktype = SOCK_STREAM,
        .ai_family = addr->ipv4 == addr->ipv6 ? AF_UNSPEC :
                     addr->ipv4 ? AF_INET : AF_INET6,
    };
    struct addrinfo *res = NULL;
    g_autofree char *str = wd_socket_address_to_string(addr);
    int rc;

    rc = getaddrinfo(addr->host[0] ? addr->host : NULL, addr->port, &hints,
                     &res);
    if (rc != 0) {
        wd_error_setg(errp, "Cannot resolve listen address '%s': %s", str,
                      rc == EAI_SYSTEM ? g_strerror(errno)
                                       : gai_strerror(rc));
        return false;
    }
    rc = bind_all(l, res, strcmp(addr->port, "0") == 0, backlog);
    freeaddrinfo(res);
    if (rc < 0) {
        wd_error_setg_errno(errp, -rc, "Cannot listen on '%s'", str);
        return false;
    }
    return true;
}

/*
 * Remove a leftover socket file of a server that is gone. Refuse to touch
 * anything that is not a socket, and a socket somebody still serves
 * (replacing it would silently steal a running server's address).
 */
static bool remove_stale_socket(const char *path, GError **errp)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct stat st;
    int fd, rc;

    if (lstat(path, &st) < 0) {
        return true;
    }
    if (!S_ISSOCK(st.st_mode)) {
        wd_error_setg(errp, "Cannot listen on 'unix:%s': the file exists "
                      "and is not a socket", path);
        return false;
    }
    strcpy(sun.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        wd_error_setg_errno(errp, errno, "Cannot create unix socket");
        return false;
    }
    rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
    close(fd);
    if (rc == 0) {
        wd_error_setg(errp, "Cannot listen on 'unix:%s': another server is "
                      "accepting connections on it", path);
        return false;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        wd_error_setg_errno(errp, errno, "Cannot remove stale socket '%s'",
                            path);
        return false;
    }
    return true;
}

static bool listen_unix(WdSocketListener *l, const WdSocketAddress *addr,
                        int backlog, GError **errp)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct stat st;
    ListenSock *s;
    int fd;

    if (strlen(addr->path) >= sizeof(sun.sun_path)) {
        wd_error_setg(errp, "Unix socket path '%s' is too long (at most "
                      "%zu bytes)", addr->path, sizeof(sun.sun_path) - 1);
        return false;
    }
    if (!remove_stale_socket(addr->path, errp)) {
        return false;
    }
    strcpy(sun.sun_path, addr->path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        wd_error_setg_errno(errp, errno, "Cannot create unix socket");
        return false;
    }
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        wd_error_setg_errno(errp, errno, "Cannot bind 'unix:%s'",
                            addr->path);
        close(fd);
        return false;
    }
    /*
     * Owner-only access. chmod() happens between bind() and listen():
     * until listen() every connect() is refused, so nobody can slip in
     * through the umask-derived mode the file had for that moment (and we
     * avoid changing the process-wide umask under other threads).
     */
    if (chmod(addr->path, 0600) < 0 || lstat(addr->path, &st) < 0 ||
        listen(fd, backlog) < 0) {
        wd_error_setg_errno(errp, errno, "Cannot listen on 'unix:%s'",
                            addr->path);
        unlink(addr->path);
        close(fd);
        return false;
    }
    add_sock(l, fd, AF_UNIX);
    s = sock_at(l, l->socks->len - 1);
    s->unix_path = g_strdup(addr->path);
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    return true;
}

/* Check that @fd is a listening stream socket and prepare it for the
 * accept loop. */
static bool adopt_fd(WdSocketListener *l, int fd, GError **errp)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int listening = 0, flags;
    socklen_t optlen = sizeof(listening);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) < 0 ||
        !listening) {
        wd_error_setg(errp, "File descriptor %d is not a listening socket",
                      fd);
        return false;
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        wd_error_setg_errno(errp, errno, "Cannot configure listening "
                            "socket %d", fd);
        return false;
    }
    add_sock(l, fd, ss.ss_family);
    return true;
}

WdSocketListener *wd_socket_listener_new(const WdSocketAddress *addrs,
                                         size_t naddrs, int backlog,
                                         GError **errp)
{
    g_autoptr(WdSocketListener) l = listener_new();

    if (backlog <= 0) {
        backlog = SOMAXCONN;
    }
    for (size_t i = 0; i < naddrs; i++) {
        const WdSocketAddress *a = &addrs[i];
        bool ok = false;
        int fd;

        switch (a->type) {
        case WD_SOCKET_ADDRESS_INET:
            ok = listen_inet(l, a, backlog, errp);
            break;
        case WD_SOCKET_ADDRESS_UNIX:
            ok = listen_unix(l, a, backlog, errp);
            break;
        case WD_SOCKET_ADDRESS_FD:
            fd = fcntl(a->fd, F_DUPFD_CLOEXEC, 0);
            if (fd < 0) {
                wd_error_setg_errno(errp, errno, "Cannot use socket fd:%d",
                                    a->fd);
                break;
            }
            ok = adopt_fd(l, fd, errp);
            if (!ok) {
                close(fd);
            }
            break;
        }
        if (!ok) {
            return NULL;
        }
    }
    if (l->socks->len == 0) {
        wd_error_setg(errp, "No listen address given");
        return NULL;
    }
    return g_steal_pointer(&l);
}

WdSocketListener *wd_socket_listener_new_from_fds(const int *fds,
                                                  size_t nfds,
                                                  GError **errp)
{
    g_autoptr(WdSocketListener) l = listener_new();

    for (size_t i = 0; i < nfds; i++) {
        if (!adopt_fd(l, fds[i], errp)) {
            /* Ownership passes only on success: give the fds back. */
            g_array_set_size(l->socks, 0);
            return NULL;
        }
    }
    if (nfds == 0) {
        wd_error_setg(errp, "No listening sockets given");
        return NULL;
    }
    return g_steal_pointer(&l);
}

WdSocketListener *wd_socket_listener_from_systemd(GError **errp)
{
    g_autofree char *pid_s = g_strdup(g_getenv("LISTEN_PID"));
    g_autofree char *fds_s = g_strdup(g_getenv("LISTEN_FDS"));
    g_autofree int *fds = NULL;
    guint64 pid, n;

    /* Like sd_listen_fds(1): children must not believe they were
     * activated too, whatever happens below. (Startup code: called
     * before other threads exist, as unsetenv() requires.) */
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");

    if (!pid_s || !fds_s) {
        wd_error_setg(errp, "Not started by systemd socket activation "
                      "(LISTEN_PID or LISTEN_FDS is not set)");
        return NULL;
    }
    if (!g_ascii_string_to_unsigned(pid_s, 10, 1, G_MAXINT, &pid, NULL) ||
        (pid_t)pid != getpid()) {
        wd_error_setg(errp, "LISTEN_PID=%s is not this process (%d): the "
                      "sockets were passed to another process", pid_s,
                      (int)getpid());
        return NULL;
    }
    if (!g_ascii_string_to_unsigned(fds_s, 10, 1, 4096, &n, NULL)) {
        wd_error_setg(errp, "Invalid LISTEN_FDS=%s: expected a number from "
                      "1 to 4096", fds_s);
        return NULL;
    }
    fds = g_new(int, n);
    for (guint64 i = 0; i < n; i++) {
        fds[i] = 3 + (int)i;    /* SD_LISTEN_FDS_START */
    }
    return wd_socket_listener_new_from_fds(fds, n, errp);
}

static void start_sources(WdSocketListener *l);

static gboolean backoff_done(gpointer opaque)
{
    WdSocketListener *l = opaque;

    g_clear_pointer(&l->backoff, g_source_unref);
    start_sources(l);
    return G_SOURCE_REMOVE;
}

static void stop_sources(WdSocketListener *l)
{
    for (size_t i = 0; i < l->socks->len; i++) {
        ListenSock *s = sock_at(l, i);

        if (s->src) {
            g_source_destroy(s->src);
            g_clear_pointer(&s->src, g_source_unref);
        }
    }
    if (l->backoff) {
        g_source_destroy(l->backoff);
        g_clear_pointer(&l->backoff, g_source_unref);
    }
}

static gboolean accept_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    WdSocketListener *l = opaque;
    g_autoptr(GError) err = NULL;
    WdSocketAcceptFunc func = l->func;
    gpointer func_opaque = l->opaque;
    WdChannel *client;
    int cfd;

    do {
        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (cfd < 0 && errno == EINTR);
    if (cfd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
            errno == ENOMEM) {
            g_warning("accept() failed: %s; pausing for %d ms",
                      g_strerror(errno), ACCEPT_BACKOFF_MS);
            stop_sources(l);
            l->backoff = g_timeout_source_new(ACCEPT_BACKOFF_MS);
            g_source_set_callback(l->backoff, backoff_done, l, NULL);
            g_source_attach(l->backoff, l->ctx);
            return G_SOURCE_REMOVE;
        }
        /* EAGAIN (another thread won), ECONNABORTED (client gave up). */
        return G_SOURCE_CONTINUE;
    }
    client = wd_channel_socket_new_fd(cfd, &err);
    if (!client) {
        g_warning("Rejecting connection: %s", err->message);
        close(cfd);
        return G_SOURCE_CONTINUE;
    }
    for (size_t i = 0; i < l->socks->len; i++) {
        ListenSock *s = sock_at(l, i);
        int one = 1;

        if (s->fd == fd && s->family != AF_UNIX) {
            /* NBD and QMP exchange small messages: no Nagle delay. */
            setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
    }
    /* @func may free the listener: do not touch @l afterwards. */
    func(client, func_opaque);
    wd_channel_unref(client);
    return G_SOURCE_CONTINUE;
}

static void start_sources(WdSocketListener *l)
{
    for (size_t i = 0; i < l->socks->len; i++) {
        ListenSock *s = sock_at(l, i);

        s->src = g_unix_fd_source_new(s->fd, G_IO_IN);
        g_source_set_callback(s->src, G_SOURCE_FUNC(accept_ready), l, NULL);
        g_source_attach(s->src, l->ctx);
    }
}

void wd_socket_listener_set_accept(WdSocketListener *l,
                                   WdSocketAcceptFunc func, gpointer opaque,
                                   GMainContext *ctx)
{
    stop_sources(l);
    g_clear_pointer(&l->ctx, g_main_context_unref);
    l->func = func;
    l->opaque = opaque;
    if (func) {
        l->ctx = ctx ? g_main_context_ref(ctx)
                     : g_main_context_ref(g_main_context_default());
        start_sources(l);
    }
}

size_t wd_socket_listener_get_n_fds(WdSocketListener *l)
{
    return l->socks->len;
}

int wd_socket_listener_get_fd(WdSocketListener *l, size_t index)
{
    return index < l->socks->len ? sock_at(l, index)->fd : -1;
}

WdSocketAddress *wd_socket_listener_get_bound_address(WdSocketListener *l,
                                                      size_t index,
                                                      GError **errp)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd;

    if (index >= l->socks->len) {
        wd_error_setg(errp, "Listener has no socket %zu (it has %u)", index,
                      l->socks->len);
        return NULL;
    }
    fd = sock_at(l, index)->fd;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        wd_error_setg_errno(errp, errno, "Cannot get address of listening "
                            "socket %d", fd);
        return NULL;
    }
    return wd_socket_address_from_sockaddr((struct sockaddr *)&ss, len,
                                           errp);
}

void wd_socket_listener_free(WdSocketListener *l)
{
    if (!l) {
        return;
    }
    stop_sources(l);
    drop_socks(l, 0);
    g_array_unref(l->socks);
    if (l->ctx) {
        g_main_context_unref(l->ctx);
    }
    g_free(l);
}
