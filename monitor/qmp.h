/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One QMP session: negotiation state, request dispatch through the
 * generated command table, replies and events. Transport independent:
 * the owner feeds received bytes and supplies an output function.
 */
#ifndef WARDEN_QMP_H
#define WARDEN_QMP_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>

#include "qapi-types.h"

typedef void (*QmpOutputFunc)(const char *text, size_t len, gpointer opaque);

struct QmpSession {
    bool negotiated;
    bool pretty;
    QmpOutputFunc output;
    gpointer opaque;
    void (*on_quit)(gpointer);    /* the daemon's quit hook */
    gpointer quit_opaque;
    struct WdJsonStream *stream;
};

QmpSession *qmp_session_new(QmpOutputFunc output, gpointer opaque);
void qmp_session_free(QmpSession *s);
/* Send the greeting. */
void qmp_session_greet(QmpSession *s);
/* Feed received bytes; replies go to the output function. */
void qmp_session_feed(QmpSession *s, const char *buf, size_t len);
/* Dispatch one parsed request; returns the reply (new reference). */
json_t *qmp_dispatch(QmpSession *s, json_t *req);
/* Send an event if the session is negotiated. */
void qmp_session_send_event(QmpSession *s, const char *name, json_t *data);
/* QEMU-style text of a message: one line ending in \r\n. */
char *qmp_format(QmpSession *s, json_t *msg, size_t *len);
json_t *qmp_version_json(void);

#endif
