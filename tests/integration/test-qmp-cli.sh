#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# warden qmp: one-shot commands with key=value (JSON values, dotted keys),
# --json, exit codes 0/1/2, --events, and the interactive prompt (tmux-free:
# a pseudo-terminal from script(1) if present).
. "$(dirname "$0")/functions.sh"

start_daemon
Q() { "$WARDEN" qmp "$tmp/qmp.sock" "$@"; }

Q query-version | grep -q '"package": "warden' || fail "query-version"
ok "one-shot command prints the return value"

Q object-add qom-type=secret id=s0 data=x >/dev/null || fail "object-add"
out=$(Q object-add qom-type=secret id=s0 data=x 2>&1); rc=$?
[ $rc -eq 1 ] || fail "error exit $rc"
[ "$out" = "an object with id 's0' already exists; choose another id or delete it first" ] \
    || fail "error text: $out"
ok "a failing command exits 1 with the error desc on stderr"

Q blockdev-add driver=memory node-name=m0 size=1048576 >/dev/null || fail "JSON number value"
Q nbd-server-start addr.type=unix addr.data.path="$tmp/n.sock" >/dev/null \
    || fail "dotted keys"
[ -S "$tmp/n.sock" ] || fail "nbd socket"
Q --json '{"type":"nbd","id":"e0","node-name":"m0","writable":true}' \
    block-export-add >/dev/null || fail "--json"
Q query-block-exports | grep -q '"id": "e0"' || fail "export listed"
ok "JSON values, dotted keys and --json arguments"

out=$("$WARDEN" qmp "$tmp/nope.sock" query-version 2>&1); rc=$?
[ $rc -eq 2 ] || fail "unreachable monitor exit $rc"
case "$out" in *"cannot connect to the monitor $tmp/nope.sock"*) ;; *) fail "$out";; esac
ok "an unreachable monitor exits 2 with a clear message"

Q --events --timeout 10 > "$tmp/events" &
ev=$!
sleep 0.5
Q block-export-del id=e0 >/dev/null || fail "block-export-del"
Q quit >/dev/null
wait $ev || fail "--events exit"
grep -q '"event": "BLOCK_EXPORT_DELETED"' "$tmp/events" || fail "event missing: $(cat "$tmp/events")"
grep -q '"event": "SHUTDOWN"' "$tmp/events" || fail "SHUTDOWN missing"
ok "--events prints events until the daemon exits"
