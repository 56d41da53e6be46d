# Integration tests of issue 3 (the vault as a tokenization product): token
# lifecycle, custody, audit of every decryption, public-listener rate limits.
# Sourced by run.sh (helpers: http, j, eq, fail, tokenize, pg, vault_authorize...).

# vint METHOD PATH [BODY]: the vault's internal API as the gateway (mTLS),
# with Strongroom-Merchant: $VMERCHANT (default the test merchant).
vint() {
  local args=("${VINT[@]}" --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key
              -sS -X "$1" -H "Strongroom-Merchant: ${VMERCHANT:-$STRONGROOM_MERCHANT}" -w '\n%{http_code}')
  [ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  BODY=$(curl "${args[@]}" "$VAULT_INTERNAL_URL$2" 2>/dev/null) || BODY=$'\n000'
  STATUS=${BODY##*$'\n'}; BODY=${BODY%$'\n'*}
}
save_card() {  # TOKEN CUSTOMER DEDUP
  vint POST /v1/cards "{\"merchant\":\"$STRONGROOM_MERCHANT\",\"token\":\"$1\",\"customer\":\"$2\",\"deduplicate\":$3}"
}
vsql() { pg -d vault -At <<<"$1"; }
# The same with the append-only triggers of pan_audit off (a superuser bypassing them).
vsql_bypass() { pg -d vault -At <<<"SET session_replication_role = replica; $1"; }
luhn_ok() {  # DIGITS: exit 0 when the Luhn check holds
  local s=0 n=${#1} i d alt=0
  for ((i = n - 1; i >= 0; i--)); do
    d=${1:i:1}; if [ $alt = 1 ]; then d=$((d * 2)); [ $d -gt 9 ] && d=$((d - 9)); fi
    s=$((s + d)); alt=$((1 - alt))
  done
  [ $((s % 10)) = 0 ]
}

# vault_variant NAME JQ-FILTER: a second vaultd on the same database and HSM
# (ports +50/+51 over the stack's public port), its config changed by
# JQ-FILTER; sets VARIANT_URL and VARIANT_PID. variant_stop stops it.
vault_variant() {
  local name=$1 filter=$2 port=$((VAULT_PUBLIC_PORT + 50))
  jq ".public_port = $port | .internal_port = $((port + 1)) | .admin_port = 0 | $filter" var/etc/vaultd.json > "var/etc/vaultd-$name.json"
  "$SR_BIN/vaultd" --config "var/etc/vaultd-$name.json" >>"var/log/vaultd-$name.log" 2>&1 &
  VARIANT_PID=$!
  VARIANT_URL=https://localhost:$port
  wait_port $port 20 || fail "variant vaultd $name did not start"
}
variant_stop() {
  [ -n "${VARIANT_PID:-}" ] && kill "$VARIANT_PID" 2>/dev/null && wait "$VARIANT_PID" 2>/dev/null
  VARIANT_PID=
}

t_single_use_token() {
  tokenize 4242424242424242; local tok; tok=$(j .id)
  local k1="su-$(openssl rand -hex 6)" k2="su-$(openssl rand -hex 6)" n0
  n0=$(psp_intents)
  vault_authorize "$tok" 900 "$k1"; eq "first use" "$STATUS" 200; eq "captured" "$(j .status)" captured
  vault_authorize "$tok" 900 "$k1"; eq "retry of the same authorization replays" "$STATUS" 200
  vault_authorize "$tok" 900 "$k2"; eq "second use refused" "$STATUS" 409
  eq "code" "$(j .error.code)" token_already_used; eq "type" "$(j .error.type)" invalid_request_error
  eq "one PSP call" "$(( $(psp_intents) - n0 ))" 1
  vint GET "/v1/tokens/$tok"; eq "token shows used" "$(j .used)" true
  # through the gateway: a new payment with a used token is refused, no charge
  pay "$tok"; eq "gateway refuses a used token" "$STATUS" 400; eq "gateway code" "$(j .error.code)" token_already_used
  eq "gateway: no second charge" "$(( $(psp_intents) - n0 ))" 1
  tokenize 4242424242424242; tok=$(j .id)
  pay "$tok"; eq "gateway first use" "$(j .status)" captured
  pay "$tok"; eq "gateway second use" "$STATUS" 400; eq "second use code" "$(j .error.code)" token_already_used
}

t_gateway_saved_cards() {
  local cus="cus_gw$(openssl rand -hex 4)" tok card n0
  tokenize 4242424242424242; tok=$(j .id)
  http POST "$GATEWAY_URL/v1/customers/$cus/cards" "$STRONGROOM_SK" "{\"token\":\"$tok\",\"deduplicate\":true}"
  eq "save via gateway" "$STATUS" 201; card=$(j .id); eq object "$(j .object)" card; eq last4 "$(j .card.last4)" 4242
  tokenize 4242424242424242
  http POST "$GATEWAY_URL/v1/customers/$cus/cards" "$STRONGROOM_SK" "{\"token\":\"$(j .id)\",\"deduplicate\":true}"
  eq "dedup via gateway" "$STATUS" 200; eq "same card" "$(j .id)" "$card"
  # A saved card pays again and again (reusable), each time a new payment.
  local p1 p2
  pay "$card"; eq "pay with card_" "$STATUS" 201; eq "card_ captured" "$(j .status)" captured; p1=$(j .id)
  pay "$card"; eq "pay with card_ again" "$STATUS" 201; eq "card_ captured again" "$(j .status)" captured; p2=$(j .id)
  [ "$p1" != "$p2" ] || fail "the second payment reused the first"
  pay_as "$SK2" "$card"; eq "another merchant's card_" "$STATUS" 400
  http GET "$GATEWAY_URL/v1/customers/$cus/cards" "$STRONGROOM_SK"; eq "list" "$(j '.data | length')" 1
  http GET "$GATEWAY_URL/v1/cards/$card" "$STRONGROOM_SK"; eq "get" "$STATUS" 200; eq customer "$(j .customer)" "$cus"
  http GET "$GATEWAY_URL/v1/cards/$card" "$SK2"; eq "other merchant" "$STATUS" 404
  http GET "$GATEWAY_URL/v1/cards/4242424242424242" "$STRONGROOM_SK"; eq "card number as id" "$STATUS/$(j .error.code)" 400/pan_not_allowed
  grep -q 4242424242424242 <<<"$BODY" && fail "gateway echoes a card number"
  http POST "$GATEWAY_URL/v1/customers/$cus/cards" "$STRONGROOM_SK" '{"token":"4242424242424242"}'; eq "number as token" "$STATUS" 400
  http POST "$GATEWAY_URL/v1/customers/bad%20cus/cards" "$STRONGROOM_SK" "{\"token\":\"$tok\"}"; [[ $STATUS == 4* ]] || fail "bad customer ($STATUS)"
  http DELETE "$GATEWAY_URL/v1/cards/$card" "$STRONGROOM_SK"; eq "delete" "$STATUS" 200; eq deleted "$(j .deleted)" true
  http GET "$GATEWAY_URL/v1/cards/$card" "$STRONGROOM_SK"; eq "deleted" "$STATUS" 404
}

t_saved_cards_and_dedup() {
  local cus="cus_$(openssl rand -hex 4)" t1 t2 c1 c2 c3
  tokenize 4242424242424242; t1=$(j .id)
  save_card "$t1" "$cus" true; eq "save" "$STATUS" 201; c1=$(j .id)
  [[ $c1 =~ ^card_[0-9A-Za-z]{22}$ ]] || fail "card id shape: $c1"
  eq "not deduplicated" "$(j .deduplicated)" false; eq "object" "$(j .object)" card; eq last4 "$(j .card.last4)" 4242
  eq "saved card holds no CVC" "$(vsql "SELECT cvc_ct IS NULL FROM tokens WHERE id = '$c1'")" t
  eq "token's CVC deleted" "$(vsql "SELECT cvc_ct IS NULL FROM tokens WHERE id = '$t1'")" t
  save_card "$t1" "$cus" false; eq "token consumed by saving" "$STATUS" 409; eq code "$(j .error.code)" token_already_used
  # dedup hit: the same card again returns the same card_ token
  tokenize 4242424242424242; t2=$(j .id)
  save_card "$t2" "$cus" true; eq "dedup hit" "$STATUS" 200; eq "same card" "$(j .id)" "$c1"; eq deduplicated "$(j .deduplicated)" true
  # dedup miss: another card; and without deduplicate a new token
  tokenize 5555555555554444; save_card "$(j .id)" "$cus" true; eq "dedup miss" "$STATUS" 201
  c2=$(j .id); [ "$c2" != "$c1" ] || fail "another card deduplicated onto the first"
  tokenize 4242424242424242; save_card "$(j .id)" "$cus" false; eq "no dedup" "$STATUS" 201
  c3=$(j .id); [ "$c3" != "$c1" ] || fail "deduplicate:false returned an existing card"
  vint GET "/v1/customers/$cus/cards"; eq "list" "$STATUS" 200; eq "three saved cards" "$(j '.data | length')" 3
  VMERCHANT=$MID2 vint GET "/v1/customers/$cus/cards"; eq "another merchant sees none" "$(j '.data | length')" 0
  VMERCHANT=$MID2 vint GET "/v1/cards/$c1"; eq "another merchant's card" "$STATUS" 404
  vint GET "/v1/cards/$c1"; eq "get" "$STATUS" 200; eq customer "$(j .customer)" "$cus"
  # reusable: two authorizations with different keys
  vault_authorize "$c1" 300 "rc-$(openssl rand -hex 6)"; eq "reuse 1" "$STATUS" 200; eq "captured 1" "$(j .status)" captured
  vault_authorize "$c1" 300 "rc-$(openssl rand -hex 6)"; eq "reuse 2" "$STATUS" 200; eq "captured 2" "$(j .status)" captured
  VMERCHANT=$MID2 vint DELETE "/v1/cards/$c1"; eq "another merchant cannot delete" "$STATUS" 404
  vint DELETE "/v1/cards/$c1"; eq "delete" "$STATUS" 200; eq deleted "$(j .deleted)" true
  eq "row and ciphertext gone" "$(vsql "SELECT count(*) FROM tokens WHERE id = '$c1'")" 0
  vint GET "/v1/cards/$c1"; eq "deleted card" "$STATUS" 404
  vault_authorize "$c1" 300 "rc-$(openssl rand -hex 6)"; eq "deleted card cannot pay" "$STATUS" 404
  save_card "$t2" "bad customer!" true; eq "bad customer" "$STATUS" 400
}

t_token_delete() {
  tokenize 4242424242424242; local tok; tok=$(j .id)
  VMERCHANT=$MID2 vint DELETE "/v1/tokens/$tok"; eq "foreign delete" "$STATUS" 404
  vint DELETE "/v1/tokens/$tok"; eq "delete" "$STATUS" 200
  eq "row gone" "$(vsql "SELECT count(*) FROM tokens WHERE id = '$tok'")" 0
  vint DELETE "/v1/tokens/$tok"; eq "twice" "$STATUS" 404
}

t_format_preserving_tokens() {
  local pair card ln i tid lead
  for pair in 4242424242424242:16 378282246310005:16 6011111111111117:16 4000056655665556:16; do
    card=${pair%%:*}
    http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" "{\"card\":{\"number\":\"$card\",\"exp_month\":12,\"exp_year\":$EXP_YEAR},\"token_format\":\"format_preserving\"}"
    eq "$card tokenized" "$STATUS" 201; ln=$(j .legacy_number); tid=$(j .id)
    [[ $ln =~ ^[0-9]{16,19}$ ]] || { fail "legacy number shape: $ln"; continue; }
    eq "$card length" "${#ln}" "${pair##*:}"
    lead=$(( ${#card} - 10 < 6 ? ${#card} - 10 : 6 ))   # 6+ digits always hidden
    eq "$card keeps its first $lead" "${ln:0:$lead}" "${card:0:$lead}"; eq "$card keeps last4" "${ln: -4}" "${card: -4}"
    luhn_ok "$ln" && fail "$card: legacy number passes Luhn"
    [ "$ln" != "$card" ] || fail "legacy number equals the PAN"
    vint GET "/v1/tokens/$ln"; eq "resolves to its token" "$(j .id)" "$tid"
    vault_authorize "$ln" 100 "fp-$(openssl rand -hex 6)"; eq "$card: authorize by legacy number" "$(j .status)" captured
  done
  # random middle digits: 20 tokens of one card, (almost surely) 20 numbers
  local seen=""
  for i in $(seq 20); do
    http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" "{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":$EXP_YEAR},\"token_format\":\"format_preserving\"}"
    seen+="$(j .legacy_number)"$'\n'
  done
  eq "distinct legacy numbers" "$(sort -u <<<"$seen" | grep -c .)" 20
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" "{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":$EXP_YEAR},\"token_format\":\"fpe\"}"
  eq "bad format" "$STATUS" 400; eq code "$(j .error.code)" invalid_token_format
}

t_tokenize_error_codes() {
  local b='"card":{"number":"4242424242424242","exp_month":12,"exp_year":'$EXP_YEAR'}'
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" "{$b,\"expires_at\":1000}"
  eq "past expires_at" "$(j .error.code)" invalid_expires_at
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" "{$b,\"expires_at\":\"soon\"}"
  eq "expires_at type" "$(j .error.code)" parameter_invalid_type; eq param "$(j .error.param)" expires_at
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" "{$b,\"pan\":\"4242424242424242\"}"
  eq "unknown key" "$(j .error.code)" parameter_unknown
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" '{"card":{"number":"42424242424242x2","exp_month":12,"exp_year":2031}}'
  eq "non-digits" "$(j .error.code)" incorrect_number
  grep -q 42424242424242x2 <<<"$BODY" && fail "error echoes the number"
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" '{"card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"12345"}}'
  eq "bad cvc" "$(j .error.code)" invalid_cvc; grep -q 12345 <<<"$BODY" && fail "error echoes the CVC"
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" '{"card":{"number":"4242424242424242","exp_month":1,"exp_year":2001}}'
  eq "past expiry" "$(j .error.code)" expired_card
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" '{"card":'
  eq "malformed JSON" "$(j .error.code)" invalid_json
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" "{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":$EXP_YEAR,\"pad\":\"$(head -c 9000 /dev/zero | tr '\0' a)\"}}"
  eq "body size limit" "$STATUS" 413
}

t_expiry_and_cvc_sweeper() {
  local a b c
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" "{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":$EXP_YEAR},\"expires_at\":$(( $(date +%s) + 3600 ))}"
  eq "token with expires_at" "$STATUS" 201; a=$(j .id)
  tokenize 4242424242424242; b=$(j .id)
  tokenize 4242424242424242; c=$(j .id)
  # The injectable clock: move the stored deadlines into the past (as an
  # hour passing would), then never read the rows again.
  vsql "UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = '$a'" >/dev/null
  vsql "UPDATE tokens SET cvc_expires_at = now() - interval '1 second' WHERE id = '$b'" >/dev/null
  vint GET "/v1/tokens/$a"; eq "expired token refused before any sweep" "$STATUS" 404
  vault_variant sweep '.sweep_interval_seconds = 1'
  local i; for i in $(seq 30); do
    [ "$(vsql "SELECT count(*) FROM tokens WHERE id = '$a'")" = 0 ] &&
      [ "$(vsql "SELECT count(*) FROM tokens WHERE id = '$b' AND cvc_ct IS NULL")" = 1 ] && break
    sleep 0.2
  done
  variant_stop
  eq "expired token deleted by the sweeper (row and ciphertext)" "$(vsql "SELECT count(*) FROM tokens WHERE id = '$a'")" 0
  eq "CVC deleted after its hour" "$(vsql "SELECT cvc_ct IS NULL AND cvc_iv IS NULL AND cvc_expires_at IS NULL FROM tokens WHERE id = '$b'")" t
  eq "other CVC kept" "$(vsql "SELECT cvc_ct IS NOT NULL FROM tokens WHERE id = '$c'")" t
  eq "other token kept" "$(vsql "SELECT count(*) FROM tokens WHERE id = '$c'")" 1
}

t_audit_chain() {
  tokenize 4242424242424242; local tok; tok=$(j .id)
  local key="au-$(openssl rand -hex 6)" n out seq i
  # more than 10 records, so that a text order ("10" < "2") would show
  for i in $(seq 11); do tokenize 4242424242424242; vault_authorize "$(j .id)" 100 "au0-$i-$(openssl rand -hex 4)"; done
  vault_authorize "$tok" 400 "$key"; eq "authorized" "$STATUS" 200
  eq "decryption audited with peer and purpose" \
    "$(vsql "SELECT purpose || ' ' || peer || ' ' || result FROM pan_audit WHERE token_id = '$tok' AND payment_id = 'pay_it$key'")" \
    "authorize gateway.strongroom.internal decrypted"
  vault_authorize "$tok" 400 "$key"
  eq "a replay decrypts nothing" "$(vsql "SELECT count(*) FROM pan_audit WHERE token_id = '$tok'")" 1
  out=$("$SR_BIN/vaultctl" --config var/etc/vaultd.json audit verify); eq "intact" "$?" 0
  [[ $out == *intact* ]] || fail "verify output: $out"
  seq=$(vsql "SELECT seq FROM pan_audit WHERE token_id = '$tok'")
  # the vault's own role can only append
  PGPASSWORD=$(cat var/secrets/vault-db-password) psql -h 127.0.0.1 -p "$PGPORT" -U vault -d vault -c \
    "UPDATE pan_audit SET result = 'x' WHERE seq = $seq" >/dev/null 2>&1 && fail "vault role may update the audit log"
  # altered
  vsql_bypass "UPDATE pan_audit SET payment_id = 'pay_other' WHERE seq = $seq" >/dev/null
  out=$("$SR_BIN/vaultctl" --config var/etc/vaultd.json audit verify); eq "alteration: exit" "$?" 3
  [[ $out == *"record $seq "* ]] || fail "alteration not located: $out"
  vsql_bypass "UPDATE pan_audit SET payment_id = 'pay_it$key' WHERE seq = $seq" >/dev/null
  "$SR_BIN/vaultctl" --config var/etc/vaultd.json audit verify >/dev/null; eq "restored" "$?" 0
  # removed (a middle record), then put back
  vault_authorize "$(tokenize 4242424242424242; j .id)" 400 "au2-$(openssl rand -hex 6)"
  vsql_bypass "CREATE TABLE audit_saved AS SELECT * FROM pan_audit WHERE seq = $seq; DELETE FROM pan_audit WHERE seq = $seq" >/dev/null
  out=$("$SR_BIN/vaultctl" --config var/etc/vaultd.json audit verify); eq "removal: exit" "$?" 3
  [[ $out == *"record $seq is missing"* ]] || fail "removal not located: $out"
  # reordered: swap the contents of two records
  vsql_bypass "INSERT INTO pan_audit SELECT * FROM audit_saved; DROP TABLE audit_saved" >/dev/null
  vsql_bypass "CREATE TABLE audit_saved AS SELECT * FROM pan_audit WHERE seq IN ($seq, $seq + 1);
        UPDATE pan_audit p SET token_id = s.token_id, payment_id = s.payment_id, at = s.at, mac = s.mac
          FROM audit_saved s WHERE (p.seq = $seq AND s.seq = $seq + 1) OR (p.seq = $seq + 1 AND s.seq = $seq)" >/dev/null
  out=$("$SR_BIN/vaultctl" --config var/etc/vaultd.json audit verify); eq "reorder: exit" "$?" 3
  [[ $out == *"record $seq "* ]] || fail "reorder not located: $out"
  vsql_bypass "UPDATE pan_audit p SET token_id = s.token_id, payment_id = s.payment_id, at = s.at, mac = s.mac
          FROM audit_saved s WHERE p.seq = s.seq; DROP TABLE audit_saved" >/dev/null
  # the newest record removed: the head notices
  vsql_bypass "CREATE TABLE audit_saved AS SELECT * FROM pan_audit WHERE seq = (SELECT max(seq) FROM pan_audit);
        DELETE FROM pan_audit WHERE seq = (SELECT seq FROM audit_saved)" >/dev/null
  out=$("$SR_BIN/vaultctl" --config var/etc/vaultd.json audit verify); eq "truncation: exit" "$?" 3
  [[ $out == *"records"*"missing"* ]] || fail "truncation not named: $out"
  vsql_bypass "INSERT INTO pan_audit SELECT * FROM audit_saved; DROP TABLE audit_saved" >/dev/null
  "$SR_BIN/vaultctl" --config var/etc/vaultd.json audit verify >/dev/null; eq "intact again" "$?" 0
}

t_rate_limits() {
  local pk2 i codes="" ra
  pk2=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "Rate limit merchant" 2>/dev/null | jq -r .publishable_key)
  [[ $pk2 == pk_* ]] || fail "no second publishable key"
  vault_variant rl '.rate_limit_key_per_minute = 1 | .rate_limit_key_burst = 3 | .rate_limit_ip_per_minute = 1 | .rate_limit_ip_burst = 6'
  local card="{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":$EXP_YEAR}}"
  for i in 1 2 3 4; do http POST "$VARIANT_URL/v1/tokens" "$STRONGROOM_PK" "$card"; codes+="$STATUS "; done
  eq "per key: 3 then 429" "$codes" "201 201 201 429 "
  eq type "$(j .error.type)" rate_limit_error
  ra=$(grep -i '^retry-after:' <<<"$HEADERS" | tr -dc 0-9); [ -n "$ra" ] && [ "$ra" -ge 1 ] || fail "no Retry-After ($ra)"
  [[ $(j .error.message) == *publishable* ]] || fail "key limit message: $(j .error.message)"
  codes=""
  for i in 1 2 3; do http POST "$VARIANT_URL/v1/tokens" "$pk2" "$card"; codes+="$STATUS "; done
  eq "per address: 6 in all, then 429 for any key" "$codes" "201 201 429 "
  [[ $(j .error.message) == *address* ]] || fail "address limit message: $(j .error.message)"
  grep -qi '^retry-after:' <<<"$HEADERS" || fail "no Retry-After on the address limit"
  variant_stop
}

t_vault_process_custody() {
  local pid; pid=$(cat var/run/vaultd.pid)
  # PCI DSS 3.3.1 / 3.5.1: no core dump of the process holding card data
  eq "core dumps disabled" "$(awk '/^Max core file size/ {print $5 "/" $6}' /proc/$pid/limits)" "0/0"
  # logs: tokens and last4 only, never a PAN, a legacy number's digits only where the API answered them
  grep -q '"event":"token.created"' var/log/vaultd.log || fail "no token.created lines (the scan would prove nothing)"
  grep -q '"last4":"4242"' var/log/vaultd.log || fail "no last4 in the vault log"
  local found; found=$(tests/integration/pan_scan.sh var/log/vaultd*.log | head -3)
  [ -z "$found" ] || fail "Luhn-valid numbers in vault logs"
  grep -qE '"(number|cvc|pan)":' var/log/vaultd*.log && fail "a vault log line names a card field"
  true
}
