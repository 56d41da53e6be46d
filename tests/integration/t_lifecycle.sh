# Integration tests of the payment lifecycle (issue 4): capture, cancel,
# refunds, illegal transitions, concurrency, idempotency (replay, mismatch,
# in-progress 409, crash recovery, retention), two gateway instances on one
# database, listing and event timelines, unknown outcomes and 3-D Secure.
# Sourced by run.sh (helpers: http, j, eq, fail, tokenize, pay, pg, psp_stats).

pay_manual() {  # TOKEN [AMOUNT] [curl args...]
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" "{\"amount\":${2:-1500},\"currency\":\"usd\",\"payment_method\":\"$1\",\"capture_method\":\"manual\"}" "${@:3}"
}
new_manual() {  # -> PAY (an authorized manual payment of AMOUNT)
  tokenize 4242424242424242; pay_manual "$(j .id)" "${1:-1500}"
  PAY=$(j .id)
  eq "manual payment authorized" "$(j .status)" authorized
}
new_captured() {  # -> PAY (an automatic, captured payment of AMOUNT)
  tokenize 4242424242424242; pay "$(j .id)" "${1:-1500}"
  PAY=$(j .id)
  eq "automatic payment captured" "$(j .status)" captured
}
op() {  # OP PAY [BODY] [curl args]: POST /v1/payments/PAY/OP
  http POST "$GATEWAY_URL/v1/payments/$2/$1" "$STRONGROOM_SK" "${3:-}" "${@:4}"
}
refund() {  # PAY [BODY] [curl args]
  http POST "$GATEWAY_URL/v1/payments/$1/refunds" "$STRONGROOM_SK" "${2:-}" "${@:3}"
}
psp_n() { psp_stats | jq -r ".$1"; }
psp_faults() { curl -sS "${PSP[@]}" --cert var/pki/psp-control.crt --key var/pki/psp-control.key \
  -H 'Content-Type: application/json' --data-binary "$1" $PSP_URL/_sim/faults >/dev/null; }
events() { http GET "$GATEWAY_URL/v1/payments/$1/events" "$STRONGROOM_SK"; j '[.data[].type] | join(",")'; }
wait_status() {  # PAY WANT [SECONDS]: poll GET until status = WANT
  local i
  for ((i = 0; i < ${3:-10} * 5; i++)); do
    http GET "$GATEWAY_URL/v1/payments/$1" "$STRONGROOM_SK"
    [ "$(j .status)" = "$2" ] && return 0
    sleep 0.2
  done
  return 1
}

wait_sql() {  # SQL [SECONDS]: poll the gateway database until SQL returns 't'
  local i
  for ((i = 0; i < ${2:-10} * 10; i++)); do
    [ "$(pg -d gateway -At <<<"$1")" = t ] && return 0
    sleep 0.1
  done
  return 1
}

# A second gatewayd on the same database (scale-out), with extra config.
GW2_PORT=$((GW_PORT + 50))
GW2_URL=https://localhost:$GW2_PORT
start_gw2() {  # EXTRA_JSON_OBJECT
  jq --argjson p "$GW2_PORT" --argjson x "${1:-{\}}" '. + {port: $p, admin_port: 0} + $x' var/etc/gatewayd.json > var/etc/gatewayd2.json
  "$SR_BIN/gatewayd" --config var/etc/gatewayd2.json >>var/log/gatewayd2.log 2>&1 &
  GW2_PID=$!
  wait_port "$GW2_PORT" 20 || fail "second gatewayd did not start"
}
stop_gw2() {
  [ -n "${GW2_PID:-}" ] || return 0
  kill "$GW2_PID" 2>/dev/null; wait "$GW2_PID" 2>/dev/null; GW2_PID=
}

t_lc_capture_full() {
  new_manual 1500
  local c0; c0=$(psp_n captures)
  op capture "$PAY"
  eq "capture status" "$STATUS" 200; eq "captured" "$(j .status)" captured
  eq "amount_captured" "$(j .amount_captured)" 1500
  eq "one PSP capture" "$(( $(psp_n captures) - c0 ))" 1
  op capture "$PAY"; eq "capture twice" "$STATUS" 409
  eq "type" "$(j .error.type)" invalid_request_error; eq "code" "$(j .error.code)" payment_already_captured
  op cancel "$PAY"; eq "cancel captured" "$STATUS" 409; eq "code" "$(j .error.code)" payment_already_captured
  eq "no second PSP capture" "$(( $(psp_n captures) - c0 ))" 1
  eq "timeline" "$(events "$PAY")" "payment.created,payment.authorized,payment.captured"
  eq "outbox rows = events" "$(pg -d gateway -At <<<"SELECT count(*) FROM outbox o JOIN payment_events e ON e.id = o.event_id WHERE e.payment_id = '$PAY'")" 3
}

t_lc_capture_partial() {
  new_manual 1500
  op capture "$PAY" '{"amount":1501}'; eq "capture above authorized" "$STATUS" 400; eq code "$(j .error.code)" amount_too_large
  op capture "$PAY" '{"amount":"600"}'; eq "amount as string" "$STATUS" 400; eq code "$(j .error.code)" parameter_invalid_type
  op capture "$PAY" '{"amount":600,"extra":1}'; eq "unknown field" "$STATUS" 400; eq code "$(j .error.code)" parameter_unknown
  op capture "$PAY" '{"amount":4242424242424242}'; eq "PAN in body" "$STATUS" 400; eq code "$(j .error.code)" pan_not_allowed
  op capture "$PAY" '{"amount":600}'
  eq "partial capture" "$STATUS" 200; eq status "$(j .status)" captured; eq "amount_captured" "$(j .amount_captured)" 600
  refund "$PAY" '{"amount":601}'; eq "refund above captured" "$STATUS" 400; eq code "$(j .error.code)" refund_amount_too_large
  refund "$PAY"; eq "refund the rest" "$STATUS" 201; eq "refund amount = captured" "$(j .amount)" 600
}

t_lc_cancel() {
  new_manual 900
  local n0; n0=$(psp_n cancels)
  op cancel "$PAY" '{"reason":"requested_by_customer"}'
  eq "cancel" "$STATUS" 200; eq status "$(j .status)" voided
  eq "one PSP cancel" "$(( $(psp_n cancels) - n0 ))" 1
  op capture "$PAY"; eq "capture voided" "$STATUS" 409; eq code "$(j .error.code)" payment_voided
  op cancel "$PAY"; eq "cancel twice" "$STATUS" 409; eq code "$(j .error.code)" payment_already_voided
  refund "$PAY"; eq "refund voided" "$STATUS" 409; eq code "$(j .error.code)" payment_voided
  op cancel "$PAY" '{"reason":"bogus"}'; eq "bad reason" "$STATUS" 400; eq code "$(j .error.code)" reason_invalid
  eq "timeline" "$(events "$PAY")" "payment.created,payment.authorized,payment.voided"
}

t_lc_failed_refusals() {
  tokenize 4000000000000002; pay "$(j .id)"; local id; id=$(j .id)
  eq "declined" "$(j .status)" failed
  op capture "$id"; eq "capture failed" "$STATUS" 409; eq code "$(j .error.code)" payment_failed
  op cancel "$id"; eq "cancel failed" "$STATUS" 409; eq code "$(j .error.code)" payment_failed
  refund "$id"; eq "refund failed" "$STATUS" 409; eq code "$(j .error.code)" payment_failed
  new_manual 500
  refund "$PAY"; eq "refund uncaptured" "$STATUS" 409; eq code "$(j .error.code)" payment_not_captured
  op capture "pay_doesnotexist000000000"; eq "capture unknown payment" "$STATUS" 404
  http POST "$GATEWAY_URL/v1/payments/$PAY/capture" "$SK2"
  eq "other merchant's payment" "$STATUS" 404
}

t_lc_refunds() {
  new_captured 1500
  local r0 rid; r0=$(psp_n refunds)
  refund "$PAY" '{"amount":500,"reason":"requested_by_customer"}'
  eq "refund 1" "$STATUS" 201; eq "object" "$(j .object)" refund; eq "status" "$(j .status)" succeeded
  rid=$(j .id); [[ $rid =~ ^re_ ]] || fail "refund id $rid"
  refund "$PAY" '{"amount":600}'; eq "refund 2" "$STATUS" 201
  http GET "$GATEWAY_URL/v1/payments/$PAY" "$STRONGROOM_SK"
  eq "partially_refunded" "$(j .status)" partially_refunded; eq "amount_refunded" "$(j .amount_refunded)" 1100
  refund "$PAY" '{"amount":401}'; eq "over-refund" "$STATUS" 400; eq code "$(j .error.code)" refund_amount_too_large
  refund "$PAY"; eq "refund the rest" "$STATUS" 201; eq "rest amount" "$(j .amount)" 400
  http GET "$GATEWAY_URL/v1/payments/$PAY" "$STRONGROOM_SK"
  eq "refunded" "$(j .status)" refunded; eq "amount_refunded" "$(j .amount_refunded)" 1500
  refund "$PAY" '{"amount":1}'; eq "refund refunded" "$STATUS" 409; eq code "$(j .error.code)" payment_already_refunded
  eq "three PSP refunds" "$(( $(psp_n refunds) - r0 ))" 3
  http GET "$GATEWAY_URL/v1/refunds/$rid" "$STRONGROOM_SK"
  eq "GET refund" "$STATUS" 200; eq "refund amount" "$(j .amount)" 500; eq "refund payment" "$(j .payment)" "$PAY"
  eq "refund reason" "$(j .reason)" requested_by_customer
  http GET "$GATEWAY_URL/v1/refunds/$rid" "$SK2"; eq "other merchant's refund" "$STATUS" 404
  http GET "$GATEWAY_URL/v1/refunds/re_nothere00000" "$STRONGROOM_SK"; eq "unknown refund" "$STATUS" 404
  eq "timeline" "$(events "$PAY")" "payment.created,payment.captured,payment.partially_refunded,payment.partially_refunded,payment.refunded"
  eq "refunds never above captured (db)" "$(pg -d gateway -At <<<"SELECT sum(amount) FROM refunds WHERE payment_id = '$PAY' AND status <> 'failed'")" 1500
}

# A refund arriving while a short transaction (a PSP webhook's update) holds
# the payment's row waits for it instead of answering 409. Before: FOR UPDATE
# NOWAIT answered 409 concurrent_update at once (seen as a random failure of
# t_lc_refunds, racing pspsim's refund webhook).
t_lc_refund_waits_for_a_short_row_lock() {
  new_captured 1500
  pg -d gateway -At >/dev/null <<<"BEGIN; SELECT id FROM payments WHERE id = '$PAY' FOR UPDATE; SELECT pg_sleep(0.7); COMMIT;" &
  local holder=$!
  wait_sql "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = 'gateway' AND query LIKE '%pg_sleep(0.7)%' AND state = 'active'" 5 \
    || fail "the lock holder never started"
  refund "$PAY" '{"amount":500}'
  wait "$holder"
  eq "refund during a 0.7 s row lock" "$STATUS" 201
}

t_lc_refund_idempotent() {
  new_captured 1000
  local key r0 rid; key="rf-$(openssl rand -hex 6)"; r0=$(psp_n refunds)
  refund "$PAY" '{"amount":300}' -H "Idempotency-Key: $key"; rid=$(j .id); eq "first" "$STATUS" 201
  refund "$PAY" '{"amount":300}' -H "Idempotency-Key: $key"
  eq "replay" "$STATUS" 201; eq "same refund" "$(j .id)" "$rid"
  grep -qi '^idempotent-replayed: true' <<<"$HEADERS" || fail "no Idempotent-Replayed header"
  eq "one PSP refund" "$(( $(psp_n refunds) - r0 ))" 1
  refund "$PAY" '{"amount":301}' -H "Idempotency-Key: $key"; eq "other body" "$STATUS" 400; eq type "$(j .error.type)" idempotency_error
  op capture "$PAY" "" -H "Idempotency-Key: $key"; eq "other path" "$STATUS" 400; eq code "$(j .error.code)" idempotency_key_reused
  # A refusal is saved too (execution started) and replayed.
  local k2="rf2-$(openssl rand -hex 6)"
  refund "$PAY" '{"amount":5000}' -H "Idempotency-Key: $k2"; eq "refusal" "$STATUS" 400
  refund "$PAY" '{"amount":5000}' -H "Idempotency-Key: $k2"; eq "refusal replayed" "$STATUS" 400
  grep -qi '^idempotent-replayed: true' <<<"$HEADERS" || fail "refusal not replayed"
}

t_lc_capture_vs_cancel() {
  local round a b codes
  for round in 1 2 3 4 5; do
    new_manual 700
    curl -sS --cacert "$STRONGROOM_CA" -o /dev/null -w '%{http_code}\n' -X POST -H "Authorization: Bearer $STRONGROOM_SK" "$GATEWAY_URL/v1/payments/$PAY/capture" >"$TMP/cc1" &
    a=$!
    curl -sS --cacert "$STRONGROOM_CA" -o /dev/null -w '%{http_code}\n' -X POST -H "Authorization: Bearer $STRONGROOM_SK" "$GATEWAY_URL/v1/payments/$PAY/cancel" >"$TMP/cc2" &
    b=$!
    wait $a $b
    codes=$(cat "$TMP/cc1" "$TMP/cc2" | sort | tr '\n' ' ')
    eq "round $round: one wins, one 409" "$codes" "200 409 "
    http GET "$GATEWAY_URL/v1/payments/$PAY" "$STRONGROOM_SK"
    case "$(j .status)" in captured|voided) ;; *) fail "round $round: final status $(j .status)";; esac
    eq "round $round: three events" "$(pg -d gateway -At <<<"SELECT count(*) FROM payment_events WHERE payment_id = '$PAY'")" 3
  done
}

