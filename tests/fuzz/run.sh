#!/bin/bash
# Build every libFuzzer target with clang + ASan/UBSan and run each for
# SECONDS (default 30) on a scratch copy of its seed corpus. Exit 1 on any
# crash, leak or timeout. Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]
set -u
secs=${1:-30}
shift || true
src=$(cd "$(dirname "$0")/../.." && pwd)
bdir=${FUZZ_BUILD:-$src/build-fuzz}
if [ ! -f "$bdir/build.ninja" ]; then
    CC=clang meson setup "$bdir" "$src" -Dfuzzing=true \
        -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || exit 1
fi
ninja -C "$bdir" >/dev/null || { echo "fuzz build failed"; exit 1; }
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in "$src"/tests/fuzz/fuzz-*.c; do
        targets+=("$(basename "$f" .c)")
    done
fi
status=0
for t in "${targets[@]}"; do
    [ -x "$bdir/tests/fuzz/$t" ] || { echo "$t: not built"; status=1; continue; }
    work=$(mktemp -d)
    name=${t#fuzz-}
    [ -d "$src/tests/fuzz/corpus/$name" ] && cp -r "$src/tests/fuzz/corpus/$name/." "$work/"
    if UBSAN_OPTIONS=halt_on_error=1 "$bdir/tests/fuzz/$t" -max_total_time="$secs" \
           -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
           -artifact_prefix="$work/" "$work" >"$work.log" 2>&1; then
        execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work.log" | grep -o '[0-9]*$')
        cov=$(grep -o 'cov: [0-9]*' "$work.log" | tail -1)
        echo "$t: ok, ${execs:-?} executions, ${cov:-cov: ?}"
    else
        echo "$t: FAILED"; tail -40 "$work.log"; status=1
        ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null
    fi
    rm -rf "$work" "$work.log"
done
exit $status
