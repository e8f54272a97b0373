/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of the NBD server engine's negotiation, speaking raw NBD over
 * socketpairs to a server with memory disks: the option gate, greeting
 * and client flags, GO/INFO/LIST/EXPORT_NAME, bad and oversized options,
 * meta contexts, TLS-required behaviour and STARTTLS cases (PSK), and
 * tls-authz. Transmission and lifecycle: test-nbd-server-io.c.
 */
#include "nbd-test-client.h"

/* ---- tests: negotiation ------------------------------------------------- */

/* The gate table (STYLE G2): what happens to each option before TLS. */
static void test_gate(void)
{
    static const uint32_t opts[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                     0x42 };

    for (unsigned i = 0; i < G_N_ELEMENTS(opts); i++) {
        uint32_t o = opts[i];
        NbdGate want = o == NBD_OPT_STARTTLS || o == NBD_OPT_ABORT ?
                       NBD_GATE_HANDLE : o == NBD_OPT_EXPORT_NAME ?
                       NBD_GATE_DISCONNECT : NBD_GATE_TLS_REQD;

        g_assert_cmpint(nbd_option_gate(true, false, o), ==, want);
        g_assert_cmpint(nbd_option_gate(true, true, o), ==, NBD_GATE_HANDLE);
        g_assert_cmpint(nbd_option_gate(false, false, o), ==,
                        NBD_GATE_HANDLE);
    }
}

static void test_bad_client_flags(void)
{
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s);

    cli_greeting(c, 0x80000001);        /* unknown bit: hang up */
    cli_expect_eof(c);
    cli_free(c);
    c = cli_new(s);
    cli_greeting(c, 0);                 /* not fixed newstyle */
    cli_expect_eof(c);
    cli_free(c);
    wd_nbd_server_free(s);
}

static void test_go_info(void)
{
    static const uint16_t infos[] = { NBD_INFO_NAME, NBD_INFO_DESCRIPTION,
                                      NBD_INFO_BLOCK_SIZE, 77 };
    static const uint8_t bs[] = { 0, 3, 0, 0, 0, 1, 0, 0, 0x10, 0,
                                  0x02, 0, 0, 0 };
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s);
    char *p;
    uint32_t len;
    uint64_t size = 0;

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    cli_send_go(c, NBD_OPT_INFO, "disk", infos, G_N_ELEMENTS(infos));
    g_assert_cmphex(cli_rep(c, NBD_OPT_INFO, &p, &len), ==, NBD_REP_INFO);
    g_assert_cmpmem(p, len, "\0\1disk", 6);
    g_free(p);
    g_assert_cmphex(cli_rep(c, NBD_OPT_INFO, &p, &len), ==, NBD_REP_INFO);
    g_assert_cmpmem(p, len, "\0\2Test disk", 11);
    g_free(p);
    g_assert_cmphex(cli_rep(c, NBD_OPT_INFO, &p, &len), ==, NBD_REP_INFO);
    g_assert_cmpmem(p, len, bs, sizeof(bs));   /* 1, 4096, 32 MiB */
    g_free(p);
    g_assert_cmphex(cli_go_replies(c, NBD_OPT_INFO, &size), ==, DISK_FLAGS);
    g_assert_cmpuint(size, ==, DISK_SIZE);
    /* INFO does not end negotiation; GO does. */
    g_assert_cmphex(cli_go(c, "disk", false), ==, DISK_FLAGS);
    cli_check(c, NBD_CMD_WRITE, 0, 0, 5, "hello", 0);
    cli_cmd(c, NBD_CMD_DISC, 0, 0, 0, 0, NULL);
    cli_expect_eof(c);
    cli_free(c);
    wd_nbd_server_free(s);
}

static void test_list(void)
{
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s);
    char *p;
    uint32_t len;

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(c, NBD_OPT_LIST, NULL, 0);
    g_assert_cmphex(cli_rep(c, NBD_OPT_LIST, &p, &len), ==, NBD_REP_SERVER);
    g_assert_cmpmem(p, len, "\0\0\0\4diskTest disk", 17);
    g_free(p);
    g_assert_cmphex(cli_rep(c, NBD_OPT_LIST, &p, &len), ==, NBD_REP_SERVER);
    g_assert_cmpmem(p, len, "\0\0\0\2ro", 6);
    g_free(p);
    cli_rep_ack(c, NBD_OPT_LIST);
    cli_opt(c, NBD_OPT_LIST, "x", 1);
    cli_rep_err(c, NBD_OPT_LIST, NBD_REP_ERR_INVALID,
                "option 'list' has unexpected length");
    cli_opt(c, NBD_OPT_ABORT, NULL, 0);
    cli_rep_ack(c, NBD_OPT_ABORT);
    cli_expect_eof(c);
    cli_free(c);
    wd_nbd_server_free(s);
}

