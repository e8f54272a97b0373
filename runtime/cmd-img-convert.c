/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `warden img convert SRC DST`: a parallel, sparse-aware copy between
 * files and NBD exports. Worker threads (connections x requests in
 * flight) claim ranges from one cursor that walks the source's block
 * status; ranges that read as zeroes are skipped on a fresh target and
 * zeroed (WRITE_ZEROES) otherwise, and so are data buffers that turn out
 * to be all zero. Each write is complete or an error; the total is
 * checked at the end.
 */
#include "runtime/cmd.h"
#include "runtime/cmd-common.h"
#include "runtime/cmd-img-priv.h"
#include "runtime/error.h"
#include "runtime/nbd/nbd-protocol.h"
#include "runtime/nbd/nbd-uri.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Source block status is asked for this much at a time. */
#define STATUS_SPAN (UINT64_C(1) << 30)
/* Largest range zeroed in one request. */
#define ZERO_SPAN (UINT64_C(1) << 30)
/* Most worker threads (-C x -R). */
#define MAX_WORKERS 256
/* Progress refresh interval. */
#define PROGRESS_US (G_USEC_PER_SEC / 10)

typedef struct {
    Img *src;
    Img *dst;
    uint64_t size;              /* bytes to copy (the source's size) */
    uint64_t request;           /* largest data request */

    GMutex lock;                /* guards everything down to `error` */
    GCond cond;                 /* signalled when a worker ends */
    uint64_t next;              /* next offset to hand out */
    GArray *extents;            /* source extents from ext_pos on */
    guint ext_index;
    uint64_t ext_pos;           /* start of extents[ext_index] */
    uint64_t ext_end;           /* end of what extents cover */
    bool use_extents;
    unsigned running;           /* workers still running */
    GError *error;              /* the first error */

    gint stop;                  /* atomic: an error happened */
    uint64_t done;              /* atomic: bytes finished */
} Copy;

typedef struct {
    uint64_t off;
    uint64_t len;
    bool zero;
} Item;

static void set_error(Copy *cp, GError *err)
{
    g_mutex_lock(&cp->lock);
    if (!cp->error) {
        cp->error = err;
        err = NULL;
    }
    g_mutex_unlock(&cp->lock);
    g_atomic_int_set(&cp->stop, 1);
    if (err) {
        g_error_free(err);
    }
}

/* With the lock held: makes sure the extents cover cp->next. */
static bool refill(Copy *cp)
{
    GError *err = NULL;
    uint64_t sum = 0;

    g_array_set_size(cp->extents, 0);
    cp->ext_index = 0;
    cp->ext_pos = cp->next;
    if (img_extents(cp->src, cp->next, MIN(STATUS_SPAN,
                                           cp->size - cp->next),
                    cp->extents, &err) < 0) {
        if (!cp->error) {
            cp->error = err;
        } else {
            g_error_free(err);
        }
        g_atomic_int_set(&cp->stop, 1);
        return false;
    }
    for (guint i = 0; i < cp->extents->len; i++) {
        sum += g_array_index(cp->extents, WdNbdExtent, i).length;
    }
    cp->ext_end = cp->next + sum;
    return sum > 0;
}

/* Hands out the next range: data up to the request size, zeroes in
 * bigger pieces. */
static bool claim(Copy *cp, Item *it)
{
    bool ok = false;

    g_mutex_lock(&cp->lock);
    if (g_atomic_int_get(&cp->stop) || cp->next >= cp->size) {
        goto out;
    }
    it->off = cp->next;
    if (!cp->use_extents) {
        it->len = MIN(cp->request, cp->size - cp->next);
        it->zero = false;
    } else {
        if (cp->next >= cp->ext_end && !refill(cp)) {
            goto out;
        }
        WdNbdExtent *e = &g_array_index(cp->extents, WdNbdExtent,
                                        cp->ext_index);
        uint64_t e_end = cp->ext_pos + e->length;

        it->zero = e->flags & NBD_STATE_ZERO;
        it->len = MIN(e_end - cp->next, it->zero ? ZERO_SPAN : cp->request);
        if (cp->next + it->len == e_end) {
            cp->ext_index++;
            cp->ext_pos = e_end;
        }
    }
    cp->next += it->len;
    ok = true;
out:
    g_mutex_unlock(&cp->lock);
    return ok;
}

