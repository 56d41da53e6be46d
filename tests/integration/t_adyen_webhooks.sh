# Issue 5: Adyen notifications, end to end on the real stack. pspsim's Adyen
# dialect sends Adyen standard notifications (one HMAC-signed
# NotificationRequestItem per delivery) to the gateway's
# /v1/psp_webhooks/adyen; the vault verifies each item's HMAC (ADR 0090) and
# the gateway applies each event once (ADR 0096). the test cards of docs/development.md route to
# stripe by country, so a merchant of our own routes to adyen by override.
# Counts are read at pspsim (GET /_sim/webhooks) and in the gateway database.
# Sourced by tests/integration/run.sh (helpers: http, j, eq, fail, tokenize_as, pg...).

AW_HMAC_FILE=var/pspsim-keys/psp-adyen-hmac
AW_ACCOUNT=StrongroomDevECOM   # scripts/up.sh: the platform's Adyen merchant account
AW_SK= AW_PK=

aw_sim() {  # METHOD PATH [JSON]: pspsim's test hooks (mTLS as the vault's egress)
  curl -sS "${PSP[@]}" --cert var/pki/psp-control.crt --key var/pki/psp-control.key -X "$1" \
    ${3:+-H 'Content-Type: application/json' --data-binary "$3"} "$PSP_URL$2"
}
aw_db() { pg -d gateway -At <<<"$1"; }
# aw_merchant: one merchant (AW_SK, AW_PK) whose payments route to adyen.
aw_merchant() {
  local out
  [ -n "$AW_SK" ] && return 0
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "Adyen notifications" 2>/dev/null) \
    || { fail "merchant create"; return 1; }
  AW_SK=$(jq -r .secret_key <<<"$out"); AW_PK=$(jq -r .publishable_key <<<"$out")
  http PUT "$GATEWAY_URL/v1/routing" "$AW_SK" '{"primary":"adyen"}'
  [ "$STATUS" = 200 ] || { fail "routing override: HTTP $STATUS"; AW_SK=; return 1; }
}
aw_pay() {  # CARD [CAPTURE_METHOD] [AMOUNT]: tokenize and pay (EUR) as AW_SK; BODY is the payment
  tokenize_as "$AW_PK" "$1"; local tok; tok=$(j .id)
  http POST "$GATEWAY_URL/v1/payments" "$AW_SK" \
    "{\"amount\":${3:-1500},\"currency\":\"eur\",\"payment_method\":\"$tok\",\"capture_method\":\"${2:-automatic}\"}"
}
aw_status() { http GET "$GATEWAY_URL/v1/payments/$1" "$AW_SK"; j .status; }
aw_wait() {  # PAY WANT [SECONDS]
  local i
  for ((i = 0; i < ${3:-10} * 5; i++)); do
    [ "$(aw_status "$1")" = "$2" ] && return 0
    sleep 0.2
  done
  return 1
}
aw_wait_db() {  # SQL [SECONDS]: until the query answers something
  local i
  for ((i = 0; i < ${2:-10} * 10; i++)); do
    [ -n "$(aw_db "$1")" ] && return 0
    sleep 0.1
  done
  return 1
}
# aw_sign ITEM_JSON [HEXKEY]: the item with additionalData.hmacSignature, computed
# with openssl (independent of pspsim's libsodium and the vault's mbedTLS code).
aw_sign() {
  local key=${2:-$(cat "$AW_HMAC_FILE")} data sig
  data=$(jq -j '[.pspReference, .originalReference // "", .merchantAccountCode, .merchantReference // "",
                 (.amount.value | tostring), .amount.currency, .eventCode, .success] | join(":")' <<<"$1")
  sig=$(printf '%s' "$data" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | base64 -w0)
  jq -c --arg s "$sig" '.additionalData = ((.additionalData // {}) + {hmacSignature: $s})' <<<"$1"
}
aw_item() {  # CODE PSP ORIG REF VALUE [SUCCESS]: an unsigned NotificationRequestItem
  jq -cn --arg c "$1" --arg p "$2" --arg o "$3" --arg r "$4" --argjson v "$5" --arg s "${6:-true}" \
    --arg a "$AW_ACCOUNT" \
    '{amount: {currency: "EUR", value: $v}, eventCode: $c, eventDate: (now | todate),
      merchantAccountCode: $a, merchantReference: $r, pspReference: $p, success: $s}
     + (if $o == "" then {} else {originalReference: $o} end)'
}
aw_body() { jq -cn --argjson items "[$(IFS=,; echo "$*")]" \
  '{live: "false", notificationItems: [$items[] | {NotificationRequestItem: .}]}'; }
