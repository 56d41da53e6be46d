# Attack suite, issue 28 items 1-3 (ADR 0118): a stolen file is worth
# nothing. The vault's TLS keys (listeners public and internal, egress
# client) exist only in the HSM: no key file is configured or present, a configuration naming one is
# refused, the keys cannot be read out of the token, and mutual TLS with
# the gateway works with no key file. Sourced by tests/integration/run.sh.

_attack28_p11() {   # pkcs11-tool on the stack's token, logged in (dev PIN file)
  pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label strongroom \
    --login --pin "$(cat var/secrets/hsm-user-pin)" "$@"
}

t_attack_28_check_config_refuses_a_key_file() {
  local f out k
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/a28.key" 2>/dev/null
  chmod 0600 "$TMP/a28.key"
  for k in tls_key_public tls_key_internal psp_client_key; do
    f=$TMP/a28-$k.json
    jq --arg k "$k" --arg v "$TMP/a28.key" '.[$k] = $v' var/etc/vaultd.json > "$f"
    out=$("$SR_BIN/vaultd" --check-config "$f" 2>&1) && fail "vaultd --check-config accepted $k"
    grep -q "$k" <<<"$out" || fail "$k: the refusal does not name the setting: $out"
    grep -q "PRIVATE" <<<"$out" && fail "$k: the refusal quotes the file"
  done
  "$SR_BIN/vaultd" --check-config var/etc/vaultd.json >/dev/null 2>&1 || fail "the stack's own configuration is refused"
}

