# Attack suite, issue 28 item 4: a copy of the vault's secrets is worth no
# PSP key. The attacker copies vaultd's secrets directory and configuration
# (a backup, a snapshot, a mis-set permission) and dumps the vault database;
# he holds the token's user PIN but no custodian's passphrase. He must find
# none of the platform's Stripe and Adyen API keys, webhook secret or HMAC key
# in clear, and cannot replace one without two custodians (dual control,
# ADR 0105). The platform secrets are sealed in the HSM like merchants'
# credentials (ADR 0120). Sourced by tests/integration/run.sh, on the stack.

# The values the PSP issued to the platform: pspsim's copies (the PSP side);
# before issue 28 they were also vaultd's own files in var/secrets/.
atk28_psp_dir() { if [ -d var/pspsim-keys ]; then echo var/pspsim-keys; else echo var/secrets; fi; }
ATK28_SECRETS=(psp-stripe-key psp-stripe-webhook-secret psp-adyen-key psp-adyen-hmac)

t_attack_28_psp_secrets_not_in_vault_files() {
  local d f v hit
  d=$(atk28_psp_dir)
  for f in "${ATK28_SECRETS[@]}"; do
    v=$(head -n1 "$d/$f" 2>/dev/null)
    [ -n "$v" ] || { fail "the PSP's copy of $f is missing"; continue; }
    # What vaultd is configured with and what its secrets directory holds.
    hit=$(grep -rlF -- "$v" var/secrets var/etc/vaultd.json 2>/dev/null | head -n1)
    [ -z "$hit" ] || fail "platform secret $f in clear in a copy of $hit: ${v:0:12}..."
  done
  hit=$(jq -r 'keys[] | select(test("^psp_(stripe|adyen)_.*(key|secret)_file$"))' var/etc/vaultd.json | head -n1)
  [ -z "$hit" ] || fail "vaultd's configuration names a plaintext PSP secret file: $hit"
}

t_attack_28_psp_sealed_blob_useless() {
  local d f v rows dump
  d=$(atk28_psp_dir)
  rows=$(pg -d vault -At -c "SELECT count(*) FROM psp_platform_secrets" 2>/dev/null)
  eq "sealed platform secrets in the vault database" "$rows" 4
  dump=$TMP/atk28-vault.dump
  "$PGBIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres vault > "$dump" 2>/dev/null || fail "pg_dump vault"
  for f in "${ATK28_SECRETS[@]}"; do
    v=$(head -n1 "$d/$f" 2>/dev/null)
    [ -n "$v" ] || continue
    ! grep -qF -- "$v" "$dump" || fail "$f in clear in a dump of the vault database"
    ! grep -qiF -- "$(printf '%s' "$v" | od -An -tx1 | tr -d ' \n')" "$dump" || fail "$f hex-encoded in a dump"
  done
  rm -f "$dump"
}

t_attack_28_psp_load_needs_dual_control() {
  local d new rc before after tr
  d=$(atk28_psp_dir)
  new=$TMP/atk28-new-key; (umask 077; echo "sk_test_mallory_$RANDOM$RANDOM$RANDOM" > "$new")
  tr=var/ceremony/transcript.jsonl
  before=$(wc -l < "$tr")
  # One custodian only (the attacker's own passphrase file), no terminal.
  "$SR_BIN/vaultctl" --config var/etc/vaultd.json --secret dev-a=var/secrets/custodian-dev-a \
    psp load stripe api_key "$new" </dev/null >"$TMP/atk28.out" 2>&1; rc=$?
  eq "psp load with one custodian: exit status (4 refused)" "$rc" 4
  # The same custodian twice is still one person.
  "$SR_BIN/vaultctl" --config var/etc/vaultd.json --secret dev-a=var/secrets/custodian-dev-a \
    --secret dev-a=var/secrets/custodian-dev-a psp load stripe api_key "$new" </dev/null >>"$TMP/atk28.out" 2>&1; rc=$?
  eq "psp load with one custodian twice: exit status (4 refused)" "$rc" 4
  ! grep -qF -- "$(cat "$new")" "$TMP/atk28.out" "$tr" || fail "the submitted value echoed"
  "$SR_BIN/vaultctl" --config var/etc/vaultd.json psp list >"$TMP/atk28.list" 2>&1 || fail "psp list"
  eq "stripe api_key after the refused loads (last4)" \
    "$(jq -r 'select(.connector=="stripe" and .name=="api_key") | .last4' "$TMP/atk28.list" 2>/dev/null)" \
    "$(head -n1 "$d/psp-stripe-key" | tail -c 5)"
  # Two custodians reload the platform's real key: done and recorded, no value.
  "$SR_BIN/vaultctl" --config var/etc/vaultd.json --secret dev-a=var/secrets/custodian-dev-a \
    --secret dev-b=var/secrets/custodian-dev-b psp load stripe api_key "$d/psp-stripe-key" </dev/null \
    >"$TMP/atk28.out" 2>&1 || fail "psp load with two custodians: $(tail -n1 "$TMP/atk28.out")"
  after=$(tail -n +"$((before + 1))" "$tr")
  grep -q '"psp-secret-load-refused"\|"dual-control-refused"\|refused' <<<"$after" || fail "the refused loads are not in the transcript"
  grep -q '"psp-secret-loaded"' <<<"$after" || fail "the load is not in the transcript"
  ! grep -qF -- "$(head -n1 "$d/psp-stripe-key")" <<<"$after" || fail "the transcript holds the key"
  rm -f "$new"
}

t_attack_28_psp_file_setting_refused() {
  local f=$TMP/atk28-vaultd.json out
  jq '.psp_stripe_api_key_file = "var/pspsim-keys/psp-stripe-key"' var/etc/vaultd.json > "$f"
  out=$("$SR_BIN/vaultd" --check-config "$f" 2>&1) && fail "vaultd accepted psp_stripe_api_key_file"
  grep -q "psp_stripe_api_key_file.*is removed.*vaultctl --config $f psp load stripe api_key FILE" <<<"$out" \
    || fail "the refusal does not name the command: $out"
  ! grep -qF -- "$(head -n1 "$(atk28_psp_dir)/psp-stripe-key")" <<<"$out" || fail "the refusal echoes the key"
  rm -f "$f"
}