/* EXPORT_NAME: 10 bytes with NO_ZEROES, 134 without; "" = default. */
static void test_export_name(void)
{
    WdNbdServer *s = srv_new(NULL);

    for (int zeroes = 0; zeroes < 2; zeroes++) {
        Cli *c = cli_new(s);
        uint8_t reply[134], zero[124] = { 0 };
        uint64_t size;
        uint16_t flags;

        cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE |
                     (zeroes ? 0 : NBD_FLAG_C_NO_ZEROES));
        cli_opt(c, NBD_OPT_EXPORT_NAME, "", 0);
        cli_read(c, reply, zeroes ? 134 : 10);
        memcpy(&size, reply, 8);
        memcpy(&flags, reply + 8, 2);
        g_assert_cmpuint(be64toh(size), ==, DISK_SIZE);
        g_assert_cmphex(be16toh(flags), ==, DISK_FLAGS);
        if (zeroes) {
            g_assert_cmpmem(reply + 10, 124, zero, 124);
        }
        cli_check(c, NBD_CMD_FLUSH, 0, 0, 0, NULL, 0);
        cli_free(c);
    }
    Cli *c = cli_new(s);

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(c, NBD_OPT_EXPORT_NAME, "nope", 4);
    cli_expect_eof(c);
    cli_free(c);
    wd_nbd_server_free(s);
}

static void test_bad_options(void)
{
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s);
    uint64_t size;

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(c, 0x42, "abc", 3);
    cli_rep_err(c, 0x42, NBD_REP_ERR_UNSUP, "Unsupported option 66 (unknown)");
    cli_send_go(c, NBD_OPT_GO, "nope", NULL, 0);
    cli_rep_err(c, NBD_OPT_GO, NBD_REP_ERR_UNKNOWN,
                "export 'nope' not present");
    cli_opt(c, NBD_OPT_GO, "\0\0\0\11disk", 8);     /* name overruns */
    cli_rep_err(c, NBD_OPT_GO, NBD_REP_ERR_INVALID,
                "option 'go' has unexpected length");
    cli_opt(c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
    cli_rep_ack(c, NBD_OPT_STRUCTURED_REPLY);
    cli_opt(c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
    cli_rep_err(c, NBD_OPT_STRUCTURED_REPLY, NBD_REP_ERR_INVALID,
                "structured reply already negotiated");
    /* The connection still works: "" is the default export. */
    cli_send_go(c, NBD_OPT_GO, "", NULL, 0);
    g_assert_cmphex(cli_go_replies(c, NBD_OPT_GO, &size), ==,
                    DISK_FLAGS_SR);
    g_assert_cmpuint(size, ==, DISK_SIZE);
    cli_free(c);

    /* Too large to read: ERR_TOO_BIG, then the server hangs up. */
    c = cli_new(s);
    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(c, NBD_OPT_LIST, NULL, NBD_MAX_OPTION_LENGTH + 1);
    cli_rep_err(c, NBD_OPT_LIST, NBD_REP_ERR_TOO_BIG,
                "option NBD_OPT_LIST with 65537 bytes of data exceeds the "
                "limit of 65536 bytes");
    cli_expect_eof(c);
    cli_free(c);
    wd_nbd_server_free(s);
}

static void test_meta_context(void)
{
    static const char *const all[] = { "base:", NULL };
    static const char *const other[] = { "qemu:dirty-bitmap:x", NULL };
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s);
    char *p;
    uint32_t len;

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_send_meta(c, NBD_OPT_SET_META_CONTEXT, "disk", NULL);
    cli_rep_err(c, NBD_OPT_SET_META_CONTEXT, NBD_REP_ERR_INVALID,
                "NBD_OPT_SET_META_CONTEXT needs structured replies to be "
                "negotiated first");
    for (int i = 0; i < 2; i++) {       /* no query, then "base:" */
        cli_send_meta(c, NBD_OPT_LIST_META_CONTEXT, "disk", i ? all : NULL);
        g_assert_cmphex(cli_rep(c, NBD_OPT_LIST_META_CONTEXT, &p, &len), ==,
                        NBD_REP_META_CONTEXT);
        g_assert_cmpmem(p, len, "\0\0\0\0base:allocation", 19);
        g_free(p);
        cli_rep_ack(c, NBD_OPT_LIST_META_CONTEXT);
    }
    cli_send_meta(c, NBD_OPT_LIST_META_CONTEXT, "disk", other);
    cli_rep_ack(c, NBD_OPT_LIST_META_CONTEXT);
    cli_send_meta(c, NBD_OPT_LIST_META_CONTEXT, "nope", NULL);
    cli_rep_err(c, NBD_OPT_LIST_META_CONTEXT, NBD_REP_ERR_UNKNOWN,
                "export 'nope' not present");
    cli_free(c);
    wd_nbd_server_free(s);
}

