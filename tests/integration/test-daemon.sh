#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# warden daemon: --object order and references, --check, --pidfile,
# --daemonize, help output, and every bad-input case of the foundation
# issue (exit 1, "warden: " + object id + problem, no secret, no pidfile).
. "$(dirname "$0")/functions.sh"

W="$WARDEN daemon"
MASTER=9miloPQCzGy+TL6aonfzVcptibCmCIhKzrnlfwiWivk=
IV=0I7Gw/TKuA+Old2W2apQ3g==

out=$($W --object secret,id=s0,data=hunter2 \
         --object secret,id=s1,file=/etc/hostname,format=raw --check) || fail "check: $out"
[ "$out" = "s0 secret format=raw
s1 secret format=raw file=/etc/hostname" ] || fail "--check output: $out"
case "$out" in *hunter2*) fail "secret in --check output" ;; esac
ok "--check prints objects without secrets"

$W --object help | grep -q '^  tls-creds-x509$' || fail "--object help"
$W --object secret,help | grep -q '^  keyid=<string> - ' || fail "secret,help"
ok "--object help and TYPE,help"

$W --object "{\"qom-type\":\"secret\",\"id\":\"j\",\"data\":\"a,b\"}" --check >/dev/null \
    || fail "JSON --object"
ok "JSON form of --object"

pid="$tmp/w.pid"
expect_fail "object 'x': Parameter 'qom-type' does not accept value 'nosuchtype'" \
    $W --pidfile "$pid" --object nosuchtype,id=x
[ ! -e "$pid" ] || fail "pidfile left behind"
expect_fail "object '1x' (secret): Parameter 'id' expects an identifier" $W --object secret,id=1x,data=x
expect_fail "--object (secret): Parameter 'id' is missing" $W --object secret,data=x
expect_fail "object 'a' (secret): an object with id 'a' already exists" \
    $W --object secret,id=a,data=x --object secret,id=a,data=y
expect_fail "object 'a' (secret): Parameter 'bogus' is unexpected" $W --object secret,id=a,data=x,bogus=1
expect_fail "object 't' (tls-creds-x509): Parameter 'verify-peer' expects 'on' or 'off'" \
    $W --object tls-creds-x509,id=t,verify-peer=maybe
expect_fail "object 'a' (secret): 'file' and 'data' are mutually exclusive" \
    $W --object secret,id=a,data=x,file=/etc/hostname
expect_fail "object 'a' (secret): Either 'file' or 'data' must be provided" $W --object secret,id=a
expect_fail "object 'a' (secret): Unable to read $tmp/nope" $W --object secret,id=a,file="$tmp/nope"
expect_fail "object 'a' (secret): keyid: no object with id 'k'" $W --object secret,id=a,data=x,keyid=k,iv=$IV
expect_fail "object 'a' (secret): keyid: 'z' is not a secret" \
    $W --object authz-simple,id=z,identity=x --object secret,id=a,data=x,keyid=z,iv=$IV
expect_fail "object 'a' (secret): Key should be 32 bytes in length" \
    $W --object secret,id=k,data=short --object secret,id=a,data=x,keyid=k,iv=$IV
expect_fail "object 'a' (secret): IV should be 16 bytes in length not 12" \
    $W --object secret,id=k,data=$MASTER,format=base64 \
       --object secret,id=a,data=zL/3CUYZC1IqOrRrzXqwsA==,format=base64,keyid=k,iv=0I7Gw/TKuA+Old2W2a
expect_fail "object 'a' (secret): Base64 data contains invalid characters" \
    $W --object secret,id=a,data=MTI\$NDU2,format=base64
expect_fail "object 'a' (secret): Incorrect padding found on decrypted data" \
    $W --object secret,id=k,data=$MASTER,format=base64 \
       --object secret,id=a,data=IaPWpqAomkpHI7spqcXyPg==,format=base64,keyid=k,iv=$IV
expect_fail "object 'a' (secret): secret 'a' refers to itself in 'keyid': a reference cycle" \
    $W --object secret,id=a,data=x,keyid=a,iv=$IV
out=$($W --object secret,id=a,data=topsecret,bogus=1 2>&1)
case "$out" in *topsecret*) fail "secret echoed in error: $out" ;; esac
ok "bad input exits 1 with the object id and the problem, no secret"

# --pidfile and --daemonize: parent exits 0 once objects exist.
$W --daemonize --pidfile "$pid" --monitor "unix:$tmp/d.sock" \
    --object secret,id=s0,data=x || fail "daemonize"
[ -s "$pid" ] || fail "no pidfile after --daemonize"
dpid=$(cat "$pid")
cleanup_fn "kill $dpid 2>/dev/null"
kill -0 "$dpid" || fail "daemon not running"
[ -S "$tmp/d.sock" ] || fail "monitor socket missing"
[ "$(stat -c %a "$tmp/d.sock")" = 600 ] || fail "monitor socket mode"
kill -TERM "$dpid"
for i in $(seq 50); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$dpid" 2>/dev/null && fail "daemon ignored SIGTERM"
[ ! -e "$pid" ] || fail "pidfile not removed"
[ ! -e "$tmp/d.sock" ] || fail "monitor socket not removed"
ok "--daemonize, --pidfile, SIGTERM cleanup"

expect_fail "object 'a' (secret): Either 'file' or 'data' must be provided" \
    $W --daemonize --pidfile "$pid" --object secret,id=a
[ ! -e "$pid" ] || fail "pidfile after failed --daemonize"
ok "--daemonize reports start-up errors with exit 1"

expect_fail "object 'a' (secret): Parameter 'data' is given more than once" \
    $W --object secret,id=a,data=x,data=y
ok "a repeated key is an error naming the key and the object"
