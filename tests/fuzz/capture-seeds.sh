#!/bin/bash
# Record real NBD traffic and certificates as fuzz seeds:
#
#   tests/fuzz/capture-seeds.sh [WARDEN]
#
# Real servers (qemu-nbd, nbdkit) export a 1 MiB image on a unix socket
# behind a recording relay (capture-relay.py); real clients (qemu-img,
# qemu-io, nbdinfo, nbdcopy and warden, default build/warden) talk to them
# through it. From each session:
#   corpus/nbd-handshake/cap-*  0x00 + what the client sent (a plain server);
#   corpus/nbd-transmit/cap-*   the transmit target's negotiation byte + the
#                               requests the client sent after NBD_OPT_GO;
#   corpus/nbd-client/cap-*     the client mode byte + what the server sent.
# The fuzz server's writable export is called "disk" and the fuzz client
# asks for "fuzz", so the captured servers use those names. Certificates
# for corpus/x509 come from certtool (public parts only: no private key
# is stored; run.sh makes key seeds at run time).
# Rerunning overwrites the cap-* seeds. Needs /usr/bin/python3.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
warden=${1:-$src/build/warden}
corpus=$here/corpus
py=/usr/bin/python3
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# Waits (up to 10 s) for the unix socket $1.
wait_sock() {
    for _ in $(seq 100); do
        [ -S "$1" ] && return 0
        sleep 0.1
    done
    echo "capture-seeds: $1 did not appear" >&2
    exit 1
}

# An image with data, a hole and a zeroed range, so maps have extents.
img=$tmp/disk.img
truncate -s 1M "$img"
printf 'warden fuzz seed data' | dd of="$img" conv=notrunc bs=1 seek=4096 \
    status=none
dd if=/dev/urandom of="$img" conv=notrunc bs=64k seek=4 count=2 status=none

# start_server NAME CMD...: CMD serves export "disk" and "fuzz" on
# $tmp/NAME.sock; a relay records every connection on $tmp/NAME-relay.sock.
start_server() {
    local name=$1
    shift
    "$@" >"$tmp/$name.log" 2>&1 &
    pids+=($!)
    wait_sock "$tmp/$name.sock"
    "$py" "$here/capture-relay.py" "$tmp/$name-relay.sock" \
        "$tmp/$name.sock" "$tmp/rec-$name" &
    pids+=($!)
    wait_sock "$tmp/$name-relay.sock"
}

start_server qemu-nbd qemu-nbd -f raw -t -e 8 -x disk \
    -k "$tmp/qemu-nbd.sock" "$img"
start_server qemu-nbd-fuzz qemu-nbd -f raw -t -e 8 -x fuzz -D "Fuzz disk" \
    -k "$tmp/qemu-nbd-fuzz.sock" "$img"
start_server nbdkit nbdkit -f -U "$tmp/nbdkit.sock" -e fuzz \
    memory 1M

# run TAG CMD...: one client session (or several), recorded under TAG.
run() {
    local tag=$1
    shift
    echo "$tag" >"$tmp/tag"
    timeout 30 "$@" >/dev/null 2>&1 || true
    sleep 0.2           # let the relay flush and close
}

uri() {  # uri SERVER EXPORT
    echo "nbd+unix:///$2?socket=$tmp/$1-relay.sock"
}

# Client -> server: what real clients send to a server.
run qemu-img-info qemu-img info -f raw "$(uri qemu-nbd disk)"
run qemu-img-map qemu-img map -f raw --output=json "$(uri qemu-nbd disk)"
run qemu-io qemu-io -f raw -c 'read 0 64k' -c 'write -P 0x5a 4096 4096' \
    -c 'write -z 65536 65536' -c 'discard 131072 65536' -c 'flush' \
    -c 'write -P 1 1044480 4096' "$(uri qemu-nbd disk)"
run qemu-io-fua qemu-io -f raw -t none -c 'write -f -P 7 0 512' \
    -c 'aio_write -P 8 8192 8192' -c 'aio_flush' "$(uri qemu-nbd disk)"
