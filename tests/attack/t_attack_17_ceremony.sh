# Attack 17 (issue 17, item 4; ADR 0117): a ceremony transcript a security
# team can sign. A scratch token runs a ceremony with a witness, a real RFC
# 3161 exchange with a throw-away TSA (openssl ts), bag numbers and evidence
# references, a backup; every field is checked, the head is anchored in the
# running gateway's audit chain, and two independent verifiers (vaultctl and
# hsm/ceremonies/verify_transcript.py) accept it and reject tampered copies:
# a changed field, a dropped line, a forged witness signature, a transcript
# re-signed from scratch by whoever holds the HSM (it misses the anchor).
# Sourced by tests/integration/run.sh.

A17_PY=(python3 "$ROOT/hsm/ceremonies/verify_transcript.py")

# a17_tsa DIR: a CA and a TSA certificate (EKU timeStamping) and the openssl ts configuration.
a17_tsa() {   # a17_tsa DIR [DAYS]
  local d=$1 days=${2:-2}
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" -subj "/CN=A17 TSA CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null || return 1
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=A17 TSA" \
    -keyout "$d/tsa.key" -out "$d/tsa.csr" 2>/dev/null || return 1
  printf 'extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n' > "$d/ext"
  openssl x509 -req -in "$d/tsa.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days "$days" \
    -extfile "$d/ext" -out "$d/tsa.crt" 2>/dev/null || return 1
  echo 01 > "$d/serial"
  printf '[tsa]\ndefault_tsa = t\n[t]\nserial = %s/serial\nsigner_cert = %s/tsa.crt\nsigner_key = %s/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.3.6.1.4.1.99999.1\ndigests = sha256\naccuracy = secs:1\ness_cert_id_chain = no\ness_cert_id_alg = sha256\ncerts = %s/tsa.crt\n' \
    "$d" "$d" "$d" "$d" > "$d/ts.cnf"
}

# a17_env: the ceremony, once per run; sets A17 (directory), A17_T (transcript), A17_V (vaultctl).
a17_env() {
  [ -n "${A17_READY:-}" ] && return 0
  A17=$TMP/a17; rm -rf "$A17"; mkdir -p "$A17/tokens" "$A17/comp" "$A17/tsa"; chmod 700 "$A17"
  A17_T=$A17/transcript.jsonl
  printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$A17" > "$A17/softhsm2.conf"
  (umask 077; echo "a17-user-pin-5521" > "$A17/pin"; echo "a17-so-pin-7781" > "$A17/so-pin"
   echo 'alice horse battery 1' > "$A17/sec-alice"; echo 'bob staple correct 22' > "$A17/sec-bob"
   echo 'wendy watches closely 3' > "$A17/sec-wendy")
  A17_V=(env SOFTHSM2_CONF="$A17/softhsm2.conf" "$SR_BIN/vaultctl" --label a17 --pin-file "$A17/pin"
         --so-pin-file "$A17/so-pin" --transcript "$A17_T" --custodians "$A17/custodians.json"
         --pubkey "$A17/signer.pem" --master master-one)
  local two=(--secret "alice=$A17/sec-alice" --secret "bob=$A17/sec-bob") w=(--witness "wendy=$A17/sec-wendy")
  local ev=(--bag TEB-000123 --bag TEB-000124 --evidence video=cam-2/2026-12-07 --evidence room-access=badge-log-4411)
  a17_tsa "$A17/tsa" || { echo "    attack 17: TSA setup failed"; return 1; }
  "${A17_V[@]}" "${two[@]}" "${ev[@]}" init-token alice bob >/dev/null \
    && "${A17_V[@]}" "${two[@]}" "${w[@]}" witness add wendy >/dev/null \
    && "${A17_V[@]}" "${w[@]}" "${ev[@]}" keys create >/dev/null \
    && "${A17_V[@]}" "${w[@]}" keys list >/dev/null \
    && "${A17_V[@]}" "${w[@]}" keys kcv pan-enc-v1 >/dev/null \
    && "${A17_V[@]}" ceremony time-query --out "$A17/q.tsq" >/dev/null \
    && openssl ts -reply -config "$A17/tsa/ts.cnf" -queryfile "$A17/q.tsq" -out "$A17/r.tsr" 2>/dev/null \
    && "${A17_V[@]}" "${w[@]}" ceremony timestamp --tsa "A17 TSA" --tsa-ca "$A17/tsa/ca.crt" \
         --query "$A17/q.tsq" --reply "$A17/r.tsr" >/dev/null \
    && "${A17_V[@]}" "${w[@]}" ceremony clock --reading "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --clock "GPS clock, room 4" >/dev/null \
    && "${A17_V[@]}" "${w[@]}" "${two[@]}" "${ev[@]}" keys generate --wrappable pan-enc-v2 >/dev/null \
    && "${A17_V[@]}" "${w[@]}" "${two[@]}" "${ev[@]}" keys backup --quorum 2 --holders 2 \
         --out "$A17/backup.json" --component-dir "$A17/comp" pan-enc-v2 >/dev/null \
    && a17_stamp "$A17_T" "${w[@]}" \
    || { echo "    attack 17: the ceremony could not run (witness, time stamp, evidence or backup missing)"; return 1; }
  A17_READY=1
}

