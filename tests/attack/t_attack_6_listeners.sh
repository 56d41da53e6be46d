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

# Second part (ADR 0109): idle TCP connections that never send a TLS byte,
# more than a listener has connection slots (the vault's public listener:
# 256 threads; the gateway's pool: 1,020 connections), all from 127.0.0.1.
# Meanwhile a client on another address (127.0.0.2) must still tokenize and
# pay. Every wait is bounded (curl --max-time); nothing times latency.
# _attack6_open_idle PORT N [BYTE]: appends fds to ATTACK6_FDS; with BYTE,
# each socket sends that one byte and then nothing (a handshake begun and
# never finished), without, nothing at all.
_attack6_open_idle() {
  local port=$1 n=$2 byte=${3:-} i fd
  for ((i = 0; i < n; i++)); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || continue
    ATTACK6_FDS+=("$fd")
    [ -z "$byte" ] || printf "$byte" >&"$fd"
  done
}
# _attack6_refused ADMIN_PORT LISTENER: connections the listener refused so far (all reasons)
_attack6_refused() {
  curl -sS --cacert "$STRONGROOM_CA" "https://localhost:$1/metrics" |
    awk -v l="listener=\"$2\"" 'index($0, "strongroom_http_connections_refused_total{") == 1 && index($0, l) { n += $2 } END { print n + 0 }'
}

# Silent sockets (ADR 0109): a TCP connection that never sends a byte stays
# in the kernel (TCP_DEFER_ACCEPT) and never reaches the daemon, so an
# attacker reopening them costs the listener nothing. Before: each one was
# accepted, counted against its address's cap and closed, and reopened; a
# reconnecting flood of 2,000 kept the accepting thread busy.
t_attack_6_silent_sockets_never_reach_the_daemon() {
  local v0 g0 v1 g1
  v0=$(_attack6_refused "$VAULT_ADMIN_PORT" vault-public)
  g0=$(_attack6_refused "$GW_ADMIN_PORT" gateway)
  ATTACK6_FDS=()
  _attack6_open_idle "$VAULT_PUBLIC_PORT" 300
  _attack6_open_idle "$GW_PORT" 300
  sleep 1
  v1=$(_attack6_refused "$VAULT_ADMIN_PORT" vault-public)
  g1=$(_attack6_refused "$GW_ADMIN_PORT" gateway)
  _attack6_close_idle
  eq "vault-public connections refused while 300 silent sockets were open" "$((v1 - v0))" 0
  eq "gateway connections refused while 300 silent sockets were open" "$((g1 - g0))" 0
}
_attack6_close_idle() { local fd; for fd in "${ATTACK6_FDS[@]}"; do exec {fd}>&-; done; ATTACK6_FDS=(); }

t_attack_6_idle_sockets_leave_other_clients_served() {
  local other=(--interface 127.0.0.2 --max-time 10 --resolve "localhost:$VAULT_PUBLIC_PORT:127.0.0.1"
               --resolve "localhost:$GW_PORT:127.0.0.1") tok m
  ATTACK6_FDS=()
  # One byte each (a TLS record's first byte), so the kernel hands them
  # to the daemon and the per-address cap is what stops them.
  _attack6_open_idle "$VAULT_PUBLIC_PORT" 300 '\x16'
  _attack6_open_idle "$GW_PORT" 1100 '\x16'
  sleep 1
  http POST "$VAULT_URL/v1/tokens" "$STRONGROOM_PK" \
    "{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":$EXP_YEAR,\"cvc\":\"123\"}}" "${other[@]}"
  eq "tokenize from 127.0.0.2 during the idle flood" "$STATUS" 201
  tok=$(j .id)
  http POST "$GATEWAY_URL/v1/payments" "$STRONGROOM_SK" \
    "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$tok\",\"capture_method\":\"automatic\"}" "${other[@]}"
  eq "payment from 127.0.0.2 during the idle flood" "$STATUS" 201
  _attack6_close_idle
  # The refusals are counted per listener and reason.
  m=$(curl -sS --cacert "$STRONGROOM_CA" "https://localhost:$VAULT_ADMIN_PORT/metrics")
  grep -q '^strongroom_http_connections_refused_total{listener="vault-public",reason="per_ip_limit"} [1-9]' <<<"$m" \
    || fail "vault-public refusals not counted"
  m=$(curl -sS --cacert "$STRONGROOM_CA" "https://localhost:$GW_ADMIN_PORT/metrics")
  grep -q '^strongroom_http_connections_refused_total{listener="gateway",reason=' <<<"$m" \
    || fail "gateway refusals not counted"
}

# Third part (ADR 0109): the gateway's rate limits are keyed on who the
# client is, not on what it presents. Before: on the SHA-256 of the bearer
# token, before authentication, so each random token was a fresh bucket (an
# unlimited stream of key lookups) and a merchant's second key a second
# bucket; every PSP webhook (no bearer) shared one bucket, so one sender
# starved the PSPs. Now: per merchant once authenticated, per client
# address before (PSP webhooks: per source address).
t_attack_6_rate_limits_keyed_on_merchant_and_address() {
  local i codes key2 body
  key2=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json key create --merchant "$STRONGROOM_MERCHANT" \
         --role payments 2>/dev/null | jq -r .secret_key)
  start_gw2 '{"workers":0,"rate_limit_per_s":1,"rate_limit_burst":3,"rate_limit_ip_per_s":1,"rate_limit_ip_burst":6}'
  # One merchant, two keys, one bucket.
  for i in 1 2 3; do http GET "$GW2_URL/v1/payments?limit=1" "$STRONGROOM_SK"; done
  http GET "$GW2_URL/v1/payments?limit=1" "$key2"
  eq "the merchant's second key shares its bucket" "$STATUS" 429
  # Random tokens from one address: the address's bucket, not a fresh one each.
  codes=
  # (Until the first 429, at most 20: on a loaded machine 8 requests can
  # take long enough for the bucket to refill.)
  for ((i = 1; i <= 20; i++)); do
    http GET "$GW2_URL/v1/payments?limit=1" "sk_test_$(openssl rand -hex 12)" "" --interface 127.0.0.2 \
      --resolve "localhost:$GW2_PORT:127.0.0.1"
    codes+="$STATUS "
    [ "$STATUS" != 429 ] || break
  done
  [[ $codes == *429* ]] || fail "20 random keys from one address, burst 6: got $codes"
  # PSP webhooks: one sender exhausts its own bucket, not another's.
  body='{"id":"evt_attack6","type":"charge.succeeded","data":{"object":{}}}'
  for ((i = 1; i <= 20; i++)); do
    http POST "$GW2_URL/v1/psp_webhooks/stripe" "" "$body" -H "Stripe-Signature: t=1,v1=00" \
      --interface 127.0.0.3 --resolve "localhost:$GW2_PORT:127.0.0.1"
    [ "$STATUS" != 429 ] || break
  done
  eq "webhook flood from 127.0.0.3 limited" "$STATUS" 429
  http POST "$GW2_URL/v1/psp_webhooks/stripe" "" "$body" -H "Stripe-Signature: t=1,v1=00" \
    --interface 127.0.0.4 --resolve "localhost:$GW2_PORT:127.0.0.1"
  [ "$STATUS" != 429 ] || fail "a webhook from 127.0.0.4 refused by 127.0.0.3's flood (one shared bucket)"
  stop_gw2
}
