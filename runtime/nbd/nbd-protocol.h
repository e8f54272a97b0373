/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD wire protocol: magics, flags, option/reply/command codes, limits
 * and packed on-the-wire structs, written from the NBD protocol spec
 * (NetworkBlockDevice/nbd doc/proto.md, plus the extended-headers and resize
 * extension branches).  Shared by the server, the client, test clients and
 * fuzzers.
 *
 * Byte order: all fields are big-endian on the wire.  The structs below hold
 * wire-order values; convert with htobe16/32/64 and be16/32/64toh from
 * <endian.h> when filling or reading them.
 */
#ifndef WARDEN_NBD_PROTOCOL_H
#define WARDEN_NBD_PROTOCOL_H

#include <stdint.h>

/* ---- Magic numbers ---------------------------------------------------- */

#define NBD_MAGIC                   UINT64_C(0x4e42444d41474943) /* NBDMAGIC */
#define NBD_OLD_VERSION             UINT64_C(0x0000420281861253) /* oldstyle */
#define NBD_NEW_VERSION             UINT64_C(0x49484156454f5054) /* IHAVEOPT */
#define NBD_OPTS_MAGIC              NBD_NEW_VERSION /* prefix of options */
#define NBD_REP_MAGIC               UINT64_C(0x0003e889045565a9)
#define NBD_REQUEST_MAGIC           UINT32_C(0x25609513)
#define NBD_EXTENDED_REQUEST_MAGIC  UINT32_C(0x21e41c71)
#define NBD_SIMPLE_REPLY_MAGIC      UINT32_C(0x67446698)
#define NBD_STRUCTURED_REPLY_MAGIC  UINT32_C(0x668e33ef)
#define NBD_EXTENDED_REPLY_MAGIC    UINT32_C(0x6e8a278c)

/* IANA-assigned TCP port. */
#define NBD_DEFAULT_PORT            10809

/* ---- Handshake flags (u16, server -> client, in the greeting) ---------- */

#define NBD_FLAG_FIXED_NEWSTYLE     (1u << 0)
#define NBD_FLAG_NO_ZEROES          (1u << 1)

/* ---- Client flags (u32, client -> server, after the greeting) ---------- */

#define NBD_FLAG_C_FIXED_NEWSTYLE   (1u << 0)
#define NBD_FLAG_C_NO_ZEROES        (1u << 1)

/* ---- Option codes (NBD_OPT_*) ------------------------------------------ */

#define NBD_OPT_EXPORT_NAME         1
#define NBD_OPT_ABORT               2
#define NBD_OPT_LIST                3
#define NBD_OPT_PEEK_EXPORT         4   /* withdrawn, never used */
#define NBD_OPT_STARTTLS            5
#define NBD_OPT_INFO                6
#define NBD_OPT_GO                  7
#define NBD_OPT_STRUCTURED_REPLY    8
#define NBD_OPT_LIST_META_CONTEXT   9
#define NBD_OPT_SET_META_CONTEXT    10
#define NBD_OPT_EXTENDED_HEADERS    11

/* ---- Option reply types (NBD_REP_*) ------------------------------------ */

#define NBD_REP_ACK                 1
#define NBD_REP_SERVER              2
#define NBD_REP_INFO                3
#define NBD_REP_META_CONTEXT        4

/* Error replies have the high bit set. */
#define NBD_REP_FLAG_ERROR          (UINT32_C(1) << 31)
#define NBD_REP_IS_ERR(rep)         (((rep) & NBD_REP_FLAG_ERROR) != 0)
#define NBD_REP_ERR_UNSUP           (NBD_REP_FLAG_ERROR | 1)
#define NBD_REP_ERR_POLICY          (NBD_REP_FLAG_ERROR | 2)
#define NBD_REP_ERR_INVALID         (NBD_REP_FLAG_ERROR | 3)
#define NBD_REP_ERR_PLATFORM        (NBD_REP_FLAG_ERROR | 4)
#define NBD_REP_ERR_TLS_REQD        (NBD_REP_FLAG_ERROR | 5)
#define NBD_REP_ERR_UNKNOWN         (NBD_REP_FLAG_ERROR | 6)
#define NBD_REP_ERR_SHUTDOWN        (NBD_REP_FLAG_ERROR | 7)
#define NBD_REP_ERR_BLOCK_SIZE_REQD (NBD_REP_FLAG_ERROR | 8)
#define NBD_REP_ERR_TOO_BIG         (NBD_REP_FLAG_ERROR | 9)
#define NBD_REP_ERR_EXT_HEADER_REQD (NBD_REP_FLAG_ERROR | 10)

