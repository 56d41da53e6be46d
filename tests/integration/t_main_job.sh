# Integration tests of the main job (issue 2): sourced by run.sh, which
# provides the helpers (http, j, eq, fail, tokenize, pay, pg, psp_stats, ...).
# Every function named t_* is a test.

t_demo_outcomes() {
  tokenize 4242424242424242
  eq "tokenize status" "$STATUS" 201
  local tok; tok=$(j .id)
  [[ $tok =~ ^tok_[0-9A-Za-z]{22,}$ ]] || fail "token shape: $tok"
  eq brand "$(j .card.brand)" visa; eq last4 "$(j .card.last4)" 4242
  [[ $(j .card.fingerprint) != null ]] || fail "no fingerprint"
  pay "$tok"
  eq "pay status" "$STATUS" 201; eq "payment status" "$(j .status)" captured
  eq "amount_captured" "$(j .amount_captured)" 1500
  tokenize 4000000000009995; pay "$(j .id)"
  eq "decline status" "$(j .status)" failed; eq failure_code "$(j .failure_code)" insufficient_funds
  # What a tokenization could cause at the PSP (the workers' background
  # reads of other tests' payments may move the other counters meanwhile).
  local sel='{payment_methods_created, payment_intents_created, adyen_payments}' before
  before=$(psp_stats | jq -c "$sel")
  tokenize 4242424242424241
  [[ $STATUS == 4* ]] || fail "Luhn-invalid accepted ($STATUS)"
  eq "luhn code" "$(j .error.code)" incorrect_number
  grep -q 4242424242424241 <<<"$BODY" && fail "error echoes the number"
  eq "no PSP call on Luhn failure" "$(psp_stats | jq -c "$sel")" "$before"
}

