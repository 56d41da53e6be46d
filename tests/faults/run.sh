#!/usr/bin/env bash
# make faults (issue 16): correct through every fault. For each scenario, a
# bounded payment load runs on the real dev stack (SoftHSM2, PostgreSQL,
# pspsim, vaultd, gatewayd, mutual TLS) while one fault strikes; the clients
# behave as a careful merchant does (one Idempotency-Key per payment, retried
# on 5xx, 409 and lost answers until it gets a final answer). Then the run
# is audited three ways, from the PSP's, the gateway's and the vault's own
# records, and fails on:
#   - double:     two payments for one Idempotency-Key;
#   - psp:        the PSP's records and the vault's disagree (more charges at
#                 the PSP than payments the vault recorded as sent to it: a
#                 charge nobody knows about, or a payment charged twice);
#   - lost:       a 2xx token or payment the client holds that a database lacks;
#   - gave up:    a payment the client never got a final answer for, after
#                 retrying with its key for about 30 s;
#   - not final:  a payment still processing or unknown after the settle time;
#   - disagree:   the gateway and the vault differ on a payment's outcome;
#   - audit:      a broken or shortened audit chain (gateway, vault), or fewer
#                 gateway audit records than payments created;
#   - webhooks:   a captured payment whose payment.captured event never
#                 reached the merchant's receiver (tests/whsink) with a valid
#                 signature.
# Prints one table row per scenario (requests, client errors, recovery time,
# the counts above). FAULT_SECONDS (default 6) is the load per scenario,
# FAULT_CLIENTS (4) the concurrent clients, FAULT_SCENARIOS a space-separated
# subset (default: all). Each fault strikes at a random moment between 15% and
# 60% of its load; FAULT_SEED (printed at the start) replays the same moments. make check runs the defaults; longer runs:
#   FAULT_SECONDS=60 FAULT_CLIENTS=16 make faults
set -uo pipefail
. "$(cd "$(dirname "$0")/../.." && pwd)/scripts/lib.sh"
cd "$ROOT"
SECONDS_LOAD=${FAULT_SECONDS:-6}
CLIENTS=${FAULT_CLIENTS:-4}
SETTLE=${FAULT_SETTLE_SECONDS:-40}
SEED=${FAULT_SEED:-$(( $(date +%s%N) % 1000000 ))}
RANDOM=$SEED
ALL="none kill_vaultd kill_gatewayd kill_pspsim pg_restart_fast pg_restart_immediate pg_down db_conns_terminated psp_slow psp_drop hsm_away webhook_receiver_down"
SCEN=${FAULT_SCENARIOS:-$ALL}
TMP=$(mktemp -d)
RESULTS=${RESULTS:-}
WH_PORT=$((8461 + SR_PORT_OFFSET))   # not the integration suite's receiver (8459)
WH=https://localhost:$WH_PORT
WH_PID=
# (a scenario restarts whsink inside a subshell: it is found by its port)
cleanup() { pkill -f "whsink --port $WH_PORT " 2>/dev/null; scripts/down.sh >/dev/null 2>&1; rm -rf "$TMP"; }
trap cleanup EXIT

