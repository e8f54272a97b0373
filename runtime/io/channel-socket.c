/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stream socket channels: address parsing and printing, the channel ops
 * (recvmsg/sendmsg with SCM_RIGHTS on unix sockets) and connect, both
 * blocking and on a worker thread reporting to the caller's context.
 */
#include "runtime/io/channel-socket.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime/error.h"

typedef struct {
    WdChannel base;
    int fd;
    int family;
    char *local_name;
    char *peer_name;
} WdChannelSocket;

static const WdChannelOps socket_ops;

/* ---- addresses ---- */

WdSocketAddress *wd_socket_address_new_inet(const char *host,
                                            const char *port)
{
    WdSocketAddress *a = g_new0(WdSocketAddress, 1);

    a->type = WD_SOCKET_ADDRESS_INET;
    a->host = g_strdup(host ? host : "");
    a->port = g_strdup(port);
    a->fd = -1;
    return a;
}

WdSocketAddress *wd_socket_address_new_unix(const char *path)
{
    WdSocketAddress *a = g_new0(WdSocketAddress, 1);

    a->type = WD_SOCKET_ADDRESS_UNIX;
    a->path = g_strdup(path);
    a->fd = -1;
    return a;
}

WdSocketAddress *wd_socket_address_new_fd(int fd)
{
    WdSocketAddress *a = g_new0(WdSocketAddress, 1);

    a->type = WD_SOCKET_ADDRESS_FD;
    a->fd = fd;
    return a;
}

WdSocketAddress *wd_socket_address_copy(const WdSocketAddress *addr)
{
    WdSocketAddress *a = g_new0(WdSocketAddress, 1);

    *a = *addr;
    a->host = g_strdup(addr->host);
    a->port = g_strdup(addr->port);
    a->path = g_strdup(addr->path);
    return a;
}

void wd_socket_address_free(WdSocketAddress *addr)
{
    if (addr) {
        g_free(addr->host);
        g_free(addr->port);
        g_free(addr->path);
        g_free(addr);
    }
}

/* Strict decimal in [0, max]: no sign, no spaces, no empty string. */
static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;

    if (!*s || strlen(s) > 10) {
        return false;
    }
    for (; *s; s++) {
        if (!g_ascii_isdigit(*s)) {
            return false;
        }
        v = v * 10 + (unsigned long)(*s - '0');
    }
    if (v > max) {
        return false;
    }
    *out = v;
    return true;
}

static WdSocketAddress *parse_inet(const char *str, const char *orig,
                                   GError **errp)
{
    g_autofree char *host = NULL;
    const char *port;
    unsigned long v;

    if (str[0] == '[') {
        const char *end = strchr(str, ']');

        /* "[[1]:80" would make a host "[1" that prints as "[1:80". */
        if (!end || end[1] != ':' || memchr(str + 1, '[', end - str - 1)) {
            wd_error_setg(errp, "Invalid address '%s': expected "
                          "'[ipv6-address]:port'", orig);
            return NULL;
        }
        host = g_strndup(str + 1, end - str - 1);
        port = end + 2;
    } else {
        const char *colon = strrchr(str, ':');

        if (!colon) {
            wd_error_setg(errp, "Invalid address '%s': expected 'host:port', "
                          "'unix:path' or 'fd:N'", orig);
            return NULL;
        }
        host = g_strndup(str, colon - str);
        if (strchr(host, ':')) {
            wd_error_setg(errp, "Invalid address '%s': put IPv6 addresses "
                          "in brackets, as in '[::1]:10809'", orig);
            return NULL;
        }
        port = colon + 1;
    }
    if (!parse_uint(port, 65535, &v)) {
        wd_error_setg(errp, "Invalid port '%s' in address '%s': expected a "
                      "number from 0 to 65535", port, orig);
        return NULL;
    }
    return wd_socket_address_new_inet(host, port);
}

