/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Random bytes via getrandom(2): no file descriptor to open (so it works
 * in a chroot or after the fd limit is hit) and no weak fallback.
 */
#include "runtime/crypto/random.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

#include "runtime/error.h"

bool wd_random_bytes(void *buf, size_t len, GError **errp)
{
    uint8_t *p = buf;
    size_t done = 0;

    /*
     * getrandom() may return fewer bytes than asked (over 256 bytes when
     * interrupted by a signal, and never more than 32 MiB per call), so
     * loop until the buffer is full.
     */
    while (done < len) {
        ssize_t n = getrandom(p + done, len - done, 0);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            wd_error_setg_errno(errp, errno, "Unable to read %zu random bytes",
                                len);
            return false;
        }
        done += (size_t)n;
    }
    return true;
}
