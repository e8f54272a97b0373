/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Event fan-out from the runtime to its subscribers (the QMP monitors). */
#include "runtime/event.h"

typedef struct {
    WdEventSink sink;
    gpointer opaque;
} Sink;

static GArray *sinks;

void wd_event_add_sink(WdEventSink sink, gpointer opaque)
{
    Sink s = { sink, opaque };

    if (!sinks) {
        sinks = g_array_new(FALSE, FALSE, sizeof(Sink));
    }
    g_array_append_val(sinks, s);
}

void wd_event_remove_sink(WdEventSink sink, gpointer opaque)
{
    for (guint i = 0; sinks && i < sinks->len; i++) {
        Sink *s = &g_array_index(sinks, Sink, i);
        if (s->sink == sink && s->opaque == opaque) {
            g_array_remove_index(sinks, i);
            return;
        }
    }
}

void wd_event_emit(const char *name, json_t *data)
{
    for (guint i = 0; sinks && i < sinks->len; i++) {
        Sink *s = &g_array_index(sinks, Sink, i);
        s->sink(name, data, s->opaque);
    }
    json_decref(data);
}
