#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# QMP monitors over TLS and websocket with real peers: gnutls-cli (x509
# and PSK), Python's ssl module and Debian's python3-websockets (ws:// and
# wss://). Checks tls-authz allow/deny in both DN orders (a rejected
# client is logged and gets no greeting), the handshake deadline (a
# stalled client is dropped while another is served), object-del of
# credentials/authz in use by the monitor, and --monitor option errors.
. "$(dirname "$0")/functions.sh"

requires gnutls-cli certtool psktool

# ---- helpers -------------------------------------------------------------

# tls_qmp CERTDIR [PORT]: qmp_capabilities + query-version over TLS with
# gnutls-cli, presenting CERTDIR's client certificate and trusting its
# CA. gnutls-cli sends close_notify at the end of its input and keeps
# reading until the server closes. Output in $tmp/tls.out.
tls_qmp() {
    local dir=$1 port=${2:-$PORT}
    printf '%s\n' '{"execute":"qmp_capabilities"}' \
                  '{"execute":"query-version","id":"v1"}' |
        timeout 20 gnutls-cli --x509cafile "$dir/ca-cert.pem" \
            --x509certfile "$dir/client-cert.pem" \
            --x509keyfile "$dir/client-key.pem" \
            -p "$port" 127.0.0.1 >"$tmp/tls.out" 2>&1
}

# expect_served WHAT: the last tls_qmp got the greeting and the version.
expect_served() {
    grep -q '"QMP"' "$tmp/tls.out" &&
        grep -q '"return": {"qemu": .*"package": "warden .*"id": "v1"' \
            "$tmp/tls.out" || fail "$1: $(cat "$tmp/tls.out")"
}

# expect_rejected WHAT IDENTITY: the last tls_qmp got no greeting, and the
# daemon logged the rejection with monitor name, peer address, identity.
expect_rejected() {
    grep -q '"QMP"' "$tmp/tls.out" && fail "$1: rejected client was greeted"
    grep -q '"return"' "$tmp/tls.out" && fail "$1: rejected client was served"
    local want="monitor 127.0.0.1:$PORT: client 127.0.0.1:[0-9]* (identity '$2') rejected by tls-authz"
    for _ in $(seq 50); do
        grep -q "$want" "$tmp/daemon.log" && return 0
        sleep 0.1
    done
    fail "$1: no rejection logged (want: $want): $(cat "$tmp/daemon.log")"
}

# make_client DIR CN: a client certificate with a three-component DN
# (C=GB, O=Warden Test, CN) issued by $pki's CA with certtool.
make_client() {
    mkdir -p "$1"
    cp "$pki/ca-cert.pem" "$1/"
    cat >"$tmp/client.tmpl" <<EOF
cn = "$2"
organization = "Warden Test"
country = GB
tls_www_client
signing_key
encryption_key
expiration_days = 30
EOF
    certtool --generate-privkey --key-type rsa --bits 2048 \
        --outfile "$1/client-key.pem" >/dev/null 2>&1 &&
    certtool --generate-certificate --load-privkey "$1/client-key.pem" \
        --load-ca-certificate "$pki/ca-cert.pem" \
        --load-ca-privkey "$pki/ca-key.pem" \
        --template "$tmp/client.tmpl" \
        --outfile "$1/client-cert.pem" >/dev/null 2>&1 ||
        fail "certtool could not issue a client certificate for $2"
}

# ---- credentials ---------------------------------------------------------

pki=$tmp/pki
"$WARDEN" certs create "$pki" >/dev/null || fail "warden certs create"
make_client "$tmp/alice" alice
make_client "$tmp/mallory" mallory
X509=(--object "tls-creds-x509,id=tls0,endpoint=server,dir=$pki")

# ---- --monitor option errors (before anything is bound) ------------------

W="$WARDEN daemon"
expect_fail "--monitor: Parameter 'bogus' is unexpected" \
    $W "${X509[@]}" --monitor tcp:127.0.0.1:1,tls-creds=tls0,bogus=1