/* ---- Information types inside NBD_REP_INFO (NBD_INFO_*) ----------------- */

#define NBD_INFO_EXPORT             0
#define NBD_INFO_NAME               1
#define NBD_INFO_DESCRIPTION        2
#define NBD_INFO_BLOCK_SIZE         3

/* ---- Transmission flags (u16, sent with the export size) --------------- */

#define NBD_FLAG_HAS_FLAGS          (1u << 0)   /* always set */
#define NBD_FLAG_READ_ONLY          (1u << 1)
#define NBD_FLAG_SEND_FLUSH         (1u << 2)
#define NBD_FLAG_SEND_FUA           (1u << 3)
#define NBD_FLAG_ROTATIONAL         (1u << 4)
#define NBD_FLAG_SEND_TRIM          (1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES  (1u << 6)
#define NBD_FLAG_SEND_DF            (1u << 7)   /* only with SR or EH */
#define NBD_FLAG_CAN_MULTI_CONN     (1u << 8)
#define NBD_FLAG_SEND_RESIZE        (1u << 9)   /* resize extension */
#define NBD_FLAG_SEND_CACHE         (1u << 10)
#define NBD_FLAG_SEND_FAST_ZERO     (1u << 11)
#define NBD_FLAG_BLOCK_STAT_PAYLOAD (1u << 12)  /* only with EH */

/* ---- Commands (NBD_CMD_*) ----------------------------------------------- */

#define NBD_CMD_READ                0
#define NBD_CMD_WRITE               1
#define NBD_CMD_DISC                2
#define NBD_CMD_FLUSH               3
#define NBD_CMD_TRIM                4
#define NBD_CMD_CACHE               5
#define NBD_CMD_WRITE_ZEROES        6
#define NBD_CMD_BLOCK_STATUS        7
#define NBD_CMD_RESIZE              8   /* resize extension */

/* ---- Command flags (u16, NBD_CMD_FLAG_*) -------------------------------- */

#define NBD_CMD_FLAG_FUA            (1u << 0)
#define NBD_CMD_FLAG_NO_HOLE        (1u << 1)   /* WRITE_ZEROES */
#define NBD_CMD_FLAG_DF             (1u << 2)   /* READ */
#define NBD_CMD_FLAG_REQ_ONE        (1u << 3)   /* BLOCK_STATUS */
#define NBD_CMD_FLAG_FAST_ZERO      (1u << 4)   /* WRITE_ZEROES */
#define NBD_CMD_FLAG_PAYLOAD_LEN    (1u << 5)   /* extended headers only */

/* ---- Structured / extended reply chunks --------------------------------- */

#define NBD_REPLY_FLAG_DONE         (1u << 0)

#define NBD_REPLY_TYPE_NONE             0
#define NBD_REPLY_TYPE_OFFSET_DATA      1
#define NBD_REPLY_TYPE_OFFSET_HOLE      2
#define NBD_REPLY_TYPE_BLOCK_STATUS     5
#define NBD_REPLY_TYPE_BLOCK_STATUS_EXT 6
/* Chunk types with bit 15 set are errors. */
#define NBD_REPLY_TYPE_FLAG_ERROR       (1u << 15)
#define NBD_REPLY_TYPE_IS_ERR(t)        (((t) & NBD_REPLY_TYPE_FLAG_ERROR) != 0)
#define NBD_REPLY_TYPE_ERROR            (NBD_REPLY_TYPE_FLAG_ERROR | 1)
#define NBD_REPLY_TYPE_ERROR_OFFSET     (NBD_REPLY_TYPE_FLAG_ERROR | 2)

