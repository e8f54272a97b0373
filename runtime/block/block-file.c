/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "file" block driver: a regular file or a block device accessed with
 * positioned syscalls (preadv/pwritev, fallocate, lseek SEEK_DATA), so one
 * fd serves many I/O threads at once without any lock.
 */
#include "runtime/block/block.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/error.h"

/* O_DIRECT alignment for regular files: we cannot ask the file system
 * portably (STATX_DIOALIGN is too new), and 4 KiB satisfies every common
 * one. */
#define FILE_DIRECT_ALIGNMENT 4096

/* iovec entries kept on the stack before falling back to the heap. */
#define STACK_IOV 16

typedef struct FileState {
    int fd;
    char *filename;
    bool is_blockdev;
    bool direct;
    /* Set (atomically) once the kernel said a feature is unsupported, so
     * we stop asking on every request. */
    gint no_punch_hole;
    gint no_zero_range;
    gint no_seek_data;
    /*
     * The last allocated extent SEEK_DATA/SEEK_HOLE found, [data_start,
     * data_end), so that block status inside it costs no lseek: on tmpfs
     * SEEK_HOLE walks every page up to the next hole, which for a fully
     * allocated image is EOF (milliseconds per call; nbdcopy asks for
     * every 128 MiB on each connection).  Writes never turn data into
     * holes; discard and write_zeroes may, so they drop the extent and
     * bump extent_gen, and an lseek answer obtained across such a call
     * is not remembered.  Someone else punching holes in the file behind
     * our back only makes us report data where there are zeroes, which
     * is always a correct answer.
     */
    GMutex extent_lock;
    uint64_t data_start, data_end;      /* empty when equal */
    uint64_t extent_gen;
} FileState;

static FileState *file_state(WdBlockNode *bs)
{
    return wd_block_node_opaque(bs);
}

/* Drops @n transferred bytes from the front of the iovec (*iov, *niov). */
static void iov_advance(struct iovec **iov, int *niov, size_t n)
{
    while (n > 0 && *niov > 0) {
        if (n < (*iov)->iov_len) {
            (*iov)->iov_base = (char *)(*iov)->iov_base + n;
            (*iov)->iov_len -= n;
            return;
        }
        n -= (*iov)->iov_len;
        (*iov)++;
        (*niov)--;
    }
    /* Skip empty entries so an all-empty tail ends the loop. */
    while (*niov > 0 && (*iov)->iov_len == 0) {
        (*iov)++;
        (*niov)--;
    }
}

/*
 * preadv/pwritev until @len bytes moved.  The kernel may transfer less
 * than asked (signals, file-system limits such as the 2 GiB cap per call),
 * so we loop on a private copy of the iovec.  A read hitting EOF means the
 * file shrank under us: the rest reads as zeroes, like a hole.
 */
static int file_rw(FileState *s, uint64_t offset, const struct iovec *iov,
                   int niov, uint64_t len, bool write)
{
    struct iovec stack_iov[STACK_IOV];
    g_autofree struct iovec *heap_iov = NULL;
    struct iovec *cur = stack_iov;
    int ncur = niov;

    if (niov > STACK_IOV) {
        cur = heap_iov = g_new(struct iovec, niov);
    }
    memcpy(cur, iov, niov * sizeof(*iov));

    while (len > 0) {
        ssize_t n = write ? pwritev(s->fd, cur, ncur, offset)
                          : preadv(s->fd, cur, ncur, offset);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            if (write) {
                return -EIO;    /* no progress: don't spin */
            }
            for (int i = 0; i < ncur; i++) {
                memset(cur[i].iov_base, 0, cur[i].iov_len);
            }
            return 0;
        }
        offset += n;
        len -= n;
        iov_advance(&cur, &ncur, n);
    }
    return 0;
}

static int file_flush(WdBlockNode *bs)
{
    return fdatasync(file_state(bs)->fd) < 0 ? -errno : 0;
}

static int file_preadv(WdBlockNode *bs, uint64_t offset,
                       const struct iovec *iov, int niov, uint64_t len)
{
    return file_rw(file_state(bs), offset, iov, niov, len, false);
}

static int file_pwritev(WdBlockNode *bs, uint64_t offset,
                        const struct iovec *iov, int niov, uint64_t len,
                        int flags)
{
    int ret = file_rw(file_state(bs), offset, iov, niov, len, true);

    if (ret == 0 && (flags & WD_BLOCK_FUA)) {
        ret = file_flush(bs);
    }
    return ret;
}

/*
 * fallocate(@mode), remembering in *@unsupported when the file system or
 * device lacks @mode.  Returns 0, -ENOTSUP (try something else) or another
 * negative errno (a real failure such as -EIO or -ENOSPC).
 */
