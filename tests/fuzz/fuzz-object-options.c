/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz the --object / object-add converter: keyval or JSON text through
 * the generated ObjectOptions converter, in keyval and strict JSON mode,
 * and back to JSON. No object is created (complete() touches files).
 */
#include "runtime/keyval.h"
#include "runtime/qapi-util.h"
#include "qapi-types.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *text = g_strndup((const char *)data, size);
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) tree = wd_keyval_or_json_parse(text, "qom-type", NULL,
                                                     &err);
    if (!tree) {
        g_assert(err);
        return 0;
    }
    for (int kv = 0; kv < 2; kv++) {
        g_autoptr(GError) e2 = NULL;
        ObjectOptions *opts = NULL;
        if (qapi_in_ObjectOptions(tree, NULL, kv, &opts, &e2)) {
            g_assert(!e2);
            json_t *back = qapi_out_ObjectOptions(opts, true);
            /* what we emit must parse back to the same options */
            ObjectOptions *again = NULL;
            g_autoptr(GError) e3 = NULL;
            g_assert(qapi_in_ObjectOptions(back, NULL, false, &again, &e3));
            qapi_free_ObjectOptions(again);
            json_decref(back);
            qapi_free_ObjectOptions(opts);
        } else {
            g_assert(e2 && e2->message[0]);
        }
    }
    return 0;
}
