# Attack suite, issue 15 item 4: one merchant cannot break another. Two
# merchants name one PSP account: merchant B (SK2) tries to register the
# platform's own Adyen merchant account, and another merchant's account, with
# B's webhook secret; afterwards the PSP's genuine notifications for the
# other merchant's payments still verify and have their effect (ADR 0107).
# Sourced by tests/integration/run.sh after tests/integration/t_*.sh
# (helpers: http, j, eq, fail; aw_* of t_adyen_webhooks.sh).

# at4_merchant NAME: a new merchant routed to adyen; sets AT4_SK, AT4_PK, AT4_MID.
at4_merchant() {
  local out
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "$1" 2>/dev/null) \
    || { fail "merchant create"; return 1; }
  AT4_SK=$(jq -r .secret_key <<<"$out"); AT4_PK=$(jq -r .publishable_key <<<"$out"); AT4_MID=$(jq -r .id <<<"$out")
  http PUT "$GATEWAY_URL/v1/routing" "$AT4_SK" '{"primary":"adyen"}'
  [ "$STATUS" = 200 ] || { fail "routing override: HTTP $STATUS"; return 1; }
}
# at4_pay SK PK: a captured EUR payment on adyen; sets AT4_PAY, AT4_PSP.
at4_pay() {
  tokenize_as "$2" 4242424242424242
  http POST "$GATEWAY_URL/v1/payments" "$1" \
    "{\"amount\":1500,\"currency\":\"eur\",\"payment_method\":\"$(j .id)\",\"capture_method\":\"automatic\"}"
  eq "paid on adyen" "$STATUS/$(j .status)/$(j .connector)" 201/captured/adyen
  AT4_PAY=$(j .id); AT4_PSP=$(j .psp_reference)
}
# at4_chargeback PSP ACCOUNT HEXKEY PAY: the PSP's CHARGEBACK for payment PSP,
# naming ACCOUNT, signed with HEXKEY; posted to the gateway (STATUS, BODY set).
at4_chargeback() {
  local item
  item=$(aw_item CHARGEBACK "$(aw_ref)" "$1" "$4" 1500 | jq -c --arg a "$2" '.merchantAccountCode = $a')
  aw_post "$(aw_body "$(aw_sign "$item" "$3")")"
}
at4_put() {  # SK JSON: PUT /v1/psp_credentials/adyen
  http PUT "$GATEWAY_URL/v1/psp_credentials/adyen" "$1" "$2"
}

t_attack_4_platform_account_is_reserved() {
  local rnd hmac_b sk_a pk_a pay_a psp_a
  rnd=$(openssl rand -hex 8); hmac_b=$(openssl rand -hex 32)
  at4_merchant "Tenant A on the platform account" || return
  sk_a=$AT4_SK; pk_a=$AT4_PK
  at4_pay "$sk_a" "$pk_a"; pay_a=$AT4_PAY; psp_a=$AT4_PSP
  # B names the platform's account with B's own secret (with and without a key).
  at4_put "$SK2" "{\"merchant_account\":\"$AW_ACCOUNT\",\"webhook_secret\":\"$hmac_b\"}"
  eq "B registers the platform's account" "$STATUS/$(j .error.code)/$(j .error.param)" 409/merchant_account_reserved/merchant_account
  aw_sim POST /_sim/api_keys "{\"key\":\"AQE_tenant_b_$rnd\"}" >/dev/null
  at4_put "$SK2" "{\"api_key\":\"AQE_tenant_b_$rnd\",\"merchant_account\":\"$AW_ACCOUNT\",\"webhook_secret\":\"$hmac_b\"}"
  eq "B registers the platform's account with a key" "$STATUS/$(j .error.code)" 409/merchant_account_reserved
  grep -q -e "$hmac_b" <<<"$BODY" && fail "a rejected value was echoed"
  # The PSP's genuine chargeback for A's payment still verifies and lands.
  at4_chargeback "$psp_a" "$AW_ACCOUNT" "$(cat "$AW_HMAC_FILE")" "$pay_a"
  eq "genuine chargeback for A" "$STATUS/$BODY" "200/[accepted]"
  http GET "$GATEWAY_URL/v1/payments/$pay_a" "$sk_a"
  eq "A's payment disputed" "$(j .status)" disputed
  # B's secret does not verify anything for the platform's account.
  at4_pay "$sk_a" "$pk_a"
  at4_chargeback "$AT4_PSP" "$AW_ACCOUNT" "$hmac_b" "$AT4_PAY"
  eq "B's forged chargeback" "$STATUS/$(j .error.code)" 400/signature_invalid
  http GET "$GATEWAY_URL/v1/payments/$AT4_PAY" "$sk_a"
  eq "A's other payment untouched" "$(j .status)" captured
  http DELETE "$GATEWAY_URL/v1/psp_credentials/adyen" "$SK2" >/dev/null   # the starting commit took it
}

