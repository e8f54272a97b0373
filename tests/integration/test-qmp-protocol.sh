#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# QMP over raw sockets and a differential run against qemu-storage-daemon.
. "$(dirname "$0")/functions.sh"
requires /usr/bin/python3
timeout 240 $PY "$TESTS_DIR/qmp-protocol.py" "$WARDEN" "$tmp" || fail "qmp-protocol.py"
