# Integration tests of issue 19 item 2: customers as objects (ADR 0128):
# create, retrieve, update with Stripe's semantics, list with cursors and
# the email filter, a default card among the customer's saved cards, and
# deletion with the cards. The attacks are in
# tests/attack/t_attack_19_customers.sh. Sourced by run.sh (helpers: http,
# j, eq, fail, tokenize, pay).

# tc_card CUSTOMER [NUMBER]: save a card for CUSTOMER; sets CARD.
tc_card() {
  tokenize "${2:-4242424242424242}"
  http POST "$GATEWAY_URL/v1/customers/$1/cards" "$STRONGROOM_SK" "{\"token\":\"$(j .id)\"}"
  CARD=$(j .id)
}

t_customers_create_get_update() {
  local cus
  http POST "$GATEWAY_URL/v1/customers" "$STRONGROOM_SK" \
    '{"email":"ada@example.com","name":"Ada Lovelace","description":"VIP","metadata":{"crm":"17","tier":"gold"}}'
  eq "create" "$STATUS" 201; cus=$(j .id)
  eq "object" "$(j .object)" customer
  eq "fields" "$(j '[.email, .name, .description, .metadata.crm, .metadata.tier, .default_source] | join("|")')" \
    "ada@example.com|Ada Lovelace|VIP|17|gold|"
  [ "$(j .created)" -gt 0 ] || fail "created missing"
  http GET "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK"; eq "get" "$STATUS/$(j .name)" "200/Ada Lovelace"
  # Only the given fields change; metadata keys merge; "" deletes a key or unsets a field.
  http POST "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK" '{"metadata":{"tier":"","note":"call first"},"description":""}'
  eq "update" "$STATUS" 200
  eq "merged" "$(jq -c -S .metadata <<<"$BODY")" '{"crm":"17","note":"call first"}'
  eq "untouched" "$(j .email)/$(j .name)" "ada@example.com/Ada Lovelace"
  eq "description unset" "$(j .description)" null
  http POST "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK" '{"metadata":""}'
  eq "metadata \"\" unsets all" "$(jq -c .metadata <<<"$BODY")" '{}'
  http POST "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK" ''
  eq "an empty update" "$STATUS/$(j .email)" "200/ada@example.com"
  # Stripe's limits on customer metadata too, counted after the merge.
  http POST "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK" "{\"metadata\":$(jq -cn '[range(50)|{key:"k\(.)",value:"v"}]|from_entries')}"
  eq "50 keys" "$STATUS" 200
  http POST "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK" '{"metadata":{"one_more":"v"}}'
  eq "51st key by merge" "$STATUS/$(j .error.code)" 400/metadata_too_many_keys
  http POST "$GATEWAY_URL/v1/customers" "$STRONGROOM_SK" "{\"name\":\"$(printf 'n%.0s' {1..257})\"}"
  eq "257-character name" "$STATUS/$(j .error.code)/$(j .error.param)" 400/name_too_long/name
  http POST "$GATEWAY_URL/v1/customers" "$STRONGROOM_SK" '{}'
  eq "an empty customer" "$STATUS/$(j .email)" 201/null
}

t_customers_list_pages() {
  local tag ids=() i
  tag="list$(openssl rand -hex 4)@example.com"
  for i in 1 2 3; do
    http POST "$GATEWAY_URL/v1/customers" "$STRONGROOM_SK" "{\"email\":\"$tag\",\"name\":\"n$i\"}"
    ids+=("$(j .id)")
  done
  http GET "$GATEWAY_URL/v1/customers?email=$tag&limit=2" "$STRONGROOM_SK"
  eq "page 1" "$STATUS/$(j '.data | length')/$(j .has_more)/$(j .url)" "200/2/true//v1/customers"
  eq "newest first" "$(j '.data[0].id')/$(j '.data[1].id')" "${ids[2]}/${ids[1]}"
  http GET "$GATEWAY_URL/v1/customers?email=$tag&limit=2&starting_after=${ids[1]}" "$STRONGROOM_SK"
  eq "page 2" "$(j '.data | length')/$(j '.data[0].id')/$(j .has_more)" "1/${ids[0]}/false"
  http GET "$GATEWAY_URL/v1/customers?email=$tag&limit=1&ending_before=${ids[0]}" "$STRONGROOM_SK"
  eq "ending_before" "$(j '.data[0].id')/$(j .has_more)" "${ids[1]}/true"
  http GET "$GATEWAY_URL/v1/customers?limit=100" "$STRONGROOM_SK"; eq "all" "$STATUS" 200
  http GET "$GATEWAY_URL/v1/customers?starting_after=${ids[0]}&ending_before=${ids[1]}" "$STRONGROOM_SK"
  eq "both cursors" "$STATUS/$(j .error.code)" 400/parameters_exclusive
}

