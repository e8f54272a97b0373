#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The stress entry point (issue 7): runs every tests/stress/*.sh scenario,
# prints each one's pass/fail and the figures it measured ('figure: ...'
# lines), then "N passed, N failed".  See README.md.
#
#   tests/stress/run.sh [--long] [--build DIR] [SCENARIO...]
#     --long       the long versions (same as LONG=1 in the environment)
#     --build DIR  the meson build directory holding warden (default: $WARDEN,
#                  else build/ at the top of the tree)
#     SCENARIO     run only these (file names with or without .sh)
# Logs: $STRESS_LOGS (default /tmp/warden-stress.<pid>/), one per scenario.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=
only=()
while [ $# -gt 0 ]; do
    case $1 in
        --long) export LONG=1 ;;
        --build) build=$2; shift ;;
        --build=*) build=${1#--build=} ;;
        -h|--help) sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) only+=("${1%.sh}") ;;
    esac
    shift
done
export LONG=${LONG:-0}
if [ -n "$build" ]; then
    export WARDEN=$build/warden
elif [ -z "${WARDEN:-}" ]; then
    export WARDEN=$top/build/warden
fi
[ -x "$WARDEN" ] || { echo "run.sh: no warden binary at $WARDEN; build it (meson setup build && ninja -C build) or pass --build DIR" >&2; exit 2; }
# Scenarios that need the build tree's helper programs find them here.
export WARDEN_BUILD=$(cd "$(dirname "$WARDEN")" && pwd)
if [ -z "${WARDEN_SANITIZED:-}" ] && nm -D "$WARDEN" 2>/dev/null | grep -q __asan_init; then
    export WARDEN_SANITIZED=1
fi
logs=${STRESS_LOGS:-/tmp/warden-stress.$$}
mkdir -p "$logs"

passed=0 failed=0 skipped=0
echo "warden: $WARDEN  mode: $([ "$LONG" = 1 ] && echo long || echo short)  logs: $logs"
for s in "$here"/*.sh; do
    name=$(basename "$s" .sh)
    [ "$name" = run ] && continue
    if [ ${#only[@]} -gt 0 ]; then
        case " ${only[*]} " in *" $name "*) ;; *) continue ;; esac
    fi
    t0=$(date +%s)
    bash "$s" >"$logs/$name.log" 2>&1
    rc=$?
    dt=$(( $(date +%s) - t0 ))
    case $rc in
        0) verdict=PASS; passed=$((passed + 1)) ;;
        77) verdict=SKIP; skipped=$((skipped + 1)) ;;
        *) verdict=FAIL; failed=$((failed + 1)) ;;
    esac
    printf '%-28s %s (%d s)\n' "$name" "$verdict" "$dt"
    grep '^figure: ' "$logs/$name.log" | sed 's/^figure: /    /'
    if [ $rc != 0 ] && [ $rc != 77 ]; then
        grep -E '^(FAIL|SKIP)' "$logs/$name.log" | head -5 | sed 's/^/    /'
    fi
done
echo "$passed passed, $failed failed$([ $skipped -gt 0 ] && echo ", $skipped skipped")"
[ $failed = 0 ]