t_lc_list_and_filters() {
  local out sk mid ids p1 p2 p3 now
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "List merchant") || { fail "merchant"; return; }
  sk=$(jq -r .secret_key <<<"$out")
  local pk; pk=$(jq -r .publishable_key <<<"$out")
  tokenize_as "$pk" 4242424242424242; pay_as "$sk" "$(j .id)"; p1=$(j .id)
  tokenize_as "$pk" 4000000000000002; pay_as "$sk" "$(j .id)"; p2=$(j .id)
  tokenize_as "$pk" 4242424242424242; pay_as "$sk" "$(j .id)"; p3=$(j .id)
  http GET "$GATEWAY_URL/v1/payments?limit=2" "$sk"
  eq "list status" "$STATUS" 200; eq "object" "$(j .object)" list
  eq "page 1" "$(j '[.data[].id] | join(",")')" "$p3,$p2"; eq "has_more" "$(j .has_more)" true
  http GET "$GATEWAY_URL/v1/payments?limit=2&starting_after=$p2" "$sk"
  eq "page 2" "$(j '[.data[].id] | join(",")')" "$p1"; eq "has_more 2" "$(j .has_more)" false
  http GET "$GATEWAY_URL/v1/payments?status=failed" "$sk"; eq "status filter" "$(j '[.data[].id] | join(",")')" "$p2"
  now=$(date +%s)
  http GET "$GATEWAY_URL/v1/payments?created%5Bgte%5D=$((now + 100))" "$sk"; eq "created[gte] future" "$(j '.data | length')" 0
  http GET "$GATEWAY_URL/v1/payments?created%5Blte%5D=$((now + 100))&created%5Bgte%5D=$((now - 600))" "$sk"; eq "created range" "$(j '.data | length')" 3
  http GET "$GATEWAY_URL/v1/payments?limit=0" "$sk"; eq "limit 0" "$STATUS" 400
  http GET "$GATEWAY_URL/v1/payments?limit=101" "$sk"; eq "limit 101" "$STATUS" 400
  http GET "$GATEWAY_URL/v1/payments?status=bogus" "$sk"; eq "bad status" "$STATUS" 400
  http GET "$GATEWAY_URL/v1/payments?created%5Bgte%5D=-1" "$sk"; eq "bad created" "$STATUS" 400
  new_captured 100
  http GET "$GATEWAY_URL/v1/payments?starting_after=$PAY" "$sk"; eq "other merchant's cursor" "$STATUS" 400
  eq "cursor code" "$(j .error.code)" resource_missing
  http GET "$GATEWAY_URL/v1/payments/$PAY/events" "$sk"; eq "other merchant's events" "$STATUS" 404
}

