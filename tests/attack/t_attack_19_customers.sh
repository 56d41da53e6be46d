# Attack suite, issue 19 item 2: customers as objects. A customer holds a
# shopper's email and name and owns saved cards, so it is both another
# tenant boundary (merchant B must not read, change, delete, list, page
# through or attach cards to merchant A's customer: 404 as for a missing
# one, nothing leaked, the refusal audited) and free text where a card
# number could be typed (refused with pan_not_allowed however it is split,
# glued or encoded, and never stored). Deleting a customer destroys its
# saved cards in the vault; a fault half-way never leaves a deleted customer
# whose cards still pay. Sourced by tests/integration/run.sh (helpers:
# http, j, eq, fail, tokenize, pay, pay_as; SK2 is a second merchant).

a19c_gw_sql() { psql -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U postgres -d gateway -v ON_ERROR_STOP=1 -c "$1"; }
a19c_vault_sql() { psql -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U postgres -d vault -v ON_ERROR_STOP=1 -c "$1"; }

# a19c_customer [KEY] [BODY]: create a customer; sets CUS.
A19C_JENNY='{"email":"jenny.rosen@example.com","name":"Jenny Rosen","metadata":{"crm":"77"}}'
a19c_customer() {
  http POST "$GATEWAY_URL/v1/customers" "${1:-$STRONGROOM_SK}" "${2:-$A19C_JENNY}"
  CUS=$(j .id)
}
# a19c_save_card CUSTOMER [NUMBER]: tokenize and save a card; sets CARD.
a19c_save_card() {
  tokenize "${2:-4242424242424242}"
  http POST "$GATEWAY_URL/v1/customers/$1/cards" "$STRONGROOM_SK" "{\"token\":\"$(j .id)\"}"
  CARD=$(j .id)
}

t_attack_19_customers_other_merchant() {
  local a0 a1 c2
  a19c_customer; eq "create" "$STATUS" 201; local cus=$CUS
  [[ $cus =~ ^cus_[0-9A-Za-z]{22}$ ]] || { fail "customer id shape: $cus"; return; }
  a0=$(a19c_gw_sql "SELECT count(*) FROM audit_events WHERE result = 'refused' AND status = 404")
  http GET "$GATEWAY_URL/v1/customers/$cus" "$SK2"; eq "B reads A's customer" "$STATUS/$(j .error.code)" 404/resource_missing
  grep -qiE 'jenny|rosen|example\.com' <<<"$BODY" && fail "B's 404 leaks A's customer"
  http POST "$GATEWAY_URL/v1/customers/$cus" "$SK2" '{"name":"Mallory"}'; eq "B updates A's customer" "$STATUS" 404
  http DELETE "$GATEWAY_URL/v1/customers/$cus" "$SK2"; eq "B deletes A's customer" "$STATUS" 404
  http POST "$GATEWAY_URL/v1/customers/$cus/cards" "$SK2" '{"token":"tok_aaaaaaaaaaaaaaaaaaaaaa"}'
  eq "B attaches a card to A's customer" "$STATUS/$(j .error.code)/$(j .error.param)" 404/resource_missing/customer
  http GET "$GATEWAY_URL/v1/customers/$cus/cards" "$SK2"; eq "B lists A's customer's cards" "$STATUS" 404
  http GET "$GATEWAY_URL/v1/customers" "$SK2"
  eq "B's list" "$STATUS" 200
  grep -q "$cus" <<<"$BODY" && fail "B's list shows A's customer"
  http GET "$GATEWAY_URL/v1/customers?starting_after=$cus" "$SK2"
  eq "A's customer as B's cursor" "$STATUS/$(j .error.code)" 400/resource_missing
  http GET "$GATEWAY_URL/v1/customers?email=jenny.rosen@example.com" "$SK2"
  eq "B filters by A's email" "$(j '.data | length')" 0
  a1=$(a19c_gw_sql "SELECT count(*) FROM audit_events WHERE result = 'refused' AND status = 404")
  [ $((a1 - a0)) -ge 5 ] || fail "refusals not audited ($((a1 - a0)) records)"
  eq "audited with B as the merchant" \
    "$(a19c_gw_sql "SELECT count(*) > 0 FROM audit_events WHERE merchant_id = '$MID2' AND action = 'DELETE /v1/customers/{}' AND result = 'refused'")" t
  http GET "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK"
  eq "A's customer unchanged" "$STATUS/$(j .name)/$(j .deleted)" "200/Jenny Rosen/null"
  # A's card: B may not name it as its own customer's default either.
  a19c_save_card "$cus"; eq "A saves a card" "$STATUS" 201
  a19c_customer "$SK2" '{"name":"B shopper"}'; c2=$CUS
  http POST "$GATEWAY_URL/v1/customers/$c2" "$SK2" "{\"default_source\":\"$CARD\"}"
  eq "A's card as B's default" "$STATUS/$(j .error.code)/$(j .error.param)" 400/resource_missing/default_source
}

