/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Subcommands of the warden program (the program layer). */
#ifndef WARDEN_CMD_H
#define WARDEN_CMD_H

#include <glib.h>

typedef struct {
    const char *name;
    const char *summary;
    int (*main)(int argc, char **argv);   /* argv[0] is the command name */
} WdSubcommand;

int wd_cmd_daemon(int argc, char **argv);
int wd_cmd_demo(int argc, char **argv);
int wd_cmd_qmp(int argc, char **argv);
int wd_cmd_nbd(int argc, char **argv);
int wd_cmd_certs(int argc, char **argv);
int wd_cmd_img(int argc, char **argv);

/* Print "warden: MESSAGE" to stderr. */
void wd_cmd_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

#endif
