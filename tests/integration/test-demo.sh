#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The README's demo: a TLS export with a throwaway PKI, a round trip
# through it and through QMP; then the printed qemu-img command works.
. "$(dirname "$0")/functions.sh"
requires nbdcopy qemu-img

timeout 60 "$WARDEN" demo --once > "$tmp/once.out" 2>&1 || { cat "$tmp/once.out"; fail "demo --once"; }
grep -q "Round trip through the TLS export: OK, read back: Hello from Warden over TLS!" "$tmp/once.out" \
    || fail "TLS round trip: $(cat "$tmp/once.out")"
ok "demo --once proves the TLS and QMP round trips"

"$WARDEN" demo > "$tmp/demo.out" 2>&1 &
pid=$!
cleanup_fn "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
for i in $(seq 100); do grep -q "Serving until Ctrl-C" "$tmp/demo.out" && break; sleep 0.1; done
grep -q "Serving until Ctrl-C" "$tmp/demo.out" || fail "demo did not start: $(cat "$tmp/demo.out")"
cmd=$(grep "qemu-img info" "$tmp/demo.out")
out=$(eval "timeout 30 $cmd" 2>&1) || fail "printed qemu-img command: $out"
case "$out" in *"virtual size: 64 MiB"*) ;; *) fail "qemu-img: $out" ;; esac
kill -INT $pid
wait $pid || fail "demo exit status after Ctrl-C"
ok "the printed qemu-img command works; Ctrl-C exits 0"
