/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cryptographically strong random bytes from the kernel (getrandom), for
 * keys, IVs, salts and nonces.
 */
#ifndef WARDEN_CRYPTO_RANDOM_H
#define WARDEN_CRYPTO_RANDOM_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Fill the @len bytes at @buf with random bytes.  Blocks only until the
 * kernel's pool is initialised (early boot).  Safe from any thread.
 * Returns: false if the kernel refuses (the error names the byte count and
 * the reason); @buf may then be partly written and must not be used.
 */
bool wd_random_bytes(void *buf, size_t len, GError **errp);

#endif
