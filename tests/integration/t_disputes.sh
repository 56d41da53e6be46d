# Issue 19 item 6: disputes as objects (ADR 0132), on the real stack: the
# dispute test card 4000000000000259 succeeds, pspsim's dispute webhook makes
# a dispute; the merchant lists, reads, answers (evidence, submit) or accepts
# it through gateway -> vault -> connector -> pspsim, with an event for each
# change. Sourced by tests/integration/run.sh (helpers: http, j, eq, fail,
# tokenize, pay; pw_* from t_psp_webhooks.sh, aw_* from t_adyen_webhooks.sh).

dp_db() { pg -d gateway -At <<<"$1"; }
dp_sim() {  # DISPUTE: pspsim's record of our dispute (by its PSP id)
  local psp; psp=$(dp_db "SELECT psp_dispute_id FROM disputes WHERE id = '$1'")
  curl -sS "${PSP[@]}" --cert var/pki/psp-control.crt --key var/pki/psp-control.key "$PSP_URL/_sim/disputes/$psp"
}
# dp_new [SK PK]: a disputed payment of that merchant (default: the test
# merchant); DP_PAY its id, DP_ID its dispute's.
dp_new() {
  local sk=${1:-$STRONGROOM_SK} pk=${2:-$STRONGROOM_PK} i
  DP_PAY=; DP_ID=
  tokenize_as "$pk" 4000000000000259; pay_as "$sk" "$(j .id)"
  DP_PAY=$(j .id)
  for ((i = 0; i < 50; i++)); do
    http GET "$GATEWAY_URL/v1/disputes?payment=$DP_PAY" "$sk"
    DP_ID=$(j '.data[0].id // empty')
    [ -n "$DP_ID" ] && return 0
    sleep 0.2
  done
  fail "no dispute for $DP_PAY (HTTP $STATUS)"; return 1
}

