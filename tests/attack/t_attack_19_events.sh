# Attack suite, issue 19 item 5: events shaped like Stripe's Event object,
# webhook endpoint updates and secret rolls (ADR 0129).
# - event ids are random (evt_ + 128 bits): the internal sequence number
#   reads nothing, and a list still pages in order by cursor;
# - the Event object (GET /v1/events/{id}) and the webhook body are the same
#   object: api_version, livemode, pending_webhooks, request, data.object
#   (the refund for refund events), data.previous_attributes;
# - another merchant updating or rolling an endpoint is 404 and audited; an
#   update to a URL the create path refuses is refused the same way;
# - a rolled secret signs (a second v1=) until its expiry, never after.
# Sourced by tests/integration/run.sh after tests/integration/t_*.sh: uses
# the webhook receiver helpers of t_merchant_webhooks.sh (wh_*).

# a19e_body NAME EVT: the body the receiver NAME got for EVT (first request).
a19e_body() {
  curl "${WH_CURL[@]}" "$WH_SINK/_sink/stats" | jq -r --arg n "$1" --arg e "$2" '[.requests[] | select(.name == $n and .event == $e)][0].body'
}
a19e_sig() {  # NAME EVT: its Strongroom-Signature header
  curl "${WH_CURL[@]}" "$WH_SINK/_sink/stats" | jq -r --arg n "$1" --arg e "$2" '[.requests[] | select(.name == $n and .event == $e)][0].signature'
}
# a19e_v1_ok SECRET HEADER BODY: whether one v1= of HEADER is HMAC-SHA256(SECRET, "t.BODY") (openssl).
a19e_v1_ok() {
  local t calc v
  t=${2#t=}; t=${t%%,*}
  calc=$(printf '%s.%s' "$t" "$3" | openssl dgst -sha256 -hmac "$1" -r | cut -d' ' -f1)
  for v in $(tr ',' '\n' <<<"$2" | sed -n 's/^v1=//p'); do [ "$v" = "$calc" ] && return 0; done
  echo "    (no v1 of $2 is the HMAC with ${1:0:10}...)"
  return 1
}
a19e_v1_count() { tr ',' '\n' <<<"$1" | grep -c '^v1='; }

t_attack_19e_event_ids_random() {
  local pay ids id n seq
  tokenize 4242424242424242; pay "$(j .id)" 1200; pay=$(j .id)
  http GET "$GATEWAY_URL/v1/payments/$pay/events" "$STRONGROOM_SK"
  ids=$(j '[.data[].id] | join(" ")'); n=0
  for id in $ids; do
    n=$((n + 1))
    [[ $id =~ ^evt_[A-Za-z0-9]{22}$ ]] || fail "event id $id is not evt_ + 22 base62 characters (128 random bits)"
  done
  [ "$n" -ge 2 ] || fail "expected at least 2 events, got $n"
  # The internal sequence number names nothing: no enumeration by counting.
  seq=$(pg -d gateway -At <<<"SELECT max(id) FROM payment_events WHERE payment_id = '$pay'")
  http GET "$GATEWAY_URL/v1/events/evt_$seq" "$STRONGROOM_SK"
  eq "evt_<sequence>" "$STATUS/$(j .error.code)" 404/resource_missing
  http GET "$GATEWAY_URL/v1/events?starting_after=evt_$seq" "$STRONGROOM_SK"
  eq "evt_<sequence> as a cursor" "$STATUS/$(j .error.code)" 400/resource_missing
  # Two ids of the same payment share no prefix beyond chance (not a counter).
  read -r a b _ <<<"$ids"
  [ "${a:0:12}" != "${b:0:12}" ] || fail "consecutive event ids share a 12-character prefix: $a $b"
}

t_attack_19e_cursor_pages_in_order() {
  local out sk pk all paged cur i other
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "Event cursors") ||
    { fail "merchant create"; return; }
  sk=$(jq -r .secret_key <<<"$out"); pk=$(jq -r .publishable_key <<<"$out")
  for i in 1 2 3; do tokenize_as "$pk" 4242424242424242; pay_as "$sk" "$(j .id)" $((1000 + i)); done
  http GET "$GATEWAY_URL/v1/events?limit=100" "$sk"
  all=$(j '[.data[].id] | join(",")')
  eq "six events" "$(j '.data | length')" 6
  eq "newest first" "$(j '[.data[].created] | . == (sort | reverse)')" true
  # Page by two with starting_after: the same events in the same order.
  paged="" cur=""
  for i in 1 2 3 4; do
    http GET "$GATEWAY_URL/v1/events?limit=2${cur:+&starting_after=$cur}" "$sk"
    [ "$(j '.data | length')" = 0 ] && break
    paged="$paged${paged:+,}$(j '[.data[].id] | join(",")')"; cur=$(j '.data[-1].id')
  done
  eq "pages of 2 = the whole list" "$paged" "$all"
  # And back with ending_before from the oldest.
  cur=${all##*,}
  http GET "$GATEWAY_URL/v1/events?limit=100&ending_before=$cur" "$sk"
  eq "ending_before the oldest" "$(j '[.data[].id] | join(",")')" "${all%,*}"
  # Another merchant's event as a cursor: refused, nothing of it shown.
  tokenize 4242424242424242; pay "$(j .id)" 900
  http GET "$GATEWAY_URL/v1/payments/$(j .id)/events" "$STRONGROOM_SK"; other=$(j '.data[0].id')
  http GET "$GATEWAY_URL/v1/events?starting_after=$other" "$sk"
  eq "other merchant's cursor" "$STATUS/$(j .error.code)/$(j .error.param)" 400/resource_missing/starting_after
  grep -q "$other" <<<"$BODY" && fail "the other merchant's event id is echoed"
  http GET "$GATEWAY_URL/v1/events/$other" "$sk"; eq "other merchant's event" "$STATUS" 404
}

t_attack_19e_event_object_and_webhook_body() {
  local out sk pk pay re evt body ev t
  wh_setup || return
  # A merchant of its own: pending_webhooks counts only this test's endpoint.
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "Event objects") ||
    { fail "merchant create"; return; }
  sk=$(jq -r .secret_key <<<"$out"); pk=$(jq -r .publishable_key <<<"$out")
  local rx=ev19-$RANDOM
  wh_endpoint "$sk" "$rx" '["*"]'
  tokenize_as "$pk" 4242424242424242
  pay_as "$sk" "$(j .id)" 2000 -H "Idempotency-Key: a19e-$RANDOM$RANDOM"
  pay=$(j .id)
  http POST "$GATEWAY_URL/v1/payments/$pay/refunds" "$sk" '{"amount":500}' -H "Idempotency-Key: a19e-re-$pay"
  eq "refund" "$STATUS" 201; re=$(j .id)
  http GET "$GATEWAY_URL/v1/events?type=refund.succeeded&limit=1" "$sk"
  evt=$(j '.data[0].id')
  http GET "$GATEWAY_URL/v1/events/$evt" "$sk"
  eq "event" "$STATUS/$(j .object)/$(j .type)" 200/event/refund.succeeded
  eq "api_version" "$(j '.api_version | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}$")')" true
  eq "livemode" "$(j .livemode)" false
  eq "pending_webhooks is a count" "$(j '.pending_webhooks | type')" number
  eq "data.object is the refund" "$(j .data.object.object)/$(j .data.object.id)/$(j .data.object.payment)" "refund/$re/$pay"
  eq "request" "$(j .request.id | cut -c1-4)/$(j .request.idempotency_key)" "req_/a19e-re-$pay"
  eq "previous_attributes" "$(j .data.previous_attributes.status)" pending
  # The payment's capture: data.object the payment, its previous status.
  http GET "$GATEWAY_URL/v1/payments/$pay/events" "$sk"
  ev=$(j '[.data[] | select(.type == "payment.captured")][0].id')
  http GET "$GATEWAY_URL/v1/events/$ev" "$sk"
  eq "captured: payment" "$(j .data.object.object)/$(j .data.object.id)/$(j .data.object.status)" "payment/$pay/captured"
  eq "captured: previous status" "$(j .data.previous_attributes.status)" processing
  # The webhook body is the same Event object (pending_webhooks aside: it counts now).
  wh_wait_count "$rx" "$evt" 1 10 || { fail "refund event not delivered"; return; }
  body=$(a19e_body "$rx" "$evt")
  http GET "$GATEWAY_URL/v1/events/$evt" "$sk"
  eq "webhook body = GET /v1/events/{id}" "$(jq -cS 'del(.pending_webhooks)' <<<"$body")" "$(jq -cS 'del(.pending_webhooks)' <<<"$BODY")"
  # Once the attempt is recorded (just after the receiver answered): none pending.
  for t in 1 2 3 4 5 6 7 8 9 10; do
    [ "$(j .pending_webhooks)" = 0 ] && break
    sleep 0.3; http GET "$GATEWAY_URL/v1/events/$evt" "$sk"
  done
  eq "delivered: no pending webhook left" "$(j .pending_webhooks)" 0
  # A receiver that fails: the event counts one pending webhook.
  wh_rx "$rx" '{"fail_next":1000,"fail_status":500}'
  tokenize_as "$pk" 4242424242424242; pay_as "$sk" "$(j .id)" 700; pay=$(j .id)
  http GET "$GATEWAY_URL/v1/events?type=payment.captured&limit=1" "$sk"; ev=$(j '.data[0].id')
  for t in 1 2 3 4 5 6 7 8 9 10; do
    http GET "$GATEWAY_URL/v1/events/$ev" "$sk"
    [ "$(j .pending_webhooks)" = 1 ] && break; sleep 0.3
  done
  eq "a failing endpoint: one pending webhook" "$(j .pending_webhooks)" 1
  # A PSP-webhook-caused event has request null (the dispute card).
  tokenize_as "$pk" 4000000000000259; pay_as "$sk" "$(j .id)"; pay=$(j .id)
  for t in $(seq 20); do
    http GET "$GATEWAY_URL/v1/events?type=dispute.created&limit=1" "$sk"
    [ "$(j '.data[0].data.object.payment')" = "$pay" ] && break; sleep 0.5
  done
  eq "dispute event: the dispute" "$(j '.data[0].data.object.object')/$(j '.data[0].data.object.payment')" "dispute/$pay"
  eq "dispute event: no merchant request" "$(j '.data[0].request')" null
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$WH_ID" "$sk"
}