static int try_fallocate(FileState *s, int mode, uint64_t offset,
                         uint64_t len, gint *unsupported)
{
    int ret;

    if (unsupported && g_atomic_int_get(unsupported)) {
        return -ENOTSUP;
    }
    do {
        ret = fallocate(s->fd, mode, offset, len);
    } while (ret < 0 && errno == EINTR);
    if (ret == 0) {
        return 0;
    }
    switch (errno) {
    case EOPNOTSUPP:
    case ENOSYS:
    case ENOTTY:
        if (unsupported) {
            g_atomic_int_set(unsupported, 1);
        }
        return -ENOTSUP;
    case EINVAL:
        /* E.g. a block device rejecting a range that is not aligned to
         * its discard granularity: unsupported for this request only. */
        return -ENOTSUP;
    default:
        return -errno;
    }
}

/* After anything that may have deallocated [@offset, @offset + @len):
 * forget the remembered data extent if it overlaps. */
static void extent_forget(FileState *s, uint64_t offset, uint64_t len)
{
    g_mutex_lock(&s->extent_lock);
    s->extent_gen++;
    if (offset < s->data_end && offset + len > s->data_start) {
        s->data_start = s->data_end = 0;
    }
    g_mutex_unlock(&s->extent_lock);
}

static int file_discard(WdBlockNode *bs, uint64_t offset, uint64_t len)
{
    FileState *s = file_state(bs);
    int ret = try_fallocate(s, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                            offset, len, &s->no_punch_hole);

    extent_forget(s, offset, len);
    /* Discard is advisory: not being able to deallocate is no error. */
    return ret == -ENOTSUP ? 0 : ret;
}

/*
 * Fast zeroing.  -ENOTSUP tells the wrapper to write zero buffers (or, for
 * WD_BLOCK_NO_FALLBACK, to report that zeroing would be slow).
 */
static int file_write_zeroes(WdBlockNode *bs, uint64_t offset, uint64_t len,
                             int flags)
{
    FileState *s = file_state(bs);
    const int punch = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
    int ret = -ENOTSUP;

    if (flags & WD_BLOCK_MAY_UNMAP) {
        ret = try_fallocate(s, punch, offset, len, &s->no_punch_hole);
    }
    if (s->is_blockdev) {
        /*
         * On a block device PUNCH_HOLE unmaps with guaranteed zeroes and
         * never falls back, but ZERO_RANGE may make the kernel write zero
         * pages itself: that is not "fast", so skip it for NO_FALLBACK.
         */
        if (ret == -ENOTSUP && !(flags & WD_BLOCK_NO_FALLBACK)) {
            ret = try_fallocate(s, FALLOC_FL_ZERO_RANGE, offset, len,
                                &s->no_zero_range);
        }
    } else {
        if (ret == -ENOTSUP) {
            ret = try_fallocate(s, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
                                offset, len, &s->no_zero_range);
        }
        if (ret == -ENOTSUP && !(flags & WD_BLOCK_MAY_UNMAP)) {
            /* No ZERO_RANGE (tmpfs, older file systems): punching and
             * reallocating gives allocated zeroes just as fast. */
            ret = try_fallocate(s, punch, offset, len, &s->no_punch_hole);
            if (ret == 0) {
                ret = try_fallocate(s, FALLOC_FL_KEEP_SIZE, offset, len,
                                    NULL);
                /* Reallocation is best effort: the range reads as zeroes
                 * either way. */
                if (ret == -ENOTSUP) {
                    ret = 0;
                }
            }
        }
    }
    extent_forget(s, offset, len);
    if (ret == 0 && (flags & WD_BLOCK_FUA)) {
        /* fallocate changes metadata only; make it durable. */
        ret = file_flush(bs);
    }
    return ret;
}

static int file_block_status(WdBlockNode *bs, uint64_t offset, uint64_t len,
                             uint64_t *pnum, int *status)
{
    FileState *s = file_state(bs);
    off_t data, hole;
    uint64_t gen;

    /*
     * lseek moves the shared file position, which is harmless: every read
     * and write here is positioned (preadv/pwritev).
     */
    if (s->is_blockdev || g_atomic_int_get(&s->no_seek_data)) {
        goto all_data;
    }
    g_mutex_lock(&s->extent_lock);
    gen = s->extent_gen;
    if (offset >= s->data_start && offset < s->data_end) {
        *pnum = MIN(s->data_end - offset, len);
        g_mutex_unlock(&s->extent_lock);
        *status = WD_BLOCK_DATA;
        return 0;
    }
    g_mutex_unlock(&s->extent_lock);
    data = lseek(s->fd, offset, SEEK_DATA);
    if (data < 0) {
        if (errno == ENXIO) {
            /* No data from @offset to EOF: a trailing hole. */
            *pnum = len;
            *status = WD_BLOCK_ZERO;
            return 0;
        }
        if (errno == EINVAL || errno == EOPNOTSUPP) {
            g_atomic_int_set(&s->no_seek_data, 1);
        }
        goto all_data;
    }
    if ((uint64_t)data > offset) {
        *pnum = MIN((uint64_t)data - offset, len);
        *status = WD_BLOCK_ZERO;
        return 0;
    }
    hole = lseek(s->fd, offset, SEEK_HOLE);
    if (hole < 0 || (uint64_t)hole <= offset) {
        /* The file changed between the two calls: claim data, which is
         * always a safe answer. */
        goto all_data;
    }
    g_mutex_lock(&s->extent_lock);
    if (s->extent_gen == gen) {
        s->data_start = offset;
        s->data_end = hole;
    }
    g_mutex_unlock(&s->extent_lock);
    *pnum = MIN((uint64_t)hole - offset, len);
    *status = WD_BLOCK_DATA;
    return 0;

all_data:
    *pnum = len;
    *status = WD_BLOCK_DATA;
    return 0;
}

