# Attack suite, issue 15 item 2: dual control cannot be defeated by one
# person. The attacker holds the token's user PIN and nothing else: not the SO
# PIN, not a custodian's passphrase. He enrols two names of his own, then
# "authorises" key generation, a backup, a restore and the removal of a real
# custodian with them, and he hand-edits the custodians registry. Every step
# must be refused and none recorded as done. Each step is tried with the
# credential input of the original tool (one file of NAME/PASSPHRASE lines)
# and with one secret file per custodian (--secret NAME=FILE, ADR 0105).
# Sourced by tests/integration/run.sh; scratch tokens only, never the stack's.

# atk2_vc TOKEN ARGS...: vaultctl on the scratch token TOKEN (a, b or x).
atk2_vc() {
  local t=$1; shift
  env SOFTHSM2_CONF="$A2/$t/softhsm2.conf" "$SR_BIN/vaultctl" --label "atk2-$t" \
    --pin-file "$A2/pin" --so-pin-file "$A2/$t/so-pin" --transcript "$A2/$t/transcript.jsonl" \
    --custodians "$A2/$t/custodians.json" --pubkey "$A2/$t/signer.pem" --master master-one "$@"
}

# atk2_init TOKEN NAME...: the SO initialises TOKEN with its first custodians
# (the fixed tool); the original tool had no such step: init-token, then
# custodian add with the user PIN alone.
atk2_init() {
  local t=$1 x sec=(); shift
  for x in "$@"; do sec+=(--secret "$x=$A2/sec-$x"); done
  if ! atk2_vc "$t" "${sec[@]}" init-token "$@" >/dev/null 2>&1; then
    atk2_vc "$t" init-token >/dev/null 2>&1 && atk2_vc "$t" ceremony init >/dev/null 2>&1 || return 1
    for x in "$@"; do atk2_vc "$t" --custodian-input "$A2/in-$x" custodian add "$x" >/dev/null 2>&1 || return 1; done
  fi
  atk2_vc "$t" ceremony init >/dev/null 2>&1
}

# atk2_env: token A (alice, bob, carol, initialised by its SO) with the
# vault's keys; fresh token B for a restore; the attacker's own token X,
# whose SO he is, holding his names m1 and m2.
atk2_env() {
  A2=$TMP/attack2; rm -rf "$A2"; mkdir -p "$A2"; chmod 700 "$A2"
  local t x
  for t in a b x; do
    mkdir -p "$A2/$t/tokens" "$A2/$t/comp"; chmod 700 "$A2/$t" "$A2/$t/comp"
    printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$A2/$t" > "$A2/$t/softhsm2.conf"
    (umask 077; echo "atk2-so-pin-$t-$RANDOM$RANDOM" > "$A2/$t/so-pin")
  done
  (umask 077; echo "atk2-user-pin-4410" > "$A2/pin"
   for x in alice:'alice horse battery 1' bob:'bob staple correct 22' carol:'carol lamp river 333' \
            m1:'mallory one passphrase' m2:'mallory two passphrase'; do
     printf '%s\n' "${x#*:}" > "$A2/sec-${x%%:*}"
     printf '%s\n%s\n' "${x%%:*}" "${x#*:}" > "$A2/in-${x%%:*}"
   done
   cp "$A2/sec-m2" "$A2/sec-m2-copy"
   cat "$A2/in-m1" "$A2/in-m2" > "$A2/in-m1m2"
   cat "$A2/in-alice" "$A2/in-bob" > "$A2/in-ab")
  atk2_init a alice bob carol || { fail "token A setup"; return 1; }
  atk2_init b alice bob carol || { fail "token B setup"; return 1; }
  atk2_init x m1 m2 || { fail "the attacker's token X"; return 1; }
  cp "$A2/a/custodians.json" "$A2/registry-a.orig"
}

# atk2_done TOKEN: how many transcript lines record a custodian, key, backup
# or restore change as done.
atk2_done() {
  jq -r .action "$A2/$1/transcript.jsonl" 2>/dev/null |
    grep -c -x -e custodian-registered -e custodian-enrolled -e custodian-removed -e key-generated \
      -e backup-completed -e components-issued -e restore-completed -e key-restored
}

# atk2_refused WHAT TOKEN ARGS...: the command, run once with the original
# tool's single input file of m1 and m2 and once with one --secret per name,
# must fail both times, the second refused (exit 4).
atk2_refused() {
  local what=$1 t=$2 rc; shift 2
  atk2_vc "$t" --custodian-input "$A2/in-m1m2" "$@" >"$A2/out" 2>&1 && fail "$what (one input file): $(head -c 300 "$A2/out")"
  atk2_vc "$t" --secret m1="$A2/sec-m1" --secret m2="$A2/sec-m2" "$@" >"$A2/out" 2>&1; rc=$?
  [ $rc = 4 ] || fail "$what (--secret): exit $rc, not refused (4): $(head -c 300 "$A2/out")"
}

