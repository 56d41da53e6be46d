# Integration tests of issue 19 item 4: GET /v1/refunds,
# GET /v1/payments/{id}/refunds, GET /v1/events, GET /v1/events/{id} and
# POST /v1/refunds/{id}/cancel; every list pages with limit, starting_after,
# ending_before and has_more (gw_page.h). Merchant isolation is in
# tests/attack/t_attack_19_lists.sh. Sourced by run.sh (helpers: http, j,
# eq, fail, tokenize_as, pay_as).

# tl_merchant: a fresh merchant (TL_SK, TL_PK), so its lists hold only what a test made.
tl_merchant() {
  local out
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "$1") ||
    { fail "merchant create"; return 1; }
  TL_SK=$(jq -r .secret_key <<<"$out"); TL_PK=$(jq -r .publishable_key <<<"$out")
}
tl_ids() { j '[.data[].id] | join(",")'; }

t_lists_refunds_pages() {
  local pay r1 r2 r3 pay2 r4
  tl_merchant "Refund lists" || return
  tokenize_as "$TL_PK" 4242424242424242; pay_as "$TL_SK" "$(j .id)" 3000; pay=$(j .id)
  http POST "$GATEWAY_URL/v1/payments/$pay/refunds" "$TL_SK" '{"amount":100}'; r1=$(j .id)
  http POST "$GATEWAY_URL/v1/payments/$pay/refunds" "$TL_SK" '{"amount":200}'; r2=$(j .id)
  http POST "$GATEWAY_URL/v1/payments/$pay/refunds" "$TL_SK" '{"amount":300}'; r3=$(j .id)
  tokenize_as "$TL_PK" 4242424242424242; pay_as "$TL_SK" "$(j .id)" 1000; pay2=$(j .id)
  http POST "$GATEWAY_URL/v1/payments/$pay2/refunds" "$TL_SK" '{"amount":400}'; r4=$(j .id)
  http GET "$GATEWAY_URL/v1/refunds?limit=2" "$TL_SK"
  eq "page 1" "$STATUS/$(j .object)/$(j .url)/$(tl_ids)/$(j .has_more)" "200/list//v1/refunds/$r4,$r3/true"
  http GET "$GATEWAY_URL/v1/refunds?limit=2&starting_after=$r3" "$TL_SK"
  eq "page 2" "$(tl_ids)/$(j .has_more)" "$r2,$r1/false"
  http GET "$GATEWAY_URL/v1/refunds?limit=2&ending_before=$r1" "$TL_SK"
  eq "back from r1" "$(tl_ids)/$(j .has_more)" "$r3,$r2/true"
  http GET "$GATEWAY_URL/v1/refunds?limit=2&ending_before=$r3" "$TL_SK"
  eq "back to the start" "$(tl_ids)/$(j .has_more)" "$r4/false"
  http GET "$GATEWAY_URL/v1/refunds?payment=$pay2" "$TL_SK"; eq "payment filter" "$(tl_ids)" "$r4"
  http GET "$GATEWAY_URL/v1/payments/$pay/refunds?limit=2" "$TL_SK"
  eq "a payment's refunds" "$STATUS/$(j .url)/$(tl_ids)/$(j .has_more)" "200//v1/payments/$pay/refunds/$r3,$r2/true"
  eq "refund object" "$(j '.data[0] | [.object, .payment, .amount] | join(",")')" "refund,$pay,300"
  http GET "$GATEWAY_URL/v1/payments/$pay/refunds?ending_before=$r4" "$TL_SK"
  eq "a cursor of another payment: before it, this payment's" "$STATUS/$(j '.data | length')" 200/0
  http GET "$GATEWAY_URL/v1/refunds?created%5Bgte%5D=$(( $(date +%s) + 100 ))" "$TL_SK"
  eq "created filter" "$STATUS/$(j '.data | length')" 200/0
  http GET "$GATEWAY_URL/v1/refunds?limit=0" "$TL_SK"; eq "limit 0" "$STATUS/$(j .error.param)" 400/limit
  http GET "$GATEWAY_URL/v1/refunds?status=pending" "$TL_SK"; eq "unknown filter" "$(j .error.code)" parameter_unknown
  http GET "$GATEWAY_URL/v1/payments/pay_nope/refunds" "$TL_SK"; eq "no such payment" "$STATUS" 404
}

