# Attack suite, issue 28 item 5: API keys bound to where they may be used
# (ADR 0119). A stolen sk_ key with an allow-list is refused from any other
# address: with 403 api_key_source_not_allowed, before idempotency or body
# validation, counted in metrics and audited without the key. Spoofed
# X-Forwarded-For from an untrusted peer, IPv4-mapped IPv6 addresses, an
# expired rolled key and a key used one second after its expiry.
# The stack listens on 127.0.0.1: "another address" is a client bound to
# 127.0.0.2 (curl --interface). Sourced by tests/integration/run.sh
# (helpers: http, j, eq, fail, pg; start_gw2/stop_gw2 of t_lifecycle.sh).

at28_ctl() { "$SR_BIN/gatewayctl" --config var/etc/gatewayd.json "$@"; }
# at28_key ROLE: a new key of the test merchant; sets AT28_ID, AT28_SK.
at28_key() {
  local out
  out=$(at28_ctl key create --merchant "$STRONGROOM_MERCHANT" --role "$1") || { fail "key create"; return 1; }
  AT28_ID=$(jq -r .id <<<"$out"); AT28_SK=$(jq -r .secret_key <<<"$out")
}
# at28_get URL KEY FROM [curl args...]: GET /v1/payments?limit=1 from source address FROM.
at28_get() { http GET "$1/v1/payments?limit=1" "$2" "" --interface "$3" "${@:4}"; }
at28_refused() { # WHAT: the last answer was the source refusal
  eq "$1: status" "$STATUS" 403; eq "$1: code" "$(j .error.code)" api_key_source_not_allowed
}
at28_metric() {
  curl -sS --cacert var/pki/ca.crt "https://localhost:$GW_ADMIN_PORT/metrics" 2>/dev/null |
    awk '$1 ~ /^strongroom_api_key_source_refused_total/ {s += $2} END {print s + 0}'
}

t_attack_28_key_refused_from_another_address() {
  local m0 n0 out idem="at28-$RANDOM$RANDOM"
  at28_key payments || return
  out=$(at28_ctl key allow --key-id "$AT28_ID" --source 127.0.0.1/32) || { fail "key allow"; return; }
  eq "canonical list" "$(jq -c .allowed_sources <<<"$out")" '["127.0.0.1/32"]'
  at28_get "$GATEWAY_URL" "$AT28_SK" 127.0.0.1; eq "from the allowed address" "$STATUS" 200
  m0=$(at28_metric)
  n0=$(pg -d gateway -At <<<"SELECT count(*) FROM audit_events WHERE reason = 'api_key_source_not_allowed' AND key_id = $AT28_ID")
  at28_get "$GATEWAY_URL" "$AT28_SK" 127.0.0.2; at28_refused "from 127.0.0.2"
  # Before idempotency and body validation: an invalid body with an
  # Idempotency-Key is refused for its source, and no key is claimed.
  http POST "$GATEWAY_URL/v1/payments" "$AT28_SK" '{"amount":-1}' --interface 127.0.0.2 -H "Idempotency-Key: $idem"
  at28_refused "POST from 127.0.0.2"
  eq "no idempotency claim" "$(pg -d gateway -At <<<"SELECT count(*) FROM idempotency_keys WHERE key = '$idem'")" 0
  eq "refusals counted" "$(at28_metric)" "$((m0 + 2))"
  eq "refusals audited with key id and source" "$(pg -d gateway -At <<<"SELECT count(*) FROM audit_events WHERE reason = 'api_key_source_not_allowed' AND key_id = $AT28_ID AND result = 'refused' AND status = 403 AND target = 'source:127.0.0.2'")" "$((n0 + 2))"
  eq "no key in the audit chain" "$(pg -d gateway -At <<<"SELECT count(*) FROM audit_events a WHERE a::text LIKE '%${AT28_SK:8}%'")" 0
  grep -q "${AT28_SK:8}" var/log/gatewayd.log && fail "key in the gateway's log"
  # The other way round.
  at28_ctl key allow --key-id "$AT28_ID" --source 127.0.0.2 >/dev/null || fail "key allow .2"
  at28_get "$GATEWAY_URL" "$AT28_SK" 127.0.0.1; at28_refused "from 127.0.0.1"
  at28_get "$GATEWAY_URL" "$AT28_SK" 127.0.0.2; eq "from 127.0.0.2 once allowed" "$STATUS" 200
  # An IPv6-only list refuses every IPv4 client; "any" lifts the binding.
  at28_ctl key allow --key-id "$AT28_ID" --source 2001:db8::/32,::1 >/dev/null || fail "key allow v6"
  at28_get "$GATEWAY_URL" "$AT28_SK" 127.0.0.2; at28_refused "IPv6-only list"
  at28_ctl key allow --key-id "$AT28_ID" --source any >/dev/null || fail "key allow any"
  at28_get "$GATEWAY_URL" "$AT28_SK" 127.0.0.2; eq "any" "$STATUS" 200
  # Lists gatewayctl refuses: host bits, bad prefix, garbage, too many.
  local bad
  for bad in 127.0.0.1/8 10.0.0.0/33 10.0.0.0/08 ::1/129 10.0.0.0/ 'localhost' '' '10.0.0.0/8,' \
             "$(printf '10.0.%d.0/24,' $(seq 0 64) | sed 's/,$//')"; do
    at28_ctl key allow --key-id "$AT28_ID" --source "$bad" >/dev/null 2>&1
    eq "refused list '${bad:0:20}'" "$?" 2
  done
  at28_ctl key allow --key-id 999999999 --source 127.0.0.1 >/dev/null 2>&1 && fail "unknown key allowed"
  # Last use and its source in key list (written at most once a minute).
  out=$(at28_ctl key list --merchant "$STRONGROOM_MERCHANT" | jq -c ".[] | select(.id == $AT28_ID)")
  eq "last used source" "$(jq -r .last_used_source <<<"$out")" 127.0.0.1
  [ "$(jq -r .last_used <<<"$out")" != null ] || fail "no last used time"
  eq "allow-list listed" "$(jq -c .allowed_sources <<<"$out")" null
}

