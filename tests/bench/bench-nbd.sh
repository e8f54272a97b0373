#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# NBD server benchmark: warden nbd, qemu-nbd and nbdkit (file plugin) side
# by side in one run on the same tmpfs image, with the same clients.
# Prints throughput, each server's CPU seconds per GiB moved (from
# /proc/PID/stat), and warden's ratio to each peer; every figure is the
# median over ROUNDS rounds (servers interleaved within each round).  Also
# measures iperf3 TCP loopback throughput each round (the plain read
# target is >= 1.25x nbdkit or >= 90 % of it).  Not part of meson test.
#
# Usage: tests/bench/bench-nbd.sh [WARDEN] [SIZE_MIB] [ROUNDS]
# Environment: WORKLOADS (default all: "seqread-plain:0 seqread-tls:1
# seqwrite:0 randread4k:0 connects-tls:1"), SERVERS (default "warden
# qemu-nbd nbdkit"), FIO_SECS, CONNECT_SECS, IPERF_SECS.
set -u
WARDEN=${1:-build/warden}
SIZE_MIB=${2:-1024}
ROUNDS=${3:-3}
FIO_SECS=${FIO_SECS:-8}
CONNECT_SECS=${CONNECT_SECS:-5}
IPERF_SECS=${IPERF_SECS:-3}
WORKLOADS=${WORKLOADS:-"seqread-plain:0 seqread-tls:1 seqwrite:0 randread4k:0 connects-tls:1"}
SERVERS=${SERVERS:-"warden qemu-nbd nbdkit"}
PY=/usr/bin/python3
for c in nbdcopy nbdinfo qemu-nbd nbdkit fio certtool bc; do
    command -v $c >/dev/null || { echo "missing $c"; exit 1; }
done
WARDEN=$(readlink -f "$WARDEN")
tmp=$(mktemp -d /dev/shm/warden-bench.XXXXXX)
trap 'pkill -P $$ 2>/dev/null; sleep 0.2; rm -rf "$tmp"' EXIT
img=$tmp/disk.img
src=$tmp/src.img
echo "# preparing ${SIZE_MIB} MiB images in /dev/shm"
head -c $((SIZE_MIB << 20)) /dev/urandom > "$img"
cp "$img" "$src"
hz=$(getconf CLK_TCK)

"$WARDEN" certs create "$tmp/pki" --days 2 >/dev/null || exit 1

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start_server() {   # start_server NAME TLS(0/1) SOCK -> sets SPID
    local name=$1 tls=$2 sock=$3
    rm -f "$sock"
    case $name in
    warden)
        if [ "$tls" = 1 ]; then
            "$WARDEN" nbd -t -e 16 -f raw -k "$sock" \
                --object tls-creds-x509,id=t0,endpoint=server,dir="$tmp/pki" \
                --tls-creds t0 "$img" &
        else
            "$WARDEN" nbd -t -e 16 -f raw -k "$sock" "$img" &
        fi ;;
    qemu-nbd)
        if [ "$tls" = 1 ]; then
            qemu-nbd -t -e 16 -f raw -k "$sock" --cache=writeback --aio=threads \
                --object tls-creds-x509,id=t0,endpoint=server,dir="$tmp/pki" \
                --tls-creds t0 "$img" &
        else
            qemu-nbd -t -e 16 -f raw -k "$sock" --cache=writeback --aio=threads "$img" &
        fi ;;
    nbdkit)
        if [ "$tls" = 1 ]; then
            nbdkit -f -U "$sock" --tls=require --tls-certificates="$tmp/pki" \
                file file="$img" &
        else
            nbdkit -f -U "$sock" file file="$img" &
        fi ;;
    esac
    SPID=$!
    for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
    [ -S "$sock" ] || { echo "$name did not start"; exit 1; }
}

stop_server() { kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; }

uri() {   # uri TLS SOCK
    if [ "$1" = 1 ]; then
        echo "nbds+unix:///?socket=$2&tls-certificates=$tmp/pki"
    else
        echo "nbd+unix:///?socket=$2"
    fi
}

