# Issue 7 with issue 5: merchants' PSP credentials follow key rotation
# (ADR 0074, ADR 0095 amended; migration vault/0041). On the real stack:
# credentials sealed under the current pan-enc key with their account HMAC
# under the current fp-hmac key, still used (PSP calls with the merchant's
# key, webhooks naming the merchant's account) between a rotation and the
# re-encryption, counted by keys retire, re-sealed by keys reencrypt, and
# still used after the old keys are destroyed.
# Sourced by tests/integration/run.sh; uses the pw_* helpers of t_psp_webhooks.sh.
# Named t_rotation_* so that it runs right after t_rotation_online_under_load
# (the tests before it see the keys they always saw).

# cr_webhook TAG ACCOUNT SECRET: a Stripe event naming ACCOUNT, signed with
# SECRET, posted to the gateway (STATUS set). Unknown payment: acknowledged
# (200) only if the signature verifies.
cr_webhook() {
  local body
  body=$(pw_event "evt_cr$1" payment_intent.succeeded "{\"id\":\"pi_cr$1\",\"object\":\"payment_intent\",\"amount_received\":5}" "$2")
  pw_post "$body" "$(pw_sign "$body" "$3")"
}

# cr_pay PK SK KEY4: tokenize and pay as the merchant; echoes how many PSP
# calls were made with the API key ending in KEY4.
cr_pay() {
  local before after
  before=$(psp_stats | jq -r --arg k "$3" '.calls_by_key[$k] // 0')
  tokenize_as "$1" 4242424242424242
  pay_as "$2" "$(j .id)"
  [ "$STATUS" = 201 ] && [ "$(j .status)" = captured ] || { echo "pay $STATUS $(j .status)"; return; }
  after=$(psp_stats | jq -r --arg k "$3" '.calls_by_key[$k] // 0')
  echo $((after - before))
}

