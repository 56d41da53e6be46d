#!/usr/bin/env bash
# make install-check (systemd/verify.sh runs it, so make systemd-verify and
# make check do): `make install` puts exactly the layout the units expect,
# and `make uninstall` takes it away again.
#   1. every program answers --version with the build's commit
#      (`git describe --always --dirty`; "unknown" without .git);
#   2. for PREFIX=/usr and PREFIX=/usr/local, `make install DESTDIR=...`
#      (check_layout): each unit's ExecStart= binary is installed and
#      executable, and so is its --config file; `systemd-analyze verify
#      --root` passes on the installed units in the installed tree; a
#      sysusers file defines each unit's User=; every LoadCredential= name
#      is a path the installed configuration uses and every credential path
#      it uses is loaded; SocketBindAllow= allows every port the
#      configuration listens on, each listener's port set explicitly (no
#      default hides one); the vault's unit and configuration name no key
#      file and no PSP secret (ADR 0118, ADR 0120); every installed program
#      has its man page;
#   3. a second install keeps an operator's configuration; `make uninstall`
#      leaves exactly the operator's files.
# install_check.sh --debs DIR (make deb runs it, ADR 0123): the Debian
# packages in DIR, unpacked together (dpkg-deb -x), pass the checks of 2.;
# their files and modes are those of `make install PREFIX=/usr`, but for
# what dpkg adds (each package's copyright and changelog, lintian overrides,
# man pages compressed); the packaged programs' --version names this
# checkout's commit.
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

