/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The keyval parser for command-line option strings (--object, --blockdev,
 * --nbd-server, --export), with QEMU's syntax and error texts. It produces
 * an untyped JSON tree of strings; the schema-driven keyval visitor turns
 * that into typed values and lists.
 */
#ifndef WARDEN_KEYVAL_H
#define WARDEN_KEYVAL_H

#include <stdbool.h>

#include <glib.h>
#include <jansson.h>

/*
 * Longest key fragment (the text between two '.'), as in QEMU: a longer
 * one is "Parameter 'KEY' is too long".
 */
#define WD_KEYVAL_MAX_FRAGMENT 127

/*
 * Most fragments in one key, i.e. the deepest nesting a key may create.
 * QEMU has no such bound; ours keeps every recursive consumer of the tree
 * (json_decref, json_equal, the visitor) far away from stack exhaustion.
 * Real option strings use a handful of levels ("rules.0.match" is 3).
 */
#define WD_KEYVAL_MAX_DEPTH 32

/**
 * wd_keyval_parse:
 * @params: the option string, e.g. "secret,id=s0,file=pw.txt"
 * @implied_key: (nullable): key of a first element that has no '='
 * @help: (out) (nullable): set to whether a help element was present
 * @errp: return location for an error
 *
 * Grammar (QEMU's util/keyval.c):
 *
 *   key-vals     = [ key-val { ',' key-val } [ ',' ] ]
 *   key-val      = key '=' val | help
 *   key          = key-fragment { '.' key-fragment }
 *   key-fragment = qapi-name | index       (index only after the first)
 *   qapi-name    = [A-Za-z][A-Za-z0-9_-]*, optionally prefixed '__RFQDN_'
 *   index        = [0-9]+
 *   val          = { [^,] | ',,' }          (',,' is a literal ',')
 *   help         = 'help' | '?'
 *
 * With @implied_key, a first element without '=' (and not a help element)
 * is the value of @implied_key: implied_key "qom-type" turns
 * "secret,id=s0" into {"qom-type": "secret", "id": "s0"}.
 *
 * The result is a JSON object whose leaves are all strings. A dotted key
 * builds nested objects ("addr.port=10809" gives {"addr": {"port":
 * "10809"}}); index fragments stay object keys ("rules.0.match=x" gives
 * {"rules": {"0": {"match": "x"}}}), turning them into arrays is the
 * visitor's job. A repeated key: the last value wins. A key used both as a
 * leaf and as a prefix ("a=1,a.b=2") is an error.
 *
 * Help: a "help" or "?" element sets *@help to true if @help is non-NULL
 * and is an error ("Help is not available for this option") otherwise.
 *
 * Deviations from QEMU: a key deeper than %WD_KEYVAL_MAX_DEPTH fragments
 * and a value that is not valid UTF-8 are errors (the tree is JSON, whose
 * strings are UTF-8).
 *
 * Returns: (transfer full): a new reference to a JSON object, or NULL with
 * @errp set. *@help is written only on success (false on failure).
 */
json_t *wd_keyval_parse(const char *params, const char *implied_key,
                        bool *help, GError **errp) G_GNUC_WARN_UNUSED_RESULT;

/**
 * wd_keyval_or_json_parse:
 * @arg: a command-line option argument
 * @implied_key: (nullable): as for wd_keyval_parse(), keyval form only
 * @help: (out) (nullable): as for wd_keyval_parse(); always false for JSON
 * @errp: return location for an error
 *
 * If @arg starts with '{', parse it as one JSON object (jansson, duplicate
 * keys rejected like QEMU's parser, nothing allowed after the object); its
 * values keep their JSON types. Errors read "JSON parse error at line L
 * column C: TEXT". Otherwise parse @arg with wd_keyval_parse().
 *
 * Returns: (transfer full): a new reference to a JSON object, or NULL with
 * @errp set.
 */
json_t *wd_keyval_or_json_parse(const char *arg, const char *implied_key,
                                bool *help, GError **errp)
    G_GNUC_WARN_UNUSED_RESULT;

#endif
