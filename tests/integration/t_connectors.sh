# Issue 5: PSP connectors and routing on the real stack (pspsim speaks both
# Stripe's and Adyen's wire formats over mutual TLS; counts are read from
# pspsim's GET /_sim/stats). Routing: the dev config maps US -> stripe,
# DE/NL/... -> adyen, region eu -> adyen, default stripe (scripts/up.sh).
# Merchants with their own routing are created here, never the shared one.

conn_stat() { psp_stats | jq -r ".$1"; }
conn_adyen_faults() { curl -sS "${PSP[@]}" --cert var/pki/psp-control.crt --key var/pki/psp-control.key \
  -H 'Content-Type: application/json' --data-binary "$1" "$PSP_URL/_sim/adyen/faults" >/dev/null; }
# conn_merchant NAME ROUTING_JSON: a new merchant (CONN_SK, CONN_PK) with that routing set via the API.
conn_merchant() {
  local out
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "$1" 2>/dev/null) || { fail "merchant create"; return 1; }
  CONN_SK=$(jq -r .secret_key <<<"$out"); CONN_PK=$(jq -r .publishable_key <<<"$out"); CONN_MID=$(jq -r .id <<<"$out")
  http PUT "$GATEWAY_URL/v1/routing" "$CONN_SK" "$2"
  eq "routing set" "$STATUS" 200
}
# conn_pay KEY PK CARD [CAPTURE_METHOD] [AMOUNT]: tokenize and pay (EUR); BODY is the payment.
conn_pay() {
  tokenize_as "$2" "$3"; local tok; tok=$(j .id)
  http POST "$GATEWAY_URL/v1/payments" "$1" "{\"amount\":${5:-1500},\"currency\":\"eur\",\"payment_method\":\"$tok\",\"capture_method\":\"${4:-automatic}\"}"
}
conn_wait_status() {  # KEY PAY WANT [SECONDS]
  local i
  for ((i = 0; i < ${4:-10} * 5; i++)); do
    http GET "$GATEWAY_URL/v1/payments/$2" "$1"
    [ "$(j .status)" = "$3" ] && return 0
    sleep 0.2
  done
  return 1
}

t_conn_adyen_end_to_end() {
  local p0 c0 r0 i0 pay
  p0=$(conn_stat adyen_payments); c0=$(conn_stat adyen_captures); r0=$(conn_stat adyen_refunds); i0=$(psp_intents)
  # A German card (Stripe's published DE test card): routed to adyen by country.
  conn_pay "$STRONGROOM_SK" "$STRONGROOM_PK" 4000002760000016 manual 2500
  eq "created" "$STATUS" 201; eq "authorized" "$(j .status)" authorized
  eq "connector" "$(j .connector)" adyen; eq "route" "$(j .route_reason)" country
  [[ $(j .psp_reference) =~ ^[A-Z0-9]{16}$ ]] || fail "adyen pspReference shape: $(j .psp_reference)"
  pay=$(j .id)
  http POST "$GATEWAY_URL/v1/payments/$pay/capture" "$STRONGROOM_SK" '{}'
  eq "capture" "$STATUS" 200; eq "captured" "$(j .status)" captured; eq "amount captured" "$(j .amount_captured)" 2500
  http POST "$GATEWAY_URL/v1/payments/$pay/refunds" "$STRONGROOM_SK" '{"amount":1000}'
  eq "refund" "$STATUS" 201; eq "refund succeeded" "$(j .status)" succeeded
  http GET "$GATEWAY_URL/v1/payments/$pay" "$STRONGROOM_SK"
  eq "partially refunded" "$(j .status)" partially_refunded
  eq "route recorded" "$(j .connector)/$(j .route_reason)" adyen/country
  eq "adyen payments" "$(( $(conn_stat adyen_payments) - p0 ))" 1
  eq "adyen captures" "$(( $(conn_stat adyen_captures) - c0 ))" 1
  eq "adyen refunds" "$(( $(conn_stat adyen_refunds) - r0 ))" 1
  eq "nothing at stripe" "$(( $(psp_intents) - i0 ))" 0
  eq "vault recorded the route" "$(pg -d vault -At <<<"SELECT connector || '/' || route_reason FROM authorizations WHERE payment_id = '$pay'")" adyen/country
}

