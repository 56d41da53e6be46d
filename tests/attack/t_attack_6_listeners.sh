# Attack suite, issue 15 item 6 (first part): every HTTPS listener tells
# browsers never to fall back to plain HTTP, including the one that serves
# the card iframe and strongroom.js. Sourced by tests/integration/run.sh.

t_attack_6_hsts_on_every_listener() {
  local url h
  for url in "$VAULT_URL/v1/strongroom.js" "$VAULT_URL/v1/elements/card" "$VAULT_URL/v1/tokens" \
             "$GATEWAY_URL/v1/payments" "$GATEWAY_URL/v1/no_such_route"; do
    h=$(curl -sS --cacert "$STRONGROOM_CA" -o /dev/null -D - "$url" 2>/dev/null | tr -d '\r')
    grep -qi '^strict-transport-security: max-age=[0-9]\{8,\}' <<<"$h" || fail "no HSTS on $url"
  done
  # The admin listeners (operators' /readyz, /metrics) as well.
  for url in "https://localhost:$GW_ADMIN_PORT/healthz" "https://localhost:$VAULT_ADMIN_PORT/healthz"; do
    h=$(curl -sS --cacert "$STRONGROOM_CA" -o /dev/null -D - "$url" 2>/dev/null | tr -d '\r')
    grep -qi '^strict-transport-security: max-age=' <<<"$h" || fail "no HSTS on $url"
  done
}
