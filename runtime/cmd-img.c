/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `warden img`: the client-side image tool, modelled on qemu-img, nbdinfo
 * and qemu-nbd -L. This file dispatches the sub-subcommands and holds the
 * small ones (info, map, create, list, compare); convert has its own file.
 * Exit status: 0 success, 1 error (compare: 1 = different, 2 = error).
 */
#include "runtime/cmd.h"
#include "runtime/cmd-common.h"
#include "runtime/cmd-img-priv.h"
#include "runtime/error.h"
#include "runtime/json-util.h"
#include "runtime/nbd/nbd-protocol.h"
#include "runtime/nbd/nbd-uri.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Extents asked for per block status request by map and compare. */
#define STATUS_SPAN (UINT64_C(1) << 30)

/* Options every sub-subcommand takes. */
typedef struct {
    GPtrArray *objects;         /* first member: wd_cmd_collect_arg */
    gboolean image_opts;
    char *format;
    char *output;
} Common;

static void common_clear(Common *c)
{
    g_ptr_array_unref(c->objects);
    g_free(c->format);
    g_free(c->output);
}

/*
 * Parses @argv with @extra entries plus the common ones; leaves the
 * positional arguments in @argv. Returns -1 to go on, else an exit code.
 */
static int parse(const char *params, const char *summary,
                 const GOptionEntry *extra, Common *c, int *argc,
                 char ***argv, int min_args, int max_args)
{
    GOptionEntry common[] = {
        WD_CMD_OBJECT_OPTION(args),
        { "image-opts", 0, 0, G_OPTION_ARG_NONE, &c->image_opts,
          "the image is keyval options: driver=nbd,server.type=inet,...",
          NULL },
        { "format", 'f', 0, G_OPTION_ARG_STRING, &c->format,
          "image format (only raw)", "FMT" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(params);
    g_autoptr(GError) err = NULL;
    GOptionGroup *group;

    c->objects = wd_cmd_args_new();
    group = g_option_group_new("img", "", "", &c->objects, NULL);
    g_option_group_add_entries(group, common);
    if (extra) {
        g_option_group_add_entries(group, extra);
    }
    g_option_context_set_main_group(ctx, group);
    g_option_context_set_summary(ctx, summary);
    if (!g_option_context_parse(ctx, argc, argv, &err)) {
        wd_cmd_error("%s", err->message);
        return 1;
    }
    if (wd_cmd_handle_help(c->objects) == 0) {
        return 0;
    }
    if (c->format && strcmp(c->format, "raw") != 0) {
        wd_cmd_error("Unsupported image format '%s': warden img handles "
                     "raw images only", c->format);
        return 1;
    }
    if (c->output && strcmp(c->output, "human") != 0 &&
        strcmp(c->output, "json") != 0) {
        wd_cmd_error("--output must be 'human' or 'json', not '%s'",
                     c->output);
        return 1;
    }
    if (*argc - 1 < min_args || *argc - 1 > max_args) {
        g_autofree char *help = g_option_context_get_help(ctx, TRUE, NULL);
        wd_cmd_error("wrong number of arguments");
        fputs(help, stderr);
        return 1;
    }
    g_autoptr(GError) oerr = NULL;
    if (!img_create_objects(c->objects, &oerr)) {
        wd_cmd_error("%s", oerr->message);
        return 1;
    }
    return -1;
}

static bool json_out(const Common *c)
{
    return c->output && strcmp(c->output, "json") == 0;
}

static Img *open_ro(const Common *c, const char *spec, GError **errp)
{
    ImgOpenArgs a = { .spec = spec, .image_opts = c->image_opts };

    return img_open(&a, errp);
}

static void print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(4) | JSON_PRESERVE_ORDER);

    printf("%s\n", s);
    free(s);
}

/* ---- info ---------------------------------------------------------------- */

static json_t *flag_list(uint16_t flags)
{
    g_autofree char *names = wd_nbd_flag_names(flags);
    g_auto(GStrv) v = g_strsplit(names, " ", -1);
    json_t *a = json_array();

    for (char **p = v; *p; p++) {
        if (**p) {
            json_array_append_new(a, json_string(*p));
        }
    }
    return a;
}