/* ---- tests: TLS --------------------------------------------------------- */

static void test_tls_required(void)
{
    static const uint32_t opts[] = { NBD_OPT_LIST, NBD_OPT_INFO, NBD_OPT_GO,
                                     NBD_OPT_STRUCTURED_REPLY,
                                     NBD_OPT_LIST_META_CONTEXT,
                                     NBD_OPT_SET_META_CONTEXT, 0x42 };
    g_autoptr(WdTlsCreds) creds = psk_creds(WD_TLS_ENDPOINT_SERVER);
    SrvOpts o = { .creds = creds };
    WdNbdServer *s = srv_new(&o);
    Cli *c = cli_new(s);

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    for (unsigned i = 0; i < G_N_ELEMENTS(opts); i++) {
        g_autofree char *want = g_strdup_printf(
            "Option 0x%x not permitted before TLS", opts[i]);

        cli_opt(c, opts[i], "\0\0\0\0\0\0", 6);
        cli_rep_err(c, opts[i], NBD_REP_ERR_TLS_REQD, want);
    }
    /* ABORT is acknowledged, as the spec says. */
    cli_opt(c, NBD_OPT_ABORT, NULL, 0);
    cli_rep_ack(c, NBD_OPT_ABORT);
    cli_expect_eof(c);
    cli_free(c);
    /* EXPORT_NAME in clear: the connection is dropped. */
    c = cli_new(s);
    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(c, NBD_OPT_EXPORT_NAME, "disk", 4);
    cli_expect_eof(c);
    cli_free(c);
    wd_nbd_server_free(s);
}

static void test_tls_starttls(void)
{
    g_autoptr(WdTlsCreds) creds = psk_creds(WD_TLS_ENDPOINT_SERVER);
    SrvOpts o = { .creds = creds };
    WdNbdServer *s = srv_new(&o);
    Cli *c = cli_new(s);
    char buf[70000];

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(c, NBD_OPT_STARTTLS, "xx", 2);
    cli_rep_err(c, NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID,
                "option 'starttls' has unexpected length");
    cli_starttls(c);
    cli_opt(c, NBD_OPT_STARTTLS, NULL, 0);
    cli_rep_err(c, NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID,
                "TLS already enabled");
    g_assert_cmphex(cli_go(c, "disk", true), ==, DISK_FLAGS_SR);
    /* More than one TLS record each way. */
    memset(buf, 0x5a, sizeof(buf));
    cli_check(c, NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 4096, sizeof(buf), buf, 0);
    cli_check(c, NBD_CMD_FLUSH, 0, 0, 0, NULL, 0);
    for (int i = 0; i < 2; i++) {
        uint16_t flags;
        uint8_t *p;
        uint32_t len;

        cli_cmd(c, NBD_CMD_READ, 0, 9, 4096, sizeof(buf), NULL);
        g_assert_cmpuint(cli_chunk(c, 9, &flags, &p, &len), ==,
                         NBD_REPLY_TYPE_OFFSET_DATA);
        g_assert_cmpuint(flags, ==, NBD_REPLY_FLAG_DONE);
        g_assert_cmpmem(p + 8, len - 8, buf, sizeof(buf));
        g_free(p);
    }
    cli_cmd(c, NBD_CMD_DISC, 0, 0, 0, 0, NULL);
    cli_expect_eof(c);
    cli_free(c);
    wd_nbd_server_free(s);
}

