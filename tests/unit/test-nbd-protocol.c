/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests for runtime/nbd/nbd-protocol.h: wire struct layouts against the
 * spec, magic byte strings, name_of_* strings and the errno mapping.
 */
#include "runtime/nbd/nbd-protocol.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <glib.h>

typedef struct {
    const char *name;
    size_t size;
    size_t expected;
} SizeCase;

static void test_struct_sizes(void)
{
    static const SizeCase cases[] = {
        { .name = "greeting", .size = sizeof(NbdNewGreeting),
          .expected = 18 },
        { .name = "export name reply", .size = sizeof(NbdExportNameReply),
          .expected = 10 },
        { .name = "option header", .size = sizeof(NbdOption),
          .expected = 16 },
        { .name = "option reply header",
          .size = sizeof(NbdFixedNewOptionReply), .expected = 20 },
        { .name = "info export", .size = sizeof(NbdInfoExport),
          .expected = 12 },
        { .name = "info block size", .size = sizeof(NbdInfoBlockSize),
          .expected = 14 },
        { .name = "request", .size = sizeof(NbdRequest), .expected = 28 },
        { .name = "extended request", .size = sizeof(NbdExtendedRequest),
          .expected = 32 },
        { .name = "simple reply", .size = sizeof(NbdSimpleReply),
          .expected = 16 },
        { .name = "structured chunk", .size = sizeof(NbdStructuredReply),
          .expected = 20 },
        { .name = "extended chunk", .size = sizeof(NbdExtendedReply),
          .expected = 32 },
        { .name = "offset hole", .size = sizeof(NbdChunkOffsetHole),
          .expected = 12 },
        { .name = "error chunk", .size = sizeof(NbdChunkError),
          .expected = 6 },
        { .name = "block descriptor", .size = sizeof(NbdBlockDescriptor),
          .expected = 8 },
        { .name = "ext. block descriptor",
          .size = sizeof(NbdBlockDescriptorExt), .expected = 16 },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        if (cases[i].size != cases[i].expected) {
            g_test_message("wrong size: %s", cases[i].name);
        }
        g_assert_cmpuint(cases[i].size, ==, cases[i].expected);
    }
}

/* Field offsets as drawn in the spec. */
static void test_field_offsets(void)
{
    g_assert_cmpuint(offsetof(NbdNewGreeting, gflags), ==, 16);
    g_assert_cmpuint(offsetof(NbdOption, option), ==, 8);
    g_assert_cmpuint(offsetof(NbdOption, optlen), ==, 12);
    g_assert_cmpuint(offsetof(NbdFixedNewOptionReply, option), ==, 8);
    g_assert_cmpuint(offsetof(NbdFixedNewOptionReply, reply), ==, 12);
    g_assert_cmpuint(offsetof(NbdFixedNewOptionReply, replylen), ==, 16);
    g_assert_cmpuint(offsetof(NbdInfoExport, eflags), ==, 10);
    g_assert_cmpuint(offsetof(NbdRequest, flags), ==, 4);
    g_assert_cmpuint(offsetof(NbdRequest, type), ==, 6);
    g_assert_cmpuint(offsetof(NbdRequest, cookie), ==, 8);
    g_assert_cmpuint(offsetof(NbdRequest, offset), ==, 16);
    g_assert_cmpuint(offsetof(NbdRequest, count), ==, 24);
    g_assert_cmpuint(offsetof(NbdExtendedRequest, count), ==, 24);
    g_assert_cmpuint(offsetof(NbdSimpleReply, error), ==, 4);
    g_assert_cmpuint(offsetof(NbdSimpleReply, cookie), ==, 8);
    g_assert_cmpuint(offsetof(NbdStructuredReply, flags), ==, 4);
    g_assert_cmpuint(offsetof(NbdStructuredReply, type), ==, 6);
    g_assert_cmpuint(offsetof(NbdStructuredReply, cookie), ==, 8);
    g_assert_cmpuint(offsetof(NbdStructuredReply, length), ==, 16);
    g_assert_cmpuint(offsetof(NbdExtendedReply, offset), ==, 16);
    g_assert_cmpuint(offsetof(NbdExtendedReply, length), ==, 24);
}

