# Integration tests of statement descriptors (issue 19 item 1): checked by
# Stripe's rules at the gateway, kept on the payment, and forwarded by both
# connectors: Stripe's statement_descriptor(_suffix), Adyen's
# shopperStatement. pspsim keeps what it received (GET /_sim/intents).
# Sourced by run.sh (helpers: http, j, eq, fail, tokenize, tokenize_as).

sd_audit() { curl -sS "${PSP[@]}" --cert var/pki/psp-control.crt --key var/pki/psp-control.key "$PSP_URL/_sim/intents"; }

# sd_pay CARD CURRENCY EXTRA_JSON: tokenize and pay with extra fields.
sd_pay() {
  tokenize "$1"
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" \
    "{\"amount\":1500,\"currency\":\"$2\",\"payment_method\":\"$(j .id)\"$3}"
}

t_statement_descriptor_forwarded() {
  local pay
  sd_pay 4242424242424242 usd ',"statement_descriptor":"STRONGROOM SHOP","statement_descriptor_suffix":"ORDER 42"'
  eq "stripe: status" "$STATUS/$(j .status)/$(j .connector)" 201/captured/stripe
  eq "stripe: returned" "$(j .statement_descriptor)/$(j .statement_descriptor_suffix)" "STRONGROOM SHOP/ORDER 42"
  pay=$(j .id)
  eq "stripe: the PSP received" \
    "$(sd_audit | jq -r --arg p "$pay" '.data[] | select((.idempotency_key // "") | startswith($p)) | "\(.statement_descriptor)/\(.statement_descriptor_suffix)"')" \
    "STRONGROOM SHOP/ORDER 42"
  http GET "$GATEWAY_URL/v1/payments/$pay" "$STRONGROOM_SK"
  eq "stripe: retrieved" "$(j .statement_descriptor_suffix)" "ORDER 42"
  # A German card goes to Adyen (country routing): one statement text.
  sd_pay 4000002760000016 eur ',"statement_descriptor":"STRONGROOM DE"'
  eq "adyen: status" "$STATUS/$(j .connector)" 201/adyen
  pay=$(j .id)
  eq "adyen: the PSP received" \
    "$(sd_audit | jq -r --arg p "$pay" '.adyen[] | select((.idempotency_key // "") | startswith($p)) | .shopperStatement')" \
    "STRONGROOM DE"
  # none: nothing sent, null returned
  sd_pay 4242424242424242 usd ''
  eq "none: returned" "$(j .statement_descriptor)" null
  pay=$(j .id)
  eq "none: the PSP received" \
    "$(sd_audit | jq -r --arg p "$pay" '.data[] | select((.idempotency_key // "") | startswith($p)) | .statement_descriptor')" null
}

t_statement_descriptor_rules() {
  local bad
  for bad in '"<b>SHOP"' '"SHOP\"X"' "\"SHOP'S\"" '"12345"' '"SHOP*"' '"ABCDEFGHIJKLMNOPQRSTUVW"' '"SHOP"' '5'; do
    sd_pay 4242424242424242 usd ",\"statement_descriptor\":$bad"
    eq "$bad: status" "$STATUS" 400
    eq "$bad: param" "$(j .error.param)" statement_descriptor
  done
  sd_pay 4242424242424242 usd ',"statement_descriptor_suffix":"99"'
  eq "suffix without a letter" "$(j .error.code)/$(j .error.param)" statement_descriptor_invalid/statement_descriptor_suffix
}