t_lc_idem_in_progress_409() {
  tokenize 4242424242424242; local tok key a; tok=$(j .id); key="ip-$(openssl rand -hex 6)"
  psp_faults '{"delay_ms":1500}'
  pay "$tok" 1500 -H "Idempotency-Key: $key" >/dev/null &
  a=$!
  wait_sql "SELECT count(*) = 1 FROM idempotency_keys WHERE key = '$key' AND status_code IS NULL AND payment_id IS NOT NULL" 10 \
    || fail "first request never got in flight"
  curl -sS --cacert "$STRONGROOM_CA" -o "$TMP/ip" -w '%{http_code}' -X POST -H "Authorization: Bearer $STRONGROOM_SK" \
    -H "Idempotency-Key: $key" -H 'Content-Type: application/json' \
    --data-binary "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$tok\",\"capture_method\":\"automatic\"}" \
    "$GATEWAY_URL/v1/payments" >"$TMP/ipc"
  wait $a
  psp_faults '{"delay_ms":0}'
  eq "concurrent retry" "$(cat "$TMP/ipc")" 409
  eq "code" "$(jq -r .error.code "$TMP/ip")" idempotency_key_in_use
  pay "$tok" 1500 -H "Idempotency-Key: $key"; eq "after: replay" "$STATUS" 201
}