t_attack_2_pin_holder_alone() {
  atk2_env || return
  local da db t
  da=$(atk2_done a); db=$(atk2_done b)
  # He enrols two names of his own: the user PIN is all he has.
  for t in a b; do
    atk2_vc $t --custodian-input "$A2/in-m1" custodian add m1 >/dev/null 2>&1 && fail "m1 enrolled on $t with the user PIN alone (input file)"
    atk2_vc $t --custodian-input "$A2/in-m2" custodian add m2 >/dev/null 2>&1 && fail "m2 enrolled on $t with the user PIN alone (input file)"
    # With his own secret, m2's, and a guess at alice's.
    atk2_vc $t --secret m1="$A2/sec-m1" --secret m2="$A2/sec-m2" --secret alice="$A2/sec-m2-copy" custodian add m1 >/dev/null 2>&1
    eq "m1 enrolled on $t with --secret" "$?" 4
    atk2_vc $t --secret m2="$A2/sec-m2" --secret m1="$A2/sec-m1" --secret bob="$A2/sec-m2-copy" custodian add m2 >/dev/null 2>&1
    eq "m2 enrolled on $t with --secret" "$?" 4
  done
  # Then "dual control (m1, m2)" for everything.
  atk2_refused "generate under m1+m2" a keys generate --wrappable pan-enc-v9
  atk2_vc a keys kcv pan-enc-v9 >/dev/null 2>&1 && fail "pan-enc-v9 exists"
  atk2_refused "backup to m1+m2" a keys backup --quorum 2 --holders 2 --out "$A2/bk.json" --component-dir "$A2/a/comp" pan-enc-v1
  [ -e "$A2/bk.json" ] && fail "a backup file was written"
  ls "$A2/a/comp" | grep -q . && fail "component files were written"
  # Restore into the fresh token B: his own backup when he got one, else a
  # minimal backup file (the quorum comes first).
  [ -e "$A2/bk.json" ] || (umask 077; echo '{"m":2,"backup_id":"bk-atk2","keys":[],"sets":[]}' > "$A2/bk.json")
  atk2_refused "restore by m1+m2" b keys restore --in "$A2/bk.json" --component-dir "$A2/a/comp"
  atk2_refused "carol removed by m1+m2" a custodian remove carol
  eq "nothing done on A" "$(atk2_done a)" "$da"
  eq "nothing done on B" "$(atk2_done b)" "$db"
}

# atk2_edit JQ: the registry of token A, hand-edited with jq (--slurpfile f:
# the attacker's registry of token X).
atk2_edit() {
  jq --slurpfile f "$A2/x/custodians.json" "$1" "$A2/registry-a.orig" > "$A2/a/custodians.json.new" &&
    chmod 600 "$A2/a/custodians.json.new" && mv "$A2/a/custodians.json.new" "$A2/a/custodians.json"
}

t_attack_2_registry_edits() {
  atk2_env || return
  local da
  da=$(atk2_done a)
  # His m1 and m2 appended to the list of custodians.
  atk2_edit '.custodians += [$f[0].custodians[] | select(.name == "m1" or .name == "m2")]' || fail "edit"
  atk2_refused "generate with m1, m2 added by hand" a keys generate pan-enc-v9
  # A custodian (alice) removed by hand: the real bob and carol must then be refused too.
  atk2_edit '.custodians |= map(select(.name != "alice"))' || fail "edit"
  atk2_vc a --custodian-input "$A2/in-ab" keys generate pan-enc-v9 >/dev/null 2>&1 && fail "generate after alice was deleted by hand (input file)"
  atk2_vc a --secret bob="$A2/sec-bob" --secret carol="$A2/sec-carol" keys generate pan-enc-v9 >/dev/null 2>&1
  eq "generate with bob and carol on a registry edited by hand" "$?" 4
  # alice's verifier swapped for m1's: m1's passphrase then opens "alice".
  atk2_edit '.custodians |= map(if .name == "alice" then ($f[0].custodians[] | select(.name == "m1")) + {name: "alice"} else . end)' || fail "edit"
  (umask 077; printf 'alice\nmallory one passphrase\n' > "$A2/in-fake-alice"; cat "$A2/in-bob" >> "$A2/in-fake-alice")
  atk2_vc a --custodian-input "$A2/in-fake-alice" keys generate pan-enc-v9 >/dev/null 2>&1 && fail "generate with a swapped verifier (input file)"
  atk2_vc a --secret alice="$A2/sec-m1" --secret bob="$A2/sec-bob" keys generate pan-enc-v9 >/dev/null 2>&1
  eq "generate with a swapped verifier (--secret)" "$?" 4
  # The whole file replaced by his own token's registry.
  cp "$A2/x/custodians.json" "$A2/a/custodians.json"
  atk2_refused "generate with another token's registry" a keys generate pan-enc-v9
  atk2_vc a keys kcv pan-enc-v9 >/dev/null 2>&1 && fail "pan-enc-v9 exists"
  eq "nothing done on A" "$(atk2_done a)" "$da"
}