/* ---- base:allocation metadata context ------------------------------------ */

#define NBD_META_NS_BASE            "base"
#define NBD_META_BASE_ALLOCATION    "base:allocation"
/* QEMU's: extent flags are the allocation depth (0 none, 1 local, N). */
#define NBD_META_QEMU_ALLOCATION_DEPTH "qemu:allocation-depth"
#define NBD_STATE_HOLE              (1u << 0)   /* unallocated */
#define NBD_STATE_ZERO              (1u << 1)   /* reads as zeroes */

/* ---- Error values on the wire (not host errno values) ------------------- */

#define NBD_SUCCESS                 0
#define NBD_EPERM                   1
#define NBD_EIO                     5
#define NBD_ENOMEM                  12
#define NBD_EINVAL                  22
#define NBD_ENOSPC                  28
#define NBD_EOVERFLOW               75
#define NBD_ENOTSUP                 95
#define NBD_ESHUTDOWN               108

/* ---- Limits --------------------------------------------------------------
 * Every length a peer controls is bounded by one of these before use.
 */

/* Strings (export names, descriptions, messages, context names): the spec
 * says implementations MUST accept up to 4096 bytes and need not accept
 * more. */
#define NBD_MAX_STRING              4096
/* Strings SHOULD be at most this long for portability. */
#define NBD_PORTABLE_STRING         256
/* Number of queries we accept in one LIST/SET_META_CONTEXT option. */
#define NBD_MAX_META_QUERIES        128
/* Largest option payload we read: a SET_META_CONTEXT with a maximal export
 * name and NBD_MAX_META_QUERIES short queries fits comfortably; anything
 * larger is refused with NBD_REP_ERR_TOO_BIG rather than buffered. */
#define NBD_MAX_OPTION_LENGTH       (64 * 1024)
/* Options a client may send in one handshake before we hang up (a client
 * that keeps haggling forever is a denial of service). */
#define NBD_MAX_NR_OPTIONS          32
/* Largest READ/WRITE payload: the spec's default maximum block size and
 * what portable clients assume; larger requests are refused (NBD_EINVAL,
 * or NBD_EOVERFLOW where the spec asks for it). */
#define NBD_MAX_PAYLOAD             (32 * 1024 * 1024)
/* Default block sizes when NBD_INFO_BLOCK_SIZE is not sent. */
#define NBD_DEFAULT_MIN_BLOCK       1
#define NBD_DEFAULT_PREF_BLOCK      4096
/* The minimum block size a server advertises must not exceed this. */
#define NBD_MAX_MIN_BLOCK           (64 * 1024)
/* A server advertising SEND_DF must answer unfragmented reads this big. */
#define NBD_DF_MIN_LENGTH           (64 * 1024)
/* Block status replies SHOULD carry at most this many extents. */
#define NBD_MAX_BLOCK_STATUS_EXTENTS (1u << 20)
/* Zero padding after the NBD_OPT_EXPORT_NAME reply (absent with
 * NBD_FLAG_C_NO_ZEROES). */
#define NBD_EXPORT_NAME_ZEROES      124

/* ---- On-the-wire structs (packed, big-endian fields) --------------------- */

/* Fixed-newstyle greeting, server -> client: 18 bytes. */
typedef struct __attribute__((packed)) NbdNewGreeting {
    uint64_t nbdmagic;          /* NBD_MAGIC */
    uint64_t version;           /* NBD_NEW_VERSION */
    uint16_t gflags;            /* NBD_FLAG_FIXED_NEWSTYLE | ... */
} NbdNewGreeting;

/* Reply to NBD_OPT_EXPORT_NAME (followed by NBD_EXPORT_NAME_ZEROES zero
 * bytes unless NO_ZEROES was negotiated): 10 bytes. */