/* The greeting every server sends (ref §1.3): NBDMAGIC IHAVEOPT 0x0003. */
static void test_greeting_bytes(void)
{
    static const unsigned char expected[18] = {
        'N', 'B', 'D', 'M', 'A', 'G', 'I', 'C',
        'I', 'H', 'A', 'V', 'E', 'O', 'P', 'T',
        0x00, 0x03,
    };
    NbdNewGreeting g = {
        .nbdmagic = htobe64(NBD_MAGIC),
        .version = htobe64(NBD_NEW_VERSION),
        .gflags = htobe16(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES),
    };

    g_assert_cmpmem(&g, sizeof(g), expected, sizeof(expected));
}

static void test_request_bytes(void)
{
    static const unsigned char expected[28] = {
        0x25, 0x60, 0x95, 0x13,                 /* magic */
        0x00, 0x01,                             /* FUA */
        0x00, 0x01,                             /* WRITE */
        1, 2, 3, 4, 5, 6, 7, 8,                 /* cookie */
        0, 0, 0, 0, 0, 0, 0x10, 0x00,           /* offset 4096 */
        0, 0, 0x02, 0x00,                       /* count 512 */
    };
    NbdRequest r = {
        .magic = htobe32(NBD_REQUEST_MAGIC),
        .flags = htobe16(NBD_CMD_FLAG_FUA),
        .type = htobe16(NBD_CMD_WRITE),
        .cookie = htobe64(UINT64_C(0x0102030405060708)),
        .offset = htobe64(4096),
        .count = htobe32(512),
    };

    g_assert_cmpmem(&r, sizeof(r), expected, sizeof(expected));
}

static void test_constants(void)
{
    g_assert_cmphex(NBD_REP_MAGIC, ==, UINT64_C(0x3e889045565a9));
    g_assert_cmphex(NBD_OPTS_MAGIC, ==, UINT64_C(0x49484156454F5054));
    g_assert_cmphex(NBD_REP_ERR_UNSUP, ==, 0x80000001);
    g_assert_cmphex(NBD_REP_ERR_TLS_REQD, ==, 0x80000005);
    g_assert_cmphex(NBD_REP_ERR_EXT_HEADER_REQD, ==, 0x8000000a);
    g_assert_true(NBD_REP_IS_ERR(NBD_REP_ERR_POLICY));
    g_assert_false(NBD_REP_IS_ERR(NBD_REP_ACK));
    g_assert_cmpuint(NBD_REPLY_TYPE_ERROR, ==, 32769);
    g_assert_cmpuint(NBD_REPLY_TYPE_ERROR_OFFSET, ==, 32770);
    g_assert_true(NBD_REPLY_TYPE_IS_ERR(NBD_REPLY_TYPE_ERROR_OFFSET));
    g_assert_false(NBD_REPLY_TYPE_IS_ERR(NBD_REPLY_TYPE_BLOCK_STATUS));
    /* qemu-nbd 7.2 advertises 0x0ced (ref §1.8). */
    g_assert_cmphex(NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
                    NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM |
                    NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_DF |
                    NBD_FLAG_SEND_CACHE | NBD_FLAG_SEND_FAST_ZERO, ==,
                    0x0ced);
    g_assert_cmphex(NBD_FLAG_BLOCK_STAT_PAYLOAD, ==, 0x1000);
    g_assert_cmphex(NBD_CMD_FLAG_PAYLOAD_LEN, ==, 0x20);
    g_assert_cmpuint(NBD_MAX_STRING, ==, 4096);
    g_assert_cmpuint(NBD_MAX_PAYLOAD, ==, 32 * 1024 * 1024);
}

typedef struct {
    const char *(*fn)(uint32_t v);
    uint32_t value;
    const char *expected;
} NameCase;

/* Adapters so one table can cover the u16 and u32 functions. */
static const char *info_name(uint32_t v) { return name_of_nbd_info(v); }
static const char *cmd_name(uint32_t v) { return name_of_nbd_cmd(v); }
static const char *rtype_name(uint32_t v)
{
    return name_of_nbd_reply_type(v);
}

