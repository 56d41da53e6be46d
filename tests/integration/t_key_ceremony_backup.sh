# Integration tests of split-knowledge backup and restore (issue 7, ADR 0073):
# the real vaultctl binary against SoftHSM2 tokens of their own (token A, the
# original; fresh tokens B and C), never the stack's token. Custodian
# credentials come from mode-0600 input files as in t_ceremony.sh. That a
# restored token decrypts the original's ciphertexts is tested with hsm.h in
# tests/unit/test_hsm_backup.c; here the KCVs of the restored keys must equal
# the originals'.
# Sourced by run.sh; every t_* function is a test.

# backup_env: token A with three backup-capable data keys made under dual
# control, three custodians, and fresh tokens B and C (each with its own
# transcript signer). Sets BK (directory), VA, VB, VCC (vaultctl per token).
backup_env() {
  BK=$TMP/keybackup; rm -rf "$BK"; mkdir -p "$BK/comp" "$BK/comp-b"; chmod 700 "$BK" "$BK/comp" "$BK/comp-b"
  local x
  for x in a b c; do
    mkdir -p "$BK/$x/tokens"
    printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$BK/$x" > "$BK/$x/softhsm2.conf"
  done
  (umask 077; echo "bk-user-pin-6612" > "$BK/pin"; echo "bk-so-pin-9127" > "$BK/so-pin"
   printf 'alice\nalice horse battery 1\n' > "$BK/in-alice"
   printf 'bob\nbob staple correct 22\n' > "$BK/in-bob"
   printf 'carol\ncarol lamp river 333\n' > "$BK/in-carol"
   printf 'carol\nnot carols passphrase\n' > "$BK/in-carol-wrong"
   cat "$BK/in-alice" "$BK/in-bob" > "$BK/in-ab"
   cat "$BK/in-alice" "$BK/in-bob" "$BK/in-carol" > "$BK/in-abc"
   cat "$BK/in-carol" "$BK/in-bob" > "$BK/in-cb"
   cat "$BK/in-bob" "$BK/in-carol-wrong" > "$BK/in-b-cwrong")
  bk_vc() { local t=$1; shift; env SOFTHSM2_CONF="$BK/$t/softhsm2.conf" "$SR_BIN/vaultctl" --label "bk-$t" \
    --pin-file "$BK/pin" --so-pin-file "$BK/so-pin" --transcript "$BK/$t/transcript.jsonl" \
    --custodians "$BK/custodians.json" --pubkey "$BK/$t/signer.pem" --master master-one "$@"; }
  for x in a b c; do
    bk_vc $x init-token >/dev/null && bk_vc $x ceremony init >/dev/null || { fail "token $x"; return 1; }
  done
  for x in alice bob carol; do
    bk_vc a --custodian-input "$BK/in-$x" custodian add $x >/dev/null || { fail "add $x"; return 1; }
  done
  for x in pan-enc-v1 fp-hmac-v1 audit-hmac-v1; do
    bk_vc a --custodian-input "$BK/in-ab" --wrappable keys generate $x >/dev/null || { fail "generate $x"; return 1; }
  done
}

# KCV of LABEL on token T ("" when absent).
bk_kcv() { bk_vc "$1" keys kcv "$2" 2>/dev/null | sed -n 's/.* kcv=\([0-9A-F]\{6\}\)$/\1/p'; }