expect_fail "--monitor: tls-creds: no object with id 'nope'" \
    $W --monitor tcp:127.0.0.1:1,tls-creds=nope
expect_fail "--monitor: tls-creds: TLS credentials 'c' are for a client, but this side is a server" \
    $W --object "tls-creds-x509,id=c,endpoint=client,dir=$pki" \
       --monitor tcp:127.0.0.1:1,tls-creds=c
expect_fail "--monitor: tls-creds: 's' is not a tls-creds" \
    $W --object secret,id=s,data=x --monitor tcp:127.0.0.1:1,tls-creds=s
expect_fail "--monitor: tls-authz needs tls-creds" \
    $W --object authz-simple,id=az,identity=x \
       --monitor tcp:127.0.0.1:1,tls-authz=az
expect_fail "--monitor: tls-authz: no object with id 'az'" \
    $W "${X509[@]}" --monitor tcp:127.0.0.1:1,tls-creds=tls0,tls-authz=az
expect_fail "--monitor: Parameter 'websocket' expects 'on' or 'off'" \
    $W --monitor tcp:127.0.0.1:1,websocket=maybe
ok "--monitor rejects unknown keys and bad tls-creds/tls-authz/websocket"

# ---- QMP over TLS, tls-authz in both DN orders ---------------------------

start_tls_daemon ",tls-creds=tls0" -- "${X509[@]}"
tls_qmp "$pki"
expect_served "QMP over TLS (warden certs create client)"
ok "QMP over TLS with gnutls-cli: greeting, qmp_capabilities, query-version"

# No client certificate: the verify-peer server refuses the handshake.
printf '{"execute":"qmp_capabilities"}\n' |
    timeout 20 gnutls-cli --x509cafile "$pki/ca-cert.pem" -p "$PORT" \
        127.0.0.1 >"$tmp/tls.out" 2>&1
grep -q '"QMP"' "$tmp/tls.out" && fail "client without certificate greeted"
for _ in $(seq 50); do
    grep -q "monitor 127.0.0.1:$PORT: client 127.0.0.1:[0-9]*: TLS handshake failed" \
        "$tmp/daemon.log" && break
    sleep 0.1
done
grep -q "TLS handshake failed" "$tmp/daemon.log" ||
    fail "failed handshake not logged: $(cat "$tmp/daemon.log")"
tls_qmp "$pki"
expect_served "QMP over TLS after a failed handshake"
ok "a client without certificate is refused and logged; others still served"
stop_daemon

# In keyval a literal comma is written ",," (as for QEMU's -object).
for identity in "CN=alice,O=Warden Test,C=GB" "C=GB,O=Warden Test,CN=alice"; do
    start_tls_daemon ",tls-creds=tls0,tls-authz=az" -- "${X509[@]}" \
        --object "authz-simple,id=az,identity=${identity//,/,,}"
    tls_qmp "$tmp/alice"
    expect_served "tls-authz identity '$identity'"
    tls_qmp "$tmp/mallory"
    expect_rejected "tls-authz identity '$identity' vs mallory" \
        "C=GB,O=Warden Test,CN=mallory"
    grep -q "rejected by tls-authz 'az': identity 'C=GB,O=Warden Test,CN=mallory' is not allowed by authz-simple 'az'" \
        "$tmp/daemon.log" || fail "reason missing: $(cat "$tmp/daemon.log")"
    tls_qmp "$pki"
    expect_rejected "tls-authz identity '$identity' vs CN=client" "CN=client"
    tls_qmp "$tmp/alice"
    expect_served "tls-authz identity '$identity' after rejections"
    stop_daemon
done
ok "tls-authz: RFC 4514 and GnuTLS order both allow; others rejected and logged"

# ---- PSK: the identity is the username ------------------------------------

mkdir -p "$tmp/psk"
psktool -u alice -p "$tmp/psk/keys.psk" >/dev/null 2>&1 &&
    psktool -u bob -p "$tmp/psk/keys.psk" >/dev/null 2>&1 ||
    fail "psktool"