static bool zero_range(Copy *cp, uint64_t off, uint64_t len, GError **errp)
{
    /* A fresh target already reads as zeroes: write nothing. */
    return cp->dst->fresh || img_zero(cp->dst, off, len, errp) == 0;
}

static gpointer worker(gpointer opaque)
{
    Copy *cp = opaque;
    g_autofree uint8_t *buf = NULL;
    Item it;

    while (claim(cp, &it)) {
        GError *err = NULL;
        bool ok;

        if (it.zero) {
            ok = zero_range(cp, it.off, it.len, &err);
        } else {
            if (!buf) {
                buf = g_malloc(cp->request);
            }
            ok = img_read(cp->src, buf, it.off, it.len, &err) == 0;
            if (ok && img_is_zero(buf, it.len)) {
                ok = zero_range(cp, it.off, it.len, &err);
            } else if (ok) {
                ok = img_write(cp->dst, buf, it.off, it.len, &err) == 0;
            }
        }
        if (!ok) {
            set_error(cp, err);
            break;
        }
        __atomic_fetch_add(&cp->done, it.len, __ATOMIC_RELAXED);
    }
    g_mutex_lock(&cp->lock);
    cp->running--;
    g_cond_signal(&cp->cond);
    g_mutex_unlock(&cp->lock);
    return NULL;
}

/* ---- progress ------------------------------------------------------------ */

typedef struct {
    bool bar;                   /* -p on a terminal */
    int fd;                     /* --progress=FD, or -1 */
    int last;                   /* last percentage written to fd */
} Progress;

static void progress_show(Progress *p, uint64_t done, uint64_t size)
{
    double frac = size ? (double)done / size : 1.0;
    int pct = (int)(frac * 100);

    if (p->bar) {
        char bar[41];
        int n = (int)(frac * 40);

        memset(bar, '#', n);
        memset(bar + n, '.', 40 - n);
        bar[40] = '\0';
        fprintf(stderr, "\r[%s] %6.2f%%", bar, frac * 100);
        fflush(stderr);
    }
    if (p->fd >= 0 && pct != p->last) {
        g_autofree char *line = g_strdup_printf("%d/100\n", pct);
        if (write(p->fd, line, strlen(line)) < 0) {
            p->fd = -1;         /* the reader went away: stop */
        }
        p->last = pct;
    }
}

/* ---- the copy ------------------------------------------------------------ */

static bool run_copy(Img *src, Img *dst, unsigned workers, uint64_t request,
                     Progress *p, GError **errp)
{
    Copy cp = {
        .src = src,
        .dst = dst,
        .size = src->size,
        .request = request,
        .use_extents = true,
    };
    GThread *threads[MAX_WORKERS];
    uint64_t done;

    g_mutex_init(&cp.lock);
    g_cond_init(&cp.cond);
    cp.extents = g_array_new(FALSE, FALSE, sizeof(WdNbdExtent));
    /* A source without block status just reads everything. */
    cp.use_extents = src->kind != IMG_NBD ||
                     wd_nbd_client_get_meta_context(src->nbd);
    progress_show(p, 0, cp.size);
    cp.running = workers;
    for (unsigned i = 0; i < workers; i++) {
        threads[i] = g_thread_new("img-convert", worker, &cp);
    }
    g_mutex_lock(&cp.lock);
    while (cp.running > 0) {
        g_cond_wait_until(&cp.cond, &cp.lock,
                          g_get_monotonic_time() + PROGRESS_US);
        g_mutex_unlock(&cp.lock);
        progress_show(p, __atomic_load_n(&cp.done, __ATOMIC_RELAXED),
                      cp.size);
        g_mutex_lock(&cp.lock);
    }
    g_mutex_unlock(&cp.lock);
    for (unsigned i = 0; i < workers; i++) {
        g_thread_join(threads[i]);
    }
    done = cp.done;
    g_array_unref(cp.extents);
    g_mutex_clear(&cp.lock);
    g_cond_clear(&cp.cond);
    if (p->bar) {
        fputc('\n', stderr);
    }
    if (cp.error) {
        g_propagate_error(errp, cp.error);
        return false;
    }
    if (done != cp.size) {
        wd_error_setg(errp, "Copied %" PRIu64 " of %" PRIu64 " bytes",
                      done, cp.size);
        return false;
    }
    return img_flush(dst, errp) == 0;
}

