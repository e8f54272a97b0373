#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Interop of our TLS stack (credentials, session, TLS channel) with the
# real gnutls tools, both directions: gnutls-cli against tls-peer's
# server, tls-peer's client against gnutls-serv; x509 (with and without
# client certificates, bad hostname, unknown CA, expired certificate),
# PSK and anonymous. Exit 0 = pass, 1 = fail, 77 = skipped.
#
# TLS_PEER: the tls-peer binary (meson passes it); if unset, it is built
# here with gcc from the sources.
set -u

for c in certtool gnutls-cli gnutls-serv psktool; do
    command -v "$c" >/dev/null 2>&1 ||
        { echo "SKIP: $c not installed (Debian: gnutls-bin)"; exit 77; }
done

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/warden-tls-tools.XXXXXX")
bg_pids=()
cleanup() {
    local p
    for p in "${bg_pids[@]}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
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
# contains FILE TEXT: FILE holds TEXT literally.
contains() { grep -qF -- "$2" "$1"; }

if [ -z "${TLS_PEER:-}" ]; then
    if ! command -v gcc >/dev/null 2>&1 ||
       ! command -v pkg-config >/dev/null 2>&1; then
        echo "SKIP: no TLS_PEER and no gcc/pkg-config to build it"
        exit 77
    fi
    TLS_PEER=$tmp/tls-peer
    # shellcheck disable=SC2046
    gcc -std=gnu11 -D_GNU_SOURCE -I"$root" -o "$TLS_PEER" \
        "$root/tests/integration/tls-peer.c" "$root/runtime/error.c" \
        "$root"/runtime/crypto/tlscreds.c \
        "$root"/runtime/crypto/tlscreds-x509.c \
        "$root"/runtime/crypto/tlssession.c "$root"/runtime/io/channel.c \
        "$root"/runtime/io/channel-socket.c "$root"/runtime/io/channel-tls.c \
        $(pkg-config --cflags --libs glib-2.0 gnutls) ||
        { echo "FAIL: cannot build tls-peer"; exit 1; }
fi

# ---- a PKI made with certtool --------------------------------------------

pki=$tmp/pki
mkdir -p "$pki"
certtool_q() { (cd "$pki" && TZ=UTC certtool "$@" >/dev/null 2>"$tmp/certtool.err") ||
    { echo "FAIL: certtool $*"; cat "$tmp/certtool.err"; exit 1; }; }
# mkcert NAME SIGNER|- KEY TEMPLATE
mkcert() {
    printf '%b' "$4" > "$pki/$1.tmpl"
    if [ "$2" = - ]; then
        certtool_q --generate-self-signed --load-privkey "$3" \
            --template "$1.tmpl" --outfile "$1-cert.pem"
    else
        certtool_q --generate-certificate --load-privkey "$3" \
            --load-ca-certificate "$2-cert.pem" --load-ca-privkey "$2.key" \
            --template "$1.tmpl" --outfile "$1-cert.pem"
    fi
    cp "$pki/$3" "$pki/$1.key"
}
certtool_q --generate-privkey --key-type=rsa --bits=2048 --outfile key.pem
certtool_q --generate-privkey --key-type=rsa --bits=2048 --outfile key2.pem
mkcert ca - key.pem 'cn = "Warden Test CA"\nca\ncert_signing_key\nexpiration_days = 2\n'
mkcert ca2 - key2.pem 'cn = "Other CA"\nca\ncert_signing_key\nexpiration_days = 2\n'
leaf_server='cn = "localhost"\ndns_name = localhost\nip_address = 127.0.0.1\nsigning_key\nencryption_key\ntls_www_server\n'
mkcert server ca key.pem "${leaf_server}expiration_days = 2\n"
mkcert expired ca key.pem "${leaf_server}activation_date = \"2020-01-01 00:00:00\"\nexpiration_date = \"2021-01-01 00:00:00\"\n"
mkcert client ca key.pem 'cn = "client.test"\norganization = "Test Org"\ncountry = GB\nsigning_key\ntls_www_client\nexpiration_days = 2\n'

# mkdir_creds DIR CA [PREFIX CERT]: a credentials directory.
mkdir_creds() {
    mkdir -p "$1"
    cp "$pki/$2-cert.pem" "$1/ca-cert.pem"
    if [ $# -ge 4 ]; then
        cp "$pki/$4-cert.pem" "$1/$3-cert.pem"
        cp "$pki/$4.key" "$1/$3-key.pem"
    fi
}
mkdir_creds "$tmp/srv" ca server server
mkdir_creds "$tmp/cli" ca client client
mkdir_creds "$tmp/cli-nocert" ca
mkdir_creds "$tmp/cli-otherca" ca2
mkdir -p "$tmp/psk" "$tmp/psk-wrong"
psktool -u qemu -p "$tmp/psk/keys.psk" >/dev/null
psktool -u qemu -p "$tmp/psk-wrong/keys.psk" >/dev/null
pskkey=$(sed -n 's/^qemu://p' "$tmp/psk/keys.psk")
PSK_PRIO='NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK'

# ---- helpers to run the peers, every wait bounded ------------------------

# start_peer_server ARGS...: tls-peer server in the background; sets
# PEER_PID and PEER_PORT; output in $tmp/peer.out / peer.err.
start_peer_server() {
    # Emptied before the start: the loop below must not read the previous
    # server's port before the child's redirection truncates the file.
    : >"$tmp/peer.out"
    "$TLS_PEER" server --timeout 20 "$@" >"$tmp/peer.out" 2>"$tmp/peer.err" &
    PEER_PID=$!
    bg_pids+=("$PEER_PID")
    PEER_PORT=
    for _ in $(seq 100); do
        PEER_PORT=$(sed -n 's/^PORT //p' "$tmp/peer.out")
        [ -n "$PEER_PORT" ] && return 0
        kill -0 "$PEER_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "FAIL: tls-peer server did not start:"; cat "$tmp/peer.err"; exit 1
}

# wait_peer: waits (bounded) for the tls-peer server; sets PEER_RC.
wait_peer() {
    for _ in $(seq 200); do
        kill -0 "$PEER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill "$PEER_PID" 2>/dev/null
    wait "$PEER_PID"
    PEER_RC=$?
}

# gcli LINE ARGS...: gnutls-cli to 127.0.0.1:$PEER_PORT sending LINE, then
# staying a moment for the reply; output in $tmp/gcli.out, rc in GCLI_RC.
gcli() {
    local line=$1
    shift
    (echo "$line"; sleep 1) |
        timeout 20 gnutls-cli -p "$PEER_PORT" "$@" >"$tmp/gcli.out" 2>&1
    GCLI_RC=$?
}

# start_gnutls_serv ARGS...: gnutls-serv --echo on a free random port
# (retrying if the port is taken); sets GS_PID and GS_PORT.
start_gnutls_serv() {
    local _try
    for _try in 1 2 3 4 5; do
        GS_PORT=$((20000 + RANDOM % 40000))
        : >"$tmp/gs.out"    # no stale "listening" from the previous one
        gnutls-serv --echo -p "$GS_PORT" "$@" >"$tmp/gs.out" 2>&1 &
        GS_PID=$!
        bg_pids+=("$GS_PID")
        for _ in $(seq 50); do
            contains "$tmp/gs.out" "listening on IPv4" &&
                contains "$tmp/gs.out" "...done" && return 0
            kill -0 "$GS_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$GS_PID" 2>/dev/null
        wait "$GS_PID" 2>/dev/null
    done
    echo "FAIL: gnutls-serv did not start:"; cat "$tmp/gs.out"; exit 1
}
stop_gnutls_serv() { kill "$GS_PID" 2>/dev/null; wait "$GS_PID" 2>/dev/null; }

# peer_client ARGS...: tls-peer client to gnutls-serv; output in
# $tmp/pc.out / pc.err, rc in PC_RC.
peer_client() {
    timeout 30 "$TLS_PEER" client --timeout 20 --port "$GS_PORT" "$@" \
        >"$tmp/pc.out" 2>"$tmp/pc.err"
    PC_RC=$?
}

# ---- gnutls-cli -> our server --------------------------------------------

x509_cli=(--x509cafile "$pki/ca-cert.pem")
client_cert=(--x509certfile "$pki/client-cert.pem"
             --x509keyfile "$pki/client.key")

start_peer_server --dir "$tmp/srv" --verify-peer
gcli hello-x509 "${x509_cli[@]}" "${client_cert[@]}" localhost
wait_peer
if [ "$GCLI_RC" = 0 ] && [ "$PEER_RC" = 0 ] &&
   contains "$tmp/gcli.out" hello-x509 &&
   contains "$tmp/peer.out" "PEER CN=client.test,O=Test Org,C=GB"; then
    ok "gnutls-cli with client cert -> our x509 server (verify-peer)"
else
    not_ok "gnutls-cli with client cert -> our x509 server" \
        "cli rc=$GCLI_RC srv rc=$PEER_RC" "$(cat "$tmp/peer.err")"
fi

start_peer_server --dir "$tmp/srv" --verify-peer
gcli hello "${x509_cli[@]}" localhost
wait_peer
if [ "$PEER_RC" = 1 ] && contains "$tmp/peer.err" \
   "tls-peer: Verify failed: No certificate was found. The client sent no certificate signed by a CA in $tmp/srv/ca-cert.pem; with verify-peer on, it needs one"; then
    ok "gnutls-cli without client cert -> our server refuses it"
else
    not_ok "gnutls-cli without client cert -> our server refuses it" \
        "srv rc=$PEER_RC" "$(cat "$tmp/peer.err")"
fi

start_peer_server --dir "$tmp/srv"
gcli hello-noverify "${x509_cli[@]}" 127.0.0.1
wait_peer
if [ "$GCLI_RC" = 0 ] && [ "$PEER_RC" = 0 ] &&
   contains "$tmp/gcli.out" hello-noverify &&
   contains "$tmp/peer.out" "PEER (none)"; then
    ok "gnutls-cli without client cert -> our server, verify-peer off"
else
    not_ok "gnutls-cli without client cert -> our server, verify-peer off" \
        "cli rc=$GCLI_RC srv rc=$PEER_RC" "$(cat "$tmp/peer.err")"
fi

start_peer_server --dir "$tmp/srv"
gcli hello --x509cafile "$pki/ca2-cert.pem" localhost
wait_peer
if [ "$GCLI_RC" != 0 ] && ! contains "$tmp/gcli.out" "- Simple Client Mode"; then
    ok "gnutls-cli trusting another CA rejects our server certificate"
else
    not_ok "gnutls-cli trusting another CA rejects our server certificate" \
        "cli rc=$GCLI_RC"
fi

start_peer_server --creds psk --dir "$tmp/psk"
gcli hello-psk --priority "$PSK_PRIO" --pskusername qemu --pskkey "$pskkey" \
    127.0.0.1
wait_peer
if [ "$GCLI_RC" = 0 ] && [ "$PEER_RC" = 0 ] &&
   contains "$tmp/gcli.out" hello-psk && contains "$tmp/peer.out" "PEER qemu"; then
    ok "gnutls-cli PSK -> our PSK server"
else
    not_ok "gnutls-cli PSK -> our PSK server" \
        "cli rc=$GCLI_RC srv rc=$PEER_RC" "$(cat "$tmp/peer.err")"
fi

start_peer_server --creds psk --dir "$tmp/psk"
gcli hello --priority "$PSK_PRIO" --pskusername qemu --pskkey 00112233 \
    127.0.0.1
wait_peer
if [ "$PEER_RC" = 1 ] && contains "$tmp/peer.err" "tls-peer: TLS handshake failed: "; then
    ok "gnutls-cli with a wrong PSK is refused"
else
    not_ok "gnutls-cli with a wrong PSK is refused" "srv rc=$PEER_RC" \
        "$(cat "$tmp/peer.err")"
fi

start_peer_server --creds anon
gcli hello-anon --priority NORMAL:+ANON-DH 127.0.0.1
wait_peer
if [ "$GCLI_RC" = 0 ] && [ "$PEER_RC" = 0 ] && contains "$tmp/gcli.out" hello-anon; then
    ok "gnutls-cli anonymous -> our anon server"
else
    not_ok "gnutls-cli anonymous -> our anon server" \
        "cli rc=$GCLI_RC srv rc=$PEER_RC" "$(cat "$tmp/peer.err")"
fi

# ---- our client -> gnutls-serv -------------------------------------------

start_gnutls_serv --x509cafile "$pki/ca-cert.pem" \
    --x509certfile "$pki/server-cert.pem" --x509keyfile "$pki/server.key" \
    --require-client-cert
for host in localhost 127.0.0.1; do
    peer_client --dir "$tmp/cli" --verify-peer --hostname "$host" \
        --send "ping-$host"
    if [ "$PC_RC" = 0 ] && [ "$(cat "$tmp/pc.out")" = "ping-$host" ]; then
        ok "our x509 client (client cert, hostname $host) -> gnutls-serv"
    else
        not_ok "our x509 client (hostname $host) -> gnutls-serv" \
            "rc=$PC_RC" "$(cat "$tmp/pc.err")"
    fi
done

peer_client --dir "$tmp/cli" --verify-peer --hostname wrong.example --send x
if [ "$PC_RC" = 1 ] && [ "$(cat "$tmp/pc.err")" = "tls-peer: Certificate does not match the hostname wrong.example: the certificate has DNS:localhost, IP:127.0.0.1" ]; then
    ok "our client refuses gnutls-serv for a hostname mismatch"
else
    not_ok "our client refuses gnutls-serv for a hostname mismatch" \
        "rc=$PC_RC" "$(cat "$tmp/pc.err")"
fi

peer_client --dir "$tmp/cli" --verify-peer --send x
if [ "$PC_RC" = 1 ] && contains "$tmp/pc.err" "tls-peer: No hostname for certificate validation"; then
    ok "our verify-peer client without a hostname refuses to trust"
else
    not_ok "our verify-peer client without a hostname refuses to trust" \
        "rc=$PC_RC" "$(cat "$tmp/pc.err")"
fi
stop_gnutls_serv

start_gnutls_serv --x509cafile "$pki/ca-cert.pem" \
    --x509certfile "$pki/server-cert.pem" --x509keyfile "$pki/server.key"
peer_client --dir "$tmp/cli-otherca" --verify-peer --hostname localhost \
    --send x
if [ "$PC_RC" = 1 ] && [ "$(cat "$tmp/pc.err")" = "tls-peer: The certificate hasn't got a known issuer: the server's certificate CN=localhost is not signed by a CA in $tmp/cli-otherca/ca-cert.pem" ]; then
    ok "our client refuses a gnutls-serv certificate from an unknown CA"
else
    not_ok "our client refuses an unknown CA" "rc=$PC_RC" "$(cat "$tmp/pc.err")"
fi

peer_client --dir "$tmp/cli-nocert" --verify-peer --hostname localhost \
    --send ping-nocert
if [ "$PC_RC" = 0 ] && [ "$(cat "$tmp/pc.out")" = ping-nocert ]; then
    ok "our client without a certificate -> gnutls-serv not requiring one"
else
    not_ok "our client without a certificate -> gnutls-serv" "rc=$PC_RC" \
        "$(cat "$tmp/pc.err")"
fi
stop_gnutls_serv

start_gnutls_serv --x509cafile "$pki/ca-cert.pem" \
    --x509certfile "$pki/expired-cert.pem" --x509keyfile "$pki/expired.key"
peer_client --dir "$tmp/cli-nocert" --verify-peer --hostname localhost \
    --send x
if [ "$PC_RC" = 1 ] && [ "$(cat "$tmp/pc.err")" = "tls-peer: The certificate has expired: the peer's certificate CN=localhost expired on 2021-01-01 00:00:00 UTC" ]; then
    ok "our client refuses gnutls-serv's expired certificate, with the date"
else
    not_ok "our client refuses an expired certificate" "rc=$PC_RC" \
        "$(cat "$tmp/pc.err")"
fi
stop_gnutls_serv

start_gnutls_serv --priority "$PSK_PRIO" --pskpasswd "$tmp/psk/keys.psk"
peer_client --creds psk --dir "$tmp/psk" --send ping-psk
if [ "$PC_RC" = 0 ] && [ "$(cat "$tmp/pc.out")" = ping-psk ]; then
    ok "our PSK client (default username qemu) -> gnutls-serv"
else
    not_ok "our PSK client -> gnutls-serv" "rc=$PC_RC" "$(cat "$tmp/pc.err")"
fi
peer_client --creds psk --dir "$tmp/psk-wrong" --send x
if [ "$PC_RC" = 1 ] && contains "$tmp/pc.err" "tls-peer: TLS handshake failed: "; then
    ok "our PSK client with a wrong key fails the handshake"
else
    not_ok "our PSK client with a wrong key fails" "rc=$PC_RC" \
        "$(cat "$tmp/pc.err")"
fi
stop_gnutls_serv

start_gnutls_serv --priority NORMAL:+ANON-DH
peer_client --creds anon --send ping-anon
if [ "$PC_RC" = 0 ] && [ "$(cat "$tmp/pc.out")" = ping-anon ]; then
    ok "our anonymous client -> gnutls-serv"
else
    not_ok "our anonymous client -> gnutls-serv" "rc=$PC_RC" \
        "$(cat "$tmp/pc.err")"
fi
stop_gnutls_serv

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
