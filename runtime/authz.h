/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Identity matching for authorization: exact and glob matches of x509
 * distinguished names (accepted in RFC 4514 order, CN first, and in
 * GnuTLS's legacy order, C first) and PSK usernames.
 */
#ifndef WARDEN_AUTHZ_H
#define WARDEN_AUTHZ_H

#include <stdbool.h>

/* True if @identity equals @want, comparing DNs component by component
 * in either order. */
bool wd_authz_match_exact(const char *want, const char *identity);
/* True if shell glob @pattern (? and *) matches @identity in either DN
 * order. */
bool wd_authz_match_glob(const char *pattern, const char *identity);

#endif
