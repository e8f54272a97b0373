/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `warden img` images: opening a local file, an NBD URI, --image-opts
 * keyval options (parsed by the schema, as --blockdev) or a null sink, and
 * the few operations the subcommands need, with messages that name the
 * image and the offset.
 */
#include "runtime/cmd-img-priv.h"
#include "runtime/blockdev.h"
#include "runtime/cmd-common.h"
#include "runtime/error.h"
#include "runtime/keyval.h"
#include "runtime/nbd/nbd-protocol.h"
#include "runtime/nbd/nbd-uri.h"
#include "runtime/object.h"
#include "objects/objects.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Zero buffers written at once when a target cannot write zeroes. */
#define ZERO_BUF_SIZE (1024 * 1024)

static const char *creds_type_name(WdTlsCreds *creds)
{
    switch (wd_tls_creds_get_type(creds)) {
    case WD_TLS_CREDS_X509:
        return "x509";
    case WD_TLS_CREDS_PSK:
        return "psk";
    case WD_TLS_CREDS_ANON:
        return "anon";
    }
    return "?";
}

static Img *img_new(ImgKind kind, const char *label)
{
    Img *img = g_new0(Img, 1);

    img->kind = kind;
    img->label = g_strdup(label);
    return img;
}

void img_close(Img *img)
{
    if (img) {
        wd_nbd_client_close(img->nbd);
        wd_block_node_unref(img->node);
        g_free(img->label);
        g_free(img->tls_type);
        g_free(img);
    }
}

/* ---- opening ------------------------------------------------------------- */

static Img *open_file(const ImgOpenArgs *a, const char *path, GError **errp)
{
    g_autoptr(Img) img = img_new(IMG_FILE, path);
    struct stat st;
    bool exists = stat(path, &st) == 0;

    if (a->create && !(exists && S_ISBLK(st.st_mode))) {
        /* A new or truncated regular file: sparse, all zeroes. */
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0) {
            wd_error_setg_errno(errp, errno, "Cannot create '%s'", path);
            return NULL;
        }
        if (ftruncate(fd, (off_t)a->create_size) < 0) {
            wd_error_setg_errno(errp, errno, "Cannot set the size of '%s' "
                                "to %" PRIu64 " bytes", path, a->create_size);
            close(fd);
            return NULL;
        }
        close(fd);
        img->fresh = true;
    }
    img->node = wd_block_file_open(NULL, path, !a->writable, false, errp);
    if (!img->node) {
        return NULL;
    }
    img->size = wd_block_get_size(img->node);
    img->read_only = wd_block_is_read_only(img->node);
    return g_steal_pointer(&img);
}

static Img *connect_nbd(const WdNbdClientConfig *cfg, const char *label,
                        WdTlsCreds *creds, GError **errp)
{
    g_autoptr(Img) img = img_new(IMG_NBD, label);

    img->nbd = wd_nbd_client_connect(cfg, errp);
    if (!img->nbd) {
        return NULL;
    }
    img->size = wd_nbd_client_get_size(img->nbd);
    img->read_only = wd_nbd_client_is_read_only(img->nbd);
    if (creds) {
        img->tls_type = g_strdup(creds_type_name(creds));
    }
    return g_steal_pointer(&img);
}

static Img *open_uri(const ImgOpenArgs *a, GError **errp)
{
    g_autoptr(WdNbdUri) u = wd_nbd_uri_parse(a->spec, errp);
    g_autoptr(WdTlsCreds) creds = NULL;
    GError *err = NULL;
    WdNbdClientConfig cfg = {
        .nconns = a->nconns,
        .reconnect_delay = a->reconnect_delay,
        .open_timeout = a->open_timeout,
    };

    if (!u) {
        return NULL;
    }
    creds = wd_nbd_uri_load_tls(u, &err);
    if (err) {
        g_propagate_error(errp, err);
        return NULL;
    }
    wd_nbd_uri_fill_config(u, creds, &cfg);
    return connect_nbd(&cfg, a->spec, creds, errp);
}

