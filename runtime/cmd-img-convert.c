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
/* Most worker threads (-C) and requests in flight per worker (-R). */
#define MAX_WORKERS WD_NBD_CLIENT_MAX_CONNS
#define MAX_SLOTS 256
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

/*
 * Each worker thread keeps up to R ranges ("slots") in flight. NBD reads
 * and writes are asynchronous (the completion is queued back to the
 * worker); file I/O is done by the worker itself. So -C workers times -R
 * slots requests are in flight, while at most -C threads touch local
 * files.
 *
 *   claim --data--> READ --all zero--> ZERO --+
 *     |               |                       +--> done (slot free)
 *     +--zeroes-------|--------------> ZERO --+
 *                     +--data------> WRITE ---+
 */
typedef enum {
    ST_READ,
    ST_WRITE,
    ST_ZERO,
} Stage;

typedef struct Worker Worker;

typedef struct {
    Worker *w;
    Item it;
    Stage stage;
    uint8_t *buf;               /* request-sized, allocated on first use */
    int ret;                    /* result of the stage */
    char *msg;
} Slot;

struct Worker {
    Copy *cp;
    GAsyncQueue *done;          /* Slot* whose stage completed */
    Slot *slots;
    GPtrArray *free;            /* Slot* not in use */
};

/* NBD completion (on a client I/O thread): hand the slot back. */
static void slot_done(void *opaque, int ret, const char *msg)
{
    Slot *s = opaque;

    s->ret = ret;
    s->msg = ret < 0 ? g_strdup(msg) : NULL;
    g_async_queue_push(s->w->done, s);
}

/* A synchronous stage finished in the worker itself. */
static void slot_finish(Slot *s, int ret, GError *err)
{
    s->ret = ret;
    s->msg = err ? g_strdup(err->message) : NULL;
    if (err) {
        g_error_free(err);
    }
    g_async_queue_push(s->w->done, s);
}

static void start_read(Slot *s)
{
    Img *src = s->w->cp->src;
    GError *err = NULL;

    s->stage = ST_READ;
    if (src->kind == IMG_NBD) {
        wd_nbd_client_aio_pread(src->nbd, s->buf, s->it.off, s->it.len,
                                slot_done, s);
        return;
    }
    slot_finish(s, img_read(src, s->buf, s->it.off, s->it.len, &err), err);
}

static void start_write(Slot *s)
{
    Img *dst = s->w->cp->dst;
    GError *err = NULL;

    s->stage = ST_WRITE;
    if (dst->kind == IMG_NBD) {
        wd_nbd_client_aio_pwrite(dst->nbd, s->buf, s->it.off, s->it.len, 0,
                                 slot_done, s);
        return;
    }
    slot_finish(s, img_write(dst, s->buf, s->it.off, s->it.len, &err), err);
}

static void start_zero(Slot *s)
{
    Img *dst = s->w->cp->dst;
    GError *err = NULL;

    s->stage = ST_ZERO;
    if (dst->fresh) {
        slot_finish(s, 0, NULL);    /* already reads as zeroes */
    } else if (dst->kind == IMG_NBD &&
               (wd_nbd_client_get_flags(dst->nbd) &
                NBD_FLAG_SEND_WRITE_ZEROES)) {
        wd_nbd_client_aio_write_zeroes(dst->nbd, s->it.off, s->it.len, 0,
                                       slot_done, s);
    } else {
        slot_finish(s, img_zero(dst, s->it.off, s->it.len, &err), err);
    }
}

static void slot_error(Slot *s)
{
    Copy *cp = s->w->cp;
    Img *img = s->stage == ST_READ ? cp->src : cp->dst;
    const char *what = s->stage == ST_READ ? "Reading" :
                       s->stage == ST_WRITE ? "Writing" : "Zeroing";
    GError *err = NULL;

    /* Synchronous stages already name the image; NBD ones do not. */
    if (img->kind == IMG_NBD) {
        wd_error_setg(&err, "%s %s at offset %" PRIu64 " failed: %s", what,
                      img->label, s->it.off, s->msg);
    } else {
        wd_error_setg(&err, "%s", s->msg);
    }
    set_error(cp, err);
}

static gpointer worker(gpointer opaque)
{
    Worker *w = opaque;
    Copy *cp = w->cp;
    unsigned busy = 0;

    for (;;) {
        Slot *s;
        Item it;

        while (w->free->len && claim(cp, &it)) {
            s = g_ptr_array_steal_index_fast(w->free, w->free->len - 1);
            s->it = it;
            busy++;
            if (it.zero) {
                start_zero(s);
            } else {
                if (!s->buf) {
                    s->buf = g_malloc(cp->request);
                }
                start_read(s);
            }
        }
        if (busy == 0) {
            break;
        }
        s = g_async_queue_pop(w->done);
        if (s->ret < 0) {
            slot_error(s);
        } else if (s->stage == ST_READ) {
            if (img_is_zero(s->buf, s->it.len)) {
                start_zero(s);
            } else {
                start_write(s);
            }
            continue;
        } else {
            __atomic_fetch_add(&cp->done, s->it.len, __ATOMIC_RELAXED);
        }
        g_clear_pointer(&s->msg, g_free);
        g_ptr_array_add(w->free, s);
        busy--;
    }
    g_mutex_lock(&cp->lock);
    cp->running--;
    g_cond_signal(&cp->cond);
    g_mutex_unlock(&cp->lock);
    return NULL;
}