t_rotation_psp_credentials_follow_keys() {
  local R=$TMP/credrot out rc mid pk sk mid2 sk2 rnd key acct whs pan_old fp_old pan_new fp_new plat
  local toks n cnt x
  rm -rf "$R"; mkdir -p "$R"; chmod 700 "$R"
  RV=("$SR_BIN/vaultctl" --config var/etc/vaultd.json --transcript "$R/transcript.jsonl"
      --pubkey "$R/signer.pem" --master master-credrot)
  "${RV[@]}" ceremony init >/dev/null || { fail "ceremony init on the stack token"; return; }
  cur() { pg -d vault -At -c "SELECT label FROM key_versions WHERE purpose = '$1' AND state = 'current'"; }
  crow() { pg -d vault -At -v m="$1" <<<"SELECT key_version || ' ' || coalesce(account_hmac_key, '-') FROM psp_credentials WHERE merchant_id = :'m' AND connector = 'stripe'"; }
  pan_old=$(cur pan-enc); fp_old=$(cur fp-hmac)

  # A merchant with its own Stripe key, account and webhook secret.
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "Credentials rotation merchant") \
    || { fail "merchant create"; return; }
  mid=$(jq -r .id <<<"$out"); pk=$(jq -r .publishable_key <<<"$out"); sk=$(jq -r .secret_key <<<"$out")
  rnd=$(openssl rand -hex 10)
  key="sk_test_credrot_$rnd"; acct="acct_cr$rnd"; whs="whsec_credrot_$rnd"
  pw_sim POST /_sim/api_keys "{\"key\":\"$key\",\"account\":\"$acct\"}" >/dev/null
  http PUT "$GATEWAY_URL/v1/psp_credentials/stripe" "$sk" \
    "{\"api_key\":\"$key\",\"merchant_account\":\"$acct\",\"webhook_secret\":\"$whs\"}"
  eq "register" "$STATUS" 200
  eq "sealed under the current keys" "$(crow "$mid")" "$pan_old $fp_old"
  eq "merchant-key calls before rotation" "$(cr_pay "$pk" "$sk" "${key: -4}")" 2

  # Rotate both purposes (dual control); vaultd follows within a second.
  out=$("${RV[@]}" "${DEV_TWO[@]}" keys rotate pan-enc 2>&1) || { fail "rotate pan-enc: $out"; return; }
  out=$("${RV[@]}" "${DEV_TWO[@]}" keys rotate fp-hmac 2>&1) || { fail "rotate fp-hmac: $out"; return; }
  pan_new=$(cur pan-enc); fp_new=$(cur fp-hmac)
  [ "$pan_new" != "$pan_old" ] && [ "$fp_new" != "$fp_old" ] || { fail "not rotated"; return; }
  sleep 1.5
  # Between rotation and re-encryption: the old row still opens (its own
  # key_version) and its account is found under the previous fp-hmac key.
  eq "merchant-key calls after rotation" "$(cr_pay "$pk" "$sk" "${key: -4}")" 2
  cr_webhook "a$rnd" "$acct" "$(cat $PW_SECRET_FILE)"
  eq "platform secret for the merchant's account (transition)" "$STATUS" 400
  cr_webhook "b$rnd" "$acct" "$whs"
  eq "merchant's webhook verifies (transition)" "$STATUS" 200
  # Credentials registered now are sealed under the new keys; the account
  # registered under the previous fp-hmac key is still taken.
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "Credentials rotation second") \
    || { fail "merchant create 2"; return; }
  mid2=$(jq -r .id <<<"$out"); sk2=$(jq -r .secret_key <<<"$out")
  http PUT "$GATEWAY_URL/v1/psp_credentials/stripe" "$sk2" "{\"merchant_account\":\"$acct\"}"
  eq "account taken across the fp rotation" "$STATUS" 409
  pw_sim POST /_sim/api_keys "{\"key\":\"sk_test_cr2_${rnd}_2nd\",\"account\":\"acct_cr2$rnd\"}" >/dev/null
  http PUT "$GATEWAY_URL/v1/psp_credentials/stripe" "$sk2" "{\"merchant_account\":\"acct_cr2$rnd\",\"api_key\":\"sk_test_cr2_${rnd}_2nd\"}"
  eq "register after rotation" "$STATUS" 200
  eq "new registration on the new keys" "$(crow "$mid2")" "$pan_new $fp_new"

  # Retire refuses while credentials need the old keys, and counts them.
  for x in "$pan_old" "$fp_old"; do
    toks=$(pg -d vault -At -c "SELECT count(*) FROM tokens WHERE key_version = '$x' OR fp_version = '$x'")
    cnt=$(pg -d vault -At -c "SELECT count(*) FROM psp_credentials WHERE key_version = '$x' OR account_hmac_key = '$x'")
    [ "$cnt" -ge 1 ] || fail "no credentials on $x"
    # The platform's sealed PSP secrets need their pan-enc key too (ADR 0120).
    plat=$(pg -d vault -At -c "SELECT count(*) FROM psp_platform_secrets WHERE key_version = '$x'")
    out=$("${RV[@]}" "${DEV_TWO[@]}" keys retire "$x" 2>&1); rc=$?
    eq "retire $x in use" "$rc" 4
    grep -q "refused: $((toks + cnt + plat)) records still use $x" <<<"$out" || fail "retire $x: credentials not counted ($toks tokens + $cnt credentials + $plat platform secrets): $out"
  done
  check "$pan_old kept after refusals" "$SR_BIN/vaultctl" keys kcv "$pan_old"
  check "$fp_old kept after refusals" "$SR_BIN/vaultctl" keys kcv "$fp_old"

  # Re-encryption re-seals the credentials too: logged per row, no value.
  out=$("${RV[@]}" keys reencrypt --batch 50 2>&1); rc=$?
  eq "reencrypt" "$rc" 0
  grep -q "none left on older versions" <<<"$out" || fail "reencrypt: $out"
  grep -q "\"event\":\"psp_credentials.resealed\",\"merchant\":\"$mid\",\"connector\":\"stripe\".*\"result\":\"resealed\"" <<<"$out" \
    || fail "no re-seal event for the merchant: $out"
  grep -q -e "$rnd" <<<"$out" && fail "a credential value in vaultctl's output"
  eq "credentials on the new keys" "$(crow "$mid")" "$pan_new $fp_new"
  eq "credentials left on old keys" "$(pg -d vault -At -c "SELECT count(*) FROM psp_credentials WHERE key_version <> '$pan_new' OR account_hmac_key <> '$fp_new'")" 0

  # Still the merchant's key at the PSP, still the merchant's webhooks.
  eq "merchant-key calls after reencrypt" "$(cr_pay "$pk" "$sk" "${key: -4}")" 2
  cr_webhook "c$rnd" "$acct" "$whs"
  eq "merchant's webhook verifies (re-sealed)" "$STATUS" 200

  # Nothing needs the old keys now: retired (destroyed), and all still works.
  out=$("${RV[@]}" "${DEV_TWO[@]}" keys retire "$pan_old" 2>&1) || fail "retire $pan_old: $out"
  out=$("${RV[@]}" "${DEV_TWO[@]}" keys retire "$fp_old" 2>&1) || fail "retire $fp_old: $out"
  "$SR_BIN/vaultctl" keys kcv "$pan_old" >/dev/null 2>&1 && fail "$pan_old still on the token"
  "$SR_BIN/vaultctl" keys kcv "$fp_old" >/dev/null 2>&1 && fail "$fp_old still on the token"
  eq "merchant-key calls after retirement" "$(cr_pay "$pk" "$sk" "${key: -4}")" 2
  cr_webhook "d$rnd" "$acct" "$whs"
  eq "merchant's webhook verifies (after retirement)" "$STATUS" 200
  cr_webhook "e$rnd" "$acct" "$(cat $PW_SECRET_FILE)"
  eq "platform secret still refused" "$STATUS" 400
  n=$(pw_count "SELECT count(*) FROM psp_webhook_events WHERE event_id IN ('evt_crb$rnd', 'evt_crc$rnd', 'evt_crd$rnd')")
  eq "merchant's webhooks recorded" "$n" 3
  # Deliberately untimed: this rotation rehearsal takes no trusted time (ADR 0117).
  check "credentials rotation transcript verifies" "${RV[@]}" ceremony verify "$R/transcript.jsonl" --allow-untimed
}