t_lc_idem_crash_recovery() {
  tokenize 4242424242424242; local tok key n0 id body; tok=$(j .id); key="cr-$(openssl rand -hex 6)"
  body="{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$tok\",\"capture_method\":\"automatic\"}"
  # A lease far longer than the test: the takeover below is due to the dead
  # owner's missing heartbeat (ADR 0113), not to the lease running out.
  start_gw2 '{"idempotency_lease_s":600,"workers":0}'
  n0=$(psp_intents)
  psp_faults '{"delay_ms":1500}'
  curl -sS --cacert "$STRONGROOM_CA" -o /dev/null -X POST -H "Authorization: Bearer $STRONGROOM_SK" \
    -H "Idempotency-Key: $key" -H 'Content-Type: application/json' --data-binary "$body" "$GW2_URL/v1/payments" 2>/dev/null &
  # Kill the instance once the payment exists and its PSP call is under way.
  wait_sql "SELECT count(*) = 1 FROM idempotency_keys WHERE key = '$key' AND payment_id IS NOT NULL" 10 \
    || fail "request never got in flight"
  kill -9 "$GW2_PID" 2>/dev/null; wait "$GW2_PID" 2>/dev/null; GW2_PID=
  local i
  for ((i = 0; i < 100; i++)); do   # the vault finishes the PSP call the dead gateway asked for
    [ "$(psp_intents)" -gt "$n0" ] && break; sleep 0.1
  done
  psp_faults '{"delay_ms":0}'
  id=$(pg -d gateway -At <<<"SELECT coalesce(payment_id, '') || ' ' || coalesce(status_code::text, 'null') FROM idempotency_keys WHERE key = '$key'")
  [[ $id =~ ^pay_[A-Za-z0-9]+\ null$ ]] || fail "key not left in progress with its payment: '$id'"
  id=${id%% *}
  eq "payment left processing" "$(pg -d gateway -At <<<"SELECT status FROM payments WHERE id = '$id'")" processing
  pay "$tok" 1500 -H "Idempotency-Key: $key"
  eq "retry while the owner's last heartbeat is recent" "$STATUS" 409
  wait_sql "SELECT gi.heartbeat_at < now() - interval '5 seconds' FROM idempotency_keys k
            JOIN gateway_instances gi ON gi.id = k.owner WHERE k.key = '$key'" 10 || fail "owner never seen dead"
  pay "$tok" 1500 -H "Idempotency-Key: $key"
  eq "retry once the owner is dead, long before the lease" "$STATUS" 201; eq "same payment" "$(j .id)" "$id"; eq "outcome learnt" "$(j .status)" captured
  pay "$tok" 1500 -H "Idempotency-Key: $key"; eq "then replayed" "$STATUS" 201
  grep -qi '^idempotent-replayed: true' <<<"$HEADERS" || fail "not replayed after recovery"
  eq "exactly one PSP authorization" "$(( $(psp_intents) - n0 ))" 1
  eq "one payment for the key" "$(pg -d gateway -At <<<"SELECT count(*) FROM payments WHERE payment_method = '$tok'")" 1
}

