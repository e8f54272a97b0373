#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `warden img` and the NBD client against real servers from Debian:
# qemu-nbd, nbdkit and nbd-server, plain, x509 and PSK; convert / compare
# / info / map / list round trips; downgrade and certificate failures
# with their exact messages; a server killed mid-copy and restarted while
# reconnect-delay holds the requests. Every command is bounded by timeout.
. "$(dirname "$0")/functions.sh"
requires qemu-nbd qemu-img certtool psktool
cd "$tmp"

T=60                               # bound on each command, seconds
img() { timeout "$T" "$WARDEN" img "$@"; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---- certificates (made now, never committed) ----------------------------
key() { certtool --generate-privkey --key-type rsa --bits 2048 --outfile "$1" 2>/dev/null; }
ca() {    # ca NAME CN
    key "$1-key.pem"
    printf 'cn = %s\nca\ncert_signing_key\nexpiration_days = 30\n' "$2" > "$1.info"
    certtool --generate-self-signed --load-privkey "$1-key.pem" \
        --template "$1.info" --outfile "$1-cert.pem" 2>/dev/null || fail "CA $1"
}
cert() {  # cert NAME CA TEMPLATE-LINES
    key "$1-key.pem"
    printf '%b' "$3" > "$1.info"
    certtool --generate-certificate --load-privkey "$1-key.pem" \
        --load-ca-certificate "$2-cert.pem" --load-ca-privkey "$2-key.pem" \
        --template "$1.info" --outfile "$1-cert.pem" 2>/dev/null || fail "cert $1"
}
SRV='cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\nencryption_key\nsigning_key\n'
ca ca "Test CA"
ca ca2 "Other CA"
cert server ca "${SRV}expiration_days = 30\n"
cert client ca 'cn = client\ntls_www_client\nencryption_key\nsigning_key\nexpiration_days = 30\n'
cert other ca2 "${SRV}expiration_days = 30\n"
cert expired ca "${SRV}activation_date = \"2020-01-01 00:00:00\"\nexpiration_date = \"2021-01-01 00:00:00\"\n"
mkdir srv cli wrongca expired psk pskwrong
cp ca-cert.pem server-cert.pem server-key.pem srv/
cp ca-cert.pem client-cert.pem client-key.pem cli/
cp ca2-cert.pem wrongca/ca-cert.pem; cp other-cert.pem wrongca/server-cert.pem
cp other-key.pem wrongca/server-key.pem
cp ca-cert.pem expired/; cp expired-cert.pem expired/server-cert.pem
cp expired-key.pem expired/server-key.pem
psktool -u alice -p psk/keys.psk >/dev/null 2>&1 || fail psktool
psktool -u alice -p pskwrong/keys.psk >/dev/null 2>&1 || fail psktool
ok "PKI and PSK keys generated"

# ---- images ----------------------------------------------------------------
"$WARDEN" img create src.img 64M >/dev/null || fail "img create"
for off in 0 5 17 40 63; do
    dd if=/dev/urandom of=src.img bs=1M count=1 seek=$off conv=notrunc 2>/dev/null
done
[ "$(stat -c %s src.img)" = 67108864 ] || fail "create size"
[ "$(stat -c %b src.img)" -lt 20000 ] || fail "create is not sparse"
ok "img create makes a sparse 64M file"

# ---- server helpers --------------------------------------------------------
PIDS=()
cleanup_fn 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done'
wait_port() {
    local i
    for ((i = 0; i < 200; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    fail "nothing listens on port $1"
}
start() {   # start LOGNAME CMD... : background server, pid in $SPID
    local log=$1; shift
    "$@" >"$tmp/$log.log" 2>&1 &
    SPID=$!
    PIDS+=("$SPID")
}
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
fresh() { rm -f "$1"; "$WARDEN" img create "$1" 64M >/dev/null; }

# round_trip NAME URI [CONVERT-OPTS...]: file -> export -> file, compare,
# info.
round_trip() {
    local name=$1 uri=$2; shift 2
    img convert "$@" src.img "$uri" || fail "$name: convert to the export"
    img compare src.img "$uri" >/dev/null || fail "$name: compare"
    rm -f back.img
    img convert -p "$@" "$uri" back.img 2>/dev/null || fail "$name: convert back"
    cmp src.img back.img || fail "$name: data differs after the round trip"
    img info "$uri" > info.txt || fail "$name: info"
    grep -q "virtual size: 64 MiB (67108864 bytes)" info.txt ||
        fail "$name: info size: $(cat info.txt)"
    ok "$name: convert both ways, compare, info"
}

# ---- qemu-nbd, plain, unix socket ------------------------------------------
fresh q.img
start qemu-nbd qemu-nbd -t -f raw -e 4 -k "$tmp/q.sock" q.img
wait_for_path "$tmp/q.sock"
QU="nbd+unix:///?socket=$tmp/q.sock"
round_trip "qemu-nbd unix" "$QU" -C 4 -R 4
img info --output=json "$QU" > info.json
$PY - info.json <<'EOT' || fail "info json"
import json, sys
i = json.load(open(sys.argv[1]))
assert i["virtual-size"] == 67108864 and i["driver"] == "nbd", i
assert i["tls"] is False and "base:allocation" in i["meta-contexts"], i
assert "multi-conn" in i["flag-names"] and i["structured-replies"], i
EOT
ok "qemu-nbd: info --output=json"
img map --output=json "$QU" > ours.json || fail "map"
qemu-img map --output=json "$QU" > theirs.json || fail "qemu-img map"
cmp ours.json theirs.json || fail "map --output=json differs from qemu-img's"
img map "$QU" | grep -q "^   5242880     1048576   0  data$" || fail "human map"
ok "qemu-nbd: map matches qemu-img map --output=json"
cp back.img changed.img
printf 'X' | dd of=changed.img bs=1 seek=12345678 conv=notrunc 2>/dev/null
out=$(img compare changed.img "$QU"); rc=$?
[ $rc -eq 1 ] && [ "$out" = "Content mismatch at offset 12345678!" ] ||
    fail "compare mismatch: rc $rc, '$out'"
out=$(img compare "$QU" "nbd+unix:///?socket=$tmp/none.sock" 2>&1); rc=$?
[ $rc -eq 2 ] || fail "compare with a missing server: rc $rc"
ok "compare: mismatch offset (exit 1) and error (exit 2)"
img list "$QU" > list.txt || fail "list"
grep -q "exports available: 1" list.txt && grep -q "base:allocation" list.txt ||
    fail "list output: $(cat list.txt)"
qemu-nbd -L -k "$tmp/q.sock" | diff - list.txt || fail "list differs from qemu-nbd -L"
ok "qemu-nbd: list, same text as qemu-nbd -L"
expect_fail "Export 'nope' not found on the server" \
    img info "nbd+unix:///nope?socket=$tmp/q.sock"
expect_fail "Server does not support TLS (it refused STARTTLS) (server reported: TLS not configured)" \
    img info "nbds+unix:///?socket=$tmp/q.sock&tls-certificates=$tmp/cli&tls-hostname=localhost"
ok "qemu-nbd: unknown export; TLS client vs plain server is refused"
stop "$SPID"

# ---- qemu-nbd, x509 over TCP -------------------------------------------------
P=$(free_port)
fresh q.img
start qemu-nbd-tls qemu-nbd -t -f raw -e 4 -p "$P" -b 127.0.0.1 \
    --object "tls-creds-x509,id=t,endpoint=server,dir=$tmp/srv" --tls-creds t q.img
wait_port "$P"
QT="nbds://127.0.0.1:$P/?tls-certificates=$tmp/cli"
round_trip "qemu-nbd x509" "$QT"
grep -q "TLS: yes (x509)" info.txt && grep -q "TLS peer: CN=localhost" info.txt ||
    fail "TLS state in info: $(cat info.txt)"
img info --object "tls-creds-x509,id=t0,endpoint=client,dir=$tmp/cli" --image-opts \
    "driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=$P,tls-creds=t0" \
    | grep -q "TLS: yes (x509)" || fail "--object + --image-opts"
img convert --object "tls-creds-x509,id=t0,endpoint=client,dir=$tmp/cli" \
    --target-image-opts src.img \
    "driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=$P,tls-creds=t0" ||
    fail "--target-image-opts convert"
ok "qemu-nbd x509: --object tls-creds-x509 with --image-opts/--target-image-opts"
expect_fail "Server requires TLS: give tls-creds (or use an nbds:// URI)" \
    img info "nbd://127.0.0.1:$P/"
expect_fail "Certificate does not match the hostname wrong.example: the certificate has DNS:localhost, IP:127.0.0.1" \
    img info "$QT&tls-hostname=wrong.example"
img list "$QT" | grep -q "exports available: 1" || fail "list over TLS"
ok "qemu-nbd x509: plain client refused; hostname mismatch; list"
stop "$SPID"

P=$(free_port)
start qemu-nbd-ca2 qemu-nbd -t -f raw -p "$P" -b 127.0.0.1 \
    --object "tls-creds-x509,id=t,endpoint=server,dir=$tmp/wrongca,verify-peer=off" \
    --tls-creds t q.img
wait_port "$P"
expect_fail "The certificate hasn't got a known issuer: the server's certificate CN=localhost is not signed by a CA in $tmp/cli/ca-cert.pem" \
    img info "nbds://127.0.0.1:$P/?tls-certificates=$tmp/cli"
ok "qemu-nbd: a server certificate from another CA is rejected"
stop "$SPID"

# ---- qemu-nbd, PSK -----------------------------------------------------------
P=$(free_port)
start qemu-nbd-psk qemu-nbd -t -f raw -p "$P" -b 127.0.0.1 \
    --object "tls-creds-psk,id=t,endpoint=server,dir=$tmp/psk" --tls-creds t q.img
wait_port "$P"
round_trip "qemu-nbd psk" "nbds://alice@127.0.0.1:$P/?tls-psk-file=$tmp/psk/keys.psk"
grep -q "TLS: yes (psk)" info.txt || fail "psk info"
cp pskwrong/keys.psk wrong.psk
expect_fail "(with PSK this means the server does not know the username or has another key)" \
    img info "nbds://alice@127.0.0.1:$P/?tls-psk-file=$tmp/wrong.psk"
ok "qemu-nbd psk: wrong key is refused"
stop "$SPID"

# ---- nbdkit ------------------------------------------------------------------
if have nbdkit; then
    fresh k.img
    start nbdkit nbdkit -f -U "$tmp/k.sock" file k.img
    wait_for_path "$tmp/k.sock"
    round_trip "nbdkit unix" "nbd+unix:///?socket=$tmp/k.sock"
    stop "$SPID"

    P=$(free_port)
    start nbdkit-tls nbdkit -f -p "$P" -i 127.0.0.1 --tls=require \
        --tls-certificates="$tmp/srv" --tls-verify-peer file k.img
    wait_port "$P"
    round_trip "nbdkit x509 verify-peer" "nbds://127.0.0.1:$P/?tls-certificates=$tmp/cli"
    expect_fail "Server requires TLS: give tls-creds (or use an nbds:// URI)" \
        img info "nbd://127.0.0.1:$P/"
    ok "nbdkit --tls=require refuses a plain client"
    stop "$SPID"

    P=$(free_port)
    start nbdkit-psk nbdkit -f -p "$P" -i 127.0.0.1 --tls=require \
        --tls-psk="$tmp/psk/keys.psk" file k.img
    wait_port "$P"
    round_trip "nbdkit psk" "nbds://127.0.0.1:$P/?tls-psk-file=$tmp/psk/keys.psk&tls-username=alice"
    stop "$SPID"

    # nbdkit does not check its own certificate's dates: the client must.
    P=$(free_port)
    start nbdkit-expired nbdkit -f -p "$P" -i 127.0.0.1 --tls=require \
        --tls-certificates="$tmp/expired" file k.img
    wait_port "$P"
    expect_fail "The certificate has expired: the peer's certificate CN=localhost expired on 2021-01-01" \
        img info "nbds://127.0.0.1:$P/?tls-certificates=$tmp/cli"
    ok "nbdkit: an expired server certificate is rejected"
    stop "$SPID"
else
    echo "# nbdkit not installed: skipping its cases"
fi

# ---- nbd-server ----------------------------------------------------------------
nbd_server() {  # nbd_server CONF-EXTRA: daemonizes; pid in $SPID
    local port=$1; shift
    {
        printf '[generic]\n    listenaddr = 127.0.0.1\n    port = %s\n' "$port"
        printf '    allowlist = true\n'
        printf '%b' "$*"
        printf '[disk]\n    exportname = %s/n.img\n    flush = true\n    trim = true\n' "$tmp"
    } > nbd.conf
    rm -f nbd.pid
    nbd-server -C "$tmp/nbd.conf" -p "$tmp/nbd.pid" >"$tmp/nbd-server.log" 2>&1 ||
        fail "nbd-server did not start: $(cat "$tmp/nbd-server.log")"
    wait_port "$port"
    SPID=$(cat nbd.pid)
    PIDS+=("$SPID")
}
if have nbd-server; then
    fresh n.img
    P=$(free_port)
    nbd_server "$P"
    round_trip "nbd-server (no structured replies)" "nbd://127.0.0.1:$P/disk"
    grep -q "structured replies: no" info.txt || fail "nbd-server 3.24 has no SR"
    expect_fail "Export 'nope' not found on the server (server reported: Export unknown)" \
        img info "nbd://127.0.0.1:$P/nope"
    kill "$SPID"
    P=$(free_port)
    nbd_server "$P" "    certfile = $tmp/srv/server-cert.pem\n    keyfile = $tmp/srv/server-key.pem\n    cacertfile = $tmp/srv/ca-cert.pem\n    force_tls = true\n"
    if img info "nbds://127.0.0.1:$P/disk?tls-certificates=$tmp/cli" >/dev/null 2>&1; then
        round_trip "nbd-server x509" "nbds://127.0.0.1:$P/disk?tls-certificates=$tmp/cli"
        expect_fail "Server requires TLS: give tls-creds (or use an nbds:// URI) (server reported: TLS is required on this server)" \
            img info "nbd://127.0.0.1:$P/disk"
        ok "nbd-server force_tls refuses a plain client"
    else
        echo "# nbd-server TLS does not work here: skipping its TLS cases"
    fi
    kill "$SPID"
else
    echo "# nbd-server not installed: skipping its cases"
fi

# ---- warden nbd (our own server) ---------------------------------------------
if "$WARDEN" nbd --help >/dev/null 2>&1; then
    fresh w.img
    P=$(free_port)
    start warden-nbd "$WARDEN" nbd -t -e 4 -x disk -b 127.0.0.1 -p "$P" \
        --object "tls-creds-x509,id=tls0,endpoint=server,dir=$tmp/srv" \
        --tls-creds tls0 w.img
    wait_port "$P"
    round_trip "warden nbd x509" "nbds://localhost:$P/disk?tls-certificates=$tmp/cli" -C 2
    expect_fail "Server requires TLS: give tls-creds (or use an nbds:// URI)" \
        img info "nbd://127.0.0.1:$P/disk"
    ok "warden nbd refuses a plain client"
    stop "$SPID"
fi

# ---- reconnect: the server dies mid-copy and comes back ---------------------
if have nbdkit; then
    head -c 32M /dev/urandom > big.img
    SLOW=(nbdkit -f -U "$tmp/r.sock" --filter=rate file big.img rate=8M)
    start nbdkit-slow "${SLOW[@]}"
    wait_for_path "$tmp/r.sock"
    rm -f copy.img
    timeout "$T" "$WARDEN" img convert --reconnect-delay 30 -C 1 -R 2 \
        "nbd+unix:///?socket=$tmp/r.sock" copy.img 2>reconnect.log &
    CPID=$!
    sleep 1.5
    stop "$SPID"
    sleep 1
    rm -f "$tmp/r.sock"
    start nbdkit-slow2 "${SLOW[@]}"
    wait "$CPID" || fail "convert across a server restart: $(cat reconnect.log)"
    cmp big.img copy.img || fail "data differs after the reconnect"
    grep -q "re-established" reconnect.log || fail "no reconnect happened: $(cat reconnect.log)"
    ok "server killed mid-copy and restarted: the copy finishes, identical"
    stop "$SPID"
fi

# ---- local files and errors ----------------------------------------------------
img convert src.img local.img && cmp src.img local.img || fail "file to file"
[ "$(stat -c %b local.img)" -lt 20000 ] || fail "file copy is not sparse"
expect_fail "Source and target are the same file" img convert src.img src.img
expect_fail "Unknown parameter 'bogus' in NBD URI" img info "nbd://127.0.0.1/?bogus=1"
expect_fail "Invalid size 'lots'" "$WARDEN" img create x.img lots
ok "file copies stay sparse; bad arguments give clear errors"
