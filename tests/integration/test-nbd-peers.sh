#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Real NBD clients against our server engine (tests/integration/
# nbd-server-test.c): qemu-img, qemu-io, qemu-nbd -L, nbdinfo, nbdcopy,
# nbdsh (python3-libnbd) and fio's nbd engine; plain over TCP and unix
# sockets, x509 TLS (certificates made with certtool here, with and
# without client certificates and tls-authz) and PSK (psktool). Data must
# round-trip, and the TLS downgrade cases must give the clients' exact
# messages from nbd.md 4(a)/(b). Exit 0 = pass, 1 = fail, 77 = skipped.
#
# NBD_SERVER_TEST: the driver binary (meson passes it).
set -u

here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3     # Debian's python3, with python3-libnbd
# nbdsh with that python (the nbdsh script runs whichever python3 is
# first in PATH).
NBDSH=("$PY" -m nbd)
for c in qemu-img qemu-io qemu-nbd nbdinfo nbdcopy certtool psktool; do
    command -v "$c" >/dev/null 2>&1 || { echo "SKIP: $c not installed"; exit 77; }
done
if [ -z "${NBD_SERVER_TEST:-}" ]; then
    for b in "$here/../../build/tests/integration/nbd-server-test" \
             "$here/nbd-server-test"; do
        [ -x "$b" ] && NBD_SERVER_TEST=$b
    done
fi
[ -x "${NBD_SERVER_TEST:-}" ] || { echo "SKIP: NBD_SERVER_TEST not built"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/warden-nbd-peers.XXXXXX")
srv_pid=
cleanup() {
    stop_server
    rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok $((passed + failed)) - $*"; }
not_ok() {
    failed=$((failed + 1))
    echo "not ok $((passed + failed)) - $1"
    shift
    [ $# -gt 0 ] && printf '#   %s\n' "$@"
}
# check NAME CMD...: CMD must succeed.
check() {
    local name=$1; shift
    if out=$(timeout 60 "$@" 2>&1); then
        ok "$name"
    else
        not_ok "$name" "command failed: $*" "$out"
    fi
}
# check_fail NAME TEXT... -- CMD...: CMD must fail and print every TEXT.
check_fail() {
    local name=$1 texts=() t
    shift
    while [ "$1" != "--" ]; do texts+=("$1"); shift; done
    shift
    if out=$(timeout 60 "$@" 2>&1); then
        not_ok "$name" "unexpected success: $*" "$out"
        return
    fi
    for t in "${texts[@]}"; do
        case "$out" in
            *"$t"*) ;;
            *) not_ok "$name" "missing: $t" "got: $out"; return ;;
        esac
    done
    ok "$name"
}

# start_server ARGS...: runs the driver, sets ADDR (host:port or
# unix:path) and PORT; waits (bounded) for "listening on".
start_server() {
    stop_server
    # Emptied here, not only by the child's redirection: the loop below
    # could otherwise read the previous server's address before the child
    # gets to truncate the file (and then connect to a closed port).
    : >"$tmp/srv.out"
    "$NBD_SERVER_TEST" "$@" >"$tmp/srv.out" 2>"$tmp/srv.log" &
    srv_pid=$!
    local i
    for ((i = 0; i < 100; i++)); do
        ADDR=$(sed -n 's/^listening on //p' "$tmp/srv.out")
        [ -n "$ADDR" ] && break
        kill -0 "$srv_pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$ADDR" ]; then
        echo "Bail out! server did not start: $(cat "$tmp/srv.log")"
        exit 1
    fi
    PORT=${ADDR##*:}
}
stop_server() {
    if [ -n "$srv_pid" ]; then
        kill "$srv_pid" 2>/dev/null
        wait "$srv_pid" 2>/dev/null
        srv_pid=
        # Under ASan/UBSan (CI) the server must also exit clean.
        if grep -qE "Sanitizer|runtime error" "$tmp/srv.log"; then
            not_ok "server exits without sanitizer reports" \
                "$(cat "$tmp/srv.log")"
        fi
    fi
}

head -c 4194304 /dev/urandom >"$tmp/data"
img=$tmp/disk.img

# ---- plain TCP ----------------------------------------------------------

truncate -s 16M "$img"
start_server -f "$img" -x disk -D "Test disk"
URI=nbd://127.0.0.1:$PORT/disk

out=$(timeout 30 nbdinfo "$URI" 2>&1)
case "$out" in
    *"export-size: 16777216"*"description: Test disk"*|*"description: Test disk"*"export-size: 16777216"*)
        ok "nbdinfo shows size and description" ;;
    *) not_ok "nbdinfo shows size and description" "$out" ;;
