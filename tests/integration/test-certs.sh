#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# warden certs create / check: the files and modes written, what is
# printed, certtool's verdict on the certificates, and real TLS peers
# using them (qemu-nbd + qemu-img, nbdinfo/libnbd, nbdkit). Bad
# directories (missing files, a CA without the CA flag, an expired
# certificate, a wrong hostname) give one finding per line and exit 1.
. "$(dirname "$0")/functions.sh"

requires certtool

C="$WARDEN certs"
pki=$tmp/pki
SERVER_OID=1.3.6.1.5.5.7.3.1     # id-kp-serverAuth
CLIENT_OID=1.3.6.1.5.5.7.3.2     # id-kp-clientAuth

# ---- create --------------------------------------------------------------

out=$($C create "$pki") || fail "certs create: $out"
for f in ca-cert.pem ca-key.pem server-cert.pem server-key.pem \
         client-cert.pem client-key.pem; do
    [ -s "$pki/$f" ] || fail "certs create did not write $f"
    case "$out" in *"$f"*) ;; *) fail "output does not mention $f: $out" ;; esac
done
for f in ca-key.pem server-key.pem client-key.pem; do
    [ "$(stat -c %a "$pki/$f")" = 600 ] || fail "$f mode $(stat -c %a "$pki/$f")"
done
[ "$(ls "$pki" | wc -l)" = 6 ] || fail "unexpected files: $(ls "$pki")"
for want in "--object tls-creds-x509,id=tls0,endpoint=server,dir=$pki" \
            "--object tls-creds-x509,id=tls0,endpoint=client,dir=$pki" \
            "--tls-certificates=$pki" "localhost, 127.0.0.1" "CN=client"; do
    case "$out" in *"$want"*) ;; *) fail "output lacks '$want': $out" ;; esac
done
ok "certs create: six files, keys 0600, usage printed"

expect_fail "already exists: refusing to overwrite" $C create "$pki"
expect_fail "Validity of 0 days is out of range" $C create "$tmp/d0" --days 0
expect_fail "certs create: give the output directory" $C create
expect_fail "certs: unknown action 'frobnicate'" $C frobnicate "$pki"
expect_fail "give --endpoint server or --endpoint client" $C check "$pki"
expect_fail "--endpoint must be 'server' or 'client', not 'both'" \
    $C check "$pki" --endpoint both
expect_fail "use it with --endpoint server" \
    $C check "$pki" --endpoint client --hostname localhost
ok "certs: refuses to overwrite; usage errors exit 1"

# ---- check ---------------------------------------------------------------

out=$($C check "$pki" --endpoint server) || fail "check server: $out"
[ "$out" = "$pki: OK for a server (ca-cert.pem, server-cert.pem + server-key.pem)" ] ||
    fail "check server output: $out"
out=$($C check "$pki" --endpoint client) || fail "check client: $out"
[ "$out" = "$pki: OK for a client (ca-cert.pem, client-cert.pem + client-key.pem)" ] ||
    fail "check client output: $out"
for h in localhost 127.0.0.1 ::1; do
    out=$($C check "$pki" --endpoint server --hostname "$h") ||
        fail "check --hostname $h: $out"
    case "$out" in *"matches '$h')") ;; *) fail "hostname $h: $out" ;; esac
done
ok "certs check passes for server (also per hostname) and client"

for pair in "server-cert.pem --verify-hostname localhost --verify-purpose $SERVER_OID" \
            "server-cert.pem --verify-hostname 127.0.0.1 --verify-purpose $SERVER_OID" \
            "client-cert.pem --verify-purpose $CLIENT_OID"; do
    set -- $pair
    out=$(certtool --verify --load-ca-certificate "$pki/ca-cert.pem" \
          --infile "$pki/$1" "${@:2}" 2>&1) || fail "certtool --verify $pair: $out"
    case "$out" in
        *"Chain verification output: Verified."*) ;;
        *) fail "certtool --verify $pair: $out" ;;
    esac
done
out=$(certtool --verify --load-ca-certificate "$pki/ca-cert.pem" \
      --infile "$pki/client-cert.pem" --verify-purpose $SERVER_OID 2>&1) &&
    fail "client certificate verified for the server purpose: $out"
out=$(certtool -i --infile "$pki/ca-cert.pem")
case "$out" in *"Certificate Authority (CA): TRUE"*) ;; *) fail "CA flag: $out" ;; esac
ok "certtool --verify: chain, hostnames and purposes as intended"

# Several clients, own names, short validity.
multi=$tmp/multi
out=$($C create "$multi" --server-name nbd.example.org --server-name 10.9.8.7 \
      --client-name alice --client-name bob --days 2) || fail "create multi: $out"
for f in client-alice-cert.pem client-alice-key.pem client-bob-cert.pem \
         client-bob-key.pem; do
    [ -s "$multi/$f" ] || fail "no $f"
done
[ "$(stat -c %a "$multi/client-bob-key.pem")" = 600 ] || fail "bob key mode"
cmp -s "$multi/client-cert.pem" "$multi/client-alice-cert.pem" ||
    fail "client-cert.pem is not the first client's"
