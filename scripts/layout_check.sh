#!/usr/bin/env bash
# make layout: the house rules of docs/architecture.md ("Folder map") that a
# script can check. Prints each problem and "layout: N problems"; exit 1 on any.
#   1. Arrows point down only: common/ includes nothing of hsm/, vault/ or
#      gateway/; hsm/ nothing of vault/ or gateway/; vault/ nothing of
#      gateway/; gateway/ nothing of vault/ or hsm/ and no PKCS#11 or mbedTLS
#      header (the gateway never links card-data code).
#   2. No source file (.c .h .sh .pl .py .js .mjs, tests/ included; tracked,
#      or new and not ignored) over 1,000 lines, but for the exceptions
#      listed below with their reasons.
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

# 2. file size. Exceptions: one path a line, with the reason it cannot be
#    split as a comment ("  path/to/file.c   # why"). An entry no longer
#    over the limit (or gone) is a problem too, so that the list only shrinks.
size_exceptions=(
  # none: every source file is within the limit
)
is_exception() { local e; for e in "${size_exceptions[@]}"; do [ "$e" = "$1" ] && return 0; done; return 1; }
while IFS= read -r f; do
  [ -f "$f" ] || continue          # deleted in the work tree, not yet committed
  n=$(wc -l < "$f")
  if is_exception "$f"; then
    [ "$n" -gt 1000 ] || bad "$f: $n lines, no longer over 1,000: remove it from size_exceptions in scripts/layout_check.sh"
  else
    [ "$n" -le 1000 ] || bad "$f: $n lines (at most 1,000: split it along a seam; exceptions are listed in scripts/layout_check.sh)"
  fi
done < <(git ls-files --cached --others --exclude-standard -- '*.c' '*.h' '*.sh' '*.pl' '*.py' '*.js' '*.mjs' | sort -u)
for e in "${size_exceptions[@]}"; do
  [ -f "$e" ] || bad "$e: listed in size_exceptions but not in the tree"
done

# 3. every source folder is in the map
map=$(awk '/^## Folder map/{on=1; next} on && /^## /{exit} on' docs/architecture.md)
[ -n "$map" ] || bad "docs/architecture.md has no '## Folder map' section"
while IFS= read -r d; do
  grep -qF "\`$d/\`" <<< "$map" || bad "$d/ holds C sources but is not in docs/architecture.md's folder map"
done < <(git ls-files -- 'common/*.c' 'hsm/*.c' 'vault/*.c' 'gateway/*.c' | xargs -n1 dirname | sort -u)

echo "layout: $problems problems"
[ "$problems" -eq 0 ]
