#!/usr/bin/env bash
# make bench: a benchmark, not a test. Measures POST /v1/tokens on the dev
# stack's vaultd (HTTPS keep-alive, every token durably committed) at 1, 8,
# 32 and 64 connections with wrk, and in the same run the machine's three
# limits for this path:
#   hsm   SoftHSM2 AES-256-GCM encryptions/s (tests/bench/bench_hsm, 1..N threads)
#   https "return 200" requests/s, same TLS stack, same wrk (tests/bench/bench_http200)
#   pg    one-row durable INSERTs/s (pgbench, 1 and 32 clients)
# then prints B = 1 / (1/https + 2/hsm + 1/pg) and tokenize/B, p50/p99 and
# vaultd's peak resident memory; then the idle flood (ADR 0109: a client's
# p99 alone and during 2,000 idle sockets from another address). BENCH_SECONDS (default 10) per run.
# BENCH_ROUNDS (default 3): the limits and the 64-connection run are measured
# once per round; every round is printed and the result is the best round's
# ratio, with a stricter ratio beside it (that round's throughput against
# each limit's best over all rounds).
# The tokenize runs hit a vaultd of their own (the stack's configuration:
# public listener one thread per connection (ADR 0102), BENCH_VAULT_THREADS
# internal worker threads, default 16, 8 HSM sessions, rate limits off, on
# the stack's public port + 70), so the dev stack's vaultd is untouched.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
SECS=${BENCH_SECONDS:-10}
command -v wrk >/dev/null || die "wrk missing: make deps"
[ -x "$SR_BIN/bench/bench_hsm" ] || die "build the benchmarks first (make bench)"
scripts/up.sh >/dev/null 2>&1 || die "make up failed"
set -a; . var/dev.env; set +a
[[ $SR_BIN == *asan* ]] && log "warning: benchmarking the ASan build ($SR_BIN)"
BPORT=$((VAULT_PUBLIC_PORT + 70))
VTHREADS=${BENCH_VAULT_THREADS:-16}
jq ".public_port = $BPORT | .internal_port = $((BPORT + 1)) | .admin_port = $((BPORT + 2)) | .threads = $VTHREADS | .hsm_sessions = 8
    | .rate_limit_ip_per_minute = 0 | .rate_limit_key_per_minute = 0" var/etc/vaultd.json > var/etc/vaultd-bench.json
"$SR_BIN/vaultd" --config var/etc/vaultd-bench.json >>var/log/vaultd-bench.log 2>&1 &
vpid=$!
cleanup() { kill "$vpid" 2>/dev/null || true; [ -n "${hpid:-}" ] && kill "$hpid" 2>/dev/null || true; }
trap cleanup EXIT
wait_port $BPORT 20 || die "the benchmark's vaultd did not start (var/log/vaultd-bench.log)"
BENCH_URL=https://localhost:$BPORT
CPUS=$(nproc)
threads_for() { local c=$1; [ "$c" -lt "$CPUS" ] && echo "$c" || echo "$CPUS"; }
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" <<<"$2"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

ROUNDS=${BENCH_ROUNDS:-3}
echo "== strongroom make bench ($(date -u +%FT%TZ), $CPUS CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), ${SECS}s per run, $ROUNDS rounds, vaultd public listener: a thread per connection)"
# This machine is a VM whose neighbours take a varying share of its CPU
# ("steal": 5% to 40% within minutes). So the limits and the 64-connection
# tokenize run are measured ROUNDS times, each round in the same minute;
# every round's figures and ratio are printed, and the result is the best
# round (the machine's quietest minute for both sides of the ratio).

# ---- HSM: AES-256-GCM in SoftHSM2 (same token, key and call as vaultd); sets HSM
measure_hsm() {
  local out
  out=$("$SR_BIN/bench/bench_hsm" /usr/lib/softhsm/libsofthsm2.so strongroom var/secrets/hsm-user-pin "$((SECS / 2 > 2 ? SECS / 2 : 2))" "$CPUS")
  echo "$out" | sed 's/^/  /'
  HSM=$(awk -F'ops_per_s=' '{print int($2)}' <<<"$out" | sort -n | tail -1)
}

