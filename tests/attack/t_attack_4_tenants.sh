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
  # A and B configured their HMAC keys at the PSP (Customer Area): the PSP's
  # test notification proves their secrets (t_attack_4_test_notification).
  aw_sim POST /_sim/adyen/webhook_hmac "{\"account\":\"$acct_a\",\"hmac_key\":\"$hmac_a\"}" >/dev/null
  aw_sim POST /_sim/adyen/webhook_hmac "{\"account\":\"$acct_b\",\"hmac_key\":\"$hmac_b\"}" >/dev/null
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

# at4_item_for ACCOUNT CODE: an unsigned item naming ACCOUNT, a payment nobody knows.
at4_item_for() {
  aw_item "$2" "$(aw_ref)" "" "" 0 | jq -c --arg a "$1" '.merchantAccountCode = $a'
}
# at4_status SK: B's webhook_secret_status for adyen, from GET /v1/psp_credentials.
at4_status() {
  http GET "$GATEWAY_URL/v1/psp_credentials" "$1"
  j '.data[] | select(.connector == "adyen") | .webhook_secret_status'
}

# A webhook secret becomes active only when the PSP, asked with the
# merchant's proven key, sends a test notification for the account signed
# with it: B's secret is the one B configured at the PSP (ADR 0107).
t_attack_4_test_notification() {
  local rnd acct_b key_b psp_hmac wrong wrong2 sk_b
  rnd=$(openssl rand -hex 6 | tr a-f A-F)
  acct_b="TenantT$rnd"; key_b="AQE_tenant_t_$rnd"
  psp_hmac=$(openssl rand -hex 32); wrong=$(openssl rand -hex 32); wrong2=$(openssl rand -hex 32)
  aw_sim POST /_sim/api_keys "{\"key\":\"$key_b\",\"account\":\"$acct_b\"}" >/dev/null
  # B configures its HMAC key in its Customer Area: the PSP now signs with it.
  aw_sim POST /_sim/adyen/webhook_hmac "{\"account\":\"$acct_b\",\"hmac_key\":\"$psp_hmac\"}" >/dev/null
  at4_merchant "Tenant B proving its webhook secret" || return
  sk_b=$AT4_SK
  # A secret the PSP does not use for B's account stays pending ...
  at4_put "$sk_b" "{\"api_key\":\"$key_b\",\"merchant_account\":\"$acct_b\",\"webhook_secret\":\"$wrong\"}"
  eq "B registers a wrong secret" "$STATUS/$(j .webhook_secret_status)" 200/pending
  eq "listed pending" "$(at4_status "$sk_b")" pending
  # ... and verifies nothing: neither B's deliveries nor a TEST B forges with it.
  aw_post "$(aw_body "$(aw_sign "$(at4_item_for "$acct_b" CHARGEBACK)" "$wrong")")"
  eq "a delivery signed with the pending secret" "$STATUS/$(j .error.code)" 400/signature_invalid
  aw_post "$(aw_body "$(aw_sign "$(at4_item_for "$acct_b" TEST)" "$wrong")")"
  eq "B's self-signed TEST notification" "$STATUS/$(j .error.code)" 400/signature_invalid
  eq "still pending" "$(at4_status "$sk_b")" pending
  # The secret the PSP uses: its test notification verifies, the secret is active.
  at4_put "$sk_b" "{\"api_key\":\"$key_b\",\"merchant_account\":\"$acct_b\",\"webhook_secret\":\"$psp_hmac\"}"
  eq "B registers the PSP's secret" "$STATUS/$(j .webhook_secret_status)" 200/active
  eq "listed active" "$(at4_status "$sk_b")" active
  aw_post "$(aw_body "$(aw_sign "$(at4_item_for "$acct_b" CHARGEBACK)" "$psp_hmac")")"
  eq "the PSP's delivery for B's account" "$STATUS/$BODY" "200/[accepted]"
  # A new wrong secret: pending, the active one keeps verifying meanwhile.
  at4_put "$sk_b" "{\"api_key\":\"$key_b\",\"merchant_account\":\"$acct_b\",\"webhook_secret\":\"$wrong2\"}"
  eq "B rotates to a wrong secret" "$STATUS/$(j .webhook_secret_status)" 200/pending
  aw_post "$(aw_body "$(aw_sign "$(at4_item_for "$acct_b" TEST)" "$wrong2")")"
  eq "B's self-signed TEST after rotation" "$STATUS/$(j .error.code)" 400/signature_invalid
  aw_post "$(aw_body "$(aw_sign "$(at4_item_for "$acct_b" CHARGEBACK)" "$psp_hmac")")"
  eq "the active secret still verifies" "$STATUS/$BODY" "200/[accepted]"
  eq "still pending after the forged TEST" "$(at4_status "$sk_b")" pending
  # Without a key, nothing can be tested: a secret alone stays pending.
  at4_put "$sk_b" "{\"webhook_secret\":\"$psp_hmac\"}"
  eq "a secret without key and account" "$STATUS/$(j .webhook_secret_status)" 200/pending
  http DELETE "$GATEWAY_URL/v1/psp_credentials/adyen" "$sk_b" >/dev/null
}