t_lc_two_instances_race() {
  tokenize 4242424242424242; local tok key n0 i url body; tok=$(j .id); key="race-$(openssl rand -hex 6)"
  body="{\"amount\":2500,\"currency\":\"usd\",\"payment_method\":\"$tok\",\"capture_method\":\"automatic\"}"
  start_gw2 '{"workers":0}'
  n0=$(psp_intents)
  local pids=()
  for i in $(seq 1 50); do
    url=$GATEWAY_URL; (( i % 2 )) && url=$GW2_URL
    curl -sS --cacert "$STRONGROOM_CA" -o "$TMP/race.$i" -w '%{http_code}\n' -X POST -H "Authorization: Bearer $STRONGROOM_SK" \
      -H "Idempotency-Key: $key" -H 'Content-Type: application/json' --data-binary "$body" "$url/v1/payments" >"$TMP/race.$i.code" 2>/dev/null &
    pids+=($!)
  done
  wait "${pids[@]}" 2>/dev/null   # the requests only (a webhook sink of another test may be a job too)
  sleep 0.3
  eq "exactly one PSP authorization for 50 requests on 2 instances" "$(( $(psp_intents) - n0 ))" 1
  local ok=0 busy=0 other=0 c ids
  for i in $(seq 1 50); do
    c=$(cat "$TMP/race.$i.code")
    case $c in 201) ok=$((ok + 1));; 409) busy=$((busy + 1));; *) other=$((other + 1));; esac
  done
  [ $ok -ge 1 ] || fail "no 201 among the 50"
  eq "only 201 or 409" "$other" 0
  ids=$(for i in $(seq 1 50); do jq -r '.id // empty' "$TMP/race.$i"; done | sort -u | wc -l)
  eq "one payment id in all 201s" "$ids" 1
  eq "one payment row" "$(pg -d gateway -At <<<"SELECT count(*) FROM payments WHERE payment_method = '$tok'")" 1
  stop_gw2
}

