# Integration tests of webhooks to merchants (issue 5): endpoints and their
# secrets (shown once, sealed at rest), fan-out by event filter, the
# Strongroom-Signature (checked by the receiver and again here with openssl),
# retries with growing intervals, durability across a gatewayd restart,
# redelivery, the delivery-attempt metric, giving up after the maximum age.
# The receiver is build/.../whsink (tests/whsink/whsink.c) on real TLS (dev
# CA); gatewayd runs with compressed retry timings for these tests.
# Sourced by run.sh (helpers: http, j, eq, fail, tokenize, pay, pg, wait_port).

WH_SINK_PORT=$((8459 + SR_PORT_OFFSET))
WH_SINK=https://localhost:$WH_SINK_PORT
WH_CURL=(-sS --cacert var/pki/ca.crt)
# Compressed schedule: retries after ~0.5 s, 1 s, 2 s, 2 s ... (minus up to
# 25 % jitter); give up when the next try would start more than 10 s after the
# first.
WH_TIMINGS='{"webhook_backoff_base_ms": 500, "webhook_backoff_cap_ms": 2000, "webhook_max_age_s": 10, "webhook_interval_ms": 50}'

wh_sink_up() {
  curl "${WH_CURL[@]}" -o /dev/null "$WH_SINK/_sink/stats" 2>/dev/null && return 0
  # timeout: the receiver never outlives the suite (run.sh's down.sh does not know it).
  timeout 1800 "$SR_BIN/whsink" --port "$WH_SINK_PORT" --cert var/pki/pspsim.crt --key var/pki/pspsim.key \
    >>var/log/whsink.log 2>&1 &
  WH_SINK_PID=$!
  wait_port "$WH_SINK_PORT" 20
}
wh_gw_stop() {
  local pid i; pid=$(cat var/run/gatewayd.pid)
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 200; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  return 1
}
wh_gw_start() {  # CONFIG: as scripts/up.sh starts it (down.sh stops it by its pid file)
  "$SR_BIN/gatewayd" --config "$1" >>var/log/gatewayd.log 2>&1 &
  echo $! > var/run/gatewayd.pid
  wait_port "$GW_PORT" 30 && wait_port "$GW_ADMIN_PORT" 30
}
wh_setup() {  # the receiver, and gatewayd with compressed timings (once)
  wh_sink_up || { fail "whsink did not start"; return 1; }
  [ "${WH_GW_READY:-}" = 1 ] && return 0
  jq --argjson x "$WH_TIMINGS" '. + $x' var/etc/gatewayd.json > var/etc/gatewayd-wh.json
  wh_gw_stop && wh_gw_start var/etc/gatewayd-wh.json || { fail "gatewayd restart with webhook timings"; return 1; }
  WH_GW_READY=1
}
wh_rx() {  # NAME JSON: configure a receiver
  curl "${WH_CURL[@]}" -H 'Content-Type: application/json' --data-binary "$2" "$WH_SINK/_sink/receivers/$1" >/dev/null
}
wh_count() {  # NAME EVT: successful deliveries of EVT to receiver NAME
  curl "${WH_CURL[@]}" "$WH_SINK/_sink/stats" | jq -r --arg n "$1" --arg e "$2" '.delivered[$n][$e] // 0'
}
wh_requests() {  # NAME EVT: all requests (any status) for EVT at NAME
  curl "${WH_CURL[@]}" "$WH_SINK/_sink/stats" | jq -r --arg n "$1" --arg e "$2" '[.requests[] | select(.name == $n and .event == $e)] | length'
}
wh_wait_count() {  # NAME EVT WANT [SECONDS]
  local i
  for ((i = 0; i < ${4:-10} * 10; i++)); do
    [ "$(wh_count "$1" "$2")" -ge "$3" ] && return 0
    sleep 0.1
  done
  return 1
}
wh_endpoint() {  # KEY NAME EVENTS_JSON -> WH_ID, WH_SECRET; receiver NAME gets the secret
  http POST "$GATEWAY_URL/v1/webhook_endpoints" "$1" "{\"url\":\"$WH_SINK/hook/$2\",\"enabled_events\":$3}"
  eq "endpoint $2 created" "$STATUS" 201
  WH_ID=$(j .id); WH_SECRET=$(j .secret)
  wh_rx "$2" "{\"secret\":\"$WH_SECRET\",\"fail_next\":0}"
}
wh_event_of() {  # PAY TYPE -> the event id (evt_...) of the payment's event TYPE
  pg -d gateway -At <<<"SELECT public_id FROM payment_events WHERE payment_id = '$1' AND type = '$2' ORDER BY id DESC LIMIT 1"
}
wh_metric() {  # OUTCOME: strongroom_webhook_delivery_attempts_total{outcome=...}
  curl "${WH_CURL[@]}" "https://localhost:$GW_ADMIN_PORT/metrics" |
    awk -v o="strongroom_webhook_delivery_attempts_total{outcome=\"$1\"}" '$1 == o {print $2; f=1} END {if (!f) print "none"}'
}
wh_pay_captured() {  # -> WH_PAY, WH_EVT (its payment.captured event)
  tokenize 4242424242424242; pay "$(j .id)"
  WH_PAY=$(j .id)
  eq "payment captured" "$(j .status)" captured
  WH_EVT=$(wh_event_of "$WH_PAY" payment.captured)
}