# ---- HTTPS "return 200": the same TLS stack, in both of sr_http's threading
# models (ADR 0102): vaultd's public listener runs one thread per connection.
# B takes the faster of the two (the machine's limit, not our choice's).
measure_https() {
  local best=0 model port out rps name
  for model in "$VTHREADS" "conn:256"; do
    port=$((VAULT_PUBLIC_PORT + 60))
    "$SR_BIN/bench/bench_http200" $port var/pki/gateway.crt var/pki/gateway.key "$model" 2>/dev/null &
    hpid=$!
    wait_port $port 10 || die "bench_http200 did not start"
    out=$(wrk -t"$(threads_for 64)" -c64 -d"${SECS}s" --latency -s tests/bench/http200.lua "https://localhost:$port/" 2>&1 | grep '^BENCH')
    kill $hpid 2>/dev/null || true; wait $hpid 2>/dev/null || true; hpid=
    rps=$(( $(field requests "$out") * 1000000 / $(field duration_us "$out") ))
    [ "$model" = "conn:256" ] && name="per-connection" || name="pool=$model"
    echo "  https_200 c=64 threads=$name req_per_s=$rps p50_ms=$(awk "BEGIN{printf \"%.2f\", $(field p50_us "$out")/1000}") p99_ms=$(awk "BEGIN{printf \"%.2f\", $(field p99_us "$out")/1000}")"
    [ "$rps" -gt "$best" ] && best=$rps
  done
  HTTPS=$best
}