t_lc_workers_auto_void_and_sweep() {
  # Old idempotency keys (25 h) are swept, recent ones (23 h) kept.
  pg -d gateway -q <<SQL
INSERT INTO idempotency_keys (merchant_id, key, request_sha256, method, path, status_code, response_body, created_at, lease_until)
VALUES ('$STRONGROOM_MERCHANT', 'old-key-25h', repeat('a', 64), 'POST', '/v1/payments', 201, '{}', now() - interval '25 hours', now() - interval '25 hours'),
       ('$STRONGROOM_MERCHANT', 'new-key-23h', repeat('a', 64), 'POST', '/v1/payments', 201, '{}', now() - interval '23 hours', now() - interval '23 hours');
SQL
  new_manual 800
  local c0; c0=$(psp_n cancels)
  start_gw2 '{"auto_void_after_s":1,"worker_interval_ms":200}'
  wait_status "$PAY" voided 10 || fail "authorization not voided automatically ($(j .status))"
  [ "$(( $(psp_n cancels) - c0 ))" -ge 1 ] || fail "no PSP cancel for the auto-void"
  eq "timeline" "$(events "$PAY")" "payment.created,payment.authorized,payment.voided"
  eq "auto-void audited" "$(pg -d gateway -At <<<"SELECT role || ' ' || reason FROM audit_events WHERE action = 'worker auto-void' AND target = '$PAY'")" "worker voided"
  eq "25 h key swept, 23 h key kept" "$(pg -d gateway -At <<<"SELECT string_agg(key, ',' ORDER BY key) FROM idempotency_keys WHERE key IN ('old-key-25h', 'new-key-23h')")" "new-key-23h"
  stop_gw2
  pg -d gateway -q <<<"DELETE FROM idempotency_keys WHERE key = 'new-key-23h'"
}

