#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# warden nbd with qemu-nbd's command line, driven by real clients:
# unix/TCP, -x/-D/-r/-t/-e, --fork/--pid-file, TLS with --object and
# --tls-creds/--tls-authz, PSK, systemd socket activation, bad input.
. "$(dirname "$0")/functions.sh"
requires qemu-img qemu-io nbdinfo certtool psktool

cd "$tmp"
truncate -s 8M disk.img
printf 'WARDEN-NBD' | dd of=disk.img conv=notrunc status=none
"$WARDEN" certs create pki >/dev/null || fail "certs"
NBD="$WARDEN nbd"

# Without -t the server exits once the last client has gone.
$NBD -f raw -k "$tmp/a.sock" -x disk -D "a test disk" disk.img &
pid=$!
cleanup_fn "kill $pid 2>/dev/null"
wait_for_path "$tmp/a.sock"
out=$(nbdinfo --json "nbd+unix:///disk?socket=$tmp/a.sock") || fail "nbdinfo"
case "$out" in *'"description": "a test disk"'*) ;; *) fail "description: $out" ;; esac
case "$out" in *'"can_multi_conn": false'*) ;; *) fail "multi-conn with -e 1: $out" ;; esac
for i in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
kill -0 $pid 2>/dev/null && fail "server still running after the last client"
wait $pid || fail "exit status"
ok "-k -x -D; exits after the last client without -t"

# -t -e 4 -r: persistent, multi-conn, read-only.
$NBD -t -e 4 -r -k "$tmp/b.sock" disk.img &
pid=$!
cleanup_fn "kill $pid 2>/dev/null"
wait_for_path "$tmp/b.sock"
qemu-io -r -f raw -c 'read -P 0 4096 4096' "nbd+unix:///?socket=$tmp/b.sock" >/dev/null || fail "read"
qemu-io -r -f raw -c 'read -P 0 4096 4096' "nbd+unix:///?socket=$tmp/b.sock" >/dev/null || fail "second client"
out=$(nbdinfo --json "nbd+unix:///?socket=$tmp/b.sock")
case "$out" in *'"can_multi_conn": true'*) ;; *) fail "multi-conn: $out" ;; esac
case "$out" in *'"is_read_only": true'*) ;; *) fail "read-only: $out" ;; esac
out=$(qemu-io -f raw -c 'write 0 512' "nbd+unix:///?socket=$tmp/b.sock" 2>&1) && fail "write to -r succeeded"
kill $pid; wait $pid
ok "-t -e 4 -r: persistent, multi-conn advertised, read-only"

# TCP on 127.0.0.1 with x509 TLS, --fork and --pid-file.
port=$(free_port)
$NBD --fork --pid-file "$tmp/n.pid" -t -b 127.0.0.1 -p "$port" -x disk \
    --object tls-creds-x509,id=tls0,endpoint=server,dir=pki --tls-creds tls0 disk.img \
    || fail "--fork"
cleanup_fn "kill \$(cat $tmp/n.pid) 2>/dev/null"
qemu-io -r --object tls-creds-x509,id=t,endpoint=client,dir=pki --image-opts \
    "driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=$port,export=disk,tls-creds=t" \
    -c 'read -P 0 8192 512' >/dev/null || fail "qemu-io over TLS"
nbdinfo "nbds://127.0.0.1:$port/disk?tls-certificates=$tmp/pki" | grep -q "with TLS" || fail "nbdinfo TLS"
out=$(qemu-img info --image-opts "driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=$port,export=disk" 2>&1)
case "$out" in *"server reported: Option 0x7 not permitted before TLS"*) ;; *) fail "plain client: $out" ;; esac
kill "$(cat n.pid)"
for i in $(seq 100); do [ -e n.pid ] || break; sleep 0.05; done
[ ! -e n.pid ] || fail "pid file not removed"
ok "x509 TLS over TCP with --fork/--pid-file; a plain client is told TLS is required"

# --tls-authz: only the listed client DN gets in.
$NBD -t -k "$tmp/z.sock" --object tls-creds-x509,id=tls0,endpoint=server,dir=pki \
    --object authz-simple,id=auth0,identity=CN=nobody --tls-creds tls0 --tls-authz auth0 \
    disk.img 2>"$tmp/z.log" &
