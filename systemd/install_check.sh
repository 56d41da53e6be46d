#!/usr/bin/env bash
# make install-check (systemd/verify.sh runs it, so make systemd-verify and
# make check do): `make install` puts exactly the layout the units expect,
# and `make uninstall` takes it away again.
#   1. every program answers --version with the build's commit
#      (`git describe --always --dirty`; "unknown" without .git);
#   2. for PREFIX=/usr and PREFIX=/usr/local, `make install DESTDIR=...`:
#      each unit's ExecStart= binary is installed and executable, and so is
#      its --config file; `systemd-analyze verify --root` passes on the
#      installed units in the installed tree; the sysusers file is installed
#      and defines each unit's User=; every LoadCredential= name is a path
#      the installed configuration uses and every credential path it uses
#      is loaded; SocketBindAllow= allows every port the configuration
#      listens on, each listener's port set explicitly (no default hides
#      one); the vault's unit and configuration name no key file and no PSP
#      secret (ADR 0118, ADR 0120);
#   3. a second install keeps an operator's configuration; `make uninstall`
#      leaves exactly the operator's files.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SR_BIN=${SR_BIN:-build/bin}
case "$SR_BIN" in */asan/bin) SAN=${SAN:-1} ;; esac
SAN=${SAN:-0}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0 n=0
bad() { echo "  FAIL $*"; fail=$((fail + 1)); }
ok() { echo "  ok   $*"; }
mk() { env -u MAKEFLAGS -u MAKELEVEL make --no-print-directory -s SAN="$SAN" "$@"; }

# 1. --version
want=unknown
[ -d .git ] || [ -f .git ] && want=$(git describe --always --dirty 2>/dev/null || echo unknown)
for p in vaultd gatewayd vaultctl gatewayctl pspsim panscan whsink; do
  n=$((n + 1))
  out=$("$SR_BIN/$p" --version 2>&1); rc=$?
  if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -Eqx "$p [0-9][0-9A-Za-z.+~-]* \(commit $want\)"; then
    ok "$p --version: $out"
  else
    bad "$p --version (exit $rc): $(printf '%s' "$out" | head -1), want '$p VERSION (commit $want)'"
  fi
done
# A tree without .git (a source tarball) says "unknown".
mkdir -p "$T/tarball/scripts" && cp scripts/version.sh "$T/tarball/scripts/"
n=$((n + 1))
"$T/tarball/scripts/version.sh" "$T/v.c" 9.9 && grep -q 'sr_version_commit\[\] = "unknown"' "$T/v.c" \
  && ok "scripts/version.sh outside a git checkout: commit unknown" \
  || bad "scripts/version.sh outside a git checkout: $(grep commit "$T/v.c" 2>/dev/null)"

# git failing later (sudo make install: "dubious ownership") keeps the commit.
n=$((n + 1)); cp "$T/v.c" "$T/v2.c"; sed -i 's/"unknown"/"abc1234"/' "$T/v2.c"
GIT_DIR=/nonexistent scripts/version.sh "$T/v2.c" 9.9 && grep -q 'sr_version_commit\[\] = "abc1234"' "$T/v2.c" \
  && ok "scripts/version.sh when git fails: the commit already built is kept" \
  || bad "scripts/version.sh when git fails: $(grep commit "$T/v2.c")"

