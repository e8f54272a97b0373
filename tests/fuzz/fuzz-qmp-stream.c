/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz the QMP byte stream: framing, limits, JSON parsing and request
 * validation, on a session that has not negotiated (so only
 * qmp_capabilities runs and no objects are created). Every reply must be
 * one valid JSON object line.
 */
#include "fuzz-qmp-output.h"
#include "monitor/qmp.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    QmpSession *s = qmp_session_new(fuzz_qmp_check_output, NULL);

    /* Feed in uneven pieces to exercise split messages. */
    size_t off = 0, step = 1;
    while (off < size) {
        size_t n = MIN(step, size - off);
        qmp_session_feed(s, (const char *)data + off, n);
        off += n;
        step = step * 3 % 61 + 1;
        s->negotiated = false;   /* keep dispatch side-effect free */
    }
    qmp_session_free(s);
    return 0;
}
