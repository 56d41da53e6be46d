# Integration tests of split-knowledge backup and restore (issue 7, ADR 0073):
# the real vaultctl binary against SoftHSM2 tokens of their own (token A, the
# original; fresh tokens B and C), never the stack's token. Custodian
# credentials come from one mode-0600 file per custodian, as in t_ceremony.sh. That a
# restored token decrypts the original's ciphertexts is tested with hsm.h in
# tests/unit/test_hsm_backup.c; here the KCVs of the restored keys must equal
# the originals'.
# Sourced by run.sh; every t_* function is a test.

# backup_env: token A with three backup-capable data keys made under dual
# control, and fresh tokens B and C (each with its own transcript signer and
# registry of the same three custodians). Sets BK (directory), bk_vc
# (vaultctl on token a, b or c) and IN_* (custodians' --secret options).
backup_env() {
  BK=$TMP/keybackup; rm -rf "$BK"; mkdir -p "$BK/comp" "$BK/comp-b"; chmod 700 "$BK" "$BK/comp" "$BK/comp-b"
  local x
  for x in a b c; do
    mkdir -p "$BK/$x/tokens"
    printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$BK/$x" > "$BK/$x/softhsm2.conf"
  done
  (umask 077; echo "bk-user-pin-6612" > "$BK/pin"; echo "bk-so-pin-9127" > "$BK/so-pin"
   echo 'alice horse battery 1' > "$BK/sec-alice"
   echo 'bob staple correct 22' > "$BK/sec-bob"
   echo 'carol lamp river 333' > "$BK/sec-carol"
   echo 'not carols passphrase' > "$BK/sec-carol-wrong")
  # Each custodian's own secret file (ADR 0105), in the order they come forward.
  IN_bob=(--secret "bob=$BK/sec-bob")
  IN_ab=(--secret "alice=$BK/sec-alice" "${IN_bob[@]}")
  IN_abc=("${IN_ab[@]}" --secret "carol=$BK/sec-carol")
  IN_cb=(--secret "carol=$BK/sec-carol" "${IN_bob[@]}")
  IN_b_cwrong=("${IN_bob[@]}" --secret "carol=$BK/sec-carol-wrong")
  bk_vc() { local t=$1; shift; env SOFTHSM2_CONF="$BK/$t/softhsm2.conf" "$SR_BIN/vaultctl" --label "bk-$t" \
    --pin-file "$BK/pin" --so-pin-file "$BK/so-pin" --transcript "$BK/$t/transcript.jsonl" \
    --custodians "$BK/$t/custodians.json" --pubkey "$BK/$t/signer.pem" --master master-one "$@"; }
  # Every token is initialised by its SO with the same three custodians.
  for x in a b c; do
    bk_vc $x "${IN_abc[@]}" init-token alice bob carol >/dev/null && bk_vc $x ceremony init >/dev/null || { fail "token $x"; return 1; }
  done
  # The labels the stack's vault uses now (rotation moves them on), so that
  # a vaultd can run on the restored token.
  BK_PAN=$(pg -d vault -At -c "SELECT label FROM key_versions WHERE purpose = 'pan-enc' AND state = 'current'")
  BK_FP=$(pg -d vault -At -c "SELECT label FROM key_versions WHERE purpose = 'fp-hmac' AND state = 'current'")
  for x in "$BK_PAN" "$BK_FP" audit-hmac-v1; do
    bk_vc a "${IN_ab[@]}" --wrappable keys generate "$x" >/dev/null || { fail "generate $x"; return 1; }
  done
  BK_KEYS=("$BK_PAN" "$BK_FP" audit-hmac-v1)
}

# bk_vaultd CONF: run a second vaultd on token B with CONF until its public
# port answers (0) or it exits (1); BK_VPID is its pid.
bk_vaultd() {
  env SOFTHSM2_CONF="$BK/b/softhsm2.conf" "$SR_BIN/vaultd" --config "$1" > "$BK/vaultd.out" 2>&1 &
  BK_VPID=$!
  local i
  for ((i = 0; i < 80; i++)); do
    kill -0 "$BK_VPID" 2>/dev/null || return 1
    curl -s --cacert "$STRONGROOM_CA" -o /dev/null "https://localhost:$BK_PUB/" 2>/dev/null && return 0
    sleep 0.25
  done
  return 1
}

