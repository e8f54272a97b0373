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
