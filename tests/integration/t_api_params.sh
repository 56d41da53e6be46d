# Integration tests of the merchant API's parameter errors (issue 19 item 1):
# parameter_unknown names the parameter (in param and the message) for the
# body and the query string alike, and a 405 carries Allow (RFC 9110
# section 15.5.6). Sourced by run.sh (helpers: http, j, eq, fail, tokenize).

t_api_params_unknown_named() {
  tokenize 4242424242424242
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" \
    "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$(j .id)\",\"amont\":1}"
  eq "body: status" "$STATUS" 400
  eq "body: code/param" "$(j .error.code)/$(j .error.param)" parameter_unknown/amont
  grep -q amont <<<"$(j .error.message)" || fail "body: the message does not name amont"
  # a key that could be anything is not named
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" '{"amount":1500,"a b\"c":1}'
  eq "odd key: code/param" "$(j .error.code)/$(j .error.param)" parameter_unknown/null
  tokenize 4242424242424242
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" \
    "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$(j .id)\",\"capture_method\":\"manual\"}"
  http POST "$GATEWAY_URL/v1/payments/$(j .id)/capture" "$STRONGROOM_SK" '{"amount_x":1}'
  eq "capture body: param" "$(j .error.code)/$(j .error.param)" parameter_unknown/amount_x
}

t_api_params_unknown_query() {
  http GET "$GATEWAY_URL/v1/payments?limt=5" "$STRONGROOM_SK"
  eq "list: status" "$STATUS" 400
  eq "list: code/param" "$(j .error.code)/$(j .error.param)" parameter_unknown/limt
  http GET "$GATEWAY_URL/v1/payments?limit=2&created%5Bgte%5D=0" "$STRONGROOM_SK"
  eq "known query" "$STATUS" 200
  http GET "$GATEWAY_URL/v1/payments/pay_00000000000000000000?expand=x" "$STRONGROOM_SK"
  eq "get: code/param" "$(j .error.code)/$(j .error.param)" parameter_unknown/expand
  http POST "$GATEWAY_URL/v1/payments?amount=1" "$STRONGROOM_SK" '{}'
  eq "create: code/param" "$(j .error.code)/$(j .error.param)" parameter_unknown/amount
}

t_api_params_405_allow() {
  http DELETE "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK"
  eq "405 status" "$STATUS" 405
  eq "405 code" "$(j .error.code)" method_not_allowed
  eq "Allow" "$(grep -i '^allow:' <<<"$HEADERS" | tr -d '\r' | cut -d' ' -f2-)" "POST, GET"
  http PUT "$GATEWAY_URL/v1/payments/pay_00000000000000000000/capture" "$STRONGROOM_SK" '{}'
  eq "Allow capture" "$(grep -i '^allow:' <<<"$HEADERS" | tr -d '\r' | cut -d' ' -f2-)" "POST"
}
