# Attack suite, issue 15 item 5: money moves only as asked. A body the route
# cannot read as JSON must never be taken for "no body" (which means "the
# full amount" to capture and refund). Sourced by tests/integration/run.sh
# after tests/integration/t_*.sh (helpers: http, j, eq, fail, new_manual,
# new_captured, op, refund).

# ATTACK BODY-ARGS...: the operation is refused with 415 and nothing moved.
attack_415() {  # WHAT PAY OP [curl args]
  local what=$1 pay=$2 opname=$3; shift 3
  http POST "$GATEWAY_URL/v1/payments/$pay/$opname" "$STRONGROOM_SK" "" "$@"
  eq "$what: status" "$STATUS" 415
  eq "$what: error type" "$(j .error.type)" invalid_request_error
  eq "$what: error code" "$(j .error.code)" unsupported_media_type
}

t_attack_5_capture_with_form_or_text_body() {
  new_manual 1500
  attack_415 "capture, form body" "$PAY" capture -d amount=100
  attack_415 "capture, text/plain JSON" "$PAY" capture -H 'Content-Type: text/plain' --data-binary '{"amount":100}'
  attack_415 "capture, no Content-Type" "$PAY" capture -H 'Content-Type:' --data-binary '{"amount":100}'
  http POST "$GATEWAY_URL/v1/payments/$PAY/capture" "$STRONGROOM_SK" '{"amount":'
  eq "capture, malformed JSON" "$STATUS" 400
  http GET "$GATEWAY_URL/v1/payments/$PAY" "$STRONGROOM_SK"
  eq "nothing captured" "$(j .status)/$(j .amount_captured)" authorized/0
  op capture "$PAY" '{"amount":100}'
  eq "a JSON capture still works" "$(j .status)/$(j .amount_captured)" captured/100
}

t_attack_5_refund_with_form_or_text_body() {
  new_captured 1500
  attack_415 "refund, form body" "$PAY" refunds -d amount=100
  attack_415 "refund, text/plain" "$PAY" refunds -H 'Content-Type: text/plain' --data-binary 'amount=100'
  attack_415 "refund, multipart" "$PAY" refunds -F amount=100
  http POST "$GATEWAY_URL/v1/payments/$PAY/refunds" "$STRONGROOM_SK" '[1,'
  eq "refund, malformed JSON" "$STATUS" 400
  http GET "$GATEWAY_URL/v1/payments/$PAY" "$STRONGROOM_SK"
  eq "nothing refunded" "$(j .status)/$(j .amount_refunded)" captured/0
}

t_attack_5_cancel_and_create_with_form_body() {
  new_manual 1500
  attack_415 "cancel, form body" "$PAY" cancel -d cancellation_reason=duplicate
  http GET "$GATEWAY_URL/v1/payments/$PAY" "$STRONGROOM_SK"
  eq "still authorized" "$(j .status)" authorized
  tokenize 4242424242424242
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" "" -d amount=1500 -d currency=usd -d "payment_method=$(j .id)"
  eq "create, form body" "$STATUS/$(j .error.code)" 415/unsupported_media_type
  # Every other gateway route with a body, and the vault's public listener.
  http PUT "$GATEWAY_URL/v1/routing" "$STRONGROOM_SK" "" -d default=stripe
  eq "routing, form body" "$STATUS" 415
  http POST "$GATEWAY_URL/v1/webhook_endpoints" "$STRONGROOM_SK" "" -d url=https://example.com/h
  eq "webhook endpoint, form body" "$STATUS" 415
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" "" -d 'card[number]=4242424242424242' -d 'card[exp_month]=12' \
    -d "card[exp_year]=$EXP_YEAR" -d 'card[cvc]=123'
  eq "tokenize, form body" "$STATUS/$(j .error.code)" 415/unsupported_media_type
}
