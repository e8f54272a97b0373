/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Leveled logging to stderr, safe to call from any thread. */
#include "runtime/log.h"

#include <stdio.h>
#include <string.h>

static gint log_level = -1;

static WdLogLevel level_from_env(void)
{
    const char *e = g_getenv("WARDEN_LOG");

    if (!e) {
        return WD_LOG_WARNING;
    }
    if (strcmp(e, "debug") == 0) {
        return WD_LOG_DEBUG;
    }
    if (strcmp(e, "info") == 0) {
        return WD_LOG_INFO;
    }
    if (strcmp(e, "error") == 0) {
        return WD_LOG_ERROR;
    }
    return WD_LOG_WARNING;
}

void wd_log_set_level(WdLogLevel level)
{
    g_atomic_int_set(&log_level, (gint)level);
}

WdLogLevel wd_log_get_level(void)
{
    gint l = g_atomic_int_get(&log_level);

    if (l < 0) {
        l = level_from_env();
        g_atomic_int_set(&log_level, l);
    }
    return (WdLogLevel)l;
}

void wd_log(WdLogLevel level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    va_list ap;

    if (level > wd_log_get_level()) {
        return;
    }
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    /* One fprintf per line so lines from threads do not interleave. */
    fprintf(stderr, "warden: %s: %s\n", names[level], msg);
}
