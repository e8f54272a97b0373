#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Security: no secret in argv, logs, errors, QMP replies or the memory of
# the live process after use (secret-leak.py, a gcore scan); NBD TLS
# downgrade attempts from raw sockets (nbd-downgrade.py).
. "$(dirname "$0")/functions.sh"
requires qemu-io qemu-img certtool openssl

mkdir "$tmp/dg" "$tmp/leak"
timeout 120 $PY "$TESTS_DIR/nbd-downgrade.py" "$WARDEN" "$tmp/dg" \
    || fail "nbd-downgrade.py"
timeout 200 $PY "$TESTS_DIR/secret-leak.py" "$WARDEN" "$tmp/leak"
rc=$?
[ "$rc" -eq 77 ] && { echo "SKIP: secret-leak.py (gcore missing)"; exit 77; }
[ "$rc" -eq 0 ] || fail "secret-leak.py"
ok "security scripts"