t_attack_19e_endpoint_other_merchant() {
  local id n0 n1
  wh_setup || return
  wh_endpoint "$STRONGROOM_SK" om19 '["payment.captured"]'; id=$WH_ID
  n0=$(pg -d gateway -At <<<"SELECT count(*) FROM audit_events WHERE target = '$id' AND status = 404")
  http POST "$GATEWAY_URL/v1/webhook_endpoints/$id" "$SK2" '{"url":"https://attacker.example/x"}'
  eq "B updates A's endpoint" "$STATUS/$(j .error.code)" 404/resource_missing
  http POST "$GATEWAY_URL/v1/webhook_endpoints/$id/roll_secret" "$SK2" '{"expires_in":3600}'
  eq "B rolls A's secret" "$STATUS/$(j .error.code)" 404/resource_missing
  grep -q whsec_ <<<"$BODY" && fail "a secret in B's answer"
  n1=$(pg -d gateway -At <<<"SELECT count(*) FROM audit_events WHERE target = '$id' AND status = 404 AND result = 'refused' AND action LIKE 'POST /v1/webhook_endpoints/{}%'")
  eq "both refusals audited" "$((n1 - n0))" 2
  http GET "$GATEWAY_URL/v1/webhook_endpoints/$id" "$STRONGROOM_SK"
  eq "A's endpoint unchanged" "$(j .url)" "$WH_SINK/hook/om19"
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$id" "$STRONGROOM_SK"
}

