# Integration tests of the card fields in the browser (issue 6): registered
# origins, CORS on POST /v1/tokens, the hosted fields' CSP frame-ancestors,
# strongroom.js and its SRI hash, and the Playwright run in Chromium
# (tests/e2e/checkout.mjs). Sourced by run.sh (helpers: http, j, eq, fail, pg, VINT).

CHECKOUT_ORIGIN=http://localhost:$CHECKOUT_PORT
SHOP2_ORIGIN=https://shop2.strongroom.test:9443

# A third merchant whose only registered origin is SHOP2_ORIGIN (made once).
browser_merchant() {
  [ -n "${PK3:-}" ] && return 0
  local out
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "Shop two" \
        --origin "$SHOP2_ORIGIN" 2>/dev/null) || { fail "gatewayctl merchant create --origin"; return 1; }
  PK3=$(jq -r .publishable_key <<<"$out"); MID3=$(jq -r .id <<<"$out")
  eq "create prints the origins" "$(jq -c .allowed_origins <<<"$out")" "[\"$SHOP2_ORIGIN\"]"
}
vault_tokens_count() { pg -d vault -At <<<"SELECT count(*) FROM tokens"; }
card_json() { echo "{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":$EXP_YEAR,\"cvc\":\"123\"}}"; }
hdr() { tr -d '\r' <<<"$HEADERS" | sed -n "s/^$1: //Ip" | head -1; }
no_cors_headers() { grep -qi '^access-control-' <<<"$HEADERS" && fail "$1: CORS headers on a refusal"; true; }

t_browser_checkout() {
  local out rc
  command -v node >/dev/null || { fail "node not found"; return; }
  [ -x /usr/bin/chromium ] || { fail "chromium not installed (make deps)"; return; }
  out=$(timeout 240 node tests/e2e/checkout.mjs --env var/dev.env --out build/e2e 2>&1); rc=$?
  { [ $rc = 0 ] && grep -qE '^e2e: (1[1-9]|[2-9][0-9]) passed, 0 failed' <<<"$out"; } || { fail "browser tests (exit $rc):"; sed 's/^/        /' <<<"$out" | tail -n 20; }
  # The merchant's server received tokens, never a card number (invariant 1, docs/invariants.md).
  grep -q '"token":"tok_' var/log/checkout-requests.log || fail "the checkout received no token"
  tests/integration/pan_scan.sh var/log/checkout-requests.log var/log/checkout.log >/dev/null || fail "a card number in the checkout's logs"
  # The 3-D Secure case completed its challenge at the PSP (4000 0000 0000 3220 succeeds after it).
  grep -q '"event":"pspsim.3ds_completed".*"status":"succeeded"' var/log/pspsim.log || fail "no completed 3-D Secure challenge at the PSP"
  ls build/e2e/0{1,2,3,4,5,6,7,8}-*.png >/dev/null 2>&1 || fail "screenshots missing in build/e2e"
}

t_cors_tokens() {
  browser_merchant || return
  local n0
  # The registered origin: ACAO echoes it exactly.
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" "$(card_json)" -H "Origin: $CHECKOUT_ORIGIN"
  eq "registered origin" "$STATUS" 201
  eq "ACAO exact echo" "$(hdr Access-Control-Allow-Origin)" "$CHECKOUT_ORIGIN"
  eq "Vary" "$(hdr Vary)" Origin
  # No Origin (a server) and the vault's own origin (the hosted fields): no CORS at all.
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" "$(card_json)"
  eq "no origin" "$STATUS" 201; [ -z "$(hdr Access-Control-Allow-Origin)" ] || fail "ACAO without Origin"
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" "$(card_json)" -H "Origin: https://localhost:$VAULT_PUBLIC_PORT"
  eq "same origin" "$STATUS" 201
  # Refused: unknown origin, another merchant's origin, "null", a near miss; nothing stored.
  n0=$(vault_tokens_count)
  for o in https://evil.example "$SHOP2_ORIGIN" null "$CHECKOUT_ORIGIN/" "http://127.0.0.1:$CHECKOUT_PORT" "HTTP://localhost:$CHECKOUT_PORT"; do
    http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" "$(card_json)" -H "Origin: $o"
    eq "origin $o status" "$STATUS" 403; eq "origin $o code" "$(j .error.code)" origin_not_allowed
    no_cors_headers "origin $o"
    grep -qF "$o" <<<"$BODY" && [ "$o" != null ] && fail "the refusal echoes the origin"
  done
  eq "no token stored for refused origins" "$(vault_tokens_count)" "$n0"
  # The other merchant from its own origin: allowed.
  http POST "$VAULT_URL/v1/tokens" "$PK3" "$(card_json)" -H "Origin: $SHOP2_ORIGIN"
  eq "shop2 from its origin" "$STATUS" 201; eq "shop2 ACAO" "$(hdr Access-Control-Allow-Origin)" "$SHOP2_ORIGIN"
  # A wrong key from a registered origin is still 401, without CORS headers.
  http POST "$VAULT_URL/v1/tokens" pk_test_nope "$(card_json)" -H "Origin: $CHECKOUT_ORIGIN"
  eq "bad key" "$STATUS" 401; no_cors_headers "bad key"
}