static void test_names(void)
{
    static const NameCase cases[] = {
        { .fn = name_of_nbd_opt, .value = 1,
          .expected = "NBD_OPT_EXPORT_NAME" },
        { .fn = name_of_nbd_opt, .value = 5, .expected = "NBD_OPT_STARTTLS" },
        { .fn = name_of_nbd_opt, .value = 11,
          .expected = "NBD_OPT_EXTENDED_HEADERS" },
        { .fn = name_of_nbd_opt, .value = 0x42, .expected = "unknown" },
        { .fn = name_of_nbd_rep, .value = 1, .expected = "NBD_REP_ACK" },
        { .fn = name_of_nbd_rep, .value = 0x80000005,
          .expected = "NBD_REP_ERR_TLS_REQD" },
        { .fn = name_of_nbd_rep, .value = 0x8000000a,
          .expected = "NBD_REP_ERR_EXT_HEADER_REQD" },
        { .fn = name_of_nbd_rep, .value = 5, .expected = "unknown" },
        { .fn = name_of_nbd_rep, .value = 0x8000000b, .expected = "unknown" },
        { .fn = info_name, .value = 3, .expected = "NBD_INFO_BLOCK_SIZE" },
        { .fn = info_name, .value = 4, .expected = "unknown" },
        { .fn = cmd_name, .value = 0, .expected = "NBD_CMD_READ" },
        { .fn = cmd_name, .value = 7, .expected = "NBD_CMD_BLOCK_STATUS" },
        { .fn = cmd_name, .value = 8, .expected = "NBD_CMD_RESIZE" },
        { .fn = cmd_name, .value = 9, .expected = "unknown" },
        { .fn = rtype_name, .value = 0, .expected = "NBD_REPLY_TYPE_NONE" },
        { .fn = rtype_name, .value = 6,
          .expected = "NBD_REPLY_TYPE_BLOCK_STATUS_EXT" },
        { .fn = rtype_name, .value = 32770,
          .expected = "NBD_REPLY_TYPE_ERROR_OFFSET" },
        { .fn = rtype_name, .value = 3, .expected = "unknown" },
        { .fn = name_of_nbd_error, .value = 108,
          .expected = "NBD_ESHUTDOWN" },
        { .fn = name_of_nbd_error, .value = 2, .expected = "unknown" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_assert_cmpstr(cases[i].fn(cases[i].value), ==, cases[i].expected);
    }
}

typedef struct {
    int host;
    int wire;
} ErrnoCase;

static void test_errno_mapping(void)
{
    /* Values with an exact equivalent: both directions. */
    static const ErrnoCase exact[] = {
        { .host = 0, .wire = NBD_SUCCESS },
        { .host = EPERM, .wire = 1 },
        { .host = EIO, .wire = 5 },
        { .host = ENOMEM, .wire = 12 },
        { .host = EINVAL, .wire = 22 },
        { .host = ENOSPC, .wire = 28 },
        { .host = EOVERFLOW, .wire = 75 },
        { .host = ENOTSUP, .wire = 95 },
        { .host = ESHUTDOWN, .wire = 108 },
    };
    /* Host errors folded into another wire value. */
    static const ErrnoCase folded[] = {
        { .host = EROFS, .wire = NBD_EPERM },
        { .host = EACCES, .wire = NBD_EPERM },
        { .host = EDQUOT, .wire = NBD_ENOSPC },
        { .host = EFBIG, .wire = NBD_ENOSPC },
        { .host = EOPNOTSUPP, .wire = NBD_ENOTSUP },
        { .host = ENOENT, .wire = NBD_EINVAL },
        { .host = EBADF, .wire = NBD_EINVAL },
        { .host = -EIO, .wire = NBD_EIO },      /* negative errno accepted */
        { .host = G_MININT, .wire = NBD_EINVAL },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(exact); i++) {
        g_assert_cmpint(nbd_errno_to_wire(exact[i].host), ==, exact[i].wire);
        g_assert_cmpint(nbd_wire_to_errno(exact[i].wire), ==, exact[i].host);
        g_assert_cmpint(nbd_errno_to_wire(
                            nbd_wire_to_errno(exact[i].wire)), ==,
                        exact[i].wire);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(folded); i++) {
        g_assert_cmpint(nbd_errno_to_wire(folded[i].host), ==,
                        folded[i].wire);
    }
    /* Unknown wire values are EINVAL for clients. */
    g_assert_cmpint(nbd_wire_to_errno(2), ==, EINVAL);
    g_assert_cmpint(nbd_wire_to_errno(0xffffffff), ==, EINVAL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nbd-protocol/struct-sizes", test_struct_sizes);
    g_test_add_func("/nbd-protocol/field-offsets", test_field_offsets);
    g_test_add_func("/nbd-protocol/greeting-bytes", test_greeting_bytes);
    g_test_add_func("/nbd-protocol/request-bytes", test_request_bytes);
    g_test_add_func("/nbd-protocol/constants", test_constants);
    g_test_add_func("/nbd-protocol/names", test_names);
    g_test_add_func("/nbd-protocol/errno-mapping", test_errno_mapping);
    return g_test_run();
}