t_conn_stripe_end_to_end() {
  local p0 i0 c0 r0 pay
  p0=$(conn_stat adyen_payments); i0=$(psp_intents); c0=$(conn_stat captures); r0=$(conn_stat refunds)
  conn_pay "$STRONGROOM_SK" "$STRONGROOM_PK" 4242424242424242 manual 2500
  eq "authorized" "$(j .status)" authorized
  eq "connector" "$(j .connector)/$(j .route_reason)" stripe/country
  [[ $(j .psp_reference) == pi_* ]] || fail "stripe reference shape"
  pay=$(j .id)
  http POST "$GATEWAY_URL/v1/payments/$pay/capture" "$STRONGROOM_SK" '{}'
  eq "captured" "$(j .status)" captured
  http POST "$GATEWAY_URL/v1/payments/$pay/refunds" "$STRONGROOM_SK" '{"amount":2500}'
  eq "refund succeeded" "$(j .status)" succeeded
  eq "stripe intents" "$(( $(psp_intents) - i0 ))" 1
  eq "stripe captures" "$(( $(conn_stat captures) - c0 ))" 1
  eq "stripe refunds" "$(( $(conn_stat refunds) - r0 ))" 1
  eq "nothing at adyen" "$(( $(conn_stat adyen_payments) - p0 ))" 0
}