t_dp_dispute_object_and_list() {
  local first
  dp_new || return
  first=$DP_ID
  http GET "$GATEWAY_URL/v1/disputes/$DP_ID" "$STRONGROOM_SK"
  eq "get" "$STATUS" 200
  [[ $DP_ID =~ ^du_[A-Za-z0-9]{22}$ ]] || fail "dispute id shape: $DP_ID"
  eq "object" "$(j .object)/$(j .payment)/$(j .amount)/$(j .currency)" "dispute/$DP_PAY/1500/usd"
  eq "status, reason" "$(j .status)/$(j .reason)" needs_response/fraudulent
  eq "no evidence yet" "$(j '.evidence_details.has_evidence')/$(j '.evidence_details.submission_count')/$(j '.evidence.customer_name')" false/0/null
  [ "$(j '.evidence_details.due_by')" -gt "$(j .created)" ] || fail "due_by not after created"
  # The PSP's id is never shown.
  grep -q "$(dp_db "SELECT psp_dispute_id FROM disputes WHERE id = '$DP_ID'")" <<<"$BODY" && fail "PSP dispute id shown"
  # Events: dispute.created and dispute.funds_withdrawn, about the dispute.
  http GET "$GATEWAY_URL/v1/events?type=dispute.funds_withdrawn&limit=5" "$STRONGROOM_SK"
  eq "funds_withdrawn event" "$(j "[.data[] | select(.data.object.id == \"$DP_ID\")] | length")" 1
  http GET "$GATEWAY_URL/v1/events?type=dispute.created&limit=5" "$STRONGROOM_SK"
  eq "created event about the dispute" "$(j "[.data[] | select(.data.object.id == \"$DP_ID\")] | length")" 1
  # A second disputed payment, then the list's cursors.
  dp_new || return
  http GET "$GATEWAY_URL/v1/disputes?limit=1" "$STRONGROOM_SK"
  eq "newest first" "$(j '.data[0].id')/$(j .has_more)/$(j .url)" "$DP_ID/true//v1/disputes"
  http GET "$GATEWAY_URL/v1/disputes?limit=1&starting_after=$DP_ID" "$STRONGROOM_SK"
  eq "starting_after" "$(j '.data[0].id')" "$first"
  http GET "$GATEWAY_URL/v1/disputes?limit=1&ending_before=$first" "$STRONGROOM_SK"
  eq "ending_before" "$(j '.data[0].id')" "$DP_ID"
  http GET "$GATEWAY_URL/v1/disputes?payment=$DP_PAY" "$STRONGROOM_SK"
  eq "payment filter" "$(j '.data | length')/$(j '.data[0].id')" "1/$DP_ID"
}

t_dp_stripe_evidence_then_submit() {
  dp_new || return
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID" "$STRONGROOM_SK" \
    '{"evidence":{"customer_name":"Jane Doe","product_description":"A blue teapot.\nShipped."}}'
  eq "staged" "$STATUS/$(j .status)/$(j .evidence.customer_name)/$(j .evidence_details.has_evidence)" \
    "200/needs_response/Jane Doe/true"
  eq "reached the PSP, not submitted" "$(dp_sim "$DP_ID" | jq -r '.status + "/" + .evidence.customer_name')" "needs_response/Jane Doe"
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID" "$STRONGROOM_SK" '{"evidence":{"shipping_carrier":"UPS"},"submit":true}'
  eq "submitted" "$STATUS/$(j .status)/$(j .evidence_details.submission_count)" 200/under_review/1
  eq "merged" "$(j .evidence.customer_name)/$(j .evidence.shipping_carrier)" "Jane Doe/UPS"
  eq "PSP under review" "$(dp_sim "$DP_ID" | jq -r '.status + "/" + (.calls | tostring)')" under_review/2
  http GET "$GATEWAY_URL/v1/payments/$DP_PAY/events" "$STRONGROOM_SK"
  eq "events" "$(j '[.data[].type] | join(",")')" \
    "payment.created,payment.captured,payment.disputed,dispute.funds_withdrawn,dispute.updated,dispute.updated"
  eq "previous_attributes" "$(j '.data[5].data.previous_attributes.status')/$(j '.data[5].data.object.status')" needs_response/under_review
  eq "previous evidence" "$(j '.data[4].data.previous_attributes.evidence.customer_name')" null
  eq "one transaction each" "$(dp_db "SELECT count(*) FROM outbox o JOIN payment_events e ON e.id = o.event_id WHERE e.payment_id = '$DP_PAY' AND o.topic = 'dispute.updated'")" 2
  # Submitted evidence is final; a submitted dispute is not closed by the merchant.
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID" "$STRONGROOM_SK" '{"evidence":{"customer_name":"X"}}'
  eq "after submit" "$STATUS/$(j .error.code)" 400/dispute_already_submitted
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID/close" "$STRONGROOM_SK"
  eq "close under review" "$STATUS/$(j .error.code)" 400/dispute_not_closable
  eq "no third PSP call" "$(dp_sim "$DP_ID" | jq -r .calls)" 2
}

t_dp_stripe_close() {
  dp_new || return
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID/close" "$STRONGROOM_SK"
  eq "closed" "$STATUS/$(j .status)" 200/lost
  eq "PSP lost" "$(dp_sim "$DP_ID" | jq -r .status)" lost
  http GET "$GATEWAY_URL/v1/events?type=dispute.closed&limit=3" "$STRONGROOM_SK"
  eq "dispute.closed" "$(j "[.data[] | select(.data.object.id == \"$DP_ID\")][0].data.previous_attributes.status")" needs_response
}

t_dp_adyen_submit_and_accept() {
  local one
  aw_merchant || return
  dp_new "$AW_SK" "$AW_PK" || return
  one=$DP_ID
  eq "adyen reason" "$(j '.data[0].reason')" general
  # Adyen keeps no draft: not submitted, nothing is sent.
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID" "$AW_SK" '{"evidence":{"uncategorized_text":"Delivered, signed for."}}'
  eq "kept" "$STATUS/$(j .status)" 200/needs_response
  eq "not sent to Adyen" "$(dp_sim "$DP_ID" | jq -r .calls)" 0
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID" "$AW_SK" '{"submit":true}'
  eq "defended" "$STATUS/$(j .status)" 200/under_review
  eq "document then defense" "$(dp_sim "$DP_ID" | jq -r '.status + "/" + (.documents | tostring) + "/" + (.calls | tostring)')" under_review/1/2
  dp_new "$AW_SK" "$AW_PK" || return
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID/close" "$AW_SK"
  eq "accepted" "$STATUS/$(j .status)" 200/lost
  eq "acceptDispute" "$(dp_sim "$DP_ID" | jq -r '.status + "/" + (.calls | tostring)')" lost/1
  http GET "$GATEWAY_URL/v1/disputes/$one" "$AW_SK"
  eq "the other untouched" "$(j .status)" under_review
}