t_attack_28_spoofed_forwarded_for() {
  at28_key payments || return
  at28_ctl key allow --key-id "$AT28_ID" --source 127.0.0.1/32 >/dev/null || { fail "key allow"; return; }
  # No trusted proxy configured: X-Forwarded-For is never read.
  at28_get "$GATEWAY_URL" "$AT28_SK" 127.0.0.2 -H 'X-Forwarded-For: 127.0.0.1'
  at28_refused "spoofed X-Forwarded-For, nothing trusted"
  # A gateway trusting the proxy at 127.0.0.3 only.
  start_gw2 '{"workers":0,"trusted_proxies":["127.0.0.3/32"]}'
  at28_get "$GW2_URL" "$AT28_SK" 127.0.0.3 -H 'X-Forwarded-For: 127.0.0.1'
  eq "through the trusted proxy" "$STATUS" 200
  at28_get "$GW2_URL" "$AT28_SK" 127.0.0.2 -H 'X-Forwarded-For: 127.0.0.1'
  at28_refused "spoofed X-Forwarded-For from an untrusted peer"
  # The client writes its own entry first; the proxy appends the real one.
  at28_get "$GW2_URL" "$AT28_SK" 127.0.0.3 -H 'X-Forwarded-For: 127.0.0.1, 127.0.0.2'
  at28_refused "left-most entry forged"
  at28_get "$GW2_URL" "$AT28_SK" 127.0.0.3 -H 'X-Forwarded-For: 127.0.0.1' -H 'X-Forwarded-For: 127.0.0.2'
  at28_refused "a second field line"
  at28_get "$GW2_URL" "$AT28_SK" 127.0.0.3 -H 'X-Forwarded-For: 127.0.0.2, 127.0.0.1, 127.0.0.3'
  eq "trusted hops skipped from the right" "$STATUS" 200
  at28_get "$GW2_URL" "$AT28_SK" 127.0.0.3 -H 'X-Forwarded-For: 127.0.0.1:443'
  at28_refused "entry with a port (unknown source)"
  at28_get "$GW2_URL" "$AT28_SK" 127.0.0.3 -H 'X-Forwarded-For: unknown'
  at28_refused "garbage entry"
  stop_gw2
  # A trusted_proxies entry that is not a network: the gateway refuses to start.
  jq '. + {trusted_proxies: ["10.0.0.1/8"]}' var/etc/gatewayd.json > "$TMP/gw-badproxy.json"
  "$SR_BIN/gatewayd" --config "$TMP/gw-badproxy.json" --check-config >/dev/null 2>&1 && fail "host bits in trusted_proxies accepted"
  true
}

