#!/usr/bin/env bash
# make bench (issue 4 part): the end-to-end payment path gateway -> vault ->
# pspsim with automatic capture, measured with wrk at 32 connections, beside
# the tokenize bound (vault POST /v1/tokens, same tool, same run) and an
# HTTPS baseline. Prints figures; never fails on them (benchmarks are not
# tests). Uses the dev stack (starts it when needed; honours SR_PORT_OFFSET).
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cd "$ROOT"
DUR=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
command -v wrk >/dev/null || die "wrk is missing: make deps"
running gatewayd && running vaultd && running pspsim || SR_BIN=$SR_BIN scripts/up.sh
set -a; . var/dev.env; set +a
tmp=$(mktemp -d)

# The runs hit a pspsim, vaultd and gatewayd of their own (the stack's
# configuration and databases, on the stack's ports + 80..86, with
# BENCH_DAEMON_THREADS worker threads each, default 32, and 8 HSM sessions,
# rate limits off), so the dev stack's daemons are untouched and a
# latency-bound request path is not capped by the dev stack's 4 threads.
# BENCH_DAEMON_THREADS=4 measures the dev stack's own configuration.
DTHREADS=${BENCH_DAEMON_THREADS:-32}
B_GW=$((GW_PORT + 80)); B_GW_ADMIN=$((GW_PORT + 81)); B_VPUB=$((GW_PORT + 82)); B_VINT=$((GW_PORT + 83))
B_VADMIN=$((GW_PORT + 84)); B_PSP=$((GW_PORT + 85)); B_PSP_CH=$((GW_PORT + 86))
# Its own journal (one pspsim per state_dir), fresh each run.
rm -rf var/pspsim-bench
jq ".port = $B_PSP | .challenge_port = $B_PSP_CH | .threads = $DTHREADS | .state_dir = \"var/pspsim-bench\"" \
  var/etc/pspsim.json > var/etc/pspsim-bench.json
jq ".public_port = $B_VPUB | .internal_port = $B_VINT | .admin_port = $B_VADMIN | .psp_stripe_port = $B_PSP
    | .threads = $DTHREADS | .hsm_sessions = 8 | .rate_limit_ip_per_minute = 0 | .rate_limit_key_per_minute = 0" \
  var/etc/vaultd.json > var/etc/vaultd-pbench.json
jq ".port = $B_GW | .admin_port = $B_GW_ADMIN | .threads = $DTHREADS
    | .vault_url = \"https://vault-internal.strongroom.test:$B_VINT\"" var/etc/gatewayd.json > var/etc/gatewayd-bench.json