t_attack_19_customers_pan_refused() {
  local before body q
  before=$(a19c_gw_sql "SELECT count(*) FROM customers" 2>/dev/null || echo none)
  for body in '{"email":"4242424242424242@example.com"}' \
              '{"name":"Jenny 4242 4242 4242 4242"}' \
              '{"name":"jenny4242424242424242rosen"}' \
              '{"description":"card: 4242-4242-4242-4242"}' \
              '{"description":"\u0034242.4242.4242.4242"}' \
              '{"metadata":{"note":"5555 5555 5555 4444"}}' \
              '{"metadata":{"4242 4242 4242 4242":"x"}}'; do
    http POST "$GATEWAY_URL/v1/customers" "$STRONGROOM_SK" "$body"
    eq "$body" "$STATUS/$(j .error.code)" 400/pan_not_allowed
    grep -qE '4242|5555' <<<"$BODY" && fail "$body: the error echoes digits"
  done
  eq "no customer stored" "$(a19c_gw_sql "SELECT count(*) FROM customers" 2>/dev/null || echo none)" "$before"
  # Ids and queries: percent-encoded, split, glued.
  for q in "customers/4242424242424242" "customers/cus_4242424242424242" \
           "customers?email=4242%204242%204242%204242" "customers?email=a4242424242424242b%40x.io" \
           "customers/4242-4242-4242-4242/cards"; do
    http GET "$GATEWAY_URL/v1/$q" "$STRONGROOM_SK"
    eq "$q" "$STATUS/$(j .error.code)" 400/pan_not_allowed
    grep -qE '4242' <<<"$BODY" && fail "$q: the error echoes digits"
  done
  a19c_customer; local cus=$CUS
  http POST "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK" '{"metadata":{"n":"4242424242424242"}}'
  eq "PAN in an update" "$STATUS/$(j .error.code)" 400/pan_not_allowed
  [ "$(a19c_gw_sql "SELECT count(*) FROM customers WHERE concat_ws('|', email, name, description, metadata::text) ~ '4242.?4242|5555.?5555'" 2>/dev/null)" = 0 ] ||
    fail "card digits stored on a customer"
  # A saved card's metadata: at saving (no card saved) and on update.
  local tok n0
  n0=$(a19c_vault_sql "SELECT count(*) FROM tokens WHERE customer = '$cus'")
  tokenize 4242424242424242; tok=$(j .id)
  http POST "$GATEWAY_URL/v1/customers/$cus/cards" "$STRONGROOM_SK" "{\"token\":\"$tok\",\"metadata\":{\"n\":\"4242 4242 4242 4242\"}}"
  eq "PAN in a card's metadata" "$STATUS/$(j .error.code)" 400/pan_not_allowed
  eq "no card saved" "$(a19c_vault_sql "SELECT count(*) FROM tokens WHERE customer = '$cus'")" "$n0"
  a19c_save_card "$cus"
  http POST "$GATEWAY_URL/v1/cards/$CARD" "$STRONGROOM_SK" '{"metadata":{"n":"\u0034242424242424242"}}'
  eq "PAN in a card's metadata update" "$STATUS/$(j .error.code)" 400/pan_not_allowed
  http POST "$GATEWAY_URL/v1/cards/$CARD" "$STRONGROOM_SK" '{"metadata":{"4242-4242-4242-4242":"x"}}'
  eq "PAN in a card's metadata key" "$STATUS/$(j .error.code)" 400/pan_not_allowed
  [ "$(a19c_gw_sql "SELECT count(*) FROM card_metadata WHERE metadata::text ~ '4242.?4242'" 2>/dev/null)" = 0 ] ||
    fail "card digits stored in a card's metadata"
}