t_conn_adyen_decline_codes() {
  # The merchant's override sends the test cards of docs/development.md to adyen: Adyen's
  # refusalReasonCodes come back as Strongroom's normalized codes.
  conn_merchant "Adyen declines" '{"primary":"adyen"}' || return
  local card want
  while read -r card want; do
    conn_pay "$CONN_SK" "$CONN_PK" "$card"
    eq "$card created" "$STATUS" 201
    eq "$card status" "$(j .status)" failed
    eq "$card failure_code" "$(j .failure_code)" "$want"
    eq "$card connector" "$(j .connector)/$(j .route_reason)" adyen/override
  done <<'EOF'
4000000000000002 card_declined
4000000000009995 insufficient_funds
4000000000000069 expired_card
4000000000000127 incorrect_cvc
4000000000000119 processing_error
EOF
  conn_pay "$CONN_SK" "$CONN_PK" 4000000000003220
  eq "3DS on adyen" "$(j .status)" requires_action
  [[ $(j .next_action.redirect_to_url.url) == https://psp.strongroom.test:*/adyen/3ds/* ]] || fail "adyen redirect url: $(j .next_action.redirect_to_url.url)"
  conn_pay "$CONN_SK" "$CONN_PK" 5555555555554444
  eq "mastercard on adyen" "$(j .status)/$(j .connector)" captured/adyen
}

t_conn_routing_by_country_and_region() {
  local card want
  while read -r card want; do
    conn_pay "$STRONGROOM_SK" "$STRONGROOM_PK" "$card"
    eq "$card routed" "$(j .status) $(j .connector)/$(j .route_reason)" "$want"
  done <<'EOF'
4000005280000002 captured adyen/country
5200005280000007 captured adyen/country
2223002760000003 captured adyen/country
5555555555554444 captured stripe/country
6011111111111117 captured stripe/default
EOF
  # A card the BIN table does not know: the merchant's region decides.
  conn_merchant "EU region" '{"region":"eu"}' || return
  conn_pay "$CONN_SK" "$CONN_PK" 6011111111111117
  eq "region eu" "$(j .connector)/$(j .route_reason)" adyen/region
  conn_pay "$CONN_SK" "$CONN_PK" 4242424242424242
  eq "country beats region" "$(j .connector)/$(j .route_reason)" stripe/country
}

t_conn_routing_override_and_api() {
  conn_merchant "Stripe override" '{"primary":"stripe","secondary":"adyen"}' || return
  eq "routing shown" "$(j '[.primary, .secondary, .region] | map(tostring) | join(",")')" "stripe,adyen,null"
  conn_pay "$CONN_SK" "$CONN_PK" 4000002760000016
  eq "override beats country" "$(j .connector)/$(j .route_reason)" stripe/override
  http GET "$GATEWAY_URL/v1/routing" "$CONN_SK"
  eq "GET routing" "$STATUS" 200; eq "connectors offered" "$(j '.connectors | sort | join(",")')" adyen,stripe
  # Refusals: unknown connector or region, same primary and secondary, unknown field, wrong type.
  local body
  for body in '{"primary":"paypal"}' '{"region":"mars"}' '{"primary":"adyen","secondary":"adyen"}' \
              '{"primary":"adyen","colour":"red"}' '{"primary":5}'; do
    http PUT "$GATEWAY_URL/v1/routing" "$CONN_SK" "$body"
    eq "refused $body" "$STATUS" 400
    [[ $BODY == *paypal* || $BODY == *mars* ]] && fail "rejected value echoed"
  done
  http GET "$GATEWAY_URL/v1/routing" "$CONN_SK"
  eq "unchanged after refusals" "$(j .primary)/$(j .secondary)" stripe/adyen
  # Only the admin role may change routing.
  local ro
  ro=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json key create --merchant "$CONN_MID" --role read_only 2>/dev/null | jq -r .secret_key)
  [[ $ro == sk_* ]] || fail "read_only key not created"
  http PUT "$GATEWAY_URL/v1/routing" "$ro" '{"primary":"adyen"}'
  eq "read_only key may not change routing" "$STATUS" 403
  http GET "$GATEWAY_URL/v1/routing" "$ro"
  eq "read_only key may read it" "$STATUS" 200
  # Clearing it: back to country routing.
  http PUT "$GATEWAY_URL/v1/routing" "$CONN_SK" '{}'
  eq "cleared" "$STATUS" 200
  conn_pay "$CONN_SK" "$CONN_PK" 4000002760000016
  eq "after clearing" "$(j .connector)/$(j .route_reason)" adyen/country
}

t_conn_retry_then_success() {
  # One 503 "not processed": retried with backoff and the same Idempotency-Key
  # on the same connector; no failover, one payment at adyen.
  conn_merchant "Retry" '{"primary":"adyen","secondary":"stripe"}' || return
  local p0 u0 i0
  p0=$(conn_stat adyen_payments); u0=$(conn_stat adyen_unavailable); i0=$(psp_intents)
  conn_adyen_faults '{"unavailable":1}'
  conn_pay "$CONN_SK" "$CONN_PK" 4242424242424242
  eq "captured" "$(j .status)" captured
  eq "same connector" "$(j .connector)/$(j .route_reason)" adyen/override
  eq "refused once" "$(( $(conn_stat adyen_unavailable) - u0 ))" 1
  eq "one adyen payment" "$(( $(conn_stat adyen_payments) - p0 ))" 1
  eq "nothing at stripe" "$(( $(psp_intents) - i0 ))" 0
  grep -q '"event":"auth.psp_retry"' var/log/vaultd.log || fail "retry not logged"
}

t_conn_failover_before_acceptance() {
  # The primary refuses every attempt before processing (503, documented as
  # not processed): the secondary gets the one authorization.
  conn_merchant "Failover" '{"primary":"adyen","secondary":"stripe"}' || return
  local p0 u0 i0 r0 pay
  p0=$(conn_stat adyen_payments); u0=$(conn_stat adyen_unavailable); i0=$(psp_intents); r0=$(conn_stat refunds)
  conn_adyen_faults '{"unavailable":3}'     # psp_retry_max 2: three attempts
  conn_pay "$CONN_SK" "$CONN_PK" 4000002760000016
  conn_adyen_faults '{"unavailable":0}'
  eq "created" "$STATUS" 201; eq "captured" "$(j .status)" captured
  eq "failed over" "$(j .connector)/$(j .route_reason)" stripe/failover
  pay=$(j .id)
  eq "one authorization at the secondary" "$(( $(psp_intents) - i0 ))" 1
  eq "zero accepted at the primary" "$(( $(conn_stat adyen_payments) - p0 ))" 0
  eq "primary refused 3 times" "$(( $(conn_stat adyen_unavailable) - u0 ))" 3
  grep -q '"event":"auth.failover"' var/log/vaultd.log || fail "failover not logged"
  # Later operations go to the connector recorded on the payment.
  http POST "$GATEWAY_URL/v1/payments/$pay/refunds" "$CONN_SK" '{"amount":500}'
  eq "refund" "$(j .status)" succeeded
  eq "refund at stripe" "$(( $(conn_stat refunds) - r0 ))" 1
}

t_conn_unknown_never_fails_over() {
  # The primary's answer is lost after it processed the payment: `unknown`,
  # reconciled against the SAME connector; the secondary is never asked.
  conn_merchant "Unknown" '{"primary":"adyen","secondary":"stripe"}' || return
  local p0 i0 rp0 pay
  p0=$(conn_stat adyen_payments); i0=$(psp_intents); rp0=$(conn_stat adyen_replays)
  conn_adyen_faults '{"drop_next":1}'
  conn_pay "$CONN_SK" "$CONN_PK" 4000002760000016
  eq "created" "$STATUS" 201; eq "answer lost -> unknown" "$(j .status)" unknown
  pay=$(j .id)
  conn_wait_status "$CONN_SK" "$pay" captured 15 || fail "unknown not reconciled ($(j .status))"
  eq "reconciled at the same connector" "$(j .connector)/$(j .route_reason)" adyen/override
  eq "one payment at adyen" "$(( $(conn_stat adyen_payments) - p0 ))" 1
  [ "$(( $(conn_stat adyen_replays) - rp0 ))" -ge 1 ] || fail "reconciliation did not replay the PSP's saved answer"
  eq "NO authorization at the secondary" "$(( $(psp_intents) - i0 ))" 0
  grep "\"payment_id\":\"$pay\"" var/log/vaultd.log | grep -q '"event":"auth.failover"' && fail "failed over after sending"
  true
}

t_conn_adyen_3ds() {
  # RedirectShopper: the action.url serves a challenge page on pspsim's
  # browser listener; answering it moves the payment on (the gateway's worker
  # asks the connector for the status: pspsim's GET stand-in, ADR 0090).
  conn_merchant "Adyen 3DS" '{"primary":"adyen"}' || return
  local url pay chal=(--cacert var/pki/ca.crt --resolve "psp.strongroom.test:$PSP_CHALLENGE_PORT:127.0.0.1")
  conn_pay "$CONN_SK" "$CONN_PK" 4000000000003220
  eq "requires_action" "$(j .status)/$(j .connector)" requires_action/adyen
  pay=$(j .id); url=$(j .next_action.redirect_to_url.url)
  [[ $url == "https://psp.strongroom.test:$PSP_CHALLENGE_PORT/adyen/3ds/$(j .psp_reference)" ]] || fail "redirect url $url"
  curl -sS "${chal[@]}" "$url" | grep -q '<form method=post' || fail "no challenge form"
  eq "answered" "$(curl -sS -o /dev/null -w '%{http_code}' "${chal[@]}" -d result=authenticate "$url/complete")" 200
  conn_wait_status "$CONN_SK" "$pay" captured 10 || fail "3DS success not applied ($(j .status))"
  eq "page gone once answered" "$(curl -sS -o /dev/null -w '%{http_code}' "${chal[@]}" "$url")" 404
  # Failed authentication, and the card that is declined after 3-D Secure.
  conn_pay "$CONN_SK" "$CONN_PK" 4000000000003220; pay=$(j .id); url=$(j .next_action.redirect_to_url.url)
  curl -sS -o /dev/null "${chal[@]}" -d result=fail "$url/complete"
  conn_wait_status "$CONN_SK" "$pay" failed 10 || fail "failed challenge not applied ($(j .status))"
  conn_pay "$CONN_SK" "$CONN_PK" 4000008400001629; pay=$(j .id); url=$(j .next_action.redirect_to_url.url)
  curl -sS -o /dev/null "${chal[@]}" -d result=authenticate "$url/complete"
  conn_wait_status "$CONN_SK" "$pay" failed 10 || fail "3DS decline not applied ($(j .status))"
  eq "declined after 3DS" "$(j .failure_code)" card_declined
}

t_conn_timeout_is_unknown_not_failover() {
  # A real timeout: the primary holds the request longer than psp_timeout_ms
  # (3 s in the dev config) and then processes it. The payment is `unknown`,
  # the secondary is never asked, and reconciliation with the same connector
  # and the same Idempotency-Key finds the one payment (a replay).
  conn_merchant "Timeout" '{"primary":"adyen","secondary":"stripe"}' || return
  local p0 i0 rp0 pay i t0=$SECONDS
  p0=$(conn_stat adyen_payments); i0=$(psp_intents); rp0=$(conn_stat adyen_replays)
  conn_adyen_faults '{"delay_ms":4500}'
  conn_pay "$CONN_SK" "$CONN_PK" 4000002760000016
  eq "created" "$STATUS" 201; eq "timeout -> unknown" "$(j .status)" unknown
  [ $((SECONDS - t0)) -ge 3 ] || fail "answered before the timeout"
  pay=$(j .id)
  for ((i = 0; i < 50; i++)); do   # the PSP finishes what it was sent
    [ "$(conn_stat adyen_payments)" -gt "$p0" ] && break; sleep 0.1
  done
  conn_adyen_faults '{"delay_ms":0}'
  conn_wait_status "$CONN_SK" "$pay" captured 20 || fail "timeout not reconciled ($(j .status))"
  eq "reconciled at the same connector" "$(j .connector)/$(j .route_reason)" adyen/override
  eq "one payment at adyen" "$(( $(conn_stat adyen_payments) - p0 ))" 1
  [ "$(( $(conn_stat adyen_replays) - rp0 ))" -ge 1 ] || fail "reconciliation was not an idempotent replay"
  eq "NO authorization at the secondary" "$(( $(psp_intents) - i0 ))" 0
}

# conn_variant_authorize TOKEN KEY: POST /v1/authorizations (as the gateway)
# to the variant vaultd started by vault_variant (t_vault_lifecycle.sh).
conn_variant_authorize() {
  local port=$((VAULT_PUBLIC_PORT + 51))
  BODY=$(curl -sS --cacert var/pki/ca.crt --resolve "vault-internal.strongroom.test:$port:127.0.0.1" \
    --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key -H 'Content-Type: application/json' \
    -w '\n%{http_code}' "https://vault-internal.strongroom.test:$port/v1/authorizations" \
    --data-binary "{\"merchant\":\"$CONN_MID\",\"token\":\"$1\",\"payment_id\":\"pay_$2\",\"amount\":1500,\"currency\":\"eur\",\"capture\":true,\"idempotency_key\":\"$2\"}")
  STATUS=${BODY##*$'\n'}; BODY=${BODY%$'\n'*}
}

t_conn_failover_refused_and_tls_failure() {
  # The other two "provably not accepted" cases, on a second vaultd (same
  # database and HSM) whose adyen endpoint is (1) a closed port: connection
  # refused; (2) a TLS server with another name (the vault's own public
  # listener): the handshake fails before anything is written.
  conn_merchant "Failover transport" '{"primary":"adyen","secondary":"stripe"}' || return
  local p0 i0 tok closed=$((VAULT_PUBLIC_PORT + 60)) target key
  for target in $closed $VAULT_PUBLIC_PORT; do
    p0=$(conn_stat adyen_payments); i0=$(psp_intents)
    vault_variant conn-fo ".psp_adyen_port = $target"
    tokenize_as "$CONN_PK" 4000002760000016; tok=$(j .id)
    key="fo-$target-$(openssl rand -hex 4)"
    conn_variant_authorize "$tok" "$key"
    variant_stop
    eq "port $target: authorized" "$STATUS $(j .status)" "200 captured"
    eq "port $target: failed over" "$(j .connector)/$(j .route_reason)" stripe/failover
    eq "port $target: one authorization at the secondary" "$(( $(psp_intents) - i0 ))" 1
    eq "port $target: nothing at the primary" "$(( $(conn_stat adyen_payments) - p0 ))" 0
    eq "port $target: recorded" "$(pg -d vault -At <<<"SELECT connector || '/' || route_reason FROM authorizations WHERE idempotency_key = '$key'")" stripe/failover
  done
  grep -q '"event":"auth.failover"' var/log/vaultd-conn-fo.log || fail "failover not logged by the variant"
}
