/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The warden program: dispatches to a subcommand. The program layer
 * (main.c and cmd-*.c) sits on top of every other layer and is linked
 * into the executable only, never into libwarden.
 */
#include "runtime/cmd.h"
#include "runtime/object.h"
#include "warden-config.h"

#include <stdio.h>
#include <string.h>

static const WdSubcommand subcommands[] = {
    { "daemon", "run the object runtime (like qemu-storage-daemon)",
      wd_cmd_daemon },
    { "nbd", "export one image now (like qemu-nbd)", wd_cmd_nbd },
    { "img", "inspect, copy and compare images and NBD exports "
      "(like qemu-img)", wd_cmd_img },
    { "qmp", "talk QMP to a monitor (one-shot, events, interactive)",
      wd_cmd_qmp },
    { "demo", "make a throwaway PKI and configuration and serve it",
      wd_cmd_demo },
    { "certs", "create or check TLS certificates (CA, server, client)",
      wd_cmd_certs },
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: warden COMMAND [OPTION...]\n\n"
                 "Warden, a secure storage daemon: QMP-controlled objects, "
                 "TLS credentials and NBD exports.\n\nCommands:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(subcommands); i++) {
        fprintf(out, "  %-8s %s\n", subcommands[i].name,
                subcommands[i].summary);
    }
    fprintf(out, "\nRun 'warden COMMAND --help' for the options of a "
                 "command; 'man warden' for the whole manual.\n"
                 "  --help       show this help\n"
                 "  --version    show the version\n");
}

int main(int argc, char **argv)
{
    wd_secret_wipe_json_memory();
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("warden %s\n", WARDEN_VERSION);
        return 0;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(subcommands); i++) {
        if (strcmp(argv[1], subcommands[i].name) == 0) {
            return subcommands[i].main(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "warden: unknown command '%s'; run 'warden --help' "
                    "for the list\n", argv[1]);
    return 1;
}
