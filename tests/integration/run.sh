#!/usr/bin/env bash
# Integration suite on the real stack: SoftHSM2, PostgreSQL, pspsim, vaultd,
# gatewayd, mutual TLS everywhere. Starts the stack itself (stopping a running
# dev stack first), runs every t_* function, stops the stack.
# Prints "integration: N passed, N failed".
set -uo pipefail
. "$(cd "$(dirname "$0")/../.." && pwd)/scripts/lib.sh"
cd "$ROOT"
HERE=$ROOT/tests/integration
RESULTS=${RESULTS:-}
passed=0 failed=0 current= cur_fail=0
TMP=$(mktemp -d)
# The merchant webhook receiver of t_merchant_webhooks.sh (timeout forwards
# the signal to it) and the stack: nothing of this run outlives it.
cleanup() { [ -n "${WH_SINK_PID:-}" ] && kill "$WH_SINK_PID" 2>/dev/null; scripts/down.sh >/dev/null 2>&1; rm -rf "$TMP"; }
trap cleanup EXIT

fail() { echo "    ✗ $current: $*"; cur_fail=1; }
check() { local what=$1; shift; "$@" >/dev/null 2>&1 || fail "$what"; }
eq() { [ "$2" = "$3" ] || fail "$1: expected '$3', got '$2'"; }

# http METHOD URL KEY [BODY] [extra curl args...]: sets STATUS, BODY, HEADERS.
# Each answer is appended to $API_LOG: t_openapi_responses validates every one
# against docs/openapi*.yaml at the end of the run (ADR 0130).
API_LOG=$VAR/openapi/responses.jsonl
http() {
  local method=$1 url=$2 key=$3 body=${4:-}; shift 4 2>/dev/null || shift $#
  local args=(-sS --cacert "$STRONGROOM_CA" -X "$method" -D "$TMP/h" -o "$TMP/b" -w '%{http_code}')
  [ -n "$key" ] && args+=(-H "Authorization: Bearer $key")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  STATUS=$(curl "${args[@]}" "$@" "$url" 2>/dev/null) || STATUS=000
  BODY=$(cat "$TMP/b" 2>/dev/null); HEADERS=$(cat "$TMP/h" 2>/dev/null)
  [ "$STATUS" = 000 ] || jq -cn --arg m "$method" --arg u "$url" --arg s "$STATUS" --rawfile h "$TMP/h" \
    --rawfile b "$TMP/b" '{m: $m, u: $u, s: $s, h: $h, b: $b}' >> "$API_LOG" 2>/dev/null
}
j() { jq -r "$1" <<<"$BODY" 2>/dev/null; }
EXP_YEAR=$(( $(date +%Y) + 3 ))
tokenize_as() { http POST "$VAULT_URL/v1/tokens" "$1" "{\"card\":{\"number\":\"$2\",\"exp_month\":12,\"exp_year\":$EXP_YEAR,\"cvc\":\"${3:-123}\"}}"; }
tokenize() { tokenize_as "$STRONGROOM_PK" "$@"; }
pay_as() { http POST "$GATEWAY_URL/v1/payments" "$1" "{\"amount\":${3:-1500},\"currency\":\"usd\",\"payment_method\":\"$2\",\"capture_method\":\"automatic\"}" "${@:4}"; }
pay() { pay_as "$STRONGROOM_SK" "$@"; }
PSP=(--cacert var/pki/ca.crt --resolve psp.strongroom.test:$PSP_PORT:127.0.0.1)
VINT=(--cacert var/pki/ca.crt --resolve vault-internal.strongroom.test:$VAULT_INTERNAL_PORT:127.0.0.1)
psp_stats() { curl -sS "${PSP[@]}" --cert var/pki/psp-control.crt --key var/pki/psp-control.key $PSP_URL/_sim/stats; }
psp_intents() { psp_stats | jq -r .payment_intents_created; }

# ---------------------------------------------------------------- tests
# Each tests/integration/t_*.sh file defines t_* functions (one area each).
for f in "$HERE"/t_*.sh; do . "$f"; done
# The attack suite (issue 15): one file per attack, the same helpers.
for f in "$ROOT"/tests/attack/t_*.sh; do . "$f"; done

# ---------------------------------------------------------------- run
scripts/down.sh >/dev/null 2>&1
# Fresh logs: the log checks below must see this run only.
mkdir -p var/log "${API_LOG%/*}" && for f in var/log/*.log; do [ -e "$f" ] && : > "$f"; done; : > "$API_LOG"
scripts/up.sh >"$TMP/up.log" 2>&1 || { cat "$TMP/up.log"; echo "integration: 0 passed, 1 failed"; [ -n "$RESULTS" ] && echo "0 1" > "$RESULTS"; exit 1; }
set -a; . var/dev.env; set +a
out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "Second merchant") || { echo "second merchant"; exit 1; }
SK2=$(jq -r .secret_key <<<"$out"); MID2=$(jq -r .id <<<"$out")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=gateway.strongroom.internal" \
  -addext "subjectAltName=DNS:gateway.strongroom.internal,DNS:vault-egress.strongroom.internal" -addext "extendedKeyUsage=clientAuth" \
  -keyout "$TMP/rogue.key" -out "$TMP/rogue.crt" 2>/dev/null

tests=$(declare -F | awk '{print $3}' | grep '^t_' | grep -v -e t_sanitizers_clean -e t_no_pan_in_any_log -e t_openapi_responses)
# t_openapi_responses runs last, with ONLY too: it validates what the run saw.
for current in $tests t_no_pan_in_any_log t_sanitizers_clean t_openapi_responses; do
  [ -n "${ONLY:-}" ] && [[ $current != *$ONLY* ]] && [ $current != t_openapi_responses ] && continue
  cur_fail=0 t0=$SECONDS
  $current
  if [ $cur_fail = 0 ]; then echo "  ok   $current ($((SECONDS - t0)) s)"; passed=$((passed + 1)); else echo "  FAIL $current ($((SECONDS - t0)) s)"; failed=$((failed + 1)); fi
done
echo "integration: $passed passed, $failed failed"
[ -n "$RESULTS" ] && echo "$passed $failed" > "$RESULTS"
[ $failed -eq 0 ]
