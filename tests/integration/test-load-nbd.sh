#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# NBD server under load (issue 7, part 3), on loopback with a hand-written
# asyncio client (nbd-load.py):
#  - N concurrent clients, plain and TLS (x509), reads checked against the
#    image; server RSS per idle connection;
#  - a slowloris flood (silent, dribbling and stalled-after-STARTTLS
#    connections) shed by handshake-max-seconds while real clients are
#    served within a bound;
#  - max-connections: over-limit clients are closed at once (never queued)
#    with a logged reason, and a freed slot is usable again.
# Sizes: load-scale.sh (LONG=1 for tests/stress, smaller under ASan).
. "$(dirname "$0")/functions.sh"
. "$TESTS_DIR/load-scale.sh"
requires nbdinfo qemu-img
raise_fd_limit 4096
# meson sets MALLOC_PERTURB_, which fills every allocation: the server's
# per-reply 2 MiB batch buffers (beyond its pool) then cost a memset each,
# making the reads ~5x slower and RSS per idle connection ~5x higher
# (68 vs 12 KiB).  Measure what users get.
unset MALLOC_PERTURB_

LOAD="$PY $TESTS_DIR/nbd-load.py"
N_PLAIN=$(scale 1000 300 1000)
N_TLS=$(scale 100 60 1000)
READS=$(scale 2 2 20)
FLOOD=$(scale 150 60 1000)
FLOOD_S=$(scale 5 5 20)
# The real clients' bound during the flood: a loaded 2-core CI machine
# and sanitizers make everything slower, never 10x.
MAX_LAT=$(scale 5 10 5)

cd "$tmp"
"$WARDEN" certs create "$tmp/pki" >/dev/null || fail "certs create"
head -c 8M /dev/urandom >img
P_PLAIN=$(free_port)
P_TLS=$(free_port)
P_FLOOD=$(free_port)
start_daemon --object tls-creds-x509,id=s0,endpoint=server,dir="$tmp/pki" \
    --blockdev driver=file,node-name=d0,filename=img,read-only=on \
    --object nbd-server,id=plain,addr.type=inet,addr.host=127.0.0.1,addr.port=$P_PLAIN,max-connections=2000,handshake-max-seconds=60 \
    --object nbd-server,id=tls,addr.type=inet,addr.host=127.0.0.1,addr.port=$P_TLS,max-connections=2000,handshake-max-seconds=60,tls-creds=s0 \
    --object nbd-server,id=flood,addr.type=inet,addr.host=127.0.0.1,addr.port=$P_FLOOD,max-connections=2000,handshake-max-seconds=2,tls-creds=s0 \
    --export type=nbd,id=e0,node-name=d0,name=disk,server=plain \
    --export type=nbd,id=e1,node-name=d0,name=disk,server=tls \
    --export type=nbd,id=e2,node-name=d0,name=disk,server=flood
# The monitor socket comes first; the nbd-server objects follow (the
# flood server last).
for ((i = 0; i < 100; i++)); do
    kill -0 "$DAEMON_PID" 2>/dev/null || fail "daemon exited: $(cat "$tmp/daemon.log")"
    nbdinfo --size "nbds://127.0.0.1:$P_FLOOD/disk?tls-certificates=$tmp/pki" \
        >/dev/null 2>&1 && break
    sleep 0.1
done
nbdinfo --size "nbd://127.0.0.1:$P_PLAIN/disk" >/dev/null \
    || fail "our server does not answer on $P_PLAIN"

fds0=$(ls "/proc/$DAEMON_PID/fd" | wc -l)

out=$($LOAD clients "127.0.0.1:$P_PLAIN" disk img "$N_PLAIN" "$READS" \
      --pid "$DAEMON_PID") || fail "plain clients: $out"
echo "$out"
ok "$N_PLAIN concurrent plain clients served, $READS verified reads each"

out=$($LOAD clients "127.0.0.1:$P_TLS" disk img "$N_TLS" "$READS" \
      --pid "$DAEMON_PID" --tls "$tmp/pki") \
    || fail "TLS clients: $out"
echo "$out"
ok "$N_TLS concurrent TLS clients served, $READS verified reads each"

out=$($LOAD slowloris "127.0.0.1:$P_FLOOD" disk img "$FLOOD" 2 "$FLOOD_S" \
      --tls "$tmp/pki" --max-latency "$MAX_LAT") || fail "slowloris (TLS): $out"