declare -A RESULT CPU CPUS
measure() {   # measure WORKLOAD NAME TLS
    local w=$1 name=$2 tls=$3
    local sock=$tmp/$name.sock
    start_server "$name" "$tls" "$sock"
    local u t0 t1 c0 c1 value bytes
    u=$(uri "$tls" "$sock")
    c0=$(cpu_ticks "$SPID")
    t0=$(date +%s.%N)
    case $w in
    seqread*)
        nbdcopy "$u" null: || echo "nbdcopy failed"
        bytes=$((SIZE_MIB << 20)) ;;
    seqwrite)
        nbdcopy "$src" "$u" || echo "nbdcopy failed"
        bytes=$((SIZE_MIB << 20)) ;;
    randread4k)
        out=$(fio --name=r --ioengine=nbd --uri="$u" --rw=randread --bs=4k \
              --iodepth=32 --runtime="$FIO_SECS" --time_based \
              --output-format=terse --terse-version=3 2>/dev/null)
        bytes=$(( $(echo "$out" | grep '^3;' | cut -d';' -f6) * 1024 )) ;;
    connects*)
        local n=0 end
        end=$(( $(date +%s) + CONNECT_SECS ))
        while [ "$(date +%s)" -lt "$end" ]; do
            nbdinfo --size "$u" >/dev/null || { echo "nbdinfo failed"; break; }
            n=$((n + 1))
        done
        bytes=$n ;;
    esac
    t1=$(date +%s.%N)
    c1=$(cpu_ticks "$SPID")
    stop_server
    local secs cpu
    secs=$(echo "$t1 - $t0" | bc -l)
    cpu=$(echo "($c1 - $c0) / $hz" | bc -l)
    case $w in
    connects*)
        value=$(echo "$bytes / $secs" | bc -l)
        CPU[$w,$name]=$(echo "$cpu / ($bytes + 0.000001) * 1000" | bc -l) ;;
    *)
        value=$(echo "$bytes / $secs / 1048576" | bc -l)
        CPU[$w,$name]=$(echo "$cpu / ($bytes / 1073741824)" | bc -l) ;;
    esac
    RESULT[$w,$name]="${RESULT[$w,$name]:-} $value"
    CPUS[$w,$name]="${CPUS[$w,$name]:-} ${CPU[$w,$name]}"
}

median() {   # median NUMBERS...
    printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1}
        END {if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2];
             else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

IPERF=
iperf_round() {   # TCP loopback throughput in MiB/s, appended to IPERF
    command -v iperf3 >/dev/null || return 0
    local port pid out
    port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    iperf3 -s -1 -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
    pid=$!
    for i in $(seq 50); do
        ss -ltn 2>/dev/null | grep -q "127.0.0.1:$port " && break
        sleep 0.1
    done
    out=$(iperf3 -c 127.0.0.1 -p "$port" -t "$IPERF_SECS" -J 2>/dev/null |
          $PY -c 'import json, sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 8 / 1048576)' 2>/dev/null)
    wait "$pid" 2>/dev/null
    [ -n "$out" ] && IPERF="$IPERF $out"
}

workloads=$WORKLOADS
for round in $(seq "$ROUNDS"); do
    echo "# round $round/$ROUNDS (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
    iperf_round
    for wl in $workloads; do
        w=${wl%%:*}; tls=${wl##*:}
        for s in $SERVERS; do
            measure "$w" "$s" "$tls"
        done
    done
done
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

has() { case " $SERVERS " in *" $1 "*) return 0;; esac; return 1; }
ratio() { if [ -n "$2" ] && [ "$(echo "$2 > 0" | bc -l)" = 1 ]; then
              printf '%.2fx' "$(echo "$1 / $2" | bc -l)"; else printf -- -; fi; }
table_row() {   # table_row WORKLOAD ARRAY-NAME PRINTF-FORMAT: sets M
    local w=$1 fmt=$3 s
    local -n vals=$2
    M=()
    for s in warden qemu-nbd nbdkit; do
        M[$s]=
        has "$s" && M[$s]=$(median ${vals[$w,$s]})
    done
    printf '%-14s %12s %12s %12s %10s %10s\n' "$w" \
        "$(printf "$fmt" "${M[warden]:-0}")" "$(printf "$fmt" "${M[qemu-nbd]:-0}")" \
        "$(printf "$fmt" "${M[nbdkit]:-0}")" \
        "$(ratio "${M[warden]:-0}" "${M[qemu-nbd]}")" "$(ratio "${M[warden]:-0}" "${M[nbdkit]}")"
}
declare -A M
printf '\n%-14s %12s %12s %12s %10s %10s\n' workload warden qemu-nbd nbdkit "w/qemu" "w/nbdkit"
for wl in $workloads; do
    w=${wl%%:*}
    table_row "$w" RESULT '%.1f'
    if [ "$w" = seqread-plain ] && [ -n "$IPERF" ]; then
        ip=$(median $IPERF)
        printf '%-14s %12.1f   (seqread-plain warden = %.0f %% of it; iperf3 rounds:%s)\n' \
            iperf3-tcp "$ip" "$(echo "${M[warden]:-0} * 100 / $ip" | bc -l)" "$IPERF"
    fi
done
echo "(MiB/s, medians of $ROUNDS rounds; connects-tls: connections/s)"
printf '\n%-14s %12s %12s %12s %10s %10s\n' "server CPU" warden qemu-nbd nbdkit "w/qemu" "w/nbdkit"
for wl in $workloads; do
    table_row "${wl%%:*}" CPUS '%.3f'
done
echo "(server CPU seconds per GiB moved, medians; connects-tls: CPU ms per connection)"