static json_t *info_json(Img *img)
{
    json_t *o = json_object();

    json_object_set_new(o, "filename", json_string(img->label));
    json_object_set_new(o, "format", json_string("raw"));
    json_object_set_new(o, "driver", json_string(img->kind == IMG_NBD ?
                                                 "nbd" : "file"));
    json_object_set_new(o, "virtual-size", json_integer(img->size));
    json_object_set_new(o, "read-only", json_boolean(img->read_only));
    if (img->kind != IMG_NBD) {
        return o;
    }
    WdNbdClient *n = img->nbd;
    uint32_t min, pref, max;
    const char *desc = wd_nbd_client_get_description(n);
    const char *meta = wd_nbd_client_get_meta_context(n);
    g_autofree char *peer = wd_nbd_client_tls_peer(n);

    wd_nbd_client_get_block_sizes(n, &min, &pref, &max);
    json_object_set_new(o, "export-name",
                        json_string(wd_nbd_client_get_export_name(n)));
    if (desc) {
        json_object_set_new(o, "description", json_string(desc));
    }
    json_object_set_new(o, "flags", json_integer(wd_nbd_client_get_flags(n)));
    json_object_set_new(o, "flag-names",
                        flag_list(wd_nbd_client_get_flags(n)));
    json_object_set_new(o, "block-size",
                        json_pack("{s:i, s:i, s:I}", "minimum", (int)min,
                                  "preferred", (int)pref, "maximum",
                                  (json_int_t)max));
    json_object_set_new(o, "structured-replies", json_boolean(
        wd_nbd_client_has_structured_replies(n)));
    json_object_set_new(o, "meta-contexts", meta ?
                        json_pack("[s]", meta) : json_array());
    json_object_set_new(o, "connections",
                        json_integer(wd_nbd_client_get_nconns(n)));
    json_object_set_new(o, "tls", json_boolean(wd_nbd_client_is_tls(n)));
    if (img->tls_type) {
        json_object_set_new(o, "tls-type", json_string(img->tls_type));
    }
    if (peer) {
        json_object_set_new(o, "tls-peer", json_string(peer));
    }
    return o;
}

/* "64 MiB", "1.5 GiB": three significant digits, below 1000 of the unit
 * (the way qemu-img prints sizes). */
static char *human_size(uint64_t val)
{
    static const char *const units[] = {
        "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
    };
    double v = (double)val;
    int i = 0;

    while (v >= 1000 && i < 6) {
        v /= 1024;
        i++;
    }
    return g_strdup_printf("%0.3g %s", v, units[i]);
}

static void info_human(Img *img)
{
    g_autofree char *size = human_size(img->size);

    printf("image: %s\n", img->label);
    printf("driver: %s\n", img->kind == IMG_NBD ? "nbd" : "file");
    printf("virtual size: %s (%" PRIu64 " bytes)\n", size, img->size);
    printf("read-only: %s\n", img->read_only ? "yes" : "no");
    if (img->kind != IMG_NBD) {
        return;
    }
    WdNbdClient *n = img->nbd;
    uint16_t flags = wd_nbd_client_get_flags(n);
    g_autofree char *names = wd_nbd_flag_names(flags);
    g_autofree char *peer = wd_nbd_client_tls_peer(n);
    const char *desc = wd_nbd_client_get_description(n);
    const char *meta = wd_nbd_client_get_meta_context(n);
    uint32_t min, pref, max;

    wd_nbd_client_get_block_sizes(n, &min, &pref, &max);
    printf("export: '%s'\n", wd_nbd_client_get_export_name(n));
    if (desc) {
        printf("description: %s\n", desc);
    }
    printf("flags: 0x%04x (%s)\n", flags, names);
    printf("block sizes: minimum %" PRIu32 ", preferred %" PRIu32
           ", maximum %" PRIu32 "\n", min, pref, max);
    printf("structured replies: %s\n",
           wd_nbd_client_has_structured_replies(n) ? "yes" : "no");
    printf("meta contexts: %s\n", meta ? meta : "(none)");
    printf("connections: %u\n", wd_nbd_client_get_nconns(n));
    if (wd_nbd_client_is_tls(n)) {
        printf("TLS: yes (%s)\n", img->tls_type ? img->tls_type : "?");
        printf("TLS peer: %s\n", peer ? peer : "(no certificate)");
    } else {
        printf("TLS: no\n");
    }
}

static int cmd_info(int argc, char **argv)
{
    Common c = { 0 };
    GOptionEntry extra[] = {
        { "output", 0, 0, G_OPTION_ARG_STRING, &c.output,
          "human (default) or json", "FMT" },
        { NULL },
    };
    g_autoptr(GError) err = NULL;
    int ret = parse("IMAGE - show size, flags, TLS state of an image or "
                    "NBD export", NULL, extra, &c, &argc, &argv, 1, 1);

    if (ret < 0) {
        g_autoptr(Img) img = open_ro(&c, argv[1], &err);
        ret = 1;
        if (!img) {
            wd_cmd_error("%s", err->message);
        } else {
            if (json_out(&c)) {
                g_autoptr(json_t) o = info_json(img);
                print_json(o);
            } else {
                info_human(img);
            }
            ret = 0;
        }
    }
    common_clear(&c);
    return ret;
}