chmod 600 "$tmp/psk/keys.psk"
psk_obj="tls-creds-psk,id=p0,endpoint=server,dir=$tmp/psk"
if "$WARDEN" daemon --object "$psk_obj" --check 2>&1 |
        grep -q "username should not be set when endpoint=server"; then
    # objects/tls-creds.c passes the schema default username ("qemu")
    # for server endpoints too; this part runs once that is fixed.
    echo "# SKIP PSK monitor: tls-creds-psk endpoint=server cannot be created"
else
start_tls_daemon ",tls-creds=p0,tls-authz=az" -- --object "$psk_obj" \
    --object authz-simple,id=az,identity=alice
for user in alice bob; do
    key=$(sed -n "s/^$user://p" "$tmp/psk/keys.psk")
    printf '%s\n' '{"execute":"qmp_capabilities"}' \
                  '{"execute":"query-version","id":"v1"}' |
        timeout 20 gnutls-cli --priority 'NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK' \
            --pskusername "$user" --pskkey "$key" -p "$PORT" 127.0.0.1 \
            >"$tmp/tls.out" 2>&1
    if [ "$user" = alice ]; then
        expect_served "PSK user alice"
    else
        expect_rejected "PSK user bob" bob
    fi
done
stop_daemon
ok "TLS-PSK monitor: tls-authz on the PSK username (alice in, bob out)"
fi

# ---- handshake deadline ---------------------------------------------------

# Two stalled clients: one says nothing on the TLS port, one finishes TLS
# but never sends its websocket upgrade request. Both must be dropped at
# the deadline (10 s), while clients arriving meanwhile are served.
start_tls_daemon ",tls-creds=tls0" ",tls-creds=tls0,websocket=on" -- \
    "${X509[@]}"
cat >"$tmp/stall.py" <<'EOF'
import socket, ssl, sys, time
port_tls, port_wss, pki = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
raw = socket.create_connection(("127.0.0.1", port_tls), 5)
ctx = ssl.create_default_context(cafile=pki + "/ca-cert.pem")
ctx.load_cert_chain(pki + "/client-cert.pem", pki + "/client-key.pem")
wss = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port_wss), 5),
                      server_hostname="127.0.0.1")
t0 = time.monotonic()
print("stalling", flush=True)
for name, s in (("tcp", raw), ("tls", wss)):
    s.settimeout(max(1, 20 - (time.monotonic() - t0)))
    try:
        data = s.recv(100)
    except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
        data = b""
    if data:
        sys.exit("%s: unexpected data %r" % (name, data))
elapsed = time.monotonic() - t0
print("dropped after %.1f s" % elapsed)
sys.exit(0 if 8.5 <= elapsed <= 14 else 1)
EOF
$PY "$tmp/stall.py" "${PORTS[0]}" "${PORTS[1]}" "$pki" >"$tmp/stall.out" 2>&1 &
stall_pid=$!
cleanup_fn "kill $stall_pid 2>/dev/null"
for _ in $(seq 100); do
    grep -q stalling "$tmp/stall.out" && break
    sleep 0.05
done
grep -q stalling "$tmp/stall.out" || fail "stalling client: $(cat "$tmp/stall.out")"
tls_qmp "$pki"
expect_served "QMP over TLS while another client stalls"
wait "$stall_pid" || fail "stalled clients: $(cat "$tmp/stall.out")"
grep -q "monitor 127.0.0.1:${PORTS[0]}: client 127.0.0.1:[0-9]* did not complete the TLS handshake within 10 s" \
    "$tmp/daemon.log" || fail "TLS deadline not logged: $(cat "$tmp/daemon.log")"
grep -q "monitor 127.0.0.1:${PORTS[1]}: client 127.0.0.1:[0-9]* did not complete the WebSocket handshake within 10 s" \
    "$tmp/daemon.log" || fail "WS deadline not logged: $(cat "$tmp/daemon.log")"
tls_qmp "$pki"
expect_served "QMP over TLS after the deadline"
ok "stalled TLS and websocket handshakes dropped after 10 s; others served"

# ---- object-del of objects the monitor holds -------------------------------