t_attack_4_another_merchants_account() {
  local rnd acct_a key_a hmac_a sk_a pk_a acct_c key_c hmac_b key_b acct_b
  rnd=$(openssl rand -hex 6 | tr a-f A-F)
  acct_a="TenantA$rnd"; key_a="AQE_tenant_a_$rnd"; hmac_a=$(openssl rand -hex 32)
  acct_b="TenantB$rnd"; key_b="AQE_tenant_b2_$rnd"; hmac_b=$(openssl rand -hex 32)
  acct_c="TenantC$rnd"; key_c="AQE_tenant_c_$rnd"
  # The PSP knows each key and the merchant account it may act for.
  aw_sim POST /_sim/api_keys "{\"key\":\"$key_a\",\"account\":\"$acct_a\"}" >/dev/null
  aw_sim POST /_sim/api_keys "{\"key\":\"$key_b\",\"account\":\"$acct_b\"}" >/dev/null
  aw_sim POST /_sim/api_keys "{\"key\":\"$key_c\",\"account\":\"$acct_c\"}" >/dev/null
  at4_merchant "Tenant A with its own Adyen account" || return
  sk_a=$AT4_SK; pk_a=$AT4_PK
  at4_put "$sk_a" "{\"api_key\":\"$key_a\",\"merchant_account\":\"$acct_a\",\"webhook_secret\":\"$hmac_a\"}"
  eq "A registers its own account" "$STATUS" 200
  # B names A's account with B's secret: without a key, with B's own key.
  at4_put "$SK2" "{\"merchant_account\":\"$acct_a\",\"webhook_secret\":\"$hmac_b\"}"
  eq "B registers A's account" "$STATUS/$(j .error.code)" 409/merchant_account_taken
  at4_put "$SK2" "{\"api_key\":\"$key_b\",\"merchant_account\":\"$acct_a\",\"webhook_secret\":\"$hmac_b\"}"
  eq "B registers A's account with B's key" "$STATUS/$(j .error.code)" 409/merchant_account_taken
  # B squats an account nobody registered yet (C's), without C's key.
  at4_put "$SK2" "{\"api_key\":\"$key_b\",\"merchant_account\":\"$acct_c\",\"webhook_secret\":\"$hmac_b\"}"
  eq "B squats C's account with B's key" "$STATUS/$(j .error.code)/$(j .error.param)" 400/credentials_unverified/api_key
  at4_put "$SK2" "{\"merchant_account\":\"$acct_c\",\"webhook_secret\":\"$hmac_b\"}"
  eq "B squats C's account without a key" "$STATUS/$(j .error.code)/$(j .error.param)" 400/parameter_missing/api_key
  at4_put "$SK2" "{\"api_key\":\"AQE_unknown_$rnd\",\"merchant_account\":\"$acct_b\"}"
  eq "a key the PSP does not know" "$STATUS/$(j .error.code)" 400/credentials_unverified
  # With its proof, B registers B's own account.
  at4_put "$SK2" "{\"api_key\":\"$key_b\",\"merchant_account\":\"$acct_b\",\"webhook_secret\":\"$hmac_b\"}"
  eq "B registers its own account" "$STATUS" 200
  # A's payment on A's account: the PSP's chargeback, signed with A's key, lands.
  at4_pay "$sk_a" "$pk_a"
  at4_chargeback "$AT4_PSP" "$acct_a" "$hmac_b" "$AT4_PAY"
  eq "B's secret on A's payment" "$STATUS/$(j .error.code)" 400/signature_invalid
  at4_chargeback "$AT4_PSP" "$acct_b" "$hmac_b" "$AT4_PAY"
  eq "B's secret and account on A's payment" "$STATUS/$(j .error.code)" 400/signature_invalid
  at4_chargeback "$AT4_PSP" "$acct_a" "$hmac_a" "$AT4_PAY"
  eq "genuine chargeback on A's account" "$STATUS/$BODY" "200/[accepted]"
  http GET "$GATEWAY_URL/v1/payments/$AT4_PAY" "$sk_a"
  eq "A's payment disputed" "$(j .status)" disputed
  http DELETE "$GATEWAY_URL/v1/psp_credentials/adyen" "$SK2" >/dev/null
}
