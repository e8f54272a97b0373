/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The WD_ERROR domain and its QMP class names. */
#include "runtime/error.h"

#include <string.h>

G_DEFINE_QUARK(warden-error-quark, wd_error)

const char *wd_error_class_name(const GError *err)
{
    if (err && err->domain == WD_ERROR) {
        switch ((WdErrorClass)err->code) {
        case WD_ERROR_COMMAND_NOT_FOUND:
            return "CommandNotFound";
        case WD_ERROR_DEVICE_NOT_FOUND:
            return "DeviceNotFound";
        case WD_ERROR_GENERIC:
            break;
        }
    }
    return "GenericError";
}

void wd_error_setg(GError **errp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(errp, WD_ERROR, WD_ERROR_GENERIC, msg);
}

void wd_error_setg_errno(GError **errp, int errnum, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, WD_ERROR, WD_ERROR_GENERIC, "%s: %s", msg,
                g_strerror(errnum));
}
