# Faults in the window after an external effect (issue 16): a write that fails
# after the PSP answered must never leave a wrong answer saved for the key.
# Faults are real: a trigger installed by the superuser makes PostgreSQL
# refuse exactly the write under test.

gw_sql() { psql -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U postgres -d gateway -v ON_ERROR_STOP=1 -c "$1"; }

# The payment's UPDATE after the authorization fails: the merchant gets a 500,
# but the key is not answered with that 500 forever; a retry with the same key
# returns the payment as it is now (captured), and the customer is charged once.
t_fault_update_after_authorization_keeps_key_resolvable() {
  local key before after
  gw_sql "CREATE FUNCTION pg_temp_fault() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN RAISE EXCEPTION 'fault injected by t_faults'; END \$\$;
          CREATE TRIGGER t_faults_update BEFORE UPDATE ON payments FOR EACH ROW
            WHEN (NEW.amount = 4207 AND NEW.status <> 'processing') EXECUTE FUNCTION pg_temp_fault();" \
    || { fail "cannot install the fault"; return; }
  tokenize 4242424242424242; local tok; tok=$(j .id)
  key="fault-$(openssl rand -hex 8)"
  before=$(psp_intents)
  pay "$tok" 4207 -H "Idempotency-Key: $key"
  eq "the failed write is reported" "$STATUS" 500
  eq "as an api_error" "$(j .error.type)" api_error
  gw_sql "DROP TRIGGER t_faults_update ON payments; DROP FUNCTION pg_temp_fault();"
  pay "$tok" 4207 -H "Idempotency-Key: $key"
  eq "a retry with the key answers the payment" "$STATUS" 201
  eq "as it is now" "$(j .status)" captured
  eq "not a replayed error" "$(grep -ci '^Idempotent-Replayed: true' <<<"$HEADERS")" 0
  pay "$tok" 4207 -H "Idempotency-Key: $key"
  eq "then the saved truth is replayed" "$STATUS/$(j .status)" 201/captured
  after=$(psp_intents)
  eq "charged once" "$((after - before))" 1
}

vault_sql() { psql -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U postgres -d vault -v ON_ERROR_STOP=1 -c "$1"; }
# kill_vault_writes AMOUNT N: the vault's database connection dies (its own
# backend terminated) the first N times it writes the authorization of AMOUNT.
kill_vault_writes() {
  vault_sql "CREATE SEQUENCE t_faults_seq; GRANT USAGE, UPDATE ON SEQUENCE t_faults_seq TO vault;
    CREATE FUNCTION t_faults_kill() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
      IF nextval('t_faults_seq') <= $2 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
      RETURN NEW; END \$\$;
    CREATE TRIGGER t_faults_auth BEFORE INSERT OR UPDATE ON authorizations FOR EACH ROW
      WHEN (NEW.amount = $1) EXECUTE FUNCTION t_faults_kill();"
}
heal_vault_writes() { vault_sql "DROP TRIGGER t_faults_auth ON authorizations; DROP FUNCTION t_faults_kill(); DROP SEQUENCE t_faults_seq;"; }

# The vault's connection dies after the PSP answered, twice: the vault
# reconnects and records the authorization before it answers "captured".
t_fault_vault_connection_dies_after_psp_answer() {
  local tok pay
  kill_vault_writes 4208 2 || { fail "cannot install the fault"; return; }
  tokenize 4242424242424242 123; tok=$(j .id)
  pay "$tok" 4208
  heal_vault_writes
  eq "payment" "$STATUS/$(j .status)" 201/captured; pay=$(j .id)
  eq "the vault recorded it" "$(vault_sql "SELECT status FROM authorizations WHERE payment_id = '$pay'")" captured
  eq "and deleted the CVC in the same step" "$(vault_sql "SELECT count(*) FROM tokens WHERE id = '$tok' AND cvc_ct IS NOT NULL")" 0
  refund "$pay" '{"amount":4208}'
  eq "a refund then succeeds" "$(j .status)" succeeded
}

# The vault cannot record at all: it must not answer "captured" (it would
# have no record); the payment is unknown, and once the database heals the
# gateway reconciles it from the PSP's own answer, and a refund works.
t_fault_vault_cannot_record_reports_unknown() {
  local tok pay i st
  kill_vault_writes 4209 1000 || { fail "cannot install the fault"; return; }
  tokenize 4242424242424242 123; tok=$(j .id)
  pay "$tok" 4209
  eq "created" "$STATUS" 201; pay=$(j .id)
  eq "not reported captured without a record" "$(j .status)" unknown
  heal_vault_writes
  for i in $(seq 60); do
    http GET "$GATEWAY_URL/v1/payments/$pay" "$STRONGROOM_SK"; st=$(j .status)
    [ "$st" = captured ] && break; sleep 0.5
  done
  eq "reconciled from the PSP's answer" "$st" captured
  eq "the vault recorded it" "$(vault_sql "SELECT status FROM authorizations WHERE payment_id = '$pay'")" captured
  refund "$pay" '{"amount":4209}'
  eq "a refund then succeeds" "$(j .status)" succeeded
}

