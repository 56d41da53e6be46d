# Attack suite, issue 19 item 1: metadata is the merchant's free text on
# payments, so it is where a card number would be put by mistake (an order
# note, a "reference" field). A PAN in a metadata value or key, however it
# is split or escaped, is refused (pan_not_allowed) and never stored; clean
# metadata within Stripe's limits is stored and returned. Sourced by
# tests/integration/run.sh (helpers: http, j, eq, fail, tokenize).

a19_gw_sql() { psql -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U postgres -d gateway -v ON_ERROR_STOP=1 -c "$1"; }

# a19_pay METADATA_JSON: POST /v1/payments with a fresh token and metadata.
a19_pay() {
  tokenize 4242424242424242
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" \
    "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$(j .id)\",\"metadata\":$1}"
}

t_attack_19_metadata_pan_refused() {
  local before after md
  before=$(a19_gw_sql "SELECT count(*) FROM payments")
  # value: plain, spaced, dashed, dotted, JSON-escaped digits; key: spaced.
  for md in '{"order":"4242424242424242"}' \
            '{"order":"4242 4242 4242 4242"}' \
            '{"order":"card 4242-4242-4242-4242 thanks"}' \
            '{"note":"4242.4242.4242.4242"}' \
            '{"note":"\u0034242424242424242"}' \
            '{"4242 4242 4242 4242":"x"}' \
            '{"k":"5555 5555 5555 4444"}' \
            '{"k":"4011 7800 0000 0006"}'; do
    a19_pay "$md"
    eq "$md: status" "$STATUS" 400
    eq "$md: code" "$(j .error.code)" pan_not_allowed
    grep -qE '4242|5555|40117' <<<"$BODY" && fail "$md: the error echoes digits"
  done
  after=$(a19_gw_sql "SELECT count(*) FROM payments")
  eq "no payment created" "$after" "$before"
  [ "$(a19_gw_sql "SELECT count(*) FROM payments WHERE metadata::text ~ '4242.?4242|5555.?5555|4011.?78'")" = 0 ] ||
    fail "card digits stored in metadata"
}

t_attack_19_metadata_stored_and_limited() {
  a19_pay '{"order_id":"6735","customer_ref":"cus 88-12"}'
  eq "clean metadata: status" "$STATUS" 201
  eq "returned" "$(jq -c -S .metadata <<<"$BODY")" '{"customer_ref":"cus 88-12","order_id":"6735"}'
  local pay; pay=$(j .id)
  http GET "$GATEWAY_URL/v1/payments/$pay" "$STRONGROOM_SK"
  eq "retrieved" "$(j .metadata.order_id)" 6735
  eq "stored" "$(a19_gw_sql "SELECT metadata->>'customer_ref' FROM payments WHERE id = '$pay'")" "cus 88-12"
  # Stripe's limits, each error naming metadata[key]
  a19_pay "{\"$(printf 'k%.0s' {1..41})\":\"v\"}"
  eq "41-char key" "$(j .error.code)/$(j .error.param)" metadata_key_too_long/metadata
  a19_pay "{\"long\":\"$(printf 'v%.0s' {1..501})\"}"
  eq "501-char value" "$(j .error.code)/$(j .error.param)" "metadata_value_too_long/metadata[long]"
  a19_pay "{\"n\":12}"
  eq "number value" "$(j .error.code)/$(j .error.param)" "parameter_invalid_type/metadata[n]"
  a19_pay "$(jq -cn '[range(51)|{key:"k\(.)",value:"v"}]|from_entries')"
  eq "51 keys" "$(j .error.code)/$(j .error.param)" metadata_too_many_keys/metadata
  a19_pay "$(jq -cn '[range(50)|{key:"k\(.)",value:("v"*500)}]|from_entries')"
  eq "50 keys of 500 characters" "$STATUS" 201
  a19_pay '"x"'
  eq "not an object" "$(j .error.code)/$(j .error.param)" parameter_invalid_type/metadata
}

t_attack_19_refund_metadata() {
  a19_pay '{"order_id":"6736"}'
  local pay; pay=$(j .id)
  http POST "$GATEWAY_URL/v1/payments/$pay/refunds" "$STRONGROOM_SK" '{"amount":100,"metadata":{"rma":"4242 4242 4242 4242"}}'
  eq "refund, PAN in metadata" "$STATUS/$(j .error.code)" 400/pan_not_allowed
  http POST "$GATEWAY_URL/v1/payments/$pay/refunds" "$STRONGROOM_SK" '{"amount":100,"metadata":{"rma":"R-77"}}'
  eq "refund created" "$STATUS" 201
  eq "refund metadata" "$(j .metadata.rma)" R-77
  eq "one refund stored" "$(a19_gw_sql "SELECT count(*) FROM refunds WHERE payment_id = '$pay'")" 1
  eq "stored" "$(a19_gw_sql "SELECT metadata->>'rma' FROM refunds WHERE payment_id = '$pay'")" R-77
  http GET "$GATEWAY_URL/v1/refunds/$(j .id)" "$STRONGROOM_SK"
  eq "retrieved" "$(j .metadata.rma)" R-77
}