pid=$!
cleanup_fn "kill $pid 2>/dev/null"
wait_for_path "$tmp/z.sock"
nbdinfo "nbds+unix:///?socket=$tmp/z.sock&tls-certificates=$tmp/pki" >/dev/null 2>&1 \
    && fail "authz let an unlisted client in"
for i in $(seq 50); do grep -q "rejected by tls-authz" "$tmp/z.log" && break; sleep 0.1; done
grep -q "rejected by tls-authz 'auth0'" "$tmp/z.log" || fail "no log of the rejection: $(cat "$tmp/z.log")"
kill $pid; wait $pid
ok "--tls-authz rejects and logs an unlisted client"

# PSK
mkdir psk
psktool -u alice -p psk/keys.psk >/dev/null 2>&1 || fail "psktool"
$NBD -t -k "$tmp/p.sock" --object tls-creds-psk,id=psk0,endpoint=server,dir=psk \
    --tls-creds psk0 disk.img &
pid=$!
cleanup_fn "kill $pid 2>/dev/null"
wait_for_path "$tmp/p.sock"
nbdinfo "nbds+unix://alice@/?socket=$tmp/p.sock&tls-psk-file=$tmp/psk/keys.psk" \
    | grep -q "with TLS" || fail "PSK client"
kill $pid; wait $pid
ok "PSK"

# systemd socket activation
$PY "$TESTS_DIR/socket-activate.py" "$tmp/s.sock" $NBD -t disk.img &
pid=$!
cleanup_fn "kill $pid 2>/dev/null"
wait_for_path "$tmp/s.sock"
qemu-io -r -f raw -c 'read -P 0 8192 512' "nbd+unix:///?socket=$tmp/s.sock" >/dev/null \
    || fail "socket activation"
kill $pid; wait $pid
ok "systemd socket activation (LISTEN_FDS)"

expect_fail "format 'qcow2' is not supported" $NBD -f qcow2 -k "$tmp/x.sock" disk.img
expect_fail "Could not open '$tmp/nope.img'" $NBD -k "$tmp/x.sock" "$tmp/nope.img"
expect_fail "--tls-creds: no object with id 'nope'" $NBD --tls-creds nope -k "$tmp/x.sock" disk.img
expect_fail "are for a client" $NBD --object tls-creds-x509,id=c,endpoint=client,dir=pki \
    --tls-creds c -k "$tmp/x.sock" disk.img
expect_fail "Offset (9000000) cannot be greater than size of the containing file (8388608)" \
    $NBD -o 9000000 -k "$tmp/x.sock" disk.img
expect_fail "Invalid offset 'abc'" $NBD -o abc -k "$tmp/x.sock" disk.img
expect_fail "Invalid discard mode \`bad'" $NBD --discard=bad -k "$tmp/x.sock" disk.img
expect_fail "Bitmap 'b0' is not found" $NBD -B b0 -k "$tmp/x.sock" disk.img
expect_fail "attach /dev/nbdN with nbd-client" $NBD -c /dev/nbd0 disk.img
ok "bad input exits 1 with the reason"

# -o: the export starts at the offset (qemu-nbd's raw window).
$NBD -t -o 0x100000 -k "$tmp/o.sock" disk.img &
pid=$!
cleanup_fn "kill $pid 2>/dev/null"
wait_for_path "$tmp/o.sock"
qemu-io -f raw -c 'write -P 0x3c 0 4096' "nbd+unix:///?socket=$tmp/o.sock" >/dev/null || fail "write at -o"
size=$(nbdinfo --size "nbd+unix:///?socket=$tmp/o.sock") || fail "nbdinfo -o"
[ "$size" = $((7 << 20)) ] || fail "size with -o 1M: $size"
kill $pid; wait $pid
qemu-io -f raw -c 'read -P 0x3c 1048576 4096' -c 'read -P 0 1044480 4096' disk.img >/dev/null ||
    fail "-o write did not land at the offset"
ok "-o OFFSET exports the image from OFFSET on"