t_attack_19e_endpoint_update_url_refused() {
  local id u cs us prev
  wh_setup || return
  wh_endpoint "$STRONGROOM_SK" uu19 '["payment.captured"]'; id=$WH_ID; prev="$WH_SINK/hook/uu19"
  for u in "http://example.com/x" "https://user:pw@example.com/x" "https://example.com/x#frag" \
           "https://127.0.0.1/x" "https://169.254.169.254/latest" "https://10.1.2.3/x" "not a url" "ftp://example.com/x"; do
    http POST "$GATEWAY_URL/v1/webhook_endpoints" "$STRONGROOM_SK" "{\"url\":\"$u\",\"enabled_events\":[\"*\"]}"
    cs=$STATUS
    [ "$cs" = 201 ] && http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$(j .id)" "$STRONGROOM_SK"
    http POST "$GATEWAY_URL/v1/webhook_endpoints/$id" "$STRONGROOM_SK" "{\"url\":\"$u\"}"
    us=$STATUS
    [ "$cs" = 201 ] && cs=200
    eq "update to $u as create" "$us" "$cs"
    if [ "$us" = 400 ]; then
      eq "param for $u" "$(j .error.param)" url
      grep -q -e 'user:pw' -e '#frag' -e 'example.com' <<<"$BODY" && fail "refused URL echoed"
      eq "refused URL not stored" "$(pg -d gateway -At <<<"SELECT url FROM webhook_endpoints WHERE id = '$id'")" "$prev"
    fi
    prev=$(pg -d gateway -At <<<"SELECT url FROM webhook_endpoints WHERE id = '$id'")
  done
  http POST "$GATEWAY_URL/v1/webhook_endpoints/$id" "$STRONGROOM_SK" '{"enabled_events":["payment.exploded"]}'
  eq "unknown event" "$STATUS/$(j .error.param)" 400/enabled_events
  http POST "$GATEWAY_URL/v1/webhook_endpoints/$id" "$STRONGROOM_SK" '{"secret":"mine"}'
  eq "unknown parameter" "$STATUS/$(j .error.code)" 400/parameter_unknown
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$id" "$STRONGROOM_SK"
}