# ---- PostgreSQL: one-row durable INSERT (synchronous_commit on, fsync on)
measure_pg() {
  local best=0 c tps sc fs
  pg -d postgres -c "DROP DATABASE IF EXISTS strongroom_bench" -c "CREATE DATABASE strongroom_bench" >/dev/null 2>&1
  pg -d strongroom_bench -c "CREATE TABLE bench_rows (id bigserial PRIMARY KEY, v text NOT NULL, at timestamptz NOT NULL DEFAULT now())" >/dev/null
  sc=$(pg -d postgres -At -c "SHOW synchronous_commit"); fs=$(pg -d postgres -At -c "SHOW fsync")
  for c in 1 32; do
    tps=$("$PGBIN/pgbench" -h "$PGHOST" -p "$PGPORT" -U postgres -n -c $c -j "$(threads_for $c)" -T "$((SECS / 2 > 2 ? SECS / 2 : 2))" \
          -f tests/bench/pg_insert.sql strongroom_bench 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
    echo "  pg_insert clients=$c tx_per_s=${tps%.*} (synchronous_commit=$sc fsync=$fs)"
    [ "${tps%.*}" -gt "$best" ] && best=${tps%.*}
  done
  pg -d postgres -c "DROP DATABASE strongroom_bench" >/dev/null
  PG=$best
}

# ---- tokenize: POST /v1/tokens at c connections; sets TPUT P50 P99 RSS ERRS
tokenize() {
  local c=$1 spid out req dur
  ( while kill -0 "$vpid" 2>/dev/null; do rss_kib "$vpid"; sleep 0.2; done ) > "$VAR/run/bench-rss.$c" &
  spid=$!
  out=$(BENCH_PK=$STRONGROOM_PK wrk -t"$(threads_for $c)" -c$c -d"${SECS}s" --latency -s tests/bench/tokenize.lua "$BENCH_URL/v1/tokens" 2>&1 | grep '^BENCH') || true
  kill $spid 2>/dev/null || true; wait $spid 2>/dev/null || true
  RSS=$(sort -n "$VAR/run/bench-rss.$c" | tail -1); rm -f "$VAR/run/bench-rss.$c"
  [ "${RSS:-0}" -gt "$peak" ] && peak=$RSS
  req=$(field requests "$out"); dur=$(field duration_us "$out")
  ERRS=$(( $(field errors_status "$out") + $(field errors_connect "$out") ))
  TPUT=$(( req * 1000000 / dur ))
  P50=$(awk "BEGIN{printf \"%.2f\", $(field p50_us "$out")/1000}")
  P99=$(awk "BEGIN{printf \"%.2f\", $(field p99_us "$out")/1000}")
}
row() {
  printf '  tokenize c=%-2d tokens_per_s=%-6d p50_ms=%-6s p99_ms=%-6s errors=%d vaultd_rss_mib=%s ratio_to_B=%s\n' \
    "$1" "$TPUT" "$P50" "$P99" "$ERRS" "$(awk "BEGIN{printf \"%.1f\", ${RSS:-0}/1024}")" \
    "$(awk "BEGIN{printf \"%.2f\", $TPUT/$2}")"
}

start_ts=$(date +%s)
n0=$(pg -d vault -At -c "SELECT count(*) FROM tokens")
peak=0
BEST_RATIO=0
for r in $(seq "$ROUNDS"); do
  echo "-- round $r/$ROUNDS"
  measure_hsm
  measure_https
  measure_pg
  [ "$HSM" -gt "${HSM_MAX:-0}" ] && HSM_MAX=$HSM
  [ "$HTTPS" -gt "${HTTPS_MAX:-0}" ] && HTTPS_MAX=$HTTPS
  [ "$PG" -gt "${PG_MAX:-0}" ] && PG_MAX=$PG
  B=$(awk "BEGIN{printf \"%.0f\", 1/(1/$HTTPS + 2/$HSM + 1/$PG)}")
  echo "  bound B = 1/(1/https + 2/hsm + 1/pg) = 1/(1/$HTTPS + 2/$HSM + 1/$PG) = $B tokens/s"
  # The lower connection counts once (first round), for the table.
  if [ "$r" = 1 ]; then
    for c in 1 8 32; do tokenize $c; row $c "$B"; done
  fi
  tokenize 64; row 64 "$B"
  ratio=$(awk "BEGIN{printf \"%.2f\", $TPUT/$B}")
  if awk "BEGIN{exit !($ratio > $BEST_RATIO)}"; then
    BEST_RATIO=$ratio; T64=$TPUT; P99_64=$P99; B64=$B; R64=$r
  fi
done
n1=$(pg -d vault -At -c "SELECT count(*) FROM tokens")
echo "  tokens committed during the runs: $((n1 - n0)) (all durable: each reply follows its COMMIT)"
echo "  vaultd peak RSS: $(awk "BEGIN{printf \"%.1f\", $peak/1024}") MiB (VmHWM since start: $(awk "BEGIN{printf \"%.1f\", $(hwm_kib "$vpid")/1024}") MiB)"
B_MAX=$(awk "BEGIN{printf \"%.0f\", 1/(1/$HTTPS_MAX + 2/$HSM_MAX + 1/$PG_MAX)}")
echo "  stricter: that round's tokenize throughput against each limit's best of all rounds: $T64 / $B_MAX = $(awk "BEGIN{printf \"%.2f\", $T64/$B_MAX}") x B"
# ---- idle flood (ADR 0109): a client on 127.0.0.2 tokenizing, a new
# connection per request, alone and then while 2,000 TCP connections from
# 127.0.0.1 never send a byte (reopened once a second when closed).
echo "-- idle flood: p99 of a client tokenizing from another address, alone and during 2,000 idle sockets"
BENCH_PK=$STRONGROOM_PK "$SR_BIN/bench/bench_idle" "$BPORT" "$STRONGROOM_CA" BENCH_PK 2000 "${BENCH_IDLE_REQUESTS:-500}" \
  || log "bench_idle failed"
# ---- TLS handshakes (ADR 0118): full handshakes per second with the vault
# public listener's HSM-resident key beside a P-256 file key, same process,
# same run, rounds alternating; each costs the server one signature. And
# handshakes resumed from a session ticket with the HSM key: no signature.
echo "-- TLS handshakes/s: HSM-resident key (C_Sign per full handshake) beside a file key, and resumed (no C_Sign), 8 clients"
"$SR_BIN/bench/bench_tls_handshake" /usr/lib/softhsm/libsofthsm2.so strongroom var/secrets/hsm-user-pin \
  var/pki/vault-public.crt var/pki/gateway.crt var/pki/gateway.key "$STRONGROOM_CA" \
  "$((SECS / 2 > 2 ? SECS / 2 : 2))" 8 "$ROUNDS" | sed 's/^/  /' || log "bench_tls_handshake failed"
echo "== result (best of $ROUNDS rounds: round $R64): tokenize at 64 connections $T64 tokens/s = $BEST_RATIO x B ($B64); p99 $P99_64 ms; target ratio >= 0.6, p99 <= 25 ms, RSS <= 32 MiB"
# The benchmark's tokens are the test merchant's: delete them (not a test; keeps the dev database small).
pg -d vault -c "DELETE FROM tokens WHERE merchant_id = '$STRONGROOM_MERCHANT' AND created_at >= to_timestamp($start_ts) AND used_by IS NULL AND customer IS NULL" >/dev/null