t_mwh_1_endpoints_and_secret_shown_once() {
  local id secret n ro pay_key
  wh_setup || return
  wh_endpoint "$STRONGROOM_SK" e1 '["payment.captured","refund.succeeded"]'
  id=$WH_ID secret=$WH_SECRET
  [[ $secret =~ ^whsec_[A-Za-z0-9]{43}$ ]] || fail "secret shape (whsec_ + 256 bits)"
  [[ $id =~ ^we_[A-Za-z0-9]{22}$ ]] || fail "endpoint id shape"
  eq "events" "$(j '.enabled_events | join(",")')" "payment.captured,refund.succeeded"
  # Never shown again: not by GET, not by the list, not in the database, not in logs.
  http GET "$GATEWAY_URL/v1/webhook_endpoints/$id" "$STRONGROOM_SK"
  eq "get" "$STATUS" 200
  eq "get has no secret" "$(j 'has("secret")')" false
  grep -q "${secret#whsec_}" <<<"$BODY" && fail "GET shows the secret"
  eq "prefix only" "$(j .secret_prefix)" "${secret:0:10}..."
  http GET "$GATEWAY_URL/v1/webhook_endpoints" "$STRONGROOM_SK"
  eq "listed" "$(jq --arg i "$id" '[.data[] | select(.id == $i)] | length' <<<"$BODY")" 1
  grep -q "${secret#whsec_}" <<<"$BODY" && fail "list shows the secret"
  eq "sealed at rest" "$(pg -d gateway -At <<<"SELECT count(*) FROM webhook_endpoints WHERE position(convert_to('${secret#whsec_}', 'UTF8') IN secret_sealed) > 0 OR secret_prefix LIKE '%${secret: -8}%'")" 0
  grep -q "${secret#whsec_}" var/log/gatewayd.log && fail "secret in the gateway log"
  # Another merchant sees nothing of it.
  http GET "$GATEWAY_URL/v1/webhook_endpoints/$id" "$SK2"; eq "other merchant" "$STATUS" 404
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$id" "$SK2"; eq "other merchant delete" "$STATUS" 404
  # Input checks (negative cases; the input is never echoed).
  http POST "$GATEWAY_URL/v1/webhook_endpoints" "$STRONGROOM_SK" '{"url":"http://localhost:1/x","enabled_events":["payment.captured"]}'
  eq "http refused" "$STATUS" 400; eq "param" "$(j .error.param)" url
  http POST "$GATEWAY_URL/v1/webhook_endpoints" "$STRONGROOM_SK" '{"url":"https://user:pw@example.com/x","enabled_events":["payment.captured"]}'
  eq "credentials in url refused" "$STATUS" 400
  http POST "$GATEWAY_URL/v1/webhook_endpoints" "$STRONGROOM_SK" '{"url":"not a url at all","enabled_events":["payment.captured"]}'
  eq "garbage url refused" "$STATUS" 400
  http POST "$GATEWAY_URL/v1/webhook_endpoints" "$STRONGROOM_SK" "{\"url\":\"https://example.com/$(head -c 2100 /dev/zero | tr '\0' a)\",\"enabled_events\":[\"payment.captured\"]}"
  eq "long url refused" "$STATUS" 400
  http POST "$GATEWAY_URL/v1/webhook_endpoints" "$STRONGROOM_SK" '{"url":"https://example.com/x","enabled_events":["payment.exploded"]}'
  eq "unknown event refused" "$STATUS" 400; eq "param" "$(j .error.param)" enabled_events
  grep -q exploded <<<"$BODY" && fail "rejected input echoed"
  http POST "$GATEWAY_URL/v1/webhook_endpoints" "$STRONGROOM_SK" '{"url":"https://example.com/x","enabled_events":[]}'
  eq "no events refused" "$STATUS" 400
  http POST "$GATEWAY_URL/v1/webhook_endpoints" "$STRONGROOM_SK" '{"url":"https://example.com/x","enabled_events":["*","*"]}'
  eq "duplicate refused" "$STATUS" 400
  http POST "$GATEWAY_URL/v1/webhook_endpoints" "$STRONGROOM_SK" '{"url":"https://example.com/x","enabled_events":["*"],"secret":"mine"}'
  eq "unknown parameter refused" "$STATUS" 400
  # Roles: creating and deleting need admin; reading does not.
  pay_key=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json key create --merchant "$STRONGROOM_MERCHANT" --role payments | jq -r .secret_key)
  http POST "$GATEWAY_URL/v1/webhook_endpoints" "$pay_key" '{"url":"https://example.com/x","enabled_events":["*"]}'
  eq "payments role may not create" "$STATUS" 403
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$id" "$pay_key"; eq "payments role may not delete" "$STATUS" 403
  http GET "$GATEWAY_URL/v1/webhook_endpoints/$id" "$pay_key"; eq "payments role may read" "$STATUS" 200
  # gatewayctl webhooks add|list|delete.
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json webhooks add --merchant "$STRONGROOM_MERCHANT" \
        --url "$WH_SINK/hook/ctl" --event payment.failed --event dispute.created) || fail "gatewayctl webhooks add"
  [[ $(jq -r .secret <<<"$out") == whsec_* ]] || fail "gatewayctl shows the secret once"
  n=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json webhooks list --merchant "$STRONGROOM_MERCHANT" | jq --arg i "$(jq -r .id <<<"$out")" '[.[] | select(.id == $i and (has("secret") | not))] | length')
  eq "gatewayctl list" "$n" 1
  "$SR_BIN/gatewayctl" --config var/etc/gatewayd.json webhooks add --merchant "$STRONGROOM_MERCHANT" --url "$WH_SINK/x" --event payment.nope >/dev/null 2>&1 \
    && fail "gatewayctl accepted an unknown event"
  "$SR_BIN/gatewayctl" --config var/etc/gatewayd.json webhooks delete --merchant "$STRONGROOM_MERCHANT" --id "$(jq -r .id <<<"$out")" >/dev/null \
    || fail "gatewayctl webhooks delete"
  # Delete: gone for GET, stays gone.
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$id" "$STRONGROOM_SK"; eq "delete" "$STATUS" 200; eq "deleted" "$(j .deleted)" true
  http GET "$GATEWAY_URL/v1/webhook_endpoints/$id" "$STRONGROOM_SK"; eq "deleted endpoint" "$STATUS" 404
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$id" "$STRONGROOM_SK"; eq "delete twice" "$STATUS" 404
}

