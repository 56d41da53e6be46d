#!/usr/bin/env bash
# install.sh install|uninstall BIN: what `make install` and `make uninstall`
# do (the Makefile passes DESTDIR, PREFIX and the directories below). The
# Debian packages (packaging/debian/, `make deb`) are made from this same
# install (ADR 0123), so both lay out the same files.
#
# The layout is the one the units in systemd/ expect, with their paths
# rewritten when PREFIX or SYSCONFDIR differ from /usr and /etc (as
# autotools substitutes @libexecdir@): with PREFIX=/usr the installed units
# are byte for byte the ones in systemd/.
#   LIBEXECDIR    vaultd, gatewayd (the units' ExecStart=; not on PATH)
#   BINDIR        vaultctl, gatewayctl, panscan, strongroom-verify-transcript
#   UNITDIR       strongroom-vaultd.service, strongroom-gatewayd.service
#                 (PREFIX=/usr: systemd's systemdsystemunitdir, /lib/systemd/system on Debian 12)
#   SYSUSERSDIR   strongroom-vault.conf, strongroom-gateway.conf (systemd-sysusers:
#                 each daemon's user, only on the host that runs it)
#   TMPFILESDIR   strongroom-common.conf (/etc/strongroom/credentials 0700),
#                 strongroom-vault.conf (the state and SoftHSM2 token directories)
#   MANDIR        man1/, man8/: the pages of docs/man/*.scd (scdoc, build/man/)
#   SYSCONFDIR/strongroom/   systemd/etc/strongroom/: the sample
#                 configuration (0644), pki/ (0755) and credentials/ (0700):
#                 an existing file is never overwritten; a changed sample
#                 lands beside it as FILE.new
#   DATADIR       migrations/ (migrate.sh, roles.sql and the SQL)
#   DOCDIR        architecture.md (the units' Documentation=), configuration.md,
#                 ceremonies/ (hsm/ceremonies/*.md), compliance/ (the scan runbook)
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
: "${TMPFILESDIR:=$PREFIX/lib/tmpfiles.d}" "${MANDIR:=$PREFIX/share/man}" "${MANBUILD:=build/man}"
: "${INSTALL:=install}"
read -ra INST <<< "$INSTALL"   # may carry options (dh_auto_install: "install --strip-program=true")
D=${DESTDIR:-}
CONF=$SYSCONFDIR/strongroom

