#!/usr/bin/env bash
# Install the Debian 12 packages Strongroom needs; a no-op when all are present.
set -euo pipefail
PKGS=(
  build-essential pkg-config ca-certificates curl jq openssl procps iproute2
  libmicrohttpd-dev libgnutls28-dev libjansson-dev libpq-dev libcurl4-openssl-dev
  libmbedtls-dev libhttp-parser-dev libssl-dev libp11-dev libp11-kit-dev libsodium-dev
  libcmocka-dev softhsm2 opensc postgresql postgresql-client
  clang libclang-rt-14-dev wrk
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
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
echo "deps: done"
