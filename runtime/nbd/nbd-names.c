/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Printable names of NBD protocol values (for logs and error messages) and
 * the mapping between host errno values and NBD wire error values.
 */
#include "runtime/nbd/nbd-protocol.h"

#include <errno.h>
#include <stdlib.h>

/* Each case expands to `case NBD_X: return "NBD_X";`, so a name can never
 * disagree with the constant it names. */
#define NAME(x) case x: return #x

const char *name_of_nbd_opt(uint32_t opt)
{
    switch (opt) {
    NAME(NBD_OPT_EXPORT_NAME);
    NAME(NBD_OPT_ABORT);
    NAME(NBD_OPT_LIST);
    NAME(NBD_OPT_PEEK_EXPORT);
    NAME(NBD_OPT_STARTTLS);
    NAME(NBD_OPT_INFO);
    NAME(NBD_OPT_GO);
    NAME(NBD_OPT_STRUCTURED_REPLY);
    NAME(NBD_OPT_LIST_META_CONTEXT);
    NAME(NBD_OPT_SET_META_CONTEXT);
    NAME(NBD_OPT_EXTENDED_HEADERS);
    default:
        return "unknown";
    }
}

const char *name_of_nbd_rep(uint32_t rep)
{
    switch (rep) {
    NAME(NBD_REP_ACK);
    NAME(NBD_REP_SERVER);
    NAME(NBD_REP_INFO);
    NAME(NBD_REP_META_CONTEXT);
    NAME(NBD_REP_ERR_UNSUP);
    NAME(NBD_REP_ERR_POLICY);
    NAME(NBD_REP_ERR_INVALID);
    NAME(NBD_REP_ERR_PLATFORM);
    NAME(NBD_REP_ERR_TLS_REQD);
    NAME(NBD_REP_ERR_UNKNOWN);
    NAME(NBD_REP_ERR_SHUTDOWN);
    NAME(NBD_REP_ERR_BLOCK_SIZE_REQD);
    NAME(NBD_REP_ERR_TOO_BIG);
    NAME(NBD_REP_ERR_EXT_HEADER_REQD);
    default:
        return "unknown";
    }
}

const char *name_of_nbd_info(uint16_t info)
{
    switch (info) {
    NAME(NBD_INFO_EXPORT);
    NAME(NBD_INFO_NAME);
    NAME(NBD_INFO_DESCRIPTION);
    NAME(NBD_INFO_BLOCK_SIZE);
    default:
        return "unknown";
    }
}

const char *name_of_nbd_cmd(uint16_t cmd)
{
    switch (cmd) {
    NAME(NBD_CMD_READ);
    NAME(NBD_CMD_WRITE);
    NAME(NBD_CMD_DISC);
    NAME(NBD_CMD_FLUSH);
    NAME(NBD_CMD_TRIM);
    NAME(NBD_CMD_CACHE);
    NAME(NBD_CMD_WRITE_ZEROES);
    NAME(NBD_CMD_BLOCK_STATUS);
    NAME(NBD_CMD_RESIZE);
    default:
        return "unknown";
    }
}

const char *name_of_nbd_reply_type(uint16_t type)
{
    switch (type) {
    NAME(NBD_REPLY_TYPE_NONE);
    NAME(NBD_REPLY_TYPE_OFFSET_DATA);
    NAME(NBD_REPLY_TYPE_OFFSET_HOLE);
    NAME(NBD_REPLY_TYPE_BLOCK_STATUS);
    NAME(NBD_REPLY_TYPE_BLOCK_STATUS_EXT);
    NAME(NBD_REPLY_TYPE_ERROR);
    NAME(NBD_REPLY_TYPE_ERROR_OFFSET);
    default:
        return "unknown";
    }
}

const char *name_of_nbd_error(uint32_t err)
{
    switch (err) {
    NAME(NBD_SUCCESS);
    NAME(NBD_EPERM);
    NAME(NBD_EIO);
    NAME(NBD_ENOMEM);
    NAME(NBD_EINVAL);
    NAME(NBD_ENOSPC);
    NAME(NBD_EOVERFLOW);
    NAME(NBD_ENOTSUP);
    NAME(NBD_ESHUTDOWN);
    default:
        return "unknown";
    }
}

#undef NAME

int nbd_errno_to_wire(int err)
{
    /* labs on a long: abs(INT_MIN) would overflow */
    switch (labs((long)err)) {
    case 0:
        return NBD_SUCCESS;
    case EPERM:
    case EROFS:     /* a read-only backing store: writes are not permitted */
    case EACCES:
        return NBD_EPERM;
    case EIO:
        return NBD_EIO;
    case ENOMEM:
        return NBD_ENOMEM;
    case ENOSPC:
    case EDQUOT:    /* the spec asks for ENOSPC on quota and size limits */
    case EFBIG:
        return NBD_ENOSPC;
    case EOVERFLOW:
        return NBD_EOVERFLOW;
    case ENOTSUP:   /* == EOPNOTSUPP on Linux */
        return NBD_ENOTSUP;
    case ESHUTDOWN:
        return NBD_ESHUTDOWN;
    case EINVAL:
    default:
        /* Internal details (ENOENT, EBADF, ...) mean nothing to the peer
         * and must not leak; EINVAL is the spec's catch-all. */
        return NBD_EINVAL;
    }
}

int nbd_wire_to_errno(uint32_t err)
{
    switch (err) {
    case NBD_SUCCESS:
        return 0;
    case NBD_EPERM:
        return EPERM;
    case NBD_EIO:
        return EIO;
    case NBD_ENOMEM:
        return ENOMEM;
    case NBD_ENOSPC:
        return ENOSPC;
    case NBD_EOVERFLOW:
        return EOVERFLOW;
    case NBD_ENOTSUP:
        return ENOTSUP;
    case NBD_ESHUTDOWN:
        return ESHUTDOWN;
    case NBD_EINVAL:
    default:
        /* "clients SHOULD treat unknown values as EINVAL" */
        return EINVAL;
    }
}