t_attack_28_ipv4_mapped() {
  local out
  at28_key payments || return
  # ::ffff:127.0.0.1 is 127.0.0.1: stored and matched as IPv4.
  out=$(at28_ctl key allow --key-id "$AT28_ID" --source ::ffff:127.0.0.1) || { fail "key allow mapped"; return; }
  eq "mapped address canonical" "$(jq -c .allowed_sources <<<"$out")" '["127.0.0.1/32"]'
  at28_get "$GATEWAY_URL" "$AT28_SK" 127.0.0.1; eq "IPv4 client, mapped entry" "$STATUS" 200
  at28_get "$GATEWAY_URL" "$AT28_SK" 127.0.0.2; at28_refused "other IPv4 client, mapped entry"
  out=$(at28_ctl key allow --key-id "$AT28_ID" --source ::ffff:127.0.0.0/120) || { fail "key allow mapped net"; return; }
  eq "mapped network canonical" "$(jq -c .allowed_sources <<<"$out")" '["127.0.0.0/24"]'
  # Through a trusted proxy named in its mapped form, a mapped entry in
  # X-Forwarded-For is its IPv4 client. (libmicrohttpd's IPv6 listeners are
  # IPv6-only, so a mapped TCP peer is covered by tests/unit/test_gw_source.c.)
  start_gw2 '{"workers":0,"trusted_proxies":["::ffff:127.0.0.3"]}'
  at28_ctl key allow --key-id "$AT28_ID" --source 127.0.0.1/32 >/dev/null
  at28_get "$GW2_URL" "$AT28_SK" 127.0.0.3 -H 'X-Forwarded-For: ::ffff:127.0.0.1'
  eq "mapped proxy entry, mapped client in X-Forwarded-For" "$STATUS" 200
  at28_get "$GW2_URL" "$AT28_SK" 127.0.0.3 -H 'X-Forwarded-For: ::ffff:127.0.0.2'
  at28_refused "other mapped client in X-Forwarded-For"
  at28_get "$GW2_URL" "$AT28_SK" 127.0.0.3 -H 'X-Forwarded-For: ::ffff:127.0.0.1, ::ffff:127.0.0.3'
  eq "mapped form of the trusted proxy skipped" "$STATUS" 200
  stop_gw2
  # An IPv6 listener: the IPv6 peer matches IPv6 entries only.
  local url="https://localhost:$GW2_PORT" i
  jq --argjson p "$GW2_PORT" '. + {port: $p, admin_port: 0, workers: 0, listen: "::1"}' var/etc/gatewayd.json > var/etc/gatewayd2.json
  "$SR_BIN/gatewayd" --config var/etc/gatewayd2.json >>var/log/gatewayd2.log 2>&1 &
  GW2_PID=$!
  for ((i = 0; i < 200; i++)); do (exec 3<>/dev/tcp/::1/"$GW2_PORT") 2>/dev/null && break; sleep 0.1; done
  at28_get "$url" "$AT28_SK" ::1 --ipv6; at28_refused "IPv6 peer, IPv4 list"
  at28_ctl key allow --key-id "$AT28_ID" --source ::1/128 >/dev/null
  at28_get "$url" "$AT28_SK" ::1 --ipv6; eq "IPv6 peer allowed" "$STATUS" 200
  stop_gw2
}

t_attack_28_expired_rolled_key() {
  local out old new exp
  at28_key payments || return
  old=$AT28_SK
  at28_ctl key allow --key-id "$AT28_ID" --source 127.0.0.1 >/dev/null || { fail "key allow"; return; }
  # Rolled with an overlap of 0: the old key stops at once.
  out=$(at28_ctl key roll --key-id "$AT28_ID" --expires-in 0) || { fail "roll"; return; }
  new=$(jq -r .secret_key <<<"$out")
  at28_get "$GATEWAY_URL" "$old" 127.0.0.1
  eq "expired rolled key" "$STATUS" 401; eq "code" "$(j .error.code)" api_key_expired
  at28_get "$GATEWAY_URL" "$new" 127.0.0.1; eq "new key" "$STATUS" 200
  at28_get "$GATEWAY_URL" "$new" 127.0.0.2; at28_refused "new key keeps the allow-list"
  # Rolled with an overlap: works until its expiry, refused one second after.
  out=$(at28_ctl key roll --key-id "$(jq -r .id <<<"$out")" --expires-in 3s) || { fail "roll 2"; return; }
  exp=$(jq -r .old_key_expires <<<"$out")
  [ "$exp" -ge "$(date +%s)" ] || fail "expiry not in the future"
  at28_get "$GATEWAY_URL" "$new" 127.0.0.1; eq "old key within the overlap" "$STATUS" 200
  pg -d gateway -q <<<"SELECT pg_sleep(greatest(0, extract(epoch FROM (SELECT expires_at FROM api_keys WHERE id = $(jq -r .replaces <<<"$out")) - now()) + 1))"
  at28_get "$GATEWAY_URL" "$new" 127.0.0.1
  eq "one second after its expiry" "$STATUS" 401; eq "code" "$(j .error.code)" api_key_expired
  at28_ctl key roll --key-id "$AT28_ID" --expires-in 1h30 >/dev/null 2>&1 && fail "bad duration accepted"
  at28_ctl key roll --key-id "$AT28_ID" --expires-in 31d >/dev/null 2>&1 && fail "31 days accepted"
  true
}