# a17_stamp TRANSCRIPT [OPTION...]: the ceremony's closing trusted time, an RFC 3161
# time stamp from the throw-away TSA over TRANSCRIPT's head (OPTIONs: --witness ...).
a17_stamp() {
  local t=$1; shift
  "${A17_V[@]}" --transcript "$t" ceremony time-query --out "$A17/q2.tsq" >/dev/null \
    && openssl ts -reply -config "$A17/tsa/ts.cnf" -queryfile "$A17/q2.tsq" -out "$A17/r2.tsr" 2>/dev/null \
    && "${A17_V[@]}" --transcript "$t" "$@" ceremony timestamp --tsa "A17 TSA" --tsa-ca "$A17/tsa/ca.crt" \
         --query "$A17/q2.tsq" --reply "$A17/r2.tsr" >/dev/null
}

# a17_both FILE PUBKEY [--anchor HEX]: runs both verifiers; sets A17_RC_C, A17_RC_PY, A17_OUT.
a17_both() {
  local f=$1 pk=$2; shift 2
  A17_OUT=$("$SR_BIN/vaultctl" ceremony verify "$f" --pubkey "$pk" --tsa-ca "$A17/tsa/ca.crt" "$@" 2>&1); A17_RC_C=$?
  A17_OUT+=$'\n'$("${A17_PY[@]}" "$f" --pubkey "$pk" --tsa-ca "$A17/tsa/ca.crt" "$@" 2>&1); A17_RC_PY=$?
}

# a17_forge IN OUT PYTHON-EDIT: what a holder of the HSM user PIN can do: apply
# the edit (python statements on `lines`, a list of dicts), then re-chain and
# re-sign with the token's own ceremony-sign-v1 (pkcs11-tool, CKM_ECDSA over
# the SHA-256) every line from the first one the edit changed.
a17_forge() {
  A17_SIGN=(env SOFTHSM2_CONF="$A17/softhsm2.conf" pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so
            --token-label a17 --login --pin "$(cat "$A17/pin")" --sign --mechanism ECDSA --label ceremony-sign-v1)
  python3 - "$1" "$2" "$3" "$A17" "${A17_SIGN[@]}" <<'EOF2'
import copy, hashlib, json, subprocess, sys
src, dst, edit, work = sys.argv[1:5]
sign = sys.argv[5:]
lines = [json.loads(l) for l in open(src, encoding="utf-8")]
orig = copy.deepcopy(lines)
exec(edit)
canon = lambda o: json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
first = next((i for i, o in enumerate(lines) if i >= len(orig) or o != orig[i]), len(lines))
prev, out = "0" * 64, []
for n, o in enumerate(lines, 1):
    if n - 1 >= first:
        o.pop("sig", None); o["seq"] = n; o["prev"] = prev
        open(work + "/digest.bin", "wb").write(hashlib.sha256(canon(o)).digest())
        subprocess.run(sign + ["-i", work + "/digest.bin", "-o", work + "/sig.bin"],
                       check=True, capture_output=True)
        o["sig"] = open(work + "/sig.bin", "rb").read().hex()
    b = canon(o); out.append(b); prev = hashlib.sha256(b).hexdigest()
open(dst, "wb").write(b"".join(x + b"\n" for x in out))
EOF2
}