t_other_outcomes() {
  local card want
  for pair in 4000000000000002:card_declined 4000000000000119:processing_error 4000000000000069:expired_card 4000000000000127:incorrect_cvc; do
    card=${pair%%:*}; want=${pair##*:}
    tokenize "$card"; pay "$(j .id)"
    eq "$card status" "$(j .status)" failed; eq "$card failure_code" "$(j .failure_code)" "$want"
  done
  tokenize 5555555555554444; eq "mastercard brand" "$(j .card.brand)" mastercard; pay "$(j .id)"; eq "mastercard" "$(j .status)" captured
  tokenize 378282246310005 1234; eq "amex brand" "$(j .card.brand)" amex; pay "$(j .id)"; eq "amex" "$(j .status)" captured
}

t_get_payment() {
  tokenize 4242424242424242; pay "$(j .id)"
  local id; id=$(j .id)
  http GET "$GATEWAY_URL/v1/payments/$id" "$STRONGROOM_SK"
  eq "get status" "$STATUS" 200; eq "get id" "$(j .id)" "$id"; eq "get state" "$(j .status)" captured
  http GET "$GATEWAY_URL/v1/payments/pay_doesnotexist000000000" "$STRONGROOM_SK"
  eq "unknown payment" "$STATUS" 404
  http GET "$GATEWAY_URL/v1/payments/$id" "$SK2"
  eq "other merchant's payment" "$STATUS" 404
}

t_idempotent_retry() {
  tokenize 4242424242424242; local tok; tok=$(j .id)
  local key="it-$(openssl rand -hex 8)" n0 n1 id1
  n0=$(psp_intents)
  pay "$tok" 1500 -H "Idempotency-Key: $key"; id1=$(j .id); eq "first" "$STATUS" 201
  pay "$tok" 1500 -H "Idempotency-Key: $key"
  eq "replay status" "$STATUS" 201; eq "replay id" "$(j .id)" "$id1"
  grep -qi '^idempotent-replayed: true' <<<"$HEADERS" || fail "no Idempotent-Replayed header"
  n1=$(psp_intents)
  eq "PSP authorizations for two identical requests" "$((n1 - n0))" 1
  pay "$tok" 1600 -H "Idempotency-Key: $key"
  eq "same key, other body" "$STATUS" 400; eq "type" "$(j .error.type)" idempotency_error
  eq "no PSP call for the refused body" "$(psp_intents)" "$n1"
  eq "payments with that key" "$(pg -d gateway -At <<<"SELECT count(*) FROM payments WHERE id = '$id1'")" 1
}

vault_authorize() {  # TOKEN AMOUNT KEY: POST /v1/authorizations as the gateway
  BODY=$(curl -sS "${VINT[@]}" --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key \
    -H 'Content-Type: application/json' -w '\n%{http_code}' $VAULT_INTERNAL_URL/v1/authorizations \
    --data-binary "{\"merchant\":\"$STRONGROOM_MERCHANT\",\"token\":\"$1\",\"payment_id\":\"pay_it$3\",\"amount\":$2,\"currency\":\"usd\",\"capture\":true,\"idempotency_key\":\"$3\"}")
  STATUS=${BODY##*$'\n'}; BODY=${BODY%$'\n'*}
}

t_vault_authorization_replay() {
  tokenize 4242424242424242; local tok; tok=$(j .id)
  local key="va-$(openssl rand -hex 8)" n0 ref
  n0=$(psp_intents)
  vault_authorize "$tok" 700 "$key"; eq "first" "$STATUS" 200; eq "captured" "$(j .status)" captured; ref=$(j .psp_reference)
  vault_authorize "$tok" 700 "$key"; eq "replay" "$STATUS" 200; eq "same PSP reference" "$(j .psp_reference)" "$ref"
  eq "one PSP authorization" "$(( $(psp_intents) - n0 ))" 1
  vault_authorize "$tok" 701 "$key"; eq "same key, other amount" "$STATUS" 400; eq "type" "$(j .error.type)" idempotency_error
  eq "recorded with the asking identity" "$(pg -d vault -At <<<"SELECT peer || ' ' || attempts FROM authorizations WHERE idempotency_key = '$key'")" "gateway.strongroom.internal 1"
}

t_vault_concurrent_authorizations() {
  tokenize 4242424242424242; local tok; tok=$(j .id)
  local key="vc-$(openssl rand -hex 8)" n0 r0 i refs pids=()
  n0=$(psp_intents); r0=$(psp_stats | jq -r .idempotent_replays)
  for i in 1 2 3 4 5 6 7 8; do
    ( vault_authorize "$tok" 900 "$key"; echo "$STATUS $(j .psp_reference)" > "$TMP/vc.$i" ) &
    pids+=($!)
  done
  wait "${pids[@]}"   # never a bare wait: a test may have restarted a daemon as our child
  refs=$(cat "$TMP"/vc.* | sort -u)
  eq "eight concurrent requests, one answer" "$(wc -l <<<"$refs")" 1
  [[ $refs == 200\ pi_* ]] || fail "answers: $refs"
  eq "one PSP authorization" "$(( $(psp_intents) - n0 ))" 1
  eq "the PSP was asked once (no idempotent replays there)" "$(( $(psp_stats | jq -r .idempotent_replays) - r0 ))" 0
}

t_authentication() {
  tokenize_as "" 4242424242424242; eq "no key at vault" "$STATUS" 401
  eq "error type" "$(j .error.type)" authentication_error
  tokenize_as "pk_test_nottherightkey0000000000" 4242424242424242; eq "wrong pk" "$STATUS" 401
  tokenize_as "$STRONGROOM_SK" 4242424242424242; eq "sk at the vault" "$STATUS" 401
  pay_as "" tok_x; eq "no key at gateway" "$STATUS" 401
  pay_as "$STRONGROOM_PK" tok_x; eq "pk at the gateway" "$STATUS" 401
}

t_bad_requests() {
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" '{"card":'
  eq "malformed JSON" "$STATUS" 400; eq "code" "$(j .error.code)" invalid_json
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" '{"card":{"number":"4242424242424242","exp_month":12,"exp_year":2020,"cvc":"123"}}'
  [[ $STATUS == 4* ]] || fail "past expiry accepted"; eq "expired code" "$(j .error.code)" expired_card
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" "{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":$EXP_YEAR,\"cvc\":\"123\",\"pin\":\"1234\"}}"
  eq "unknown field" "$STATUS" 400; eq "unknown code" "$(j .error.code)" parameter_unknown
  grep -q 4242424242424242 <<<"$BODY" && fail "error echoes the number"
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" '{"amount":1000,"currency":"usd","payment_method":"4242424242424242"}'
  eq "PAN sent to the gateway" "$STATUS" 400
  grep -q 4242424242424242 <<<"$BODY" && fail "gateway error echoes the number"
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" '{"amount":-5,"currency":"usd","payment_method":"tok_abc"}'
  eq "negative amount" "$STATUS" 400
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" '{"amount":100,"currency":"usd","payment_method":"tok_doesnotexist00000000000"}'
  eq "unknown token" "$STATUS" 400; eq "unknown token code" "$(j .error.code)" resource_missing
}

t_foreign_merchant_token() {
  tokenize 4242424242424242; local tok; tok=$(j .id)
  local n0; n0=$(pg -d gateway -At <<<"SELECT count(*) FROM payments WHERE merchant_id = '$MID2'")
  pay_as "$SK2" "$tok"
  eq "another merchant's token" "$STATUS" 400; eq "code" "$(j .error.code)" resource_missing
  eq "no payment created" "$(pg -d gateway -At <<<"SELECT count(*) FROM payments WHERE merchant_id = '$MID2'")" "$n0"
  grep -q 'token.foreign_merchant' var/log/vaultd.log || fail "foreign use not audited in the vault log"
  # The vault's internal API refuses it directly too.
  local st; st=$(curl -sS -o /dev/null -w '%{http_code}' "${VINT[@]}" --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key \
    -H "Strongroom-Merchant: $MID2" "$VAULT_INTERNAL_URL/v1/tokens/$tok")
  eq "internal GET by another merchant" "$st" 404
  st=$(curl -sS -o /dev/null -w '%{http_code}' "${VINT[@]}" --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key \
    -H "Strongroom-Merchant: $STRONGROOM_MERCHANT" "$VAULT_INTERNAL_URL/v1/tokens/$tok")
  eq "internal GET by the owner" "$st" 200
}

t_mtls_refused() {
  local url=$VAULT_INTERNAL_URL/v1/tokens/tok_x
  curl -sS -o /dev/null "${VINT[@]}" "$url" 2>/dev/null && fail "vault internal accepted a client without a certificate"
  curl -sS -o /dev/null "${VINT[@]}" --cert var/pki/psp-control.crt --key var/pki/psp-control.key "$url" 2>/dev/null \
    && fail "vault internal accepted the wrong client identity"
  curl -sS -o /dev/null "${VINT[@]}" --cert "$TMP/rogue.crt" --key "$TMP/rogue.key" "$url" 2>/dev/null \
    && fail "vault internal accepted a certificate from another CA"
  curl -sS -o /dev/null "${PSP[@]}" $PSP_URL/_sim/stats 2>/dev/null && fail "pspsim accepted a client without a certificate"
  curl -sS -o /dev/null "${PSP[@]}" --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key \
    $PSP_URL/_sim/stats 2>/dev/null && fail "pspsim accepted the wrong client identity"
  curl -sS -o /dev/null "${PSP[@]}" --cert "$TMP/rogue.crt" --key "$TMP/rogue.key" $PSP_URL/_sim/stats 2>/dev/null \
    && fail "pspsim accepted a certificate from another CA"
  local st; st=$(curl -sS -o /dev/null -w '%{http_code}' "${VINT[@]}" --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key \
    -H "Strongroom-Merchant: $STRONGROOM_MERCHANT" "$url")
  eq "the gateway's certificate is accepted" "$st" 404
}

t_events_and_outbox() {
  tokenize 4242424242424242; pay "$(j .id)"; local id; id=$(j .id)
  eq "events" "$(pg -d gateway -At <<<"SELECT string_agg(coalesce(to_status,''), ',' ORDER BY id) FROM payment_events WHERE payment_id = '$id'")" "processing,captured"
  eq "outbox rows = events" "$(pg -d gateway -At <<<"SELECT count(*) FROM outbox o JOIN payment_events e ON e.id = o.event_id WHERE e.payment_id = '$id'")" 2
  pg -d gateway <<<"UPDATE payment_events SET type = 'x' WHERE payment_id = '$id'" >/dev/null 2>&1 && fail "payment_events is not append-only"
  true
}

t_cvc_deleted_after_authorization() {
  tokenize 4242424242424242; local tok; tok=$(j .id)
  eq "CVC held before" "$(pg -d vault -At <<<"SELECT cvc_ct IS NOT NULL FROM tokens WHERE id = '$tok'")" t
  pay "$tok"
  eq "CVC deleted after the first authorization" "$(pg -d vault -At <<<"SELECT cvc_ct IS NULL AND cvc_iv IS NULL FROM tokens WHERE id = '$tok'")" t
}

t_invariant1_no_pan_in_gateway() {
  "$PGBIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres gateway > "$TMP/gateway.sql" || fail "pg_dump gateway"
  [ -s "$TMP/gateway.sql" ] || fail "empty dump"
  local rc; "$SR_BIN/panscan" -q "$TMP/gateway.sql" var/log/gatewayd.log; rc=$?
  [ $rc -eq 0 ] || fail "panscan exit $rc over the gateway's database dump and log (1: Luhn-valid numbers, 2: unreadable)"
  # the scanner itself finds a PAN (so this test can fail)
  echo "x 4000000000009995 y" | "$SR_BIN/panscan" >/dev/null && fail "pan_scan missed a PAN"
  local libs; libs=$(ldd "$SR_BIN/gatewayd")
  grep -Eiq 'mbed|libp11\.so|softhsm|pkcs11|opensc' <<<"$libs" && fail "gatewayd links a PKCS#11/mbedTLS library"
  nm -D "$SR_BIN/gatewayd" 2>/dev/null | grep -Eq ' (C_GetFunctionList|mbedtls_)' && fail "gatewayd references PKCS#11 or mbedTLS symbols"
  local pid; pid=$(cat var/run/gatewayd.pid)
  grep -Eiq 'softhsm|opensc-pkcs11|mbed' "/proc/$pid/maps" && fail "a PKCS#11 module or mbedTLS is mapped into gatewayd"
  true
}

t_invariant2_no_pan_in_vault_db() {
  "$PGBIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres vault > "$TMP/vault.sql" || fail "pg_dump vault"
  grep -q 'INSERT\|COPY' "$TMP/vault.sql" || fail "vault dump has no data"
  local pan hex
  for pan in 4242424242424242 4000000000009995 5555555555554444 378282246310005 4000000000000002; do
    hex=$(printf '%s' "$pan" | od -An -tx1 | tr -d ' \n')
    grep -q "$pan" "$TMP/vault.sql" && fail "PAN $pan in clear in the vault database"
    grep -qi "$hex" "$TMP/vault.sql" && fail "PAN bytes of ${pan: -4} in the vault database"
  done
  # Every text value, in any PAN shape. Binary columns (bytea: IVs,
  # ciphertexts, MACs, printed by pg_dump as \\x + hex) are random bytes: a
  # 24-hex IV can hold a Luhn-valid run by chance; the greps above look for
  # the PANs' own bytes in them.
  sed -E 's/\\\\x[0-9a-f]+/<bytea>/g' "$TMP/vault.sql" > "$TMP/vault-text.sql"
  "$SR_BIN/panscan" "$TMP/vault-text.sql" >/dev/null || fail "Luhn-valid number in the vault database"
  # Rotation (ADR 0074) moves every record to the current version.
  eq "key version recorded" "$(pg -d vault -At <<<"SELECT DISTINCT key_version FROM tokens")" \
    "$(pg -d vault -At <<<"SELECT label FROM key_versions WHERE purpose = 'pan-enc' AND state = 'current'")"
  true
}

# Last of the suite: panscan (every PAN shape: common/sr_panscan.h) over the
# logs, the gateway database (a dump, and the cluster's files with its WAL)
# and the vault's clear columns.
t_no_pan_in_any_log() {
  local rc
  "$PGBIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres gateway > "$TMP/end_gateway.sql" || fail "pg_dump gateway"
  pg -d vault -At <<<"SELECT coalesce(customer, '') FROM tokens" > "$TMP/end_vault_clear.txt" || fail "vault clear columns"
  "$SR_BIN/panscan" -q var/log/*.log "$TMP/end_gateway.sql" "$TMP/end_vault_clear.txt" var/pg; rc=$?
  [ $rc -eq 0 ] || fail "panscan exit $rc over the logs, the gateway database (dump, files, WAL) and the vault's clear columns (1: a card number in some shape, 2: unreadable)"
  grep -l '"cvc"' var/log/*.log >/dev/null 2>&1 && fail "a log line names a CVC field"
  true
}

t_migration_runner() {
  local d=$TMP/mig db=sr_migtest out
  mkdir -p "$d/$db"; cp migrations/migrate.sh "$d/"
  pg -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
  printf 'CREATE TABLE a (x int);\n' > "$d/$db/0001_a.sql"
  printf 'CREATE TABLE b (y int);\n' > "$d/$db/0002_b.sql"
  run_mig() { PSQL=$PGBIN/psql "$d/migrate.sh" "$db" -h "$PGHOST" -p "$PGPORT" -U postgres 2>&1; }
  out=$(run_mig) || fail "first run: $out"
  eq "both applied" "$(pg -d $db -At <<<"SELECT string_agg(filename, ',' ORDER BY filename) FROM schema_migrations")" "0001_a.sql,0002_b.sql"
  out=$(run_mig) || fail "second run"; grep -q 'up to date' <<<"$out" || fail "second run applied again: $out"
  printf 'CREATE TABLE c (z int);\nSELECT 1/0;\n' > "$d/$db/0003_c.sql"
  run_mig >/dev/null && fail "a failing migration passed"
  eq "failing file left nothing" "$(pg -d $db -At <<<"SELECT count(*) FROM pg_tables WHERE tablename = 'c'")" 0
  rm "$d/$db/0003_c.sql"
  printf 'CREATE TABLE d (z int);\nCOMMIT;\nDROP TABLE a;\n' > "$d/$db/0003_d.sql"
  run_mig >/dev/null && fail "a file with COMMIT ran"
  eq "COMMIT file left nothing" "$(pg -d $db -At <<<"SELECT count(*) FROM pg_tables WHERE tablename IN ('a', 'd')")" 1
  rm "$d/$db/0003_d.sql"
  printf -- '-- edited\n' >> "$d/$db/0001_a.sql"
  out=$(run_mig) && fail "ran although an applied file changed"
  grep -q 'changed after it was applied' <<<"$out" || fail "no checksum message: $out"
  pg -d postgres -c "DROP DATABASE $db" >/dev/null
}

t_sanitizers_clean() {
  grep -El 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' var/log/*.log && fail "sanitizer report in daemon logs"
  true
}

