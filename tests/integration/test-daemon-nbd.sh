#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The daemon's NBD front ends: QMP flow (qemu-storage-daemon's texts) and
# the --blockdev/--nbd-server/--export command line, with real clients.
. "$(dirname "$0")/functions.sh"
requires qemu-img qemu-io nbdinfo

timeout 240 $PY "$TESTS_DIR/nbd-qmp-flow.py" "$WARDEN" "$tmp" || fail "nbd-qmp-flow.py"

cd "$tmp"
truncate -s 4M cli.img
printf 'CLI-EXPORT' | dd of=cli.img conv=notrunc status=none
# qemu-storage-daemon's usual form: a raw format node with its file child
# given inline (file.driver=...).
"$WARDEN" daemon --blockdev driver=raw,node-name=d0,discard=unmap,file.driver=file,file.filename=cli.img \
    --nbd-server addr.type=unix,addr.path="$tmp/cli.sock" \
    --export type=nbd,id=e0,node-name=d0,name=disk,writable=on \
    --pidfile "$tmp/cli.pid" --daemonize || fail "daemon with --export"
cleanup_fn "kill \$(cat $tmp/cli.pid) 2>/dev/null"
qemu-io -f raw -c 'read -P 0 4096 4096' -c 'write -P 0xab 0 512' \
    -c 'write -P 0xcd 1M 1M' -c 'discard 1M 1M' \
    "nbd+unix:///disk?socket=$tmp/cli.sock" >/dev/null || fail "qemu-io"
# discard=unmap reached the inline file child: the range is a hole again.
$PY -c 'import os; fd = os.open("cli.img", os.O_RDONLY)
assert os.lseek(fd, 1 << 20, os.SEEK_HOLE) == 1 << 20' || fail "discard=unmap did not punch a hole"
[ "$(head -c 512 cli.img | od -An -v -tx1 | tr -d ' \n' | sed 's/ab//g')" = "" ] \
    || fail "write did not reach the file"
kill "$(cat cli.pid)"
for i in $(seq 100); do [ -e cli.pid ] || break; sleep 0.05; done
[ ! -e cli.pid ] || fail "pidfile left"
[ ! -e cli.sock ] || fail "nbd socket left"
ok "--blockdev (inline file child), --nbd-server, --export; SIGTERM cleans up"

expect_fail "--export: NBD server not running" \
    "$WARDEN" daemon --blockdev driver=file,node-name=d0,filename=cli.img \
    --export type=nbd,id=e0,node-name=d0
expect_fail "--export: Cannot find device='' nor node-name='nosuch'" \
    "$WARDEN" daemon --nbd-server addr.type=unix,addr.path="$tmp/x.sock" \
    --export type=nbd,id=e0,node-name=nosuch
expect_fail "--blockdev: Could not open '$tmp/nope.img'" \
    "$WARDEN" daemon --blockdev driver=file,node-name=d0,filename="$tmp/nope.img"
expect_fail "--nbd-server: tls-creds: no object with id 'nosuch'" \
    "$WARDEN" daemon --nbd-server addr.type=unix,addr.path="$tmp/x.sock",tls-creds=nosuch
ok "bad --blockdev/--nbd-server/--export exit 1 with the reason"

# Re-export: a plain unix-socket front for a TLS export of another warden.
"$WARDEN" certs create "$tmp/pki" >/dev/null || fail "certs"
truncate -s 4M up.img
"$WARDEN" daemon --object tls-creds-x509,id=s0,endpoint=server,dir="$tmp/pki" \
    --blockdev driver=file,node-name=d0,filename=up.img \
    --nbd-server addr.type=unix,addr.path="$tmp/up.sock",tls-creds=s0 \
    --export type=nbd,id=e0,node-name=d0,name=up,writable=on \
    --pidfile "$tmp/up.pid" --daemonize || fail "upstream"
cleanup_fn "kill \$(cat $tmp/up.pid) 2>/dev/null"
"$WARDEN" daemon --object tls-creds-x509,id=c0,endpoint=client,dir="$tmp/pki" \
    --blockdev driver=nbd,node-name=n0,server.type=unix,server.path="$tmp/up.sock",export=up,tls-creds=c0,tls-hostname=localhost \
    --nbd-server addr.type=unix,addr.path="$tmp/re.sock" \
    --export type=nbd,id=e1,node-name=n0,name=re,writable=on \
    --pidfile "$tmp/re.pid" --daemonize || fail "re-export"
cleanup_fn "kill \$(cat $tmp/re.pid) 2>/dev/null"
qemu-io -f raw -c 'write -P 0x3c 65536 65536' "nbd+unix:///re?socket=$tmp/re.sock" >/dev/null \
    || fail "write through the re-export"
qemu-io -r -f raw -c 'read -P 0x3c 65536 65536' "nbd+unix:///re?socket=$tmp/re.sock" >/dev/null \
    || fail "read back through the re-export"
cmp <(dd if=up.img bs=64k skip=1 count=1 status=none) <(head -c 65536 /dev/zero | tr '\0' '\074') \
    || fail "data did not reach the upstream image"
ok "re-export: plain unix front for a TLS warden export (nbd block driver)"

# Credentials used by the nbd-server-start server cannot be deleted.
start_daemon --object tls-creds-x509,id=t0,endpoint=server,dir="$tmp/pki"
Q() { "$WARDEN" qmp "$tmp/qmp.sock" "$@"; }
Q nbd-server-start addr.type=unix addr.data.path="$tmp/ds.sock" tls-creds=t0 >/dev/null \
    || fail "nbd-server-start with TLS"
out=$(Q object-del id=t0 2>&1) && fail "deleted credentials in use"
[ "$out" = "object 't0' is in use by 'nbd-server (nbd-server-start)' and cannot be deleted; delete the user first" ] \
    || fail "in-use message: $out"
Q nbd-server-stop >/dev/null || fail "nbd-server-stop"
Q object-del id=t0 >/dev/null || fail "object-del after stop"
ok "credentials in use by the NBD server cannot be deleted until it stops"