/* ---- map ----------------------------------------------------------------- */

static void map_print(const Common *c, bool *first, uint64_t start,
                      const WdNbdExtent *e)
{
    bool zero = e->flags & NBD_STATE_ZERO;
    bool hole = e->flags & NBD_STATE_HOLE;

    if (json_out(c)) {
        /* The layout qemu-img map --output=json prints for raw images. */
        printf("%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", "
               "\"depth\": 0, \"present\": true, \"zero\": %s, \"data\": "
               "%s, \"offset\": %" PRIu64 "}", *first ? "[" : ",\n",
               start, e->length, zero ? "true" : "false",
               hole ? "false" : "true", start);
    } else {
        printf("%10" PRIu64 "  %10" PRIu64 "  %2" PRIu32 "  %s\n", start,
               e->length, e->flags & 3, hole && zero ? "hole,zero" :
               hole ? "hole" : zero ? "zero" : "data");
    }
    *first = false;
}

static int do_map(const Common *c, Img *img, GError **errp)
{
    g_autoptr(GArray) ext = g_array_new(FALSE, FALSE, sizeof(WdNbdExtent));
    WdNbdExtent cur = { 0 };
    uint64_t pos = 0, cur_start = 0;
    bool first = true;

    while (pos < img->size) {
        g_array_set_size(ext, 0);
        if (img_extents(img, pos, MIN(STATUS_SPAN, img->size - pos), ext,
                        errp) < 0) {
            return 1;
        }
        for (guint i = 0; i < ext->len; i++) {
            WdNbdExtent *e = &g_array_index(ext, WdNbdExtent, i);

            if (cur.length && cur.flags == e->flags) {
                cur.length += e->length;
            } else {
                if (cur.length) {
                    map_print(c, &first, cur_start, &cur);
                }
                cur = *e;
                cur_start = pos;
            }
            pos += e->length;
        }
    }
    if (cur.length) {
        map_print(c, &first, cur_start, &cur);
    }
    if (json_out(c)) {
        printf(first ? "[]\n" : "]\n");
    }
    return 0;
}

static int cmd_map(int argc, char **argv)
{
    Common c = { 0 };
    GOptionEntry extra[] = {
        { "output", 0, 0, G_OPTION_ARG_STRING, &c.output,
          "human (default) or json (as qemu-img map)", "FMT" },
        { NULL },
    };
    g_autoptr(GError) err = NULL;
    int ret = parse("IMAGE - show which ranges hold data and which read as "
                    "zeroes", NULL, extra, &c, &argc, &argv, 1, 1);

    if (ret < 0) {
        g_autoptr(Img) img = open_ro(&c, argv[1], &err);
        ret = img ? do_map(&c, img, &err) : 1;
        if (ret) {
            wd_cmd_error("%s", err->message);
        }
    }
    common_clear(&c);
    return ret;
}

/* ---- create -------------------------------------------------------------- */

static int cmd_create(int argc, char **argv)
{
    Common c = { 0 };
    g_autoptr(GError) err = NULL;
    uint64_t size;
    int ret = parse("FILE SIZE - create a sparse raw image (SIZE may end in "
                    "k, M, G, T)", NULL, NULL, &c, &argc, &argv, 2, 2);

    if (ret >= 0) {
        common_clear(&c);
        return ret;
    }
    ret = 1;
    if (wd_nbd_uri_is_uri(argv[1]) || c.image_opts) {
        wd_cmd_error("warden img create makes local files only; an NBD "
                     "export is created on its server");
    } else if (img_parse_size(argv[2], &size, &err)) {
        int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                      0644);

        if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
            wd_cmd_error("Cannot create '%s': %s", argv[1],
                         g_strerror(errno));
        } else {
            printf("Formatting '%s', fmt=raw size=%" PRIu64 "\n", argv[1],
                   size);
            ret = 0;
        }
        if (fd >= 0) {
            close(fd);
        }
    } else {
        wd_cmd_error("%s", err->message);
    }
    common_clear(&c);
    return ret;
}

/* ---- list ---------------------------------------------------------------- */

