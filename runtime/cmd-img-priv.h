/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of `warden img`: one image type over the three kinds of
 * image it handles (a local file, an NBD export, a null sink), shared by
 * cmd-img.c (info, map, create, list, compare), cmd-img-convert.c and
 * cmd-img-image.c (opening images).
 */
#ifndef WARDEN_CMD_IMG_PRIV_H
#define WARDEN_CMD_IMG_PRIV_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/block/block.h"
#include "runtime/nbd/client.h"

/* Default and largest copy/compare request size. */
#define IMG_REQUEST_SIZE (256 * 1024)
#define IMG_MAX_REQUEST_SIZE (32 * 1024 * 1024)
/* Most extents collected from a local file per query. */
#define IMG_MAX_FILE_EXTENTS 1024

typedef enum {
    IMG_FILE,
    IMG_NBD,
    IMG_NULL,                   /* /dev/null or null: -- writes vanish */
} ImgKind;

typedef struct {
    ImgKind kind;
    char *label;                /* for messages: file name, URI, ... */
    WdNbdClient *nbd;           /* IMG_NBD */
    WdBlockNode *node;          /* IMG_FILE */
    uint64_t size;
    bool read_only;
    bool fresh;                 /* known to read as zeroes everywhere */
    char *tls_type;             /* "x509"/"psk"/"anon" with TLS, or NULL */
} Img;

/* How to open one image. */
typedef struct {
    const char *spec;           /* file name, NBD URI, or keyval options */
    bool image_opts;            /* @spec is "driver=...,..." */
    bool writable;
    bool create;                /* local file: create/truncate to size */
    uint64_t create_size;
    unsigned nconns;            /* NBD connections wanted */
    double reconnect_delay;     /* NBD, unless the options set it */
    double open_timeout;
} ImgOpenArgs;

Img *img_open(const ImgOpenArgs *a, GError **errp);
void img_close(Img *img);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Img, img_close)

/* All return 0 or a negative errno with @errp set (naming the image and
 * the offset); any thread, concurrently. */
int img_read(Img *img, void *buf, uint64_t off, uint64_t len, GError **errp);
int img_write(Img *img, const void *buf, uint64_t off, uint64_t len,
              GError **errp);
/* Makes the range read as zeroes: write zeroes (may deallocate), else
 * writes zero buffers. */
int img_zero(Img *img, uint64_t off, uint64_t len, GError **errp);
int img_flush(Img *img, GError **errp);
/* Appends extents (WdNbdExtent, NBD_STATE_* flags) describing [off, ...)
 * inside [off, off + len): at least one. Images without block status
 * report data. */
int img_extents(Img *img, uint64_t off, uint64_t len, GArray *out,
                GError **errp);

/* Create the --object arguments (registering the object types first). */
bool img_create_objects(GPtrArray *args, GError **errp);

/* "10G", "512k", "1048576": k/K, M, G, T, P, E are powers of 1024. */
bool img_parse_size(const char *s, uint64_t *out, GError **errp);

/* True if all @len bytes are zero. */
bool img_is_zero(const void *buf, size_t len);

int img_cmd_convert(int argc, char **argv);

#endif
