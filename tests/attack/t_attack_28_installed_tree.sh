# Attack suite, issue 28 "Done means" (ADR 0118): grep -r "PRIVATE KEY"
# over the vault's installed configuration and secrets finds nothing. The
# product as `make install` lays it out (configuration, units) and the dev
# stack's configuration and secrets: no PEM private key, no setting naming
# a private-key file of a vault TLS role, no credential the vault's unit
# loads that is a key file. Sourced by tests/integration/run.sh.

# Findings in an installed vaultd.json (FILE), one line each; none: silent.
_attack28_config_findings() {
  local f=$1
  jq -r 'paths(scalars) as $p | select(($p[-1] | tostring | test("^tls_key_|^psp_client_key$"))
           or (getpath($p) | tostring | test("\\.key$"))) | "\($p | map(tostring) | join(".")) names a key file"' "$f" ||
    echo "$f: not JSON"
}

t_attack_28_installed_tree_holds_no_private_key() {
  local d=$TMP/a28-install b=$SR_BIN unit found
  rm -rf "$d"
  # The binaries the stack runs are installed as they are (-o: never rebuilt here).
  make -s install DESTDIR="$d" BUILD="${SR_BIN%/bin}" PREFIX=/usr \
    -o "$b/vaultd" -o "$b/gatewayd" -o "$b/vaultctl" -o "$b/gatewayctl" -o "$b/panscan" >"$TMP/a28-install.log" 2>&1 ||
    { fail "make install: $(tail -3 "$TMP/a28-install.log")"; return; }
  unit=$d$(pkg-config --variable=systemdsystemunitdir systemd)/strongroom-vaultd.service
  [ -f "$d/etc/strongroom/vaultd.json" ] || { fail "make install installed no vaultd.json"; return; }
  [ -f "$unit" ] || { fail "make install installed no vaultd unit"; return; }
  # grep -r "PRIVATE KEY": the installed configuration and units, the dev
  # stack's configuration and secrets.
  found=$(grep -rl "PRIVATE KEY" "$d/etc" "$(dirname "$unit")" var/etc var/secrets 2>/dev/null)
  [ -z "$found" ] || fail "a private key in: $found"
  # No vault setting names a key file, installed or in the dev stack.
  found=$(_attack28_config_findings "$d/etc/strongroom/vaultd.json"; _attack28_config_findings var/etc/vaultd.json)
  [ -z "$found" ] || fail "$found"
  # No credential of the vault's unit is a key file.
  found=$(grep -E '^(LoadCredential|LoadCredentialEncrypted|SetCredential)=' "$unit" |
          grep -iE '(\.key|\.pem|private|tls-key|client-key)(:|$)|:.*(\.key|\.pem)$')
  [ -z "$found" ] || fail "the vault's unit loads a key file: $found"
  rm -rf "$d"
}