static void test_tls_not_configured(void)
{
    WdNbdServer *s = srv_new(NULL);
    Cli *c = cli_new(s);

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_opt(c, NBD_OPT_STARTTLS, NULL, 0);
    cli_rep_err(c, NBD_OPT_STARTTLS, NBD_REP_ERR_POLICY,
                "TLS not configured");
    cli_free(c);
    wd_nbd_server_free(s);
}

/* Bytes sent in clear behind STARTTLS are never parsed (CVE-2021-3716):
 * the structured reply "negotiated" with them does not exist. */
static void test_tls_pipelined(void)
{
    g_autoptr(WdTlsCreds) creds = psk_creds(WD_TLS_ENDPOINT_SERVER);
    SrvOpts o = { .creds = creds };
    WdNbdServer *s = srv_new(&o);
    Cli *c = cli_new(s);
    NbdOption h[2] = {
        { htobe64(NBD_OPTS_MAGIC), htobe32(NBD_OPT_STARTTLS), 0 },
        { htobe64(NBD_OPTS_MAGIC), htobe32(NBD_OPT_STRUCTURED_REPLY), 0 },
    };
    g_autoptr(WdTlsCreds) cc = psk_creds(WD_TLS_ENDPOINT_CLIENT);
    g_autoptr(GError) err = NULL;

    cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
    cli_write(c, h, sizeof(h));
    cli_rep_ack(c, NBD_OPT_STARTTLS);
    c->tls = wd_tls_session_new(cc, NULL, fd_push, fd_pull, &c->fd, &err);
    while (wd_tls_session_handshake(c->tls, &err) !=
           WD_TLS_HANDSHAKE_COMPLETE) {
        g_assert_no_error(err);
    }
    g_assert_no_error(err);
    cli_send_go(c, NBD_OPT_GO, "disk", NULL, 0);
    g_assert_cmphex(cli_go_replies(c, NBD_OPT_GO, NULL), ==, DISK_FLAGS);
    cli_free(c);
    wd_nbd_server_free(s);
}

static void test_tls_authz(void)
{
    g_autoptr(WdTlsCreds) creds = psk_creds(WD_TLS_ENDPOINT_SERVER);
    g_autoptr(GError) err = NULL;

    wd_objects_register_all();
    for (int i = 0; i < 2; i++) {
        json_t *tree = json_pack("{s:s, s:s, s:s}", "qom-type",
                                 "authz-simple", "id",
                                 i ? "authz-bob" : "authz-alice", "identity",
                                 i ? "bob" : PSK_USER);

        g_assert_nonnull(wd_object_add_tree(tree, false, &err));
        g_assert_no_error(err);
        json_decref(tree);
    }
    for (int allowed = 1; allowed >= 0; allowed--) {
        SrvOpts o = { .creds = creds,
                      .authz = allowed ? "authz-alice" : "authz-bob" };
        WdNbdServer *s = srv_new(&o);
        Cli *c = cli_new(s);

        cli_greeting(c, NBD_FLAG_C_FIXED_NEWSTYLE);
        cli_starttls(c);
        cli_opt(c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
        if (allowed) {
            cli_rep_ack(c, NBD_OPT_STRUCTURED_REPLY);
        } else {
            cli_expect_eof(c);
        }
        cli_free(c);
        wd_nbd_server_free(s);
    }
    g_assert_true(wd_object_delete("authz-alice", &err));
    g_assert_true(wd_object_delete("authz-bob", &err));
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    nbd_test_psk_setup();
    g_test_add_func("/nbd/server/gate", test_gate);
    g_test_add_func("/nbd/server/bad-client-flags", test_bad_client_flags);
    g_test_add_func("/nbd/server/go-info", test_go_info);
    g_test_add_func("/nbd/server/list", test_list);
    g_test_add_func("/nbd/server/export-name", test_export_name);
    g_test_add_func("/nbd/server/bad-options", test_bad_options);
    g_test_add_func("/nbd/server/meta-context", test_meta_context);
    g_test_add_func("/nbd/server/tls/required", test_tls_required);
    g_test_add_func("/nbd/server/tls/starttls", test_tls_starttls);
    g_test_add_func("/nbd/server/tls/not-configured",
                    test_tls_not_configured);
    g_test_add_func("/nbd/server/tls/pipelined", test_tls_pipelined);
    g_test_add_func("/nbd/server/tls/authz", test_tls_authz);
    ret = g_test_run();
    nbd_test_psk_teardown();
    return ret;
}