static int cmd_list(int argc, char **argv)
{
    Common c = { 0 };
    g_autoptr(GError) err = NULL;
    g_autoptr(WdNbdUri) u = NULL;
    g_autoptr(WdTlsCreds) creds = NULL;
    g_autoptr(GPtrArray) list = NULL;
    WdNbdClientConfig cfg = { 0 };
    int ret = parse("URI - list the exports of an NBD server (like qemu-nbd "
                    "-L)", NULL, NULL, &c, &argc, &argv, 1, 1);

    if (ret >= 0) {
        common_clear(&c);
        return ret;
    }
    u = wd_nbd_uri_parse(argv[1], &err);
    if (u) {
        creds = wd_nbd_uri_load_tls(u, &err);
    }
    if (u && !err) {
        wd_nbd_uri_fill_config(u, creds, &cfg);
        list = wd_nbd_client_list_exports(&cfg, &err);
    }
    if (list) {
        wd_cmd_print_exports(list);
        ret = 0;
    } else {
        wd_cmd_error("%s", err->message);
        ret = 1;
    }
    common_clear(&c);
    return ret;
}

/* ---- compare ------------------------------------------------------------- */

/* Offset of the first byte where @a and @b differ (both @len long), or
 * @len. */
static size_t first_difference(const uint8_t *a, const uint8_t *b,
                               size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t step = MIN(len - i, 4096);

        if (memcmp(a + i, b + i, step) != 0) {
            while (a[i] == b[i]) {
                i++;
            }
            return i;
        }
        i += step;
    }
    return len;
}

/* Compares A and B over [0, common) and checks the longer one's tail
 * reads as zeroes. Returns 0 same, 1 different (printed), 2 error. */
static int do_compare(Img *a, Img *b, GError **errp)
{
    uint64_t common = MIN(a->size, b->size);
    uint64_t total = MAX(a->size, b->size);
    Img *longer = a->size > b->size ? a : b;
    g_autofree uint8_t *ba = g_malloc(IMG_REQUEST_SIZE);
    g_autofree uint8_t *bb = g_malloc(IMG_REQUEST_SIZE);

    if (a->size != b->size) {
        printf("Warning: Image size mismatch!\n");
    }
    for (uint64_t pos = 0; pos < total;) {
        uint64_t len = MIN(IMG_REQUEST_SIZE,
                           pos < common ? common - pos : total - pos);
        size_t d;

        if (pos < common) {
            if (img_read(a, ba, pos, len, errp) < 0 ||
                img_read(b, bb, pos, len, errp) < 0) {
                return 2;
            }
            d = first_difference(ba, bb, len);
        } else {
            if (img_read(longer, ba, pos, len, errp) < 0) {
                return 2;
            }
            memset(bb, 0, len);
            d = first_difference(ba, bb, len);
        }
        if (d < len) {
            printf("Content mismatch at offset %" PRIu64 "!\n", pos + d);
            return 1;
        }
        pos += len;
    }
    printf("Images are identical.\n");
    return 0;
}

static int cmd_compare(int argc, char **argv)
{
    Common c = { 0 };
    g_autoptr(GError) err = NULL;
    int ret = parse("IMAGE1 IMAGE2 - compare two images (exit 0 same, 1 "
                    "different, 2 error)", NULL, NULL, &c, &argc, &argv, 2,
                    2);

    if (ret >= 0) {
        common_clear(&c);
        return ret == 1 ? 2 : ret;
    }
    g_autoptr(Img) a = open_ro(&c, argv[1], &err);
    g_autoptr(Img) b = a ? open_ro(&c, argv[2], &err) : NULL;
    ret = a && b ? do_compare(a, b, &err) : 2;
    if (ret == 2) {
        wd_cmd_error("%s", err->message);
    }
    common_clear(&c);
    return ret;
}

/* ---- dispatch ------------------------------------------------------------ */

static const WdSubcommand img_commands[] = {
    { "info", "show an image's or NBD export's size, flags and TLS state",
      cmd_info },
    { "convert", "copy an image (files and NBD URIs, in parallel, sparse)",
      img_cmd_convert },
    { "compare", "compare two images", cmd_compare },
    { "map", "show allocated and zero ranges", cmd_map },
    { "create", "create a sparse raw image file", cmd_create },
    { "list", "list the exports of an NBD server", cmd_list },
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: warden img COMMAND [OPTION...] ARGS\n\n"
                 "Inspect and copy images and NBD exports (nbd://, nbds://, "
                 "nbd+unix://, nbds+unix:// URIs).\n\nCommands:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(img_commands); i++) {
        fprintf(out, "  %-8s %s\n", img_commands[i].name,
                img_commands[i].summary);
    }
    fprintf(out, "\nRun 'warden img COMMAND --help' for its options.\n");
}

int wd_cmd_img(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(img_commands); i++) {
        if (strcmp(argv[1], img_commands[i].name) == 0) {
            return img_commands[i].main(argc - 1, argv + 1);
        }
    }
    wd_cmd_error("unknown img command '%s'; run 'warden img --help' for "
                 "the list", argv[1]);
    return 1;
}
