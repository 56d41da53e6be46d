# Attack suite, issue 19 item 3: redirect-based 3-D Secure (return_url and
# the test-mode challenge helper, ADR 0131). A return_url carries no card
# number in any shape, runs no script, is never relative and is never echoed;
# the test helper exists only on a gateway in test mode, completes only the
# caller's own payments, and completes each challenge once. Sourced by
# tests/integration/run.sh (helpers: http, j, eq, fail, tokenize, pay_as,
# wait_status, events, psp_n, start_gw2, stop_gw2, pg).

# at19_pay RETURN_URL [CARD] [KEY]: tokenize CARD (3-D Secure success card by
# default) and create a payment with return_url (JSON string literal given).
at19_pay() {
  local ru=$1 card=${2:-4000000000003220} key=${3:-$STRONGROOM_SK}
  tokenize "$card"
  http POST "$GATEWAY_URL/v1/payments" "$key" \
    "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$(j .id)\",\"capture_method\":\"automatic\",\"return_url\":$ru}"
}

# at19_refused WHAT RETURN_URL_JSON PARAM CODE: the payment is refused with
# 400 naming PARAM, nothing of the URL is echoed, and no payment is created.
at19_refused() {
  local what=$1 ru=$2 param=$3 code=$4 n0 n1 raw
  n0=$(pg -d gateway -At <<<"SELECT count(*) FROM payments")
  at19_pay "$ru"
  eq "$what: status" "$STATUS" 400
  eq "$what: param" "$(j .error.param)" "$param"
  [ -n "$code" ] && eq "$what: code" "$(j .error.code)" "$code"
  raw=$(jq -r . <<<"$ru")
  [ -n "$raw" ] && [[ $BODY == *"$raw"* ]] && fail "$what: the answer echoes the return_url"
  [[ $BODY == *"evil"* || $BODY == *"alert"* ]] && fail "$what: the answer echoes part of the return_url"
  n1=$(pg -d gateway -At <<<"SELECT count(*) FROM payments")
  eq "$what: no payment" "$n1" "$n0"
}

t_attack_19_threeds_return_url_pan() {
  # Every shape of a card number in a return_url: refused at dispatch
  # (pan_not_allowed, param return_url) or by return_url's own scan.
  at19_refused "PAN in the query" '"https://shop.example/done?card=4111111111111111"' return_url pan_not_allowed
  at19_refused "PAN in the fragment" '"https://shop.example/done#4111111111111111"' return_url pan_not_allowed
  at19_refused "PAN in the path" '"https://shop.example/4111111111111111/done"' return_url pan_not_allowed
  at19_refused "PAN percent-encoded" '"https://shop.example/done?c=%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31"' return_url pan_not_allowed
  at19_refused "PAN percent-encoded twice" '"https://shop.example/done?c=%2534%2531%2531%2531%2531%2531%2531%2531%2531%2531%2531%2531%2531%2531%2531%2531"' return_url pan_not_allowed
  at19_refused "PAN split by separators" '"https://shop.example/done?c=4111-1111-1111-1111"' return_url pan_not_allowed
  at19_refused "PAN split by encoded spaces" '"https://shop.example/done?c=4111%201111%201111%201111"' return_url pan_not_allowed
  at19_refused "PAN split by plus signs" '"https://shop.example/done?c=4111+1111+1111+1111"' return_url pan_not_allowed
  at19_refused "PAN split by encoded plus, twice" '"https://shop.example/done?c=4111%252B1111%252B1111%252B1111"' return_url pan_not_allowed
  at19_refused "PAN in the host" '"https://4111111111111111.shop.example/done"' return_url pan_not_allowed
  at19_refused "PAN in the user info" '"https://4111111111111111@shop.example/done"' return_url pan_not_allowed
  # A return_url that holds a number but no card passes (a Luhn-failing 16
  # digits). Not at the value's end: in the raw WAL the next column's bytes
  # follow it, and a digit there made a Luhn-valid 17 (t_no_pan_in_any_log
  # flagged it once: panscan reads WAL as bytes).
  at19_pay '"https://shop.example/done?order=4111111111111112&lang=en"'
  eq "an order number is no card" "$STATUS" 201
}

