#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Data integrity (issue 7, part 5): fio's nbd engine (libnbd) writes random
# blocks with crc32c verify headers through TLS over 4 connections (one
# per job, disjoint regions), then reads every block back and checks it.
#  1. directly against a TLS Warden export;
#  2. through a Warden re-exporting that export (its nbd block driver is
#     the TLS client of the first Warden): both halves of our NBD code.
# After each run the blocks are verified again where they must have
# landed: through the upstream export, and in the image file itself once
# both daemons have exited.  Every round starts from a fresh all-zero
# image, so a lost write leaves zeros there, which fail the check.
# Sizes: load-scale.sh (LONG=1: 4 x 128 MiB x 4 rounds per setup).
. "$(dirname "$0")/functions.sh"
. "$TESTS_DIR/load-scale.sh"
requires fio

JOB_MB=$(scale 16 8 128)
ROUNDS=$(scale 1 1 4)

cd "$tmp"
"$WARDEN" certs create "$tmp/pki" >/dev/null || fail "certs create"
# fio's engine refuses tls-certificates= in its URI (libnbd's "local file
# access"): libnbd's default certificate directory is $HOME/.pki/libnbd.
# It holds the CA only; the server runs with verify-peer=off for fio.
mkdir -p "$tmp/home/.pki" && cp -r "$tmp/pki" "$tmp/home/.pki/libnbd"
rm "$tmp/home/.pki/libnbd/client-key.pem" "$tmp/home/.pki/libnbd/client-cert.pem"

# fio_run SEED URI|FILE EXTRA...: 4 jobs over disjoint JOB_MB regions;
# prints "written verified" bytes; fails on any verify error.
fio_run() {
    local seed=$1 target=$2 engine
    shift 2
    case $target in
        nbd*) engine=(--ioengine=nbd --uri="$target" --iodepth=16) ;;
        *) engine=(--ioengine=psync --filename="$target") ;;
    esac
    HOME=$tmp/home timeout 600 fio --name=integrity "${engine[@]}" \
        --rw=randwrite --bsrange=4k-64k --size=${JOB_MB}M \
        --offset_increment=${JOB_MB}M --numjobs=4 --randseed="$seed" \
        --verify=crc32c --verify_fatal=1 --end_fsync=1 \
        --output-format=json --output="$tmp/fio.json" "$@" \
        >"$tmp/fio.err" 2>&1 \
        || fail "fio on $target (seed $seed): $(grep -v '^$' "$tmp/fio.err" | head -5)"
    $PY -c 'import json, sys
t = open(sys.argv[1]).read()
d = json.loads(t[t.index("{"):])  # fio may print notes before the JSON
bad = [j for j in d["jobs"] if j["error"] or j.get("total_err")]
if bad:
    sys.exit("fio job errors: %r" % [(j["error"], j.get("total_err")) for j in bad])
w = sum(j["write"]["io_bytes"] for j in d["jobs"])
r = sum(j["read"]["io_bytes"] for j in d["jobs"])
if r != 4 * int(sys.argv[2]) * 1048576:
    sys.exit("fio verified %d bytes, wanted all of %d MiB" % (r, 4 * int(sys.argv[2])))
print(w, r)' "$tmp/fio.json" "$JOB_MB" || fail "fio on $target: results"
}

size=$((4 * JOB_MB))M
P_UP=$(free_port)
P_RE=$(free_port)
start_upstream() {
    truncate -s "$size" up.img
    "$WARDEN" daemon \
        --object tls-creds-x509,id=s0,endpoint=server,dir="$tmp/pki",verify-peer=off \
        --blockdev driver=file,node-name=d0,filename=up.img \
        --nbd-server addr.type=inet,addr.host=127.0.0.1,addr.port=$P_UP,tls-creds=s0 \
        --export type=nbd,id=e0,node-name=d0,name=up,writable=on \
        --pidfile "$tmp/up.pid" --daemonize || fail "upstream daemon"
    cleanup_fn "kill \$(cat $tmp/up.pid 2>/dev/null) 2>/dev/null"
}
# stop PIDFILE: SIGTERM, wait until the daemon has exited.
stop() {
    local pid
    pid=$(cat "$1") || fail "no $1"
    kill "$pid"
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    fail "daemon $pid did not exit on SIGTERM"
}

# round SEED direct|reexport: one round on a fresh (all-zero) image, so a
# lost write leaves zeros that fail the check.  Adds to total_w, total_r
# (not in a subshell: the daemons' cleanup must reach the main shell).
round() {
    local seed=$1 mode=$2 w r v
    rm -f up.img
    start_upstream
    if [ "$mode" = direct ]; then
        read -r w r < <(fio_run "$seed" "nbds://localhost:$P_UP/up")
        [ -n "${r:-}" ] || fail "fio round $seed"
    else
        start_reexport
        read -r w r < <(fio_run "$seed" "nbds://localhost:$P_RE/re")
        [ -n "${r:-}" ] || fail "fio round $seed through the re-export"
        read -r _ v < <(fio_run "$seed" "nbds://localhost:$P_UP/up" --verify_only=1)
        [ -n "${v:-}" ] || fail "verify through the upstream export"
        r=$((r + v))
        stop "$tmp/re.pid"
    fi
    stop "$tmp/up.pid"
    read -r _ v < <(fio_run "$seed" up.img --verify_only=1)
    [ -n "${v:-}" ] || fail "verify of up.img (round $seed, $mode)"
    total_w=$((total_w + w)) total_r=$((total_r + r + v))
}
start_reexport() {
    "$WARDEN" daemon \
        --object tls-creds-x509,id=c0,endpoint=client,dir="$tmp/pki" \
        --object tls-creds-x509,id=s1,endpoint=server,dir="$tmp/pki",verify-peer=off \
        --blockdev driver=nbd,node-name=n0,server.type=inet,server.host=127.0.0.1,server.port=$P_UP,export=up,tls-creds=c0,tls-hostname=localhost \
        --nbd-server addr.type=inet,addr.host=127.0.0.1,addr.port=$P_RE,tls-creds=s1 \
        --export type=nbd,id=e1,node-name=n0,name=re,writable=on \
        --pidfile "$tmp/re.pid" --daemonize || fail "re-export daemon"
    cleanup_fn "kill \$(cat $tmp/re.pid 2>/dev/null) 2>/dev/null"
}

for mode in direct reexport; do
    t0=$(date +%s%N)
    total_w=0 total_r=0
    for ((seed = 1; seed <= ROUNDS; seed++)); do
        round "$seed" "$mode"
    done
    figure "fio $mode, TLS, 4 connections, $ROUNDS round(s): $total_w bytes written, $total_r bytes verified ($([ $mode = direct ] && echo "export, file" || echo "re-export, upstream export, file")), 0 mismatches, $(( ($(date +%s%N) - t0) / 1000000 )) ms"
    ok "fio $mode: every block verified through NBD and in the image file"
done

# The check can fail: one flipped byte in a copy of the image is caught.
cp up.img bad.img
printf '\xff' | dd of=bad.img bs=1 seek=$((JOB_MB * 1048576 + 100)) conv=notrunc status=none
(fio_run "$ROUNDS" bad.img --verify_only=1) >/dev/null 2>&1 \
    && fail "fio verify_only accepted a corrupted image"
ok "fio verify catches a corrupted block"