t_mwh_2_delivery_filtered_and_signed() {
  local a b c m2 evt ra body sig t v1 calc re secret_a
  wh_setup || return
  wh_endpoint "$STRONGROOM_SK" fa '["payment.captured"]'; a=$WH_ID; secret_a=$WH_SECRET
  wh_endpoint "$STRONGROOM_SK" fb '["refund.succeeded","refund.failed"]'; b=$WH_ID
  wh_endpoint "$STRONGROOM_SK" fc '["*"]'; c=$WH_ID
  wh_endpoint "$SK2" fm2 '["*"]'; m2=$WH_ID
  wh_pay_captured; evt=$WH_EVT
  [ -n "$evt" ] || { fail "no payment.captured event"; return; }
  wh_wait_count fa "$evt" 1 10 || fail "payment.captured not delivered to the matching endpoint"
  wh_wait_count fc "$evt" 1 10 || fail "payment.captured not delivered to the catch-all endpoint"
  sleep 1  # anything extra would have arrived by now
  eq "exactly once (fa)" "$(wh_requests fa "$evt")" 1
  eq "exactly once (fc)" "$(wh_requests fc "$evt")" 1
  eq "filter respected (fb)" "$(wh_requests fb "$evt")" 0
  eq "other merchant's endpoint" "$(wh_requests fm2 "$evt")" 0
  # The receiver verified the signature; verify it again with openssl.
  ra=$(curl "${WH_CURL[@]}" "$WH_SINK/_sink/stats" | jq -c --arg e "$evt" '[.requests[] | select(.name == "fa" and .event == $e)][0]')
  eq "receiver verified" "$(jq -r .sig_ok <<<"$ra")" true
  body=$(jq -r .body <<<"$ra"); sig=$(jq -r .signature <<<"$ra")
  t=${sig#t=}; t=${t%%,*}; v1=${sig##*,v1=}
  calc=$(printf '%s.%s' "$t" "$body" | openssl dgst -sha256 -hmac "$secret_a" -r | cut -d' ' -f1)
  eq "signature (openssl)" "$calc" "$v1"
  [ $(( $(date +%s) - t )) -lt 60 ] || fail "signature timestamp not current"
  eq "body type" "$(jq -r .type <<<"$body")" payment.captured
  eq "body id" "$(jq -r .id <<<"$body")" "$evt"
  eq "body payment" "$(jq -r .data.object.id <<<"$body")" "$WH_PAY"
  # A refund reaches the refund endpoint (and the catch-all), with the refund.
  http POST "$GATEWAY_URL/v1/payments/$WH_PAY/refunds" "$STRONGROOM_SK" '{"amount":500}'
  eq "refund" "$STATUS" 201; re=$(j .id)
  evt=$(wh_event_of "$WH_PAY" payment.partially_refunded)
  wh_wait_count fb "$evt" 1 10 || fail "refund.succeeded not delivered"
  wh_wait_count fc "$evt" 1 10 || fail "refund.succeeded not delivered to the catch-all"
  sleep 0.5
  eq "refund not sent to fa" "$(wh_requests fa "$evt")" 0
  body=$(curl "${WH_CURL[@]}" "$WH_SINK/_sink/stats" | jq -r --arg e "$evt" '[.requests[] | select(.name == "fb" and .event == $e)][0].body')
  eq "refund event type" "$(jq -r .type <<<"$body")" refund.succeeded
  eq "refund object" "$(jq -r .data.object.id <<<"$body")" "$re"
  # The delivery record: one succeeded attempt with its status and latency.
  http GET "$GATEWAY_URL/v1/webhook_endpoints/$a/deliveries" "$STRONGROOM_SK"
  eq "deliveries" "$STATUS" 200
  eq "delivery status" "$(j '.data[0].status')" succeeded
  eq "delivery attempts" "$(j '.data[0].attempts | length')" 1
  eq "attempt status code" "$(j '.data[0].attempts[0].status_code')" 200
  eq "attempt outcome" "$(j '.data[0].attempts[0].outcome')" success
  [[ $(j '.data[0].attempts[0].latency_ms') =~ ^[0-9]+$ ]] || fail "attempt latency"
  grep -q received <<<"$(j '.data[0].attempts[0].response')" || fail "attempt response not recorded"
  http GET "$GATEWAY_URL/v1/webhook_endpoints/$a/deliveries" "$SK2"; eq "deliveries of another merchant" "$STATUS" 404
  http GET "$GATEWAY_URL/v1/webhook_endpoints/$a/deliveries?limit=0" "$STRONGROOM_SK"; eq "bad limit" "$STATUS" 400
  for x in $a $b $c; do http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$x" "$STRONGROOM_SK"; done
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$m2" "$SK2"
}

t_mwh_2b_refund_failed() {
  # A refund the PSP refuses (its side was refunded behind the gateway's back)
  # is an event too: refund.failed, with the refund.
  local ep pi evt body re
  wh_setup || return
  wh_endpoint "$STRONGROOM_SK" rf '["refund.failed"]'; ep=$WH_ID
  wh_pay_captured; pi=$(pg -d gateway -At <<<"SELECT psp_reference FROM payments WHERE id = '$WH_PAY'")
  curl -sS "${PSP[@]}" --cert var/pki/psp-control.crt --key var/pki/psp-control.key \
    -H "Authorization: Bearer $(cat var/pspsim-keys/psp-stripe-key)" -d "payment_intent=$pi" "$PSP_URL/v1/refunds" >/dev/null \
    || { fail "refund at the PSP"; return; }
  http POST "$GATEWAY_URL/v1/payments/$WH_PAY/refunds" "$STRONGROOM_SK" '{"amount":500}'
  re=$(j .id)
  eq "refund refused by the PSP" "$(j .status)" failed
  evt=$(wh_event_of "$WH_PAY" payment.refund_failed)
  [ -n "$evt" ] || { fail "no payment.refund_failed event"; return; }
  wh_wait_count rf "$evt" 1 10 || fail "refund.failed not delivered"
  body=$(curl "${WH_CURL[@]}" "$WH_SINK/_sink/stats" | jq -r --arg e "$evt" '[.requests[] | select(.name == "rf" and .event == $e)][0].body')
  eq "type" "$(jq -r .type <<<"$body")" refund.failed
  eq "refund in the event" "$(jq -r '.data.object.id + " " + .data.object.status' <<<"$body")" "$re failed"
  http GET "$GATEWAY_URL/v1/payments/$WH_PAY" "$STRONGROOM_SK"
  eq "payment unchanged" "$(j .status)" captured
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$ep" "$STRONGROOM_SK"
}

t_mwh_3_backoff_then_recovery() {
  local ep evt ats g1 g2 g3
  wh_setup || return
  wh_endpoint "$STRONGROOM_SK" bo '["payment.captured"]'; ep=$WH_ID
  wh_rx bo '{"fail_next":3,"fail_status":500}'
  wh_pay_captured; evt=$WH_EVT
  wh_wait_count bo "$evt" 1 20 || { fail "not delivered after 3 failures"; return; }
  sleep 1
  eq "delivered once" "$(wh_count bo "$evt")" 1
  eq "requests (3 failed + 1)" "$(wh_requests bo "$evt")" 4
  http GET "$GATEWAY_URL/v1/webhook_endpoints/$ep/deliveries" "$STRONGROOM_SK"
  eq "status" "$(j '.data[0].status')" succeeded
  eq "attempt outcomes" "$(j '[.data[0].attempts[].outcome] | join(",")')" "http_error,http_error,http_error,success"
  eq "attempt codes" "$(j '[.data[0].attempts[].status_code] | join(",")')" "500,500,500,200"
  ats=$(j '[.data[0].attempts[].at] | join(" ")')
  read -r t1 t2 t3 t4 <<<"$ats"
  g1=$((t2 - t1)) g2=$((t3 - t2)) g3=$((t4 - t3))
  echo "    (attempt intervals: ${g1} ms, ${g2} ms, ${g3} ms)"
  [ "$g1" -ge 350 ] || fail "first retry too early ($g1 ms)"
  [ "$g2" -gt "$g1" ] && [ "$g3" -gt "$g2" ] || fail "intervals do not grow: $g1 $g2 $g3"
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$ep" "$STRONGROOM_SK"
}

t_mwh_4_pending_delivery_survives_restart() {
  local ep evt n
  wh_setup || return
  wh_endpoint "$STRONGROOM_SK" rs '["payment.captured"]'; ep=$WH_ID
  wh_rx rs '{"fail_next":2,"fail_status":503}'
  wh_pay_captured; evt=$WH_EVT
  # First attempt failed and recorded: stop gatewayd mid-backoff.
  wait_sql "SELECT attempts >= 1 FROM webhook_deliveries WHERE endpoint_id = '$ep'" 10 || fail "no first attempt"
  wh_gw_stop || fail "gatewayd did not stop"
  sleep 1.5  # the retry falls due while no gatewayd runs
  eq "pending while down" "$(pg -d gateway -At <<<"SELECT status FROM webhook_deliveries WHERE endpoint_id = '$ep'")" pending
  eq "nothing delivered while down" "$(wh_count rs "$evt")" 0
  wh_gw_start var/etc/gatewayd-wh.json || { fail "gatewayd did not restart"; return; }
  wh_wait_count rs "$evt" 1 20 || fail "not delivered after the restart"
  sleep 0.5
  eq "delivered once" "$(wh_count rs "$evt")" 1
  n=$(pg -d gateway -At <<<"SELECT status || ':' || attempts FROM webhook_deliveries WHERE endpoint_id = '$ep'")
  eq "delivery after restart" "$n" succeeded:3
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$ep" "$STRONGROOM_SK"
}

t_mwh_4b_two_instances_send_once() {
  # A second gatewayd with its own dispatcher on the same database: every
  # event still reaches the endpoint exactly once (SKIP LOCKED + leases).
  local ep pid2 port2=$((GW_PORT + 60)) i evts=() e dup=0
  wh_setup || return
  wh_endpoint "$STRONGROOM_SK" two '["payment.captured"]'; ep=$WH_ID
  jq --argjson p "$port2" '. + {port: $p, admin_port: 0, workers: 0}' var/etc/gatewayd-wh.json > var/etc/gatewayd-wh2.json
  "$SR_BIN/gatewayd" --config var/etc/gatewayd-wh2.json >>var/log/gatewayd2.log 2>&1 &
  pid2=$!
  wait_port "$port2" 20 || fail "second gatewayd did not start"
  for ((i = 0; i < 12; i++)); do
    wh_pay_captured; evts+=("$WH_EVT")
  done
  for e in "${evts[@]}"; do wh_wait_count two "$e" 1 15 || fail "$e not delivered"; done
  sleep 1
  for e in "${evts[@]}"; do [ "$(wh_requests two "$e")" = 1 ] || dup=$((dup + 1)); done
  eq "events sent more than once" "$dup" 0
  eq "attempts = deliveries" "$(pg -d gateway -At <<<"SELECT count(*) FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = '$ep'")" 12
  echo "    (attempts by the second instance: $(grep -c "\"endpoint\":\"$ep\"" var/log/gatewayd2.log) of 12)"
  kill "$pid2" 2>/dev/null; wait "$pid2" 2>/dev/null
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$ep" "$STRONGROOM_SK"
}