t_lc_unknown_reconciled() {
  tokenize 4242424242424242; local tok n0; tok=$(j .id)
  n0=$(psp_intents)
  psp_faults '{"drop_next":1}'
  pay "$tok" 1200
  eq "created" "$STATUS" 201; eq "answer lost -> unknown, never failed" "$(j .status)" unknown
  PAY=$(j .id)
  wait_status "$PAY" captured 10 || fail "unknown not reconciled ($(j .status))"
  eq "one PSP authorization" "$(( $(psp_intents) - n0 ))" 1
  eq "timeline" "$(events "$PAY")" "payment.created,payment.unknown,payment.captured"
}

t_lc_3ds() {
  local pi
  tokenize 4000000000003220; pay "$(j .id)"
  eq "requires_action" "$(j .status)" requires_action
  [[ $(j .next_action.redirect_to_url.url) == https://* ]] || fail "no redirect url"
  PAY=$(j .id); pi=$(j .psp_reference)
  # The cardholder's browser: the redirect URL serves the challenge page
  # (TLS, no client certificate); answering it moves the payment on.
  local url page; url=$(j .next_action.redirect_to_url.url)
  [[ $url == "https://psp.strongroom.test:$PSP_CHALLENGE_PORT/3ds/$pi" ]] || fail "redirect url $url"
  page=$(curl -sS --cacert var/pki/ca.crt --resolve "psp.strongroom.test:$PSP_CHALLENGE_PORT:127.0.0.1" "$url")
  grep -q '<form method=post' <<<"$page" || fail "no challenge form"
  eq "challenge answered" "$(curl -sS -o /dev/null -w '%{http_code}' --cacert var/pki/ca.crt --resolve "psp.strongroom.test:$PSP_CHALLENGE_PORT:127.0.0.1" -d result=authenticate "$url/complete")" 200
  wait_status "$PAY" captured 10 || fail "3DS success not applied ($(j .status))"
  eq "timeline" "$(events "$PAY")" "payment.created,payment.requires_action,payment.processing,payment.captured"
  eq "challenge page gone once answered" "$(curl -sS -o /dev/null -w '%{http_code}' --cacert var/pki/ca.crt --resolve "psp.strongroom.test:$PSP_CHALLENGE_PORT:127.0.0.1" "$url")" 404
  # Failing the challenge on the page fails the payment.
  tokenize 4000000000003220; pay "$(j .id)"; PAY=$(j .id); url=$(j .next_action.redirect_to_url.url)
  curl -sS -o /dev/null --cacert var/pki/ca.crt --resolve "psp.strongroom.test:$PSP_CHALLENGE_PORT:127.0.0.1" -d result=fail "$url/complete"
  wait_status "$PAY" failed 10 || fail "failed challenge not applied ($(j .status))"
  tokenize 4000008400001629; pay "$(j .id)"; PAY=$(j .id); pi=$(j .psp_reference)
  curl -sS "${PSP[@]}" --cert var/pki/psp-control.crt --key var/pki/psp-control.key -X POST $PSP_URL/_sim/payment_intents/$pi/3ds >/dev/null
  wait_status "$PAY" failed 10 || fail "3DS decline not applied ($(j .status))"
  [[ $(j .failure_code) == card_declined ]] || fail "3DS decline code $(j .failure_code)"
  # An abandoned challenge expires to failed.
  tokenize 4000000000003220; pay "$(j .id)"; PAY=$(j .id)
  start_gw2 '{"three_ds_expiry_s":1,"worker_interval_ms":200}'
  wait_status "$PAY" failed 10 || fail "abandoned challenge did not expire ($(j .status))"
  eq "expiry code" "$(j .failure_code)" authentication_expired
  stop_gw2
}

t_openapi_matches_routes() {
  # Every route in gatewayd's table is in docs/openapi.yaml and vice versa.
  local code spec
  code=$(grep -o '\.method = "[A-Z]*", \.pattern = "[^"]*"' gateway/gatewayd.c \
    | sed -E 's/.*"([A-Z]+)".*"([^"]+)"/\1 \2/' | sed 's/{}/{id}/g' | tr 'A-Z' 'a-z' | sort)
  spec=$(awk '/^paths:/ {p=1; next} /^[a-z]/ {p=0} p && /^  \/[^ ]*:$/ {path=$1; sub(/:$/, "", path)}
              p && /^    (get|post|put|delete|patch):/ {m=$1; sub(/:$/, "", m); print m " " path}' docs/openapi.yaml \
    | tr 'A-Z' 'a-z' | sort)
  [ -n "$code" ] || fail "no routes found in gatewayd.c"
  eq "routes vs spec" "$spec" "$code"
  # The error types the spec declares are the six of README.md (APIs).
  grep -q 'enum: \[invalid_request_error, authentication_error, card_error, idempotency_error, rate_limit_error, api_error\]' docs/openapi.yaml || fail "error types"
}

vault_op() {  # BODY: POST /v1/payment_operations as the gateway
  BODY=$(curl -sS "${VINT[@]}" --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key \
    -H 'Content-Type: application/json' -w '\n%{http_code}' $VAULT_INTERNAL_URL/v1/payment_operations --data-binary "$1")
  STATUS=${BODY##*$'\n'}; BODY=${BODY%$'\n'*}
}

t_vault_payment_operations() {
  new_manual 700
  http GET "$GATEWAY_URL/v1/payments/$PAY" "$STRONGROOM_SK"; local pi; pi=$(j .psp_reference)
  vault_op "{\"merchant\":\"$STRONGROOM_MERCHANT\",\"operation\":\"retrieve\",\"psp_reference\":\"$pi\"}"
  eq "retrieve" "$STATUS" 200; eq "retrieve status" "$(j .status)" authorized
  vault_op "{\"merchant\":\"$MID2\",\"operation\":\"capture\",\"psp_reference\":\"$pi\",\"idempotency_key\":\"k-$pi\"}"
  eq "another merchant's PSP payment" "$STATUS" 404
  grep -q '"payment_op.foreign_or_unknown"' var/log/vaultd.log || fail "foreign use not logged"
  vault_op "{\"merchant\":\"$STRONGROOM_MERCHANT\",\"operation\":\"detokenize\",\"psp_reference\":\"$pi\",\"idempotency_key\":\"k\"}"
  eq "unknown operation" "$STATUS" 400
  vault_op "{\"merchant\":\"$STRONGROOM_MERCHANT\",\"operation\":\"capture\",\"psp_reference\":\"$pi\"}"
  eq "capture without a key" "$STATUS" 400
  vault_op "{\"merchant\":\"$STRONGROOM_MERCHANT\",\"operation\":\"capture\",\"psp_reference\":\"$pi\",\"idempotency_key\":\"k\",\"card\":1}"
  eq "unknown field" "$STATUS" 400
  vault_op "{\"merchant\":\"$STRONGROOM_MERCHANT\",\"operation\":\"refund\",\"psp_reference\":\"$pi\",\"amount\":-1,\"idempotency_key\":\"k\"}"
  eq "negative amount" "$STATUS" 400
  vault_op "[]"; eq "not an object" "$STATUS" 400
  # Only the gateway's certificate may ask.
  eq "other client certificate" "$(curl -sS -o /dev/null -w '%{http_code}' "${VINT[@]}" --cert var/pki/psp-control.crt --key var/pki/psp-control.key -H 'Content-Type: application/json' --data-binary '{}' $VAULT_INTERNAL_URL/v1/payment_operations 2>/dev/null)" 000
  # The PSP refuses a capture above the authorization: "refused", nothing captured.
  vault_op "{\"merchant\":\"$STRONGROOM_MERCHANT\",\"operation\":\"capture\",\"psp_reference\":\"$pi\",\"amount\":800,\"idempotency_key\":\"over-$pi\"}"
  eq "over-capture at the PSP" "$(j .outcome)" refused
  vault_op "{\"merchant\":\"$STRONGROOM_MERCHANT\",\"operation\":\"retrieve\",\"psp_reference\":\"$pi\"}"
  eq "still authorized" "$(j .status)" authorized
}