t_key_backup_m_of_n_restore() {
  backup_env || return
  local out rc k
  out=$(bk_vc a --custodian-input "$BK/in-abc" keys backup --quorum 2 --holders 3 --out "$BK/backup.json" --component-dir "$BK/comp" 2>&1); rc=$?
  eq "backup" "$rc" 0
  # The backup file: labels, key types, versions, KCVs; 3 sets of wrapped keys.
  eq "sets" "$(jq '.sets | length' "$BK/backup.json")" 3
  eq "m" "$(jq .m "$BK/backup.json")" 2
  eq "mechanism" "$(jq -r .wrap_mechanism "$BK/backup.json")" "CKM_AES_KEY_WRAP_PAD (RFC 5649)"
  for k in pan-enc-v1 fp-hmac-v1 audit-hmac-v1; do
    eq "$k kcv in backup" "$(jq -r --arg l $k '.keys[] | select(.label == $l) | .kcv' "$BK/backup.json")" "$(bk_kcv a $k)"
  done
  eq "version" "$(jq -r '.keys[] | select(.label == "pan-enc-v1") | .version' "$BK/backup.json")" 1
  eq "key type" "$(jq -r '.keys[] | select(.label == "fp-hmac-v1") | .key_type' "$BK/backup.json")" CKK_GENERIC_SECRET
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
  eq "completed" "$(tail -n 1 "$BK/a/transcript.jsonl" | jq -r .action)" backup-completed
  [[ $(jq -r 'select(.action == "components-issued") | .what.components[0].kcv' "$BK/a/transcript.jsonl" | head -1) =~ ^[0-9A-F]{6}$ ]] || fail "component KCV not recorded"
  check "transcript A verifies" bk_vc a ceremony verify "$BK/a/transcript.jsonl"
  # An existing backup file is not overwritten.
  bk_vc a --custodian-input "$BK/in-abc" keys backup --quorum 2 --holders 3 --out "$BK/backup.json" --component-dir "$BK/comp2" >/dev/null 2>&1 && fail "backup overwrote a file"

  # M - 1 = one custodian: refused (exit 4), the fresh token stays empty.
  out=$(bk_vc c --custodian-input "$BK/in-bob" keys restore --in "$BK/backup.json" --component-dir "$BK/comp" 2>&1); rc=$?
  eq "M-1 restore" "$rc" 4
  grep -q "2 custodians needed" <<<"$out" || fail "M-1 message: $out"
  eq "M-1 no key" "$(bk_kcv c pan-enc-v1)" ""
  # Two custodians, one with a wrong passphrase: refused, not echoed.
  out=$(bk_vc c --custodian-input "$BK/in-b-cwrong" keys restore --in "$BK/backup.json" --component-dir "$BK/comp" 2>&1); rc=$?
  eq "wrong passphrase restore" "$rc" 4
  grep -q "not carols" <<<"$out" && fail "passphrase echoed"
  eq "refused no key" "$(bk_kcv c fp-hmac-v1)" ""
  jq -r .action "$BK/c/transcript.jsonl" | grep -q -e quorum-refused || fail "M-1 refusal not recorded"

  # M = 2 custodians (carol, bob): restored into fresh token B, same KCVs.
  out=$(bk_vc b --custodian-input "$BK/in-cb" keys restore --in "$BK/backup.json" --component-dir "$BK/comp" 2>&1); rc=$?
  eq "M restore" "$rc" 0
  for k in pan-enc-v1 fp-hmac-v1 audit-hmac-v1; do
    eq "$k restored kcv" "$(bk_kcv b $k)" "$(bk_kcv a $k)"
  done
  eq "key-restored lines" "$(jq -r .action "$BK/b/transcript.jsonl" | grep -c key-restored)" 3
  [[ $(tail -n 1 "$BK/b/transcript.jsonl" | jq -r .hsm_serial) =~ ^[0-9a-f]{16}$ ]] || fail "restore serial"
  check "transcript B verifies" bk_vc b ceremony verify "$BK/b/transcript.jsonl"
  check "restored keys list" bk_vc b keys list
  # B is no longer fresh: a second restore is refused.
  bk_vc b --custodian-input "$BK/in-cb" keys restore --in "$BK/backup.json" --component-dir "$BK/comp" >/dev/null 2>&1; eq "restore twice" "$?" 4
  # The restored, wrap-only keys can be backed up again from B.
  check "backup of B" bk_vc b --custodian-input "$BK/in-abc" keys backup --quorum 3 --holders 3 --out "$BK/backup-b.json" --component-dir "$BK/comp-b"
}

t_key_backup_refusals() {
  backup_env || return
  local out rc
  # Keys made by keys create are never extractable: backup refused, no file.
  bk_vc c keys create >/dev/null || fail "keys create"
  out=$(bk_vc c --custodian-input "$BK/in-abc" keys backup --quorum 2 --holders 3 --out "$BK/c.json" --component-dir "$BK/comp" 2>&1); rc=$?
  eq "non-extractable backup" "$rc" 1
  grep -q "not extractable" <<<"$out" || fail "message: $out"
  [ -e "$BK/c.json" ] && fail "backup file written"
  # Quorum parameters and usage.
  bk_vc a --custodian-input "$BK/in-abc" keys backup --quorum 1 --holders 3 --out "$BK/x.json" --component-dir "$BK/comp" >/dev/null 2>&1; eq "M=1" "$?" 2
  bk_vc a --custodian-input "$BK/in-abc" keys backup --quorum 3 --holders 2 --out "$BK/x.json" --component-dir "$BK/comp" >/dev/null 2>&1; eq "M>N" "$?" 2
  bk_vc a keys restore --component-dir "$BK/comp" >/dev/null 2>&1; eq "restore usage" "$?" 2
  # Fewer custodians authenticate than N: refused.
  bk_vc a --custodian-input "$BK/in-ab" keys backup --quorum 2 --holders 3 --out "$BK/x.json" --component-dir "$BK/comp" >/dev/null 2>&1; eq "N-1 at backup" "$?" 4
  [ -e "$BK/x.json" ] && fail "backup written without all custodians"
  # Not a backup file.
  echo '{"format":"other"}' > "$BK/bad.json"
  bk_vc b --custodian-input "$BK/in-cb" keys restore --in "$BK/bad.json" --component-dir "$BK/comp" >/dev/null 2>&1; eq "bad backup file" "$?" 1
}
