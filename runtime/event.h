/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Event fan-out: runtime code raises events (SHUTDOWN,
 * BLOCK_EXPORT_DELETED, ...) without knowing about QMP; the monitor
 * subscribes and sends them to every negotiated client. Main thread only.
 */
#ifndef WARDEN_EVENT_H
#define WARDEN_EVENT_H

#include <glib.h>
#include <jansson.h>

/* @data may be NULL (no data member); a sink must not keep @data
 * without taking a reference. */
typedef void (*WdEventSink)(const char *name, json_t *data, gpointer opaque);

void wd_event_add_sink(WdEventSink sink, gpointer opaque);
void wd_event_remove_sink(WdEventSink sink, gpointer opaque);
/* Takes ownership of @data. */
void wd_event_emit(const char *name, json_t *data);

#endif
