#!/usr/bin/env bash
# The body of `make check` after the builds: unit tests and the integration
# suite, both on the ASan+UBSan binaries in build/asan/bin.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export SR_BIN=build/asan/bin
. scripts/lib.sh
export SR_TEST_PG_PORT=$PGPORT
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
start=$(date +%s)
res=$(mktemp -d)
echo "== unit tests (cmocka, ASan+UBSan; SoftHSM2 tokens of their own, the dev PostgreSQL cluster)"
scripts/pg.sh start
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UNIT_RESULTS=$res/unit tests/unit/run.sh; u=$?
echo "== fuzzing the gateway request parsers (libFuzzer, ${SR_FUZZ_SECONDS:-20} s)"
fz=0
fuzzdir=$(mktemp -d)
cp tests/fuzz/corpus/gw_request/* "$fuzzdir"/
build/fuzz/fuzz_gw_request -max_total_time="${SR_FUZZ_SECONDS:-20}" -max_len=4096 -print_final_stats=1 -artifact_prefix=build/fuzz/ "$fuzzdir" \
  >"$fuzzdir.log" 2>&1 || { fz=1; tail -n 30 "$fuzzdir.log"; }
[ $fz -eq 0 ] && echo "  ok   fuzz_gw_request ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$fuzzdir.log" | awk '{print $2}') runs)"
rm -rf "$fuzzdir" "$fuzzdir.log"
echo "== integration tests (real SoftHSM2, PostgreSQL, mutual TLS; daemons under ASan+UBSan)"
ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 RESULTS=$res/integration tests/integration/run.sh; i=$?
read -r up uf < "$res/unit" 2>/dev/null || { up=0; uf=1; }
uf=$((uf + fz)); [ $fz -eq 0 ] && up=$((up + 1))
read -r ip if_ < "$res/integration" 2>/dev/null || { ip=0; if_=1; }
rm -rf "$res"
echo "== make check took $(( $(date +%s) - start )) s"
echo "check: $((up + ip)) passed, $((uf + if_)) failed"
[ $u -eq 0 ] && [ $i -eq 0 ] && [ $fz -eq 0 ] && [ $((uf + if_)) -eq 0 ]