esac
out=$(timeout 30 nbdinfo --list "nbd://127.0.0.1:$PORT" 2>&1)
case "$out" in
    *'export="disk"'*"can_multi_conn: true"*) ok "nbdinfo --list" ;;
    *) not_ok "nbdinfo --list" "$out" ;;
esac
out=$(timeout 30 qemu-nbd -L -b 127.0.0.1 -p "$PORT" 2>&1)
case "$out" in
    *"export: 'disk'"*"description: Test disk"*"base:allocation"*)
        ok "qemu-nbd -L" ;;
    *) not_ok "qemu-nbd -L" "$out" ;;
esac
check "qemu-img info" qemu-img info -f raw "$URI"
check "qemu-io write/read pattern" qemu-io -f raw \
    -c "write -P 0x5a 1M 256k" -c "read -P 0x5a 1M 256k" \
    -c "write -z 1M 64k" -c "read -P 0 1M 64k" -c flush "$URI"
check "nbdcopy to server" nbdcopy "$tmp/data" "$URI"
check "nbdcopy from server" nbdcopy "$URI" "$tmp/back"
if cmp -s "$tmp/data" <(head -c 4194304 "$tmp/back"); then
    ok "nbdcopy round trip is identical"
else
    not_ok "nbdcopy round trip is identical"
fi
check "qemu-img compare with file" qemu-img compare -f raw -F raw "$img" "$URI"
if $PY -c 'import nbd' 2>/dev/null; then
    check "nbdsh: pread/pwrite/zero/trim/flush/block_status" \
        "${NBDSH[@]}" -c '
h.set_strict_mode(0)
h.add_meta_context("base:allocation")
h.connect_uri("'"$URI"'")
h.pwrite(b"x" * 8192, 8 * 1024 * 1024, nbd.CMD_FLAG_FUA)
assert h.pread(8192, 8 * 1024 * 1024) == b"x" * 8192
h.zero(4096, 8 * 1024 * 1024)
assert h.pread(4096, 8 * 1024 * 1024) == bytes(4096)
h.trim(65536, 12 * 1024 * 1024)
h.flush()
h.cache(4096, 0)
assert h.can_multi_conn() and h.can_fua() and h.can_df()
assert h.get_block_size(nbd.SIZE_MAXIMUM) == 32 * 1024 * 1024
seen = []
h.block_status(65536, 12 * 1024 * 1024,
               lambda ctx, off, ents, err: seen.extend(ents))
assert seen and sum(seen[0::2]) >= 65536, seen
try:
    h.pread(2, 16 * 1024 * 1024 - 1)
    raise SystemExit("read past the end succeeded")
except nbd.Error as e:
    assert e.errno == "EINVAL", e
'
else
    echo "# skipped nbdsh: python3-libnbd missing"
fi
if fio --enghelp=nbd >/dev/null 2>&1; then
    check "fio nbd engine: random write + verify, 2 jobs" \
        fio --name=v --ioengine=nbd --uri="$URI" --rw=randwrite --bs=4k \
        --size=4m --iodepth=16 --numjobs=2 --offset_increment=4m \
        --verify=crc32c --do_verify=1 --verify_state_save=0 \
        --group_reporting
else
    echo "# skipped fio: no nbd engine"
fi
stop_server
if [ ! -s "$tmp/srv.log" ]; then
    ok "nothing logged at the default level for good clients"
else
    not_ok "nothing logged at the default level for good clients" \
        "$(cat "$tmp/srv.log")"
fi

# ---- read-only, unix socket ----------------------------------------------

start_server -f "$img" -r -k "$tmp/nbd.sock"
UURI="nbd+unix:///?socket=$tmp/nbd.sock"
check "nbdinfo over a unix socket (default export)" nbdinfo "$UURI"
check_fail "read-only: qemu-io refuses to open it for writing" \
    "Could not open image: Permission denied" -- \
    qemu-io -f raw -c "write 0 4k" "nbd+unix:///?socket=$tmp/nbd.sock"
if $PY -c 'import nbd' 2>/dev/null; then
    # Strict mode off: the server, not libnbd, must refuse the writes.
    check "read-only: writes fail with EPERM, reads work" "${NBDSH[@]}" -c '
h.set_strict_mode(0)
h.connect_uri("'"$UURI"'")
assert h.is_read_only()
for f in (lambda: h.pwrite(b"x", 0), lambda: h.zero(512, 0),
          lambda: h.trim(512, 0)):
    try:
        f()
        raise SystemExit("write to a read-only export succeeded")
    except nbd.Error as e:
        assert e.errno == "EPERM", e
assert len(h.pread(4096, 0)) == 4096
'
fi
check "read-only: qemu-io read" qemu-io -f raw -r -c "read 0 64k" \
    "nbd+unix:///?socket=$tmp/nbd.sock"