t_mwh_4c_outbox_waits_for_a_dispatcher() {
  # No dispatcher running: the outbox row waits (counted by the gauge); the
  # next dispatcher delivers it.
  local ep evt g
  wh_setup || return
  wh_endpoint "$STRONGROOM_SK" ob '["payment.captured"]'; ep=$WH_ID
  jq '. + {webhook_dispatcher: 0}' var/etc/gatewayd-wh.json > var/etc/gatewayd-wh-off.json
  wh_gw_stop && wh_gw_start var/etc/gatewayd-wh-off.json || { fail "restart without dispatcher"; return; }
  wh_pay_captured; evt=$WH_EVT
  sleep 0.5
  eq "outbox row waiting" "$(pg -d gateway -At <<<"SELECT delivered_at IS NULL FROM outbox WHERE event_id = (SELECT id FROM payment_events WHERE public_id = '$evt')")" t
  eq "no delivery yet" "$(pg -d gateway -At <<<"SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = '$ep'")" 0
  g=$(curl "${WH_CURL[@]}" "https://localhost:$GW_ADMIN_PORT/metrics" | awk '$1 == "strongroom_outbox_pending" {print $2}')
  awk -v g="$g" 'BEGIN {exit !(g >= 1)}' || fail "outbox gauge does not count it ($g)"
  wh_gw_stop && wh_gw_start var/etc/gatewayd-wh.json || { fail "restart with dispatcher"; return; }
  wh_wait_count ob "$evt" 1 15 || fail "not delivered by the next dispatcher"
  eq "handed over" "$(pg -d gateway -At <<<"SELECT delivered_at IS NOT NULL FROM outbox WHERE event_id = (SELECT id FROM payment_events WHERE public_id = '$evt')")" t
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$ep" "$STRONGROOM_SK"
}