aw_post() { http POST "$GATEWAY_URL/v1/psp_webhooks/adyen" "" "$1"; }
aw_ref() {  # a fresh pspReference-shaped id (letters first: never Luhn-looking digits)
  echo "TST$(openssl rand -hex 7 | tr a-f A-F)" | cut -c1-16
}

t_aw_dispute_card_chargeback() {
  local pay psp ev cb
  aw_merchant || return
  aw_pay 4000000000000259
  eq "0259 on adyen" "$(j .status)/$(j .connector)/$(j .route_reason)" captured/adyen/override
  pay=$(j .id); psp=$(j .psp_reference)
  aw_wait "$pay" disputed 10 || { fail "4000000000000259 did not become disputed via adyen (status $(aw_status "$pay"))"; return; }
  ev=$(aw_db "SELECT event_id FROM psp_webhook_events WHERE provider = 'adyen' AND payment_id = '$pay'")
  eq "recorded as Adyen's CHARGEBACK" "$ev" "CHARGEBACK:${ev#CHARGEBACK:}"
  cb=${ev#CHARGEBACK:}; cb=${cb%:true}
  [[ $cb =~ ^[A-Z0-9]{16}$ && $cb != "$psp" ]] || fail "the chargeback has no pspReference of its own: $ev"
  eq "dedup row" "$(aw_db "SELECT type || '/' || psp_reference || '/' || outcome FROM psp_webhook_events WHERE event_id = '$ev'")" \
    "dispute.created/$psp/applied"
  http GET "$GATEWAY_URL/v1/payments/$pay/events" "$AW_SK"
  eq "events" "$(j '[.data[].type] | join(",")')" "payment.created,payment.captured,payment.disputed,dispute.funds_withdrawn"
  # The dispute is an object of its own (ADR 0132): our id, the chargeback's kept for the vault.
  eq "dispute id" "$(aw_db "SELECT psp_dispute_id FROM disputes WHERE id = '$(j '.data[2].data.object.id')'")" "$cb"
  eq "dispute amount" "$(j '.data[2].data.object.amount')/$(j '.data[2].data.object.currency')" 1500/eur
  eq "outbox row" "$(aw_db "SELECT count(*) FROM outbox o JOIN payment_events e ON e.id = o.event_id WHERE e.payment_id = '$pay' AND o.topic = 'payment.disputed'")" 1
  # pspsim sent it once, signed, and the gateway acknowledged it.
  eq "sent by pspsim" "$(aw_sim GET /_sim/webhooks | jq -c --arg e "$ev" '[.data[] | select(.id == $e) | {type, path, deliveries}]')" \
    "[{\"type\":\"CHARGEBACK\",\"path\":\"/v1/psp_webhooks/adyen\",\"deliveries\":[200]}]"
}

t_aw_replay_three_times_one_effect() {
  local pay ev n_ev n_out st
  aw_merchant || return
  aw_pay 4000000000000259
  pay=$(j .id)
  aw_wait "$pay" disputed 10 || { fail "not disputed"; return; }
  ev=$(aw_db "SELECT event_id FROM psp_webhook_events WHERE provider = 'adyen' AND payment_id = '$pay'")
  [[ $ev == CHARGEBACK:* ]] || { fail "no recorded Adyen event for $pay"; return; }
  n_ev=$(aw_db "SELECT count(*) FROM payment_events WHERE payment_id = '$pay'")
  n_out=$(aw_db "SELECT count(*) FROM outbox o JOIN payment_events e ON e.id = o.event_id WHERE e.payment_id = '$pay'")
  st=$(aw_sim POST /_sim/webhooks/replay "{\"event\":\"$ev\",\"times\":3}" | jq -c .statuses)
  eq "replays answered" "$st" "[200,200,200]"
  eq "one dedup row" "$(aw_db "SELECT count(*) FROM psp_webhook_events WHERE provider = 'adyen' AND event_id = '$ev'")" 1
  eq "no new payment event" "$(aw_db "SELECT count(*) FROM payment_events WHERE payment_id = '$pay'")" "$n_ev"
  eq "no new outbox row" "$(aw_db "SELECT count(*) FROM outbox o JOIN payment_events e ON e.id = o.event_id WHERE e.payment_id = '$pay'")" "$n_out"
  eq "one payment.disputed" "$(aw_db "SELECT count(*) FROM payment_events WHERE payment_id = '$pay' AND type = 'payment.disputed'")" 1
  eq "pspsim recorded 4 deliveries" "$(aw_sim GET /_sim/webhooks | jq -c --arg e "$ev" '[.data[] | select(.id == $e) | .deliveries[]]')" "[200,200,200,200]"
  # The gateway's answer is Adyen's acknowledgement, replay or not.
  aw_post "$(aw_body "$(aw_sign "$(aw_item CHARGEBACK "${ev:11:16}" "$(aw_db "SELECT psp_reference FROM payments WHERE id = '$pay'")" "$pay" 1500)")")"
  eq "replay by hand" "$STATUS/$BODY" "200/[accepted]"
  eq "still one dedup row" "$(aw_db "SELECT count(*) FROM psp_webhook_events WHERE provider = 'adyen' AND event_id = '$ev'")" 1
}

t_aw_tampered_item_refused() {
  local pay psp cb item good bad n_ev body
  aw_merchant || return
  aw_pay 4242424242424242
  eq "paid on adyen" "$(j .status)/$(j .connector)" captured/adyen
  pay=$(j .id); psp=$(j .psp_reference); cb=$(aw_ref)
  n_ev=$(aw_db "SELECT count(*) FROM payment_events WHERE payment_id = '$pay'")
  item=$(aw_item CHARGEBACK "$cb" "$psp" "$pay" 1500)
  good=$(aw_sign "$item")
  # The value changed after signing: refused, nothing written.
  bad=$(jq -c '.amount.value = 1' <<<"$good")
  aw_post "$(aw_body "$bad")"
  eq "tampered value" "$STATUS" 400; eq "tampered code" "$(j .error.code)" signature_invalid
  grep -q "$cb" <<<"$BODY" && fail "the item was echoed"
  # Other tampering: the account, the event code, success, the original reference.
  for f in '.merchantAccountCode = "OtherAccount"' '.eventCode = "REFUND"' '.success = "false"' \
           ".originalReference = \"$(aw_ref)\""; do
    aw_post "$(aw_body "$(jq -c "$f" <<<"$good")")"
    eq "tampered ($f)" "$STATUS" 400
  done
  # Signed with another key, or not signed at all.
  aw_post "$(aw_body "$(aw_sign "$item" "$(openssl rand -hex 32)")")"
  eq "another key" "$STATUS/$(j .error.code)" 400/signature_invalid
  aw_post "$(aw_body "$item")"
  eq "no hmacSignature" "$STATUS" 400
  # One good item and one tampered item in the same delivery: nothing is used.
  aw_post "$(aw_body "$good" "$(aw_sign "$(aw_item REFUND "$(aw_ref)" "$psp" "$pay" 500)" | jq -c '.amount.value = 1500')")"
  eq "one bad item of two" "$STATUS" 400
  aw_post '{"live":"false","notificationItems":['
  eq "malformed JSON" "$STATUS" 400
  aw_post '{"live":"false","notificationItems":[]}'
  eq "no items" "$STATUS" 400
  eq "nothing recorded" "$(aw_db "SELECT count(*) FROM psp_webhook_events WHERE provider = 'adyen' AND (psp_reference = '$psp' OR event_id LIKE '%$cb%')")" 0
  eq "no payment event" "$(aw_db "SELECT count(*) FROM payment_events WHERE payment_id = '$pay'")" "$n_ev"
  eq "still captured" "$(aw_status "$pay")" captured
  # The same item untouched: accepted, one effect (the test can fail).
  aw_post "$(aw_body "$good")"
  eq "valid item" "$STATUS/$BODY" "200/[accepted]"
  eq "disputed by the valid item" "$(aw_status "$pay")" disputed
  eq "recorded once" "$(aw_db "SELECT outcome FROM psp_webhook_events WHERE provider = 'adyen' AND event_id = 'CHARGEBACK:$cb:true'")" applied
  # A payment we do not know: acknowledged ([accepted], Adyen stops retrying), recorded, no effect.
  body=$(aw_body "$(aw_sign "$(aw_item AUTHORISATION "$cb" "" "pay_unknown" 5)")")
  aw_post "$body"
  eq "unknown payment acked" "$STATUS/$BODY" "200/[accepted]"
  eq "unknown payment recorded" "$(aw_db "SELECT outcome FROM psp_webhook_events WHERE provider = 'adyen' AND event_id = 'AUTHORISATION:$cb:true'")" payment_unknown
}

t_aw_refund_notification_settles_once() {
  local pay psp n ev rid mod st r0
  aw_merchant || return
  # 1. A refund Adyen accepted ("received"): the REFUND notification that
  #    follows finds it settled and has no second effect.
  aw_pay 4242424242424242
  pay=$(j .id); psp=$(j .psp_reference)
  http POST "$GATEWAY_URL/v1/payments/$pay/refunds" "$AW_SK" '{"amount":500}'
  eq "refund" "$STATUS/$(j .status)" 201/succeeded
  aw_wait_db "SELECT 1 FROM psp_webhook_events WHERE provider = 'adyen' AND payment_id = '$pay' AND type = 'refund.succeeded'" \
    || fail "pspsim's REFUND notification was not recorded"
  ev=$(aw_db "SELECT event_id FROM psp_webhook_events WHERE provider = 'adyen' AND payment_id = '$pay' AND type = 'refund.succeeded'")
  mod=${ev#REFUND:}; mod=${mod%:true}
  # Adyen's convention: the item's pspReference is the refund's own, originalReference the payment's.
  eq "recorded against the payment" "$(aw_db "SELECT psp_reference FROM psp_webhook_events WHERE provider = 'adyen' AND event_id = '$ev'")" "$psp"
  [ "$mod" != "$psp" ] || fail "the REFUND item carries the payment's pspReference"
  http GET "$GATEWAY_URL/v1/payments/$pay" "$AW_SK"
  eq "refunded once" "$(j .amount_refunded)/$(j .status)" 500/partially_refunded
  # 2. A refund whose answer was lost stays pending; Adyen's REFUND
  #    notification settles it, once (replayed 3 times: no second effect).
  aw_pay 4242424242424242
  pay=$(j .id); psp=$(j .psp_reference)
  r0=$(psp_stats | jq -r .adyen_refunds)
  aw_sim POST /_sim/adyen/faults '{"drop_next":1}' >/dev/null
  http POST "$GATEWAY_URL/v1/payments/$pay/refunds" "$AW_SK" '{"amount":700}'
  eq "refund with its answer lost" "$STATUS/$(j .status)" 201/pending
  rid=$(j .id)
  aw_wait_db "SELECT 1 FROM refunds WHERE id = '$rid' AND status = 'succeeded'" 10 \
    || { fail "the pending refund was not settled"; return; }
  ev=$(aw_db "SELECT event_id FROM psp_webhook_events WHERE provider = 'adyen' AND payment_id = '$pay' AND type = 'refund.succeeded'")
  eq "settled by the REFUND notification" "$(aw_db "SELECT outcome FROM psp_webhook_events WHERE provider = 'adyen' AND event_id = '$ev'")" applied
  mod=${ev#REFUND:}; mod=${mod%:true}
  eq "refund carries Adyen's reference" "$(aw_db "SELECT psp_reference FROM refunds WHERE id = '$rid'")" "$mod"
  n=$(aw_db "SELECT count(*) FROM payment_events WHERE payment_id = '$pay'")
  st=$(aw_sim POST /_sim/webhooks/replay "{\"event\":\"$ev\",\"times\":3}" | jq -c .statuses)
  eq "replays answered" "$st" "[200,200,200]"
  eq "one dedup row" "$(aw_db "SELECT count(*) FROM psp_webhook_events WHERE provider = 'adyen' AND event_id = '$ev'")" 1
  eq "no new payment event" "$(aw_db "SELECT count(*) FROM payment_events WHERE payment_id = '$pay'")" "$n"
  eq "one partial refund event" "$(aw_db "SELECT count(*) FROM payment_events WHERE payment_id = '$pay' AND type = 'payment.partially_refunded'")" 1
  http GET "$GATEWAY_URL/v1/payments/$pay" "$AW_SK"
  eq "refunded once" "$(j .amount_refunded)/$(j .status)" 700/partially_refunded
  eq "one refund at pspsim" "$(( $(psp_stats | jq -r .adyen_refunds) - r0 ))" 1
}

t_aw_capture_and_cancel_notifications() {
  local pay psp
  aw_merchant || return
  # Manual capture: the capture is answered "received", CAPTURE follows (no second effect).
  aw_pay 4242424242424242 manual
  eq "authorized on adyen" "$(j .status)/$(j .connector)" authorized/adyen
  pay=$(j .id); psp=$(j .psp_reference)
  http POST "$GATEWAY_URL/v1/payments/$pay/capture" "$AW_SK" '{}'
  eq "capture" "$STATUS/$(j .status)" 200/captured
  aw_wait_db "SELECT 1 FROM psp_webhook_events WHERE provider = 'adyen' AND payment_id = '$pay' AND type = 'capture.succeeded'" \
    || fail "pspsim's CAPTURE notification was not recorded"
  eq "one capture event" "$(aw_db "SELECT count(*) FROM payment_events WHERE payment_id = '$pay' AND type = 'payment.captured'")" 1
  aw_pay 4242424242424242 manual
  pay=$(j .id)
  http POST "$GATEWAY_URL/v1/payments/$pay/cancel" "$AW_SK" '{}'
  eq "cancel" "$STATUS/$(j .status)" 200/voided
  aw_wait_db "SELECT 1 FROM psp_webhook_events WHERE provider = 'adyen' AND payment_id = '$pay' AND type = 'cancel.succeeded'" \
    || fail "pspsim's CANCELLATION notification was not recorded"
  # A CAPTURE notification can move an authorized payment on by itself
  # (pspsim was not asked to capture it): signed here, applied once.
  aw_pay 4242424242424242 manual
  pay=$(j .id); psp=$(j .psp_reference)
  aw_post "$(aw_body "$(aw_sign "$(aw_item CAPTURE "$(aw_ref)" "$psp" "$pay" 1000)")")"
  eq "CAPTURE" "$STATUS/$BODY" "200/[accepted]"
  http GET "$GATEWAY_URL/v1/payments/$pay" "$AW_SK"
  eq "captured by the notification" "$(j .status)/$(j .amount_captured)" captured/1000
}

t_aw_three_ds_authorisation() {
  local pay psp ev
  aw_merchant || return
  # pspsim's own AUTHORISATION once the cardholder completes 3-D Secure.
  aw_pay 4000000000003220
  eq "3DS on adyen" "$(j .status)/$(j .connector)" requires_action/adyen
  pay=$(j .id); psp=$(j .psp_reference)
  aw_sim POST "/_sim/adyen/payments/$psp/3ds" >/dev/null
  aw_wait "$pay" captured 10 || fail "3-D Secure on adyen did not complete (status $(aw_status "$pay"))"
  ev="AUTHORISATION:$psp:true"
  aw_wait_db "SELECT 1 FROM psp_webhook_events WHERE provider = 'adyen' AND event_id = '$ev' AND payment_id = '$pay'" \
    || fail "pspsim's AUTHORISATION was not recorded"
  eq "sent by pspsim" "$(aw_sim GET /_sim/webhooks | jq -c --arg e "$ev" '[.data[] | select(.id == $e) | .deliveries[]]')" "[200]"
  # ... and AUTHORISATION success=false when the card declines after 3-D Secure.
  aw_pay 4000008400001629
  pay=$(j .id); psp=$(j .psp_reference)
  aw_sim POST "/_sim/adyen/payments/$psp/3ds" >/dev/null
  aw_wait "$pay" failed 10 || fail "3DS decline on adyen did not fail the payment"
  http GET "$GATEWAY_URL/v1/payments/$pay" "$AW_SK"
  eq "declined after 3DS" "$(j .failure_code)" card_declined
  aw_wait_db "SELECT 1 FROM psp_webhook_events WHERE provider = 'adyen' AND event_id = 'AUTHORISATION:$psp:false' AND payment_id = '$pay'" \
    || fail "pspsim's AUTHORISATION success=false was not recorded"
  # The notification alone completes it: pspsim still says RedirectShopper
  # (so the reconciliation worker cannot), a signed AUTHORISATION moves it on.
  aw_pay 4000000000003220
  pay=$(j .id); psp=$(j .psp_reference)
  aw_post "$(aw_body "$(aw_sign "$(aw_item AUTHORISATION "$psp" "" "$pay" 1500)")")"
  eq "AUTHORISATION" "$STATUS/$BODY" "200/[accepted]"
  eq "captured by the notification" "$(aw_status "$pay")" captured
  eq "applied" "$(aw_db "SELECT outcome FROM psp_webhook_events WHERE provider = 'adyen' AND event_id = 'AUTHORISATION:$psp:true'")" applied
  http GET "$GATEWAY_URL/v1/payments/$pay/events" "$AW_SK"
  eq "3DS events" "$(j '[.data[].type] | join(",")')" "payment.created,payment.requires_action,payment.processing,payment.captured"
}