static int file_get_fd(WdBlockNode *bs, uint64_t *offset, uint64_t len)
{
    FileState *s = file_state(bs);

    /* sendfile/splice go through the page cache, which an O_DIRECT user
     * asked us to bypass. */
    return s->direct ? -ENOTSUP : s->fd;
}

static bool file_can_zero_fast(WdBlockNode *bs)
{
    FileState *s = file_state(bs);

    if (s->is_blockdev) {
        return !g_atomic_int_get(&s->no_punch_hole);
    }
    return !g_atomic_int_get(&s->no_punch_hole) ||
           !g_atomic_int_get(&s->no_zero_range);
}

static void file_state_free(FileState *s)
{
    if (s->fd >= 0) {
        close(s->fd);
    }
    g_mutex_clear(&s->extent_lock);
    g_free(s->filename);
    g_free(s);
}

static void file_close(WdBlockNode *bs)
{
    file_state_free(file_state(bs));
}

static const WdBlockDriver file_driver = {
    .name = "file",
    .preadv = file_preadv,
    .pwritev = file_pwritev,
    .flush = file_flush,
    .discard = file_discard,
    .write_zeroes = file_write_zeroes,
    .block_status = file_block_status,
    .get_fd = file_get_fd,
    .can_zero_fast = file_can_zero_fast,
    .close = file_close,
};

/* Size and O_DIRECT alignment of the open file @s. */
static bool file_probe(FileState *s, uint64_t *size, uint32_t *alignment,
                       GError **errp)
{
    struct stat st;

    if (fstat(s->fd, &st) < 0) {
        wd_error_setg_errno(errp, errno, "Could not stat '%s'", s->filename);
        return false;
    }
    *alignment = 1;
    if (S_ISREG(st.st_mode)) {
        *size = st.st_size;
        if (s->direct) {
            *alignment = FILE_DIRECT_ALIGNMENT;
        }
    } else if (S_ISBLK(st.st_mode)) {
        s->is_blockdev = true;
        if (ioctl(s->fd, BLKGETSIZE64, size) < 0) {
            wd_error_setg_errno(errp, errno, "Could not get the size of "
                                "block device '%s'", s->filename);
            return false;
        }
        if (s->direct) {
            int sector = 0;

            if (ioctl(s->fd, BLKSSZGET, &sector) < 0 || sector <= 0 ||
                sector > WD_BLOCK_MAX_ALIGNMENT ||
                (sector & (sector - 1)) != 0) {
                sector = FILE_DIRECT_ALIGNMENT;
            }
            *alignment = sector;
        }
    } else {
        wd_error_setg(errp, "Could not open '%s': not a regular file or "
                      "block device", s->filename);
        return false;
    }
    if (*size % *alignment != 0) {
        wd_error_setg(errp, "Could not open '%s' with O_DIRECT: its size "
                      "(%" PRIu64 " bytes) is not a multiple of %" PRIu32
                      " bytes", s->filename, *size, *alignment);
        return false;
    }
    return true;
}

WdBlockNode *wd_block_file_open(const char *node_name, const char *filename,
                                bool read_only, bool direct, GError **errp)
{
    FileState *s;
    WdBlockNode *bs;
    uint64_t size = 0;
    uint32_t alignment = 1;
    int oflags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;

    if (direct) {
        oflags |= O_DIRECT;
    }
    s = g_new0(FileState, 1);
    g_mutex_init(&s->extent_lock);
    s->filename = g_strdup(filename);
    s->direct = direct;
    s->fd = open(filename, oflags);
    if (s->fd < 0) {
        if (direct && errno == EINVAL) {
            wd_error_setg_errno(errp, errno, "Could not open '%s' with "
                                "O_DIRECT (not supported by its file "
                                "system?)", filename);
        } else {
            wd_error_setg_errno(errp, errno, "Could not open '%s'",
                                filename);
        }
        goto fail;
    }
    if (!file_probe(s, &size, &alignment, errp)) {
        goto fail;
    }
    bs = wd_block_node_new(&file_driver, node_name, size, read_only,
                           alignment, s, errp);
    if (!bs) {
        goto fail;
    }
    return bs;

fail:
    file_state_free(s);
    return NULL;
}
