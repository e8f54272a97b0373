#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Faults: dying clients, certificate files changed under a running
# server, block-export-del safe/hard with busy clients and SIGTERM with
# writes in flight (faults-clients.py); then, here, a full disk (a small
# tmpfs in a private mount namespace), read-only images, and an image
# removed or truncated under a running export.
. "$(dirname "$0")/functions.sh"
requires qemu-io qemu-img qemu-nbd unshare

# raw_write SOCKET: errno of a 512-byte NBD write sent anyway (nbdraw.py).
raw_write() {
    $PY -c 'import sys; sys.path.insert(0, sys.argv[1]); import nbdraw
c = nbdraw.connect(sys.argv[2]); print(c.write(0, b"\xaa" * 512))' \
        "$TESTS_DIR" "$1"
}

# The disk-full case runs in its own mount namespace (see below).
if [ "${1:-}" = disk-full ]; then
    cd "$tmp"
    mkdir full
    mount -t tmpfs -o size=4M tmpfs full || exit 77
    cleanup_fn "umount $tmp/full"
    truncate -s 16M full/img
    "$WARDEN" daemon --blockdev driver=file,node-name=d0,filename=full/img \
        --nbd-server addr.type=unix,addr.path="$tmp/f.sock" \
        --export type=nbd,id=e0,node-name=d0,name=disk,writable=on \
        --pidfile "$tmp/f.pid" --daemonize || fail "daemon on tmpfs"
    cleanup_fn "kill \$(cat $tmp/f.pid) 2>/dev/null"
    acked=() nospc=0
    for i in $(seq 0 7); do
        out=$(qemu-io -f raw -c "write -P $((i + 1)) ${i}M 1M" \
            "nbd+unix:///disk?socket=$tmp/f.sock" 2>&1)
        case "$out" in
            *"wrote 1048576/1048576"*) acked+=("$i") ;;
            *"write failed: No space left on device"*) nospc=$((nospc + 1)) ;;
            *) fail "write $i: $out" ;;
        esac
    done
    [ "$nospc" -gt 0 ] || fail "4 MiB tmpfs took 8 MiB of writes"
    [ "${#acked[@]}" -gt 0 ] || fail "no write fitted"
    kill -0 "$(cat f.pid)" || fail "server died on ENOSPC"
    qemu-io -r -f raw -c "read -P 1 0 1M" "nbd+unix:///disk?socket=$tmp/f.sock" \
        >/dev/null || fail "server does not serve after ENOSPC"
    for i in "${acked[@]}"; do
        cmp <(dd if=full/img bs=1M skip="$i" count=1 status=none) \
            <(head -c 1M /dev/zero | tr '\0' "\\$(printf '%03o' $((i + 1)))") \
            || fail "acknowledged write $i is not on disk"
    done
    ok "disk full: ${#acked[@]} writes acknowledged and on disk, $nospc got ENOSPC (No space left on device), server still serving"
    exit 0
fi

timeout 200 $PY "$TESTS_DIR/faults-clients.py" "$WARDEN" "$tmp" \
    || fail "faults-clients.py"

# Disk full: a 4 MiB tmpfs, mounted in a private mount namespace (as root,
# or as a user mapped to root where user namespaces are allowed).
ns=(unshare -m)
[ "$(id -u)" -eq 0 ] || ns=(unshare -rm)
if "${ns[@]}" true 2>/dev/null; then
    "${ns[@]}" bash "$0" disk-full; rc=$?
    [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || fail "disk-full case"
    [ "$rc" -eq 0 ] || echo "# disk full: cannot mount a tmpfs here, skipped"
else
    echo "# disk full: no mount namespace here, skipped"
fi

cd "$tmp"
# Read-only: warden nbd -r, an export with writable=off (the default) of
# a node opened read-only, each against qemu-nbd -r for the same client.
truncate -s 4M ro.img
"$WARDEN" nbd -r -t -k "$tmp/ro.sock" ro.img & ro_pid=$!
cleanup_fn "kill $ro_pid 2>/dev/null"
qemu-nbd -r -t -f raw -k "$tmp/q.sock" ro.img & q_pid=$!
cleanup_fn "kill $q_pid 2>/dev/null"
"$WARDEN" daemon --blockdev driver=file,node-name=d0,filename=ro.img,read-only=on \
    --nbd-server addr.type=unix,addr.path="$tmp/rod.sock" \
    --export type=nbd,id=e0,node-name=d0,name= \
    --pidfile "$tmp/rod.pid" --daemonize || fail "read-only daemon"
cleanup_fn "kill \$(cat $tmp/rod.pid) 2>/dev/null"
wait_for_path "$tmp/ro.sock"; wait_for_path "$tmp/q.sock"
# The spec says NBD_EPERM; qemu-nbd 7.2 answers EINVAL (EROFS unmapped).
[ "$(raw_write "$tmp/q.sock")" = 22 ] || fail "qemu-nbd -r changed its answer"
for s in ro q rod; do
    [ $s = q ] || [ "$(raw_write "$tmp/$s.sock")" = 1 ] \
        || fail "$s: write did not get EPERM"
    out=$(qemu-io -f raw -c 'write 0 512' "nbd+unix:///?socket=$tmp/$s.sock" 2>&1)
    case "$out" in
        *"Could not open image: Permission denied"*) ;;
        *) fail "$s: qemu-io: $out" ;;
    esac
done
[ "$(od -An -tx1 -N2 ro.img | tr -d ' ')" = 0000 ] || fail "read-only image written"
expect_fail "Cannot export node 'd0' writable: it is read-only" \
    "$WARDEN" daemon --blockdev driver=file,node-name=d0,filename=ro.img,read-only=on \
    --nbd-server addr.type=unix,addr.path="$tmp/x.sock" \
    --export type=nbd,id=e0,node-name=d0,writable=on
ok "read-only (nbd -r, writable=off, read-only node): writes get EPERM (qemu-nbd -r: EINVAL); qemu-io: Permission denied, as with qemu-nbd"

# Removed and truncated under a running export: the open file stays
# valid (POSIX); reads past a new end of file return zeros and writes
# there extend it again, exactly as qemu-nbd does; the server keeps
# answering.
truncate -s 8M rt.img
"$WARDEN" nbd -t -e 0 -k "$tmp/rt.sock" rt.img & rt_pid=$!
cleanup_fn "kill $rt_pid 2>/dev/null"
wait_for_path "$tmp/rt.sock"
U="nbd+unix:///?socket=$tmp/rt.sock"
qemu-io -f raw -c 'write -P 0x11 0 64k' -c 'write -P 0x22 6M 64k' "$U" >/dev/null \
    || fail "writes"
truncate -s 1M rt.img
out=$(qemu-io -f raw -c 'read -P 0x11 0 64k' -c 'read -P 0 6M 64k' \
    -c 'write -P 0x33 7M 4k' -c 'read -P 0x33 7M 4k' "$U" 2>&1) \
    || fail "after truncation: $out"
[ "$(stat -c %s rt.img)" -eq $((7 * 1048576 + 4096)) ] || fail "write past EOF"
rm rt.img
out=$(qemu-io -f raw -c 'read -P 0x11 0 64k' -c 'write -P 0x44 64k 4k' \
    -c 'read -P 0x44 64k 4k' "$U" 2>&1) || fail "after removal: $out"
kill -0 "$rt_pid" || fail "server died"
ok "image truncated (zeros past EOF, writes extend it, as qemu-nbd) and removed (still served) under a running export"
