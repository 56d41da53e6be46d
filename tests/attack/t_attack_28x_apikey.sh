# Attack suite, issue 28 (outside attacker, second pass): the API key
# allow-lists of ADR 0119 through the operator's tools.
# - gatewayctl --key-id read with strtoll and no end check: "4,5" bound key 4
#   only (key 5 stayed usable from anywhere), "12x" or " 12" named key 12.
# - gatewayd accepted a trusted_proxies entry covering every address
#   (0.0.0.0/0, ::/0, ::ffff:0:0/96): every peer is then a trusted proxy and
#   a client's own X-Forwarded-For names its source, so any allow-list is
#   bypassed with one header.
# Sourced by tests/integration/run.sh (helpers: http, j, eq, fail, pg;
# at28_* of t_attack_28_apikey_bindings.sh).

t_attack_28x_ctl_key_id_strict() {
  local id2 bad out
  at28_key payments || return
  id2=$AT28_ID
  at28_key payments || return
  for bad in "$AT28_ID,$id2" "${AT28_ID}x" " $AT28_ID" "+$AT28_ID" "$AT28_ID " "0x$AT28_ID" "$AT28_ID.0" \
             "99999999999999999999"; do
    out=$(at28_ctl key allow --key-id "$bad" --source 127.0.0.1/32 2>/dev/null)
    eq "key allow --key-id '$bad' refused as usage" "$?" 2
  done
  eq "no key bound by a malformed id" \
     "$(pg -d gateway -At <<<"SELECT count(*) FROM api_keys WHERE id IN ($AT28_ID, $id2) AND allowed_sources IS NOT NULL")" 0
  at28_ctl key revoke --key-id "${id2}junk" >/dev/null 2>&1
  eq "key revoke --key-id '${id2}junk' refused as usage" "$?" 2
  at28_ctl key roll --key-id "${id2}junk" >/dev/null 2>&1
  eq "key roll --key-id '${id2}junk' refused as usage" "$?" 2
}

t_attack_28x_trusting_everyone_refused() {
  local tp
  for tp in 0.0.0.0/0 ::/0 ::ffff:0:0/96 ::/64; do
    jq --arg t "$tp" '. + {trusted_proxies: [$t]}' var/etc/gatewayd.json > var/etc/gatewayd-at28x.json
    "$SR_BIN/gatewayd" --config var/etc/gatewayd-at28x.json --check-config >/dev/null 2>&1 &&
      fail "trusted_proxies [$tp] accepted: every client may write its own X-Forwarded-For"
  done
  # What it gives (while it is accepted): a key bound to 127.0.0.1 used
  # from 127.0.0.2 with one header.
  jq '. + {trusted_proxies: ["0.0.0.0/0"]}' var/etc/gatewayd.json > var/etc/gatewayd-at28x.json
  if "$SR_BIN/gatewayd" --config var/etc/gatewayd-at28x.json --check-config >/dev/null 2>&1; then
    at28_key payments || return
    at28_ctl key allow --key-id "$AT28_ID" --source 127.0.0.1/32 >/dev/null || { fail "key allow"; return; }
    start_gw2 '{"workers":0,"trusted_proxies":["0.0.0.0/0"]}'
    at28_get "$GW2_URL" "$AT28_SK" 127.0.0.2 -H 'X-Forwarded-For: 127.0.0.1'
    eq "spoofed source through a gateway trusting everyone" "$STATUS" 403
    stop_gw2
  fi
  rm -f var/etc/gatewayd-at28x.json
}
