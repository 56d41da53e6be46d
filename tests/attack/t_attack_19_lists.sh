# Attack suite, issue 19 item 4: the lists of refunds and events, their
# cursors and the refund cancel are per merchant. Another merchant's refund,
# event or payment id, as a path id, a cursor (starting_after or
# ending_before) or a filter, is 404 / 400 resource_missing exactly as for
# payments, and never shows the other merchant's objects; an event older
# than 30 days is neither listed nor read. Sourced by
# tests/integration/run.sh (helpers: http, j, eq, fail, tokenize, pay, pg).

# a19l_setup: merchant A (the test merchant) with a captured, partly
# refunded payment: A_PAY, A_RE, A_EVT (its newest event). Merchant B: B_SK.
a19l_setup() {
  local out
  tokenize 4242424242424242; pay "$(j .id)" 2000
  eq "A paid" "$STATUS/$(j .status)" 201/captured; A_PAY=$(j .id)
  http POST "$GATEWAY_URL/v1/payments/$A_PAY/refunds" "$STRONGROOM_SK" '{"amount":500}'
  eq "A refunded" "$STATUS" 201; A_RE=$(j .id)
  A_EVT=$(pg -d gateway -At <<<"SELECT public_id FROM payment_events WHERE payment_id = '$A_PAY' ORDER BY id DESC LIMIT 1")
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "Lists merchant B") ||
    { fail "merchant B"; return 1; }
  B_SK=$(jq -r .secret_key <<<"$out")
}

# a19l_refused WHAT PATH: B reads PATH; WHAT 404, or the cursor a 400 resource_missing names.
a19l_refused() {
  http GET "$GATEWAY_URL$2" "$B_SK"
  case "$1" in
    404) eq "$2" "$STATUS/$(j .error.code)" 404/resource_missing ;;
    *) eq "$2" "$STATUS/$(j .error.code)/$(j .error.param)" "400/resource_missing/$1" ;;
  esac
}

t_attack_19_lists_other_merchant() {
  a19l_setup || return
  a19l_refused 404 "/v1/payments/$A_PAY/refunds"
  a19l_refused 404 "/v1/events/$A_EVT"
  a19l_refused starting_after "/v1/refunds?starting_after=$A_RE"
  a19l_refused ending_before "/v1/refunds?ending_before=$A_RE"
  a19l_refused starting_after "/v1/events?starting_after=$A_EVT"
  a19l_refused ending_before "/v1/events?ending_before=$A_EVT"
  a19l_refused ending_before "/v1/payments?ending_before=$A_PAY"
  a19l_refused starting_after "/v1/payments?starting_after=$A_PAY"
  http POST "$GATEWAY_URL/v1/refunds/$A_RE/cancel" "$B_SK"
  eq "B cancels A's refund" "$STATUS/$(j .error.code)" 404/resource_missing
  # B's lists, even filtered on A's payment, hold nothing of A's.
  http GET "$GATEWAY_URL/v1/refunds?payment=$A_PAY" "$B_SK"
  eq "B filters on A's payment" "$STATUS/$(j '.data | length')" 200/0
  http GET "$GATEWAY_URL/v1/refunds?limit=100" "$B_SK"
  eq "B's refunds" "$STATUS/$(j '.data | length')" 200/0
  http GET "$GATEWAY_URL/v1/events?limit=100" "$B_SK"
  eq "B's events" "$STATUS/$(j '.data | length')" 200/0
  # A sees its own (the same requests succeed for the owner).
  http GET "$GATEWAY_URL/v1/events/$A_EVT" "$STRONGROOM_SK"
  eq "A reads its event" "$STATUS/$(j .id)/$(j .data.object.payment)" "200/$A_EVT/$A_PAY"
  http GET "$GATEWAY_URL/v1/payments/$A_PAY/refunds" "$STRONGROOM_SK"
  eq "A lists its payment's refunds" "$STATUS/$(j '.data[0].id')" "200/$A_RE"
}