# KCV of LABEL on token T ("" when absent).
# bk_psp_load VAULTCTL-COMMAND...: the platform's PSP secrets (pspsim's
# copies) sealed under the keys of the token the command names (ADR 0120):
# vaultd opens them at start, and a row sealed by another token opens nowhere.
bk_psp_load() {
  local x c n f
  for x in stripe:api_key:psp-stripe-key stripe:webhook_secret:psp-stripe-webhook-secret \
           adyen:api_key:psp-adyen-key adyen:webhook_secret:psp-adyen-hmac; do
    IFS=: read -r c n f <<<"$x"
    "$@" psp load "$c" "$n" "var/pspsim-keys/$f" >/dev/null 2>&1 || return 1
  done
}

bk_kcv() { bk_vc "$1" keys kcv "$2" 2>/dev/null | sed -n 's/.* kcv=\([0-9A-F]\{6\}\)$/\1/p'; }

t_key_backup_m_of_n_restore() {
  backup_env || return
  local out rc k
  # A never-extractable key the ceremony does not name is left alone (ADR 0104).
  bk_vc a "${IN_ab[@]}" keys generate pan-enc-v900 >/dev/null || fail "generate a never-extractable key"
  out=$(bk_vc a "${IN_abc[@]}" keys backup --quorum 2 --holders 3 --out "$BK/backup.json" --component-dir "$BK/comp" "${BK_KEYS[@]}" 2>&1); rc=$?
  eq "backup" "$rc" 0
  eq "backed-up keys" "$(jq -r '[.keys[].label] | join(" ")' "$BK/backup.json")" "${BK_KEYS[*]}"
  eq "bits" "$(jq -r '[.keys[].bits] | unique | join(" ")' "$BK/backup.json")" 256
  eq "transport keys trusted" "$(jq -r 'select(.action == "transport-key-combined") | .what.trusted' "$BK/a/transcript.jsonl" | grep -c 'Security Officer')" 3
  # The backup file: labels, key types, versions, KCVs; 3 sets of wrapped keys.
  eq "sets" "$(jq '.sets | length' "$BK/backup.json")" 3
  eq "m" "$(jq .m "$BK/backup.json")" 2
  eq "mechanism" "$(jq -r .wrap_mechanism "$BK/backup.json")" "CKM_AES_KEY_WRAP_PAD (RFC 5649)"
  for k in "$BK_PAN" "$BK_FP" audit-hmac-v1; do
    eq "$k kcv in backup" "$(jq -r --arg l $k '.keys[] | select(.label == $l) | .kcv' "$BK/backup.json")" "$(bk_kcv a $k)"
  done
  eq "version" "$(jq -r --arg l "$BK_PAN" '.keys[] | select(.label == $l) | .version' "$BK/backup.json")" "${BK_PAN##*-v}"
  eq "key type" "$(jq -r --arg l "$BK_FP" '.keys[] | select(.label == $l) | .key_type' "$BK/backup.json")" CKK_GENERIC_SECRET
  # One component file per custodian, owner-only, sealed (no plain value).
  for k in alice bob carol; do
    eq "$k component mode" "$(stat -c %a "$BK/comp/component-$k.json")" 600
    eq "$k components" "$(jq '.components | length' "$BK/comp/component-$k.json")" 2
  done
  grep -q '"value"' "$BK"/comp/*.json && fail "plain component value in a component file"
  grep -q -e "horse battery" -e "staple correct" -e "lamp river" "$BK/backup.json" "$BK"/comp/*.json "$BK/a/transcript.jsonl" && fail "passphrase stored"
  # Every step is on the signed transcript, with KCVs and the HSM serial.
  eq "components-issued" "$(jq -r .action "$BK/a/transcript.jsonl" | grep -c components-issued)" 3
  eq "transport keys" "$(jq -r .action "$BK/a/transcript.jsonl" | grep -c transport-key-combined)" 3
  eq "exported" "$(jq -r .action "$BK/a/transcript.jsonl" | grep -c key-exported-wrapped)" 3
  eq "completed" "$(jq -r 'select(.action == "backup-completed" or .action == "backup-failed") | .action' "$BK/a/transcript.jsonl" | tail -n 1)" backup-completed   # keys kcv adds kcv-read lines after it (ADR 0117)
  [[ $(jq -r 'select(.action == "components-issued") | .what.components[0].kcv' "$BK/a/transcript.jsonl" | head -1) =~ ^[0-9A-F]{6}$ ]] || fail "component KCV not recorded"
  # Deliberately untimed: these rehearsals take no trusted time (ADR 0117; attack 17 does).
  check "transcript A verifies" bk_vc a ceremony verify "$BK/a/transcript.jsonl" --allow-untimed
  # An existing backup file is not overwritten.
  bk_vc a "${IN_abc[@]}" keys backup --quorum 2 --holders 3 --out "$BK/backup.json" --component-dir "$BK/comp2" "${BK_KEYS[@]}" >/dev/null 2>&1 && fail "backup overwrote a file"

  # M - 1 = one custodian: refused (exit 4), the fresh token stays empty.
  out=$(bk_vc c "${IN_bob[@]}" keys restore --in "$BK/backup.json" --component-dir "$BK/comp" 2>&1); rc=$?
  eq "M-1 restore" "$rc" 4
  grep -q "2 custodians needed" <<<"$out" || fail "M-1 message: $out"
  eq "M-1 no key" "$(bk_kcv c "$BK_PAN")" ""
  # Two custodians, one with a wrong passphrase: refused, not echoed.
  out=$(bk_vc c "${IN_b_cwrong[@]}" keys restore --in "$BK/backup.json" --component-dir "$BK/comp" 2>&1); rc=$?
  eq "wrong passphrase restore" "$rc" 4
  grep -q "not carols" <<<"$out" && fail "passphrase echoed"
  eq "refused no key" "$(bk_kcv c "$BK_FP")" ""
  jq -r .action "$BK/c/transcript.jsonl" | grep -q -e quorum-refused || fail "M-1 refusal not recorded"

  # M = 2 custodians (carol, bob): restored into fresh token B, same KCVs.
  out=$(bk_vc b "${IN_cb[@]}" keys restore --in "$BK/backup.json" --component-dir "$BK/comp" 2>&1); rc=$?
  eq "M restore" "$rc" 0
  for k in "$BK_PAN" "$BK_FP" audit-hmac-v1; do
    eq "$k restored kcv" "$(bk_kcv b "$k")" "$(bk_kcv a "$k")"
  done
  eq "key-restored lines" "$(jq -r .action "$BK/b/transcript.jsonl" | grep -c key-restored)" 3
  [[ $(tail -n 1 "$BK/b/transcript.jsonl" | jq -r .hsm_serial) =~ ^[0-9a-f]{16}$ ]] || fail "restore serial"
  check "transcript B verifies" bk_vc b ceremony verify "$BK/b/transcript.jsonl" --allow-untimed
  grep -q "^$BK_PAN kcv=[0-9A-F]\{6\} bits=256 extractable=1 wrap_with_trusted=1 restored$" <<<"$out" || fail "restored attributes: $out"
  eq "restored attributes recorded" "$(jq -r 'select(.action == "key-restored") | "\(.what.bits) \(.what.attributes.extractable) \(.what.attributes.wrap_with_trusted)"' "$BK/b/transcript.jsonl" | sort -u)" "256 true true"
  check "restored keys list" bk_vc b keys list
  # B is no longer fresh: a second restore is refused.
  bk_vc b "${IN_cb[@]}" keys restore --in "$BK/backup.json" --component-dir "$BK/comp" >/dev/null 2>&1; eq "restore twice" "$?" 4
  # A vaultd on the restored token: refused without hsm_keys_wrappable (the
  # keys are extractable-under-wrap), serves with it and tokenizes under the
  # restored keys. (Decryption of the original's ciphertexts by the restored
  # keys: test_restore_with_quorum_decrypts; no authorization here, which
  # would append to the stack's audit chain under another audit key.)
  local base cfg tok
  base=$(jq .public_port var/etc/vaultd.json); BK_PUB=$((base + 20))
  cfg=$BK/vaultd.json
  # The vault's TLS keys are never backed up (never extractable, ADR 0118):
  # the restored token gets TLS identities of its own (ceremony 07), here
  # certificates from the dev CA for keys made in token B.
  mkdir -p -m 0700 "$BK/pki"; cp -p var/pki/ca.crt var/pki/ca.key "$BK/pki/"
  env SOFTHSM2_CONF="$BK/b/softhsm2.conf" SR_VAULTCTL="$SR_BIN/vaultctl --label bk-b --pin-file $BK/pin --transcript $BK/b/transcript.jsonl --custodians $BK/b/custodians.json --pubkey $BK/b/signer.pem --master master-one" \
    scripts/pki.sh "$BK/pki" vault >/dev/null || fail "TLS identities for the restored token"
  jq --argjson p "$BK_PUB" --arg pin "$BK/pin" --arg pki "$BK/pki" '.public_port = $p | .internal_port = ($p + 1) | .admin_port = ($p + 2)
     | .hsm_token_label = "bk-b" | .hsm_pin_file = $pin | .tls_cert_public = "\($pki)/vault-public.crt"
     | .tls_cert_internal = "\($pki)/vault-internal.crt" | .psp_client_cert = "\($pki)/vault-egress.crt"' var/etc/vaultd.json > "$cfg"
  if bk_vaultd "$cfg"; then fail "vaultd started on extractable keys without hsm_keys_wrappable"; kill "$BK_VPID"; fi
  wait "$BK_VPID" 2>/dev/null
  grep -q "never extractable" "$BK/vaultd.out" || fail "vaultd refusal message: $(tail -n 2 "$BK/vaultd.out")"
  jq '.hsm_keys_wrappable = 1' "$cfg" > "$cfg.new" && mv "$cfg.new" "$cfg"
  # The stack's sealed PSP secrets do not open under B's keys (not the stack's):
  # B's custodians seal them under B for this vaultd, the stack's seal them back after.
  bk_vaultd "$cfg" && { fail "vaultd opened PSP secrets sealed by another token"; kill "$BK_VPID"; }
  wait "$BK_VPID" 2>/dev/null
  grep -q "stripe/api_key does not open" "$BK/vaultd.out" || fail "sealed secrets refusal: $(tail -n 2 "$BK/vaultd.out")"
  bk_psp_load bk_vc b --config "$cfg" "${IN_ab[@]}" || fail "psp load under B"
  if bk_vaultd "$cfg"; then
    http POST "https://localhost:$BK_PUB/v1/tokens" "$STRONGROOM_PK" \
      "{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":$EXP_YEAR,\"cvc\":\"123\"}}"
    eq "tokenize on the restored token" "$STATUS" 201; tok=$(j .id)
    eq "restored key version" "$(pg -d vault -At -c "SELECT key_version FROM tokens WHERE id = '$tok'")" "$BK_PAN"
    # Not the stack's key: remove the record again.
    pg -d vault -At -c "DELETE FROM tokens WHERE id = '$tok'" >/dev/null
    kill "$BK_VPID"; wait "$BK_VPID" 2>/dev/null
  else
    fail "vaultd on the restored token: $(tail -n 3 "$BK/vaultd.out")"
  fi
  bk_psp_load "$SR_BIN/vaultctl" --config var/etc/vaultd.json --secret dev-a=var/secrets/custodian-dev-a \
    --secret dev-b=var/secrets/custodian-dev-b || fail "the stack's PSP secrets sealed back"
  # The restored, wrap-only keys can be backed up again from B.
  check "backup of B" bk_vc b "${IN_abc[@]}" keys backup --quorum 3 --holders 3 --out "$BK/backup-b.json" --component-dir "$BK/comp-b" "${BK_KEYS[@]}"
  eq "B's restored keys measured" "$(jq -r '[.keys[].bits] | unique | join(" ")' "$BK/backup-b.json")" 256
}

t_key_backup_refusals() {
  backup_env || return
  local out rc
  # Keys made by keys create are never extractable: backup refused with the
  # key and the reason, no file; the refusal is on the transcript.
  bk_vc c keys create >/dev/null || fail "keys create"
  out=$(bk_vc c "${IN_abc[@]}" keys backup --quorum 2 --holders 3 --out "$BK/c.json" --component-dir "$BK/comp" pan-enc-v1 2>&1); rc=$?
  eq "non-extractable backup" "$rc" 1
  grep -q "'pan-enc-v1' is not CKA_EXTRACTABLE" <<<"$out" || fail "message: $out"
  [ -e "$BK/c.json" ] && fail "backup file written"
  jq -r 'select(.action == "backup-failed") | .what.reason' "$BK/c/transcript.jsonl" | grep -q "'pan-enc-v1' is not CKA_EXTRACTABLE" || fail "refusal not recorded"
  out=$(bk_vc a "${IN_abc[@]}" keys backup --quorum 2 --holders 3 --out "$BK/c.json" --component-dir "$BK/comp" fp-hmac-v99 2>&1); rc=$?
  eq "absent key backup" "$rc" 1
  grep -q "'fp-hmac-v99': no secret key with this label" <<<"$out" || fail "absent message: $out"
  # Quorum parameters and usage: keys must be named, as data key labels.
  bk_vc a "${IN_abc[@]}" keys backup --quorum 2 --holders 3 --out "$BK/x.json" --component-dir "$BK/comp" >/dev/null 2>&1; eq "no key named" "$?" 2
  bk_vc a "${IN_abc[@]}" keys backup --quorum 2 --holders 3 --out "$BK/x.json" --component-dir "$BK/comp" ceremony-sign-v1 >/dev/null 2>&1; eq "not a data key" "$?" 2
  bk_vc a "${IN_abc[@]}" keys backup --quorum 1 --holders 3 --out "$BK/x.json" --component-dir "$BK/comp" "${BK_KEYS[@]}" >/dev/null 2>&1; eq "M=1" "$?" 2
  bk_vc a "${IN_abc[@]}" keys backup --quorum 3 --holders 2 --out "$BK/x.json" --component-dir "$BK/comp" "${BK_KEYS[@]}" >/dev/null 2>&1; eq "M>N" "$?" 2
  bk_vc a keys restore --component-dir "$BK/comp" >/dev/null 2>&1; eq "restore usage" "$?" 2
  # Fewer custodians authenticate than N: refused.
  bk_vc a "${IN_ab[@]}" keys backup --quorum 2 --holders 3 --out "$BK/x.json" --component-dir "$BK/comp" "${BK_KEYS[@]}" >/dev/null 2>&1; eq "N-1 at backup" "$?" 4
  [ -e "$BK/x.json" ] && fail "backup written without all custodians"
  # Ceremony 5: a custodian leaves, authorised by two others, not by themself.
  bk_vc a "${IN_ab[@]}" custodian remove alice >/dev/null 2>&1; eq "leaving custodian authorises" "$?" 4
  bk_vc a "${IN_bob[@]}" custodian remove alice >/dev/null 2>&1; eq "remove with one custodian" "$?" 4
  check "remove alice" bk_vc a "${IN_cb[@]}" custodian remove alice
  bk_vc a "${IN_ab[@]}" --wrappable keys generate pan-enc-v77 >/dev/null 2>&1; eq "removed custodian refused" "$?" 4
  bk_vc a "${IN_cb[@]}" custodian remove bob >/dev/null 2>&1; eq "remove bob (no two others left)" "$?" 4
  eq "removal recorded" "$(jq -r .action "$BK/a/transcript.jsonl" | grep -c '^custodian-removed$')" 1
  check "transcript after removal" bk_vc a ceremony verify "$BK/a/transcript.jsonl" --allow-untimed
  # vaultd's switch takes 0 or 1 only.
  jq '.hsm_keys_wrappable = 2' var/etc/vaultd.json > "$BK/v2.json"
  out=$("$SR_BIN/vaultd" --config "$BK/v2.json" --check-config 2>&1) && fail "hsm_keys_wrappable 2 accepted"
  grep -q "hsm_keys_wrappable: must be 0 or 1" <<<"$out" || fail "hsm_keys_wrappable message: $out"
  # Not a backup file.
  echo '{"format":"other"}' > "$BK/bad.json"
  bk_vc b "${IN_cb[@]}" keys restore --in "$BK/bad.json" --component-dir "$BK/comp" >/dev/null 2>&1; eq "bad backup file" "$?" 1
}

# ---- online rotation (ADR 0074), on the running stack's token and database --

# The stack token's custodians (scripts/up.sh, ADR 0105): one, then two of them.
DEV_ONE=(--secret "dev-a=var/secrets/custodian-dev-a")
DEV_TWO=("${DEV_ONE[@]}" --secret "dev-b=var/secrets/custodian-dev-b")

# The load: tokenize + pay (authorize through the gateway) in a loop until
# $1/stop exists; one line per request "tokenize|pay STATUS" in $1/log.
rot_load() {
  local d=$1 tok st
  local c=(-sS --cacert "$STRONGROOM_CA" -o "$d/b" -w '%{http_code}' -H 'Content-Type: application/json')
  while [ ! -e "$d/stop" ]; do
    st=$(curl "${c[@]}" -H "Authorization: Bearer $STRONGROOM_PK" --data-binary \
      "{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":$EXP_YEAR,\"cvc\":\"123\"}}" \
      "$VAULT_URL/v1/tokens" 2>/dev/null) || st=000
    echo "tokenize $st" >> "$d/log"
    tok=$(jq -r .id "$d/b" 2>/dev/null)
    st=$(curl "${c[@]}" -H "Authorization: Bearer $STRONGROOM_SK" --data-binary \
      "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$tok\",\"capture_method\":\"automatic\"}" \
      "$GATEWAY_URL/v1/payments" 2>/dev/null) || st=000
    echo "pay $st" >> "$d/log"
    sleep 0.1
  done
}

t_rotation_online_under_load() {
  local R=$TMP/rotation out rc pan_old pan_new fp_old fp_new cus card n
  rm -rf "$R"; mkdir -p "$R/load"; chmod 700 "$R"
  RV=("$SR_BIN/vaultctl" --config var/etc/vaultd.json --transcript "$R/transcript.jsonl"
      --pubkey "$R/signer.pem" --master master-rot)
  "${RV[@]}" ceremony init >/dev/null || { fail "ceremony init on the stack token"; return; }
  cur() { pg -d vault -At -c "SELECT label FROM key_versions WHERE purpose = '$1' AND state = 'current'"; }
  pan_old=$(cur pan-enc); fp_old=$(cur fp-hmac)
  # A saved card before the rotation (deduplication must survive it).
  cus="cus_rot$(openssl rand -hex 4)"
  tokenize 4242424242424242
  http POST "$GATEWAY_URL/v1/customers/$cus/cards" "$STRONGROOM_SK" "{\"token\":\"$(j .id)\",\"deduplicate\":true}"
  eq "card before rotation" "$STATUS" 201; card=$(j .id)

  rot_load "$R/load" & local loadpid=$!
  sleep 2
  # One custodian: dual control refused, nothing rotates.
  "${RV[@]}" "${DEV_ONE[@]}" keys rotate pan-enc >/dev/null 2>&1; eq "rotate with one custodian" "$?" 4
  eq "still current" "$(cur pan-enc)" "$pan_old"
  out=$("${RV[@]}" "${DEV_TWO[@]}" keys rotate pan-enc 2>&1); rc=$?
  eq "rotate pan-enc" "$rc" 0
  pan_new=$(cur pan-enc); [ "$pan_new" != "$pan_old" ] || fail "pan-enc not rotated: $out"
  out=$("${RV[@]}" "${DEV_TWO[@]}" keys rotate fp-hmac 2>&1) || fail "rotate fp-hmac: $out"
  fp_new=$(cur fp-hmac)
  sleep 2
  # New tokens are encrypted under the new version at once (within 1 s).
  tokenize 4242424242424242; eq "tokenize after rotation" "$STATUS" 201
  eq "new token's version" "$(pg -d vault -At -c "SELECT key_version || ' ' || fp_version FROM tokens WHERE id = '$(j .id)'")" "$pan_new $fp_new"
  # Deduplication across the fingerprint rotation, before re-encryption.
  http POST "$GATEWAY_URL/v1/customers/$cus/cards" "$STRONGROOM_SK" "{\"token\":\"$(j .id)\",\"deduplicate\":true}"
  eq "dedup across fp rotation" "$STATUS" 200; eq "same card" "$(j .id)" "$card"
  # Retiring the old version while records use it: refused.
  out=$("${RV[@]}" "${DEV_TWO[@]}" keys retire "$pan_old" 2>&1); rc=$?
  eq "retire in use" "$rc" 4; grep -q "records still use" <<<"$out" || fail "retire message: $out"
  "${RV[@]}" "${DEV_TWO[@]}" keys retire "$pan_new" >/dev/null 2>&1; eq "retire current" "$?" 4
  "$SR_BIN/vaultctl" keys kcv "$pan_old" >/dev/null 2>&1 || fail "old key gone after a refused retire"
  # Re-encryption under load, with progress.
  out=$("${RV[@]}" keys reencrypt --batch 50 2>&1); rc=$?
  eq "reencrypt" "$rc" 0
  grep -q "^progress: " <<<"$out" || fail "no progress shown: $out"
  grep -q "none left on older versions" <<<"$out" || fail "reencrypt: $out"
  sleep 1
  touch "$R/load/stop"; wait "$loadpid"
  n=$(grep -c . "$R/load/log")
  [ "$n" -ge 20 ] || fail "too little load: $n requests"
  eq "failed requests under rotation" "$(grep -v -e '^tokenize 201$' -e '^pay 201$' "$R/load/log" | sort | uniq -c | tr -s ' ')" ""
  # No record left on the old versions before retirement.
  eq "records on $pan_old" "$(pg -d vault -At -c "SELECT count(*) FROM tokens WHERE key_version = '$pan_old' OR fp_version = '$fp_old'")" 0
  # Dedup after re-encryption too.
  tokenize 4242424242424242
  http POST "$GATEWAY_URL/v1/customers/$cus/cards" "$STRONGROOM_SK" "{\"token\":\"$(j .id)\",\"deduplicate\":true}"
  eq "dedup after reencrypt" "$STATUS" 200; eq "same card after" "$(j .id)" "$card"
  # The saved card (re-encrypted) still pays; tokens did not change.
  pay "$card"; eq "pay with re-encrypted card" "$STATUS" 201
  # Retire: one custodian refused; two destroy the key.
  "${RV[@]}" "${DEV_ONE[@]}" keys retire "$pan_old" >/dev/null 2>&1; eq "retire one custodian" "$?" 4
  out=$("${RV[@]}" "${DEV_TWO[@]}" keys retire "$pan_old" 2>&1) || fail "retire $pan_old: $out"
  out=$("${RV[@]}" "${DEV_TWO[@]}" keys retire "$fp_old" 2>&1) || fail "retire $fp_old: $out"
  "$SR_BIN/vaultctl" keys kcv "$pan_old" >/dev/null 2>&1 && fail "$pan_old still on the token"
  eq "state" "$(pg -d vault -At -c "SELECT state FROM key_versions WHERE label = '$pan_old'")" retired
  tokenize 4242424242424242; pay "$(j .id)"; eq "pay after retirement" "$STATUS" 201
  # Every re-encryption's decryption is in the audit chain, which verifies.
  [ "$(pg -d vault -At -c "SELECT count(*) FROM pan_audit WHERE purpose = 'reencrypt'")" -gt 0 ] || fail "re-encryption not audited"
  check "audit chain intact" "$SR_BIN/vaultctl" --config var/etc/vaultd.json audit verify
  check "rotation transcript verifies" "${RV[@]}" ceremony verify "$R/transcript.jsonl" --allow-untimed
  for a in rotation-requested key-made-current reencrypt-finished retire-refused key-destroyed; do
    jq -r .action "$R/transcript.jsonl" | grep -q "^$a$" || fail "transcript lacks $a"
  done
}
