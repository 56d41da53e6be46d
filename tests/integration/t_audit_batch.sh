# Integration test of the audit chains' group commit (ADR 0083): many
# concurrent payments through two gatewayd instances (one with 16 threads)
# and vaultd leave both chains intact, gap-free and complete: one gateway
# record and one vault decryption record per payment, `gatewayctl audit
# verify` and `vaultctl audit verify` pass, and records did share
# transactions (so the batched path is the one exercised).
# Sourced by run.sh; uses start_gw2/stop_gw2 from t_lifecycle.sh.

AB_N=${AB_N:-200}

t_audit_group_commit_concurrent() {
  local i g0 v0 g1 v1 gmax vmax ok adm out b r
  local admin_port=$((GW_PORT + 52))
  : > "$TMP/ab_tokens"
  for i in $(seq 1 "$AB_N"); do echo "$i"; done | xargs -P 16 -I{} sh -c \
    'curl -sS --cacert "$1" -H "Authorization: Bearer $2" -H "Content-Type: application/json" --data-binary "{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":$3,\"cvc\":\"123\"}}" "$4/v1/tokens" | jq -r .id' \
    _ "$STRONGROOM_CA" "$STRONGROOM_PK" "$EXP_YEAR" "$VAULT_URL" > "$TMP/ab_tokens"
  eq "tokens made" "$(grep -c '^tok_' "$TMP/ab_tokens")" "$AB_N"
  start_gw2 "{\"threads\":16,\"workers\":0,\"admin_port\":$admin_port}"
  g0=$(pg -d gateway -At <<<"SELECT count(*) FROM audit_events")
  v0=$(pg -d vault -At <<<"SELECT count(*) FROM pan_audit")
  vm0=$(curl -sS --cacert var/pki/ca.crt "https://localhost:$VAULT_ADMIN_PORT/metrics")
  # Hold each chain's lock for a moment at the start of the burst (as a slow
  # disk would): the records queued meanwhile must go out as multi-record
  # batches, so the batched path, not only batches of one, is checked below.
  pg -d gateway -q <<<"BEGIN; SELECT pg_advisory_xact_lock(23449545585263956); SELECT pg_sleep(3); COMMIT;" >/dev/null &
  local lg=$!
  pg -d vault -q <<<"BEGIN; SELECT 1 FROM pan_audit_head FOR UPDATE; SELECT pg_sleep(1.5); COMMIT;" >/dev/null &
  local lv=$!
  sleep 0.3
  # Every other payment through the second instance; 64 in flight at once,
  # each with an Idempotency-Key and retried as a careful merchant does when a
  # connection is dropped (a loaded 2-core machine can hold a new connection
  # past the 5 s handshake deadline, ADR 0109): still one payment, one record.
  awk -v a="$GATEWAY_URL" -v b="$GW2_URL" '{print (NR % 2 ? a : b), $1}' "$TMP/ab_tokens" |
    xargs -P 64 -L 1 sh -c \
    'curl -sS --retry 3 --retry-all-errors --retry-delay 1 --cacert "$1" -H "Authorization: Bearer $2" -H "Idempotency-Key: ab-$4" -H "Content-Type: application/json" -o /dev/null -w "%{http_code}\n" --data-binary "{\"amount\":700,\"currency\":\"usd\",\"payment_method\":\"$4\",\"capture_method\":\"automatic\"}" "$3/v1/payments"' \
    _ "$STRONGROOM_CA" "$STRONGROOM_SK" > "$TMP/ab_pay" 2>&1
  wait $lg $lv
  eq "payments answered 201" "$(grep -c '^201$' "$TMP/ab_pay")" "$AB_N"
  [ "$(grep -c '^201$' "$TMP/ab_pay")" = "$AB_N" ] ||
    echo "    answers: $(sort "$TMP/ab_pay" | uniq -c | tr -s ' \n' ' ')"
  eq "payments captured" "$(pg -d gateway -At <<<"SELECT count(*) FROM payments WHERE status = 'captured' AND payment_method IN ($(sed "s/.*/'&'/" "$TMP/ab_tokens" | paste -sd,))")" "$AB_N"
  adm=$(curl -sS --cacert var/pki/ca.crt "https://localhost:$admin_port/metrics")
  vm1=$(curl -sS --cacert var/pki/ca.crt "https://localhost:$VAULT_ADMIN_PORT/metrics")
  stop_gw2
  # Gateway chain: complete (one success record per payment), gap-free, intact.
  g1=$(pg -d gateway -At <<<"SELECT count(*) FROM audit_events")
  gmax=$(pg -d gateway -At <<<"SELECT max(seq) FROM audit_events")
  [ "$((g1 - g0))" -ge "$AB_N" ] || fail "gateway audit: $((g1 - g0)) new records for $AB_N payments"
  eq "gateway seq has no gap" "$gmax" "$g1"
  eq "one gateway record per payment" "$(pg -d gateway -At <<<"SELECT count(DISTINCT target) FROM audit_events WHERE seq > $g0 AND action = 'POST /v1/payments' AND status = 201 AND result = 'success'")" "$AB_N"
  out=$(ctl audit verify); eq "gatewayctl audit verify" "$?" 0
  eq "gateway chain intact" "$(jq -r .ok <<<"$out")" true
  eq "gateway chain length" "$(jq -r .records <<<"$out")" "$g1"
  # Vault chain: one decryption record per payment, gap-free, head matches, MACs good.
  v1=$(pg -d vault -At <<<"SELECT count(*) FROM pan_audit")
  vmax=$(pg -d vault -At <<<"SELECT max(seq) FROM pan_audit")
  eq "vault seq has no gap" "$vmax" "$v1"
  eq "vault head is the last record" "$(pg -d vault -At <<<"SELECT seq FROM pan_audit_head")" "$v1"
  eq "one vault record per payment" "$(pg -d vault -At <<<"SELECT count(DISTINCT payment_id) FROM pan_audit WHERE seq > $v0 AND purpose = 'authorize' AND result = 'decrypted'")" "$AB_N"
  "$SR_BIN/vaultctl" --config var/etc/vaultd.json audit verify >/dev/null; eq "vaultctl audit verify" "$?" 0
  # Multi-record batches happened in both daemons.
  b=$(gc_metric batches gateway_audit "$adm"); r=$(gc_metric records gateway_audit "$adm")
  awk -v b="$b" -v r="$r" 'BEGIN {exit !(b > 0 && r >= 100 && r > b)}' || fail "gateway: no batching ($r records in $b transactions)"
  b=$(( $(gc_metric batches pan_audit "$vm1") - $(gc_metric batches pan_audit "$vm0") ))
  r=$(( $(gc_metric records pan_audit "$vm1") - $(gc_metric records pan_audit "$vm0") ))
  [ "$r" -ge "$AB_N" ] && [ "$r" -gt "$b" ] || fail "vault: no batching ($r records in $b transactions)"
}

gc_metric() {  # batches|records CHAIN METRICS_TEXT -> the counter (0 if absent)
  awk -v n="strongroom_group_commit_$1_total{chain=\"$2\"}" '$1 == n {v = $2} END {printf "%d\n", v}' <<<"$3"
}
