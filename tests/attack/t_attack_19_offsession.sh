# Attacks on stored credentials (issue 19 item 7, ADR 0133): a
# merchant-initiated payment with a single-use token, with another
# merchant's saved card, the network transaction id leaking to the gateway,
# a CVC sent on a merchant-initiated payment. Sourced by run.sh (helpers:
# http, j, eq, fail, tokenize, psp_intents, SK2, MID2).

a19o_gw_sql() { psql -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U postgres -d gateway -v ON_ERROR_STOP=1 -c "$1"; }
a19o_audit() { curl -sS "${PSP[@]}" --cert var/pki/psp-control.crt --key var/pki/psp-control.key "$PSP_URL/_sim/intents"; }

# a19o_saved NUMBER: a customer with one saved card; sets A19O_CARD.
a19o_saved() {
  local cus
  http POST "$GATEWAY_URL/v1/customers" "$STRONGROOM_SK" '{"email":"mit@example.com"}'; cus=$(j .id)
  tokenize "$1"
  http POST "$GATEWAY_URL/v1/customers/$cus/cards" "$STRONGROOM_SK" "{\"token\":\"$(j .id)\"}"
  A19O_CARD=$(j .id)
}

# off_session with a one-time tok_: refused at the gateway, nothing reaches the PSP.
t_attack_19_offsession_tok_refused() {
  local n0 tok
  n0=$(psp_intents)
  tokenize 4242424242424242; tok=$(j .id)
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" \
    "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$tok\",\"off_session\":true}"
  eq "off_session with tok_" "$STATUS/$(j .error.code)/$(j .error.param)" 400/saved_card_required/off_session
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" \
    "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$tok\",\"setup_future_usage\":\"off_session\"}"
  eq "setup_future_usage with tok_" "$STATUS/$(j .error.code)/$(j .error.param)" 400/saved_card_required/setup_future_usage
  for bad in '"off_session":"true"' '"off_session":1' '"setup_future_usage":"later"' '"setup_future_usage":true'; do
    http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" \
      "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$tok\",$bad}"
    eq "$bad" "$STATUS/$(j .error.type)" 400/invalid_request_error
  done
  eq "no PSP call" "$(psp_intents)" "$n0"
  # The token was not used up by the refusals.
  pay "$tok"; eq "tok_ still pays on-session" "$STATUS/$(j .status)" 201/captured
  # The vault refuses it too, whoever asks (the gateway's check is not the only one).
  tokenize 4242424242424242; tok=$(j .id); n0=$(psp_intents)
  STATUS=$(curl -sS "${VINT[@]}" --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key \
    -o "$TMP/a19o" -w '%{http_code}' -H 'Content-Type: application/json' "$VAULT_INTERNAL_URL/v1/authorizations" \
    --data-binary "{\"merchant\":\"$STRONGROOM_MERCHANT\",\"token\":\"$tok\",\"payment_id\":\"pay_a19o$RANDOM\",\"amount\":100,\"currency\":\"usd\",\"capture\":true,\"idempotency_key\":\"a19o-$RANDOM$RANDOM\",\"off_session\":true}" 2>/dev/null)
  eq "vault: off_session with tok_" "$STATUS/$(jq -r .error.code "$TMP/a19o")" 400/saved_card_required
  eq "no PSP call (vault)" "$(psp_intents)" "$n0"
}

# Merchant B charging merchant A's saved card off-session: no such card,
# audited as a refusal, nothing at the PSP.
t_attack_19_offsession_foreign_card() {
  local n0 a0
  a19o_saved 4242424242424242
  n0=$(psp_intents)
  a0=$(a19o_gw_sql "SELECT count(*) FROM audit_events WHERE merchant_id = '$MID2' AND action = 'POST /v1/payments' AND result = 'refused'")
  http POST "$GATEWAY_URL/v1/payments" "$SK2" \
    "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$A19O_CARD\",\"off_session\":true}"
  eq "foreign card" "$STATUS/$(j .error.code)/$(j .error.param)" 400/resource_missing/payment_method
  eq "audited" "$(a19o_gw_sql "SELECT count(*) FROM audit_events WHERE merchant_id = '$MID2' AND action = 'POST /v1/payments' AND result = 'refused'")" "$((a0 + 1))"
  eq "no PSP call" "$(psp_intents)" "$n0"
  eq "no payment for B" "$(a19o_gw_sql "SELECT count(*) FROM payments WHERE merchant_id = '$MID2' AND payment_method = '$A19O_CARD'")" 0
}

# The network transaction id stays in the vault: never in the gateway's
# database, its answers or its logs; kept with the card in the vault.
t_attack_19_offsession_nti_cde_only() {
  local pay nti
  a19o_saved 4000002760000016     # a German card: Adyen (country routing)
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" \
    "{\"amount\":2000,\"currency\":\"eur\",\"payment_method\":\"$A19O_CARD\",\"setup_future_usage\":\"off_session\"}"
  eq "set-up payment" "$STATUS/$(j .status)/$(j .connector)" 201/captured/adyen
  pay=$(j .id)
  nti=$(a19o_audit | jq -r --arg p "$pay" '.adyen[] | select((.idempotency_key // "") | startswith($p)) | .networkTxReference')
  [[ $nti == NTI* ]] || { fail "the PSP returned no network transaction id ($nti)"; return; }
  grep -q "$nti" <<<"$BODY" && fail "the id is in the payment answer"
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" \
    "{\"amount\":700,\"currency\":\"eur\",\"payment_method\":\"$A19O_CARD\",\"off_session\":true}"
  grep -q "$nti" <<<"$BODY" && fail "the id is in the MIT's answer"
  http GET "$GATEWAY_URL/v1/payments/$pay/events" "$STRONGROOM_SK"
  grep -q "$nti" <<<"$BODY" && fail "the id is in the events"
  "$PGBIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres gateway > "$TMP/a19o_gw.sql" || fail "pg_dump gateway"
  grep -q "$nti" "$TMP/a19o_gw.sql" && fail "the id is in the gateway's database"
  grep -q "$nti" var/log/gatewayd.log && fail "the id is in the gateway's log"
  grep -q "$nti" var/log/vaultd.log && fail "the id is in the vault's log"
  eq "kept with the card in the vault" \
    "$(psql -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U postgres -d vault -c "SELECT network_tx_id FROM card_network_tx WHERE card_id = '$A19O_CARD'")" "$nti"
}

# A CVC never goes with a merchant-initiated payment, in either dialect.
t_attack_19_offsession_no_cvc_on_mit() {
  local pay
  a19o_saved 4242424242424242
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" \
    "{\"amount\":900,\"currency\":\"usd\",\"payment_method\":\"$A19O_CARD\",\"off_session\":true}"
  eq "stripe MIT" "$STATUS/$(j .status)/$(j .connector)" 201/captured/stripe
  pay=$(j .id)
  eq "stripe: off_session and no CVC received" \
    "$(a19o_audit | jq -r --arg p "$pay" '.data[] | select((.idempotency_key // "") | startswith($p)) | "\(.received.off_session)/\(.received.cvc)"')" true/false
  a19o_saved 4000002760000016
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" \
    "{\"amount\":900,\"currency\":\"eur\",\"payment_method\":\"$A19O_CARD\",\"off_session\":true}"
  pay=$(j .id)
  eq "adyen: ContAuth and no CVC received" \
    "$(a19o_audit | jq -r --arg p "$pay" '.adyen[] | select((.idempotency_key // "") | startswith($p)) | "\(.received.shopperInteraction)/\(.received.cvc)"')" ContAuth/false
}
