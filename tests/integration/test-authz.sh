#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# authz-simple, authz-list and authz-listfile as a TLS monitor's
# tls-authz, with real client certificates (certtool, three-component
# DNs) and gnutls-cli as the peer: identities and rules written in RFC
# 4514 order (CN first) and in GnuTLS order (C first), exact and glob,
# allow and deny, rule order, qom-set, and authz-listfile edits picked up
# while the daemon runs (refresh=on) or not (refresh=off).
. "$(dirname "$0")/functions.sh"

requires gnutls-cli certtool

# ---- helpers (start_tls_daemon, stop_daemon: functions.sh) ---------------

# connect PORT CLIENT: QMP over TLS as CLIENT (a directory with
# ca-cert.pem, client-cert.pem, client-key.pem); "served" if the
# greeting and the query-version reply came back, else "refused".
connect() {
    local port=$1 dir=$tmp/$2
    printf '%s\n' '{"execute":"qmp_capabilities"}' \
                  '{"execute":"query-version","id":"v1"}' |
        timeout 20 gnutls-cli --x509cafile "$dir/ca-cert.pem" \
            --x509certfile "$dir/client-cert.pem" \
            --x509keyfile "$dir/client-key.pem" \
            -p "$port" 127.0.0.1 >"$tmp/tls.out" 2>&1
    if grep -q '"QMP"' "$tmp/tls.out" &&
       grep -q '"package": "warden .*"id": "v1"' "$tmp/tls.out"; then
        echo served
    else
        grep -q '"QMP"' "$tmp/tls.out" && fail "$2 greeted but not served"
        echo refused
    fi
}

# expect PORT WHAT CLIENT=served|refused...
expect() {
    local port=$1 what=$2 pair got
    shift 2
    for pair in "$@"; do
        got=$(connect "$port" "${pair%%=*}")
        [ "$got" = "${pair#*=}" ] ||
            fail "$what: ${pair%%=*} was $got, expected ${pair#*=}: $(tail -5 "$tmp/daemon.log")"
    done
}

# logged TEXT: the daemon log gets TEXT (bounded wait).
logged() {
    for _ in $(seq 50); do
        grep -qF -- "$1" "$tmp/daemon.log" && return 0
        sleep 0.1
    done
    fail "not logged: '$1': $(cat "$tmp/daemon.log")"
}

# make_client NAME C O CN: certtool-issued client certificate with the
# subject CN=...,O=...,C=... signed by $pki's CA.
make_client() {
    mkdir -p "$tmp/$1"
    cp "$pki/ca-cert.pem" "$tmp/$1/"
    cat >"$tmp/$1.tmpl" <<EOF
country = $2
organization = "$3"
cn = "$4"
tls_www_client
signing_key
encryption_key
expiration_days = 30
EOF
    certtool --generate-privkey --outfile "$tmp/$1/client-key.pem" \
        >/dev/null 2>&1 &&
    certtool --generate-certificate --load-privkey "$tmp/$1/client-key.pem" \
        --load-ca-certificate "$pki/ca-cert.pem" \
        --load-ca-privkey "$pki/ca-key.pem" --template "$tmp/$1.tmpl" \
        --outfile "$tmp/$1/client-cert.pem" >/dev/null 2>&1 ||
        fail "certtool: client $1"
}

# ---- credentials ---------------------------------------------------------

pki=$tmp/pki
"$WARDEN" certs create "$pki" >/dev/null || fail "warden certs create"
ln -s "$pki" "$tmp/client"                      # CN=client
make_client alice GB "Warden Test" alice        # C=GB,O=Warden Test,CN=alice
make_client bob GB "Warden Test" bob
make_client mallory GB "Evil Corp" mallory
X509=(--object "tls-creds-x509,id=tls0,endpoint=server,dir=$pki")
ALICE_RFC="CN=alice,O=Warden Test,C=GB"
ALICE_GNUTLS="C=GB,O=Warden Test,CN=alice"

# ---- authz-simple ----------------------------------------------------------

# Two monitors: the identity in RFC 4514 order, and in GnuTLS order
# (keyval writes a literal comma as ",,").
start_tls_daemon ",tls-creds=tls0,tls-authz=s1" ",tls-creds=tls0,tls-authz=s2" -- \
    "${X509[@]}" \
    --object "authz-simple,id=s1,identity=${ALICE_RFC//,/,,}" \
    --object "authz-simple,id=s2,identity=${ALICE_GNUTLS//,/,,}"
for p in "${PORTS[@]}"; do
    expect "$p" "authz-simple" alice=served bob=refused mallory=refused \
        client=refused
done
logged "(identity 'C=GB,O=Warden Test,CN=bob') rejected by tls-authz 's1': identity 'C=GB,O=Warden Test,CN=bob' is not allowed by authz-simple 's1'"
logged "rejected by tls-authz 's2': identity 'CN=client' is not allowed by authz-simple 's2'"
ok "authz-simple: identity in RFC 4514 or GnuTLS order admits exactly alice"

# qom-set takes effect for the next client.
out=$(qmp qom-set '{"path":"/objects/s1","property":"identity","value":"CN=bob,O=Warden Test,C=GB"}')
[ "$out" = '{"return": {}}' ] || fail "qom-set identity: $out"
expect "${PORTS[0]}" "authz-simple after qom-set" bob=served alice=refused
ok "authz-simple: qom-set identity changes who may connect"
stop_daemon

# ---- authz-list --------------------------------------------------------------