restart_stack_parts() { SR_BIN=$SR_BIN scripts/up.sh >>"$TMP/up.log" 2>&1; }
scripts/down.sh >/dev/null 2>&1
mkdir -p var/log
restart_stack_parts || { tail -n 30 "$TMP/up.log"; echo "faults: the stack did not start"; exit 1; }
set -a; . var/dev.env; set +a
CA=(--cacert "$STRONGROOM_CA")
PSPC=(--cacert var/pki/ca.crt --resolve "psp.strongroom.test:$PSP_PORT:127.0.0.1" --cert var/pki/psp-control.crt --key var/pki/psp-control.key)
PSP_URL=https://psp.strongroom.test:$PSP_PORT
EXP_YEAR=$(( $(date +%Y) + 3 ))
sqlg() { pg -d gateway -At -c "$1" 2>/dev/null; }
sqlv() { pg -d vault -At -c "$1" 2>/dev/null; }
ready() { curl -sS --max-time 2 --cacert var/pki/ca.crt -o /dev/null -w '%{http_code}' "https://localhost:$1/readyz" 2>/dev/null; }
pgdata() { echo "$(readlink -f var/pg)/data"; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# The merchant's webhook receiver (whsink, which verifies each delivery's
# Strongroom-Signature) and an endpoint for payment.captured.
wh_start() {
  "$SR_BIN/whsink" --port "$WH_PORT" --cert var/pki/pspsim.crt --key var/pki/pspsim.key >>var/log/whsink-faults.log 2>&1 &
  WH_PID=$!
  wait_port "$WH_PORT" 20 || return 1
  curl -sS --cacert var/pki/ca.crt -H 'Content-Type: application/json' --data-binary "{\"secret\":\"$WH_SECRET\"}" \
    "$WH/_sink/receivers/faults" >/dev/null
}
wh_delivered() {  # the event ids whsink took with a valid signature (2xx), sorted
  curl -sS --max-time 10 --cacert var/pki/ca.crt "$WH/_sink/stats" 2>/dev/null |
    jq -r '.delivered.faults // {} | keys[]' 2>/dev/null | LC_ALL=C sort
}
WH_SECRET=none
wh_start || { echo "faults: whsink did not start"; exit 1; }
out=$(curl -sS "${CA[@]}" -H "Authorization: Bearer $STRONGROOM_SK" -H 'Content-Type: application/json' \
  --data-binary "{\"url\":\"$WH/hook/faults\",\"enabled_events\":[\"payment.captured\"]}" "$GATEWAY_URL/v1/webhook_endpoints")
WH_SECRET=$(jq -r '.secret // empty' <<<"$out")
[ -n "$WH_SECRET" ] || { echo "faults: webhook endpoint not created: $out"; exit 1; }
curl -sS --cacert var/pki/ca.crt -H 'Content-Type: application/json' --data-binary "{\"secret\":\"$WH_SECRET\"}" \
  "$WH/_sink/receivers/faults" >/dev/null
: > "$TMP/wh_seen"

# client N DEADLINE: tokenize and pay until DEADLINE (epoch seconds); one
# line per payment in $TMP/c.N: key http status payment token tokhttp errors.
client() {
  local n=$1 deadline=$2 i=0 key tok st body pay status errs tries out=$TMP/c.$1
  : > "$out"
  while [ "$(date +%s)" -lt "$deadline" ]; do
    i=$((i + 1)); errs=0; tok=""
    for tries in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
      st=$(curl -sS --max-time 10 "${CA[@]}" -o "$TMP/t.$n" -w '%{http_code}' -H "Authorization: Bearer $STRONGROOM_PK" \
        -H 'Content-Type: application/json' --data-binary \
        "{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":$EXP_YEAR,\"cvc\":\"123\"}}" \
        "$VAULT_URL/v1/tokens" 2>/dev/null) || st=000
      [ "$st" = 201 ] && { tok=$(jq -r .id "$TMP/t.$n"); break; }
      errs=$((errs + 1)); sleep 0.25
    done
    [ -n "$tok" ] || { echo "- - - - - 000 $errs" >> "$out"; continue; }
    key="flt-$SCENARIO-$n-$i-$RANDOM"
    body="{\"amount\":$((1000 + RANDOM % 9000)),\"currency\":\"usd\",\"payment_method\":\"$tok\",\"capture_method\":\"automatic\"}"
    st=000; pay=-; status=-
    for tries in $(seq 120); do
      st=$(curl -sS --max-time 15 "${CA[@]}" -o "$TMP/p.$n" -w '%{http_code}' -H "Authorization: Bearer $STRONGROOM_SK" \
        -H "Idempotency-Key: $key" -H 'Content-Type: application/json' --data-binary "$body" \
        "$GATEWAY_URL/v1/payments" 2>/dev/null) || st=000
      case $st in
        2*) pay=$(jq -r .id "$TMP/p.$n"); status=$(jq -r .status "$TMP/p.$n"); break ;;
        4*) [ "$st" != 409 ] && [ "$st" != 429 ] && break ;;
      esac
      errs=$((errs + 1)); sleep 0.25
    done
    echo "$key $st $status $pay $tok 201 $errs" >> "$out"
  done
}