# The real quorum: enrols and removes custodians and authorises generation;
# what one custodian alone, the leaving one, one file of two secrets or an
# old copy of the registry try is refused.
t_attack_2_quorum_changes_custodians() {
  atk2_env || return
  local out rc
  (umask 077; echo 'dave river stone 4444' > "$A2/sec-dave"; cp "$A2/sec-alice" "$A2/sec-alice-copy"
   cat "$A2/sec-alice" "$A2/sec-bob" > "$A2/sec-two")
  # One custodian and the newcomer: refused.
  atk2_vc a --secret dave="$A2/sec-dave" --secret alice="$A2/sec-alice" custodian add dave >/dev/null 2>&1; eq "enrol with one custodian" "$?" 4
  # One file with two passphrases, the same file for two names: refused.
  atk2_vc a --secret alice="$A2/sec-two" --secret bob="$A2/sec-bob" keys generate pan-enc-v2 >/dev/null 2>&1; rc=$?
  [ $rc = 0 ] && fail "a secret file of two lines accepted"
  atk2_vc a --secret alice="$A2/sec-alice" --secret bob="$A2/sec-alice" keys generate pan-enc-v2 >/dev/null 2>&1; rc=$?
  [ $rc = 0 ] && fail "one file for two custodians accepted"
  check "no --custodian-input" test "$(atk2_vc a --custodian-input "$A2/in-ab" keys list >/dev/null 2>&1; echo $?)" = 2
  # alice and bob enrol dave; dave and carol generate a key.
  out=$(atk2_vc a --secret dave="$A2/sec-dave" --secret alice="$A2/sec-alice" --secret bob="$A2/sec-bob" custodian add dave 2>&1); rc=$?
  eq "enrol dave" "$rc" 0
  cp "$A2/a/custodians.json" "$A2/registry-a.dave"
  out=$(atk2_vc a --secret dave="$A2/sec-dave" --secret carol="$A2/sec-carol" keys generate pan-enc-v2 2>&1); rc=$?
  eq "dave and carol generate" "$rc" 0
  grep -q "dual control (dave, carol)" <<<"$out" || fail "generate: $out"
  # carol cannot authorise her own removal; alice and bob remove her.
  atk2_vc a --secret carol="$A2/sec-carol" --secret bob="$A2/sec-bob" custodian remove carol >/dev/null 2>&1; eq "self-removal" "$?" 4
  check "remove carol" atk2_vc a --secret alice="$A2/sec-alice" --secret bob="$A2/sec-bob" custodian remove carol
  atk2_vc a --secret dave="$A2/sec-dave" --secret carol="$A2/sec-carol" keys generate fp-hmac-v2 >/dev/null 2>&1; eq "removed carol refused" "$?" 4
  # The copy from before the removal (carol still in it): refused, the HSM holds the removal's anchor.
  cp "$A2/registry-a.dave" "$A2/a/custodians.json"
  atk2_vc a --secret dave="$A2/sec-dave" --secret carol="$A2/sec-carol" keys generate fp-hmac-v2 >/dev/null 2>&1; eq "rolled back registry" "$?" 4
  eq "enrolment and removal recorded" "$(jq -r .action "$A2/a/transcript.jsonl" | grep -c -x -e custodian-enrolled -e custodian-removed)" 2
  eq "one generation recorded" "$(jq -r .action "$A2/a/transcript.jsonl" | grep -c -x key-generated)" 1
  grep -q -e "horse battery" -e "river stone" "$A2/a/transcript.jsonl" "$A2/a/custodians.json" && fail "a passphrase stored"
  # Deliberately untimed: this attack takes no trusted time (ADR 0117; attack 17 does).
  check "transcript verifies" atk2_vc a ceremony verify "$A2/a/transcript.jsonl" --allow-untimed
}
