# Redirect-based 3-D Secure (issue 19 item 3, ADR 0131): return_url on the
# payment, next_action.redirect_to_url {url, return_url} as Stripe shapes it,
# the PSP sending the browser back to the merchant with the payment id, and
# the test helper that completes or fails a challenge from a script.

# td_pay CARD RETURN_URL [CAPTURE]: a payment with return_url.
td_pay() {
  tokenize "$1"
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" \
    "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$(j .id)\",\"capture_method\":\"${3:-automatic}\",\"return_url\":\"$2\"}"
}
TD_CHAL=(--cacert var/pki/ca.crt --resolve "psp.strongroom.test:$PSP_CHALLENGE_PORT:127.0.0.1")

t_td_return_url_on_the_payment() {
  td_pay 4000000000003220 "https://shop.example/checkout/done?order=7"
  eq "created" "$STATUS/$(j .status)" 201/requires_action
  eq "next_action type" "$(j .next_action.type)" redirect_to_url
  eq "return_url as given" "$(j .next_action.redirect_to_url.return_url)" "https://shop.example/checkout/done?order=7"
  [[ $(j .next_action.redirect_to_url.url) == "https://psp.strongroom.test:$PSP_CHALLENGE_PORT/3ds/"* ]] || fail "url $(j .next_action.redirect_to_url.url)"
  local pay; pay=$(j .id)
  http GET "$GATEWAY_URL/v1/payments/$pay" "$STRONGROOM_SK"
  eq "kept" "$(j .next_action.redirect_to_url.return_url)" "https://shop.example/checkout/done?order=7"
  # Without return_url, Stripe's shape still: return_url null.
  tokenize 4000000000003220; pay "$(j .id)"
  eq "no return_url" "$(j '.next_action.redirect_to_url | keys | join(",")')/$(j .next_action.redirect_to_url.return_url)" "return_url,url/null"
  # A payment without 3-D Secure has no next_action, return_url or not.
  td_pay 4242424242424242 "https://shop.example/done"
  eq "frictionless" "$(j .status)/$(j .next_action)" captured/null
}

t_td_browser_returns_to_the_merchant() {
  td_pay 4000000000003220 "https://shop.example/done?order=7#summary"
  local pay url loc pi; pay=$(j .id); url=$(j .next_action.redirect_to_url.url); pi=$(j .psp_reference)
  # The cardholder answers the challenge page; the PSP sends the browser back.
  loc=$(curl -sS "${TD_CHAL[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' -d result=authenticate "$url/complete")
  eq "sent back" "$loc" "303 https://shop.example/done?order=7&payment=$pay&payment_intent=$pi&redirect_status=succeeded#summary"
  wait_status "$pay" captured 10 || fail "not captured after the challenge ($(j .status))"
  eq "timeline" "$(events "$pay")" "payment.created,payment.requires_action,payment.processing,payment.captured"
  eq "no next_action once done" "$(j .next_action)" null
  # A failed challenge comes back with redirect_status=failed, the payment fails.
  td_pay 4000000000003220 "https://shop.example/done"
  pay=$(j .id); url=$(j .next_action.redirect_to_url.url); pi=$(j .psp_reference)
  loc=$(curl -sS "${TD_CHAL[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' -d result=fail "$url/complete")
  eq "sent back, failed" "$loc" "303 https://shop.example/done?payment=$pay&payment_intent=$pi&redirect_status=failed"
  wait_status "$pay" failed 10 || fail "not failed after a failed challenge ($(j .status))"
}

t_td_test_helper() {
  td_pay 4000000000003220 "https://shop.example/done"
  local pay; pay=$(j .id)
  http POST "$GATEWAY_URL/v1/test_helpers/payments/$pay/3ds" "$STRONGROOM_SK" '{"outcome":"succeed"}'
  eq "succeed" "$STATUS/$(j .status)/$(j .amount_captured)/$(j .next_action)" 200/captured/1500/null
  eq "timeline" "$(events "$pay")" "payment.created,payment.requires_action,payment.processing,payment.captured"
  td_pay 4000000000003220 "https://shop.example/done"; pay=$(j .id)
  http POST "$GATEWAY_URL/v1/test_helpers/payments/$pay/3ds" "$STRONGROOM_SK" '{"outcome":"fail"}'
  eq "fail" "$STATUS/$(j .status)" 200/failed
  eq "failed authentication" "$(j .failure_code)" card_declined
  # 4000 0084 0000 1629: authenticated, then declined by the issuer.
  td_pay 4000008400001629 "https://shop.example/done"; pay=$(j .id)
  eq "challenge first" "$(j .status)" requires_action
  http POST "$GATEWAY_URL/v1/test_helpers/payments/$pay/3ds" "$STRONGROOM_SK" '{"outcome":"succeed"}'
  eq "declined after the challenge" "$STATUS/$(j .status)/$(j .failure_code)" 200/failed/card_declined
  # Manual capture: authorized after the challenge.
  td_pay 4000000000003220 "https://shop.example/done" manual; pay=$(j .id)
  http POST "$GATEWAY_URL/v1/test_helpers/payments/$pay/3ds" "$STRONGROOM_SK" '{"outcome":"succeed"}'
  eq "manual" "$STATUS/$(j .status)" 200/authorized
  # Unknown fields are refused.
  http POST "$GATEWAY_URL/v1/test_helpers/payments/$pay/3ds" "$STRONGROOM_SK" '{"outcome":"succeed","x":1}'
  eq "unknown field" "$STATUS/$(j .error.code)" 400/parameter_unknown
}

t_td_test_helper_adyen() {
  # The same helper answers the challenge page of Adyen's dialect; the
  # return_url reaches Adyen's /payments as returnUrl.
  conn_merchant "3DS helper on Adyen" '{"primary":"adyen"}' || return
  tokenize_as "$CONN_PK" 4000000000003220
  http POST "$GATEWAY_URL/v1/payments" "$CONN_SK" \
    "{\"amount\":1500,\"currency\":\"eur\",\"payment_method\":\"$(j .id)\",\"return_url\":\"https://shop.example/done\"}"
  eq "3DS on adyen" "$(j .status)/$(j .connector)/$(j .next_action.redirect_to_url.return_url)" requires_action/adyen/https://shop.example/done
  local pay; pay=$(j .id)
  http POST "$GATEWAY_URL/v1/test_helpers/payments/$pay/3ds" "$CONN_SK" '{"outcome":"succeed"}'
  eq "adyen succeed" "$STATUS/$(j .status)" 200/captured
  conn_pay "$CONN_SK" "$CONN_PK" 4000000000003220; pay=$(j .id)
  http POST "$GATEWAY_URL/v1/test_helpers/payments/$pay/3ds" "$CONN_SK" '{"outcome":"fail"}'
  eq "adyen fail" "$STATUS/$(j .status)" 200/failed
}
