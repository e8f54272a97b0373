# SPDX-License-Identifier: GPL-2.0-or-later
# Sizes of the load and integrity tests (sourced after functions.sh).
#   LONG=1            the full sizes (tests/stress/run.sh sets it)
#   WARDEN_SANITIZED=1  an ASan/UBSan build (meson sets it): smaller still
# scale SHORT SANITIZED LONG: prints the size for the current mode.
scale() {
    if [ "${LONG:-0}" = 1 ]; then
        echo "$3"
    elif [ "${WARDEN_SANITIZED:-0}" = 1 ]; then
        echo "$2"
    else
        echo "$1"
    fi
}

# figure TEXT: one measured figure, collected by tests/stress/run.sh.
figure() { echo "figure: $*"; }

# Room for 1,000+ connections on both sides of loopback.
raise_fd_limit() {
    local want=$1 hard
    hard=$(ulimit -Hn)
    [ "$hard" = unlimited ] && hard=$want
    ulimit -n "$(( want < hard ? want : hard ))" 2>/dev/null || true
    [ "$(ulimit -n)" -ge "$want" ] \
        || { echo "SKIP: need $want file descriptors, have $(ulimit -n)"; exit 77; }
}

# rss_kib PID: resident memory of a process.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# stop_checked PID LOG NAME: SIGTERM a daemon we started (our child),
# wait for it (bounded), and require exit 0 and no sanitizer report
# (LeakSanitizer runs at exit) in its LOG.
stop_checked() {
    local pid=$1 log=$2 name=$3 i rc
    kill "$pid" 2>/dev/null || fail "$name (pid $pid) is not running"
    for ((i = 0; i < 600; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && fail "$name did not exit within 30 s of SIGTERM"
    wait "$pid"; rc=$?
    grep -E "Sanitizer|runtime error:" "$log" && fail "$name: sanitizer report in $log"
    [ "$rc" = 0 ] || fail "$name exited $rc on SIGTERM: $(tail -5 "$log")"
}
