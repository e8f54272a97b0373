/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Error conventions: fallible functions take GError **errp last and
 * return bool (true = success), a pointer (NULL = failure) or a
 * non-negative int. Errors carry a class that QMP maps to QEMU's
 * error classes.
 */
#ifndef WARDEN_ERROR_H
#define WARDEN_ERROR_H

#include <glib.h>

#define WD_ERROR wd_error_quark()
GQuark wd_error_quark(void);

/* The code of a WD_ERROR is the QMP error class. */
typedef enum {
    WD_ERROR_GENERIC = 0,          /* GenericError */
    WD_ERROR_COMMAND_NOT_FOUND,    /* CommandNotFound */
    WD_ERROR_DEVICE_NOT_FOUND,     /* DeviceNotFound */
} WdErrorClass;

/* Name of the QMP error class of @err (GenericError for foreign domains). */
const char *wd_error_class_name(const GError *err);

/* Set a GenericError; printf-style. */
void wd_error_setg(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Set a GenericError with strerror(@errnum) appended after ": ". */
void wd_error_setg_errno(GError **errp, int errnum, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

#endif