t_attack_28_no_listener_key_file() {
  local p
  for p in var/pki/vault-public.key var/pki/vault-internal.key var/pki/vault-egress.key; do
    [ -e "$p" ] && fail "$p exists: a listener key of the vault is a file"
  done
  # Every file the vault's configuration names, and its secrets directory.
  for p in $(jq -r '.[] | strings' var/etc/vaultd.json) var/secrets/*; do
    [ -f "$p" ] || continue
    grep -q "PRIVATE KEY" "$p" && fail "$p holds a private key"
  done
  jq -e 'has("tls_key_public") or has("tls_key_internal") or has("psp_client_key")' var/etc/vaultd.json >/dev/null &&
    fail "vaultd.json names a key file"
  true
}

t_attack_28_keys_stay_in_the_hsm() {
  local role out pub label
  out=$("$SR_BIN/vaultctl" tls list 2>&1) || fail "vaultctl tls list: $out"
  for role in public internal egress; do
    # (ceremony 7 may have rotated the internal key: one key per role after it)
    label=$(awk -v r="$role" '$2 == r { print $1 }' <<<"$out")
    eq "$role: one key in the HSM" "$(wc -w <<<"$label")" 1
    grep -q "^$label *$role *private=yes sensitive=1 extractable=0 always_sensitive=1 never_extractable=1 local=1" <<<"$out" ||
      fail "$label key flags: $out"
    # C_GetAttributeValue(CKA_VALUE) and C_WrapKey on these keys, refused:
    # tests/attack/test_hsm_attack_28_tls_keys.c (the token's own answers).
    # The served certificate's key is the HSM's.
    pub=$(_attack28_p11 --read-object --type pubkey --label "$label" 2>/dev/null | openssl pkey -pubin -inform DER -outform PEM 2>/dev/null)
    [ -n "$pub" ] || fail "$label: no public key in the HSM"
    eq "$role certificate key is the HSM's" "$(openssl x509 -noout -pubkey -in "$(jq -r ".tls_cert_$role // .psp_client_cert" var/etc/vaultd.json)")" "$pub"
  done
}

t_attack_28_mtls_without_key_files() {
  local s n0
  # Egress: the payment below reaches pspsim over mutual TLS signed in the HSM.
  n0=$(psp_intents)
  # The gateway's mutual TLS to the internal listener: a payment crosses it.
  tokenize 4242424242424242; pay "$(j .id)"; eq "payment over mTLS, HSM key" "$STATUS" 201
  [ "$(psp_intents)" -gt "$n0" ] || fail "the payment did not reach the PSP over the HSM-keyed egress"
  # A client with the gateway's certificate completes the handshake; without one it cannot.
  s=$(curl -sS "${VINT[@]}" --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key \
        -o /dev/null -w '%{http_code}' "https://vault-internal.strongroom.test:$VAULT_INTERNAL_PORT/v1/no_such_route" 2>/dev/null)
  eq "mTLS handshake with the HSM key" "$s" 404
  s=$(curl -sS "${VINT[@]}" -o /dev/null -w '%{http_code}' "https://vault-internal.strongroom.test:$VAULT_INTERNAL_PORT/v1/no_such_route" 2>/dev/null)
  eq "no client certificate" "$s" 000
  # The public listener, TLS 1.3 and 1.2 (both sign in the HSM).
  for v in --tlsv1.3 "--tlsv1.2 --tls-max 1.2"; do
    # shellcheck disable=SC2086
    s=$(curl -sS --cacert "$STRONGROOM_CA" $v -o /dev/null -w '%{http_code}' "$VAULT_URL/v1/strongroom.js" 2>/dev/null)
    eq "public listener $v" "$s" 200
  done
}

# Ceremony 7 (hsm/ceremonies/07-tls-identity.md): its `sh ceremony` blocks,
# run in order on the live stack, rotate the internal listener's key with
# the dev CA standing in for the operator's; afterwards the gateway still
# pays over mutual TLS, the listener serves the new certificate, the old key
# is gone from the token and the transcript verifies.
t_attack_28_ceremony_07_runs() {
  local script=$TMP/ceremony07.sh old new oldkey
  ca_sign() {   # the dev CA, as scripts/pki.sh signs
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:vault-internal.strongroom.test,DNS:localhost,IP:127.0.0.1\n' > "$TMP/c07.ext"
    openssl x509 -req -in "$1" -CA var/pki/ca.crt -CAkey var/pki/ca.key -CAserial "$TMP/c07.srl" \
      -CAcreateserial -days 30 -sha256 -extfile "$TMP/c07.ext" -out "$2" 2>/dev/null
  }
  # The ceremony's TSA (openssl ts, attack 17's kind), the round trip in
  # tsa_reply. The dev stack's transcript outlives a test run (var/), and its
  # earlier stamps must verify with the same TSA CA: one TSA per dev stack.
  local tsa=var/ceremony/dev-tsa
  [ -s "$tsa/ts.cnf" ] || { mkdir -p "$tsa" && a17_tsa "$tsa" 3650; } || { fail "TSA setup"; return; }
  tsa_reply() { openssl ts -reply -config "$tsa/ts.cnf" -queryfile "$1" -out "$2" 2>/dev/null; }
  old=$(openssl x509 -noout -serial -in var/pki/vault-internal.crt)
  oldkey=$("$SR_BIN/vaultctl" tls list | awk '$2 == "internal" { print $1 }')
  awk '/^```sh ceremony$/ { on = 1; next } /^```$/ { on = 0 } on' hsm/ceremonies/07-tls-identity.md > "$script"
  [ "$(grep -c . "$script")" -ge 8 ] || { fail "ceremony 7 has no runnable steps"; return; }
  if ! (set -e; VC="$SR_BIN/vaultctl --master rehearsal"; ROLE=internal; CN=vault-internal.strongroom.test
        CERT=var/pki/vault-internal.crt; WORK=$TMP; OVERLAP=0; TRANSCRIPT=var/ceremony/transcript.jsonl
        TSA="dev TSA"; TSA_CA=$tsa/ca.crt
        VAULTD_PID=$(cat var/run/vaultd.pid); . "$script") > "$TMP/c07.out" 2>&1; then
    fail "ceremony 7 failed: $(tail -5 "$TMP/c07.out")"; return
  fi
  sleep 0.5
  new=$(openssl x509 -noout -serial -in var/pki/vault-internal.crt)
  [ "$new" != "$old" ] || fail "the certificate did not change"
  eq "served serial" "$(openssl s_client -connect "127.0.0.1:$VAULT_INTERNAL_PORT" -servername vault-internal.strongroom.test \
      -CAfile var/pki/ca.crt -cert var/pki/gateway-client.crt -key var/pki/gateway-client.key </dev/null 2>/dev/null |
      openssl x509 -noout -serial 2>/dev/null)" "$new"
  grep -q "$oldkey destroyed" "$TMP/c07.out" || fail "$oldkey was not destroyed: $(cat "$TMP/c07.out")"
  "$SR_BIN/vaultctl" tls list | grep -q "^$oldkey " && fail "$oldkey is still in the token"
  grep -q '"action":"tls-key-destroyed"' var/ceremony/transcript.jsonl || fail "no tls-key-destroyed line"
  # The overlap holds: a newer key beside the one just installed is not
  # retired-over before the (default, 24 h) overlap ends...
  "$SR_BIN/vaultctl" tls rotate internal --cn vault-internal.strongroom.test --out "$TMP/c07b.csr" >/dev/null ||
    fail "second rotation refused"
  "$SR_BIN/vaultctl" tls retire internal --out var/pki/vault-internal.crt >/dev/null 2>&1
  eq "retire during the overlap" "$?" 4
  # ...and an abandoned request's key goes once it ends; the served key stays.
  "$SR_BIN/vaultctl" tls retire internal --overlap-seconds 0 --out var/pki/vault-internal.crt >/dev/null ||
    fail "retire after the overlap"
  eq "keys of the role after retire" "$("$SR_BIN/vaultctl" tls list | awk '$2 == "internal"' | wc -l)" 1
  tokenize 4242424242424242; pay "$(j .id)"; eq "payment after the rotation" "$STATUS" 201
}