t_lists_payments_ending_before() {
  local p1 p2 p3
  tl_merchant "Payment lists" || return
  tokenize_as "$TL_PK" 4242424242424242; pay_as "$TL_SK" "$(j .id)"; p1=$(j .id)
  tokenize_as "$TL_PK" 4242424242424242; pay_as "$TL_SK" "$(j .id)"; p2=$(j .id)
  tokenize_as "$TL_PK" 4242424242424242; pay_as "$TL_SK" "$(j .id)"; p3=$(j .id)
  http GET "$GATEWAY_URL/v1/payments?limit=1&ending_before=$p1" "$TL_SK"
  eq "just newer than p1" "$STATUS/$(tl_ids)/$(j .has_more)" "200/$p2/true"
  http GET "$GATEWAY_URL/v1/payments?ending_before=$p1" "$TL_SK"
  eq "all newer than p1" "$(tl_ids)/$(j .has_more)" "$p3,$p2/false"
  http GET "$GATEWAY_URL/v1/payments?ending_before=$p1&status=failed" "$TL_SK"
  eq "with a filter" "$STATUS/$(j '.data | length')" 200/0
}

t_lists_events() {
  local pay all first n
  tl_merchant "Event lists" || return
  tokenize_as "$TL_PK" 4242424242424242; pay_as "$TL_SK" "$(j .id)" 900; pay=$(j .id)
  http POST "$GATEWAY_URL/v1/payments/$pay/refunds" "$TL_SK" '{"amount":900}'
  http GET "$GATEWAY_URL/v1/payments/$pay/events" "$TL_SK"
  all=$(j '[.data[].id] | reverse | join(",")'); n=$(j '.data | length')
  http GET "$GATEWAY_URL/v1/events?limit=100" "$TL_SK"
  eq "all events, newest first" "$STATUS/$(j .url)/$(tl_ids)" "200//v1/events/$all"
  eq "events are about the payment" "$(j '[.data[].data.object | .payment // .id] | unique | join(",")')" "$pay"
  http GET "$GATEWAY_URL/v1/events?limit=2" "$TL_SK"; first=$(j '.data[1].id')
  eq "has_more" "$(j .has_more)" true
  http GET "$GATEWAY_URL/v1/events?limit=100&starting_after=$first" "$TL_SK"
  eq "after the first page" "$(j '.data | length')" "$((n - 2))"
  http GET "$GATEWAY_URL/v1/events?limit=100&ending_before=$first" "$TL_SK"
  eq "before it" "$(j '.data | length')" 1
  # Types are the Event's (ADR 0129): a full refund is refund.succeeded.
  http GET "$GATEWAY_URL/v1/events?type=refund.succeeded" "$TL_SK"
  eq "type filter" "$(j '[.data[].type] | join(",")')" refund.succeeded
  http GET "$GATEWAY_URL/v1/events?type=payment.*&limit=100" "$TL_SK"
  eq "type prefix" "$(j '.data | length')" "$((n - 1))"
  http GET "$GATEWAY_URL/v1/events?type=dispute.*" "$TL_SK"; eq "other prefix" "$(j '.data | length')" 0
  for t in 'payment.' '.*' 'payment..x' 'Payment.captured' 'payment.*.*'; do
    http GET "$GATEWAY_URL/v1/events?type=$t" "$TL_SK"
    eq "bad type $t" "$STATUS/$(j .error.code)/$(j .error.param)" 400/type_invalid/type
  done
  http GET "$GATEWAY_URL/v1/events/$first" "$TL_SK"
  eq "one event" "$STATUS/$(j .id)/$(j .object)/$(j '.data.object | .payment // .id')" "200/$first/event/$pay"
  http GET "$GATEWAY_URL/v1/events/evt_abc" "$TL_SK"; eq "bad event id" "$STATUS" 404
}

t_lists_refund_cancel_refused() {
  local pay re
  tl_merchant "Refund cancel" || return
  tokenize_as "$TL_PK" 4242424242424242; pay_as "$TL_SK" "$(j .id)" 900; pay=$(j .id)
  http POST "$GATEWAY_URL/v1/payments/$pay/refunds" "$TL_SK" '{"amount":100}'; re=$(j .id)
  http POST "$GATEWAY_URL/v1/refunds/$re/cancel" "$TL_SK"
  eq "cancel refused" "$STATUS/$(j .error.code)/$(j .error.param)" 400/refund_cancel_unsupported/id
  http GET "$GATEWAY_URL/v1/refunds/$re" "$TL_SK"; eq "refund unchanged" "$(j .status)" succeeded
  http POST "$GATEWAY_URL/v1/refunds/re_nope/cancel" "$TL_SK"; eq "no such refund" "$STATUS" 404
}
