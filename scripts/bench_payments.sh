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
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
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

echo "== bench: end-to-end payments (gateway -> vault -> pspsim, automatic capture), ${DUR}s, -c$CONNS"
export BENCH_TOKEN_FILES=$THREADS
wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -s tests/bench/pay.lua "$GATEWAY_URL/v1/payments" >"$tmp/pay.txt" 2>&1 || true
echo "   $(rate "$tmp/pay.txt") payments/s, p50 $(pct 50 "$tmp/pay.txt"), p99 $(pct 99 "$tmp/pay.txt"), non-2xx: $(errs "$tmp/pay.txt" || true)"
echo "   (target: >= 1000 payments/s, p99 <= 50 ms on 2 cores; tokens are reused when the run outlasts the $ntok made)"
[ -n "${BENCH_VERBOSE:-}" ] && cat "$tmp/pay.txt"
true