# -s: a writable throwaway view; the image itself is never written.
head -c 4M /dev/urandom > snap.img
cp snap.img snap.orig
$NBD -t -s -e 2 -k "$tmp/snap.sock" snap.img &
pid=$!
cleanup_fn "kill $pid 2>/dev/null"
wait_for_path "$tmp/snap.sock"
qemu-io -f raw -c 'write -P 0x5e 100000 5000' -c 'write -z 1M 70000' \
    "nbd+unix:///?socket=$tmp/snap.sock" >/dev/null || fail "write to -s"
qemu-img convert -f raw -O raw "nbd+unix:///?socket=$tmp/snap.sock" view.img || fail "read -s view"
kill $pid; wait $pid
cmp -s snap.img snap.orig || fail "-s wrote to the image"
$PY - snap.orig view.img <<'PYEOF' || fail "-s view is not image + writes"
import sys
want = bytearray(open(sys.argv[1], 'rb').read())
want[100000:105000] = b'\x5e' * 5000
want[1 << 20:(1 << 20) + 70000] = bytes(70000)
assert open(sys.argv[2], 'rb').read() == want
PYEOF
ok "-s: writes go to a throwaway overlay, reads see them, the image is untouched"

# -A: qemu:allocation-depth, compared with qemu-nbd on the same -s view
# (overlay clusters are local, the rest comes from the image at depth 2).
qemu-nbd -t -A -s -f raw -k "$tmp/qa.sock" snap.img &
qpid=$!
cleanup_fn "kill $qpid 2>/dev/null"
$NBD -t -A -s -k "$tmp/wa.sock" snap.img &
pid=$!
cleanup_fn "kill $pid 2>/dev/null"
wait_for_path "$tmp/qa.sock"
wait_for_path "$tmp/wa.sock"
for s in qa wa; do
    qemu-io -f raw -c 'write -P 1 64k 64k' -c 'write -P 2 1M 4k' \
        "nbd+unix:///?socket=$tmp/$s.sock" >/dev/null || fail "write ($s)"
    nbdinfo --map=qemu:allocation-depth "nbd+unix:///?socket=$tmp/$s.sock" > "$s.map" ||
        fail "nbdinfo --map=qemu:allocation-depth ($s)"
done
grep -q "1  local" wa.map || fail "no local extent: $(cat wa.map)"
diff qa.map wa.map || fail "allocation depth differs from qemu-nbd"
diff <(qemu-nbd -L -k "$tmp/qa.sock") <($NBD -L -k "$tmp/wa.sock") || fail "-L with -A differs"
kill $pid $qpid; wait $pid $qpid
ok "-A: qemu:allocation-depth matches qemu-nbd -A (with -s), -L too"

# --discard: ignored by default (trim leaves the data), unmap punches holes.
allocated() { $PY -c 'import os,sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    print("hole" if os.lseek(fd, int(sys.argv[2]), os.SEEK_HOLE) == int(sys.argv[2]) else "data")
finally:
    os.close(fd)' "$@"; }
head -c 4M /dev/urandom > trim.img
for mode in "" ignore unmap; do
    cp trim.img t.img
    $NBD ${mode:+--discard=$mode} -k "$tmp/t.sock" t.img &
    pid=$!
    wait_for_path "$tmp/t.sock"
    qemu-io -f raw -c 'discard 1M 1M' "nbd+unix:///?socket=$tmp/t.sock" >/dev/null || fail "discard ($mode)"
    wait $pid
    want=data; [ "$mode" = unmap ] && want=hole
    [ "$(allocated t.img $((1 << 20)))" = $want ] || fail "--discard=${mode:-default}: range is not $want"
    if [ $want = data ]; then cmp -s t.img trim.img || fail "--discard=${mode:-default} changed data"; fi
    rm -f "$tmp/t.sock"
done
ok "--discard: trim ignored by default and with ignore, punches holes with unmap"

# -L lists a server's exports exactly as qemu-nbd -L does.
$NBD -t -e 2 -k "$tmp/l.sock" -x disk -D "listed disk" disk.img &
pid=$!
cleanup_fn "kill $pid 2>/dev/null"
wait_for_path "$tmp/l.sock"
diff <($NBD -L -k "$tmp/l.sock") <(qemu-nbd -L -k "$tmp/l.sock") || fail "-L differs from qemu-nbd -L"
kill $pid; wait $pid
ok "-L output matches qemu-nbd -L"
