#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The blog's encrypted-secret example, verbatim with the real openssl CLI:
# a master key from 'openssl rand -base64 32', an IV from
# 'openssl rand -base64 16', the ciphertext from 'openssl enc
# -aes-256-cbc -a'. The decrypted secret is proven right by using it as
# the password of an encrypted TLS key (passwordid), which only the right
# password opens.
. "$(dirname "$0")/functions.sh"
requires openssl certtool

cd "$tmp"
openssl rand -base64 32 > master.key
openssl rand -base64 16 > iv.b64
KEY=$(base64 -d master.key | od -An -tx1 | tr -d ' \n')
IVHEX=$(base64 -d iv.b64 | od -An -tx1 | tr -d ' \n')
SECRET=$(printf letmein | openssl enc -aes-256-cbc -a -K "$KEY" -iv "$IVHEX")

# As the blog runs it: the master key from a file, the ciphertext inline.
"$WARDEN" daemon --object secret,id=secmaster0,format=base64,file=master.key \
    --object "secret,id=sec0,keyid=secmaster0,format=base64,data=$SECRET,iv=$(<iv.b64)" \
    --check >/dev/null || fail "blog example"
ok "blog example decrypts"

# Wrong IV: strict PKCS#7 checking reports it.
openssl rand -base64 16 > other-iv.b64
expect_fail "Incorrect padding found on decrypted data" \
    "$WARDEN" daemon --object secret,id=m,format=base64,file=master.key \
    --object "secret,id=s,keyid=m,format=base64,data=$SECRET,iv=$(<other-iv.b64)"
ok "wrong IV is an error"

# Prove the plaintext: an encrypted private key whose password is letmein.
mkdir pki
certtool --generate-privkey --key-type rsa --bits 2048 --outfile ca-key.pem 2>/dev/null
cat > ca.info <<EOT
cn = Test CA
ca
cert_signing_key
expiration_days = 30
EOT
certtool --generate-self-signed --load-privkey ca-key.pem --template ca.info \
    --outfile pki/ca-cert.pem 2>/dev/null
certtool --generate-privkey --key-type rsa --bits 2048 --outfile plain-key.pem 2>/dev/null
cat > srv.info <<EOT
cn = localhost
dns_name = localhost
ip_address = 127.0.0.1
tls_www_server
encryption_key
signing_key
expiration_days = 30
EOT
certtool --generate-certificate --load-privkey plain-key.pem --load-ca-certificate pki/ca-cert.pem \
    --load-ca-privkey ca-key.pem --template srv.info --outfile pki/server-cert.pem 2>/dev/null
certtool --to-p8 --load-privkey plain-key.pem --password letmein --outfile pki/server-key.pem 2>/dev/null
grep -q 'ENCRYPTED PRIVATE KEY' pki/server-key.pem || fail "could not make an encrypted key"

if "$WARDEN" daemon --object tls-creds-x509,help | grep -q passwordid; then
    "$WARDEN" daemon --object secret,id=secmaster0,format=base64,file=master.key \
        --object "secret,id=sec0,keyid=secmaster0,format=base64,data=$SECRET,iv=$(<iv.b64)" \
        --object tls-creds-x509,id=tls0,endpoint=server,dir=pki,passwordid=sec0 \
        --check >/dev/null || fail "decrypted secret does not open the key"
    WRONG=$(printf letmeout | openssl enc -aes-256-cbc -a -K "$KEY" -iv "$IVHEX")
    expect_fail "server-key.pem" "$WARDEN" daemon \
        --object secret,id=secmaster0,format=base64,file=master.key \
        --object "secret,id=sec0,keyid=secmaster0,format=base64,data=$WRONG,iv=$(<iv.b64)" \
        --object tls-creds-x509,id=tls0,endpoint=server,dir=pki,passwordid=sec0
    ok "decrypted secret opens the encrypted key; a wrong one does not"
fi