typedef struct __attribute__((packed)) NbdExportNameReply {
    uint64_t exportsize;
    uint16_t eflags;            /* transmission flags */
} NbdExportNameReply;

/* Option request header, client -> server: 16 bytes, then @optlen bytes. */
typedef struct __attribute__((packed)) NbdOption {
    uint64_t version;           /* NBD_OPTS_MAGIC */
    uint32_t option;            /* NBD_OPT_* */
    uint32_t optlen;
} NbdOption;

/* Option reply header, server -> client: 20 bytes, then @replylen bytes. */
typedef struct __attribute__((packed)) NbdFixedNewOptionReply {
    uint64_t magic;             /* NBD_REP_MAGIC */
    uint32_t option;            /* echo of the client's option */
    uint32_t reply;             /* NBD_REP_* */
    uint32_t replylen;
} NbdFixedNewOptionReply;

/* NBD_REP_INFO payload for NBD_INFO_EXPORT: 12 bytes. */
typedef struct __attribute__((packed)) NbdInfoExport {
    uint16_t info;              /* NBD_INFO_EXPORT */
    uint64_t exportsize;
    uint16_t eflags;
} NbdInfoExport;

/* NBD_REP_INFO payload for NBD_INFO_BLOCK_SIZE: 14 bytes. */
typedef struct __attribute__((packed)) NbdInfoBlockSize {
    uint16_t info;              /* NBD_INFO_BLOCK_SIZE */
    uint32_t minimum;
    uint32_t preferred;
    uint32_t maximum;
} NbdInfoBlockSize;

/* Compact request, client -> server: 28 bytes (WRITE data follows). */
typedef struct __attribute__((packed)) NbdRequest {
    uint32_t magic;             /* NBD_REQUEST_MAGIC */
    uint16_t flags;             /* NBD_CMD_FLAG_* */
    uint16_t type;              /* NBD_CMD_* */
    uint64_t cookie;            /* opaque, echoed in the reply */
    uint64_t offset;
    uint32_t count;
} NbdRequest;

/* Extended request (extended headers): 32 bytes. */
typedef struct __attribute__((packed)) NbdExtendedRequest {
    uint32_t magic;             /* NBD_EXTENDED_REQUEST_MAGIC */
    uint16_t flags;
    uint16_t type;
    uint64_t cookie;
    uint64_t offset;
    uint64_t count;             /* payload length iff FLAG_PAYLOAD_LEN */
} NbdExtendedRequest;

/* Simple reply: 16 bytes (READ data follows on success). */
typedef struct __attribute__((packed)) NbdSimpleReply {
    uint32_t magic;             /* NBD_SIMPLE_REPLY_MAGIC */
    uint32_t error;             /* NBD_E* */
    uint64_t cookie;
} NbdSimpleReply;

/* Structured reply chunk header: 20 bytes, then @length payload bytes. */
typedef struct __attribute__((packed)) NbdStructuredReply {
    uint32_t magic;             /* NBD_STRUCTURED_REPLY_MAGIC */
    uint16_t flags;             /* NBD_REPLY_FLAG_DONE */
    uint16_t type;              /* NBD_REPLY_TYPE_* */
    uint64_t cookie;
    uint32_t length;
} NbdStructuredReply;

/* Extended reply chunk header (extended headers): 32 bytes. */
typedef struct __attribute__((packed)) NbdExtendedReply {
    uint32_t magic;             /* NBD_EXTENDED_REPLY_MAGIC */
    uint16_t flags;
    uint16_t type;
    uint64_t cookie;
    uint64_t offset;            /* the request's offset */
    uint64_t length;
} NbdExtendedReply;

/* NBD_REPLY_TYPE_OFFSET_DATA payload prefix: 8 bytes, then data. */
typedef struct __attribute__((packed)) NbdChunkOffsetData {
    uint64_t offset;
} NbdChunkOffsetData;