t_attack_17_ceremony_fields() {
  a17_env || { fail "ceremony setup"; return; }
  local T=$A17_T
  # Roles: a witness enrolled, attesting lines; its enrolment attested by itself.
  eq "witness enrolled" "$(jq -r 'select(.action=="witness-enrolled") | .what.name' "$T")" wendy
  eq "enrolment self-attested" "$(jq -r 'select(.action=="witness-enrolled") | .witnesses[0].name' "$T")" wendy
  [ "$(jq -r 'select(.witnesses) | .seq' "$T" | wc -l)" -ge 10 ] || fail "fewer than 10 attested lines"
  eq "witness clock reading by the witness" "$(jq -r 'select(.what.source=="witness-clock-reading") | "\(.role) \(.who)"' "$T")" "witness wendy"
  # Trusted time from the TSA the ceremony names.
  # ... at the start (after the keys) and as the ceremony's last line.
  eq "tsa named" "$(jq -r 'select(.what.source=="rfc3161") | .what.tsa' "$T" | sort | uniq -c | sed 's/^ *//')" "2 A17 TSA"
  eq "time stamps without genTime" "$(jq -r 'select(.what.source=="rfc3161") | .what.gen_time' "$T" | grep -cEv '^20[0-9-]{8}T[0-9:]{8}Z$')" 0
  # HSM identity, read from the token on every line.
  eq "lines without hsm identity" "$(jq -r 'select(.hsm.model == null or .hsm.serial == null or .hsm.firmware == null or .hsm.manufacturer == null) | .seq' "$T" | wc -l)" 0
  eq "hsm model" "$(tail -n 1 "$T" | jq -r .hsm.model)" "SoftHSM v2"
  # Bags and evidence references, signed.
  eq "bags" "$(jq -c 'select(.action=="backup-completed") | .evidence.bags' "$T")" '["TEB-000123","TEB-000124"]'
  eq "video" "$(jq -r 'select(.action=="backup-completed") | .evidence.video[0]' "$T")" cam-2/2026-12-07
  eq "room access" "$(jq -r 'select(.action=="backup-completed") | .evidence.room_access[0]' "$T")" badge-log-4411
  # Backup hashes, computed by vaultctl.
  eq "backup sha256" "$(jq -r 'select(.action=="backup-completed") | .what.backup_sha256' "$T")" "$(sha256sum < "$A17/backup.json" | cut -c1-64)"
  eq "component sha256" "$(jq -r 'select(.action=="components-issued" and .who=="alice") | .what.file_sha256' "$T")" "$(sha256sum < "$A17/comp/component-alice.json" | cut -c1-64)"
  # Every ceremony command is on the record.
  local a; for a in token-initialised keys-created keys-listed kcv-read witness-enrolled trusted-time key-generated backup-completed; do
    jq -s -e --arg a "$a" 'any(.[]; .action==$a)' "$T" >/dev/null || fail "no $a line"
  done
  eq "kcv recorded" "$(jq -r 'select(.action=="kcv-read") | .what.label' "$T")" pan-enc-v1
}

t_attack_17_ceremony_anchored_two_verifiers() {
  a17_env || { fail "ceremony setup"; return; }
  local head n out
  out=$("$SR_BIN/vaultctl" ceremony verify "$A17_T" --pubkey "$A17/signer.pem" --tsa-ca "$A17/tsa/ca.crt"); eq "vaultctl verify" "$?" 0
  head=$(sed -n 's/^paper record: transcript head \([0-9a-f]\{64\}\) after \([0-9]*\) lines$/\1/p' <<<"$out")
  n=$(sed -n 's/^paper record: transcript head [0-9a-f]\{64\} after \([0-9]*\) lines$/\1/p' <<<"$out")
  [ -n "$head" ] && [ -n "$n" ] || { fail "no head for the paper record: $out"; return; }
  # Anchored from the application host in the gateway's audit chain.
  check "anchor" "$SR_BIN/gatewayctl" --config var/etc/gatewayd.json audit anchor --transcript-head "$head" --lines "$n"
  eq "anchor listed" "$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json audit anchors | jq -r --arg h "$head" '[.[] | select(.transcript_head==$h)][0].lines')" "$n"
  check "gateway chain intact" "$SR_BIN/gatewayctl" --config var/etc/gatewayd.json audit verify
  "$SR_BIN/gatewayctl" --config var/etc/gatewayd.json audit anchor --transcript-head "${head^^}" --lines "$n" >/dev/null 2>&1 && fail "upper-case head accepted"
  # Both verifiers, the public key and the TSA's CA only, the anchored head required.
  a17_both "$A17_T" "$A17/signer.pem" --anchor "$head"
  eq "C verifier" "$A17_RC_C" 0; eq "Python verifier" "$A17_RC_PY" 0
  [ "$(grep -c "anchored head found at line $n" <<<"$A17_OUT")" = 2 ] || fail "anchor not found by both: $A17_OUT"
  grep -q "2 RFC 3161 time stamps (TSA signatures checked); 1 witness clock readings" <<<"$A17_OUT" || fail "C counts: $A17_OUT"
}