t_mwh_5_redeliver() {
  local ep ep2 evt
  wh_setup || return
  wh_endpoint "$STRONGROOM_SK" rd '["payment.captured"]'; ep=$WH_ID
  wh_endpoint "$STRONGROOM_SK" rd2 '["payment.captured"]'; ep2=$WH_ID
  wh_pay_captured; evt=$WH_EVT
  wh_wait_count rd "$evt" 1 10 || { fail "first delivery"; return; }
  wh_wait_count rd2 "$evt" 1 10 || { fail "first delivery (rd2)"; return; }
  http POST "$GATEWAY_URL/v1/events/$evt/redeliver" "$STRONGROOM_SK" "{\"endpoint\":\"$ep\"}"
  eq "redeliver" "$STATUS" 202; eq "scheduled" "$(j .scheduled)" 1
  wh_wait_count rd "$evt" 2 10 || fail "not redelivered"
  sleep 0.5
  eq "only the endpoint named" "$(wh_count rd2 "$evt")" 1
  http POST "$GATEWAY_URL/v1/events/$evt/redeliver" "$STRONGROOM_SK" '{}'
  eq "redeliver to all" "$STATUS" 202
  # (>= 2: endpoints left by earlier runs on this database may match too)
  [ "$(j .scheduled)" -ge 2 ] || fail "scheduled all: $(j .scheduled)"
  wh_wait_count rd "$evt" 3 10 || fail "not redelivered (all)"
  wh_wait_count rd2 "$evt" 2 10 || fail "not redelivered to rd2"
  http POST "$GATEWAY_URL/v1/events/$evt/redeliver" "$SK2" '{}'; eq "other merchant's event" "$STATUS" 404
  http POST "$GATEWAY_URL/v1/events/evt_999999999/redeliver" "$STRONGROOM_SK" '{}'; eq "unknown event" "$STATUS" 404
  http POST "$GATEWAY_URL/v1/events/pay_12345678/redeliver" "$STRONGROOM_SK" '{}'; eq "not an event id" "$STATUS" 404
  http POST "$GATEWAY_URL/v1/events/$evt/redeliver" "$STRONGROOM_SK" '{"endpoint":"nope"}'; eq "bad body" "$STATUS" 400
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$ep" "$STRONGROOM_SK"
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$ep2" "$STRONGROOM_SK"
}

