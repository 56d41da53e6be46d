#!/usr/bin/env bash
# make layout: the house rules of docs/architecture.md ("Folder map") that a
# script can check. Prints each problem and "layout: N problems"; exit 1 on any.
#   1. Arrows point down only: common/ includes nothing of hsm/, vault/ or
#      gateway/; hsm/ nothing of vault/ or gateway/; vault/ nothing of
#      gateway/; gateway/ nothing of vault/ or hsm/ and no PKCS#11 or mbedTLS
#      header (the gateway never links card-data code).
#   2. No source file over 1,000 lines outside tests/ and generated code.
#   3. Every folder that holds C sources appears in the folder map.
set -uo pipefail
cd "$(dirname "$0")/.."
problems=0
bad() { echo "layout: $*"; problems=$((problems + 1)); }

# 1. include arrows (repo-root relative includes, as every source uses)
check_includes() {   # folder, regex of forbidden includes, why
  local hits
  hits=$(git ls-files -- "$1" | grep -E '\.(c|h)$' | xargs -r grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[\"<]($2)" 2>/dev/null)
  [ -z "$hits" ] || while IFS= read -r l; do bad "$l: $3"; done <<< "$hits"
}
check_includes common/  'hsm/|vault/|gateway/'         "common/ must not include zone or HSM code"
check_includes hsm/     'vault/|gateway/'              "the HSM layer must not include vault or gateway code"
check_includes vault/   'gateway/'                     "the vault must not include gateway code"
check_includes gateway/ 'vault/|hsm/|pkcs11|p11-kit|mbedtls/' "the gateway must not include vault, HSM, PKCS#11 or mbedTLS code"

# 2. file size
while IFS= read -r f; do
  n=$(wc -l < "$f")
  [ "$n" -le 1000 ] || bad "$f: $n lines (at most 1,000 outside tests/)"
done < <(git ls-files -- '*.c' '*.h' '*.sh' '*.js' '*.mjs' | grep -v '^tests/')

# 3. every source folder is in the map
map=$(awk '/^## Folder map/{on=1; next} on && /^## /{exit} on' docs/architecture.md)
[ -n "$map" ] || bad "docs/architecture.md has no '## Folder map' section"
while IFS= read -r d; do
  grep -qF "\`$d/\`" <<< "$map" || bad "$d/ holds C sources but is not in docs/architecture.md's folder map"
done < <(git ls-files -- 'common/*.c' 'hsm/*.c' 'vault/*.c' 'gateway/*.c' | xargs -n1 dirname | sort -u)

echo "layout: $problems problems"
[ "$problems" -eq 0 ]
