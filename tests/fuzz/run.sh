#!/usr/bin/env bash
# Run the libFuzzer targets briefly (make check): FUZZ_SECONDS each (default
# 20) from the seed corpus, new inputs in a scratch directory (the committed
# corpus is not modified). Prints "fuzz: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
secs=${FUZZ_SECONDS:-20}
passed=0 failed=0
for t in build/fuzz/fuzz_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  work=$(mktemp -d)
  if ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     "$t" -max_total_time="$secs" -timeout=5 -rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$work/" \
     "$work" tests/fuzz/corpus >"$work/log" 2>&1; then
    echo "  ok   $name ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/log" | awk '{print $2}') runs in ${secs}s, $(ls "$work" | grep -vc log) new corpus inputs)"
    passed=$((passed + 1))
  else
    echo "  FAIL $name"; tail -n 30 "$work/log"; ls "$work"/crash-* "$work"/leak-* 2>/dev/null
    failed=$((failed + 1))
  fi
  rm -rf "$work"
done
[ $((passed + failed)) -gt 0 ] || { echo "fuzz: no targets in build/fuzz (make fuzz)"; failed=1; }
echo "fuzz: $passed passed, $failed failed"
[ -n "${FUZZ_RESULTS:-}" ] && echo "$passed $failed" > "$FUZZ_RESULTS"
[ $failed -eq 0 ]
