# Attack suite, issue 28 items 1-3 (ADR 0118): a stolen file is worth
# nothing. The vault's listener keys (public, internal) exist only in the
# HSM: no key file is configured or present, a configuration naming one is
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
  for k in tls_key_public tls_key_internal; do
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
  for p in var/pki/vault-public.key var/pki/vault-internal.key; do
    [ -e "$p" ] && fail "$p exists: a listener key of the vault is a file"
  done
  for p in $(jq -r '[.tls_cert_public, .tls_cert_internal, .client_ca] | .[]' var/etc/vaultd.json); do
    grep -q "PRIVATE KEY" "$p" && fail "$p holds a private key"
  done
  jq -e 'has("tls_key_public") or has("tls_key_internal")' var/etc/vaultd.json >/dev/null &&
    fail "vaultd.json names a listener key file"
  true
}

t_attack_28_keys_stay_in_the_hsm() {
  local role out pub
  out=$("$SR_BIN/vaultctl" tls list 2>&1) || fail "vaultctl tls list: $out"
  for role in public internal; do
    grep -q "^tls-$role-v1 *$role *private=yes sensitive=1 extractable=0 always_sensitive=1 never_extractable=1 local=1" <<<"$out" ||
      fail "tls-$role key flags: $out"
    # C_GetAttributeValue(CKA_VALUE) and C_WrapKey on these keys, refused:
    # tests/attack/test_hsm_attack_28_tls_keys.c (the token's own answers).
    # The served certificate's key is the HSM's.
    pub=$(_attack28_p11 --read-object --type pubkey --label "tls-$role-v1" 2>/dev/null | openssl pkey -pubin -inform DER -outform PEM 2>/dev/null)
    [ -n "$pub" ] || fail "tls-$role-v1: no public key in the HSM"
    eq "$role certificate key is the HSM's" "$(openssl x509 -noout -pubkey -in var/pki/vault-$role.crt)" "$pub"
  done
}

t_attack_28_mtls_without_key_files() {
  local s
  # The gateway's mutual TLS to the internal listener: a payment crosses it.
  tokenize 4242424242424242; pay "$(j .id)"; eq "payment over mTLS, HSM key" "$STATUS" 201
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
