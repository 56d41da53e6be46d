# Integration tests of issue 4's keys, roles, rate limits and audit chain.
# Sourced by run.sh (helpers: http, j, eq, fail, tokenize, pay, pg, ...);
# uses helpers from t_lifecycle.sh (new_captured, new_manual, op, refund, start_gw2).

ctl() { "$SR_BIN/gatewayctl" --config var/etc/gatewayd.json "$@"; }
key_as() {  # ROLE -> prints the secret key of a new key of the test merchant
  ctl key create --merchant "$STRONGROOM_MERCHANT" --role "$1" | jq -r .secret_key
}

t_roles_refunds_need_finance() {
  local fin pay ro n0 key
  fin=$(key_as finance); pay=$(key_as payments); ro=$(key_as read_only)
  [[ $fin == sk_test_* && $pay == sk_test_* && $ro == sk_test_* ]] || { fail "key create"; return; }
  new_captured 1000
  n0=$(pg -d gateway -At <<<"SELECT count(*) FROM audit_events WHERE reason = 'insufficient_role' AND target = '$PAY'")
  http POST "$GATEWAY_URL/v1/payments/$PAY/refunds" "$pay" '{"amount":100}'
  eq "payments role refund" "$STATUS" 403; eq code "$(j .error.code)" insufficient_role
  http POST "$GATEWAY_URL/v1/payments/$PAY/refunds" "$ro" '{"amount":100}'
  eq "read_only role refund" "$STATUS" 403
  eq "refusals audited" "$(pg -d gateway -At <<<"SELECT count(*) FROM audit_events WHERE reason = 'insufficient_role' AND target = '$PAY' AND role IN ('payments', 'read_only') AND result = 'refused'")" "$((n0 + 2))"
  http POST "$GATEWAY_URL/v1/payments/$PAY/refunds" "$fin" '{"amount":100}'
  eq "finance role refund" "$STATUS" 201
  eq "refund audited with actor" "$(pg -d gateway -At <<<"SELECT role || ' ' || result || ' ' || provider FROM audit_events WHERE action = 'POST /v1/payments/{}/refunds' AND target = '$PAY' AND status = 201")" "finance success stripe"
  http GET "$GATEWAY_URL/v1/payments/$PAY" "$ro"; eq "read_only can read" "$STATUS" 200
  tokenize 4242424242424242; key=$(j .id)
  pay_as "$ro" "$key"; eq "read_only cannot pay" "$STATUS" 403
  pay_as "$fin" "$key"; eq "finance cannot pay" "$STATUS" 403
  pay_as "$pay" "$key"; eq "payments role can pay" "$STATUS" 201
  new_manual 300
  http POST "$GATEWAY_URL/v1/payments/$PAY/capture" "$fin"; eq "finance cannot capture" "$STATUS" 403
  http POST "$GATEWAY_URL/v1/payments/$PAY/capture" "$pay"; eq "payments role captures" "$STATUS" 200
  ctl key create --merchant "$STRONGROOM_MERCHANT" --role superuser >/dev/null 2>&1 && fail "unknown role accepted"
  true
}

t_keys_roll_and_revoke() {
  local out id old new
  out=$(ctl key create --merchant "$STRONGROOM_MERCHANT" --role payments); id=$(jq -r .id <<<"$out"); old=$(jq -r .secret_key <<<"$out")
  out=$(ctl key roll --key-id "$id" --grace 5) || { fail "roll"; return; }
  new=$(jq -r .secret_key <<<"$out")
  eq "rolled key keeps its role" "$(jq -r .role <<<"$out")" payments
  http GET "$GATEWAY_URL/v1/payments?limit=1" "$old"; eq "old key within grace" "$STATUS" 200
  http GET "$GATEWAY_URL/v1/payments?limit=1" "$new"; eq "new key" "$STATUS" 200
  ctl key roll --key-id "$id" >/dev/null 2>&1 && fail "a rolled key rolled twice"
  pg -d gateway -q <<<"SELECT pg_sleep(greatest(0, extract(epoch FROM (SELECT expires_at FROM api_keys WHERE id = $id) - now()) + 0.2))"
  http GET "$GATEWAY_URL/v1/payments?limit=1" "$old"; eq "old key after grace" "$STATUS" 401
  http GET "$GATEWAY_URL/v1/payments?limit=1" "$new"; eq "new key after grace" "$STATUS" 200
  ctl key revoke --key-id "$(jq -r .id <<<"$out")" >/dev/null || fail "revoke"
  http GET "$GATEWAY_URL/v1/payments?limit=1" "$new"; eq "revoked key" "$STATUS" 401
  ctl key list --merchant "$STRONGROOM_MERCHANT" | grep -q sk_test_ && grep -q "$new" <(ctl key list --merchant "$STRONGROOM_MERCHANT") && fail "key list shows a key"
  eq "key ops audited" "$(pg -d gateway -At <<<"SELECT count(*) FROM audit_events WHERE action IN ('gatewayctl key roll', 'gatewayctl key revoke') AND target IN ('key:$id', 'key:$(jq -r .id <<<"$out")')")" 2
}