WdSocketAddress *wd_socket_address_parse(const char *str, GError **errp)
{
    struct sockaddr_un sun;
    unsigned long v;

    if (g_str_has_prefix(str, "unix:")) {
        const char *path = str + 5;

        if (!*path) {
            wd_error_setg(errp, "Invalid address '%s': empty unix socket "
                          "path", str);
            return NULL;
        }
        if (strlen(path) >= sizeof(sun.sun_path)) {
            wd_error_setg(errp, "Unix socket path '%s' is too long (at most "
                          "%zu bytes)", path, sizeof(sun.sun_path) - 1);
            return NULL;
        }
        return wd_socket_address_new_unix(path);
    }
    if (g_str_has_prefix(str, "fd:")) {
        if (!parse_uint(str + 3, INT_MAX, &v)) {
            wd_error_setg(errp, "Invalid address '%s': expected 'fd:' and a "
                          "file descriptor number", str);
            return NULL;
        }
        return wd_socket_address_new_fd((int)v);
    }
    if (g_str_has_prefix(str, "tcp:")) {
        return parse_inet(str + 4, str, errp);
    }
    return parse_inet(str, str, errp);
}

char *wd_socket_address_to_string(const WdSocketAddress *addr)
{
    switch (addr->type) {
    case WD_SOCKET_ADDRESS_INET:
        if (strchr(addr->host, ':')) {
            return g_strdup_printf("[%s]:%s", addr->host, addr->port);
        }
        /* A host named like a prefix ("unix:5000") needs "tcp:" to
         * parse back as a host. */
        if (strcmp(addr->host, "unix") == 0 ||
            strcmp(addr->host, "fd") == 0 || strcmp(addr->host, "tcp") == 0) {
            return g_strdup_printf("tcp:%s:%s", addr->host, addr->port);
        }
        return g_strdup_printf("%s:%s", addr->host, addr->port);
    case WD_SOCKET_ADDRESS_UNIX:
        return g_strdup_printf("unix:%s", addr->path);
    case WD_SOCKET_ADDRESS_FD:
        return g_strdup_printf("fd:%d", addr->fd);
    }
    g_assert_not_reached();
}

WdSocketAddress *wd_socket_address_from_sockaddr(const struct sockaddr *sa,
                                                 socklen_t len,
                                                 GError **errp)
{
    char host[NI_MAXHOST];
    char port[NI_MAXSERV];
    int rc;

    if (sa->sa_family == AF_UNIX) {
        const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;
        size_t off = offsetof(struct sockaddr_un, sun_path);
        size_t plen = len > off ? len - off : 0;
        g_autofree char *path = NULL;

        plen = MIN(plen, sizeof(sun->sun_path));
        if (plen > 0 && sun->sun_path[0] == '\0') {
            /* Linux abstract namespace: shown as "@name". */
            path = g_strdup_printf("@%.*s", (int)(plen - 1),
                                   sun->sun_path + 1);
        } else {
            /* Unnamed sockets (socketpair, clients) have an empty path. */
            path = g_strndup(sun->sun_path, strnlen(sun->sun_path, plen));
        }
        return wd_socket_address_new_unix(path);
    }
    if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) {
        wd_error_setg(errp, "Unsupported socket address family %d",
                      sa->sa_family);
        return NULL;
    }
    rc = getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
                     NI_NUMERICHOST | NI_NUMERICSERV);
    if (rc != 0) {
        wd_error_setg(errp, "Cannot format socket address: %s",
                      gai_strerror(rc));
        return NULL;
    }
    return wd_socket_address_new_inet(host, port);
}

/* ---- the channel ---- */

static char *sockaddr_name(const struct sockaddr *sa, socklen_t len)
{
    g_autoptr(WdSocketAddress) a = NULL;

    a = wd_socket_address_from_sockaddr(sa, len, NULL);
    if (!a) {
        return g_strdup("(unknown)");
    }
    if (a->type == WD_SOCKET_ADDRESS_UNIX && !a->path[0]) {
        return g_strdup("unix:(unnamed)");
    }
    return wd_socket_address_to_string(a);
}

