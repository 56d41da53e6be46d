#!/usr/bin/env bash
# install.sh install|uninstall BIN: what `make install` and `make uninstall`
# do (the Makefile passes DESTDIR, PREFIX and the directories below).
#
# The layout is the one the units in systemd/ expect, with their paths
# rewritten when PREFIX or SYSCONFDIR differ from /usr and /etc (as
# autotools substitutes @libexecdir@): with PREFIX=/usr the installed units
# are byte for byte the ones in systemd/.
#   LIBEXECDIR    vaultd, gatewayd (the units' ExecStart=; not on PATH)
#   BINDIR        vaultctl, gatewayctl
#   UNITDIR       strongroom-vaultd.service, strongroom-gatewayd.service
#   SYSUSERSDIR   strongroom.conf (systemd-sysusers: the daemons' users)
#   SYSCONFDIR/strongroom/   systemd/etc/strongroom/: the sample
#                 configuration (0644), pki/ (0755) and credentials/ (0700):
#                 an existing file is never overwritten; a changed sample
#                 lands beside it as FILE.new
#   DATADIR       migrations/ (migrate.sh, roles.sql and the SQL)
#   DOCDIR        architecture.md (the units' Documentation=), configuration.md
# pspsim and whsink are test-only and never installed. No step needs root
# (DESTDIR installs as any user); no private key or secret is installed:
# the operator puts credentials in SYSCONFDIR/strongroom/credentials/.
#
# uninstall removes what install put, and the sample configuration files only
# where they are still byte for byte the samples: an operator's configuration,
# credentials and certificates stay (like dpkg's conffiles).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mode=${1:?install or uninstall}; BIN=${2:?binary directory}
: "${PREFIX:=/usr/local}"
: "${SYSCONFDIR:=$([ "$PREFIX" = /usr ] && echo /etc || echo "$PREFIX/etc")}"
: "${BINDIR:=$PREFIX/bin}" "${LIBEXECDIR:=$PREFIX/libexec/strongroom}"
: "${DATADIR:=$PREFIX/share/strongroom}" "${DOCDIR:=$PREFIX/share/doc/strongroom}"
: "${UNITDIR:=$PREFIX/lib/systemd/system}" "${SYSUSERSDIR:=$PREFIX/lib/sysusers.d}"
: "${INSTALL:=install}"
D=${DESTDIR:-}
CONF=$SYSCONFDIR/strongroom

# The units and the sample tree name /usr/libexec/strongroom, /etc/strongroom
# and /usr/share/doc/strongroom: point them at this layout.
subst() {
  sed -e "s|/usr/libexec/strongroom/|$LIBEXECDIR/|g" -e "s|/etc/strongroom/|$CONF/|g" \
      -e "s|file:///usr/share/doc/strongroom/|file://$DOCDIR/|g" "$1"
}
SAMPLES=$(cd systemd/etc/strongroom && find . -type f ! -name .keep | sed 's|^\./||' | sort)
DOCS="docs/architecture.md docs/configuration.md"
run() { echo "$*"; "$@"; }

if [ "$mode" = install ]; then
  run "$INSTALL" -d -m 0755 "$D$LIBEXECDIR" "$D$BINDIR" "$D$UNITDIR" "$D$SYSUSERSDIR" "$D$DOCDIR" \
    "$D$DATADIR/migrations/vault" "$D$DATADIR/migrations/gateway" "$D$CONF" "$D$CONF/pki"
  run "$INSTALL" -d -m 0700 "$D$CONF/credentials"
  run "$INSTALL" -m 0755 "$BIN/vaultd" "$BIN/gatewayd" "$D$LIBEXECDIR/"
  run "$INSTALL" -m 0755 "$BIN/vaultctl" "$BIN/gatewayctl" "$D$BINDIR/"
  run "$INSTALL" -m 0755 migrations/migrate.sh "$D$DATADIR/migrations/"
  run "$INSTALL" -m 0644 migrations/roles.sql "$D$DATADIR/migrations/"
  run "$INSTALL" -m 0644 migrations/vault/*.sql "$D$DATADIR/migrations/vault/"
  run "$INSTALL" -m 0644 migrations/gateway/*.sql "$D$DATADIR/migrations/gateway/"
  run "$INSTALL" -m 0644 $DOCS "$D$DOCDIR/"
  run "$INSTALL" -m 0644 systemd/strongroom.sysusers.conf "$D$SYSUSERSDIR/strongroom.conf"
  for u in systemd/*.service; do
    subst "$u" > "$D$UNITDIR/$(basename "$u")"; chmod 0644 "$D$UNITDIR/$(basename "$u")"
    echo "$u -> $D$UNITDIR/$(basename "$u")"
  done
  for f in $SAMPLES; do
    t=$D$CONF/$f; new=$(mktemp); subst "systemd/etc/strongroom/$f" > "$new"
    if [ ! -e "$t" ]; then
      run "$INSTALL" -m 0644 "$new" "$t"
    elif ! cmp -s "$new" "$t"; then
      echo "$t exists: kept; the new sample is $t.new"; "$INSTALL" -m 0644 "$new" "$t.new"
    fi
    rm -f "$new"
  done
elif [ "$mode" = uninstall ]; then
  rm -fv "$D$LIBEXECDIR/vaultd" "$D$LIBEXECDIR/gatewayd" "$D$BINDIR/vaultctl" "$D$BINDIR/gatewayctl" \
    "$D$SYSUSERSDIR/strongroom.conf" "$D$DATADIR/migrations/migrate.sh" \
    "$D$DATADIR/migrations/roles.sql"
  for f in migrations/vault/*.sql migrations/gateway/*.sql; do rm -fv "$D$DATADIR/$f"; done
  for f in $DOCS; do rm -fv "$D$DOCDIR/$(basename "$f")"; done
  for u in systemd/*.service; do rm -fv "$D$UNITDIR/$(basename "$u")"; done
  for f in $SAMPLES; do
    new=$(mktemp); subst "systemd/etc/strongroom/$f" > "$new"
    for t in "$D$CONF/$f" "$D$CONF/$f.new"; do
      if [ -e "$t" ]; then cmp -s "$new" "$t" && rm -fv "$t" || echo "$t: changed by the operator, kept"; fi
    done
    rm -f "$new"
  done
  # Only the directories that are ours and now empty (rmdir refuses others).
  for d in "$D$CONF/credentials" "$D$CONF/pki" "$D$CONF" "$D$DATADIR/migrations/vault" \
           "$D$DATADIR/migrations/gateway" "$D$DATADIR/migrations" "$D$DATADIR" "$D$DOCDIR" "$D$LIBEXECDIR"; do
    rmdir "$d" 2>/dev/null || true
  done
else
  echo "usage: systemd/install.sh install|uninstall BIN" >&2; exit 2
fi
