#!/usr/bin/env bash
# Install the Debian 12 packages Strongroom needs; a no-op when all are present.
set -euo pipefail
PKGS=(
  build-essential pkg-config ca-certificates curl jq openssl procps iproute2
  libmicrohttpd-dev libgnutls28-dev libjansson-dev libpq-dev libcurl4-openssl-dev
  libmbedtls-dev libhttp-parser-dev libssl-dev libp11-dev libp11-kit-dev libsodium-dev
  libcmocka-dev softhsm2 opensc postgresql postgresql-client
  nftables systemd chromium
  debootstrap systemd-container
  clang libclang-rt-14-dev wrk
  python3 python3-cryptography
  debhelper dpkg-dev fakeroot lintian scdoc
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# npm packages, each folder pinned by its package-lock.json: the browser tests
# (tests/e2e: playwright-core; it drives Debian's chromium, it downloads no
# browser) and the OpenAPI linter and response validator (tests/openapi:
# @redocly/cli, ajv, yaml; ADR 0130).
npm_deps() {
  local root d; root=$(cd "$(dirname "$0")/.." && pwd)
  command -v npm >/dev/null 2>&1 || { echo "deps: npm not found (needed by the browser tests and the OpenAPI checks)" >&2; return 1; }
  for d in "$root/tests/e2e" "$root/tests/openapi"; do
    if [ ! -f "$d/node_modules/.package-lock.json" ] || [ "$d/package-lock.json" -nt "$d/node_modules/.package-lock.json" ]; then
      echo "deps: npm ci (${d#"$root"/})"
      (cd "$d" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null) || return 1
    fi
  done
}
if [ ${#missing[@]} -eq 0 ]; then
  npm_deps
  exit 0
fi
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages and not root; run as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
npm_deps
echo "deps: done"