t_attack_19_threeds_return_url_schemes() {
  at19_refused "javascript:" '"javascript:alert(1)//https://shop.example"' return_url return_url_invalid
  at19_refused "javascript: upper case" '"JavaScript:alert(document.domain)"' return_url return_url_invalid
  at19_refused "data:" '"data:text/html,<script>alert(1)</script>"' return_url return_url_invalid
  at19_refused "relative" '"/checkout/done?x=evil"' return_url return_url_invalid
  at19_refused "scheme-relative" '"//evil.example/done"' return_url return_url_invalid
  at19_refused "http to a public host" '"http://evil.example/done"' return_url return_url_invalid
  at19_refused "http to a localhost look-alike" '"http://localhost.evil.example/done"' return_url return_url_invalid
  at19_refused "credentials in the URL" '"https://user:pw@evil.example/done"' return_url return_url_invalid
  at19_refused "no host" '"https:///evil"' return_url return_url_invalid
  at19_refused "a space" '"https://shop.example/do ne?evil"' return_url return_url_invalid
  at19_refused "a control byte" '"https://shop.example/done\u0007evil"' return_url return_url_invalid
  at19_refused "a newline" '"https://shop.example/done\r\nLocation: https://evil.example"' return_url return_url_invalid
  at19_refused "a quote" '"https://shop.example/done\"><script>evil"' return_url return_url_invalid
  at19_refused "not ASCII" '"https://shop.example/d\u00f6ne?evil"' return_url return_url_invalid
  at19_refused "not a string" '{"url":"https://evil.example"}' return_url parameter_invalid_type
  at19_refused "empty" '""' return_url return_url_invalid
  local long; long=$(printf 'a%.0s' $(seq 1 1100))
  at19_refused "too long" "\"https://shop.example/evil?x=$long\"" return_url return_url_invalid
  # The development exception: http to the loopback host on a test-mode gateway.
  at19_pay '"http://localhost:3000/done"'
  eq "http://localhost in test mode" "$STATUS" 201
}

# at19_helper KEY PAY OUTCOME [URL]: POST the test helper.
at19_helper() {
  http POST "${4:-$GATEWAY_URL}/v1/test_helpers/payments/$2/3ds" "$1" "{\"outcome\":\"$3\"}"
}

t_attack_19_threeds_helper_other_merchant() {
  at19_pay '"https://shop.example/done"'
  eq "3DS payment" "$STATUS/$(j .status)" 201/requires_action
  local pay; pay=$(j .id)
  at19_helper "$SK2" "$pay" succeed
  eq "another merchant's payment" "$STATUS" 404
  eq "code" "$(j .error.code)" resource_missing
  eq "audited as a refusal" "$(pg -d gateway -At <<<"SELECT count(*) FROM audit_events WHERE action = 'POST /v1/test_helpers/payments/{}/3ds' AND status = 404 AND target = '$pay'")" 1
  sleep 1.5   # a worker pass: nothing completed the challenge
  http GET "$GATEWAY_URL/v1/payments/$pay" "$STRONGROOM_SK"
  eq "still awaiting the cardholder" "$(j .status)" requires_action
  at19_helper "$STRONGROOM_SK" "$pay" succeed
  eq "its own merchant completes it" "$STATUS/$(j .status)" 200/captured
}