# fault NAME AT: strike AT seconds into the load; prints the seconds from the
# strike until both daemons are ready again (the fault's own length included:
# pg_down keeps PostgreSQL down 3 s, hsm_away the token away 2 s).
fault() {
  local t0 t1 d
  sleep "$2"
  t0=$(date +%s.%N)
  case $1 in
    none) ;;
    kill_vaultd|kill_gatewayd|kill_pspsim)
      d=${1#kill_}; kill -9 "$(cat "var/run/$d.pid")" 2>/dev/null; sleep 1; restart_stack_parts ;;
    pg_restart_fast|pg_restart_immediate)
      as_pg "$PGBIN/pg_ctl" -D "$(pgdata)" -m "${1#pg_restart_}" -w restart -o "-p $PGPORT" >/dev/null 2>&1 ;;
    pg_down)
      as_pg "$PGBIN/pg_ctl" -D "$(pgdata)" -m fast -w stop >/dev/null 2>&1; sleep 3
      as_pg "$PGBIN/pg_ctl" -D "$(pgdata)" -w start -o "-p $PGPORT" -l "$(readlink -f var/pg)/postgresql.log" >/dev/null 2>&1 ;;
    db_conns_terminated)
      # Right after the PSP answered, for 2 s: the vault's backend dies as
      # it writes every third authorization; and every gateway and vault
      # connection is terminated twice in that time.
      pg -d vault -c "CREATE FUNCTION faults_kill() RETURNS trigger LANGUAGE plpgsql AS \$\$
          BEGIN IF NEW.amount % 3 = 0 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NEW; END \$\$;
        CREATE TRIGGER faults_kill BEFORE INSERT ON authorizations FOR EACH ROW EXECUTE FUNCTION faults_kill();" >/dev/null 2>&1
      # The gateway's backend dies as it records the outcome of every third
      # other payment (its UPDATE after the vault answered).
      pg -d gateway -c "CREATE FUNCTION faults_kill() RETURNS trigger LANGUAGE plpgsql AS \$\$
          BEGIN IF NEW.amount % 3 = 1 AND OLD.status = 'processing' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NEW; END \$\$;
        CREATE TRIGGER faults_kill BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION faults_kill();" >/dev/null 2>&1
      for d in 1 2; do
        sleep 1
        pg -d postgres -At -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename IN ('vault','gateway')" >/dev/null 2>&1
      done
      pg -d vault -c "DROP TRIGGER faults_kill ON authorizations; DROP FUNCTION faults_kill();" >/dev/null 2>&1
      pg -d gateway -c "DROP TRIGGER faults_kill ON payments; DROP FUNCTION faults_kill();" >/dev/null 2>&1 ;;
    psp_slow)   # beyond vaultd's psp_timeout_ms (3000): answers lost to timeouts
      curl -sS "${PSPC[@]}" -H 'Content-Type: application/json' --data-binary '{"delay_ms":3500}' "$PSP_URL/_sim/faults" >/dev/null
      sleep 2
      curl -sS "${PSPC[@]}" -H 'Content-Type: application/json' --data-binary '{"delay_ms":0}' "$PSP_URL/_sim/faults" >/dev/null ;;
    psp_drop)   # answers dropped after their effect, connections closed
      curl -sS "${PSPC[@]}" -H 'Content-Type: application/json' --data-binary '{"drop_next":6}' "$PSP_URL/_sim/faults" >/dev/null ;;
    webhook_receiver_down)   # the merchant's receiver is down for 3 s
      # whsink keeps no state across its restart: what it took before it
      # died is what the gateway recorded as delivered (a 2xx, which whsink
      # answers only to a valid signature) while it is down.
      wh_delivered >> "$TMP/wh_seen"
      kill "$WH_PID" 2>/dev/null; wait "$WH_PID" 2>/dev/null
      sqlg "SELECT e.public_id FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id
            JOIN payment_events e ON e.id = o.event_id WHERE d.status = 'succeeded'" >> "$TMP/wh_seen"
      sleep 3
      wh_start ;;
    hsm_away)
      d=$(ls -d var/softhsm/tokens/*/ | head -1); d=${d%/}
      mv "$d" "$TMP/token-away"; sleep 2; mv "$TMP/token-away" "$d" ;;
  esac
  for ((t1 = 0; t1 < 300; t1++)); do
    [ "$(ready "$GW_ADMIN_PORT")" = 200 ] && [ "$(ready "$VAULT_ADMIN_PORT")" = 200 ] && break
    sleep 0.1
  done
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
}

echo "fault seed: $SEED (FAULT_SEED=$SEED replays the same strike moments)"
printf '%-22s %6s %8s %10s %9s %5s %7s %6s %4s %9s %9s %8s %6s  %s\n' scenario strike payments "client err" recovery lost "gave up" double psp "not final" disagree webhooks audit verdict
failed=0 passed=0
for SCENARIO in $SCEN; do
  export SCENARIO
  t_start=$(date +%s)
  deadline=$(( $(date +%s) + SECONDS_LOAD ))
  pids=()
  for ((c = 1; c <= CLIENTS; c++)); do client "$c" "$deadline" & pids+=($!); done
  # The strike: a random moment between 15% and 60% of the load (the
  # parent draws it: a subshell's RANDOM would not follow the seed).
  at=$(awk -v s="$SECONDS_LOAD" -v r=$((RANDOM % 46)) 'BEGIN { printf "%.1f", s * (0.15 + r / 100) }')
  rec=$(fault "$SCENARIO" "$at")
  for p in "${pids[@]}"; do wait "$p"; done
  cat "$TMP"/c.* > "$TMP/all.$SCENARIO"; rm -f "$TMP"/c.*
  restart_stack_parts   # anything still down (a fault that outlived the load)
  # Settle: the workers resolve what is processing or unknown.
  keys=$(awk '$1 != "-" {printf "%s\x27%s\x27", (n++ ? "," : ""), $1}' "$TMP/all.$SCENARIO")
  [ -n "$keys" ] || keys="''"
  for ((i = 0; i < SETTLE * 2; i++)); do
    open=$(sqlg "SELECT count(*) FROM payments p JOIN idempotency_keys k ON k.payment_id = p.id
                 WHERE k.key IN ($keys) AND p.status IN ('processing','unknown')")
    [ "${open:-1}" = 0 ] && break
    sleep 0.5
  done
  n=$(awk '$1 != "-"' "$TMP/all.$SCENARIO" | wc -l)
  cerr=$(awk '{s += $7} END {print s + 0}' "$TMP/all.$SCENARIO")
  # lost: a 2xx payment or token the client holds that the databases lack
  lost=0
  while read -r key http status pay tok _; do
    [ "$key" = - ] && continue
    [ "$(sqlv "SELECT count(*) FROM tokens WHERE id = '$tok'")" = 1 ] || lost=$((lost + 1))
    case $http in 2*) [ "$(sqlg "SELECT count(*) FROM payments WHERE id = '$pay'")" = 1 ] || lost=$((lost + 1)) ;; esac
  done < "$TMP/all.$SCENARIO"
  # the scenario's payments (gateway) and their outcomes at the vault
  sqlg "SELECT p.id || ' ' || p.status FROM payments p JOIN idempotency_keys k ON k.payment_id = p.id WHERE k.key IN ($keys)" | LC_ALL=C sort > "$TMP/g"
  ids=$(awk '{printf "%s\x27%s\x27", (n++ ? "," : ""), $1}' "$TMP/g"); [ -n "$ids" ] || ids="''"
  sqlv "SELECT payment_id || ' ' || status FROM authorizations WHERE payment_id IN ($ids)" | LC_ALL=C sort > "$TMP/v"
  # double: two payments for one key
  double=$(sqlg "SELECT count(*) FROM (SELECT key FROM idempotency_keys WHERE key IN ($keys) GROUP BY key HAVING count(DISTINCT payment_id) > 1) d")
  # psp: the PSP's own records (GET /_sim/intents, kept across its crashes)
  # against the gateway's: a payment charged twice at the PSP, a charge no
  # payment of this run knows, or a captured payment the PSP never charged.
  # The vault derives the PSP's Idempotency-Key from the payment id ("<id>-pi").
  psp=-
  if curl -sS --max-time 10 "${PSPC[@]}" -o "$TMP/psp.json" "$PSP_URL/_sim/intents?created_gte=$t_start" 2>/dev/null &&
     jq -e .data "$TMP/psp.json" >/dev/null 2>&1; then
    jq -r '.data[] | select(.amount_received > 0) | (.idempotency_key // "none" | sub("-pi$"; ""))' "$TMP/psp.json" | LC_ALL=C sort > "$TMP/charged"
    awk '$2 == "captured" {print $1}' "$TMP/g" | LC_ALL=C sort > "$TMP/captured"
    psp=$(( $(uniq -d "$TMP/charged" | wc -l) + $(LC_ALL=C comm -23 <(uniq "$TMP/charged") <(cut -d' ' -f1 "$TMP/g") | wc -l) \
          + $(LC_ALL=C comm -13 <(uniq "$TMP/charged") "$TMP/captured" | wc -l) ))
  fi
  gaveup=$(awk '$1 != "-" && ($2 == "000" || $2 ~ /^5/ || $2 == 409 || $2 == 429)' "$TMP/all.$SCENARIO" | wc -l)
  notfinal=$(sqlg "SELECT count(*) FROM payments p JOIN idempotency_keys k ON k.payment_id = p.id
                   WHERE k.key IN ($keys) AND p.status IN ('processing','unknown')")
  # webhooks: each captured payment's payment.captured event reached the
  # receiver with a valid signature (delivered within the settle time)
  sqlg "SELECT e.public_id FROM payment_events e WHERE e.type = 'payment.captured' AND e.payment_id IN ($ids)" |
    LC_ALL=C sort > "$TMP/evts"
  for ((i = 0; i < SETTLE * 2; i++)); do
    { cat "$TMP/wh_seen"; wh_delivered; } | LC_ALL=C sort -u > "$TMP/wh_all"
    whlost=$(LC_ALL=C comm -23 "$TMP/evts" "$TMP/wh_all" | wc -l)
    [ "$whlost" = 0 ] && break
    sleep 0.5
  done
  # disagree: the gateway's and the vault's outcome of each payment
  disagree=$(LC_ALL=C join "$TMP/g" "$TMP/v" | awk '$2 != $3' | wc -l)
  # audit: both chains verify; a gateway audit record per payment created
  audit=ok
  "$SR_BIN/gatewayctl" --config var/etc/gatewayd.json audit verify >/dev/null 2>&1 || audit=gateway
  SOFTHSM2_CONF=$ROOT/var/softhsm/softhsm2.conf "$SR_BIN/vaultctl" --config var/etc/vaultd.json audit verify >/dev/null 2>&1 || audit="${audit/ok/}vault"
  created=$(awk '$2 ~ /^2/' "$TMP/all.$SCENARIO" | wc -l)
  arec=$(sqlg "SELECT count(DISTINCT target) FROM audit_events WHERE target IN ($ids)")
  [ "${arec:-0}" -ge "$created" ] || audit="missing $((created - ${arec:-0}))"
  verdict=pass
  { [ "$lost" = 0 ] && [ "$gaveup" = 0 ] && [ "${double:-1}" = 0 ] && [ "$psp" = 0 ] &&
    [ "${notfinal:-1}" = 0 ] && [ "$disagree" = 0 ] && [ "$whlost" = 0 ] && [ "$audit" = ok ] && [ "$n" -gt 0 ]; } || verdict=FAIL
  printf '%-22s %5ss %8s %10s %8ss %5s %7s %6s %4s %9s %9s %8s %6s  %s\n' "$SCENARIO" "$at" "$n" "$cerr" "${rec:-0}" "$lost" "$gaveup" "${double:-?}" "$psp" "${notfinal:-?}" "$disagree" "$whlost" "$audit" "$verdict"
  if [ $verdict = pass ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); mkdir -p build/faults; cp "$TMP/all.$SCENARIO" "build/faults/$SCENARIO.clients"
  fi
done
echo "faults: $passed passed, $failed failed"
[ -n "$RESULTS" ] && echo "$passed $failed" > "$RESULTS"
[ "$failed" -eq 0 ]