t_attack_19_lists_cursor_shapes() {
  local c
  # Malformed cursors and ids: refused, never echoed, never reach SQL.
  for c in "evt_0" "evt_1%27%20OR%201%3D1" "evt_99999999999999999999" "re_x"; do
    http GET "$GATEWAY_URL/v1/events?starting_after=$c" "$STRONGROOM_SK"
    eq "events cursor $c" "$STATUS/$(j .error.code)" 400/resource_missing
    http GET "$GATEWAY_URL/v1/refunds?ending_before=$c" "$STRONGROOM_SK"
    eq "refunds cursor $c" "$STATUS/$(j .error.code)" 400/resource_missing
    grep -q -e 4242424242 -e "OR 1" <<<"$BODY" && fail "cursor $c echoed"
  done
  # A card number as a cursor is refused before any handler (sr_http's screen).
  http GET "$GATEWAY_URL/v1/refunds?starting_after=4242424242424242" "$STRONGROOM_SK"
  eq "card number cursor" "$STATUS/$(j .error.code)" 400/pan_not_allowed
  grep -q 4242424242 <<<"$BODY" && fail "card number cursor echoed"
  http GET "$GATEWAY_URL/v1/events/evt_1%27" "$STRONGROOM_SK"; eq "event id quote" "$STATUS" 404
  http GET "$GATEWAY_URL/v1/refunds?starting_after=re_aaaaaaaaaaaaaaaaaaaaaa&ending_before=re_aaaaaaaaaaaaaaaaaaaaaa" "$STRONGROOM_SK"
  eq "both cursors" "$STATUS/$(j .error.code)" 400/parameters_exclusive
  http GET "$GATEWAY_URL/v1/events?typ=payment.captured" "$STRONGROOM_SK"
  eq "unknown filter" "$STATUS/$(j .error.code)" 400/parameter_unknown
}

t_attack_19_lists_events_30_days() {
  local pay old
  tokenize 4242424242424242; pay "$(j .id)" 700; pay=$(j .id)
  # An event 31 days old, with its outbox row (invariant 7) delivered back then.
  old=$(pg -d gateway -At <<<"WITH e AS (INSERT INTO payment_events (payment_id, type, from_status, to_status, created_at) VALUES ('$pay', 'payment.captured', 'captured', 'captured', now() - interval '31 days') RETURNING id, public_id, type, created_at), o AS (INSERT INTO outbox (event_id, topic, payload, created_at, delivered_at) SELECT id, type, '{}', created_at, created_at FROM e) SELECT public_id FROM e")
  http GET "$GATEWAY_URL/v1/events/$old" "$STRONGROOM_SK"
  eq "31-day-old event" "$STATUS/$(j .error.code)" 404/resource_missing
  http GET "$GATEWAY_URL/v1/events?starting_after=$old" "$STRONGROOM_SK"
  eq "31-day-old event as cursor" "$STATUS/$(j .error.code)" 400/resource_missing
  http GET "$GATEWAY_URL/v1/events?limit=100&created%5Blte%5D=$(( $(date +%s) - 86400 ))" "$STRONGROOM_SK"
  eq "older than a day: none within 30 days" "$STATUS/$(j '.data | length')" 200/0
}

t_attack_19_lists_roles() {
  local ro
  ro=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json key create --merchant "$STRONGROOM_MERCHANT" --role read_only | jq -r .secret_key)
  new_captured 800
  http POST "$GATEWAY_URL/v1/payments/$PAY/refunds" "$STRONGROOM_SK" '{"amount":100}'; local re; re=$(j .id)
  http GET "$GATEWAY_URL/v1/refunds" "$ro"; eq "read_only lists refunds" "$STATUS" 200
  http GET "$GATEWAY_URL/v1/events" "$ro"; eq "read_only lists events" "$STATUS" 200
  http GET "$GATEWAY_URL/v1/payments/$PAY/refunds" "$ro"; eq "read_only lists a payment's refunds" "$STATUS" 200
  http POST "$GATEWAY_URL/v1/refunds/$re/cancel" "$ro"
  eq "read_only cannot cancel a refund" "$STATUS/$(j .error.code)" 403/insufficient_role
}