typedef struct {
    GPtrArray *objects;         /* first member: wd_cmd_collect_arg */
    gboolean image_opts;
    gboolean target_image_opts;
    gboolean no_create;
    gboolean target_is_zero;
    gboolean bar;
    int progress_fd;
    int conns;
    int requests;
    char *request_size;
    char *src_format;
    char *dst_format;
    double reconnect_delay;
    double open_timeout;
} ConvertOpts;

static gboolean progress_arg(const gchar *name, const gchar *value,
                             gpointer data, GError **errp)
{
    ConvertOpts *o = data;
    char *end = NULL;
    long fd;

    if (!value) {
        o->bar = TRUE;
        return TRUE;
    }
    fd = strtol(value, &end, 10);
    if (*end || fd < 0 || fd > G_MAXINT) {
        wd_error_setg(errp, "--progress=FD: '%s' is not a file descriptor",
                      value);
        return FALSE;
    }
    o->progress_fd = (int)fd;
    return TRUE;
}

/* Refuses to copy a file onto itself (opening the target truncates it). */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static bool check_formats(ConvertOpts *o, GError **errp)
{
    const char *f[] = { o->src_format, o->dst_format };

    for (int i = 0; i < 2; i++) {
        if (f[i] && strcmp(f[i], "raw") != 0) {
            wd_error_setg(errp, "Unsupported image format '%s': warden img "
                          "handles raw images only", f[i]);
            return false;
        }
    }
    return true;
}

static bool convert(ConvertOpts *o, const char *src_spec,
                    const char *dst_spec, GError **errp)
{
    uint64_t request = IMG_REQUEST_SIZE;
    unsigned conns = o->conns > 0 ? o->conns : 4;
    unsigned requests = o->requests > 0 ? o->requests : 16;
    unsigned workers = MIN(conns * requests, MAX_WORKERS);
    Progress p = { .fd = o->progress_fd, .last = -1 };
    ImgOpenArgs sa = {
        .spec = src_spec, .image_opts = o->image_opts, .nconns = conns,
        .reconnect_delay = o->reconnect_delay,
        .open_timeout = o->open_timeout,
    };
    ImgOpenArgs da = sa;

    if (!check_formats(o, errp) ||
        (o->request_size && !img_parse_size(o->request_size, &request,
                                            errp))) {
        return false;
    }
    if (request < 4096 || request > IMG_MAX_REQUEST_SIZE ||
        (request & (request - 1))) {
        wd_error_setg(errp, "--request-size must be a power of two from "
                      "4k to 32M");
        return false;
    }
    if (conns > WD_NBD_CLIENT_MAX_CONNS) {
        wd_error_setg(errp, "-C: at most %d connections",
                      WD_NBD_CLIENT_MAX_CONNS);
        return false;
    }
    p.bar = o->bar && isatty(STDERR_FILENO);
    g_autoptr(Img) src = img_open(&sa, errp);
    if (!src) {
        return false;
    }
    if (src->kind == IMG_FILE && !o->target_image_opts &&
        !wd_nbd_uri_is_uri(dst_spec) && same_file(src->label, dst_spec)) {
        wd_error_setg(errp, "Source and target are the same file '%s'",
                      dst_spec);
        return false;
    }
    da.spec = dst_spec;
    da.image_opts = o->target_image_opts;
    da.writable = true;
    da.create = !o->no_create;
    da.create_size = src->size;
    g_autoptr(Img) dst = img_open(&da, errp);
    if (!dst) {
        return false;
    }
    if (dst->size < src->size) {
        wd_error_setg(errp, "The target %s (%" PRIu64 " bytes) is smaller "
                      "than the source %s (%" PRIu64 " bytes)", dst->label,
                      dst->size, src->label, src->size);
        return false;
    }
    dst->fresh = dst->fresh || o->target_is_zero;
    return run_copy(src, dst, workers, request, &p, errp);
}