/* NBD_REPLY_TYPE_OFFSET_HOLE payload: 12 bytes. */
typedef struct __attribute__((packed)) NbdChunkOffsetHole {
    uint64_t offset;
    uint32_t length;
} NbdChunkOffsetHole;

/* NBD_REPLY_TYPE_ERROR(_OFFSET) payload prefix: 6 bytes, then the message
 * (and, for ERROR_OFFSET, a u64 offset). */
typedef struct __attribute__((packed)) NbdChunkError {
    uint32_t error;             /* NBD_E*, never 0 */
    uint16_t len;               /* message length */
} NbdChunkError;

/* NBD_REPLY_TYPE_BLOCK_STATUS: u32 context id, then descriptors. */
typedef struct __attribute__((packed)) NbdBlockDescriptor {
    uint32_t length;            /* never 0 */
    uint32_t status_flags;      /* e.g. NBD_STATE_* */
} NbdBlockDescriptor;

/* NBD_REPLY_TYPE_BLOCK_STATUS_EXT: u32 context id, u32 count, then these. */
typedef struct __attribute__((packed)) NbdBlockDescriptorExt {
    uint64_t length;
    uint64_t status_flags;
} NbdBlockDescriptorExt;

_Static_assert(sizeof(NbdNewGreeting) == 18, "greeting is 18 bytes");
_Static_assert(sizeof(NbdExportNameReply) == 10, "export name reply");
_Static_assert(sizeof(NbdOption) == 16, "option header is 16 bytes");
_Static_assert(sizeof(NbdFixedNewOptionReply) == 20, "option reply 20");
_Static_assert(sizeof(NbdInfoExport) == 12, "NBD_INFO_EXPORT is 12 bytes");
_Static_assert(sizeof(NbdInfoBlockSize) == 14, "NBD_INFO_BLOCK_SIZE 14");
_Static_assert(sizeof(NbdRequest) == 28, "request is 28 bytes");
_Static_assert(sizeof(NbdExtendedRequest) == 32, "ext. request 32");
_Static_assert(sizeof(NbdSimpleReply) == 16, "simple reply is 16 bytes");
_Static_assert(sizeof(NbdStructuredReply) == 20, "chunk header 20");
_Static_assert(sizeof(NbdExtendedReply) == 32, "ext. chunk header 32");
_Static_assert(sizeof(NbdChunkOffsetHole) == 12, "hole chunk is 12 bytes");
_Static_assert(sizeof(NbdChunkError) == 6, "error chunk prefix 6");
_Static_assert(sizeof(NbdBlockDescriptor) == 8, "block descriptor 8");
_Static_assert(sizeof(NbdBlockDescriptorExt) == 16, "ext. descriptor 16");

/* ---- Names and error mapping (nbd-names.c) ------------------------------ */

/*
 * Symbolic names of protocol values, e.g. name_of_nbd_opt(5) is
 * "NBD_OPT_STARTTLS".  Unknown values give "unknown".  The strings are
 * static; callable from any thread.
 */
const char *name_of_nbd_opt(uint32_t opt);
const char *name_of_nbd_rep(uint32_t rep);
const char *name_of_nbd_info(uint16_t info);
const char *name_of_nbd_cmd(uint16_t cmd);
const char *name_of_nbd_reply_type(uint16_t type);
const char *name_of_nbd_error(uint32_t err);

/*
 * nbd_errno_to_wire:
 * @err: a host errno value (either sign; 0 = success)
 *
 * Returns: the NBD_E* value to send for @err.  EROFS and EACCES map to
 * NBD_EPERM, EDQUOT and EFBIG to NBD_ENOSPC (as the spec asks), anything
 * without an NBD equivalent to NBD_EINVAL.
 */
int nbd_errno_to_wire(int err);

/*
 * nbd_wire_to_errno:
 * @err: an error value received from the peer
 *
 * Returns: the positive host errno for @err (0 for NBD_SUCCESS); unknown
 * values are treated as EINVAL, as the spec requires of clients.
 */
int nbd_wire_to_errno(uint32_t err);

#endif