DEBS=
[ "${1:-}" = --debs ] && DEBS=${2:?--debs DIR}
# 1. --version
if [ -z "$DEBS" ]; then
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
fi

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
  local prefix=$1 d=$T/root${1//\//_} sysconf
  sysconf=$([ "$prefix" = /usr ] && echo /etc || echo "$prefix/etc")
  mkdir -p "$d"
  n=$((n + 1))
  mk install DESTDIR="$d" PREFIX="$prefix" > "$T/install.log" 2>&1 \
    || { bad "make install PREFIX=$prefix: $(tail -3 "$T/install.log")"; return; }
  ok "make install DESTDIR=... PREFIX=$prefix"
  check_layout "$d" "$prefix" "$prefix"
  operator_files "$d" "$prefix" "$sysconf"
}
# The unit directory under ROOT ($1) for PREFIX ($2): where make install put
# the units (/lib/systemd/system on Debian 12 for /usr).
unit_dir() {
  local u; u=$(cd "$1" && ls -d ./lib/systemd/system ./usr/lib/systemd/system "./$2/lib/systemd/system" 2>/dev/null | head -1)
  echo "${u#.}"
}
check_layout() { # ROOT PREFIX LABEL: the installed tree ROOT, as the units see it
  local d=$1 prefix=$2 label=$3 sysconf unitdir u
  sysconf=$([ "$prefix" = /usr ] && echo /etc || echo "$prefix/etc")
  unitdir=$(unit_dir "$d" "$prefix")
  n=$((n + 1))
  if ls "$d$prefix"/lib/sysusers.d/strongroom-*.conf >/dev/null 2>&1; then ok "$label: sysusers files installed"
  else bad "$label: no $prefix/lib/sysusers.d/strongroom-*.conf"; fi
  [ "$prefix" = /usr ] && for u in systemd/*.service; do
    n=$((n + 1))
    cmp -s "$u" "$d$unitdir/$(basename "$u")" && ok "$label: $(basename "$u") installed unchanged" \
      || bad "$label: $(basename "$u") differs from systemd/"
  done
  # Every program on PATH and every daemon has its man page.
  local p
  for p in "$d$prefix"/bin/* "$d$prefix"/libexec/strongroom/*; do
    n=$((n + 1)); p=$(basename "$p")
    ls "$d$prefix"/share/man/man[18]/"$p".[18]* >/dev/null 2>&1 && ok "$label: man page of $p" \
      || bad "$label: no man page for $p"
  done
  # systemd-analyze verify --root resolves ExecStart= in the installed tree;
  # it also needs the host's own units (sysinit.target ...): a copy of the
  # tree with them beside, never overwriting an installed file.
  local vroot=$T/vroot${label//\//_}
  mkdir -p "$vroot" && cp -a "$d/." "$vroot/" && mkdir -p "$vroot/usr/lib/systemd/system" \
    && cp -an /lib/systemd/system/. "$vroot/usr/lib/systemd/system/" 2>/dev/null
  for u in "$d$unitdir"/*.service; do
    [ -e "$u" ] || { n=$((n + 1)); bad "$label: no unit in $unitdir"; break; }
    local name daemon exe cfg user
    name=$(basename "$u"); daemon=${name#strongroom-}; daemon=${daemon%.service}
    exe=$(keys "$u" ExecStart | awk '{print $1}' | sed 's/^[-@:+!]*//')
    cfg=$(keys "$u" ExecStart | sed -n 's/.*--config \([^ ]*\).*/\1/p')
    n=$((n + 1))
    if [ -f "$d$exe" ] && [ -x "$d$exe" ] && [ -f "$d$cfg" ]; then ok "$label: $name: ExecStart=$exe and $cfg installed"
    else bad "$label: $name: ExecStart binary $exe or config '$cfg' not installed (executable) under DESTDIR"; continue; fi
    n=$((n + 1))
    out=$(systemd-analyze verify --root="$vroot" --man=no --generators=no "$unitdir/$name" 2>&1)
    [ $? -eq 0 ] && [ -z "$out" ] && ok "$label: $name: systemd-analyze verify --root (installed layout)" \
      || bad "$label: $name: systemd-analyze verify --root: $(echo "$out" | head -3)"
    n=$((n + 1)); user=$(keys "$u" User)
    cat "$d$prefix"/lib/sysusers.d/strongroom-*.conf 2>/dev/null | grep -Eq "^u[[:space:]]+$user[[:space:]]" \
      && ok "$label: $name: User=$user in the sysusers file" || bad "$label: $name: User=$user not in the sysusers file"
    # Credentials: what the unit loads == what the configuration reads.
    local loaded used
    loaded=$(keys "$u" LoadCredential | cut -d: -f1 | sort -u)
    used=$(grep -o "/run/credentials/$name/[A-Za-z0-9._-]*" "$d$cfg" | sed 's|.*/||' | sort -u)
    n=$((n + 1))
    [ "$loaded" = "$used" ] && ok "$label: $name: LoadCredential= names = the configuration's credential paths ($(echo $used))" \
      || bad "$label: $name: LoadCredential= ($(echo $loaded)) differs from the credential paths of $cfg ($(echo $used))"
    for c in $(keys "$u" LoadCredential | cut -d: -f2-); do
      case $c in "$sysconf/strongroom/credentials/"*) ;; *) n=$((n + 1)); bad "$label: $name: LoadCredential= path $c not under $sysconf/strongroom/credentials/" ;; esac
    done
    # Ports: every listener's port, set in the configuration, is bindable.
    local allow lk pk port
    allow=$(keys "$u" SocketBindAllow | tr ' ' '\n' | sed -n 's/^tcp://p')
    for lk in $(listen_keys "$daemon"); do
      pk=${lk%listen}port; n=$((n + 1))
      port=$(jq -r --arg k "$pk" '.[$k] // empty' "$d$cfg")
      if [ -z "$port" ]; then bad "$label: $cfg: $pk not set (the default would be bound unseen)"
      elif [ "$port" = 0 ] || printf '%s\n' "$allow" | grep -qx "$port"; then ok "$label: $name: $pk $port in SocketBindAllow="
      else bad "$label: $name: $pk $port not in SocketBindAllow= ($(echo $allow))"; fi
    done
    if [ "$daemon" = vaultd ]; then
      n=$((n + 1))
      leak=$( { jq -r 'keys[]' "$d$cfg" | grep -E '^(tls_key|psp_client_key|psp_.*_(api_key|secret)_file)'; keys "$u" LoadCredential | grep -iE '\.key|psp|stripe|adyen'; } )
      [ -z "$leak" ] && ok "$label: vaultd: no key file, no PSP secret in the unit or $cfg (ADR 0118, 0120)" \
        || bad "$label: vaultd names a key file or PSP secret: $(echo $leak)"
    fi
  done
  n=$((n + 1))
  [ "$(stat -c %a "$d$sysconf/strongroom/credentials" 2>/dev/null)" = 700 ] \
    && ok "$label: $sysconf/strongroom/credentials is 0700" || bad "$label: $sysconf/strongroom/credentials missing or not 0700"
}
operator_files() { # ROOT PREFIX SYSCONF
  local d=$1 prefix=$2 sysconf=$3

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
# The Debian packages (make deb): unpacked together, the same checks, the
# same files and modes as make install PREFIX=/usr, the commit in --version.
check_debs() { # DIR
  local dir=$1 r=$T/debroot m=$T/mkroot deb p out want
  ls "$dir"/*.deb >/dev/null 2>&1 || { n=$((n + 1)); bad "no .deb in $dir (make deb)"; return; }
  mkdir -p "$r" "$m"
  for deb in "$dir"/*.deb; do dpkg-deb -x "$deb" "$r" || { n=$((n + 1)); bad "dpkg-deb -x $deb"; }; done
  check_layout "$r" /usr "debs"
  # The sysusers and tmpfiles snippets, as dh_installsysusers/tmpfiles put them.
  for p in sysusers.d/strongroom-vault.conf sysusers.d/strongroom-gateway.conf \
           tmpfiles.d/strongroom-common.conf tmpfiles.d/strongroom-vault.conf; do
    n=$((n + 1)); f=systemd/$(basename "$p" .conf).${p%%.d/*}.conf
    cmp -s "$f" "$r/usr/lib/$p" && ok "debs: /usr/lib/$p is $f" || bad "debs: /usr/lib/$p differs from $f or is missing"
  done
  # --version: the release and this checkout's commit, not "unknown".
  want=$(git describe --always --dirty 2>/dev/null || echo unknown)
  for p in usr/libexec/strongroom/vaultd usr/libexec/strongroom/gatewayd usr/bin/vaultctl usr/bin/gatewayctl usr/bin/panscan; do
    n=$((n + 1)); out=$("$r/$p" --version 2>&1)
    printf '%s\n' "$out" | grep -Eqx "$(basename "$p") [0-9][0-9A-Za-z.+~-]* \(commit $want\)" \
      && ok "debs: $p --version: $out" || bad "debs: $p --version: '$out', want commit $want (make deb again?)"
  done
  # Files and modes: the packages = make install PREFIX=/usr, but for what
  # dpkg adds: /usr/share/doc/PACKAGE/{copyright,changelog.gz}, lintian
  # overrides, man pages compressed (dh_compress; Markdown is not, -X.md).
  mk install DESTDIR="$m" PREFIX=/usr > "$T/install.log" 2>&1 || { n=$((n + 1)); bad "make install: $(tail -3 "$T/install.log")"; return; }
  listing() { (cd "$1" && find . -mindepth 1 \( -type f -o -type d -path './etc/strongroom*' \) -printf '%m %p\n' | sed 's| \./| /|' \
    | sed -E 's|^([0-7]+ /usr/share/man/.*)\.gz$|\1|' \
    | grep -Ev ' /usr/share/doc/strongroom-[a-z]+/(copyright|changelog\.gz)$| /usr/share/lintian/overrides/' | sort -k2); }
  listing "$r" > "$T/debs.list"; listing "$m" > "$T/install.list"
  n=$((n + 1))
  if diff -u "$T/install.list" "$T/debs.list" > "$T/layout.diff"; then
    ok "debs: the packages' files and modes = make install PREFIX=/usr ($(wc -l < "$T/debs.list") paths)"
  else
    bad "debs: files or modes differ from make install PREFIX=/usr (- make install, + packages):"
    grep '^[-+][0-7]' "$T/layout.diff" | head -20 | sed 's/^/         /'
  fi
  # Nothing but the samples are conffiles; every sample is one.
  for deb in "$dir"/*.deb; do dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles 2>/dev/null; done | sort > "$T/conffiles"
  (cd systemd/etc/strongroom && find . -type f ! -name .keep | sed 's|^\.|/etc/strongroom|') | sort > "$T/samples"
  n=$((n + 1))
  cmp -s "$T/conffiles" "$T/samples" && ok "debs: the conffiles are the samples ($(echo $(cat "$T/conffiles")))" \
    || bad "debs: conffiles ($(echo $(cat "$T/conffiles"))) differ from the samples ($(echo $(cat "$T/samples")))"
}
if [ -n "$DEBS" ]; then
  command -v dpkg-deb >/dev/null || { echo "install-check: needs dpkg-deb" >&2; exit 1; }
  check_debs "$DEBS"
else
  check_tree /usr
  check_tree /usr/local
fi
echo "install-check: $n checks, $fail failed"
[ "$fail" -eq 0 ]