# The units and the sample tree name /usr/libexec/strongroom, /etc/strongroom
# and /usr/share/doc/strongroom: point them at this layout.
subst() {
  sed -e "s|/usr/libexec/strongroom/|$LIBEXECDIR/|g" -e "s|/etc/strongroom/|$CONF/|g" \
      -e "s|/etc/strongroom\([[:space:]]\)|$CONF\1|g" \
      -e "s|file:///usr/share/doc/strongroom/|file://$DOCDIR/|g" "$1"
}
SAMPLES=$(cd systemd/etc/strongroom && find . -type f ! -name .keep | sed 's|^\./||' | sort)
DOCS="docs/architecture.md docs/configuration.md"
CEREMONIES=$(ls hsm/ceremonies/*.md)
COMPLIANCE=compliance/pci_dss/quarterly_scan_runbook.md
SYSUSERS="strongroom-vault strongroom-gateway"
TMPFILES="strongroom-common strongroom-vault"
MAN1="panscan.1 strongroom-verify-transcript.1"
MAN8="vaultd.8 gatewayd.8 vaultctl.8 gatewayctl.8"
run() { echo "$*"; "$@"; }

if [ "$mode" = install ]; then
  for m in $MAN1 $MAN8; do [ -f "$MANBUILD/$m" ] || { echo "install: $MANBUILD/$m missing (make man)" >&2; exit 1; }; done
  run "${INST[@]}" -d -m 0755 "$D$LIBEXECDIR" "$D$BINDIR" "$D$UNITDIR" "$D$SYSUSERSDIR" "$D$TMPFILESDIR" \
    "$D$DOCDIR/ceremonies" "$D$DOCDIR/compliance" "$D$MANDIR/man1" "$D$MANDIR/man8" \
    "$D$DATADIR/migrations/vault" "$D$DATADIR/migrations/gateway" "$D$CONF" "$D$CONF/pki"
  run "${INST[@]}" -d -m 0700 "$D$CONF/credentials"
  run "${INST[@]}" -m 0755 "$BIN/vaultd" "$BIN/gatewayd" "$D$LIBEXECDIR/"
  run "${INST[@]}" -m 0755 "$BIN/vaultctl" "$BIN/gatewayctl" "$BIN/panscan" "$D$BINDIR/"
  run "${INST[@]}" -m 0755 hsm/ceremonies/verify_transcript.py "$D$BINDIR/strongroom-verify-transcript"
  run "${INST[@]}" -m 0755 migrations/migrate.sh "$D$DATADIR/migrations/"
  run "${INST[@]}" -m 0644 migrations/roles.sql "$D$DATADIR/migrations/"
  run "${INST[@]}" -m 0644 migrations/vault/*.sql "$D$DATADIR/migrations/vault/"
  run "${INST[@]}" -m 0644 migrations/gateway/*.sql "$D$DATADIR/migrations/gateway/"
  run "${INST[@]}" -m 0644 $DOCS "$D$DOCDIR/"
  run "${INST[@]}" -m 0644 $CEREMONIES "$D$DOCDIR/ceremonies/"
  run "${INST[@]}" -m 0644 $COMPLIANCE "$D$DOCDIR/compliance/"
  for m in $MAN1; do run "${INST[@]}" -m 0644 "$MANBUILD/$m" "$D$MANDIR/man1/"; done
  for m in $MAN8; do run "${INST[@]}" -m 0644 "$MANBUILD/$m" "$D$MANDIR/man8/"; done
  for f in $SYSUSERS; do run "${INST[@]}" -m 0644 "systemd/$f.sysusers.conf" "$D$SYSUSERSDIR/$f.conf"; done
  for f in $TMPFILES; do subst "systemd/$f.tmpfiles.conf" > "$D$TMPFILESDIR/$f.conf"; chmod 0644 "$D$TMPFILESDIR/$f.conf"; done
  for u in systemd/*.service; do
    subst "$u" > "$D$UNITDIR/$(basename "$u")"; chmod 0644 "$D$UNITDIR/$(basename "$u")"
    echo "$u -> $D$UNITDIR/$(basename "$u")"
  done
  for f in $SAMPLES; do
    t=$D$CONF/$f; new=$(mktemp); subst "systemd/etc/strongroom/$f" > "$new"
    if [ ! -e "$t" ]; then
      run "${INST[@]}" -m 0644 "$new" "$t"
    elif ! cmp -s "$new" "$t"; then
      echo "$t exists: kept; the new sample is $t.new"; "${INST[@]}" -m 0644 "$new" "$t.new"
    fi
    rm -f "$new"
  done
elif [ "$mode" = uninstall ]; then
  rm -fv "$D$LIBEXECDIR/vaultd" "$D$LIBEXECDIR/gatewayd" "$D$BINDIR/vaultctl" "$D$BINDIR/gatewayctl" \
    "$D$BINDIR/panscan" "$D$BINDIR/strongroom-verify-transcript" "$D$DATADIR/migrations/migrate.sh" \
    "$D$DATADIR/migrations/roles.sql"
  for f in $SYSUSERS; do rm -fv "$D$SYSUSERSDIR/$f.conf"; done
  for f in $TMPFILES; do rm -fv "$D$TMPFILESDIR/$f.conf"; done
  for m in $MAN1; do rm -fv "$D$MANDIR/man1/$m"; done
  for m in $MAN8; do rm -fv "$D$MANDIR/man8/$m"; done
  for f in migrations/vault/*.sql migrations/gateway/*.sql; do rm -fv "$D$DATADIR/$f"; done
  for f in $DOCS; do rm -fv "$D$DOCDIR/$(basename "$f")"; done
  for f in $CEREMONIES; do rm -fv "$D$DOCDIR/ceremonies/$(basename "$f")"; done
  rm -fv "$D$DOCDIR/compliance/$(basename "$COMPLIANCE")"
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
           "$D$DATADIR/migrations/gateway" "$D$DATADIR/migrations" "$D$DATADIR" "$D$DOCDIR/ceremonies" \
           "$D$DOCDIR/compliance" "$D$DOCDIR" "$D$LIBEXECDIR"; do
    rmdir "$d" 2>/dev/null || true
  done
else
  echo "usage: systemd/install.sh install|uninstall BIN" >&2; exit 2
fi