stop_server

# ---- x509 TLS -------------------------------------------------------------

pki=$tmp/pki
mkdir -p "$pki/server" "$pki/client" "$pki/nocert" "$tmp/home/.pki"
certtool --generate-privkey --key-type=ecdsa --outfile "$pki/ca-key.pem" 2>/dev/null
cat >"$pki/ca.info" <<EOF
cn = Warden Test CA
ca
cert_signing_key
expiration_days = 2
EOF
certtool --generate-self-signed --load-privkey "$pki/ca-key.pem" \
    --template "$pki/ca.info" --outfile "$pki/ca-cert.pem" 2>/dev/null
for who in server client; do
    certtool --generate-privkey --key-type=ecdsa \
        --outfile "$pki/$who/$who-key.pem" 2>/dev/null
    if [ $who = server ]; then
        printf 'organization = Test\ncn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\nsigning_key\nencryption_key\nexpiration_days = 2\n'
    else
        printf 'country = GB\norganization = Test\ncn = client1\ntls_www_client\nsigning_key\nencryption_key\nexpiration_days = 2\n'
    fi >"$pki/$who.info"
    certtool --generate-certificate --load-ca-certificate "$pki/ca-cert.pem" \
        --load-ca-privkey "$pki/ca-key.pem" \
        --load-privkey "$pki/$who/$who-key.pem" --template "$pki/$who.info" \
        --outfile "$pki/$who/$who-cert.pem" 2>/dev/null
    cp "$pki/ca-cert.pem" "$pki/$who/"
done
cp "$pki/ca-cert.pem" "$pki/nocert/"
# A client that trusts another CA only.
mkdir -p "$pki/otherca"
certtool --generate-privkey --key-type=ecdsa --outfile "$pki/ca2-key.pem" 2>/dev/null
certtool --generate-self-signed --load-privkey "$pki/ca2-key.pem" \
    --template "$pki/ca.info" --outfile "$pki/otherca/ca-cert.pem" 2>/dev/null
cp -r "$pki/client" "$tmp/home/.pki/libnbd"
[ -s "$pki/server/server-cert.pem" ] && [ -s "$pki/client/client-cert.pem" ] ||
    { echo "Bail out! certtool failed"; exit 1; }
QCLI="tls-creds-x509,id=tls0,dir=$pki/client,endpoint=client"

start_server -f "$img" -x disk --x509 "$pki/server"
TURI="nbds://localhost:$PORT/disk?tls-certificates=$pki/client"
out=$(timeout 30 nbdinfo "$TURI" 2>&1)
case "$out" in
    *"with TLS"*"export-size: 16777216"*) ok "x509: nbdinfo over TLS" ;;
    *) not_ok "x509: nbdinfo over TLS" "$out" ;;
esac
check "x509: nbdcopy to server" nbdcopy "$tmp/data" "$TURI"
check "x509: nbdcopy from server" nbdcopy "$TURI" "$tmp/back2"
if cmp -s "$tmp/data" <(head -c 4194304 "$tmp/back2"); then
    ok "x509: round trip is identical"
else
    not_ok "x509: round trip is identical"
fi
check "x509: qemu-io with tls-creds" qemu-io --object "$QCLI" --image-opts \
    -c "write -P 0x33 2M 1M" -c "read -P 0x33 2M 1M" \
    "driver=nbd,host=localhost,port=$PORT,export=disk,tls-creds=tls0"
if $PY -c 'import nbd' 2>/dev/null; then
    check "x509: nbdsh over TLS" "${NBDSH[@]}" -c "
h.set_uri_allow_local_file(True)
h.connect_uri('$TURI')
assert h.get_tls_negotiated()
h.pwrite(b'T' * 100000, 3000)
assert h.pread(100000, 3000) == b'T' * 100000
"
fi
if fio --enghelp=nbd >/dev/null 2>&1; then
    check "x509: fio nbd engine over TLS" env HOME="$tmp/home" \
        fio --name=t --ioengine=nbd --uri="nbds://localhost:$PORT/disk" \
        --rw=randrw --bs=4k --size=4m --iodepth=8 --runtime=3 --time_based
fi
# nbd.md 4(a): clients without TLS, with their exact diagnostics.
check_fail "x509: qemu-img without TLS" \
    "TLS negotiation required before option 7 (go)" \
    "Did you forget a valid tls-creds?" \
    "server reported: Option 0x7 not permitted before TLS" -- \
    qemu-img info -f raw "nbd://127.0.0.1:$PORT/disk"
check_fail "x509: qemu-nbd -L without TLS" \
    "TLS negotiation required before option 3 (list)" \
    "server reported: Option 0x3 not permitted before TLS" -- \
    qemu-nbd -L -b 127.0.0.1 -p "$PORT"
