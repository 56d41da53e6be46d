# Issue 5: per-merchant PSP credentials and webhooks FROM PSPs, on the real
# stack (SoftHSM2, PostgreSQL, mutual TLS, pspsim sending signed Stripe
# webhooks to the gateway, which has the vault verify them).
# Sourced by tests/integration/run.sh (helpers: http, j, eq, fail, tokenize, pay, PSP...).

PW_SECRET_FILE=var/pspsim-keys/psp-stripe-webhook-secret
pw_sim() {  # METHOD PATH [JSON]: pspsim's test hooks (mTLS as the vault's egress)
  curl -sS "${PSP[@]}" --cert var/pki/psp-control.crt --key var/pki/psp-control.key -X "$1" \
    ${3:+-H 'Content-Type: application/json' --data-binary "$3"} "$PSP_URL$2"
}
pw_sign() {  # BODY SECRET [T]: a Stripe-Signature value (openssl, independent of our code)
  local t=${3:-$(date +%s)} mac
  mac=$(printf '%s' "$t.$1" | openssl dgst -sha256 -hmac "$2" -r | cut -d' ' -f1)
  echo "t=$t,v1=$mac"
}
pw_post() {  # BODY SIGNATURE-VALUE: POST /v1/psp_webhooks/stripe (no API key)
  http POST "$GATEWAY_URL/v1/psp_webhooks/stripe" "" "$1" ${2:+-H "Stripe-Signature: $2"}
}
pw_status() {  # PAY: the payment's status, read as the test merchant
  http GET "$GATEWAY_URL/v1/payments/$1" "$STRONGROOM_SK"; j .status
}
pw_wait() {  # PAY WANT [SECONDS]
  local i
  for ((i = 0; i < ${3:-10} * 5; i++)); do
    [ "$(pw_status "$1")" = "$2" ] && return 0
    sleep 0.2
  done
  return 1
}
pw_count() { pg -d gateway -At <<<"$1"; }
pw_event() {  # ID TYPE OBJECT_JSON [ACCOUNT]: a Stripe event body
  jq -cn --arg id "$1" --arg type "$2" --argjson o "$3" --arg acct "${4:-}" \
    '{id: $id, object: "event", type: $type, created: now | floor, data: {object: $o}}
     + (if $acct == "" then {} else {account: $acct} end)'
}

