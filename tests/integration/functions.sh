# SPDX-License-Identifier: GPL-2.0-or-later
# Shared helpers for integration tests (sourced). Exit 77 means "skip".
set -u
: "${WARDEN:?WARDEN must point at the warden binary}"
PY=/usr/bin/python3      # Debian's python, with python3-libnbd etc.
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/warden-test.XXXXXX")
_cleanup_fns=()
cleanup_fn() { _cleanup_fns+=("$*"); }
_cleanup() {
    local i
    for ((i = ${#_cleanup_fns[@]} - 1; i >= 0; i--)); do
        eval "${_cleanup_fns[$i]}" || true
    done
    rm -rf "$tmp"
}
trap _cleanup EXIT

requires() {   # requires CMD... : skip the test if a program is missing
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || { echo "SKIP: $c not installed"; exit 77; }
    done
}

fail() { echo "FAIL: $*" >&2; exit 1; }
pass_count=0
ok() { pass_count=$((pass_count + 1)); echo "ok $pass_count - $*"; }

# expect_fail MESSAGE_SUBSTRING CMD...: CMD must exit 1 and print it.
expect_fail() {
    local want=$1; shift
    local out rc
    out=$("$@" 2>&1); rc=$?
    [ "$rc" -eq 1 ] || fail "expected exit 1, got $rc from: $* ($out)"
    case "$out" in
        *"$want"*) ;;
        *) fail "expected '$want' in output of: $*; got: $out" ;;
    esac
}

# wait_for_path FILE [SECONDS]: wait until FILE exists (bounded).
wait_for_path() {
    local i
    for ((i = 0; i < ${2:-10} * 20; i++)); do
        [ -e "$1" ] && return 0
        sleep 0.05
    done
    fail "timed out waiting for $1"
}

# free_port: a TCP port on 127.0.0.1 that nobody listens on right now.
free_port() {
    $PY -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_daemon ARGS...: run warden daemon in the background with a QMP
# socket at $tmp/qmp.sock; sets DAEMON_PID.
start_daemon() {
    rm -f "$tmp/qmp.sock"
    "$WARDEN" daemon --monitor "unix:$tmp/qmp.sock" "$@" \
        >"$tmp/daemon.log" 2>&1 &
    DAEMON_PID=$!
    cleanup_fn "kill $DAEMON_PID 2>/dev/null; wait $DAEMON_PID 2>/dev/null"
    wait_for_path "$tmp/qmp.sock"
}

# start_tls_daemon OPTS... -- DAEMON-ARGS...: warden daemon with one TCP
# monitor "tcp:127.0.0.1:PORT<OPTS>" per OPTS argument (ports in PORTS[],
# PORT = the first), plus the plain control monitor $tmp/qmp.sock created
# after them: once that socket exists, every TCP port is bound by our
# daemon (monitors are created in order; a failed bind exits). A port
# taken between choosing and binding it is retried with new ones.
start_tls_daemon() {
    local suffixes=() args=() _try i
    while [ $# -gt 0 ] && [ "$1" != -- ]; do suffixes+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    for _try in 1 2 3 4 5; do
        PORTS=()
        args=()
        for i in "${!suffixes[@]}"; do
            PORTS[i]=$(free_port)
            args+=(--monitor "tcp:127.0.0.1:${PORTS[$i]}${suffixes[$i]}")
        done
        PORT=${PORTS[0]}
        rm -f "$tmp/qmp.sock"
        "$WARDEN" daemon "$@" "${args[@]}" --monitor "unix:$tmp/qmp.sock" \
            >"$tmp/daemon.log" 2>&1 &
        DAEMON_PID=$!
        for ((i = 0; i < 200; i++)); do
            [ -S "$tmp/qmp.sock" ] && break
            kill -0 "$DAEMON_PID" 2>/dev/null || break
            sleep 0.05
        done
        if [ -S "$tmp/qmp.sock" ]; then
            cleanup_fn "kill $DAEMON_PID 2>/dev/null; wait $DAEMON_PID 2>/dev/null"
            return 0
        fi
        kill "$DAEMON_PID" 2>/dev/null
        wait "$DAEMON_PID" 2>/dev/null
        grep -q "Address already in use" "$tmp/daemon.log" ||
            fail "daemon did not start: $(cat "$tmp/daemon.log")"
    done
    fail "no free port for the monitor after 5 tries"
}

stop_daemon() {
    kill "$DAEMON_PID" 2>/dev/null
    wait "$DAEMON_PID" 2>/dev/null
}

# qmp CMD [JSON-ARGS]: one command on a fresh connection; prints the reply.
qmp() {
    $PY "$TESTS_DIR/qmp-client.py" "$tmp/qmp.sock" "$@"
}