certtool -i --infile "$multi/client-bob-cert.pem" | grep -q "Subject: CN=bob" ||
    fail "bob's subject"
certtool -i --infile "$multi/server-cert.pem" >"$tmp/srv.txt"
grep -q "Subject: CN=nbd.example.org" "$tmp/srv.txt" &&
    grep -q "DNSname: nbd.example.org" "$tmp/srv.txt" &&
    grep -q "IPAddress: 10.9.8.7" "$tmp/srv.txt" || fail "server SAN: $(cat "$tmp/srv.txt")"
# --days 2: expires between 47 and 49 hours from now.
expiry=$(certtool -i --infile "$multi/server-cert.pem" |
         sed -n 's/.*Not After: //p')
left=$(( $(date -d "$expiry" +%s) - $(date +%s) ))
[ "$left" -gt $((47 * 3600)) ] && [ "$left" -le $((48 * 3600 + 60)) ] ||
    fail "--days 2 gave $left seconds"
$C check "$multi" --endpoint server --hostname 10.9.8.7 >/dev/null ||
    fail "check 10.9.8.7"
out=$($C check "$multi" --endpoint server --hostname localhost 2>"$tmp/err")
[ $? -eq 1 ] || fail "wrong hostname accepted: $out"
case "$out" in
    *"does not match the hostname"*localhost*|*localhost*"does not match"*) ;;
    *) fail "wrong hostname finding: $out" ;;
esac
grep -q "warden: certs check: 1 problem found in $multi" "$tmp/err" ||
    fail "summary: $(cat "$tmp/err")"
ok "certs create with names, several clients and --days; hostname check"

# ---- real peers -------------------------------------------------------------

truncate -s 1M "$tmp/disk.img"
mkdir -p "$tmp/cacert-only"          # a client with no certificate
cp "$pki/ca-cert.pem" "$tmp/cacert-only/"
if command -v qemu-nbd >/dev/null && command -v qemu-img >/dev/null; then
    qemu-nbd -t --object "tls-creds-x509,id=t0,endpoint=server,dir=$pki" \
        --tls-creds t0 -k "$tmp/qnbd.sock" -f raw "$tmp/disk.img" \
        >"$tmp/qemu-nbd.log" 2>&1 &
    qpid=$!
    cleanup_fn "kill $qpid 2>/dev/null; wait $qpid 2>/dev/null"
    wait_for_path "$tmp/qnbd.sock"
    out=$(timeout 30 qemu-img info \
          --object "tls-creds-x509,id=t1,endpoint=client,dir=$pki" \
          --image-opts "driver=nbd,path=$tmp/qnbd.sock,tls-creds=t1,tls-hostname=localhost" 2>&1) ||
        fail "qemu-img info over TLS: $out"
    case "$out" in *"virtual size: 1 MiB"*) ;; *) fail "qemu-img: $out" ;; esac
    ok "qemu-nbd serves and qemu-img connects with the created certificates"
    if command -v nbdinfo >/dev/null; then
        out=$(timeout 30 nbdinfo --size \
              "nbds+unix:///?socket=$tmp/qnbd.sock&tls-certificates=$pki" 2>&1) ||
            fail "nbdinfo -> qemu-nbd: $out"
        [ "$out" = 1048576 ] || fail "nbdinfo size: $out"
        # Without a client certificate, qemu-nbd (verify-peer) refuses.
        timeout 30 nbdinfo --size \
            "nbds+unix:///?socket=$tmp/qnbd.sock&tls-certificates=$tmp/cacert-only" \
            >/dev/null 2>&1 && fail "qemu-nbd accepted a client without certificate"
        ok "nbdinfo (libnbd) -> qemu-nbd with the created client certificate"
    fi
    kill "$qpid"; wait "$qpid" 2>/dev/null
else
    echo "# SKIP qemu-nbd/qemu-img not installed"
fi

if command -v nbdkit >/dev/null && command -v nbdinfo >/dev/null; then
    nbdkit -f -U "$tmp/kit.sock" --tls=require --tls-certificates="$pki" \
        --tls-verify-peer memory 1M >"$tmp/nbdkit.log" 2>&1 &
    kpid=$!
    cleanup_fn "kill $kpid 2>/dev/null; wait $kpid 2>/dev/null"
    wait_for_path "$tmp/kit.sock"
    out=$(timeout 30 nbdinfo --size \
          "nbds+unix:///?socket=$tmp/kit.sock&tls-certificates=$pki" 2>&1) ||
        fail "nbdinfo -> nbdkit: $out"
    [ "$out" = 1048576 ] || fail "nbdinfo -> nbdkit size: $out"
    if command -v qemu-img >/dev/null; then
        out=$(timeout 30 qemu-img info \
              --object "tls-creds-x509,id=t1,endpoint=client,dir=$pki" \
              --image-opts "driver=nbd,path=$tmp/kit.sock,tls-creds=t1,tls-hostname=localhost" 2>&1) ||
            fail "qemu-img -> nbdkit: $out"
        case "$out" in *"virtual size: 1 MiB"*) ;; *) fail "qemu-img -> nbdkit: $out" ;; esac
    fi
    ok "nbdkit --tls=require --tls-verify-peer with nbdinfo and qemu-img"
    kill "$kpid"; wait "$kpid" 2>/dev/null
