#!/usr/bin/env bash
# make deb: the Debian packages (ADR 0123) into build/deb/, then lintian.
#   1. a staged copy of the source tree, build/deb/strongroom-VERSION/: the
#      files git knows (tracked and new, not ignored; no build/ or var/),
#      packaging/debian/ as its debian/, and .commit holding this checkout's
#      `git describe --always --dirty` (scripts/version.sh: the packaged
#      programs' --version names the commit);
#   2. dpkg-buildpackage -b there (debhelper; packaging/debian/rules builds
#      with the project's Makefile and installs with `make install`), so the
#      .debs, .changes and .buildinfo land in build/deb/, never beside the
#      repository;
#   3. lintian on the result: any error or warning fails (each one is fixed
#      or overridden with its reason in packaging/debian/*.lintian-overrides);
#   4. systemd/install_check.sh --debs: the packages hold the files and modes
#      of `make install PREFIX=/usr` and pass the units' checks.
# SR_VERSION (the Makefile's) must be the changelog's version.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=build/deb
die() { echo "deb: $*" >&2; exit 1; }
for t in dpkg-buildpackage dh lintian scdoc fakeroot; do command -v "$t" >/dev/null || die "$t missing (make deps)"; done
version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
[ -z "${SR_VERSION:-}" ] || [ "$SR_VERSION" = "$version" ] \
  || die "the Makefile's SR_VERSION $SR_VERSION differs from packaging/debian/changelog ($version)"
src=$OUT/strongroom-$version
rm -rf "$OUT"; mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && [[ $f != packaging/* ]] && printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -xf - -C "$src"
cp -a packaging/debian "$src/debian"
git describe --always --dirty > "$src/.commit" 2>/dev/null || echo unknown > "$src/.commit"
echo "deb: building $version (commit $(cat "$src/.commit")) in $src"
(cd "$src" && DEB_BUILD_OPTIONS="noddebs parallel=${DEB_JOBS:-2}" dpkg-buildpackage -b --no-sign) \
  > "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; die "dpkg-buildpackage failed (build/deb/build.log)"; }
rm -rf "$src"
ls "$OUT"/*.deb
changes=$(ls "$OUT"/*.changes)
rc=0; lintian --fail-on error,warning --display-info "$changes" > "$OUT/lintian.log" 2>&1 || rc=$?
cat "$OUT/lintian.log"
[ $rc -eq 0 ] || die "lintian found errors or warnings (build/deb/lintian.log)"
echo "deb: lintian: 0 errors, 0 warnings ($(grep -c '^I:' "$OUT/lintian.log" || true) info tags)"
# The packages against make install and the units (systemd/install_check.sh --debs).
systemd/install_check.sh --debs "$OUT"