static Img *open_nbd_opts(const ImgOpenArgs *a, const BlockdevOptionsNbd *o,
                          GError **errp)
{
    g_autoptr(WdSocketAddress) addr = wd_socket_address_from_qapi(o->server,
                                                                  errp);
    g_autoptr(WdTlsCreds) creds = NULL;
    WdNbdClientConfig cfg = {
        .nconns = a->nconns,
        .reconnect_delay = o->has_reconnect_delay ? o->reconnect_delay :
                           a->reconnect_delay,
        .open_timeout = o->has_open_timeout ? o->open_timeout :
                        a->open_timeout,
    };

    if (!addr) {
        return NULL;
    }
    if (o->has_tls_creds) {
        creds = wd_tls_creds_lookup(NULL, "tls-creds", o->tls_creds, false,
                                    errp);
        if (!creds) {
            return NULL;
        }
    }
    cfg.addr = addr;
    cfg.export_name = o->has_export ? o->export : "";
    cfg.tls = creds;
    cfg.tls_hostname = o->has_tls_hostname ? o->tls_hostname : NULL;
    g_autofree char *where = wd_socket_address_to_string(addr);
    g_autofree char *label = g_strdup_printf("nbd export '%s' at '%s'",
                                             cfg.export_name, where);
    return connect_nbd(&cfg, label, creds, errp);
}

static Img *open_image_opts(const ImgOpenArgs *a, GError **errp)
{
    g_autoptr(json_t) tree = wd_keyval_or_json_parse(a->spec, NULL, NULL,
                                                     errp);
    g_autoptr(BlockdevOptions) opts = NULL;

    if (!tree) {
        return NULL;
    }
    if (!qapi_in_BlockdevOptions(tree, NULL, a->spec[0] != '{', &opts,
                                 errp)) {
        return NULL;
    }
    switch (opts->driver) {
    case BLOCKDEV_DRIVER_FILE:
        return open_file(a, opts->u.file->filename, errp);
    case BLOCKDEV_DRIVER_NBD:
        return open_nbd_opts(a, opts->u.nbd, errp);
    default:
        wd_error_setg(errp, "--image-opts: driver '%s' is not supported "
                      "here (use driver=file or driver=nbd)",
                      BlockdevDriver_str(opts->driver));
        return NULL;
    }
}

Img *img_open(const ImgOpenArgs *a, GError **errp)
{
    Img *img;

    if (a->image_opts) {
        img = open_image_opts(a, errp);
    } else if (wd_nbd_uri_is_uri(a->spec)) {
        img = open_uri(a, errp);
    } else if (strcmp(a->spec, "null:") == 0 ||
               strcmp(a->spec, "/dev/null") == 0) {
        img = img_new(IMG_NULL, a->spec);
        img->size = a->create_size;
        img->fresh = true;
    } else {
        img = open_file(a, a->spec, errp);
    }
    if (img && a->writable && img->read_only) {
        wd_error_setg(errp, "'%s' is read-only", img->label);
        img_close(img);
        return NULL;
    }
    return img;
}

/* ---- I/O ----------------------------------------------------------------- */

static int fail(Img *img, int ret, GError *err, const char *what,
                uint64_t off, GError **errp)
{
    if (err) {
        wd_error_setg(errp, "%s %s at offset %" PRIu64 " failed: %s", what,
                      img->label, off, err->message);
        g_error_free(err);
    } else {
        wd_error_setg_errno(errp, -ret, "%s %s at offset %" PRIu64
                            " failed", what, img->label, off);
    }
    return ret;
}

int img_read(Img *img, void *buf, uint64_t off, uint64_t len, GError **errp)
{
    GError *err = NULL;
    int ret = 0;

    switch (img->kind) {
    case IMG_NBD:
        ret = wd_nbd_client_pread(img->nbd, buf, off, len, &err);
        break;
    case IMG_FILE:
        ret = wd_block_pread(img->node, off, buf, len);
        break;
    case IMG_NULL:
        memset(buf, 0, len);
        break;
    }
    return ret < 0 ? fail(img, ret, err, "Reading", off, errp) : 0;
}

int img_write(Img *img, const void *buf, uint64_t off, uint64_t len,
              GError **errp)
{
    GError *err = NULL;
    int ret = 0;

    switch (img->kind) {
    case IMG_NBD:
        ret = wd_nbd_client_pwrite(img->nbd, buf, off, len, 0, &err);
        break;
    case IMG_FILE:
        ret = wd_block_pwrite(img->node, off, buf, len, 0);
        break;
    case IMG_NULL:
        break;
    }
    return ret < 0 ? fail(img, ret, err, "Writing", off, errp) : 0;
}