t_attack_19e_rolled_secret_expires() {
  local id old new evt sig body out sk pk rx=ro19-$RANDOM
  wh_setup || return
  # A merchant and a receiver of its own: no other endpoint gets its events.
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "Secret rolls") ||
    { fail "merchant create"; return; }
  sk=$(jq -r .secret_key <<<"$out"); pk=$(jq -r .publishable_key <<<"$out")
  a19e_pay() { tokenize_as "$pk" 4242424242424242; pay_as "$sk" "$(j .id)"; evt=$(wh_event_of "$(j .id)" payment.captured); }
  wh_endpoint "$sk" "$rx" '["payment.captured"]'; id=$WH_ID; old=$WH_SECRET
  for x in '{"expires_in":-1}' '{"expires_in":"60"}' '{"expires_in":100000000}' '{"expires":60}'; do
    http POST "$GATEWAY_URL/v1/webhook_endpoints/$id/roll_secret" "$sk" "$x"
    eq "roll $x" "$STATUS" 400
  done
  http POST "$GATEWAY_URL/v1/webhook_endpoints/$id/roll_secret" "$sk" '{"expires_in":4}'
  eq "roll" "$STATUS" 200; new=$(j .secret)
  [[ $new =~ ^whsec_[A-Za-z0-9]{43}$ && $new != "$old" ]] || { fail "no new secret in the roll's answer"; return; }
  grep -q "${new#whsec_}" var/log/gatewayd.log && fail "the new secret in the gateway log"
  eq "sealed at rest" "$(pg -d gateway -At <<<"SELECT count(*) FROM webhook_endpoints WHERE position(convert_to('${new#whsec_}', 'UTF8') IN secret_sealed) > 0")" 0
  # During the overlap: two v1= signatures, one per secret; the receiver
  # knows only the new secret and accepts it (as Stripe's constructEvent).
  wh_rx "$rx" "{\"secret\":\"$new\",\"fail_next\":0}"
  a19e_pay
  wh_wait_count "$rx" "$evt" 1 10 || { fail "not delivered during the overlap"; return; }
  sig=$(a19e_sig "$rx" "$evt"); body=$(a19e_body "$rx" "$evt")
  eq "two signatures during the overlap" "$(a19e_v1_count "$sig")" 2
  a19e_v1_ok "$new" "$sig" "$body" || fail "the new secret does not sign during the overlap"
  a19e_v1_ok "$old" "$sig" "$body" || fail "the old secret does not sign during the overlap"
  sleep 5
  # After the expiry: only the new secret signs.
  a19e_pay
  wh_wait_count "$rx" "$evt" 1 10 || { fail "not delivered after the expiry"; return; }
  sig=$(a19e_sig "$rx" "$evt"); body=$(a19e_body "$rx" "$evt")
  eq "one signature after the expiry" "$(a19e_v1_count "$sig")" 1
  a19e_v1_ok "$new" "$sig" "$body" || fail "the new secret does not sign after the expiry"
  a19e_v1_ok "$old" "$sig" "$body" && fail "the rolled secret still signs after its expiry"
  # expires_in 0: the old secret stops at once.
  http POST "$GATEWAY_URL/v1/webhook_endpoints/$id/roll_secret" "$sk" '{"expires_in":0}'
  eq "roll now" "$STATUS" 200; old=$new; new=$(j .secret)
  wh_rx "$rx" "{\"secret\":\"$new\",\"fail_next\":0}"
  a19e_pay
  wh_wait_count "$rx" "$evt" 1 10 || { fail "not delivered after an immediate roll"; return; }
  sig=$(a19e_sig "$rx" "$evt"); body=$(a19e_body "$rx" "$evt")
  eq "immediate roll: one signature" "$(a19e_v1_count "$sig")" 1
  a19e_v1_ok "$old" "$sig" "$body" && fail "an immediately rolled secret still signs"
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$id" "$sk"
}

t_attack_19e_zz_restore() { t_mwh_8_restore; }