else
    echo "# SKIP nbdkit/nbdinfo not installed"
fi

# ---- bad directories ------------------------------------------------------

# check_bad DIR ENDPOINT TEXT...: check exits 1 and prints every TEXT,
# each finding on its own line, then the summary on stderr.
check_bad() {
    local dir=$1 ep=$2 rc t
    shift 2
    $C check "$dir" --endpoint "$ep" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ $rc -eq 1 ] || fail "check $dir ($ep): exit $rc: $(cat "$tmp/out")"
    for t in "$@"; do
        grep -qF -- "$t" "$tmp/out" || fail "check $dir: no '$t' in: $(cat "$tmp/out")"
    done
    grep -q "problem.* found in $dir" "$tmp/err" || fail "summary: $(cat "$tmp/err")"
    grep -q "OK for" "$tmp/out" && fail "check $dir: says OK"
    return 0
}

mkdir -p "$tmp/empty"
check_bad "$tmp/empty" server "$tmp/empty/ca-cert.pem"

missing=$tmp/missing
cp -r "$pki" "$missing"
rm "$missing/server-key.pem"
check_bad "$missing" server "$missing/server-key.pem"
rm "$missing/client-key.pem"
check_bad "$missing" client "client-cert.pem" "client-key.pem"
ok "certs check: missing files are findings (exit 1)"

# A "CA" made with certtool without the CA flag, signing a server cert.
noca=$tmp/noca
mkdir -p "$noca"
cat >"$tmp/noca.tmpl" <<'EOF'
cn = "Not A CA"
expiration_days = 30
signing_key
cert_signing_key
EOF
cat >"$tmp/server.tmpl" <<'EOF'
cn = "localhost"
dns_name = "localhost"
ip_address = "127.0.0.1"
expiration_days = 30
tls_www_server
signing_key
encryption_key
EOF
certtool --generate-privkey --outfile "$tmp/noca-key.pem" >/dev/null 2>&1 &&
certtool --generate-self-signed --load-privkey "$tmp/noca-key.pem" \
    --template "$tmp/noca.tmpl" --outfile "$noca/ca-cert.pem" >/dev/null 2>&1 &&
certtool --generate-privkey --outfile "$noca/server-key.pem" >/dev/null 2>&1 &&
certtool --generate-certificate --load-privkey "$noca/server-key.pem" \
    --load-ca-certificate "$noca/ca-cert.pem" --load-ca-privkey "$tmp/noca-key.pem" \
    --template "$tmp/server.tmpl" --outfile "$noca/server-cert.pem" >/dev/null 2>&1 ||
    fail "certtool: CA without CA flag"
certtool -i --infile "$noca/ca-cert.pem" | grep -q "Certificate Authority (CA): FALSE" ||
    fail "certtool made a CA after all"
check_bad "$noca" server "The certificate $noca/ca-cert.pem basic constraints do not show a CA"
ok "certs check: a CA certificate without the CA flag is a finding"

# An expired server certificate, issued by our CA with certtool.
expired=$tmp/expired
cp -r "$pki" "$expired"
rm "$expired/server-cert.pem"
cat >"$tmp/expired.tmpl" <<'EOF'
cn = "localhost"
dns_name = "localhost"
tls_www_server
signing_key
encryption_key
activation_date = "2020-01-01 00:00:00 UTC"
expiration_date = "2021-01-01 00:00:00 UTC"
EOF
certtool --generate-certificate --load-privkey "$expired/server-key.pem" \
    --load-ca-certificate "$pki/ca-cert.pem" --load-ca-privkey "$pki/ca-key.pem" \
    --template "$tmp/expired.tmpl" --outfile "$expired/server-cert.pem" \
    >/dev/null 2>&1 || fail "certtool: expired certificate"
check_bad "$expired" server "The server certificate $expired/server-cert.pem has expired"
# Several problems at once: expired and the wrong host, each on a line.
$C check "$expired" --endpoint server --hostname nbd.example.org >"$tmp/out" 2>&1
[ $? -eq 1 ] || fail "expired + hostname: not exit 1"
[ "$(grep -c "$expired/server-cert.pem" "$tmp/out")" -ge 2 ] ||
    fail "expected two findings: $(cat "$tmp/out")"
grep -q "does not match the hostname" "$tmp/out" || fail "hostname finding: $(cat "$tmp/out")"
# The client side of the same directory is still fine.
$C check "$expired" --endpoint client >/dev/null || fail "client of expired dir"
ok "certs check: an expired certificate is a finding; all findings listed"

# A client directory with only the CA: fine for a client, said so.
out=$($C check "$tmp/cacert-only" --endpoint client 2>&1) ||
    fail "CA-only client dir: $out"
case "$out" in
    *"OK for a client (ca-cert.pem only: no client certificate"*) ;;
    *) fail "CA-only client dir: $out" ;;
esac
ok "certs check: a CA-only client directory passes with a note"
