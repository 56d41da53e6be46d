#!/usr/bin/env bash
# make openapi: lint docs/openapi.yaml and docs/openapi-vault.yaml with Redocly
# CLI (pinned in tests/openapi/package-lock.json; make deps installs it), the
# recommended rules with warnings as errors (tests/openapi/redocly.yaml,
# ADR 0130). Prints "openapi lint: N passed, N failed" (one per document).
set -uo pipefail
cd "$(dirname "$0")/../tests/openapi"
[ -x node_modules/.bin/redocly ] || { echo "openapi lint: node_modules missing in tests/openapi (make deps)" >&2; echo "openapi lint: 0 passed, 1 failed"; exit 1; }
# No telemetry and no update check: the lint reads the two files, nothing else.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
out=$(node_modules/.bin/redocly lint --config redocly.yaml --format=stylish 2>&1); rc=$?
# Drop the runtime's boxed banners (Node.js support notices), keep findings.
grep -v -e '[║╔╚]' -e '^[[:space:]]*$' <<<"$out"
n=$(grep -c '^  root:\|^    root:' redocly.yaml)
if [ $rc -eq 0 ]; then echo "openapi lint: $n passed, 0 failed"; else echo "openapi lint: 0 passed, $n failed"; fi
exit $rc