t_mwh_6_metrics_move() {
  local ep evt s0 e0 s1 e1
  wh_setup || return
  s0=$(wh_metric success); e0=$(wh_metric http_error)
  [ "$s0" != none ] || { fail "no strongroom_webhook_delivery_attempts_total{outcome=\"success\"}"; return; }
  wh_endpoint "$STRONGROOM_SK" mt '["payment.captured"]'; ep=$WH_ID
  wh_rx mt '{"fail_next":1,"fail_status":500}'
  wh_pay_captured; evt=$WH_EVT
  wh_wait_count mt "$evt" 1 10 || fail "not delivered"
  sleep 0.3
  s1=$(wh_metric success); e1=$(wh_metric http_error)
  awk -v a="$s0" -v b="$s1" 'BEGIN {exit !(b >= a + 1)}' || fail "success counter did not move ($s0 -> $s1)"
  awk -v a="$e0" -v b="$e1" 'BEGIN {exit !(b >= a + 1)}' || fail "http_error counter did not move ($e0 -> $e1)"
  curl "${WH_CURL[@]}" "https://localhost:$GW_ADMIN_PORT/metrics" > "$TMP/whm"
  grep -q '^strongroom_webhook_delivery_duration_seconds_bucket{outcome="success",le="' "$TMP/whm" || fail "no latency histogram"
  grep -q '^strongroom_webhook_deliveries_pending [0-9]' "$TMP/whm" || fail "no pending gauge"
  grep -q '^strongroom_outbox_pending [0-9]' "$TMP/whm" || fail "no outbox gauge"
  grep -q 'strongroom_webhook.*\(evt_\|we_\|whsec_\)' "$TMP/whm" && fail "an id in metric labels"
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$ep" "$STRONGROOM_SK"
}