echo "$out"
ok "slowloris: $FLOOD never-negotiating connections at once for $FLOOD_S s, all shed at 2 s; real clients served"
[ "$(nbdinfo --size "nbds://127.0.0.1:$P_FLOOD/disk?tls-certificates=$tmp/pki")" = 8388608 ] \
    || fail "nbdinfo over TLS after the floods"
kill -0 "$DAEMON_PID" || fail "daemon died"
ok "server healthy after the floods"
# Every connection's socket closed again: no descriptor leaks.
for ((i = 0; i < 100; i++)); do
    fds=$(ls "/proc/$DAEMON_PID/fd" | wc -l)
    [ "$fds" -le "$fds0" ] && break
    sleep 0.1
done
[ "$fds" -le "$fds0" ] || fail "server holds $fds descriptors, $fds0 before the load"
figure "server descriptors: $fds0 before the load, $fds after"
ok "no descriptor left behind by $((N_PLAIN + N_TLS)) clients and the floods"

# max-connections: a clear, immediate refusal with a logged reason.
mc=$tmp/mc.sock
"$WARDEN" daemon --blockdev driver=file,node-name=d0,filename=img,read-only=on \
    --object nbd-server,id=lim,addr.type=unix,addr.path="$mc",max-connections=2 \
    --export type=nbd,id=e0,node-name=d0,name=disk,server=lim \
    --pidfile "$tmp/mc.pid" >"$tmp/mc.log" 2>&1 &
MC_PID=$!
cleanup_fn "kill $MC_PID 2>/dev/null; wait $MC_PID 2>/dev/null"
wait_for_path "$tmp/mc.pid"
$LOAD hold "unix:$mc" disk 2 30 >"$tmp/hold.out" 2>&1 &
HOLD=$!
cleanup_fn "kill $HOLD 2>/dev/null"
for ((i = 0; i < 200; i++)); do
    grep -q holding "$tmp/hold.out" && break
    kill -0 $HOLD 2>/dev/null || fail "holder: $(cat "$tmp/hold.out")"
    sleep 0.1
done
grep -q "holding 2" "$tmp/hold.out" || fail "holder did not connect"
t0=$(date +%s%N)
out=$(timeout 10 qemu-img info "nbd+unix:///disk?socket=$mc" 2>&1); rc=$?
t=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $rc = 1 ] || fail "third client: qemu-img exit $rc (124 = queued): $out"
case $out in
*"server reported: NBD server 'lim' has reached its limit of 2 connections (max-connections)"*) ;;
*) fail "third client not told why: $out" ;;
esac
timeout 10 nbdinfo "nbd+unix:///disk?socket=$mc" >/dev/null 2>&1; rc=$?
[ $rc = 1 ] || fail "third client: nbdinfo exit $rc (124 = queued)"
# Refusals cannot be used to get round the limit: 12 silent clients over
# it, 8 (NBD_SRV_MAX_REFUSING) get a greeting and are cut off after 2 s,
# the rest are closed at once.
silent=$(timeout 20 $PY - "$mc" <<'PYEOF' 2>&1) || fail "silent refused clients: $silent"
import socket, sys, time
time.sleep(0.3)     # the refusals of qemu-img and nbdinfo are over
socks = []
for _ in range(12):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sys.argv[1])
    socks.append(s)
greeted, eof_now, cut = 0, 0, []
t0 = time.monotonic()
for s in socks:
    g = s.recv(18)
    if not g:
        eof_now += 1
        continue
    assert g[:8] == b'NBDMAGIC', g
    greeted += 1
for s in socks:
    while s.recv(4096):
        pass
    cut.append(time.monotonic() - t0)
assert greeted == 8 and eof_now == 4, (greeted, eof_now)
assert 1.5 < max(cut) < 6, cut
print('greeted %d, closed at once %d, last cut off after %.2f s'
      % (greeted, eof_now, max(cut)))
PYEOF
figure "max-connections=2, 12 silent clients over it: $silent"
grep -q "nbd-server lim: refusing connection from unix:.*: limit of 2 connections reached" \
    "$tmp/mc.log" || fail "no refusal logged: $(cat "$tmp/mc.log")"
[ "$(grep -c "refusing connection" "$tmp/mc.log")" = 1 ] \
    || fail "refusals not rate-limited: $(cat "$tmp/mc.log")"
figure "max-connections=2: third client refused in ${t} ms; qemu-img says: $out"
ok "max-connections: third client refused at once and told why, reason logged once"
kill $HOLD; wait $HOLD 2>/dev/null
for ((i = 0; i < 100; i++)); do
    nbdinfo --size "nbd+unix:///disk?socket=$mc" >/dev/null 2>&1 && break
    sleep 0.1
done
[ $i -lt 100 ] || fail "no client served after the holders left"
kill -0 $MC_PID || fail "limited server died"
ok "max-connections: slots free again once clients leave"
stop_checked "$MC_PID" "$tmp/mc.log" "limited server"
stop_checked "$DAEMON_PID" "$tmp/daemon.log" "load server"
ok "both servers exit 0 on SIGTERM, no sanitizer report"