t_attack_19_customers_wrong_types() {
  local body want
  while IFS='|' read -r body want; do
    http POST "$GATEWAY_URL/v1/customers" "$STRONGROOM_SK" "$body"
    eq "$body" "$STATUS/$(j .error.code)/$(j .error.param)" "$want"
  done <<'EOF'
[]|400/parameter_invalid_type/null
"x"|400/invalid_json/null
{"email":12}|400/parameter_invalid_type/email
{"email":"no-at-sign"}|400/email_invalid/email
{"name":{"first":"J"}}|400/parameter_invalid_type/name
{"description":true}|400/parameter_invalid_type/description
{"metadata":["a"]}|400/parameter_invalid_type/metadata
{"metadata":{"k":1}}|400/parameter_invalid_type/metadata[k]
{"emial":"j@example.com"}|400/parameter_unknown/emial
{"default_source":"card_aaaaaaaaaaaaaaaaaaaaaa"}|400/parameter_unknown/default_source
EOF
  a19c_customer; local cus=$CUS
  http POST "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK" '{"nmae":"x"}'
  eq "update unknown" "$STATUS/$(j .error.code)/$(j .error.param)" 400/parameter_unknown/nmae
  grep -q 'nmae' <<<"$(j .error.message)" || fail "message does not name the parameter"
  http POST "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK" '{"default_source":7}'
  eq "default_source type" "$STATUS/$(j .error.code)/$(j .error.param)" 400/parameter_invalid_type/default_source
  http GET "$GATEWAY_URL/v1/customers?emial=x" "$STRONGROOM_SK"
  eq "unknown query parameter" "$STATUS/$(j .error.code)/$(j .error.param)" 400/parameter_unknown/emial
  http GET "$GATEWAY_URL/v1/customers?limit=0" "$STRONGROOM_SK"; eq "limit 0" "$STATUS/$(j .error.code)" 400/limit_invalid
}

# a19c_kill_vault_deletes CUSTOMER N: the vault's database connection dies
# (its backend terminated) the first N times it deletes a card of CUSTOMER.
a19c_kill_vault_deletes() {
  a19c_vault_sql "CREATE SEQUENCE a19c_seq; GRANT USAGE, UPDATE ON SEQUENCE a19c_seq TO vault;
    CREATE FUNCTION a19c_kill() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
      IF nextval('a19c_seq') <= $2 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
      RETURN OLD; END \$\$;
    CREATE TRIGGER a19c_kill BEFORE DELETE ON tokens FOR EACH ROW
      WHEN (OLD.customer = '$1') EXECUTE FUNCTION a19c_kill();"
}
a19c_heal() { a19c_vault_sql "DROP TRIGGER IF EXISTS a19c_kill ON tokens; DROP FUNCTION IF EXISTS a19c_kill(); DROP SEQUENCE IF EXISTS a19c_seq;"; }

t_attack_19_customers_delete_destroys_cards() {
  local cus c1 c2 n
  a19c_customer; cus=$CUS
  a19c_save_card "$cus"; eq "save 1" "$STATUS" 201; c1=$CARD
  a19c_save_card "$cus" 5555555555554444; eq "save 2" "$STATUS" 201; c2=$CARD
  # The vault dies in the middle of destroying the cards: the delete fails,
  # the customer is not deleted, and nothing half-deleted pays later.
  a19c_kill_vault_deletes "$cus" 1 || { fail "cannot install the fault"; return; }
  http DELETE "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK"
  [[ $STATUS == 5* ]] || fail "delete with the vault failing: $STATUS"
  http GET "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK"
  eq "a failed delete leaves the customer" "$STATUS" 200
  # A card saved after the deletion began is refused (no card under a dying customer).
  a19c_save_card "$cus"; eq "save during the deletion" "$STATUS" 404
  # The retry finishes the job.
  http DELETE "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK"
  eq "retry" "$STATUS/$(j .id)/$(j .object)/$(j .deleted)" "200/$cus/customer/true"
  a19c_heal
  n=$(a19c_vault_sql "SELECT count(*) FROM tokens WHERE id IN ('$c1', '$c2') OR customer = '$cus'")
  eq "ciphertext gone from the vault" "$n" 0
  pay "$c1"; [[ $STATUS == 4* ]] || fail "a deleted customer's card still pays ($STATUS)"
  http GET "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK"; eq "gone" "$STATUS" 404
  http DELETE "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK"; eq "deleted twice" "$STATUS" 404
  a19c_save_card "$cus"; eq "save to a deleted customer" "$STATUS" 404
  http GET "$GATEWAY_URL/v1/customers/$cus/cards" "$STRONGROOM_SK"; eq "cards of a deleted customer" "$STATUS" 404
}
