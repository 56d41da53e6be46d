# Attack suite, issue 15 item 3: a card number never reaches the application
# zone, whatever its shape. Each route that takes merchant input gets the PAN
# spaced, tabbed, dotted, "____"-joined, mixed, glued to letters or "_",
# percent-encoded or JSON \u-escaped, in path ids, bodies, headers, query
# strings, webhook endpoint URLs and the vault's customer reference: every
# request is refused with 400 pan_not_allowed (param names the place, never
# the value), and afterwards the gateway database, its log and the vault's
# clear columns hold the number in no shape. Sourced by
# tests/integration/run.sh (helpers: http, j, eq, fail, tokenize, pay).

A3_PAN=4111111100000028   # used by no other test: any trace of it is this test's

a3_pct() {  # STRING: every byte percent-encoded
  local s=$1 i out=
  for ((i = 0; i < ${#s}; i++)); do out+=$(printf '%%%02X' "'${s:i:1}"); done
  printf '%s' "$out"
}
a3_g() {  # SEP: the PAN in four groups joined by SEP
  printf '%s' "${A3_PAN:0:4}$1${A3_PAN:4:4}$1${A3_PAN:8:4}$1${A3_PAN:12:4}"
}
# The shapes, one per line (none holds a newline).
a3_shapes() {
  printf '%s\n' "$A3_PAN" "$(a3_g '    ')" "$(a3_g $'\t')" "$(a3_g .)" "$(a3_g ____)" \
    "${A3_PAN:0:4} -/${A3_PAN:4:4}._${A3_PAN:8:4} , ${A3_PAN:12:4}" "abc${A3_PAN}x" \
    "x_${A3_PAN}_y" "order-$(a3_g -)" "$(a3_pct "$A3_PAN")"
}
# The shapes that can be one path segment ([A-Za-z0-9_-], or %-encoded).
a3_path_shapes() {
  printf '%s\n' "$A3_PAN" "$(a3_g ____)" "$(a3_g -)" "x_${A3_PAN}_y" "$(a3_pct "$A3_PAN")" \
    "$(a3_g %20%20%20%20)" "$(a3_g %09)"
}
# The PAN as JSON \u escapes (only meaningful inside a JSON string).
A3_UESC=$(for ((i = 0; i < 16; i++)); do printf '\\u%04x' "'${A3_PAN:i:1}"; done)

a3_refused() {  # WHAT: the last reply is 400 pan_not_allowed, param set, no digits echoed
  eq "$1: status" "$STATUS" 400
  eq "$1: type" "$(j .error.type)" invalid_request_error
  eq "$1: code" "$(j .error.code)" pan_not_allowed
  [ -n "$(j '.error.param // empty')" ] || fail "$1: no param"
  grep -q "${A3_PAN:4:8}" <<<"$BODY" && fail "$1: the reply echoes the number"
  true
}

# The gateway database (every table), its log and the vault's clear columns,
# each line percent- and \u-decoded and reduced to its digits: the PAN must
# appear in none; and panscan finds nothing either.
a3_nothing_stored() {
  local f
  "$PGBIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres gateway > "$TMP/a3_gw.sql" || fail "pg_dump gateway"
  pg -d vault -At <<<"SELECT coalesce(customer, '') FROM tokens" > "$TMP/a3_vault.txt" || fail "vault tokens"
  for f in "$TMP/a3_gw.sql" "$TMP/a3_vault.txt" var/log/gatewayd.log; do
    perl -pe 'for my $i (1..2) { s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge; s/\\u([0-9A-Fa-f]{4})/chr(hex($1))/ge } s/[^0-9\n]//g' \
      "$f" > "$TMP/a3_digits" || fail "decoding $(basename "$f")"
    grep -q "$A3_PAN" "$TMP/a3_digits" && fail "the PAN (in some shape) is in $(basename "$f")"
  done
  "$SR_BIN/panscan" -q "$TMP/a3_gw.sql" "$TMP/a3_vault.txt" var/log/gatewayd.log ||
    fail "panscan finds a card number in the gateway database, its log or the vault's customer column"
  true
}

t_attack_3_path_ids() {
  local s tok
  new_manual 1500
  while IFS= read -r s; do
    http GET "$GATEWAY_URL/v1/payments/pay_$s" "$STRONGROOM_SK"; a3_refused "GET pay_ id ($s)"
    http POST "$GATEWAY_URL/v1/payments/pay_$s/capture" "$STRONGROOM_SK" '{"amount":100}' -H "Idempotency-Key: a3-$RANDOM$RANDOM"
    a3_refused "capture pay_ id ($s)"
    http POST "$GATEWAY_URL/v1/payments/pay_$s/refunds" "$STRONGROOM_SK" '{"amount":100}' -H "Idempotency-Key: a3-$RANDOM$RANDOM"
    a3_refused "refund pay_ id ($s)"
    http GET "$GATEWAY_URL/v1/refunds/re_$s" "$STRONGROOM_SK"; a3_refused "GET re_ id ($s)"
    http DELETE "$GATEWAY_URL/v1/webhook_endpoints/we_$s" "$STRONGROOM_SK"; a3_refused "DELETE we_ id ($s)"
    http GET "$GATEWAY_URL/v1/cards/card_$s" "$STRONGROOM_SK"; a3_refused "GET card_ id ($s)"
  done < <(a3_path_shapes)
  # A well-formed id still works.
  http GET "$GATEWAY_URL/v1/payments/$PAY" "$STRONGROOM_SK"; eq "a real id" "$STATUS" 200
  a3_nothing_stored
}

t_attack_3_body_fields() {
  local s tok body
  tokenize 4242424242424242; tok=$(j .id)
  while IFS= read -r s; do
    body=$(jq -cn --arg t "$tok" --arg d "$s" '{amount:1500,currency:"usd",payment_method:$t,description:$d}')
    http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" "$body"; a3_refused "description ($s)"
    eq "description: param" "$(j .error.param)" description
    body=$(jq -cn --arg d "Invoice $s" '{amount:100,reason:$d}')
    http POST "$GATEWAY_URL/v1/payments/pay_x/refunds" "$STRONGROOM_SK" "$body"; a3_refused "refund body ($s)"
  done < <(a3_shapes)
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$tok\",\"description\":\"$A3_UESC\"}"
  a3_refused "description, JSON \\u escapes"
  # Split across JSON strings, or as numbers.
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$tok\",\"description\":[\"${A3_PAN:0:4}\",\"${A3_PAN:4:4}\",\"${A3_PAN:8:4}\",\"${A3_PAN:12:4}\"]}"
  a3_refused "description, split across an array"
  # Any other body: form, text, no content type.
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" "" -d "description=$(a3_g ____)"
  a3_refused "form body"
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" "" -H 'Content-Type: text/plain' --data-binary "note $(a3_g '    ')"
  a3_refused "text body"
  # Ordinary data passes: a millisecond timestamp order key, an invoice number.
  local ms; ms=$(date +%s%3N)
  body=$(jq -cn --arg t "$tok" --arg d "Invoice $ms" '{amount:1500,currency:"usd",payment_method:$t,description:$d}')
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" "$body" -H "Idempotency-Key: order-$ms"
  eq "an invoice number and an order key pass" "$STATUS" 201
  a3_nothing_stored
}

t_attack_3_headers_and_query() {
  local s tok body q
  tokenize 4242424242424242; tok=$(j .id)
  body=$(jq -cn --arg t "$tok" '{amount:1500,currency:"usd",payment_method:$t}')
  while IFS= read -r s; do
    http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" "$body" -H "Idempotency-Key: $s"
    a3_refused "Idempotency-Key ($s)"; eq "Idempotency-Key: param" "$(j .error.param)" header:Idempotency-Key
    http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" "$body" -H "X-Order-Reference: $s"
    a3_refused "other header ($s)"
    q=$(jq -rn --arg s "$s" '$s|@uri')
    http GET "$GATEWAY_URL/v1/payments?limit=3&ref=$q" "$STRONGROOM_SK"; a3_refused "query ($s)"
    eq "query: param" "$(j .error.param)" query:ref
    http GET "$GATEWAY_URL/v1/payments?starting_after=pay_$q" "$STRONGROOM_SK"; a3_refused "query id ($s)"
  done < <(a3_shapes)
  a3_nothing_stored
}

t_attack_3_webhook_urls() {
  local s u enc
  while IFS= read -r s; do
    enc=$(jq -rn --arg s "$s" '$s|@uri')
    for u in "https://example.com/h/$enc" "https://example.com/h?ref=$enc" "https://example.com/h#$enc" \
             "https://x$(a3_g -).example.com/h" "https://example.com/$(a3_g %20%20%20%20)/h"; do
      http POST "$GATEWAY_URL/v1/webhook_endpoints" "$STRONGROOM_SK" \
        "$(jq -cn --arg u "$u" '{url:$u,enabled_events:["payment.captured"]}')"
      a3_refused "webhook URL ($u)"
    done
  done < <(a3_shapes | head -6)
  http POST "$GATEWAY_URL/v1/webhook_endpoints" "$STRONGROOM_SK" \
    "{\"url\":\"https://example.com/h?ref=$A3_UESC\",\"enabled_events\":[\"payment.captured\"]}"
  a3_refused "webhook URL, JSON \\u escapes"
  a3_nothing_stored
}

t_attack_3_vault_customer() {
  local s tok
  tokenize 4242424242424242; tok=$(j .id)
  while IFS= read -r s; do
    http POST "$GATEWAY_URL/v1/customers/$s/cards" "$STRONGROOM_SK" "{\"token\":\"$tok\"}"
    a3_refused "customer reference ($s)"
  done < <(a3_path_shapes)
  # The vault itself refuses it (the gateway's check aside), before the token is spent.
  for s in "$A3_PAN" "x_${A3_PAN}_y" "$(a3_g -)" "$(a3_g ____)"; do
    BODY=$(curl -sS "${VINT[@]}" --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key \
      -H 'Content-Type: application/json' -w '\n%{http_code}' "$VAULT_INTERNAL_URL/v1/cards" \
      --data-binary "{\"merchant\":\"$STRONGROOM_MERCHANT\",\"token\":\"$tok\",\"customer\":\"$s\"}")
    STATUS=${BODY##*$'\n'}; BODY=${BODY%$'\n'*}
    a3_refused "vault customer ($s)"; eq "vault customer: param" "$(j .error.param)" customer
  done
  # The token was not spent: it still saves a card for a sane reference.
  http POST "$GATEWAY_URL/v1/customers/cus_a3/cards" "$STRONGROOM_SK" "{\"token\":\"$tok\"}"
  eq "the token is still unspent" "$STATUS" 201
  a3_nothing_stored
}
