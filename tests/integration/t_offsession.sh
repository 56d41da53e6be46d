# Integration tests of issue 19 item 7 (ADR 0133): saved cards set up for
# later with setup_future_usage, merchant-initiated payments with
# off_session, and what each PSP receives: Stripe's off_session /
# setup_future_usage form fields; Adyen's shopperInteraction,
# recurringProcessingModel and additionalData.networkTxReference (the id
# Adyen returned on the set-up payment, kept with the card in the vault).
# pspsim records what it received (GET /_sim/intents). The attacks are in
# tests/attack/t_attack_19_offsession.sh. Sourced by run.sh.

to_audit() { curl -sS "${PSP[@]}" --cert var/pki/psp-control.crt --key var/pki/psp-control.key "$PSP_URL/_sim/intents"; }
# to_rx DIALECT PAYMENT JQ: what pspsim received for PAYMENT (data = Stripe, adyen = Adyen).
to_rx() { to_audit | jq -r --arg p "$2" ".$1[] | select((.idempotency_key // \"\") | startswith(\$p)) | $3"; }
# to_card NUMBER: a customer with one saved card; sets TO_CARD.
to_card() {
  local cus
  http POST "$GATEWAY_URL/v1/customers" "$STRONGROOM_SK" '{"name":"Off Session"}'; cus=$(j .id)
  tokenize "$1"
  http POST "$GATEWAY_URL/v1/customers/$cus/cards" "$STRONGROOM_SK" "{\"token\":\"$(j .id)\"}"
  TO_CARD=$(j .id)
}
# to_pay CARD CURRENCY EXTRA_JSON
to_pay() {
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" \
    "{\"amount\":1200,\"currency\":\"$2\",\"payment_method\":\"$1\"$3}"
}

t_offsession_stripe() {
  local pay
  to_card 4242424242424242
  to_pay "$TO_CARD" usd ',"setup_future_usage":"off_session"'
  eq "set up" "$STATUS/$(j .status)/$(j .connector)" 201/captured/stripe
  pay=$(j .id)
  eq "stripe received setup_future_usage" "$(to_rx data "$pay" '"\(.setup_future_usage)/\(.received.off_session)"')" off_session/false
  to_pay "$TO_CARD" usd ',"setup_future_usage":"on_session"'
  eq "on_session" "$(to_rx data "$(j .id)" .setup_future_usage)" on_session
  to_pay "$TO_CARD" usd ',"off_session":true'
  eq "MIT" "$STATUS/$(j .status)" 201/captured
  eq "stripe received off_session" "$(to_rx data "$(j .id)" '"\(.setup_future_usage)/\(.received.off_session)/\(.received.cvc)"')" null/true/false
  to_pay "$TO_CARD" usd ',"off_session":false'
  eq "off_session false: an ordinary payment" "$(to_rx data "$(j .id)" '.received.off_session')" false
}

t_offsession_adyen() {
  local pay nti
  to_card 4000002760000016      # German card: Adyen by country
  # Without a set-up payment there is no network transaction id: the
  # issuer (pspsim) refuses the merchant-initiated payment.
  to_pay "$TO_CARD" eur ',"off_session":true'
  eq "MIT before set-up" "$STATUS/$(j .status)/$(j .failure_code)/$(j .connector)" 201/failed/card_declined/adyen
  eq "adyen received ContAuth, no id" \
    "$(to_rx adyen "$(j .id)" '"\(.received.shopperInteraction)/\(.received.recurringProcessingModel)/\(.received.networkTxReference)"')" \
    ContAuth/UnscheduledCardOnFile/null
  to_pay "$TO_CARD" eur ',"setup_future_usage":"off_session"'
  eq "set up" "$STATUS/$(j .status)" 201/captured
  pay=$(j .id)
  eq "adyen received" "$(to_rx adyen "$pay" '"\(.received.shopperInteraction)/\(.received.recurringProcessingModel)/\(.received.cvc)"')" \
    Ecommerce/UnscheduledCardOnFile/false
  nti=$(to_rx adyen "$pay" .networkTxReference)
  [[ $nti == NTI* ]] || fail "no network transaction id returned ($nti)"
  to_pay "$TO_CARD" eur ',"off_session":true'
  eq "MIT" "$STATUS/$(j .status)" 201/captured
  eq "adyen received the id back" \
    "$(to_rx adyen "$(j .id)" '"\(.received.shopperInteraction)/\(.received.recurringProcessingModel)/\(.received.networkTxReference)"')" \
    "ContAuth/UnscheduledCardOnFile/$nti"
  to_pay "$TO_CARD" eur ',"setup_future_usage":"on_session","capture_method":"manual"'
  eq "on_session set-up, manual capture" "$STATUS/$(j .status)" 201/authorized
  eq "CardOnFile" "$(to_rx adyen "$(j .id)" .received.recurringProcessingModel)" CardOnFile
  # An ordinary payment carries no stored-credential flag.
  tokenize 4000002760000016
  to_pay "$(j .id)" eur ''
  eq "one-time" "$(to_rx adyen "$(j .id)" '"\(.received.shopperInteraction)/\(.received.recurringProcessingModel)/\(.received.cvc)"')" Ecommerce/null/true
  # Deleting the card deletes what the vault kept with it.
  http DELETE "$GATEWAY_URL/v1/cards/$TO_CARD" "$STRONGROOM_SK"; eq "card deleted" "$STATUS" 200
  eq "id deleted with the card" \
    "$(psql -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U postgres -d vault -c "SELECT count(*) FROM card_network_tx WHERE card_id = '$TO_CARD'")" 0
}

t_offsession_rules() {
  to_card 4242424242424242
  to_pay "$TO_CARD" usd ',"off_session":true,"setup_future_usage":"off_session"'
  eq "both" "$STATUS/$(j .error.code)/$(j .error.param)" 400/parameter_invalid_string/setup_future_usage
  to_pay "$TO_CARD" usd ',"setup_future_usage":"sometimes"'
  eq "enum" "$STATUS/$(j .error.param)" 400/setup_future_usage
  grep -q sometimes <<<"$BODY" && fail "the rejected value is echoed"
  to_pay "$TO_CARD" usd ',"off_session":"yes"'
  eq "boolean" "$STATUS/$(j .error.code)/$(j .error.param)" 400/parameter_invalid_type/off_session
  to_pay "$TO_CARD" usd ',"setup_future_usage":null'
  eq "null: none" "$STATUS/$(j .status)" 201/captured
}
