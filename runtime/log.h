/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging to stderr (or the journal when run under systemd, which reads
 * stderr). Never pass secret bytes to these functions.
 */
#ifndef WARDEN_LOG_H
#define WARDEN_LOG_H

#include <glib.h>

typedef enum {
    WD_LOG_ERROR,
    WD_LOG_WARNING,
    WD_LOG_INFO,
    WD_LOG_DEBUG,
} WdLogLevel;

/* Default WD_LOG_WARNING; WARDEN_LOG=debug|info|warning|error overrides. */
void wd_log_set_level(WdLogLevel level);
WdLogLevel wd_log_get_level(void);
void wd_log(WdLogLevel level, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#define wd_error_report(...) wd_log(WD_LOG_ERROR, __VA_ARGS__)
#define wd_warn(...) wd_log(WD_LOG_WARNING, __VA_ARGS__)
#define wd_info(...) wd_log(WD_LOG_INFO, __VA_ARGS__)
#define wd_debug(...) wd_log(WD_LOG_DEBUG, __VA_ARGS__)

#endif