bpids=()
cleanup() { local p; for p in "${bpids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
"$SR_BIN/pspsim" --config var/etc/pspsim-bench.json >>var/log/pspsim-bench.log 2>&1 & bpids+=($!)
wait_port $B_PSP 20 || die "the benchmark's pspsim did not start (var/log/pspsim-bench.log)"
"$SR_BIN/vaultd" --config var/etc/vaultd-pbench.json >>var/log/vaultd-pbench.log 2>&1 & bpids+=($!)
wait_port $B_VINT 20 || die "the benchmark's vaultd did not start (var/log/vaultd-pbench.log)"
"$SR_BIN/gatewayd" --config var/etc/gatewayd-bench.json >>var/log/gatewayd-bench.log 2>&1 & bpids+=($!)
wait_port $B_GW 20 || die "the benchmark's gatewayd did not start (var/log/gatewayd-bench.log)"
GATEWAY_URL=https://localhost:$B_GW
VAULT_URL=https://localhost:$B_VPUB
echo "== bench: payments ($(date -u +%FT%TZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), gatewayd/vaultd/pspsim threads=$DTHREADS)"
export BENCH_TOKENS=$tmp/tokens BENCH_THREADS=$THREADS
pct() { awk -v p="$1" '$1 == p"%" {print $2}' "$2"; }
rate() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
errs() { awk '/Non-2xx or 3xx responses:/ {print $NF} END {}' "$1"; }

# A payment to read back (a GET that succeeds is not audited; a 404 would be).
tok=$(curl -sS --cacert "$STRONGROOM_CA" -H "Authorization: Bearer $STRONGROOM_PK" -H 'Content-Type: application/json' \
  --data-binary '{"card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"}}' "$VAULT_URL/v1/tokens" | jq -r .id)
pid=$(curl -sS --cacert "$STRONGROOM_CA" -H "Authorization: Bearer $STRONGROOM_SK" -H 'Content-Type: application/json' \
  --data-binary "{\"amount\":100,\"currency\":\"usd\",\"payment_method\":\"$tok\"}" "$GATEWAY_URL/v1/payments" | jq -r .id)
echo "== bench: HTTPS baseline (gateway GET /v1/payments/{id}: TLS keep-alive + key lookup + one SELECT), ${DUR}s, -c$CONNS"
wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -H "Authorization: Bearer $STRONGROOM_SK" \
  "$GATEWAY_URL/v1/payments/$pid" >"$tmp/base.txt" 2>&1 || true
echo "   $(rate "$tmp/base.txt") req/s, p50 $(pct 50 "$tmp/base.txt"), p99 $(pct 99 "$tmp/base.txt")"

echo "== bench: tokenize bound (vault POST /v1/tokens, HSM AES-GCM + HMAC + INSERT), ${DUR}s, -c$CONNS"
wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -s tests/bench/tokens_for_payments.lua "$VAULT_URL/v1/tokens" >"$tmp/tok.txt" 2>&1 || true
ntok=$(cat "$tmp"/tokens.* 2>/dev/null | wc -l)
echo "   $(rate "$tmp/tok.txt") tokens/s, p50 $(pct 50 "$tmp/tok.txt"), p99 $(pct 99 "$tmp/tok.txt") ($ntok tokens made)"
[ "$ntok" -gt 0 ] || die "no tokens were made"

# CPU time (ms) used so far by the benchmark's daemons and by the cluster's
# PostgreSQL processes (postmaster and its children): per payment, the
# machine-independent cost; 2 idle cores allow at most 2000 / cost payments/s.
ticks() { local p t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
pg_pids() { local pm; pm=$(head -1 "$VAR/pg/data/postmaster.pid" 2>/dev/null) || return 0; echo "$pm" $(pgrep -P "$pm"); }
HZ=$(getconf CLK_TCK)
metric() { awk -v n="strongroom_group_commit_$1_total{chain=\"$2\"}" '$1 == n {v = $2} END {printf "%d\n", v}' <<<"$3"; }
gcm() { curl -sS --cacert "$STRONGROOM_CA" "https://localhost:$1/metrics" 2>/dev/null || true; }

echo "== bench: end-to-end payments (gateway -> vault -> pspsim, automatic capture), ${DUR}s, -c$CONNS"
export BENCH_TOKEN_FILES=$THREADS
gm0=$(gcm $B_GW_ADMIN); vm0=$(gcm $B_VADMIN)
c_gw0=$(ticks "${bpids[2]}"); c_v0=$(ticks "${bpids[1]}"); c_psp0=$(ticks "${bpids[0]}"); c_pg0=$(ticks $(pg_pids))
wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -s tests/bench/pay.lua "$GATEWAY_URL/v1/payments" >"$tmp/pay.txt" 2>&1 || true
c_gw1=$(ticks "${bpids[2]}"); c_v1=$(ticks "${bpids[1]}"); c_psp1=$(ticks "${bpids[0]}"); c_pg1=$(ticks $(pg_pids))
gm1=$(gcm $B_GW_ADMIN); vm1=$(gcm $B_VADMIN)
echo "   $(rate "$tmp/pay.txt") payments/s, p50 $(pct 50 "$tmp/pay.txt"), p99 $(pct 99 "$tmp/pay.txt"), non-2xx: $(errs "$tmp/pay.txt" || true)"
npay=$(awk '/requests in/ {print $1}' "$tmp/pay.txt")
if [ "${npay:-0}" -gt 0 ]; then
  awk -v n="$npay" -v hz="$HZ" -v gw=$((c_gw1 - c_gw0)) -v v=$((c_v1 - c_v0)) -v psp=$((c_psp1 - c_psp0)) -v pg=$((c_pg1 - c_pg0)) 'BEGIN {
    f = 1000 / hz / n; t = (gw + v + psp + pg) * f
    printf "   CPU per payment: %.2f ms (gatewayd %.2f, vaultd %.2f, pspsim %.2f, postgres %.2f); 2 idle cores => at most %.0f payments/s\n",
      t, gw * f, v * f, psp * f, pg * f, 2000 / t }'
  gb=$(( $(metric batches gateway_audit "$gm1") - $(metric batches gateway_audit "$gm0") ))
  gr=$(( $(metric records gateway_audit "$gm1") - $(metric records gateway_audit "$gm0") ))
  vb=$(( $(metric batches pan_audit "$vm1") - $(metric batches pan_audit "$vm0") ))
  vr=$(( $(metric records pan_audit "$vm1") - $(metric records pan_audit "$vm0") ))
  [ "$gb" -gt 0 ] && echo "   audit group commit: gateway $gr records in $gb transactions ($(awk "BEGIN{printf \"%.1f\", $gr/$gb}")/tx), vault $vr in $vb ($(awk "BEGIN{printf \"%.1f\", $vr/($vb > 0 ? $vb : 1)}")/tx)"
fi
echo "   (target: >= 1000 payments/s, p99 <= 50 ms on 2 cores; tokens are reused when the run outlasts the $ntok made)"
[ -n "${BENCH_VERBOSE:-}" ] && cat "$tmp/pay.txt"
true
