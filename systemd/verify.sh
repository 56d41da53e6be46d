#!/usr/bin/env bash
# make systemd-verify (part of make check): the hardened units are clean.
#   1. systemd-analyze verify reports nothing (ExecStart= pointed at the built
#      binaries, the only difference from the installed units);
#   2. systemd-analyze security --offline=true scores every unit <= 2.0;
#   3. no secret in Environment= or ExecStart= (invariant 10, docs/invariants.md): secrets
#      only through LoadCredential=, and every credential path the sample
#      configuration names is loaded by its unit;
#   4. each daemon accepts its sample configuration (--check-config) with
#      the credentials its unit loads, where systemd puts them;
#   5. vaultd's IPAddressAllow= equals the CDE's peers in the address plan;
#   6. the check can fail: a unit with a bad key, and one without hardening,
#      are both refused;
#   7. the installed layout (systemd/install_check.sh): make install puts
#      every ExecStart= binary, configuration, credential name, port and user
#      where the installed units expect them, verified with
#      systemd-analyze verify --root; make uninstall keeps only the
#      operator's files. Steps 1-6 score the units as written; step 7 the
#      units as installed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SR_BIN=${SR_BIN:-build/bin}
case "$SR_BIN" in /*) ;; *) SR_BIN=$ROOT/$SR_BIN ;; esac
MAX=${SR_UNIT_MAX_EXPOSURE:-2.0}
command -v systemd-analyze >/dev/null || { echo "systemd-verify: systemd-analyze missing (make deps)" >&2; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0 n=0
bad() { echo "  FAIL $*"; fail=$((fail + 1)); }

stage() { sed "s|^ExecStart=/usr/libexec/strongroom/|ExecStart=$SR_BIN/|" "$1" > "$T/$(basename "$1")"; }
verify_clean() { local out; out=$(systemd-analyze verify --man=no --generators=no "$1" 2>&1) && [ -z "$out" ]; }
exposure() { systemd-analyze security --offline=true "$1" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 <= b + 0) }'; }

for u in systemd/*.service; do
  n=$((n + 1)); name=$(basename "$u")
  stage "$u"
  verify_clean "$T/$name" || bad "$name: systemd-analyze verify: $(systemd-analyze verify --man=no --generators=no "$T/$name" 2>&1 | head -3)"
  e=$(exposure "$T/$name")
  le "$e" "$MAX" && echo "  ok   $name: exposure $e (<= $MAX)" || bad "$name: exposure '$e' > $MAX"
  grep -Eiq '^(Environment|ExecStart)=.*(pin|passw|secret|_key|token)' "$u" && bad "$name: a secret in Environment= or ExecStart="
  daemon=${name#strongroom-}; daemon=${daemon%.service}
  cfg=systemd/etc/strongroom/$daemon.json
  if [ -f "$cfg" ]; then
    for c in $(grep -o "/run/credentials/$name/[A-Za-z0-9._-]*" "$cfg" | sed 's|.*/||' | sort -u); do
      grep -q "^LoadCredential=$c:" "$u" || bad "$name: $cfg names credential $c that the unit does not load"
    done
    jq -e . "$cfg" >/dev/null 2>&1 || bad "$cfg is not valid JSON"
    # The daemon accepts the sample configuration once the files exist where
    # systemd puts them: /etc/strongroom -> a scratch tree, credentials -> only
    # those the unit loads (mode 0400, as systemd makes them).
    d=$T/cfg-$daemon; mkdir -p "$d/etc" "$d/cred"
    sed -e "s|/etc/strongroom/|$d/etc/|g" -e "s|/run/credentials/$name/|$d/cred/|g" "$cfg" > "$d/$daemon.json"
    for p in $(grep -o "$d/etc/[^\"]*" "$d/$daemon.json"); do mkdir -p "$(dirname "$p")"; echo x > "$p"; done
    for c in $(sed -n 's/^LoadCredential=\([^:]*\):.*/\1/p' "$u"); do (umask 077; echo x > "$d/cred/$c"; chmod 0400 "$d/cred/$c"); done
    out=$("$SR_BIN/$daemon" --config "$d/$daemon.json" --check-config 2>&1) \
      && echo "  ok   $cfg: $daemon --check-config accepts it with the unit's credentials" \
      || bad "$cfg: $daemon --check-config: $out"
  fi
done
[ "$n" -gt 0 ] || bad "no units in systemd/"

# vaultd's IPAddressAllow= is exactly the CDE's peers in the address plan the
# zone rulesets use: edge host, gateway host, CDE database, PSP allowlist.
plan=iac/nftables/addresses-harness.nft
want=$( { sed -n 's/^define \(EDGE_HOST\|APP_HOST\|CDE_DB_HOST\) *= *\([0-9.\/]*\).*/\2/p' "$plan"
          sed -n 's/^define PSP_ALLOW *= *{\([^}]*\)}.*/\1/p' "$plan" | tr ', ' '\n\n'; echo localhost; } | grep . | sort -u)
have=$(sed -n 's/^IPAddressAllow=//p' systemd/strongroom-vaultd.service | tr ' ' '\n' | grep . | sort -u)
if [ "$want" = "$have" ]; then
  echo "  ok   strongroom-vaultd.service: IPAddressAllow= = the CDE's peers in $plan"
else
  bad "strongroom-vaultd.service: IPAddressAllow= ($(echo $have)) differs from the CDE's peers in $plan ($(echo $want))"
fi

# The checks can fail.
stage systemd/strongroom-vaultd.service
sed 's/^NoNewPrivileges=yes/NoNewPrivilegez=yes/' "$T/strongroom-vaultd.service" > "$T/sr-selftest-badkey.service"
verify_clean "$T/sr-selftest-badkey.service" && bad "selftest: a misspelt key passed systemd-analyze verify"
grep -vE '^(Protect|Private|Restrict|SystemCall|Capability|NoNew|IPAddress|Lock|Memory|Remove|Device|Keyring|UMask|ProcSubset|SocketBind)' \
  "$T/strongroom-vaultd.service" > "$T/sr-selftest-soft.service"
e=$(exposure "$T/sr-selftest-soft.service")
le "$e" "$MAX" && bad "selftest: an unhardened unit scored $e <= $MAX"
echo "systemd-verify: $n units checked, $fail failed"
SR_BIN=$SR_BIN systemd/install_check.sh || fail=$((fail + 1))
[ "$fail" -eq 0 ]
