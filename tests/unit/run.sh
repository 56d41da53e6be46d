#!/usr/bin/env bash
# Run every cmocka unit-test binary in $SR_BIN/tests. Prints per-binary results
# and "unit: N passed, N failed" (N counts cmocka test cases).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SR_BIN=${SR_BIN:-build/bin}
case "$SR_BIN" in /*) ;; *) SR_BIN=$ROOT/$SR_BIN ;; esac
export PSPSIM_BIN=$SR_BIN/pspsim
: "${ASAN_OPTIONS:=detect_leaks=1:abort_on_error=0:halt_on_error=1}"
: "${UBSAN_OPTIONS:=print_stacktrace=1:halt_on_error=1}"
export ASAN_OPTIONS UBSAN_OPTIONS
passed=0 failed=0 results=${UNIT_RESULTS:-}
shopt -s nullglob
bins=("$SR_BIN"/tests/test_*)
[ ${#bins[@]} -gt 0 ] || { echo "unit: no test binaries in $SR_BIN/tests" >&2; exit 1; }
for t in "${bins[@]}"; do
  name=$(basename "$t")
  log=$(mktemp)
  ( cd "$ROOT" && "$t" ) >"$log" 2>&1; rc=$?
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi   # crashed, sanitizer report, or setup failure
  passed=$((passed + p)); failed=$((failed + f))
  if [ $rc -eq 0 ]; then echo "  ok   $name ($p)"; else echo "  FAIL $name (exit $rc)"; sed 's/^/       /' "$log" | tail -n 40; fi
  rm -f "$log"
done
echo "unit: $passed passed, $failed failed"
[ -n "$results" ] && echo "$passed $failed" > "$results"
[ $failed -eq 0 ]
