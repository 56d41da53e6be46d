# Attack suite, issue 15 item 5 (second half): the PSP's answer is checked,
# not assumed. pspsim's POST /_sim/contradict makes the next capture, cancel
# or refund answer a 200 whose body contradicts the request; the operation
# must then be `unknown` (never success, never a definite failure) and be
# settled by asking the PSP. The merchant's reasons must reach the PSP
# (pspsim's GET /_sim/received). Sourced by tests/integration/run.sh after
# tests/integration/t_*.sh (helpers: http, j, eq, fail, new_manual,
# new_captured, op, refund, wait_status).

psp_sim() {  # METHOD PATH [JSON]
  curl -sS "${PSP[@]}" --cert var/pki/psp-control.crt --key var/pki/psp-control.key -X "$1" \
    ${3:+-H 'Content-Type: application/json' --data-binary "$3"} "$PSP_URL$2"
}
psp_contradict() { psp_sim POST /_sim/contradict "$1" >/dev/null; }
# The reason field NAME of the last modification request whose path ends in SUFFIX.
psp_received() {  # SUFFIX NAME
  psp_sim GET /_sim/received | jq -r --arg s "$1" --arg n "$2" \
    '[.data[] | select(.path | endswith($s))] | last | .[$n] // "none"'
}
# A refund, retried while pspsim's own refund webhook holds the payment (409 concurrent_update).
refund_settled() {  # PAY BODY
  local i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    refund "$1" "$2"
    [ "$STATUS" = 409 ] && [ "$(j .error.code)" = concurrent_update ] || return 0
    sleep 0.2
  done
}
vault_logged_mismatch() {  # FIELD: the vault logged which field of the answer mismatched
  grep '"connector.operate"' var/log/vaultd.log | grep -q "\"mismatch\": *\"$1\""
}

t_attack_5_capture_answer_requires_payment_method() {
  new_manual 1500
  psp_contradict '{"next":1,"field":"status"}'
  op capture "$PAY" '{"amount":1000}'
  eq "capture answered 200" "$STATUS" 200
  eq "a contradicted capture is not captured" "$(j .status)" unknown
  eq "nothing recorded as captured" "$(j .amount_captured)" 0
  vault_logged_mismatch status || fail "vault did not log the mismatched field"
  # Reconciliation asks the PSP for the intent's real state (it did capture 1000).
  wait_status "$PAY" captured 10 || fail "unknown capture not reconciled ($(j .status))"
  eq "reconciled amount is the PSP's" "$(j .amount_captured)" 1000
}

t_attack_5_cancel_answer_other_intent() {
  new_manual 1500
  psp_contradict '{"next":1,"field":"id"}'
  op cancel "$PAY" '{"reason":"requested_by_customer"}'
  eq "cancel answered 200" "$STATUS" 200
  eq "an answer about another intent is not a void" "$(j .status)" unknown
  vault_logged_mismatch id || fail "vault did not log the mismatched field"
  wait_status "$PAY" voided 10 || fail "unknown cancel not reconciled ($(j .status))"
}

t_attack_5_refund_answer_other_amount() {
  new_captured 1500
  psp_contradict '{"next":1,"field":"amount"}'
  refund "$PAY" '{"amount":500}'
  eq "refund created" "$STATUS" 201
  eq "a refund answered with another amount is not succeeded" "$(j .status)" pending
  vault_logged_mismatch amount || fail "vault did not log the mismatched field"
  psp_contradict '{"next":1,"field":"currency"}'
  refund_settled "$PAY" '{"amount":100}'
  eq "a refund answered in another currency is not succeeded" "$(j .status)" pending
  vault_logged_mismatch currency || fail "vault did not log the mismatched field"
}

t_attack_5_reasons_reach_the_psp() {
  new_manual 1500
  op cancel "$PAY" '{"reason":"fraudulent"}'
  eq "voided" "$(j .status)" voided
  eq "cancellation_reason at the PSP" "$(psp_received /cancel cancellation_reason)" fraudulent
  new_captured 1500
  refund "$PAY" '{"amount":300,"reason":"duplicate"}'
  eq "refund succeeded" "$(j .status)" succeeded
  eq "refund reason at the PSP" "$(psp_received /v1/refunds reason)" duplicate
  refund_settled "$PAY" '{"amount":300}'
  eq "refund without reason" "$STATUS" 201
  eq "no reason, none sent" "$(psp_received /v1/refunds reason)" none
}