t_attack_17_ceremony_tampered() {
  a17_env || { fail "ceremony setup"; return; }
  local T=$A17_T d=$A17/tamper pk=$A17/signer.pem n
  mkdir -p "$d"; n=$(jq -r 'select(.action=="backup-completed") | .seq' "$T")
  # A changed field (a bag number), not re-signed: the HSM's signature fails.
  sed "${n}s/TEB-000123/TEB-000999/" "$T" > "$d/field"
  a17_both "$d/field" "$pk"
  eq "field: C" "$A17_RC_C" 3; eq "field: Python" "$A17_RC_PY" 3
  [ "$(grep -c "BROKEN at line $n" <<<"$A17_OUT")" = 2 ] || fail "field: $A17_OUT"
  # A dropped line.
  sed '4d' "$T" > "$d/dropped"
  a17_both "$d/dropped" "$pk"
  eq "dropped: C" "$A17_RC_C" 3; eq "dropped: Python" "$A17_RC_PY" 3
  [ "$(grep -c "BROKEN at line 4" <<<"$A17_OUT")" = 2 ] || fail "dropped: $A17_OUT"
  # The PIN holder re-signs with the HSM: a witness signature that is wrong.
  a17_forge "$T" "$d/witness" \
    "w = lines[$n - 1]['witnesses'][0]; w['sig'] = ('0' if w['sig'][0] != '0' else '1') + w['sig'][1:]" || { fail "forge"; return; }
  a17_both "$d/witness" "$pk"
  eq "witness sig: C" "$A17_RC_C" 3; eq "witness sig: Python" "$A17_RC_PY" 3
  [ "$(grep -c "BROKEN at line $n: witness wendy's signature does not verify" <<<"$A17_OUT")" = 2 ] || fail "witness sig: $A17_OUT"
  # ... a bag number changed and the line re-signed: the witness's signature catches it.
  a17_forge "$T" "$d/bag" "lines[$n - 1]['evidence']['bags'][0] = 'TEB-000999'" || { fail "forge"; return; }
  a17_both "$d/bag" "$pk"
  eq "re-signed bag: C" "$A17_RC_C" 3; eq "re-signed bag: Python" "$A17_RC_PY" 3
  [ "$(grep -c "BROKEN at line $n: witness wendy" <<<"$A17_OUT")" = 2 ] || fail "re-signed bag: $A17_OUT"
  # ... a witness attestation added to a line the witness never saw.
  a17_forge "$T" "$d/added" "lines[1]['witnesses'] = lines[$n - 1]['witnesses']" || { fail "forge"; return; }
  a17_both "$d/added" "$pk"
  eq "added attestation: C" "$A17_RC_C" 3; eq "added attestation: Python" "$A17_RC_PY" 3
  # ... the time stamp moved one line earlier (its witness signature dropped): the TSA's token catches it.
  a17_forge "$T" "$d/time" "i = next(i for i, o in enumerate(lines) if o['what'].get('source') == 'rfc3161'); t = lines.pop(i); t.pop('witnesses'); lines.insert(i - 1, t)" || { fail "forge"; return; }
  a17_both "$d/time" "$pk"
  eq "moved time stamp: C" "$A17_RC_C" 3; eq "moved time stamp: Python" "$A17_RC_PY" 3
  [ "$(grep -c "time stamp" <<<"$A17_OUT")" = 2 ] || fail "moved time stamp: $A17_OUT"
  # ... moved and its stamped_head rewritten to match: the TSA's signed imprint still catches it.
  a17_forge "$T" "$d/time2" "i = next(i for i, o in enumerate(lines) if o['what'].get('source') == 'rfc3161'); t = lines.pop(i); t.pop('witnesses'); t['what']['stamped_head'] = lines[i - 1]['prev']; lines.insert(i - 1, t)" || { fail "forge"; return; }
  a17_both "$d/time2" "$pk"
  eq "re-headed time stamp: C" "$A17_RC_C" 3; eq "re-headed time stamp: Python" "$A17_RC_PY" 3
  [ "$(grep -c "BROKEN at line .*: time stamp: the TSA's token does not" <<<"$A17_OUT")" = 2 ] || fail "re-headed time stamp: $A17_OUT"
  # ... a whole new transcript without the witness and the time stamps: it verifies on its
  # own, but it misses the head anchored outside the vault host.
  a17_forge "$T" "$d/rewritten" "lines[:] = [o for o in lines if o['action'] not in ('witness-enrolled', 'trusted-time')]; [o.pop('witnesses', None) for o in lines]" || { fail "forge"; return; }
  # It has no trusted time left (ADR 0117: each ceremony's lines end with one): refused (exit 4).
  a17_both "$d/rewritten" "$pk"
  eq "rewritten alone: C" "$A17_RC_C" 4; eq "rewritten alone: Python" "$A17_RC_PY" 4
  # Told to accept untimed ceremonies, both verify its chain and say so.
  a17_both "$d/rewritten" "$pk" --allow-untimed
  eq "rewritten untimed: C" "$A17_RC_C" 0; eq "rewritten untimed: Python" "$A17_RC_PY" 0
  local head; head=$(tail -n 1 "$T" | tr -d '\n' | sha256sum | cut -c1-64)
  a17_both "$d/rewritten" "$pk" --anchor "$head"
  eq "rewritten vs anchor: C" "$A17_RC_C" 3; eq "rewritten vs anchor: Python" "$A17_RC_PY" 3
  [ "$(grep -c "anchored head is not the hash of any line" <<<"$A17_OUT")" = 2 ] || fail "anchor: $A17_OUT"
}

# Each ceremony ends with a trusted time (ADR 0117): a transcript whose last
# lines no trusted time follows is refused by both verifiers (exit 4) unless
# told --allow-untimed, which they print as a warning. Cases: the ceremony's
# closing time stamp cut off (a valid prefix of the chain), and a line the
# holder of the HSM user PIN appends after the ceremony closed.
t_attack_17_ceremony_untimed() {
  a17_env || { fail "ceremony setup"; return; }
  local T=$A17_T d=$A17/untimed pk=$A17/signer.pem n
  mkdir -p "$d"; n=$(wc -l < "$T")
  eq "the ceremony closes with a trusted time" "$(tail -n 1 "$T" | jq -r .action)" trusted-time
  head -n $((n - 1)) "$T" > "$d/cut"
  a17_both "$d/cut" "$pk"
  eq "cut: C" "$A17_RC_C" 4; eq "cut: Python" "$A17_RC_PY" 4
  [ "$(grep -c "no trusted time after line $((n - 1))" <<<"$A17_OUT")" = 2 ] || fail "cut: $A17_OUT"
  a17_both "$d/cut" "$pk" --allow-untimed
  eq "cut, allowed: C" "$A17_RC_C" 0; eq "cut, allowed: Python" "$A17_RC_PY" 0
  [ "$(grep -c "WARNING: lines [0-9]*-$((n - 1)) have no trusted time after them" <<<"$A17_OUT")" = 2 ] || fail "no warning: $A17_OUT"
  a17_forge "$T" "$d/appended" "o = copy.deepcopy(lines[-1]); o.pop('witnesses', None); o['action'] = 'key-destroyed'; o['what'] = {'label': 'pan-enc-v2'}; lines.append(o)" || { fail "forge"; return; }
  a17_both "$d/appended" "$pk"
  eq "appended: C" "$A17_RC_C" 4; eq "appended: Python" "$A17_RC_PY" 4
  [ "$(grep -c "no trusted time after line $((n + 1))" <<<"$A17_OUT")" = 2 ] || fail "appended: $A17_OUT"
}

# A person is custodian or witness, never both (ADR 0117): custodian add
# refuses an enrolled witness, witness add a custodian (exit 4, nothing
# changes); a wrong witness passphrase is a refusal (exit 4) and writes no line.
t_attack_17_ceremony_witness_not_custodian() {
  a17_env || { fail "ceremony setup"; return; }
  local x=$A17/x.jsonl reg
  cp "$A17_T" "$x"; reg=$(sha256sum < "$A17/custodians.json")
  (umask 077; echo 'not wendys passphrase 4' > "$A17/sec-bad")
  "${A17_V[@]}" --transcript "$x" --secret "wendy=$A17/sec-wendy" --secret "alice=$A17/sec-alice" \
    --secret "bob=$A17/sec-bob" custodian add wendy >/dev/null 2>&1
  eq "custodian add of a witness" "$?" 4
  eq "registry unchanged" "$(sha256sum < "$A17/custodians.json")" "$reg"
  "${A17_V[@]}" --transcript "$x" --secret "alice=$A17/sec-alice" --secret "bob=$A17/sec-bob" \
    --witness "alice=$A17/sec-alice" witness add alice >/dev/null 2>&1
  eq "witness add of a custodian" "$?" 4
  "${A17_V[@]}" --transcript "$x" --witness "wendy=$A17/sec-bad" keys list >/dev/null 2>&1
  eq "wrong witness passphrase" "$?" 4
  eq "no line written" "$(cmp "$A17_T" "$x" >/dev/null 2>&1; echo $?)" 0
}

# witness remove NAME (ADR 0117): under dual control, on the record; the
# removed witness attests nothing after it (vaultctl refuses them, exit 4)
# and a line they sign after their removal fails both verifiers.
t_attack_17_ceremony_witness_remove() {
  a17_env || { fail "ceremony setup"; return; }
  local W=$A17/wr.jsonl pk=$A17/signer.pem two=(--secret "alice=$A17/sec-alice" --secret "bob=$A17/sec-bob")
  cp "$A17_T" "$W"
  "${A17_V[@]}" --transcript "$W" --secret "alice=$A17/sec-alice" witness remove wendy >/dev/null 2>&1
  eq "one custodian" "$?" 4
  "${A17_V[@]}" --transcript "$W" "${two[@]}" witness remove nobody >/dev/null 2>&1
  eq "not a witness" "$?" 4
  "${A17_V[@]}" --transcript "$W" "${two[@]}" witness remove wendy >/dev/null 2>&1
  eq "witness remove" "$?" 0
  eq "removal recorded" "$(tail -n 1 "$W" | jq -c '[.action, .what.name, .what.custodians]')" '["witness-removed","wendy",["alice","bob"]]'
  "${A17_V[@]}" --transcript "$W" --witness "wendy=$A17/sec-wendy" keys list >/dev/null 2>&1
  eq "removed witness attests" "$?" 4
  a17_stamp "$W" || { fail "stamp"; return; }
  a17_both "$W" "$pk"
  eq "after removal: C" "$A17_RC_C" 0; eq "after removal: Python" "$A17_RC_PY" 0
  # Wendy, with her passphrase, and a PIN holder sign a line after her removal.
  a17_forge "$W" "$A17/wr-forged" "$(cat <<'EOF3'
import ctypes
na = ctypes.CDLL("libsodium.so.23"); na.sodium_init()
en = [o for o in lines if o['action'] == 'witness-enrolled' and o['what']['name'] == 'wendy'][-1]['what']
pw = open(work + '/sec-wendy', 'rb').read().rstrip(b'\n')
seed, pk, sk = ctypes.create_string_buffer(32), ctypes.create_string_buffer(32), ctypes.create_string_buffer(64)
assert na.crypto_pwhash(seed, ctypes.c_ulonglong(32), pw, ctypes.c_ulonglong(len(pw)), bytes.fromhex(en['salt']),
                        ctypes.c_ulonglong(na.crypto_pwhash_opslimit_interactive()),
                        ctypes.c_size_t(na.crypto_pwhash_memlimit_interactive()), 2) == 0
na.crypto_sign_seed_keypair(pk, sk, seed)
o = copy.deepcopy(lines[-1]); o.pop('witnesses', None); o.pop('sig', None); o['action'] = 'keys-listed'; o['what'] = {}
o['seq'] = len(lines) + 1; o['prev'] = hashlib.sha256(json.dumps(lines[-1], sort_keys=True, separators=(',', ':'), ensure_ascii=False).encode()).hexdigest()
m = b"strongroom/transcript-witness/v1\n" + json.dumps(o, sort_keys=True, separators=(',', ':'), ensure_ascii=False).encode()
sig = ctypes.create_string_buffer(64); na.crypto_sign_detached(sig, None, m, ctypes.c_ulonglong(len(m)), sk)
o['witnesses'] = [{'name': 'wendy', 'sig': sig.raw.hex()}]
lines.append(o)
EOF3
)" || { fail "forge"; return; }
  a17_both "$A17/wr-forged" "$pk" --allow-untimed
  eq "attested after removal: C" "$A17_RC_C" 3; eq "attested after removal: Python" "$A17_RC_PY" 3
  [ "$(grep -c "BROKEN at line $(($(wc -l < "$W") + 1)): attested by a witness who is not enrolled" <<<"$A17_OUT")" = 2 ] || fail "forged: $A17_OUT"
}