# 2. The installed layout, as the units see it.
# The value of KEY= in a unit (each line), e.g. keys UNIT LoadCredential.
keys() { sed -n "s/^$2=//p" "$1"; }
# The listeners a daemon knows: its "*listen" configuration keys (the key
# list in its config source); each has a port key beside it.
listen_keys() {
  case $1 in
    vaultd) src=vault/vaultd_config.c ;; gatewayd) src=gateway/gw_config.c ;; *) return ;;
  esac
  grep -o '"[a-z_]*listen"' "$src" | tr -d '"' | sort -u
}
check_tree() { # PREFIX
  local prefix=$1 d=$T/root${1//\//_} sysconf unitdir
  sysconf=$([ "$prefix" = /usr ] && echo /etc || echo "$prefix/etc")
  unitdir=$prefix/lib/systemd/system
  mkdir -p "$d"
  n=$((n + 1))
  mk install DESTDIR="$d" PREFIX="$prefix" > "$T/install.log" 2>&1 \
    || { bad "make install PREFIX=$prefix: $(tail -3 "$T/install.log")"; return; }
  ok "make install DESTDIR=... PREFIX=$prefix"
  n=$((n + 1))
  if [ -f "$d$prefix/lib/sysusers.d/strongroom.conf" ]; then ok "PREFIX=$prefix: sysusers file installed"
  else bad "PREFIX=$prefix: no $prefix/lib/sysusers.d/strongroom.conf"; fi
  [ "$prefix" = /usr ] && for u in systemd/*.service; do
    n=$((n + 1))
    cmp -s "$u" "$d$unitdir/$(basename "$u")" && ok "PREFIX=/usr: $(basename "$u") installed unchanged" \
      || bad "PREFIX=/usr: $(basename "$u") differs from systemd/"
  done
  # systemd-analyze verify --root resolves ExecStart= in the installed tree;
  # it also needs the host's own units (sysinit.target ...): a copy of the
  # tree with them beside, never overwriting an installed file.
  local vroot=$T/vroot${1//\//_}
  mkdir -p "$vroot" && cp -a "$d/." "$vroot/" && mkdir -p "$vroot/usr/lib/systemd/system" \
    && cp -an /lib/systemd/system/. "$vroot/usr/lib/systemd/system/" 2>/dev/null
  for u in "$d$unitdir"/*.service; do
    [ -e "$u" ] || { n=$((n + 1)); bad "PREFIX=$prefix: no unit in $unitdir"; break; }
    local name daemon exe cfg user
    name=$(basename "$u"); daemon=${name#strongroom-}; daemon=${daemon%.service}
    exe=$(keys "$u" ExecStart | awk '{print $1}' | sed 's/^[-@:+!]*//')
    cfg=$(keys "$u" ExecStart | sed -n 's/.*--config \([^ ]*\).*/\1/p')
    n=$((n + 1))
    if [ -f "$d$exe" ] && [ -x "$d$exe" ] && [ -f "$d$cfg" ]; then ok "$prefix: $name: ExecStart=$exe and $cfg installed"
    else bad "$prefix: $name: ExecStart binary $exe or config '$cfg' not installed (executable) under DESTDIR"; continue; fi
    n=$((n + 1))
    out=$(systemd-analyze verify --root="$vroot" --man=no --generators=no "$unitdir/$name" 2>&1)
    [ $? -eq 0 ] && [ -z "$out" ] && ok "$prefix: $name: systemd-analyze verify --root (installed layout)" \
      || bad "$prefix: $name: systemd-analyze verify --root: $(echo "$out" | head -3)"
    n=$((n + 1)); user=$(keys "$u" User)
    grep -Eq "^u[[:space:]]+$user[[:space:]]" "$d$prefix/lib/sysusers.d/strongroom.conf" 2>/dev/null \
      && ok "$prefix: $name: User=$user in the sysusers file" || bad "$prefix: $name: User=$user not in the sysusers file"
    # Credentials: what the unit loads == what the configuration reads.
    local loaded used
    loaded=$(keys "$u" LoadCredential | cut -d: -f1 | sort -u)
    used=$(grep -o "/run/credentials/$name/[A-Za-z0-9._-]*" "$d$cfg" | sed 's|.*/||' | sort -u)
    n=$((n + 1))
    [ "$loaded" = "$used" ] && ok "$prefix: $name: LoadCredential= names = the configuration's credential paths ($(echo $used))" \
      || bad "$prefix: $name: LoadCredential= ($(echo $loaded)) differs from the credential paths of $cfg ($(echo $used))"
    for c in $(keys "$u" LoadCredential | cut -d: -f2-); do
      case $c in "$sysconf/strongroom/credentials/"*) ;; *) n=$((n + 1)); bad "$prefix: $name: LoadCredential= path $c not under $sysconf/strongroom/credentials/" ;; esac
    done
    # Ports: every listener's port, set in the configuration, is bindable.
    local allow lk pk port
    allow=$(keys "$u" SocketBindAllow | tr ' ' '\n' | sed -n 's/^tcp://p')
    for lk in $(listen_keys "$daemon"); do
      pk=${lk%listen}port; n=$((n + 1))
      port=$(jq -r --arg k "$pk" '.[$k] // empty' "$d$cfg")
      if [ -z "$port" ]; then bad "$prefix: $cfg: $pk not set (the default would be bound unseen)"
      elif [ "$port" = 0 ] || printf '%s\n' "$allow" | grep -qx "$port"; then ok "$prefix: $name: $pk $port in SocketBindAllow="
      else bad "$prefix: $name: $pk $port not in SocketBindAllow= ($(echo $allow))"; fi
    done
    if [ "$daemon" = vaultd ]; then
      n=$((n + 1))
      leak=$( { jq -r 'keys[]' "$d$cfg" | grep -E '^(tls_key|psp_client_key|psp_.*_(api_key|secret)_file)'; keys "$u" LoadCredential | grep -iE '\.key|psp|stripe|adyen'; } )
      [ -z "$leak" ] && ok "$prefix: vaultd: no key file, no PSP secret in the unit or $cfg (ADR 0118, 0120)" \
        || bad "$prefix: vaultd names a key file or PSP secret: $(echo $leak)"
    fi
  done
  n=$((n + 1))
  [ "$(stat -c %a "$d$sysconf/strongroom/credentials" 2>/dev/null)" = 700 ] \
    && ok "$prefix: $sysconf/strongroom/credentials is 0700" || bad "$prefix: $sysconf/strongroom/credentials missing or not 0700"

  # 3. The operator's files survive a second install and the uninstall.
  local conf=$d$sysconf/strongroom
  jq '.threads = 8' "$conf/vaultd.json" > "$T/op.json" && cp "$T/op.json" "$conf/vaultd.json"
  echo x > "$conf/credentials/hsm-user-pin"; echo cert > "$conf/pki/ca.crt"
  (cd "$d" && find . -type f | sort) > "$T/before"
  mk install DESTDIR="$d" PREFIX="$prefix" > "$T/install.log" 2>&1
  n=$((n + 1))
  cmp -s "$T/op.json" "$conf/vaultd.json" && [ -f "$conf/vaultd.json.new" ] \
    && ok "$prefix: a second install keeps the operator's vaultd.json (sample as vaultd.json.new)" \
    || bad "$prefix: a second install overwrote the operator's vaultd.json or wrote no .new"
  mk uninstall DESTDIR="$d" PREFIX="$prefix" > "$T/uninstall.log" 2>&1 || bad "$prefix: make uninstall failed"
  left=$(cd "$d" && find . -type f | sed 's|^\./|/|' | sort | tr '\n' ' ')
  want_left="$sysconf/strongroom/credentials/hsm-user-pin $sysconf/strongroom/pki/ca.crt $sysconf/strongroom/vaultd.json "
  n=$((n + 1))
  [ "$left" = "$want_left" ] && ok "$prefix: make uninstall leaves only the operator's files" \
    || bad "$prefix: after make uninstall: '$left', want '$want_left'"
}
command -v systemd-analyze >/dev/null && command -v jq >/dev/null || { echo "install-check: needs systemd-analyze and jq (make deps)" >&2; exit 1; }
check_tree /usr
check_tree /usr/local
echo "install-check: $n checks, $fail failed"
[ "$fail" -eq 0 ]