WdChannel *wd_channel_socket_new_fd(int fd, GError **errp)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int type = 0, listening = 0;
    socklen_t optlen = sizeof(type);
    WdChannelSocket *s;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        wd_error_setg_errno(errp, errno, "File descriptor %d is not usable "
                            "as a socket", fd);
        return NULL;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) < 0 ||
        type != SOCK_STREAM) {
        wd_error_setg(errp, "File descriptor %d is not a stream socket", fd);
        return NULL;
    }
    s = g_new0(WdChannelSocket, 1);
    wd_channel_init(&s->base, &socket_ops);
    s->fd = fd;
    s->family = ss.ss_family;
    s->local_name = sockaddr_name((struct sockaddr *)&ss, len);

    optlen = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) == 0 &&
        listening) {
        s->base.features |= WD_CHANNEL_FEATURE_LISTEN;
        s->peer_name = g_strdup("(listening)");
    } else {
        len = sizeof(ss);
        if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
            s->peer_name = sockaddr_name((struct sockaddr *)&ss, len);
        } else {
            s->peer_name = g_strdup("(not connected)");
        }
    }
    s->base.features |= WD_CHANNEL_FEATURE_SHUTDOWN;
    if (s->family == AF_UNIX) {
        s->base.features |= WD_CHANNEL_FEATURE_FD_PASS;
    }
    wd_channel_set_name(&s->base, s->peer_name);
    return &s->base;
}

bool wd_channel_is_socket(WdChannel *ch)
{
    return ch && ch->ops == &socket_ops;
}

const char *wd_channel_socket_peer_name(WdChannel *ch)
{
    return wd_channel_is_socket(ch) ? ((WdChannelSocket *)ch)->peer_name
                                    : NULL;
}

const char *wd_channel_socket_local_name(WdChannel *ch)
{
    return wd_channel_is_socket(ch) ? ((WdChannelSocket *)ch)->local_name
                                    : NULL;
}

/* Move the SCM_RIGHTS descriptors of @msg into a new array. */
static void collect_fds(struct msghdr *msg, int **fds, size_t *nfds)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c;
         c = CMSG_NXTHDR(msg, c)) {
        size_t n;

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
            c->cmsg_len < CMSG_LEN(0)) {
            continue;
        }
        n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        *fds = g_renew(int, *fds, *nfds + n);
        memcpy(*fds + *nfds, CMSG_DATA(c), n * sizeof(int));
        *nfds += n;
    }
}

