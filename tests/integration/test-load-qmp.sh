#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# QMP under load (issue 7, part 3): 100 monitor clients connect at once on
# the unix socket and pipeline commands concurrently (qmp-load.py); every
# reply must be correct and carry its command's id.  Regression: with a
# listen backlog of 16, a third of a burst of 100 connects failed.
# Sizes: load-scale.sh (LONG=1: 100 x 10,000 commands).
. "$(dirname "$0")/functions.sh"
. "$TESTS_DIR/load-scale.sh"
raise_fd_limit 1024

CLIENTS=100
CMDS=$(scale 100 30 10000)

start_daemon
out=$($PY "$TESTS_DIR/qmp-load.py" "$tmp/qmp.sock" "$CLIENTS" "$CMDS") \
    || fail "qmp-load: $out"
echo "$out"
ok "$CLIENTS QMP clients x $CMDS commands: every reply correct and matched"

[ "$(qmp qom-list '{"path": "/objects"}')" = '{"return": [{"name": "type", "type": "string"}]}' ] \
    || fail "objects left behind: $(qmp qom-list '{"path": "/objects"}')"
kill -0 "$DAEMON_PID" || fail "daemon died"
ok "monitor healthy afterwards, every client's object deleted"
stop_checked "$DAEMON_PID" "$tmp/daemon.log" "daemon"
ok "daemon exits 0 on SIGTERM, no sanitizer report"