static int write_zero_buffers(Img *img, uint64_t off, uint64_t len,
                              GError **errp)
{
    g_autofree void *zero = g_malloc0(MIN(len, ZERO_BUF_SIZE));

    for (uint64_t done = 0; done < len; done += ZERO_BUF_SIZE) {
        int ret = img_write(img, zero, off + done,
                            MIN(ZERO_BUF_SIZE, len - done), errp);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

int img_zero(Img *img, uint64_t off, uint64_t len, GError **errp)
{
    GError *err = NULL;
    int ret = 0;

    switch (img->kind) {
    case IMG_NBD:
        if (!(wd_nbd_client_get_flags(img->nbd) &
              NBD_FLAG_SEND_WRITE_ZEROES)) {
            return write_zero_buffers(img, off, len, errp);
        }
        ret = wd_nbd_client_write_zeroes(img->nbd, off, len, 0, &err);
        break;
    case IMG_FILE:
        ret = wd_block_write_zeroes(img->node, off, len, WD_BLOCK_MAY_UNMAP);
        break;
    case IMG_NULL:
        break;
    }
    return ret < 0 ? fail(img, ret, err, "Zeroing", off, errp) : 0;
}

int img_flush(Img *img, GError **errp)
{
    GError *err = NULL;
    int ret = 0;

    switch (img->kind) {
    case IMG_NBD:
        ret = wd_nbd_client_flush(img->nbd, &err);
        break;
    case IMG_FILE:
        ret = wd_block_flush(img->node);
        break;
    case IMG_NULL:
        break;
    }
    return ret < 0 ? fail(img, ret, err, "Flushing", 0, errp) : 0;
}

static void append_extent(GArray *out, guint base, uint64_t len,
                          uint32_t flags)
{
    if (out->len > base) {
        WdNbdExtent *last = &g_array_index(out, WdNbdExtent, out->len - 1);
        if (last->flags == flags) {
            last->length += len;
            return;
        }
    }
    WdNbdExtent e = { .length = len, .flags = flags };
    g_array_append_val(out, e);
}

int img_extents(Img *img, uint64_t off, uint64_t len, GArray *out,
                GError **errp)
{
    guint base = out->len;
    GError *err = NULL;
    int ret;

    switch (img->kind) {
    case IMG_NBD:
        if (!wd_nbd_client_get_meta_context(img->nbd)) {
            break;
        }
        ret = wd_nbd_client_block_status(img->nbd, off, len, out, &err);
        return ret < 0 ? fail(img, ret, err, "Block status of", off, errp)
                       : 0;
    case IMG_FILE:
        for (uint64_t pos = off; pos < off + len &&
             out->len - base < IMG_MAX_FILE_EXTENTS;) {
            uint64_t pnum = 0;
            int status = 0;

            ret = wd_block_block_status(img->node, pos, off + len - pos,
                                        &pnum, &status);
            if (ret < 0) {
                return fail(img, ret, NULL, "Block status of", pos, errp);
            }
            append_extent(out, base,  pnum,
                          ((status & WD_BLOCK_DATA) ? 0 : NBD_STATE_HOLE) |
                          ((status & WD_BLOCK_ZERO) ? NBD_STATE_ZERO : 0));
            pos += pnum;
        }
        return 0;
    case IMG_NULL:
        append_extent(out, base, len, NBD_STATE_HOLE | NBD_STATE_ZERO);
        return 0;
    }
    append_extent(out, base, len, 0);
    return 0;
}

/* ---- helpers ------------------------------------------------------------- */

bool img_create_objects(GPtrArray *args, GError **errp)
{
    wd_objects_register_all();
    for (guint i = 0; i < args->len; i++) {
        WdCmdArg *arg = g_ptr_array_index(args, i);

        if (!wd_cmd_object_add(arg->value, errp)) {
            return false;
        }
    }
    return true;
}

bool img_parse_size(const char *s, uint64_t *out, GError **errp)
{
    static const char units[] = "kmgtpe";
    char *end = NULL;
    guint64 v;
    int shift = 0;

    if (!g_ascii_isdigit(*s)) {
        goto bad;
    }
    errno = 0;
    v = g_ascii_strtoull(s, &end, 10);
    if (errno || end == s) {
        goto bad;
    }
    if (*end) {
        const char *u = strchr(units, g_ascii_tolower(*end));

        if (!u || end[1] != '\0') {
            goto bad;
        }
        shift = 10 * (int)(u - units + 1);
    }
    if (shift && v > (G_MAXUINT64 >> shift)) {
        wd_error_setg(errp, "Size '%s' is too large", s);
        return false;
    }
    *out = v << shift;
    if (*out > INT64_MAX) {
        wd_error_setg(errp, "Size '%s' is too large", s);
        return false;
    }
    return true;
bad:
    wd_error_setg(errp, "Invalid size '%s': use a number of bytes with an "
                  "optional suffix k, M, G, T, P or E", s);
    return false;
}

bool img_is_zero(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    size_t head = MIN(len, 16);

    for (size_t i = 0; i < head; i++) {
        if (p[i]) {
            return false;
        }
    }
    /* The first 16 bytes are zero; every byte equal to the one 16 before
     * it means all are. */
    return len <= 16 || memcmp(p, p + 16, len - 16) == 0;
}
