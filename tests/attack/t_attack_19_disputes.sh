# Attack suite, issue 19 item 6: disputes (ADR 0132). Another merchant's
# dispute is not found (404, audited); card numbers in evidence are refused
# in every shape and never stored; a closed dispute refuses evidence and a
# second close without a second PSP call; evidence is bounded; unknown
# parameters are refused by name. Sourced by tests/integration/run.sh after
# tests/integration/t_*.sh (helpers: http, j, eq, fail; dp_* from
# tests/integration/t_disputes.sh).

t_attack_19_disputes_foreign_merchant() {
  local out sk mid before
  dp_new || return
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "Dispute thief") \
    || { fail "merchant create"; return; }
  sk=$(jq -r .secret_key <<<"$out"); mid=$(jq -r .id <<<"$out")
  before=$(dp_sim "$DP_ID" | jq -r .calls)
  http GET "$GATEWAY_URL/v1/disputes/$DP_ID" "$sk"
  eq "B reads A's" "$STATUS/$(j .error.code)" 404/resource_missing
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID" "$sk" '{"evidence":{"customer_name":"Mallory"},"submit":true}'
  eq "B updates A's" "$STATUS/$(j .error.code)" 404/resource_missing
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID/close" "$sk"
  eq "B closes A's" "$STATUS/$(j .error.code)" 404/resource_missing
  http GET "$GATEWAY_URL/v1/disputes" "$sk"
  eq "B's list" "$(j '.data | length')" 0
  http GET "$GATEWAY_URL/v1/disputes?starting_after=$DP_ID" "$sk"
  eq "A's id as B's cursor" "$STATUS/$(j .error.code)" 400/resource_missing
  http GET "$GATEWAY_URL/v1/disputes?payment=$DP_PAY" "$sk"
  eq "A's payment as B's filter" "$(j '.data | length')" 0
  eq "audited" "$(dp_db "SELECT count(*) FROM audit_events WHERE merchant_id = '$mid' AND target = '$DP_ID' AND status = 404")" 3
  http GET "$GATEWAY_URL/v1/disputes/$DP_ID" "$STRONGROOM_SK"
  eq "A's unchanged" "$(j .status)/$(j .evidence.customer_name)" needs_response/null
  eq "no PSP call" "$(dp_sim "$DP_ID" | jq -r .calls)" "$before"
}

t_attack_19_disputes_pan_in_evidence() {
  local shape body
  dp_new || return
  for shape in '4242424242424242' '4242 4242 4242 4242' '4242-4242-4242-4242' \
               'card 4242424242424242 used' 'x4242424242424242x' '\u0034242424242424242' \
               '4242\u00204242\u00204242\u00204242' '378282246310005' '5555 5555 5555 4444'; do
    body="{\"evidence\":{\"uncategorized_text\":\"see $shape\"}}"
    http POST "$GATEWAY_URL/v1/disputes/$DP_ID" "$STRONGROOM_SK" "$body"
    eq "PAN shape '$shape'" "$STATUS/$(j .error.code)" 400/pan_not_allowed
    grep -q '4242\|0005\|4444' <<<"$BODY" && fail "PAN shape '$shape' echoed"
  done
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID" "$STRONGROOM_SK" '{"evidence":{"4242424242424242":"x"}}'
  eq "PAN as a field name" "$STATUS" 400
  grep -q 4242 <<<"$BODY" && fail "PAN field name echoed"
  eq "nothing stored" "$(dp_db "SELECT evidence::text FROM disputes WHERE id = '$DP_ID'")" "{}"
  eq "no PSP call" "$(dp_sim "$DP_ID" | jq -r .calls)" 0
}

