#!/usr/bin/env bash
# Fuzzes one target for a wall-clock budget, restarting after a crash so the budget is
# used in full (the corpus carries over). The target is built once with `cargo fuzz build`
# and its binary run directly, so engine edits made meanwhile do not rebuild it mid-run. Usage: fuzz/run.sh TARGET [SECONDS] [-- libFuzzer flags]
# Logs: fuzz/artifacts/logs/TARGET.<n>.log; crash inputs: fuzz/artifacts/TARGET/.
# Summary line at the end: target, seconds, execs, cov, ft, corpus, crashes.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
target="$1"; budget="${2:-600}"; shift $(( $# >= 2 ? 2 : 1 ))
[ "${1:-}" = "--" ] && shift
sanitizer="${FUZZ_SANITIZER:-none}"
logs="$here/artifacts/logs"; mkdir -p "$logs" "$here/corpus/$target" "$here/artifacts/$target"
cd "$root"
RUSTC_BOOTSTRAP=1 cargo fuzz build -s "$sanitizer" "$target" >/dev/null 2>&1 \
    || { echo "build failed: RUSTC_BOOTSTRAP=1 cargo fuzz build -s $sanitizer $target" >&2; exit 2; }
start=$(date +%s); n=0; execs=0; crashes=0; cov=0; ft=0; corp=0
while :; do
    left=$(( budget - ($(date +%s) - start) ))
    [ "$left" -lt 5 ] && break
    n=$((n + 1)); log="$logs/$target.$n.log"
    "$here/target/x86_64-unknown-linux-gnu/release/$target" "$here/corpus/$target" \
        -artifact_prefix="$here/artifacts/$target/" -dict="$here/dict/$target.dict" -max_total_time="$left" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "$@" >"$log" 2>&1
    rc=$?
    e=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    execs=$((execs + ${e:-0}))
    last=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -1)
    c=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last"); f=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
    p=$(sed -n 's/.*corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
    [ -n "$c" ] && [ "$c" -gt "$cov" ] && cov=$c; [ -n "$f" ] && [ "$f" -gt "$ft" ] && ft=$f; [ -n "$p" ] && corp=$p
    if [ "$rc" -ne 0 ]; then
        crashes=$((crashes + 1))
        echo "run $n: exit $rc: $(grep -m1 -E "panicked at|ERROR: libFuzzer|SUMMARY" "$log")" >&2
        grep -m1 -o "Test unit written to .*" "$log" >&2
        [ "$crashes" -ge "${FUZZ_MAX_CRASHES:-20}" ] && break
    fi
done
elapsed=$(( $(date +%s) - start ))
echo "RESULT target=$target seconds=$elapsed execs=$execs exec_per_s=$((execs / (elapsed > 0 ? elapsed : 1))) cov=$cov ft=$ft corpus=$corp crashes=$crashes runs=$n"