t_attack_19_threeds_helper_not_test_mode() {
  at19_pay '"https://shop.example/done"'
  local pay; pay=$(j .id)
  start_gw2 '{"mode":"live"}'
  at19_helper "$STRONGROOM_SK" "$pay" succeed "$GW2_URL"
  eq "no test helper outside test mode" "$STATUS" 404
  at19_helper "" "$pay" succeed "$GW2_URL"
  eq "not even its authentication" "$STATUS" 404
  http POST "$GW2_URL/v1/payments" "$STRONGROOM_SK" \
    "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"tok_abcdefghijkl\",\"return_url\":\"http://localhost:3000/done\"}"
  eq "http://localhost outside test mode" "$STATUS/$(j .error.param)" 400/return_url
  stop_gw2
  http GET "$GATEWAY_URL/v1/payments/$pay" "$STRONGROOM_SK"
  eq "untouched" "$(j .status)" requires_action
}

t_attack_19_threeds_helper_replay() {
  at19_pay '"https://shop.example/done"'
  local pay ev c0; pay=$(j .id)
  at19_helper "$STRONGROOM_SK" "$pay" succeed
  eq "completed" "$STATUS/$(j .status)" 200/captured
  ev=$(events "$pay"); c0=$(psp_n payment_intents_created)
  at19_helper "$STRONGROOM_SK" "$pay" succeed
  eq "replayed: refused" "$STATUS/$(j .error.code)" 409/payment_unexpected_state
  at19_helper "$STRONGROOM_SK" "$pay" fail
  eq "replayed as a failure: refused" "$STATUS/$(j .error.code)" 409/payment_unexpected_state
  http GET "$GATEWAY_URL/v1/payments/$pay" "$STRONGROOM_SK"
  eq "still captured" "$(j .status)/$(j .amount_captured)" captured/1500
  eq "no second event" "$(events "$pay")" "$ev"
  eq "no second PSP call" "$(psp_n payment_intents_created)" "$c0"
  # A payment that never asked for 3-D Secure has no challenge to complete.
  tokenize 4242424242424242; pay "$(j .id)"
  at19_helper "$STRONGROOM_SK" "$(j .id)" succeed
  eq "no challenge" "$STATUS/$(j .error.code)" 409/payment_unexpected_state
  at19_helper "$STRONGROOM_SK" "$pay" maybe
  eq "outcome checked" "$STATUS/$(j .error.param)" 400/outcome
}

# The vault checks the return_url again at the CDE's boundary: a caller
# holding the gateway's client certificate cannot send the PSP a script URL,
# a relative one or a card number through it.
at19_vault() {  # RETURN_URL_JSON
  tokenize 4000000000003220; local tok; tok=$(j .id) key="at19-$(openssl rand -hex 6)"
  BODY=$(curl -sS "${VINT[@]}" --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key \
    -H 'Content-Type: application/json' -w '\n%{http_code}' "$VAULT_INTERNAL_URL/v1/authorizations" \
    --data-binary "{\"merchant\":\"$STRONGROOM_MERCHANT\",\"token\":\"$tok\",\"payment_id\":\"pay_at19$key\",\"amount\":700,\"currency\":\"usd\",\"capture\":true,\"idempotency_key\":\"$key\",\"return_url\":$1}")
  STATUS=${BODY##*$'\n'}; BODY=${BODY%$'\n'*}
}

t_attack_19_threeds_vault_boundary() {
  local n0 ru; n0=$(psp_intents)
  for ru in '"javascript:alert(1)"' '"/relative"' '"https:///evil"' '"https://shop.example/a b"' '42'; do
    at19_vault "$ru"
    eq "vault refuses $ru" "$STATUS/$(j .error.code)/$(j .error.param)" 400/return_url_invalid/return_url
  done
  # A card number: the internal listener's own screen (ADR 0106) refuses it first.
  for ru in '"https://shop.example/?c=4111111111111111"' '"https://shop.example/?c=%34111111111111111"'; do
    at19_vault "$ru"
    eq "vault refuses a card number" "$STATUS/$(j .error.code)/$(j .error.param)" 400/pan_not_allowed/return_url
  done
  eq "nothing reached the PSP" "$(psp_intents)" "$n0"
  at19_vault '"https://shop.example/done?payment=pay_x"'
  eq "a good one is sent" "$STATUS/$(j .status)" 200/requires_action
}