stop_daemon
start_tls_daemon ",tls-creds=tls0,tls-authz=az" -- "${X509[@]}" \
    --object authz-simple,id=az,identity=CN=client
for id in tls0 az; do
    out=$(qmp object-del "{\"id\":\"$id\"}")
    case "$out" in
        *"object '$id' is in use by 'monitor tcp:127.0.0.1:$PORT' and cannot be deleted"*) ;;
        *) fail "object-del $id: $out" ;;
    esac
done
tls_qmp "$pki"
expect_served "QMP over TLS after refused object-del"
ok "object-del of tls-creds and authz in use fails naming the monitor"
stop_daemon

# ---- websocket: ws:// and wss:// ------------------------------------------

if ! $PY -c 'import websockets' 2>/dev/null; then
    echo "SKIP: websocket part: python3-websockets is not installed"
    exit 0
fi
cat >"$tmp/ws.py" <<'EOF'
import asyncio, json, ssl, sys
import websockets

url, pki = sys.argv[1], sys.argv[2]

async def recv_json(ws):
    msg = await asyncio.wait_for(ws.recv(), 10)
    if not isinstance(msg, str):
        raise SystemExit("expected a text frame, got %r" % type(msg))
    return json.loads(msg)          # fails unless one message per frame

async def main():
    ctx = None
    if url.startswith("wss:"):
        ctx = ssl.create_default_context(cafile=pki + "/ca-cert.pem")
        ctx.load_cert_chain(pki + "/client-cert.pem", pki + "/client-key.pem")
    async with websockets.connect(url, ssl=ctx, compression=None,
                                  open_timeout=10, close_timeout=5) as ws:
        g = await recv_json(ws)
        assert "QMP" in g, g
        await ws.send('{"execute":"query-version","id":0}')
        r = await recv_json(ws)
        assert r["error"]["class"] == "CommandNotFound", r
        await ws.send('{"execute":"qmp_capabilities"}')
        assert await recv_json(ws) == {"return": {}}
        # two requests in one frame: two replies, one text frame each
        await ws.send('{"execute":"query-version","id":1}'
                      '{"execute":"query-version","id":2}')
        a, b = await recv_json(ws), await recv_json(ws)
        assert (a["id"], b["id"]) == (1, 2), (a, b)
        # one request split over two frames: a byte stream
        await ws.send('{"execute":"query-')
        await ws.send('version","id":3}')
        c = await recv_json(ws)
        assert c["id"] == 3 and "warden" in c["return"]["package"], c
        await ws.close()
    print("ok", url)

asyncio.run(main())
EOF
start_tls_daemon ",websocket=on" ",tls-creds=tls0,websocket=on" -- \
    "${X509[@]}"
timeout 30 $PY "$tmp/ws.py" "ws://127.0.0.1:${PORTS[0]}/" "$pki" ||
    fail "QMP over ws://: $(cat "$tmp/daemon.log")"
ok "QMP over a websocket (python3-websockets): text frames, one message each"
timeout 30 $PY "$tmp/ws.py" "wss://127.0.0.1:${PORTS[1]}/" "$pki" ||
    fail "QMP over wss://: $(cat "$tmp/daemon.log")"
ok "QMP over a websocket inside TLS (wss://) with a client certificate"
# A plain HTTP request is refused by the websocket monitor, not served.
out=$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' |
      timeout 10 socat -t 5 - "TCP:127.0.0.1:${PORTS[0]}" 2>&1)
case "$out" in
    "HTTP/1.1 400 Bad Request"*) ;;
    *) fail "bad upgrade request: $out" ;;
esac
grep -q "monitor 127.0.0.1:${PORTS[0]}: client 127.0.0.1:[0-9]*: WebSocket handshake failed" \
    "$tmp/daemon.log" || fail "bad upgrade not logged: $(cat "$tmp/daemon.log")"
timeout 30 $PY "$tmp/ws.py" "ws://127.0.0.1:${PORTS[0]}/" "$pki" ||
    fail "QMP over ws:// after a bad request"
ok "a bad upgrade request gets 400 and is logged; the monitor goes on"
stop_daemon