t_attack_19_disputes_close_twice_submit_after() {
  dp_new || return
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID/close" "$STRONGROOM_SK"
  eq "first close" "$STATUS/$(j .status)" 200/lost
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID/close" "$STRONGROOM_SK"
  eq "second close" "$STATUS/$(j .error.code)" 400/dispute_closed
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID" "$STRONGROOM_SK" '{"evidence":{"customer_name":"Late"},"submit":true}'
  eq "evidence after close" "$STATUS/$(j .error.code)" 400/dispute_closed
  eq "one PSP call" "$(dp_sim "$DP_ID" | jq -r .calls)" 1
  eq "one dispute.closed" "$(dp_db "SELECT count(*) FROM payment_events WHERE payment_id = '$DP_PAY' AND type = 'dispute.closed'")" 1
  # Two closes at once: one PSP call, one success.
  dp_new || return
  # Each in its own scratch directory (http writes $TMP/h and $TMP/b), and
  # only these two waited for (the stack's daemons are children too).
  local p1
  ( TMP=$TMP/close1; mkdir -p "$TMP"; http POST "$GATEWAY_URL/v1/disputes/$DP_ID/close" "$STRONGROOM_SK" ) & p1=$!
  ( TMP=$TMP/close2; mkdir -p "$TMP"; http POST "$GATEWAY_URL/v1/disputes/$DP_ID/close" "$STRONGROOM_SK" )
  wait "$p1"
  eq "concurrent closes: one PSP call" "$(dp_sim "$DP_ID" | jq -r .calls)" 1
  eq "concurrent closes: one event" "$(dp_db "SELECT count(*) FROM payment_events WHERE payment_id = '$DP_PAY' AND type = 'dispute.closed'")" 1
}

t_attack_19_disputes_limits_and_unknown() {
  local long
  dp_new || return
  long=$(head -c 20001 /dev/zero | tr '\0' a)
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID" "$STRONGROOM_SK" "{\"evidence\":{\"uncategorized_text\":\"$long\"}}"
  eq "20001 characters" "$STATUS/$(j .error.code)/$(j .error.param)" 400/evidence_too_long/evidence[uncategorized_text]
  long=$(head -c 20000 /dev/zero | tr '\0' a)
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID" "$STRONGROOM_SK" \
    "{\"evidence\":{\"uncategorized_text\":\"$long\",\"access_activity_log\":\"$long\",\"product_description\":\"$long\",\"cancellation_rebuttal\":\"$long\"}}"
  eq "over the body limit" "$STATUS" 413
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID" "$STRONGROOM_SK" '{"evidence":{"customer_name":"a"},"amount":1}'
  eq "unknown body parameter" "$STATUS/$(j .error.code)/$(j .error.param)" 400/parameter_unknown/amount
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID" "$STRONGROOM_SK" '{"evidence":{"receipt":"file_123"}}'
  eq "file evidence field" "$STATUS/$(j .error.code)/$(j .error.param)" "400/parameter_unknown/evidence[receipt]"
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID" "$STRONGROOM_SK" '{"evidence":{"customer_name":7}}'
  eq "number as evidence" "$STATUS/$(j .error.code)" 400/parameter_invalid_type
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID" "$STRONGROOM_SK" '{"submit":"yes"}'
  eq "submit not a bool" "$STATUS/$(j .error.param)" 400/submit
  http POST "$GATEWAY_URL/v1/disputes/$DP_ID/close" "$STRONGROOM_SK" '{"reason":"x"}'
  eq "close takes nothing" "$STATUS/$(j .error.code)/$(j .error.param)" 400/parameter_unknown/reason
  http GET "$GATEWAY_URL/v1/disputes?status=lost" "$STRONGROOM_SK"
  eq "unknown query parameter" "$STATUS/$(j .error.code)" 400/parameter_unknown
  http GET "$GATEWAY_URL/v1/disputes/du_nope" "$STRONGROOM_SK"
  eq "malformed id" "$STATUS" 404
  eq "nothing stored, nothing sent" "$(dp_db "SELECT evidence::text || status FROM disputes WHERE id = '$DP_ID'")/$(dp_sim "$DP_ID" | jq -r .calls)" "{}needs_response/0"
}