run nbdinfo-list nbdinfo --list "$(uri qemu-nbd disk)"
run nbdinfo-map nbdinfo --map "$(uri qemu-nbd disk)"
run nbdinfo-content nbdinfo --content "$(uri qemu-nbd disk)"
run nbdcopy nbdcopy "$(uri qemu-nbd disk)" null:
run nbdcopy-write nbdcopy --allocated "$tmp/disk.img" "$(uri qemu-nbd disk)"
[ -x "$warden" ] &&
    run warden-info "$warden" img info "$(uri qemu-nbd disk)"

# Server -> client: what real servers answer the client under test.
run s-qemu-img-info qemu-img info -f raw "$(uri qemu-nbd-fuzz fuzz)"
run s-nbdinfo-map nbdinfo --map "$(uri qemu-nbd-fuzz fuzz)"
run s-nbdinfo-list nbdinfo --list "$(uri qemu-nbd-fuzz fuzz)"
run s-nbdkit-map nbdinfo --map "$(uri nbdkit fuzz)"
run s-nbdkit-list nbdinfo --list "$(uri nbdkit fuzz)"
if [ -x "$warden" ]; then
    run s-warden-info "$warden" img info "$(uri qemu-nbd-fuzz fuzz)"
    run s-warden-map "$warden" img map "$(uri qemu-nbd-fuzz fuzz)"
    run s-warden-list "$warden" img list "$(uri qemu-nbd-fuzz fuzz)"
    run s-warden-nbdkit "$warden" img map "$(uri nbdkit fuzz)"
fi

"$py" "$here/capture-relay.py" --split "$tmp" "$corpus"

# ---- x509: public certificates, a CRL and DH parameters ------------------
x=$tmp/x509
mkdir "$x"
certtool --generate-privkey --key-type=ecdsa --outfile "$x/ca-key.pem" \
    2>/dev/null
printf 'cn = Fuzz CA\nca\ncert_signing_key\ncrl_signing_key\nexpiration_days = 3650\n' \
    >"$x/ca.tmpl"
certtool --generate-self-signed --load-privkey "$x/ca-key.pem" \
    --template "$x/ca.tmpl" --outfile "$x/ca-cert.pem" 2>/dev/null
certtool --generate-privkey --key-type=ecdsa --outfile "$x/key.pem" \
    2>/dev/null
printf 'cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\ntls_www_client\nencryption_key\nsigning_key\nexpiration_days = 3650\n' \
    >"$x/srv.tmpl"
certtool --generate-certificate --load-privkey "$x/key.pem" \
    --load-ca-certificate "$x/ca-cert.pem" --load-ca-privkey "$x/ca-key.pem" \
    --template "$x/srv.tmpl" --outfile "$x/cert.pem" 2>/dev/null
printf 'crl_next_update = 3650\ncrl_number = 1\n' >"$x/crl.tmpl"
certtool --generate-crl --load-ca-privkey "$x/ca-key.pem" \
    --load-ca-certificate "$x/ca-cert.pem" --template "$x/crl.tmpl" \
    --outfile "$x/crl.pem" 2>/dev/null
certtool --get-dh-params --bits 2048 2>/dev/null |
    sed -n '/BEGIN DH/,/END DH/p' >"$x/dh.pem"
# seed FILE BYTE PARTS...: byte 0 picks the file the input replaces.
seed() {
    local f=$corpus/x509/$1 b=$2
    shift 2
    printf "\\x$b" >"$f"
    cat "$@" >>"$f"
}
mkdir -p "$corpus/x509"
seed cap-ca-cert 00 "$x/ca-cert.pem"
seed cap-ca-chain 00 "$x/ca-cert.pem" "$x/cert.pem"
seed cap-crl 01 "$x/crl.pem"
seed cap-server-cert 02 "$x/cert.pem"
seed cap-server-chain 02 "$x/cert.pem" "$x/ca-cert.pem"
seed cap-dh-params 04 "$x/dh.pem"
seed cap-client-cert 05 "$x/cert.pem"
seed cap-client-ca 07 "$x/ca-cert.pem"
# Key seeds are made by run.sh at run time (x509_key_seeds): no key,
# real or made-up, is stored in the corpus.
echo "capture-seeds: done"