static Worker *worker_new(Copy *cp, unsigned nslots)
{
    Worker *w = g_new0(Worker, 1);

    w->cp = cp;
    w->done = g_async_queue_new();
    w->slots = g_new0(Slot, nslots);
    w->free = g_ptr_array_new();
    for (unsigned i = 0; i < nslots; i++) {
        w->slots[i].w = w;
        g_ptr_array_add(w->free, &w->slots[i]);
    }
    return w;
}

static void worker_free(Worker *w, unsigned nslots)
{
    for (unsigned i = 0; i < nslots; i++) {
        g_free(w->slots[i].buf);
        g_free(w->slots[i].msg);
    }
    g_free(w->slots);
    g_ptr_array_unref(w->free);
    g_async_queue_unref(w->done);
    g_free(w);
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

static bool run_copy(Img *src, Img *dst, unsigned nworkers,
                     unsigned nslots, uint64_t request, Progress *p,
                     GError **errp)
{
    Copy cp = {
        .src = src,
        .dst = dst,
        .size = src->size,
        .request = request,
        .use_extents = true,
    };
    GThread *threads[MAX_WORKERS];
    Worker *workers[MAX_WORKERS];
    uint64_t done;

    g_mutex_init(&cp.lock);
    g_cond_init(&cp.cond);
    cp.extents = g_array_new(FALSE, FALSE, sizeof(WdNbdExtent));
    /* A source without block status just reads everything. */
    cp.use_extents = src->kind != IMG_NBD ||
                     wd_nbd_client_get_meta_context(src->nbd);
    progress_show(p, 0, cp.size);
    cp.running = nworkers;
    for (unsigned i = 0; i < nworkers; i++) {
        workers[i] = worker_new(&cp, nslots);
        threads[i] = g_thread_new("img-convert", worker, workers[i]);
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
    for (unsigned i = 0; i < nworkers; i++) {
        g_thread_join(threads[i]);
        worker_free(workers[i], nslots);
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

/*
 * nbdcopy spells both "-p/--progress" (a bar) and "--progress=FD"; GOption
 * cannot have one long name with and without a value (an optional value
 * would swallow SRC after "-p"), so "--progress=FD" becomes
 * "--progress-fd=FD" before parsing. Returns a new vector.
 */
static char **rewrite_progress(int argc, char **argv)
{
    char **v = g_new0(char *, argc + 1);

    for (int i = 0; i < argc; i++) {
        v[i] = g_str_has_prefix(argv[i], "--progress=")
               ? g_strconcat("--progress-fd=", argv[i] + 11, NULL)
               : g_strdup(argv[i]);
    }
    return v;
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
    /* Client and server usually share the CPUs (a local copy) or the
     * client has cores to spare: half the CPUs, 1..4 (nbdcopy uses 4). */
    unsigned conns = o->conns > 0 ? (unsigned)o->conns :
                     CLAMP(g_get_num_processors() / 2, 1, 4);
    unsigned requests = o->requests > 0 ? (unsigned)o->requests : 16;
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
    if (conns > MAX_WORKERS || requests > MAX_SLOTS) {
        wd_error_setg(errp, "-C: at most %d connections; -R: at most %d "
                      "requests", MAX_WORKERS, MAX_SLOTS);
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
    /* Requests must fit both servers' block size limits. */
    for (Img *img = src; img; img = img == src ? dst : NULL) {
        if (img->kind == IMG_NBD) {
            uint32_t min, pref, max;

            wd_nbd_client_get_block_sizes(img->nbd, &min, &pref, &max);
            request = MAX(request, min);
            request = MIN(request, wd_nbd_client_get_max_request(img->nbd));
        }
    }
    return run_copy(src, dst, conns, requests, request, &p, errp);
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
        { "progress", 'p', 0, G_OPTION_ARG_NONE, &o.bar,
          "draw a progress bar on stderr (when it is a terminal)", NULL },
        { "progress-fd", 0, 0, G_OPTION_ARG_INT, &o.progress_fd,
          "write progress lines N/100 to FD (also --progress=FD)", "FD" },
        { "connections", 'C', 0, G_OPTION_ARG_INT, &o.conns,
          "copy threads, each with its own NBD connection when the "
          "server allows multi-conn (default: half the CPUs, 1 to 4)",
          "N" },
        { "requests", 'R', 0, G_OPTION_ARG_INT, &o.requests,
          "requests in flight per connection (default 16)", "N" },
        { "request-size", 0, 0, G_OPTION_ARG_STRING, &o.request_size,
          "bytes per request (default 256k)", "SIZE" },
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

    g_auto(GStrv) args = rewrite_progress(argc, argv);

    o.objects = wd_cmd_args_new();
    group = g_option_group_new("convert", "", "", &o, NULL);
    g_option_group_add_entries(group, entries);
    g_option_context_set_main_group(ctx, group);
    /* GOption removes what it parsed from @args; keep the strings. */
    g_autofree char **view = g_memdup2(args, sizeof(char *) * (argc + 1));
    argv = view;
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        wd_cmd_error("%s", err->message);
    } else if (wd_cmd_handle_help(o.objects) == 0) {
        ret = 0;
    } else if (argc != 3) {
        wd_cmd_error("convert needs SRC and DST (see 'warden img convert "
                     "--help')");
    } else if (o.conns < 0 || o.requests < 0 || o.reconnect_delay < 0 ||
               o.open_timeout < 0 || o.progress_fd < -1) {
        wd_cmd_error("-C, -R, --progress=FD and timeouts must not be "
                     "negative");
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
