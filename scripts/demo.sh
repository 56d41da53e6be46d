#!/usr/bin/env bash
# make demo: the main job end to end on real test cards.
#   1. tokenize 4242424242424242 at the vault (pk_ key)
#   2. pay with the token at the gateway (sk_ key, capture_method automatic) -> captured
#   3. the same with 4000000000009995 -> failed, failure_code insufficient_funds
#   4. 4242424242424241 refused at tokenization (Luhn), with no PSP call
# Starts the stack, prints each request and response (card numbers masked to
# last4), stops the stack, and exits 0 only if every step behaved as stated.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
trap 'scripts/down.sh' EXIT
scripts/up.sh || exit 1
set -a; . "$VAR/dev.env"; set +a
echo "Example checkout (card fields in the browser): $CHECKOUT_URL  (while the stack runs; this demo stops it at the end: use make checkout to keep it up)"

bold=$'\e[1m'; green=$'\e[32m'; red=$'\e[31m'; off=$'\e[0m'
[ -t 1 ] || { bold=; green=; red=; off=; }
fails=0
ok()   { echo "${green}  ✓ $*${off}"; }
bad()  { echo "${red}  ✗ $*${off}"; fails=$((fails + 1)); }
mask() { sed -E 's/"number": *"[0-9]*([0-9]{4})"/"number":"•••• \1"/g; s/"cvc": *"[0-9]+"/"cvc":"•••"/g'; }

# req METHOD URL KEY BODY [IDEMPOTENCY-KEY]: prints masked request and response; sets STATUS and BODY.
req() {
  local method=$1 url=$2 key=$3 body=${4:-} idem=${5:-} out hdr=()
  [ -n "$idem" ] && hdr=(-H "Idempotency-Key: $idem")
  echo "  → $method $url"
  [ -n "$body" ] && echo "    $(printf '%s' "$body" | mask)"
  out=$(curl -sS --cacert "$STRONGROOM_CA" -X "$method" "$url" \
        -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "${hdr[@]}" \
        ${body:+--data-binary "$body"} -w '\n%{http_code}') || { STATUS=000; BODY=; bad "request failed"; return; }
  STATUS=${out##*$'\n'}; BODY=${out%$'\n'*}
  echo "  ← $STATUS $(jq -c . <<<"$BODY" 2>/dev/null || echo "$BODY")"
}
psp_calls() {
  curl -sS --cacert "$STRONGROOM_CA" --cert var/pki/psp-control.crt --key var/pki/psp-control.key \
    --resolve psp.strongroom.test:$PSP_PORT:127.0.0.1 "$PSP_URL/_sim/stats" \
    | jq -r '.payment_methods_created + .payment_intents_created'
}
tokenize() { req POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" "{\"card\":{\"number\":\"$1\",\"exp_month\":12,\"exp_year\":$(( $(date +%Y) + 3 )),\"cvc\":\"123\"}}"; }
pay() { req POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" "{\"amount\":$2,\"currency\":\"usd\",\"payment_method\":\"$1\",\"capture_method\":\"automatic\"}" "demo-$(openssl rand -hex 8)"; }

echo "${bold}1. Tokenize 4242 4242 4242 4242 at the vault (publishable key)${off}"
tokenize 4242424242424242
tok=$(jq -r '.id // empty' <<<"$BODY")
[ "$STATUS" = 201 ] && [[ $tok == tok_* ]] && [ "$(jq -r .card.last4 <<<"$BODY")" = 4242 ] \
  && ok "token $tok (visa •••• 4242)" || bad "expected 201 and a tok_ token"

echo "${bold}2. Pay 20.00 USD with the token at the gateway (secret key, automatic capture)${off}"
pay "$tok" 2000
[ "$STATUS" = 201 ] && [ "$(jq -r .status <<<"$BODY")" = captured ] \
  && ok "payment $(jq -r .id <<<"$BODY") captured" || bad "expected status captured"

echo "${bold}3. Tokenize 4000 0000 0000 9995 and pay: insufficient funds${off}"
tokenize 4000000000009995
tok2=$(jq -r '.id // empty' <<<"$BODY")
[ "$STATUS" = 201 ] || bad "tokenization failed"
pay "$tok2" 2000
[ "$(jq -r .status <<<"$BODY")" = failed ] && [ "$(jq -r .failure_code <<<"$BODY")" = insufficient_funds ] \
  && ok "payment failed with failure_code insufficient_funds" || bad "expected failed / insufficient_funds"

echo "${bold}4. Tokenize 4242 4242 4242 4241: refused (Luhn), no PSP call${off}"
before=$(psp_calls)
tokenize 4242424242424241
after=$(psp_calls)
[ "$STATUS" = 402 ] || [ "$STATUS" = 400 ]; s=$?
[ $s = 0 ] && [ "$(jq -r .error.code <<<"$BODY")" = incorrect_number ] && [ -n "$before" ] && [ "$before" = "$after" ] \
  && ok "refused with incorrect_number; PSP calls before/after: $before/$after" \
  || bad "expected a 4xx incorrect_number and no PSP call (PSP calls $before -> $after)"

echo
if [ $fails = 0 ]; then echo "${green}${bold}demo: every step behaved as stated${off}"; else echo "${red}${bold}demo: $fails step(s) failed${off}"; fi
[ $fails = 0 ]
