#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark `warden img convert` against nbdcopy and qemu-img convert, in
# the same run (these machines are noisy: only ratios compare). qemu-nbd
# serves a random image in /dev/shm over 127.0.0.1, plain and TLS x509;
# each tool copies export -> null sink ("read": warden null:, nbdcopy
# null:, qemu-img's null-co driver), export -> /dev/shm file ("file") and
# /dev/shm file -> export ("write"). Best of RUNS runs. Not part of
# `meson test`.
#
# Usage: WARDEN=build/warden tests/bench/bench-img.sh   (SIZE=1G RUNS=3)
set -u
: "${WARDEN:?WARDEN must point at the warden binary}"
SIZE=${SIZE:-1G}
RUNS=${RUNS:-3}
for c in qemu-nbd qemu-img nbdcopy certtool; do
    command -v "$c" >/dev/null || { echo "need $c"; exit 77; }
done
dir=$(mktemp -d /dev/shm/warden-bench.XXXXXX)
QPID=
cleanup() { [ -n "$QPID" ] && kill "$QPID" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
cd "$dir" || exit 1

# PKI: CA, server (localhost, 127.0.0.1), client.
key() { certtool --generate-privkey --key-type rsa --bits 2048 --outfile "$1" 2>/dev/null; }
key ca-key.pem; key server-key.pem; key client-key.pem
printf 'cn = Bench CA\nca\ncert_signing_key\nexpiration_days = 2\n' > ca.info
printf 'cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 2\n' > srv.info
printf 'cn = client\ntls_www_client\nencryption_key\nsigning_key\nexpiration_days = 2\n' > cli.info
certtool --generate-self-signed --load-privkey ca-key.pem --template ca.info --outfile ca-cert.pem 2>/dev/null
for w in server:srv client:cli; do
    certtool --generate-certificate --load-privkey "${w%%:*}-key.pem" \
        --load-ca-certificate ca-cert.pem --load-ca-privkey ca-key.pem \
        --template "${w##*:}.info" --outfile "${w%%:*}-cert.pem" 2>/dev/null
done
mkdir srv cli
cp ca-cert.pem server-cert.pem server-key.pem srv/
cp ca-cert.pem client-cert.pem client-key.pem cli/

echo "# $(nproc) CPUs; image $SIZE of random data in /dev/shm; best of $RUNS"
head -c "$SIZE" /dev/urandom > src.img
cp src.img export.img
BYTES=$(stat -c %s src.img)

port() { /usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
serve() {   # serve plain|tls
    [ -n "$QPID" ] && { kill "$QPID"; wait "$QPID" 2>/dev/null; }
    P=$(port)
    local tls=()
    [ "$1" = tls ] && tls=(--object "tls-creds-x509,id=t,endpoint=server,dir=$dir/srv" --tls-creds t)
    qemu-nbd -t -f raw -e 16 -p "$P" -b 127.0.0.1 "${tls[@]}" export.img 2>/dev/null &
    QPID=$!
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$P") 2>/dev/null && return; sleep 0.05; done
    echo "qemu-nbd did not start"; exit 1
}

# best MODE DIRECTION TOOL: prints the best time of RUNS runs.
best() {
    local mode=$1 dirn=$2 tool=$3 t b=
    local uri="nbd://127.0.0.1:$P/" qopts=(driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=$P)
    local obj=()
    if [ "$mode" = tls ]; then
        uri="nbds://127.0.0.1:$P/?tls-certificates=$dir/cli"
        qopts=("${qopts[0]},tls-creds=t0")
        obj=(--object "tls-creds-x509,id=t0,endpoint=client,dir=$dir/cli")
    fi
    for _ in $(seq "$RUNS"); do
        rm -f out.img
        local start=$(date +%s.%N)
        case $tool-$dirn in
        warden-read)  "$WARDEN" img convert "$uri" null: ;;
        warden-file)  "$WARDEN" img convert "$uri" out.img ;;
        warden-write) "$WARDEN" img convert src.img "$uri" ;;
        nbdcopy-read) nbdcopy "$uri" null: ;;
        nbdcopy-file) touch out.img; nbdcopy "$uri" out.img ;;
        nbdcopy-write) nbdcopy src.img "$uri" ;;
        qemu-img-read) qemu-img convert "${obj[@]}" -n --image-opts "${qopts[0]}" \
                           --target-image-opts "driver=null-co,size=$BYTES" ;;
        qemu-img-file) qemu-img convert "${obj[@]}" --image-opts "${qopts[0]}" -O raw out.img ;;
        qemu-img-write) qemu-img convert "${obj[@]}" -n -f raw src.img --target-image-opts "${qopts[0]}" ;;
        esac >/dev/null 2>"$dir/err" || { echo "$tool $mode $dirn FAILED: $(cat "$dir/err")"; exit 1; }
        t=$(echo "$(date +%s.%N) - $start" | bc)
        [ "$dirn" = file ] && { cmp -s src.img out.img || { echo "$tool $mode: wrong data"; exit 1; }; }
        [ "$dirn" = write ] && { cmp -s src.img export.img || { echo "$tool $mode: wrong data written"; exit 1; }; }
        if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi
    done
    echo "$b"
}

printf '%-6s %-6s %10s %10s %10s %12s %12s\n' mode dir warden nbdcopy qemu-img \
    vs-nbdcopy vs-qemu-img
for mode in plain tls; do
    serve "$mode"
    for dirn in read file write; do
        w=$(best "$mode" "$dirn" warden) || { echo "$w"; exit 1; }
        n=$(best "$mode" "$dirn" nbdcopy) || { echo "$n"; exit 1; }
        q=$(best "$mode" "$dirn" qemu-img) || { echo "$q"; exit 1; }
        printf '%-6s %-6s %9.3fs %9.3fs %9.3fs %11.2fx %11.2fx\n' "$mode" "$dirn" \
            "$w" "$n" "$q" "$(echo "$n / $w" | bc -l)" "$(echo "$q / $w" | bc -l)"
    done
done
echo "# ratios > 1: warden is faster (time of the other tool / warden's)"
