# Attack suite, issue 18: `--check-config` says "configuration OK" only when
# the daemon could start with the files the configuration names. The sample
# configurations of systemd/etc/strongroom/ in a scratch tree (the units'
# credentials as systemd makes them: mode 0400, owned by the daemon's user),
# checked as an unprivileged user (nobody when the suite runs as root, since
# root reads any file): a secret file that is missing or not readable by
# that user, or readable by group or others, is refused, naming the key.
# Sourced by tests/integration/run.sh.

# _a18_tree DAEMON: a scratch copy of the sample configuration with every file
# it names made (readable), printed as the configuration's path.
_a18_tree() {
  local daemon=$1 unit=strongroom-$1.service d=$TMP/a18-$1 p
  rm -rf "$d"; mkdir -p "$d/etc" "$d/cred"
  sed -e "s|/etc/strongroom/|$d/etc/|g" -e "s|/run/credentials/$unit/|$d/cred/|g" \
    "systemd/etc/strongroom/$daemon.json" > "$d/$daemon.json"
  for p in $(grep -o "$d/etc/[^\"]*" "$d/$daemon.json"); do mkdir -p "$(dirname "$p")"; echo x > "$p"; done
  for p in $(sed -n 's/^LoadCredential=\([^:]*\):.*/\1/p' "systemd/$unit"); do
    (umask 077; echo x > "$d/cred/$p"; chmod 0400 "$d/cred/$p")
  done
  # The user who runs the check must reach the tree and own the credentials.
  chmod 0755 "$TMP" "$d" "$d/cred"; chmod -R a+rX "$d/etc" "$d/$daemon.json"
  [ "$(id -u)" -eq 0 ] && chown -R nobody "$d/cred"
  echo "$d/$daemon.json"
}
# _a18_check DAEMON CONFIG: --check-config as the unprivileged user.
_a18_check() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$SR_BIN/$1" --config "$2" --check-config 2>&1
  else "$SR_BIN/$1" --config "$2" --check-config 2>&1; fi
}

t_attack_18_check_config_refuses_unusable_secrets() {
  local daemon f c out key mode
  chmod 0755 "$SR_BIN" "$SR_BIN/.." 2>/dev/null
  for daemon in vaultd gatewayd; do
    f=$(_a18_tree "$daemon")
    out=$(_a18_check "$daemon" "$f") || { fail "$daemon: the sample configuration refused: $out"; continue; }
    for c in "$(dirname "$f")"/cred/*; do
      key=$(jq -r --arg p "$c" 'to_entries[] | select(.value == $p) | .key' "$f")
      # Missing: the daemon would fail at its first use of it.
      mv "$c" "$c.away"
      out=$(_a18_check "$daemon" "$f") && fail "$daemon: missing $key accepted: $out"
      grep -q "$key" <<<"$out" || fail "$daemon: missing $key: the error does not name the key: $out"
      mv "$c.away" "$c"
      # Not readable by the daemon's user (mode 000).
      chmod 0000 "$c"
      out=$(_a18_check "$daemon" "$f") && fail "$daemon: $key unreadable by its user accepted: $out"
      grep -q "$key" <<<"$out" || fail "$daemon: unreadable $key: the error does not name the key: $out"
      # Readable by group or others (the README requires 0600).
      for mode in 0640 0604; do
        chmod "$mode" "$c"
        out=$(_a18_check "$daemon" "$f") && fail "$daemon: $key mode $mode accepted: $out"
        grep -q "readable by group or others" <<<"$out" || fail "$daemon: $key mode $mode: $out"
      done
      chmod 0400 "$c"
    done
  done
  true
}

t_attack_18_check_config_names_the_missing_file() {
  local daemon out
  for daemon in vaultd gatewayd; do
    out=$("$SR_BIN/$daemon" --config "$TMP/a18-none.json" --check-config 2>&1) && fail "$daemon: no file accepted"
    grep -q "$TMP/a18-none.json: cannot read the configuration file" <<<"$out" || fail "$daemon: $out"
    grep -q ':-1' <<<"$out" && fail "$daemon: line -1 in: $out"
    # An unknown key: a suggestion.
    f=$(_a18_tree "$daemon"); jq '. + {"admin_prot": 1}' "$f" > "$f.new" && mv "$f.new" "$f"
    out=$("$SR_BIN/$daemon" --config "$f" --check-config 2>&1) && fail "$daemon: unknown key accepted"
    grep -q "did you mean 'admin_port'" <<<"$out" || fail "$daemon: no suggestion: $out"
  done
  true
}
