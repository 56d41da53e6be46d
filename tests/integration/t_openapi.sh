# The OpenAPI documents are the contract the suite enforces (issue 19, ADR 0130).

t_openapi_responses() {
  # Every answer the `http` helper got this run, from the gateway's merchant
  # API and the vault's public listener, matches its document: a declared
  # operation and status, a declared media type, a body valid against the
  # schema with no field the schema does not name (tests/openapi/validate.mjs).
  local out rc
  [ -d tests/openapi/node_modules/ajv ] || { fail "tests/openapi/node_modules missing: run make deps"; return; }
  out=$(node tests/openapi/validate.mjs --spec "$GATEWAY_URL=docs/openapi.yaml" \
          --spec "$VAULT_URL=docs/openapi-vault.yaml" "$API_LOG" 2>&1); rc=$?
  echo "$out" | tail -n 60 | sed 's/^/    /'
  [ $rc -eq 0 ] || fail "responses the OpenAPI documents do not allow (above)"
}
