# Attack suite, session 33: a card number encoded twice. The dispatch screen
# and the customer fields' own scan (ADR 0106, 0128) decoded one level of
# %XX or JSON escape, so "%2534%2532..." (4242... percent-encoded twice, as a
# client that encodes an already encoded value sends it) was stored on a
# customer, and an Idempotency-Key of that shape became the Event's
# request.idempotency_key (ADR 0129): kept in the gateway's append-only
# payment_events and sent in every webhook body. Sourced by
# tests/integration/run.sh (helpers: http, j, eq, fail, tokenize, pg).

# 4242424242424242, each digit percent-encoded twice.
AS33_PAN2='%2534%2532%2534%2532%2534%2532%2534%2532%2534%2532%2534%2532%2534%2532%2534%2532'

as33_stored() { pg -d gateway -At <<<"SELECT count(*) FROM customers WHERE concat_ws('|', name, description, metadata::text) ~ '%2534|4242%252D|u0034242'"; }

t_attack_s33_pan_nested_customer() {
  local body n0
  n0=$(as33_stored)
  for body in "{\"name\":\"Jenny $AS33_PAN2\"}" \
              "{\"description\":\"4242%252D4242%252D4242%252D4242\"}" \
              "{\"metadata\":{\"blob\":\"{\\\\\\\"n\\\\\\\":\\\\\\\"\\\\\\\\u0034242424242424242\\\\\\\"}\"}}"; do
    http POST "$GATEWAY_URL/v1/customers" "$STRONGROOM_SK" "$body"
    eq "$body" "$STATUS/$(j .error.code)" 400/pan_not_allowed
  done
  eq "nothing stored" "$(as33_stored)" "$n0"
}

t_attack_s33_pan_nested_idempotency_key() {
  local n0
  n0=$(pg -d gateway -At <<<"SELECT count(*) FROM payment_events WHERE idempotency_key LIKE '%\%25%'")
  tokenize 4242424242424242
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" \
    "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$(j .id)\",\"capture_method\":\"automatic\"}" \
    -H "Idempotency-Key: order-$AS33_PAN2"
  eq "Idempotency-Key with a twice-encoded PAN" "$STATUS/$(j .error.code)" 400/pan_not_allowed
  [[ $BODY == *2534* ]] && fail "the answer echoes the key"
  eq "no event carries it" "$(pg -d gateway -At <<<"SELECT count(*) FROM payment_events WHERE idempotency_key LIKE '%\%25%'")" "$n0"
}