# The HSM's token goes away (its files moved out) and comes back: readiness
# must say so while the keys are unusable (it only asked for random bytes),
# and vaultd must recover by itself (it kept failing until a restart).
t_fault_hsm_token_gone_and_back() {
  local dir pid i st rz=$TMP/hsm-rz
  dir=$(ls -d var/softhsm/tokens/*/ | head -1); dir=${dir%/}
  pid=$(cat var/run/vaultd.pid)
  tokenize 4242424242424242; eq "tokenize before" "$STATUS" 201
  mv "$dir" "$TMP/token-away"
  tokenize 4242424242424242; eq "tokenize without the token" "$STATUS" 500
  curl "${ADM[@]}" -o "$rz" "$VAULT_ADMIN/readyz" 2>/dev/null
  eq "readiness says unready" "$(jq -r .status "$rz")" unready
  [[ $(jq -c '.checks.hsm' "$rz") == *unusable* ]] || fail "readyz names no unusable key: $(cat "$rz")"
  mv "$TMP/token-away" "$dir"
  for ((i = 0; i < 40; i++)); do
    tokenize 4242424242424242; st=$STATUS
    [ "$st" = 201 ] && break; sleep 0.25
  done
  eq "tokenize once the token is back, without a restart" "$st" 201
  wait_ready "$VAULT_ADMIN" 200 10 || fail "readiness did not return"
  eq "same vaultd process" "$(cat var/run/vaultd.pid)" "$pid"
  grep -q '"event":"hsm.recovered"' var/log/vaultd.log || fail "no hsm.recovered in the log"
}

# The PSP cannot be reached (pspsim stopped): nothing was sent, so the card
# did not fail. The merchant gets a retryable 503 (Retry-After), the payment
# is recorded as never attempted (canceled / not_sent, not failed /
# processing_error), no worker authorizes it later, and a retry (with the same
# Idempotency-Key, or without one) charges exactly once.
pspsim_stop() {
  local pid; pid=$(cat var/run/pspsim.pid)
  kill "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}
pspsim_start() {
  "$SR_BIN/pspsim" --config var/etc/pspsim.json >>var/log/pspsim.log 2>&1 &
  echo $! > var/run/pspsim.pid
  wait_port "$PSP_PORT" 20 || fail "pspsim did not restart"
}
t_fault_psp_unreachable_is_retryable_not_a_card_failure() {
  local tok1 tok2 key st n0
  start_gw2 '{"idempotency_lease_s":1,"worker_interval_ms":200}'  # an eager worker
  tokenize 4242424242424242; tok1=$(j .id)
  tokenize 4242424242424242; tok2=$(j .id)
  key="fault-$(openssl rand -hex 8)"
  pspsim_stop
  pay "$tok1" 4210 -H "Idempotency-Key: $key"
  eq "nothing sent: a retryable answer" "$STATUS" 503
  eq "api_error" "$(j .error.type)" api_error
  eq "a specific code" "$(j .error.code)" psp_unavailable
  grep -qi '^Retry-After: [0-9]' <<<"$HEADERS" || fail "no Retry-After"
  pay "$tok2" 4210
  eq "without a key too" "$STATUS" 503
  st=$(gw_sql "SELECT string_agg(status || '/' || coalesce(failure_code, ''), ',') FROM payments WHERE payment_method IN ('$tok1', '$tok2')")
  eq "recorded as never attempted, not as a card failure" "$st" "canceled/not_sent,canceled/not_sent"
  pspsim_start; n0=$(psp_intents)
  sleep 2  # the eager worker ran several rounds: it must not authorize them
  eq "no authorization behind the merchant's back" "$(psp_intents)" "$n0"
  pay "$tok1" 4210 -H "Idempotency-Key: $key"
  eq "a retry with the key works" "$STATUS/$(j .status)" 201/captured
  pay "$tok1" 4210 -H "Idempotency-Key: $key"
  eq "and is then replayed" "$STATUS/$(j .status)" 201/captured
  pay "$tok2" 4210
  eq "a retry without a key works" "$STATUS/$(j .status)" 201/captured
  sleep 1
  eq "each charged once" "$(( $(psp_intents) - n0 ))" 2
  eq "the canceled ones stay canceled" "$(gw_sql "SELECT count(*) FROM payments WHERE payment_method IN ('$tok1', '$tok2') AND status = 'canceled'")" 2
  stop_gw2
}

# Audit records during a database outage (audit_events refuses every insert,
# and the gateway's connections are terminated meanwhile): requests go on, and
# every request's record is in the chain once the database takes them again,
# in order, with the chain intact. None is dropped.
t_fault_audit_records_survive_database_outage() {
  local ids=() i tok n id missing in_list
  gw_sql "CREATE FUNCTION t_faults_audit() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN RAISE EXCEPTION 'fault injected by t_faults'; END \$\$;
          CREATE TRIGGER t_faults_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION t_faults_audit();" \
    || { fail "cannot install the fault"; return; }
  for i in $(seq 8); do
    tokenize 4242424242424242; tok=$(j .id)
    pay "$tok" 4211
    eq "payment $i during the outage" "$STATUS" 201
    ids+=("$(sed -n 's/^X-Request-Id: *//Ip' <<<"$HEADERS" | tr -d '\r')")
    op capture pay_doesnotexist0000000000
    ids+=("$(sed -n 's/^X-Request-Id: *//Ip' <<<"$HEADERS" | tr -d '\r')")
    [ "$i" = 4 ] && gw_sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'gateway'" >/dev/null
  done
  grep -q '"event":"audit.spooled"' var/log/gatewayd.log || fail "no audit.spooled in the log"
  gw_sql "DROP TRIGGER t_faults_audit ON audit_events; DROP FUNCTION t_faults_audit();"
  op capture pay_doesnotexist0000000000  # the database is back: the spool drains
  ids+=("$(sed -n 's/^X-Request-Id: *//Ip' <<<"$HEADERS" | tr -d '\r')")
  in_list=$(printf "'%s'," "${ids[@]}"); in_list=${in_list%,}
  for i in $(seq 50); do  # the next append or the worker's next round
    [ "$(gw_sql "SELECT count(*) FROM audit_events WHERE request_id IN ($in_list)")" = "${#ids[@]}" ] && break
    sleep 0.1
  done
  grep -q '"event":"audit.spool_replayed"' var/log/gatewayd.log || fail "no audit.spool_replayed in the log"
  missing=0
  for id in "${ids[@]}"; do
    n=$(gw_sql "SELECT count(*) FROM audit_events WHERE request_id = '$id'")
    [ "$n" = 1 ] || { missing=$((missing + 1)); echo "    audit record of $id: $n"; }
  done
  eq "every request's audit record is in the chain, once" "$missing/${#ids[@]}" "0/${#ids[@]}"
  eq "in request order" "$(gw_sql "SELECT string_agg(request_id, ',' ORDER BY seq) FROM audit_events WHERE request_id IN ($in_list)")" "$(IFS=,; echo "${ids[*]}")"
  "$SR_BIN/gatewayctl" --config var/etc/gatewayd.json audit verify >"$TMP/av" 2>&1 || fail "audit verify: $(cat "$TMP/av")"
  eq "the chain verifies" "$(jq -r .ok "$TMP/av")" true
}

# PostgreSQL itself stops for a few seconds while requests flow (every
# request then fails, and each refusal is audited): every one of those
# records is in the chain once the database is back, and the chain verifies.
t_fault_audit_records_survive_postgres_stop() {
  local ids=() i in_list n
  scripts/pg.sh stop >/dev/null 2>&1 || { fail "cannot stop PostgreSQL"; return; }
  for i in $(seq 10); do
    op capture pay_doesnotexist0000000000
    [ "$STATUS" -ge 500 ] || fail "request $i during the outage: $STATUS"
    ids+=("$(sed -n 's/^X-Request-Id: *//Ip' <<<"$HEADERS" | tr -d '\r')")
    sleep 0.3
  done
  scripts/pg.sh start >/dev/null 2>&1 || { fail "cannot restart PostgreSQL"; return; }
  in_list=$(printf "'%s'," "${ids[@]}"); in_list=${in_list%,}
  for i in $(seq 100); do
    n=$(gw_sql "SELECT count(*) FROM audit_events WHERE request_id IN ($in_list)" 2>/dev/null)
    [ "$n" = "${#ids[@]}" ] && break
    sleep 0.1
  done
  eq "every request's audit record is in the chain" "$n" "${#ids[@]}"
  eq "in request order" "$(gw_sql "SELECT string_agg(request_id, ',' ORDER BY seq) FROM audit_events WHERE request_id IN ($in_list)")" "$(IFS=,; echo "${ids[*]}")"
  "$SR_BIN/gatewayctl" --config var/etc/gatewayd.json audit verify >"$TMP/av" 2>&1 || fail "audit verify: $(cat "$TMP/av")"
  eq "the chain verifies" "$(jq -r .ok "$TMP/av")" true
  tokenize 4242424242424242; pay "$(j .id)" 4212
  eq "payments work again" "$STATUS/$(j .status)" 201/captured
}