t_mwh_7_gives_up_after_max_age() {
  local ep evt st
  wh_setup || return
  wh_endpoint "$STRONGROOM_SK" gu '["payment.captured"]'; ep=$WH_ID
  wh_rx gu '{"fail_next":1000,"fail_status":500}'
  wh_pay_captured; evt=$WH_EVT
  wait_sql "SELECT status = 'failed' FROM webhook_deliveries WHERE endpoint_id = '$ep'" 25 || fail "not marked failed"
  st=$(pg -d gateway -At <<<"SELECT attempts >= 4 AND completed_at - started_at < interval '12 seconds' FROM webhook_deliveries WHERE endpoint_id = '$ep'")
  eq "retried, then gave up within the maximum age" "$st" t
  n=$(wh_requests gu "$evt"); sleep 2
  eq "no attempt after failed" "$(wh_requests gu "$evt")" "$n"
  grep -q '"event":"webhook.delivery_failed"' var/log/gatewayd.log || fail "give-up not logged"
  http GET "$GATEWAY_URL/v1/webhook_endpoints/$ep/deliveries" "$STRONGROOM_SK"
  eq "listed failed" "$(j '.data[0].status')" failed
  # Redelivery after giving up starts a fresh window (and succeeds now).
  wh_rx gu '{"fail_next":0}'
  http POST "$GATEWAY_URL/v1/events/$evt/redeliver" "$STRONGROOM_SK" '{}'
  eq "redeliver after failed" "$STATUS" 202
  wh_wait_count gu "$evt" 1 10 || fail "redelivery after failed"
  http DELETE "$GATEWAY_URL/v1/webhook_endpoints/$ep" "$STRONGROOM_SK"
}

t_mwh_8_restore() {
  # Back to the stack's own configuration for the tests that follow.
  if [ "${WH_GW_READY:-}" = 1 ]; then
    wh_gw_stop && wh_gw_start var/etc/gatewayd.json || fail "gatewayd restart with its own configuration"
    WH_GW_READY=
  fi
  [ -n "${WH_SINK_PID:-}" ] && { kill "$WH_SINK_PID" 2>/dev/null; wait "$WH_SINK_PID" 2>/dev/null; WH_SINK_PID=; }
  return 0
}