t_pw_credentials_sealed_last4_merchant_key() {
  local out mid pk sk rnd key acct whs last4 before after tok pay
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "PSP credentials merchant") \
    || { fail "merchant create"; return; }
  mid=$(jq -r .id <<<"$out"); pk=$(jq -r .publishable_key <<<"$out"); sk=$(jq -r .secret_key <<<"$out")
  rnd=$(openssl rand -hex 12)
  key="sk_test_merchant_$rnd"; acct="acct_pw$rnd"; whs="whsec_merchant_$rnd"
  last4=${key: -4}
  # Shapes are refused without echoing the value.
  http PUT "$GATEWAY_URL/v1/psp_credentials/stripe" "$sk" '{"api_key":"has spaces in it 123"}'
  eq "bad key" "$STATUS" 400; eq "bad key param" "$(j .error.param)" api_key
  grep -q "has spaces" <<<"$BODY" && fail "a rejected value was echoed"
  http PUT "$GATEWAY_URL/v1/psp_credentials/stripe" "$sk" '{"api_key":"sk_test_12345678","extra":1}'
  eq "unknown param" "$STATUS" 400
  http PUT "$GATEWAY_URL/v1/psp_credentials/stripe" "$sk" '{}'
  eq "empty" "$STATUS" 400
  http PUT "$GATEWAY_URL/v1/psp_credentials/nosuchpsp" "$sk" '{"api_key":"sk_test_12345678"}'
  eq "unknown connector" "$STATUS" 404
  # A key without the admin role may not touch credentials.
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json key create --merchant "$mid" --role payments) \
    || { fail "key create"; return; }
  http GET "$GATEWAY_URL/v1/psp_credentials" "$(jq -r .secret_key <<<"$out")"
  eq "payments role" "$STATUS" 403
  # Registration needs the PSP's word that the key is the account's (ADR 0107).
  http PUT "$GATEWAY_URL/v1/psp_credentials/stripe" "$sk" \
    "{\"api_key\":\"$key\",\"merchant_account\":\"$acct\",\"webhook_secret\":\"$whs\"}"
  eq "unknown key" "$STATUS/$(j .error.code)/$(j .error.param)" 400/credentials_unverified/api_key
  pw_sim POST /_sim/api_keys "{\"key\":\"$key\",\"account\":\"acct_other$rnd\"}" >/dev/null
  http PUT "$GATEWAY_URL/v1/psp_credentials/stripe" "$sk" \
    "{\"api_key\":\"$key\",\"merchant_account\":\"$acct\",\"webhook_secret\":\"$whs\"}"
  eq "key of another account" "$STATUS/$(j .error.code)" 400/credentials_unverified
  grep -q -e "$rnd" <<<"$BODY" && fail "a rejected value was echoed"
  pw_sim POST /_sim/api_keys "{\"key\":\"$key\",\"account\":\"$acct\"}" >/dev/null
  # Register: the answer and the listing show last 4 characters only.
  http PUT "$GATEWAY_URL/v1/psp_credentials/stripe" "$sk" \
    "{\"api_key\":\"$key\",\"merchant_account\":\"$acct\",\"webhook_secret\":\"$whs\"}"
  eq "put" "$STATUS" 200
  eq "put last4" "$(j .api_key_last4)" "$last4"
  http GET "$GATEWAY_URL/v1/psp_credentials" "$sk"
  eq "list" "$STATUS" 200
  eq "list connector" "$(j '.data[0].connector')" stripe
  eq "list last4" "$(j '.data[0].api_key_last4')" "$last4"
  eq "list whsec last4" "$(j '.data[0].webhook_secret_last4')" "${whs: -4}"
  grep -q -e "$rnd" <<<"$BODY" && fail "GET returned more than the last 4 characters"
  # A second merchant cannot claim the same PSP account.
  http PUT "$GATEWAY_URL/v1/psp_credentials/stripe" "$STRONGROOM_SK" "{\"merchant_account\":\"$acct\"}"
  eq "account taken" "$STATUS" 409
  # Nowhere in clear: vault and gateway databases (full dumps), logs.
  "$PGBIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres vault > "$TMP/vault.dump" 2>/dev/null || fail "pg_dump vault"
  "$PGBIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres gateway > "$TMP/gw.dump" 2>/dev/null || fail "pg_dump gateway"
  eq "vault row" "$(pg -d vault -At -v m="$mid" <<<"SELECT count(*) FROM psp_credentials WHERE merchant_id = :'m' AND length(ciphertext) > 16")" 1
  grep -q -e "$rnd" "$TMP/vault.dump" && fail "a credential is in clear in the vault database"
  grep -q -e "$rnd" "$TMP/gw.dump" && fail "a credential is in the gateway database"
  grep -q -e "$rnd" var/log/*.log && fail "a credential is in a log"
  # The PSP call for this merchant authenticates with the merchant's own key.
  before=$(psp_stats | jq -r --arg k "$last4" '.calls_by_key[$k] // 0')
  tokenize_as "$pk" 4242424242424242
  tok=$(j .id)
  pay_as "$sk" "$tok"
  eq "merchant-key payment" "$STATUS" 201
  eq "merchant-key payment status" "$(j .status)" captured
  after=$(psp_stats | jq -r --arg k "$last4" '.calls_by_key[$k] // 0')
  eq "calls with the merchant's key" "$((after - before))" 2
  # The merchant's webhook secret verifies events naming its account; the
  # platform's does not.
  pay=$(j .id)
  local pi body
  pi=$(j .psp_reference)
  body=$(pw_event "evt_pwacct$rnd" charge.dispute.created \
    "{\"id\":\"du_pw$rnd\",\"object\":\"dispute\",\"payment_intent\":\"$pi\",\"amount\":1500,\"currency\":\"usd\",\"reason\":\"general\"}" "$acct")
  pw_post "$body" "$(pw_sign "$body" "$(cat $PW_SECRET_FILE)")"
  eq "platform secret for a merchant's account" "$STATUS" 400
  eq "platform secret code" "$(j .error.code)" signature_invalid
  pw_post "$body" "$(pw_sign "$body" "$whs")"
  eq "merchant secret" "$STATUS" 200
  eq "recorded for the merchant" "$(pw_count "SELECT merchant_id FROM psp_webhook_events WHERE event_id = 'evt_pwacct$rnd'")" "$mid"
  http GET "$GATEWAY_URL/v1/payments/$pay" "$sk"
  eq "merchant's payment disputed" "$(j .status)" disputed
  # Delete: gone, and listed no more.
  http DELETE "$GATEWAY_URL/v1/psp_credentials/stripe" "$sk"
  eq "delete" "$STATUS" 200
  http DELETE "$GATEWAY_URL/v1/psp_credentials/stripe" "$sk"
  eq "delete again" "$STATUS" 404
  http GET "$GATEWAY_URL/v1/psp_credentials" "$sk"
  eq "list after delete" "$(j '.data | length')" 0
}

t_pw_dispute_card_ends_disputed() {
  local pay evs
  tokenize 4000000000000259; pay "$(j .id)"
  eq "0259 pays" "$(j .status)" captured
  pay=$(j .id)
  pw_wait "$pay" disputed 10 || fail "4000000000000259 did not become disputed (status $(pw_status "$pay"))"
  http GET "$GATEWAY_URL/v1/payments/$pay/events" "$STRONGROOM_SK"
  evs=$(j '[.data[].type] | join(",")')
  eq "events" "$evs" "payment.created,payment.captured,payment.disputed,dispute.funds_withdrawn"
  [[ $(j '.data[2].data.object.id') == du_* ]] || fail "payment.disputed carries no dispute id"
  eq "dispute amount" "$(j '.data[2].data.object.amount')" 1500
  eq "outbox row" "$(pw_count "SELECT count(*) FROM outbox o JOIN payment_events e ON e.id = o.event_id WHERE e.payment_id = '$pay' AND o.topic = 'payment.disputed'")" 1
  # A disputed payment is terminal: no refund.
  http POST "$GATEWAY_URL/v1/payments/$pay/refunds" "$STRONGROOM_SK" '{}'
  [ "$STATUS" = 409 ] || fail "refund of a disputed payment: HTTP $STATUS"
}

t_pw_replay_three_times_one_effect() {
  local pay ev n_ev n_out st
  tokenize 4000000000000259; pay "$(j .id)"
  pay=$(j .id)
  pw_wait "$pay" disputed 10 || { fail "not disputed"; return; }
  ev=$(pw_count "SELECT event_id FROM psp_webhook_events WHERE payment_id = '$pay'")
  [[ $ev == evt_* ]] || { fail "no recorded PSP event for $pay"; return; }
  n_ev=$(pw_count "SELECT count(*) FROM payment_events WHERE payment_id = '$pay'")
  n_out=$(pw_count "SELECT count(*) FROM outbox o JOIN payment_events e ON e.id = o.event_id WHERE e.payment_id = '$pay'")
  st=$(pw_sim POST /_sim/webhooks/replay "{\"event\":\"$ev\",\"times\":3}" | jq -c .statuses)
  eq "replays answered" "$st" "[200,200,200]"
  eq "one dedup row" "$(pw_count "SELECT count(*) FROM psp_webhook_events WHERE event_id = '$ev'")" 1
  eq "no new payment event" "$(pw_count "SELECT count(*) FROM payment_events WHERE payment_id = '$pay'")" "$n_ev"
  eq "no new outbox row" "$(pw_count "SELECT count(*) FROM outbox o JOIN payment_events e ON e.id = o.event_id WHERE e.payment_id = '$pay'")" "$n_out"
  eq "one payment.disputed" "$(pw_count "SELECT count(*) FROM payment_events WHERE payment_id = '$pay' AND type = 'payment.disputed'")" 1
  eq "pspsim recorded 4 deliveries" "$(pw_sim GET /_sim/webhooks | jq --arg e "$ev" '[.data[] | select(.id == $e) | .deliveries[]] | length')" 4
}

t_pw_bad_or_stale_signature_refused() {
  local pay pi body secret rnd n_ev
  tokenize 4242424242424242; pay "$(j .id)"
  pay=$(j .id); pi=$(j .psp_reference)
  rnd=$(openssl rand -hex 8); secret=$(cat $PW_SECRET_FILE)
  body=$(pw_event "evt_pwbad$rnd" charge.dispute.created \
    "{\"id\":\"du_pwbad$rnd\",\"object\":\"dispute\",\"payment_intent\":\"$pi\",\"amount\":1500,\"currency\":\"usd\"}")
  n_ev=$(pw_count "SELECT count(*) FROM payment_events WHERE payment_id = '$pay'")
  pw_post "$body" "$(pw_sign "$body" whsec_not_the_secret)"
  eq "bad signature" "$STATUS" 400; eq "bad signature code" "$(j .error.code)" signature_invalid
  grep -q "$rnd" <<<"$BODY" && fail "the body was echoed"
  pw_post "$body" "$(pw_sign "$body" "$secret" $(( $(date +%s) - 400 )))"
  eq "stale" "$STATUS" 400; eq "stale code" "$(j .error.code)" timestamp_out_of_tolerance
  pw_post "$body" ""
  eq "no signature" "$STATUS" 400
  pw_post "${body/1500/1}" "$(pw_sign "$body" "$secret")"
  eq "tampered body" "$STATUS" 400
  pw_post '{"id":"evt_x","type":"charge.captured"' "$(pw_sign x "$secret")"
  eq "malformed JSON" "$STATUS" 400
  http POST "$GATEWAY_URL/v1/psp_webhooks/nosuchpsp" "" "$body" -H "Stripe-Signature: $(pw_sign "$body" "$secret")"
  eq "unknown connector" "$STATUS" 404
  eq "nothing recorded" "$(pw_count "SELECT count(*) FROM psp_webhook_events WHERE event_id = 'evt_pwbad$rnd'")" 0
  eq "no payment event" "$(pw_count "SELECT count(*) FROM payment_events WHERE payment_id = '$pay'")" "$n_ev"
  eq "still captured" "$(pw_status "$pay")" captured
  # The same event, correctly signed now: one effect (the test can fail).
  pw_post "$body" "$(pw_sign "$body" "$secret")"
  eq "valid" "$STATUS" 200
  eq "disputed by a valid delivery" "$(pw_status "$pay")" disputed
  # Unknown payment: acknowledged (the PSP stops retrying), recorded, no effect.
  body=$(pw_event "evt_pwunk$rnd" payment_intent.succeeded "{\"id\":\"pi_nosuch$rnd\",\"object\":\"payment_intent\",\"amount_received\":5}")
  pw_post "$body" "$(pw_sign "$body" "$secret")"
  eq "unknown payment acked" "$STATUS" 200
  eq "unknown payment recorded" "$(pw_count "SELECT outcome FROM psp_webhook_events WHERE event_id = 'evt_pwunk$rnd'")" payment_unknown
}

t_pw_three_ds_async_result() {
  local pay pi body secret rnd
  secret=$(cat $PW_SECRET_FILE); rnd=$(openssl rand -hex 8)
  # A signed authorization result moves a requires_action payment on at once
  # (the PSP itself still says requires_action, so only the webhook can).
  tokenize 4000000000003220; pay "$(j .id)"
  eq "3DS payment" "$(j .status)" requires_action
  pay=$(j .id); pi=$(j .psp_reference)
  body=$(pw_event "evt_pw3ds$rnd" payment_intent.succeeded \
    "{\"id\":\"$pi\",\"object\":\"payment_intent\",\"amount\":1500,\"amount_received\":1500,\"currency\":\"usd\",\"status\":\"succeeded\"}")
  pw_post "$body" "$(pw_sign "$body" "$secret")"
  eq "3DS webhook" "$STATUS" 200
  eq "applied" "$(j .applied)" 1
  eq "captured by the webhook" "$(pw_status "$pay")" captured
  http GET "$GATEWAY_URL/v1/payments/$pay/events" "$STRONGROOM_SK"
  eq "3DS events" "$(j '[.data[].type] | join(",")')" "payment.created,payment.requires_action,payment.processing,payment.captured"
  # pspsim's own webhook after the cardholder completes (and fails) 3-D Secure.
  tokenize 4000008400001629; pay "$(j .id)"
  pay=$(j .id); pi=$(j .psp_reference)
  pw_sim POST "/_sim/payment_intents/$pi/3ds" >/dev/null
  pw_wait "$pay" failed 10 || fail "3DS decline did not fail the payment"
  http GET "$GATEWAY_URL/v1/payments/$pay" "$STRONGROOM_SK"
  eq "declined after 3DS" "$(j .failure_code)" card_declined
  wait_pw_row() { local i; for ((i = 0; i < 50; i++)); do [ -n "$(pw_count "SELECT 1 FROM psp_webhook_events WHERE payment_id = '$1'")" ] && return 0; sleep 0.1; done; return 1; }
  wait_pw_row "$pay" || fail "pspsim's payment_intent.payment_failed was not recorded"
}

t_pw_refund_webhook_no_double_refund() {
  local pay n_ev
  tokenize 4242424242424242; pay "$(j .id)"
  pay=$(j .id)
  http POST "$GATEWAY_URL/v1/payments/$pay/refunds" "$STRONGROOM_SK" '{"amount":500}'
  eq "refund" "$STATUS" 201
  sleep 1   # pspsim's charge.refunded arrives 200 ms later
  eq "refund webhook recorded" "$(pw_count "SELECT count(*) FROM psp_webhook_events WHERE payment_id = '$pay' AND type = 'refund.succeeded'")" 1
  http GET "$GATEWAY_URL/v1/payments/$pay" "$STRONGROOM_SK"
  eq "refunded once" "$(j .amount_refunded)" 500
  eq "partially refunded" "$(j .status)" partially_refunded
}

t_pw_vault_endpoint_gateway_only() {
  local body sig s
  body=$(pw_event "evt_pwv$(openssl rand -hex 6)" customer.created '{"id":"cus_1"}')
  sig=$(pw_sign "$body" "$(cat $PW_SECRET_FILE)")
  # Another client identity is refused during the handshake (invariant 5, docs/invariants.md).
  s=$(curl -sS -o /dev/null -w '%{http_code}' "${VINT[@]}" --cert var/pki/psp-control.crt --key var/pki/psp-control.key \
      -H 'Content-Type: application/json' -H "Strongroom-PSP-Signature: $sig" --data-binary "$body" \
      "$VAULT_INTERNAL_URL/v1/psp_webhooks/stripe" 2>/dev/null) || s=000
  eq "egress identity refused" "$s" 000
  # The gateway's identity: verified and normalized, an event of no interest is "other".
  BODY=$(curl -sS "${VINT[@]}" --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key \
      -H 'Content-Type: application/json' -H "Strongroom-PSP-Signature: $sig" --data-binary "$body" \
      "$VAULT_INTERNAL_URL/v1/psp_webhooks/stripe")
  eq "verified" "$(j '.events[0].type')" other
  eq "no merchant" "$(j .merchant)" null
  BODY=$(curl -sS "${VINT[@]}" --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key \
      -H 'Content-Type: application/json' -H "Strongroom-PSP-Signature: ${sig}0" --data-binary "$body" \
      "$VAULT_INTERNAL_URL/v1/psp_webhooks/stripe")
  eq "bad signature at the vault" "$(j .error.code)" signature_invalid
  BODY=$(curl -sS "${VINT[@]}" --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key \
      -H 'Content-Type: application/json' -H "Strongroom-PSP-Signature: $sig" --data-binary "$body" \
      "$VAULT_INTERNAL_URL/v1/psp_webhooks/adyenx")
  eq "unknown connector at the vault" "$(j .error.code)" resource_missing
}