t_rate_limit() {
  local i ok lim f d=$TMP/ratelimit pids=()
  start_gw2 '{"workers":0,"rate_limit_per_s":1,"rate_limit_burst":3}'
  # Eight requests at once against a burst of 3 refilled at 1/s: at most
  # 3 + (seconds the eight take) succeed, however slow each one is (one at a
  # time, a loaded machine's 1 s per request refilled the bucket as fast).
  rm -rf "$d"; mkdir -p "$d"
  for i in 1 2 3 4 5 6 7 8; do
    ( TMP=$d/$i; mkdir -p "$TMP"; http GET "$GW2_URL/v1/payments?limit=1" "$STRONGROOM_SK"
      echo "$STATUS" > "$TMP/status" ) & pids+=($!)
  done
  wait "${pids[@]}"
  ok=$(cat "$d"/*/status | grep -c '^200$'); lim=$(cat "$d"/*/status | grep -c '^429$')
  { [ "$ok" -ge 3 ] && [ "$lim" -ge 2 ] && [ $((ok + lim)) -eq 8 ]; } \
    || fail "8 at once with a burst of 3: $ok answered 200, $lim 429 ($(cat "$d"/*/status | tr '\n' ' '))"
  f=$(grep -lx 429 "$d"/*/status | head -1); f=${f%/status}
  HEADERS=$(cat "$f/h" 2>/dev/null); BODY=$(cat "$f/b" 2>/dev/null)
  eq type "$(j .error.type)" rate_limit_error
  grep -qi '^retry-after: [1-9]' <<<"$HEADERS" || fail "no Retry-After"
  http GET "$GW2_URL/v1/payments?limit=1" "$SK2"; eq "another key has its own bucket" "$STATUS" 200
  http POST "$GW2_URL/v1/payments/pay_doesnotexist000000000/capture" "$STRONGROOM_SK"; eq "another endpoint has its own bucket" "$STATUS" 404
  sleep 1.1
  http GET "$GW2_URL/v1/payments?limit=1" "$STRONGROOM_SK"; eq "after Retry-After" "$STATUS" 200
  stop_gw2
  eq "429 audited" "$(pg -d gateway -At <<<"SELECT count(*) > 0 FROM audit_events WHERE status = 429 AND reason = 'rate_limited'")" t
}

audit_sql() {  # SQL run with the append-only trigger disabled (an operator bypassing it)
  pg -d gateway -q <<SQL
BEGIN;
ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete;
$1
ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete;
COMMIT;
SQL
}

t_audit_chain_tamper() {
  new_captured 400
  http POST "$GATEWAY_URL/v1/payments/$PAY/refunds" "" '{"amount":1}'   # a refusal (no key)
  refund "$PAY" '{"amount":100}'; refund "$PAY" '{"amount":1000}'      # a refund, a refusal
  local out n s rc
  out=$(ctl audit verify); eq "intact chain" "$?" 0
  eq "verify ok" "$(jq -r .ok <<<"$out")" true
  n=$(jq -r .records <<<"$out"); [ "$n" -ge 4 ] || { fail "few audit records: $n"; return; }
  eq "refusal without key audited" "$(pg -d gateway -At <<<"SELECT count(*) > 0 FROM audit_events WHERE status = 401 AND target = '$PAY'")" t
  pg -d gateway -q <<<"UPDATE audit_events SET result = 'success' WHERE seq = 2" 2>/dev/null && fail "audit_events accepted an UPDATE"
  pg -d gateway -q <<<"DELETE FROM audit_events WHERE seq = 2" 2>/dev/null && fail "audit_events accepted a DELETE"
  pg -d gateway -q <<<"DROP TABLE IF EXISTS audit_backup; CREATE TABLE audit_backup AS SELECT * FROM audit_events"
  s=$((n / 2))
  # (status + 1: the record at seq s may already say 200 success, e.g. a DELETE)
  audit_sql "UPDATE audit_events SET status = status + 1, result = 'success' WHERE seq = $s;"
  out=$(ctl audit verify); rc=$?
  eq "altered: exit 1" "$rc" 1; eq "altered record named" "$(jq -r '"\(.first_bad_seq) \(.problem)"' <<<"$out")" "$s altered"
  audit_sql "DELETE FROM audit_events; INSERT INTO audit_events SELECT * FROM audit_backup;"
  eq "restored" "$(ctl audit verify | jq -r .ok)" true
  audit_sql "DELETE FROM audit_events WHERE seq = $s;"
  out=$(ctl audit verify); rc=$?
  eq "removed: exit 1" "$rc" 1; eq "removed record named" "$(jq -r '"\(.first_bad_seq) \(.problem)"' <<<"$out")" "$s removed"
  audit_sql "DELETE FROM audit_events; INSERT INTO audit_events SELECT * FROM audit_backup;"
  audit_sql "UPDATE audit_events SET seq = 999999999 WHERE seq = $s; UPDATE audit_events SET seq = $s WHERE seq = $((s + 1)); UPDATE audit_events SET seq = $((s + 1)) WHERE seq = 999999999;"
  out=$(ctl audit verify); rc=$?
  eq "reordered: exit 1" "$rc" 1; eq "reordered: first bad record" "$(jq -r .first_bad_seq <<<"$out")" "$s"
  # Re-hashing a forged record does not help: its successor no longer chains to it.
  audit_sql "DELETE FROM audit_events; INSERT INTO audit_events SELECT * FROM audit_backup;"
  audit_sql "UPDATE audit_events SET hash = repeat('0', 64) WHERE seq = $s;"
  out=$(ctl audit verify); eq "forged hash named" "$(jq -r .first_bad_seq <<<"$out")" "$s"
  audit_sql "DELETE FROM audit_events; INSERT INTO audit_events SELECT * FROM audit_backup;"
  pg -d gateway -q <<<"DROP TABLE audit_backup"
  eq "intact again" "$(ctl audit verify | jq -r .ok)" true
}