# l1: default deny; bob denied by an exact rule in GnuTLS order, which
#     comes before an allow glob in RFC 4514 order that would match him.
# l2: the same rules in the other order: the glob now admits bob.
# l3: default allow; a glob in GnuTLS order denies Evil Corp.
# l4: default deny; one exact allow rule in RFC 4514 order.
deny_bob='{"match":"C=GB,O=Warden Test,CN=bob","policy":"deny","format":"exact"}'
allow_test='{"match":"CN=*,O=Warden Test,C=GB","policy":"allow","format":"glob"}'
start_tls_daemon ",tls-creds=tls0,tls-authz=l1" ",tls-creds=tls0,tls-authz=l2" \
                 ",tls-creds=tls0,tls-authz=l3" ",tls-creds=tls0,tls-authz=l4" -- \
    "${X509[@]}" \
    --object "{\"qom-type\":\"authz-list\",\"id\":\"l1\",\"policy\":\"deny\",\"rules\":[$deny_bob,$allow_test]}" \
    --object "{\"qom-type\":\"authz-list\",\"id\":\"l2\",\"policy\":\"deny\",\"rules\":[$allow_test,$deny_bob]}" \
    --object '{"qom-type":"authz-list","id":"l3","policy":"allow","rules":[{"match":"C=*,O=Evil Corp,CN=*","policy":"deny","format":"glob"}]}' \
    --object "{\"qom-type\":\"authz-list\",\"id\":\"l4\",\"rules\":[{\"match\":\"$ALICE_RFC\",\"policy\":\"allow\"}]}"
expect "${PORTS[0]}" "authz-list l1" alice=served bob=refused mallory=refused client=refused
logged "identity 'C=GB,O=Warden Test,CN=bob' is denied by rule 'C=GB,O=Warden Test,CN=bob' of authz-list 'l1'"
logged "identity 'C=GB,O=Evil Corp,CN=mallory' matches no rule of authz-list 'l1' and its default policy is deny"
ok "authz-list: exact deny before glob allow; default deny"
expect "${PORTS[1]}" "authz-list l2" alice=served bob=served mallory=refused
ok "authz-list: rule order decides (glob allow first admits bob)"
expect "${PORTS[2]}" "authz-list l3" alice=served client=served mallory=refused
logged "identity 'C=GB,O=Evil Corp,CN=mallory' is denied by rule 'C=*,O=Evil Corp,CN=*' of authz-list 'l3'"
ok "authz-list: default allow with a deny glob in GnuTLS order"
expect "${PORTS[3]}" "authz-list l4" alice=served bob=refused
ok "authz-list: exact allow in RFC 4514 order, policy defaults to deny"

# qom-set the policy of l4: now everybody not matched is allowed.
out=$(qmp qom-set '{"path":"/objects/l4","property":"policy","value":"allow"}')
[ "$out" = '{"return": {}}' ] || fail "qom-set policy: $out"
expect "${PORTS[3]}" "authz-list l4 after qom-set" bob=served mallory=served
ok "authz-list: qom-set policy applies to the next client"
stop_daemon

# ---- authz-listfile ---------------------------------------------------------

# write_rules FILE JSON: replace FILE atomically (a new inode), as editors
# and config management do.
write_rules() {
    printf '%s\n' "$2" >"$1.new" && mv "$1.new" "$1"
}
rules=$tmp/rules.json
frozen=$tmp/frozen.json
write_rules "$rules" "{\"policy\":\"deny\",\"rules\":[{\"match\":\"$ALICE_RFC\",\"policy\":\"allow\"}]}"
cp "$rules" "$frozen"
start_tls_daemon ",tls-creds=tls0,tls-authz=f1" ",tls-creds=tls0,tls-authz=f2" -- \
    "${X509[@]}" \
    --object "authz-listfile,id=f1,filename=$rules,refresh=on" \
    --object "authz-listfile,id=f2,filename=$frozen,refresh=off"
expect "${PORTS[0]}" "authz-listfile" alice=served bob=refused
expect "${PORTS[1]}" "authz-listfile refresh=off" alice=served bob=refused
ok "authz-listfile: rules from the file (RFC 4514 order)"

# Now bob in (glob, GnuTLS order), alice out.
edit='{"policy":"deny","rules":[{"match":"'$ALICE_GNUTLS'","policy":"deny"},{"match":"C=GB,O=Warden Test,CN=b*","policy":"allow","format":"glob"}]}'
write_rules "$rules" "$edit"
write_rules "$frozen" "$edit"
expect "${PORTS[0]}" "authz-listfile after edit" bob=served alice=refused
logged "identity 'C=GB,O=Warden Test,CN=alice' is denied by rule '$ALICE_GNUTLS' of authz-listfile 'f1'"
ok "authz-listfile refresh=on: an edit of the running file is picked up"
expect "${PORTS[1]}" "authz-listfile refresh=off after edit" alice=served bob=refused
ok "authz-listfile refresh=off: the file is read once"

# A broken edit denies everyone (QEMU's rule) until fixed.
printf '{"policy": "allow", "rules": [' >"$rules.new" && mv "$rules.new" "$rules"
expect "${PORTS[0]}" "authz-listfile broken" bob=refused alice=refused
logged "authz-listfile 'f1': reload failed, denying everyone until the file is fixed"
write_rules "$rules" '{"policy":"allow"}'
expect "${PORTS[0]}" "authz-listfile fixed" bob=served mallory=served
ok "authz-listfile: a broken file denies everyone; fixing it restores access"

# In-place edit of the same inode (no rename) is noticed too.
printf '%s\n' "{\"policy\":\"deny\",\"rules\":[{\"match\":\"$ALICE_RFC\",\"policy\":\"allow\"}]}" >"$rules"
expect "${PORTS[0]}" "authz-listfile in-place edit" alice=served mallory=refused
ok "authz-listfile: an in-place rewrite is picked up"
stop_daemon