static ssize_t socket_readv(WdChannel *ch, const struct iovec *iov,
                            size_t niov, int **fds, size_t *nfds,
                            GError **errp)
{
    WdChannelSocket *s = (WdChannelSocket *)ch;
    union {
        char buf[CMSG_SPACE(sizeof(int) * WD_CHANNEL_SOCKET_MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {
        .msg_iov = (struct iovec *)iov,
        .msg_iovlen = MIN(niov, IOV_MAX),
    };
    ssize_t n;

    /* Without a control buffer the kernel closes any descriptors the peer
     * sent, so a reader that did not ask for fds never leaks them. */
    if (fds) {
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof(control.buf);
    }
    do {
        n = recvmsg(s->fd, &msg, fds ? MSG_CMSG_CLOEXEC : 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return WD_CHANNEL_ERR_BLOCK;
        }
        wd_error_setg_errno(errp, errno, "Unable to read from socket '%s'",
                            s->peer_name);
        return -1;
    }
    if (fds) {
        collect_fds(&msg, fds, nfds);
        if (msg.msg_flags & MSG_CTRUNC) {
            for (size_t i = 0; i < *nfds; i++) {
                close((*fds)[i]);
            }
            g_clear_pointer(fds, g_free);
            *nfds = 0;
            wd_error_setg(errp, "Peer '%s' sent more than %d file "
                          "descriptors in one message", s->peer_name,
                          WD_CHANNEL_SOCKET_MAX_FDS);
            return -1;
        }
    }
    return n;
}

static ssize_t socket_writev(WdChannel *ch, const struct iovec *iov,
                             size_t niov, const int *fds, size_t nfds,
                             GError **errp)
{
    WdChannelSocket *s = (WdChannelSocket *)ch;
    union {
        char buf[CMSG_SPACE(sizeof(int) * WD_CHANNEL_SOCKET_MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {
        .msg_iov = (struct iovec *)iov,
        .msg_iovlen = MIN(niov, IOV_MAX),
    };
    ssize_t n;

    if (nfds > WD_CHANNEL_SOCKET_MAX_FDS) {
        wd_error_setg(errp, "Cannot send %zu file descriptors at once to "
                      "'%s' (at most %d)", nfds, s->peer_name,
                      WD_CHANNEL_SOCKET_MAX_FDS);
        return -1;
    }
    if (nfds > 0) {
        struct cmsghdr *c;

        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    /* MSG_NOSIGNAL: a vanished peer is an EPIPE error, not a SIGPIPE that
     * kills the whole server. */
    do {
        n = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return WD_CHANNEL_ERR_BLOCK;
        }
        wd_error_setg_errno(errp, errno, "Unable to write to socket '%s'",
                            s->peer_name);
        return -1;
    }
    return n;
}

static bool set_fd_blocking(int fd, bool enabled, GError **errp)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags < 0) {
        wd_error_setg_errno(errp, errno, "Cannot get flags of fd %d", fd);
        return false;
    }
    flags = enabled ? flags & ~O_NONBLOCK : flags | O_NONBLOCK;
    if (fcntl(fd, F_SETFL, flags) < 0) {
        wd_error_setg_errno(errp, errno, "Cannot set %sblocking mode on "
                            "fd %d", enabled ? "" : "non-", fd);
        return false;
    }
    return true;
}

static bool socket_set_blocking(WdChannel *ch, bool enabled, GError **errp)
{
    return set_fd_blocking(((WdChannelSocket *)ch)->fd, enabled, errp);
}

static bool socket_shutdown(WdChannel *ch, WdChannelShutdown how,
                            GError **errp)
{
    WdChannelSocket *s = (WdChannelSocket *)ch;
    int sh = how == WD_CHANNEL_SHUTDOWN_READ ? SHUT_RD :
             how == WD_CHANNEL_SHUTDOWN_WRITE ? SHUT_WR : SHUT_RDWR;

    if (shutdown(s->fd, sh) < 0) {
        wd_error_setg_errno(errp, errno, "Unable to shut down socket '%s'",
                            s->peer_name);
        return false;
    }
    return true;
}

static bool socket_close(WdChannel *ch, GError **errp)
{
    WdChannelSocket *s = (WdChannelSocket *)ch;
    int fd = s->fd;

    s->fd = -1;
    /* Linux always releases the fd, even on EINTR: never retry. */
    if (fd >= 0 && close(fd) < 0 && errno != EINTR) {
        wd_error_setg_errno(errp, errno, "Unable to close socket '%s'",
                            s->peer_name);
        return false;
    }
    return true;
}

static GSource *socket_create_watch(WdChannel *ch, GIOCondition cond)
{
    return wd_channel_fd_watch_new(ch, ((WdChannelSocket *)ch)->fd, cond,
                                   NULL);
}

static int socket_get_fd(WdChannel *ch)
{
    return ((WdChannelSocket *)ch)->fd;
}

static void socket_finalize(WdChannel *ch)
{
    WdChannelSocket *s = (WdChannelSocket *)ch;

    g_free(s->local_name);
    g_free(s->peer_name);
}

static const WdChannelOps socket_ops = {
    .name = "socket",
    .readv = socket_readv,
    .writev = socket_writev,
    .set_blocking = socket_set_blocking,
    .shutdown = socket_shutdown,
    .close = socket_close,
    .create_watch = socket_create_watch,
    .get_fd = socket_get_fd,
    .finalize = socket_finalize,
};

/* ---- connect ---- */

/* connect(), completing an EINTR-interrupted attempt instead of
 * restarting it (a restarted connect() fails with EALREADY). */
static int connect_fd(int fd, const struct sockaddr *sa, socklen_t len)
{
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };
    int err = 0;
    socklen_t elen = sizeof(err);

    if (connect(fd, sa, len) == 0) {
        return 0;
    }
    if (errno != EINTR) {
        return -errno;
    }
    while (poll(&pfd, 1, -1) < 0) {
        if (errno != EINTR) {
            return -errno;
        }
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0) {
        return -errno;
    }
    return -err;
}

static WdChannel *connect_inet(const WdSocketAddress *addr, GError **errp)
{
    struct addrinfo hints = {
        .ai_socktype = SOCK_STREAM,
        .ai_family = addr->ipv4 == addr->ipv6 ? AF_UNSPEC :
                     addr->ipv4 ? AF_INET : AF_INET6,
    };
    struct addrinfo *res = NULL;
    g_autofree char *str = wd_socket_address_to_string(addr);
    int rc, last_err = 0;

    rc = getaddrinfo(addr->host[0] ? addr->host : NULL, addr->port, &hints,
                     &res);
    if (rc != 0) {
        wd_error_setg(errp, "Cannot resolve '%s': %s", str,
                      rc == EAI_SYSTEM ? g_strerror(errno)
                                       : gai_strerror(rc));
        return NULL;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                        ai->ai_protocol);
        int one = 1;
        WdChannel *ch;

        if (fd < 0) {
            last_err = errno;
            continue;
        }
        rc = connect_fd(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc < 0) {
            last_err = -rc;
            close(fd);
            continue;
        }
        /* NBD and QMP exchange small messages: no Nagle delay. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        ch = wd_channel_socket_new_fd(fd, errp);
        if (!ch) {
            close(fd);
        }
        freeaddrinfo(res);
        return ch;
    }
    freeaddrinfo(res);
    wd_error_setg_errno(errp, last_err, "Failed to connect to '%s'", str);
    return NULL;
}

static WdChannel *connect_unix(const WdSocketAddress *addr, GError **errp)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    WdChannel *ch;
    int fd, rc;

    if (strlen(addr->path) >= sizeof(sun.sun_path)) {
        wd_error_setg(errp, "Unix socket path '%s' is too long (at most "
                      "%zu bytes)", addr->path, sizeof(sun.sun_path) - 1);
        return NULL;
    }
    strcpy(sun.sun_path, addr->path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        wd_error_setg_errno(errp, errno, "Cannot create unix socket");
        return NULL;
    }
    rc = connect_fd(fd, (struct sockaddr *)&sun, sizeof(sun));
    if (rc < 0) {
        wd_error_setg_errno(errp, -rc, "Failed to connect to 'unix:%s'",
                            addr->path);
        close(fd);
        return NULL;
    }
    ch = wd_channel_socket_new_fd(fd, errp);
    if (!ch) {
        close(fd);
    }
    return ch;
}

WdChannel *wd_channel_socket_connect_sync(const WdSocketAddress *addr,
                                          GError **errp)
{
    WdChannel *ch;
    int fd;

    switch (addr->type) {
    case WD_SOCKET_ADDRESS_INET:
        return connect_inet(addr, errp);
    case WD_SOCKET_ADDRESS_UNIX:
        return connect_unix(addr, errp);
    case WD_SOCKET_ADDRESS_FD:
        fd = fcntl(addr->fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            wd_error_setg_errno(errp, errno, "Cannot use socket fd:%d",
                                addr->fd);
            return NULL;
        }
        ch = wd_channel_socket_new_fd(fd, errp);
        if (!ch) {
            close(fd);
        }
        return ch;
    }
    g_assert_not_reached();
}

typedef struct {
    WdSocketAddress *addr;
    WdTaskFunc cb;
    gpointer opaque;
    GMainContext *ctx;
    WdChannel *ch;
    GError *err;
} ConnectTask;

static void connect_task_free(gpointer data)
{
    ConnectTask *t = data;

    wd_channel_unref(t->ch);
    g_clear_error(&t->err);
    wd_socket_address_free(t->addr);
    g_main_context_unref(t->ctx);
    g_free(t);
}

static gboolean connect_complete(gpointer data)
{
    ConnectTask *t = data;

    t->cb(t->ch, t->err, t->opaque);
    return G_SOURCE_REMOVE;
}

static gpointer connect_thread(gpointer data)
{
    ConnectTask *t = data;
    GSource *src;

    t->ch = wd_channel_socket_connect_sync(t->addr, &t->err);
    /* Report from the caller's context: the worker thread never runs the
     * callback itself. */
    src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, connect_complete, t, connect_task_free);
    g_source_attach(src, t->ctx);
    g_source_unref(src);
    return NULL;
}

void wd_channel_socket_connect_async(const WdSocketAddress *addr,
                                     WdTaskFunc cb, gpointer opaque,
                                     GMainContext *ctx)
{
    ConnectTask *t = g_new0(ConnectTask, 1);

    t->addr = wd_socket_address_copy(addr);
    t->cb = cb;
    t->opaque = opaque;
    t->ctx = ctx ? g_main_context_ref(ctx)
                 : g_main_context_ref_thread_default();
    g_thread_unref(g_thread_new("wd-connect", connect_thread, t));
}