t_customers_default_card_and_delete() {
  local cus other c1 c2 c3 n
  http POST "$GATEWAY_URL/v1/customers" "$STRONGROOM_SK" '{"name":"Grace"}'; cus=$(j .id)
  http POST "$GATEWAY_URL/v1/customers" "$STRONGROOM_SK" '{"name":"Other"}'; other=$(j .id)
  tc_card "$cus"; eq "save" "$STATUS/$(j .customer)" "201/$cus"; c1=$CARD
  http GET "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK"; eq "the first card is the default" "$(j .default_source)" "$c1"
  tc_card "$cus" 5555555555554444; c2=$CARD
  http GET "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK"; eq "the second is not" "$(j .default_source)" "$c1"
  http POST "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK" "{\"default_source\":\"$c2\"}"
  eq "set the default" "$STATUS/$(j .default_source)" "200/$c2"
  tc_card "$other"; c3=$CARD
  http POST "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK" "{\"default_source\":\"$c3\"}"
  eq "another customer's card" "$STATUS/$(j .error.code)/$(j .error.param)" 400/resource_missing/default_source
  http POST "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK" '{"default_source":"card_notacardatallxxxxxx"}'
  eq "no such card" "$STATUS/$(j .error.code)" 400/resource_missing
  http GET "$GATEWAY_URL/v1/customers/$cus/cards" "$STRONGROOM_SK"; eq "cards" "$(j '.data | length')" 2
  # Deleting the default card unsets it.
  http DELETE "$GATEWAY_URL/v1/cards/$c2" "$STRONGROOM_SK"; eq "card deleted" "$STATUS" 200
  http GET "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK"; eq "default unset" "$(j .default_source)" null
  pay "$c1"; eq "a saved card pays" "$STATUS" 201
  http DELETE "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK"
  eq "delete" "$STATUS" 200; eq "answer" "$(jq -c -S . <<<"$BODY")" "{\"deleted\":true,\"id\":\"$cus\",\"object\":\"customer\"}"
  n=$(pg -d vault -At <<<"SELECT count(*) FROM tokens WHERE customer = '$cus'")
  eq "its cards destroyed in the vault" "$n" 0
  pay "$c1"; [[ $STATUS == 4* ]] || fail "a deleted customer's card pays ($STATUS)"
  http GET "$GATEWAY_URL/v1/cards/$c3" "$STRONGROOM_SK"; eq "another customer's card kept" "$STATUS" 200
  grep -q "\"customer.deleted\".*$cus" var/log/gatewayd.log || fail "no customer.deleted log line"
  # Legacy references (not a customer object id) keep labelling saved cards.
  tc_card "legacy-ref-$RANDOM"; eq "a legacy reference" "$STATUS" 201
}

t_customers_card_metadata() {
  local cus card
  http POST "$GATEWAY_URL/v1/customers" "$STRONGROOM_SK" '{"name":"Meta"}'; cus=$(j .id)
  tokenize 4242424242424242
  http POST "$GATEWAY_URL/v1/customers/$cus/cards" "$STRONGROOM_SK" "{\"token\":\"$(j .id)\",\"metadata\":{\"label\":\"work card\",\"n\":\"1\"}}"
  eq "save with metadata" "$STATUS/$(j .metadata.label)" "201/work card"; card=$(j .id)
  http GET "$GATEWAY_URL/v1/cards/$card" "$STRONGROOM_SK"; eq "get" "$(jq -c -S .metadata <<<"$BODY")" '{"label":"work card","n":"1"}'
  http GET "$GATEWAY_URL/v1/customers/$cus/cards" "$STRONGROOM_SK"; eq "in the list" "$(j '.data[0].metadata.label')" "work card"
  http POST "$GATEWAY_URL/v1/cards/$card" "$STRONGROOM_SK" '{"metadata":{"n":"","expires":"soon"}}'
  eq "update merges" "$STATUS/$(jq -c -S .metadata <<<"$BODY")" '200/{"expires":"soon","label":"work card"}'
  eq "still the card" "$(j .object)/$(j .card.last4)" card/4242
  http POST "$GATEWAY_URL/v1/cards/$card" "$STRONGROOM_SK" "{\"metadata\":{\"$(printf 'k%.0s' {1..41})\":\"v\"}}"
  eq "41-character key" "$STATUS/$(j .error.code)" 400/metadata_key_too_long
  http POST "$GATEWAY_URL/v1/cards/$card" "$STRONGROOM_SK" '{"nickname":"x"}'
  eq "unknown" "$STATUS/$(j .error.code)/$(j .error.param)" 400/parameter_unknown/nickname
  http POST "$GATEWAY_URL/v1/cards/$card" "$SK2" '{"metadata":{"a":"b"}}'; eq "another merchant's card" "$STATUS" 404
  http POST "$GATEWAY_URL/v1/cards/$card" "$STRONGROOM_SK" '{"metadata":""}'
  eq "all unset" "$STATUS/$(jq -c .metadata <<<"$BODY")" '200/{}'
  http POST "$GATEWAY_URL/v1/cards/$card" "$STRONGROOM_SK" '{"metadata":{"a":"b"}}'
  http DELETE "$GATEWAY_URL/v1/customers/$cus" "$STRONGROOM_SK"; eq "delete the customer" "$STATUS" 200
  eq "its cards' metadata gone" "$(pg -d gateway -At <<<"SELECT count(*) FROM card_metadata WHERE customer = '$cus' OR card_id = '$card'")" 0
}