t_cors_preflight() {
  browser_merchant || return
  local pre=(-H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: authorization,content-type')
  http OPTIONS "$VAULT_URL/v1/tokens" "" "" -H "Origin: $CHECKOUT_ORIGIN" "${pre[@]}"
  eq "preflight registered" "$STATUS" 204
  eq "preflight ACAO" "$(hdr Access-Control-Allow-Origin)" "$CHECKOUT_ORIGIN"
  eq "preflight methods" "$(hdr Access-Control-Allow-Methods)" POST
  eq "preflight headers" "$(hdr Access-Control-Allow-Headers)" "Authorization, Content-Type"
  grep -qi '^access-control-allow-credentials' <<<"$HEADERS" && fail "credentials allowed"
  http OPTIONS "$VAULT_URL/v1/tokens" "" "" -H "Origin: $SHOP2_ORIGIN" "${pre[@]}"
  eq "preflight other merchant's origin" "$STATUS" 204
  for o in https://evil.example "$CHECKOUT_ORIGIN/" null "https://shop2.strongroom.test"; do
    http OPTIONS "$VAULT_URL/v1/tokens" "" "" -H "Origin: $o" "${pre[@]}"
    eq "preflight $o" "$STATUS" 403; eq "preflight $o code" "$(j .error.code)" origin_not_allowed
    no_cors_headers "preflight $o"
  done
  http OPTIONS "$VAULT_URL/v1/tokens" "" "" -H "Origin: $CHECKOUT_ORIGIN" -H 'Access-Control-Request-Method: DELETE'
  eq "preflight other method" "$STATUS" 403; no_cors_headers "preflight DELETE"
}

t_elements_frame_ancestors() {
  browser_merchant || return
  local u="$VAULT_URL/v1/elements/card" enc csp
  enc() { jq -rn --arg s "$1" '$s|@uri'; }
  http GET "$u?pk=$STRONGROOM_PK&origin=$(enc "$CHECKOUT_ORIGIN")" ""
  eq "fields for the registered origin" "$STATUS" 200
  csp=$(hdr Content-Security-Policy)
  [[ $csp == *"frame-ancestors $CHECKOUT_ORIGIN" ]] || fail "frame-ancestors: $csp"
  [[ $csp == *"script-src 'self'"* && $csp == *"connect-src 'self'"* && $csp == "default-src 'none'"* ]] || fail "CSP: $csp"
  grep -q 'id="number"' <<<"$BODY" && grep -q 'autocomplete="cc-number"' <<<"$BODY" && grep -q '<label for="number">' <<<"$BODY" \
    || fail "page without labelled number field"
  eq "no caching of the page" "$(hdr Cache-Control)" no-store
  # Refused: unregistered, another merchant's, malformed (header injection), no or unknown key.
  for q in "pk=$STRONGROOM_PK&origin=$(enc https://evil.example)" "pk=$STRONGROOM_PK&origin=$(enc "$SHOP2_ORIGIN")" \
           "pk=$STRONGROOM_PK&origin=$(enc "$CHECKOUT_ORIGIN; script-src *")" "pk=$STRONGROOM_PK" \
           "origin=$(enc "$CHECKOUT_ORIGIN")" "pk=pk_test_unknown&origin=$(enc "$CHECKOUT_ORIGIN")"; do
    http GET "$u?$q" ""
    eq "refused ${q:0:60}" "$STATUS" 403
    [[ $(hdr Content-Security-Policy) == *"frame-ancestors 'none'" ]] || fail "refusal not unframeable ($q)"
    grep -q 'id="number"' <<<"$BODY" && fail "card fields served on refusal"
    grep -q 'evil\|shop2\|script-src \*' <<<"$BODY" && fail "refusal echoes input"
  done
  http GET "$u?pk=$PK3&origin=$(enc "$SHOP2_ORIGIN")" ""
  eq "shop2's fields for shop2" "$STATUS" 200
  [[ $(hdr Content-Security-Policy) == *"frame-ancestors $SHOP2_ORIGIN" ]] || fail "shop2 frame-ancestors"
  http GET "$VAULT_URL/v1/elements/card.js" ""; eq "card.js" "$STATUS" 200
  http GET "$VAULT_URL/v1/elements/card.css" ""; eq "card.css" "$STATUS" 200
  http GET "$VAULT_URL/v1/elements/other.js" ""; eq "unknown asset" "$STATUS" 404
}

t_strongroom_js_sri() {
  local published served readme
  published=$(cat vault/elements/static/strongroom.js.sri)
  curl -sS --cacert "$STRONGROOM_CA" -D "$TMP/sjh" -o "$TMP/sr.js" "$VAULT_URL/v1/strongroom.js" || { fail "fetch"; return; }
  served="sha384-$(openssl dgst -sha384 -binary "$TMP/sr.js" | openssl base64 -A)"
  eq "served strongroom.js matches the published SRI" "$served" "$published"
  cmp -s "$TMP/sr.js" vault/elements/static/strongroom.js || fail "served bytes differ from vault/elements/static/strongroom.js"
  grep -qF "$published" README.md || fail "README.md does not publish the current SRI hash ($published)"
  HEADERS=$(cat "$TMP/sjh")
  eq "integrity header" "$(hdr Strongroom-Integrity)" "$published"
  eq "caching" "$(hdr Cache-Control)" "public, max-age=31536000, immutable"
  eq "CORS for crossorigin=anonymous" "$(hdr Access-Control-Allow-Origin)" "*"
  [[ $(hdr Content-Type) == text/javascript* ]] || fail "content type"
}

# The internal PUT /v1/merchants/{id} with allowed_origins (mTLS as the gateway).
vault_put_merchant() {  # ID BODY
  BODY=$(curl -sS "${VINT[@]}" --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key \
    -X PUT -H 'Content-Type: application/json' -w '\n%{http_code}' "$VAULT_INTERNAL_URL/v1/merchants/$1" --data-binary "$2")
  STATUS=${BODY##*$'\n'}; BODY=${BODY%$'\n'*}
}

t_merchant_origins_put() {
  browser_merchant || return
  local h before bad
  h=$(pg -d vault -At <<<"SELECT publishable_key_sha256 FROM merchants WHERE id = '$MID3'")
  before=$(pg -d vault -At <<<"SELECT string_agg(origin, ',' ORDER BY origin) FROM merchant_origins WHERE merchant_id = '$MID3'")
  eq "registered by gatewayctl" "$before" "$SHOP2_ORIGIN"
  local many; many=$(jq -cn '[range(17) | "https://s\(.).example"]')
  for bad in '"https://a.example"' '[1]' '["https://a.example/"]' '["https://a.example:443"]' '["HTTPS://a.example"]' \
             '["http://a.example"]' '["https://a.example","https://a.example"]' '["https://a.example:0"]' \
             '["https://a.example\r\nX: y"]' '["https://-a.example"]' '[null]' "$many"; do
    vault_put_merchant "$MID3" "{\"publishable_key_sha256\":\"$h\",\"allowed_origins\":$bad}"
    eq "bad origins ${bad:0:40}" "$STATUS" 400; eq "param" "$(j .error.param)" allowed_origins
  done
  eq "refusals changed nothing" "$(pg -d vault -At <<<"SELECT string_agg(origin, ',' ORDER BY origin) FROM merchant_origins WHERE merchant_id = '$MID3'")" "$before"
  vault_put_merchant "$MID3" "{\"publishable_key_sha256\":\"$h\",\"allowed_origins\":[\"https://b.example\",\"$SHOP2_ORIGIN\"]}"
  eq "replace" "$STATUS" 200; eq "echo" "$(j '.allowed_origins|length')" 2
  vault_put_merchant "$MID3" "{\"publishable_key_sha256\":\"$h\"}"
  eq "absent keeps them" "$(pg -d vault -At <<<"SELECT count(*) FROM merchant_origins WHERE merchant_id = '$MID3'")" 2
  # gatewayctl: replace, refuse a bad one (nothing changes), unknown merchant.
  "$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant origins --id "$MID3" --origin "$SHOP2_ORIGIN" >/dev/null 2>&1 \
    || fail "gatewayctl merchant origins"
  "$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant origins --id "$MID3" --origin "https://Bad.example/" >/dev/null 2>&1 \
    && fail "gatewayctl accepted a malformed origin"
  "$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant origins --id mer_doesnotexist --origin https://a.example >/dev/null 2>&1 \
    && fail "gatewayctl accepted an unknown merchant"
  eq "after gatewayctl" "$(pg -d vault -At <<<"SELECT string_agg(origin, ',') FROM merchant_origins WHERE merchant_id = '$MID3'")" "$SHOP2_ORIGIN"
}