int img_cmd_convert(int argc, char **argv)
{
    ConvertOpts o = { .progress_fd = -1 };
    GOptionEntry entries[] = {
        WD_CMD_OBJECT_OPTION(args),
        { "image-opts", 0, 0, G_OPTION_ARG_NONE, &o.image_opts,
          "SRC is keyval options: driver=nbd,server.type=inet,...", NULL },
        { "target-image-opts", 0, 0, G_OPTION_ARG_NONE,
          &o.target_image_opts, "DST is keyval options", NULL },
        { "progress", 'p', G_OPTION_FLAG_OPTIONAL_ARG,
          G_OPTION_ARG_CALLBACK, progress_arg,
          "-p: progress bar on a terminal; --progress=FD: write lines "
          "N/100 to FD", "FD" },
        { "connections", 'C', 0, G_OPTION_ARG_INT, &o.conns,
          "NBD connections (when the server allows multi-conn) and copy "
          "threads (default 4)", "N" },
        { "requests", 'R', 0, G_OPTION_ARG_INT, &o.requests,
          "requests in flight per connection (default 16)", "N" },
        { "request-size", 0, 0, G_OPTION_ARG_STRING, &o.request_size,
          "bytes per request (default 512k)", "SIZE" },
        { "no-create", 'n', 0, G_OPTION_ARG_NONE, &o.no_create,
          "the target exists: do not create or truncate it", NULL },
        { "target-is-zero", 0, 0, G_OPTION_ARG_NONE, &o.target_is_zero,
          "the target reads as zeroes already: skip zero ranges", NULL },
        { "format", 'f', 0, G_OPTION_ARG_STRING, &o.src_format,
          "source format (only raw)", "FMT" },
        { "output-format", 'O', 0, G_OPTION_ARG_STRING, &o.dst_format,
          "target format (only raw)", "FMT" },
        { "reconnect-delay", 0, 0, G_OPTION_ARG_DOUBLE, &o.reconnect_delay,
          "NBD: seconds to wait for a lost server to come back", "SECONDS" },
        { "open-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &o.open_timeout,
          "NBD: seconds to keep trying the first connection", "SECONDS" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(
        "SRC DST - copy an image; SRC and DST are files, NBD URIs or "
        "(with --image-opts) keyval options; DST may be null:");
    g_autoptr(GError) err = NULL;
    GOptionGroup *group;
    int ret = 1;

    o.objects = wd_cmd_args_new();
    group = g_option_group_new("convert", "", "", &o, NULL);
    g_option_group_add_entries(group, entries);
    g_option_context_set_main_group(ctx, group);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        wd_cmd_error("%s", err->message);
    } else if (wd_cmd_handle_help(o.objects) == 0) {
        ret = 0;
    } else if (argc != 3) {
        wd_cmd_error("convert needs SRC and DST (see 'warden img convert "
                     "--help')");
    } else if (o.conns < 0 || o.requests < 0 || o.reconnect_delay < 0 ||
               o.open_timeout < 0) {
        wd_cmd_error("-C, -R and timeouts must not be negative");
    } else if (img_create_objects(o.objects, &err) &&
               convert(&o, argv[1], argv[2], &err)) {
        ret = 0;
    } else {
        wd_cmd_error("%s", err->message);
    }
    g_ptr_array_unref(o.objects);
    g_free(o.request_size);
    g_free(o.src_format);
    g_free(o.dst_format);
    return ret;
}
