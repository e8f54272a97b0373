#!/bin/bash
# Build every libFuzzer target with clang + ASan/UBSan and run it.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#       CI mode: each target for SECONDS (default 30) on a scratch copy of
#       its seed corpus.
#   tests/fuzz/run.sh --runs N [--max-time S] [--work DIR] [--timeout T]
#                     [TARGET...]
#       Long campaign: each target for N executions (-runs=N), stopping
#       early after S seconds if given. With --work, each target's grown
#       corpus is kept in DIR/<name>/corpus (and reused by the next
#       campaign) and its log in DIR/<name>/log; otherwise a scratch copy
#       is used. Prints executions, exec/s, coverage (cov: edges, ft:
#       features) and corpus size per target, then a summary table.
#       An input running longer than T seconds is a timeout (default 10 in
#       CI mode, 60 here: a campaign at nice 19 on a busy machine can be
#       starved that long; rerun a timeout input alone to confirm it).
#   tests/fuzz/run.sh --fast --runs N ...
#       The same campaign on a build without ASan (UBSan in trap mode and
#       LeakSanitizer: crashes, undefined behaviour and leaks are still
#       findings) in build-fuzz-fast: 2-5 times the executions per second
#       of the ASan build. Follow it with --replay.
#   tests/fuzz/run.sh --replay --work DIR [TARGET...]
#       Runs every input of each target's kept corpus (DIR/<name>/corpus)
#       once on the ASan+UBSan build, the check for memory errors that a
#       --fast campaign cannot see.
#
# TARGET is a name like fuzz-psk or psk; default: every tests/fuzz/fuzz-*.c
# that has a main target. Exit 1 on any crash, leak or timeout; the input
# that caused it is left in the work directory (crash-*, leak-*,
# timeout-*). FUZZ_BUILD overrides the build directory (default
# build-fuzz, or build-fuzz-fast with --fast, in the source tree). Run
# long campaigns under `nice -n 19`.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=30 runs="" maxtime="" workroot="" timeout="" fast="" replay=""
while [ $# -gt 0 ]; do
    case "$1" in
    --fast) fast=1; shift ;;
    --replay) replay=1; shift ;;
    --runs) runs=$2; shift 2 ;;
    --max-time) maxtime=$2; shift 2 ;;
    --work) workroot=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
    [0-9]*) secs=$1; shift ;;
    *) break ;;
    esac
done
if [ -n "$replay" ] && { [ -z "$workroot" ] || [ -n "$fast" ]; }; then
    echo "--replay needs --work DIR and the ASan build (no --fast)" >&2
    exit 2
fi
if [ -n "$fast" ]; then
    bdir=${FUZZ_BUILD:-$src/build-fuzz-fast}
    san="-fsanitize=undefined,leak -fsanitize-trap=undefined"
    setup=(-Dc_args="$san" -Dc_link_args="$san")
else
    bdir=${FUZZ_BUILD:-$src/build-fuzz}
    setup=(-Db_sanitize=address,undefined)
fi
if [ ! -f "$bdir/build.ninja" ]; then
    CC=clang meson setup "$bdir" "$src" -Dfuzzing=true "${setup[@]}" \
        -Db_lundef=false >/dev/null || exit 1
fi
ninja -C "$bdir" >/dev/null || { echo "fuzz build failed"; exit 1; }
targets=()
for t in "$@"; do
    targets+=("fuzz-${t#fuzz-}")
done
if [ ${#targets[@]} -eq 0 ]; then
    for f in "$src"/tests/fuzz/fuzz-*.c; do
        grep -q LLVMFuzzerTestOneInput "$f" || continue
        targets+=("$(basename "$f" .c)")
    done
fi
if [ -n "$replay" ]; then
    limit=(-runs=0 -timeout="${timeout:-60}")
elif [ -n "$runs" ]; then
    limit=(-runs="$runs")
    [ -n "$maxtime" ] && limit+=(-max_total_time="$maxtime")
    limit+=(-timeout="${timeout:-60}")
else
    limit=(-max_total_time="$secs" -timeout="${timeout:-10}")
fi

# Last value of a "name: N" pair or of a stat:: line in log $1.
stat_of() {
    grep -o "$2 *[0-9]*" "$1" | tail -1 | grep -o '[0-9]*$'
}

# x509_key_seeds DIR: key seeds made now, never committed. Byte 0 picks
# the file the rest replaces (see fuzz-x509.c): 03 server-key.pem, 06
# client-key.pem, 0b server-key.pem read with the password "fuzz".
x509_key_seeds() {
    command -v certtool >/dev/null || return 0
    local k
    for k in 03 06; do
        { printf "\\x$k"; certtool --generate-privkey --key-type=ecdsa \
            2>/dev/null | sed -n '/BEGIN/,/END/p'; } >"$1/gen-key-$k"
    done
    { printf '\x0b'; certtool --generate-privkey --key-type=ecdsa --pkcs8 \
        --password fuzz 2>/dev/null | sed -n '/BEGIN/,/END/p'; } >"$1/gen-key-0b"
}

status=0
table=()
for t in "${targets[@]}"; do
    name=${t#fuzz-}
    if [ ! -x "$bdir/tests/fuzz/$t" ]; then
        echo "$t: not built"; status=1; continue
    fi
    if [ -n "$workroot" ]; then
        work=$workroot/$name
        mkdir -p "$work/corpus"
    else
        work=$(mktemp -d)
        mkdir "$work/corpus"
    fi
    log=$work/log
    [ -n "$replay" ] && log=$work/log.replay
    [ -d "$src/tests/fuzz/corpus/$name" ] &&
        cp -r "$src/tests/fuzz/corpus/$name/." "$work/corpus/"
    [ "$name" = x509 ] && x509_key_seeds "$work/corpus"
    # nbd-transmit: the captured seeds are up to 40 KB, and every 28-byte
    # READ of such an input can ask for the whole export: libFuzzer's
    # default 4 KiB keeps an execution in milliseconds.
    extra=()
    [ "$name" = nbd-transmit ] && extra=(-max_len=4096)
    start=$(date +%s)
    if UBSAN_OPTIONS=halt_on_error=1 "$bdir/tests/fuzz/$t" "${limit[@]}" \
           "${extra[@]}" \
           -rss_limit_mb=2048 -print_final_stats=1 \
           -artifact_prefix="$work/" "$work/corpus" >"$log" 2>&1; then
        result=ok
    else
        result=FAILED
        status=1
    fi
    secs_used=$(( $(date +%s) - start ))
    execs=$(stat_of "$log" 'stat::number_of_executed_units:')
    rate=$(stat_of "$log" 'stat::average_exec_per_sec:')
    cov=$(stat_of "$log" 'cov:')
    ft=$(stat_of "$log" 'ft:')
    files=$(find "$work/corpus" -type f | wc -l)
    echo "$t: $result, ${execs:-?} executions in ${secs_used} s" \
         "(${rate:-?}/s), cov: ${cov:-?}, ft: ${ft:-?}, corpus: $files files"
    if [ $result = FAILED ]; then
        tail -40 "$log"
        ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* \
           "$work"/oom-* 2>/dev/null
    fi
    table+=("$(printf '%-22s %-6s %12s %8s %7s %7s %7s' "$t" "$result" \
               "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$files")")
    [ -z "$workroot" ] && [ $result = ok ] && rm -rf "$work"
done
if [ -n "$runs$replay" ]; then
    printf '\n%-22s %-6s %12s %8s %7s %7s %7s\n' target result executions \
           exec/s cov ft corpus
    printf '%s\n' "${table[@]}"
fi
exit $status