check_fail "x509: nbdinfo without TLS" \
    "nbd_opt_go: server replied with error to opt_go request: Operation not supported for export: disk" -- \
    nbdinfo "nbd://127.0.0.1:$PORT/disk"
check_fail "x509: nbdinfo --list without TLS" \
    "nbd_opt_list: server replied with error to list request: Operation not supported" -- \
    nbdinfo --list "nbd://127.0.0.1:$PORT"
check_fail "x509: qemu-img trusting another CA" \
    "The certificate hasn't got a known issuer" -- \
    qemu-img info --object "tls-creds-x509,id=tls0,dir=$pki/otherca,endpoint=client" \
    --image-opts "driver=nbd,host=localhost,port=$PORT,export=disk,tls-creds=tls0"
stop_server

# Client certificates required (verify-peer) and tls-authz on the DN.
start_server -f "$img" -x disk --x509 "$pki/server" --verify-peer \
    --authz-identity "C=GB,O=Test,CN=client1"
check "x509 verify-peer + authz: qemu-img with the client certificate" \
    qemu-img info --object "$QCLI" --image-opts \
    "driver=nbd,host=localhost,port=$PORT,export=disk,tls-creds=tls0"
check_fail "x509 verify-peer: qemu-img without a client certificate" \
    "Failed to read option reply" -- \
    qemu-img info --object "tls-creds-x509,id=tls0,dir=$pki/nocert,endpoint=client" \
    --image-opts "driver=nbd,host=localhost,port=$PORT,export=disk,tls-creds=tls0"
stop_server
start_server -f "$img" -x disk --x509 "$pki/server" --verify-peer \
    --authz-identity "C=GB,O=Test,CN=someone-else"
check_fail "x509 authz: a DN that is not allowed is refused" \
    "Failed to read option reply" -- \
    qemu-img info --object "$QCLI" --image-opts \
    "driver=nbd,host=localhost,port=$PORT,export=disk,tls-creds=tls0"
stop_server
if grep -q "rejected by tls-authz.*identity 'C=GB,O=Test,CN=client1'" "$tmp/srv.log"; then
    ok "x509 authz: the refusal is logged with the identity"
else
    not_ok "x509 authz: the refusal is logged with the identity" "$(cat "$tmp/srv.log")"
fi

# nbd.md 4(b): TLS clients against a server without TLS.
start_server -f "$img" -x disk
check_fail "plain server: qemu-img with tls-creds" \
    "Denied by server for option 5 (starttls)" \
    "server reported: TLS not configured" -- \
    qemu-img info --object "$QCLI" --image-opts \
    "driver=nbd,host=localhost,port=$PORT,export=disk,tls-creds=tls0"
check_fail "plain server: qemu-nbd -L with tls-creds" \
    "Denied by server for option 5 (starttls)" \
    "server reported: TLS not configured" -- \
    qemu-nbd -L -b localhost -p "$PORT" --object "$QCLI" --tls-creds tls0
check_fail "plain server: nbdinfo nbds:// never falls back" "nbdinfo:" -- \
    nbdinfo "nbds://localhost:$PORT/disk?tls-certificates=$pki/client"
stop_server

# ---- PSK ------------------------------------------------------------------

mkdir -p "$tmp/psk" "$tmp/psk-wrong"
psktool -u alice -p "$tmp/psk/keys.psk" >/dev/null 2>&1
psktool -u alice -p "$tmp/psk-wrong/keys.psk" >/dev/null 2>&1
start_server -f "$img" -x disk --psk "$tmp/psk" --authz-identity alice
PURI="nbds://alice@127.0.0.1:$PORT/disk?tls-psk-file=$tmp/psk/keys.psk"
out=$(timeout 30 nbdinfo "$PURI" 2>&1)
case "$out" in
    *"with TLS"*) ok "psk: nbdinfo" ;;
    *) not_ok "psk: nbdinfo" "$out" ;;
esac
check "psk: nbdcopy round trip" nbdcopy "$tmp/data" "$PURI"
check "psk: qemu-io with tls-creds-psk" qemu-io \
    --object "tls-creds-psk,id=tls0,dir=$tmp/psk,endpoint=client,username=alice" \
    --image-opts -c "write -P 0x77 0 64k" -c "read -P 0x77 0 64k" \
    "driver=nbd,host=127.0.0.1,port=$PORT,export=disk,tls-creds=tls0"
check_fail "psk: a wrong key fails" "nbdinfo:" -- \
    nbdinfo "nbds://alice@127.0.0.1:$PORT/disk?tls-psk-file=$tmp/psk-wrong/keys.psk"
stop_server

echo "1..$((passed + failed))"
[ "$failed" -eq 0 ]
