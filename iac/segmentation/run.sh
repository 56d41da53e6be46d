#!/usr/bin/env bash
# make segmentation: prove the zone rulesets (iac/nftables/*.nft) on one machine.
#
# Builds the zones as network namespaces joined by veth pairs to a router
# namespace, loads each zone host's ruleset, runs the real daemons in their
# zones (pspsim as the allowlisted PSP, vaultd in the CDE, gatewayd in the
# application zone, one PostgreSQL cluster in each database zone), then:
#   1. the allowed flows carry real traffic end to end: a browser tokenizes a
#      card through the edge host, a merchant pays with the token (gateway ->
#      vault internal -> PSP; both databases), a PSP reaches the webhook port;
#   2. a full matrix: every (source host, destination host, port) pair, with a
#      listener on every port so that a refusal can only be the firewall's,
#      must be open when flows.tsv allows it and silently dropped otherwise;
#   3. every matrix row must be decided by the expected chain, as observed with
#      `nft monitor trace` (the report names the rule), and the drop counters
#      must account for the refused probes;
#   4. self-test: a temporary accept rule must open a refused flow, and removing
#      it must close it again.
#   5. each chain alone: the matrix again with every zone's output chain (and
#      the edge's forward chain) opened, so that only the destination's input
#      chain decides; and with every input chain opened, so that only the
#      sender's output chain decides;
#   6. mutation testing (mutate.sh): every rule of every ruleset deleted, its
#      address, port, interface or ct match removed, and an accept added at the
#      top of every chain; each mutant must make some check fail. Prints the
#      kill rate; a surviving mutant fails the run unless survivors.tsv
#      explains it.
# Writes $SEG_OUT/report.json and report.md (default build/segmentation/):
# each flow, its verdict and the rule that decided it, the mutants (PCI DSS
# v4.0 1.3.1, 1.3.2, 1.4.x, 11.4.5, 11.4.6). Exit 0 when every check passes.
#
# The address plan is SEG_PLAN (default iac/nftables/addresses-harness.nft,
# the dev/test plan): nftables `define`s, loaded before each ruleset and read
# by the harness for every address it uses (iac/README.md). Only addresses
# inside the namespaces created here are used; everything is removed on exit.
# SEG_UPDATE_DOC=1 SEG_TESTER="name" regenerates the report embedded in
# compliance/pci_dss/network_segmentation.md (clean git tree required).
# Needs root. Namespaces are named srseg<SR_PORT_OFFSET>-<zone> so worktrees
# do not collide. SEG_MUTANTS=0 skips the mutation step (not for evidence).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
HERE=$ROOT/iac/segmentation
NFT_DIR=$ROOT/iac/nftables
SR_BIN=${SR_BIN:-build/bin}
case "$SR_BIN" in /*) ;; *) SR_BIN=$ROOT/$SR_BIN ;; esac
OUT=${SEG_OUT:-$ROOT/build/segmentation}
case "$OUT" in /*) ;; *) OUT=$ROOT/$OUT ;; esac
P=srseg${SR_PORT_OFFSET:-0}-
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PROBE_MS=${SEG_PROBE_MS:-800}
PLAN=${SEG_PLAN:-$NFT_DIR/addresses-harness.nft}
case "$PLAN" in /*) ;; *) PLAN=$ROOT/$PLAN ;; esac
TESTER=${SEG_TESTER:-}
start_ts=$(date +%s)

[ "$(id -u)" -eq 0 ] || { echo "segmentation: needs root (network namespaces, nftables)" >&2; exit 1; }
command -v nft >/dev/null || { echo "segmentation: nft missing (make deps)" >&2; exit 1; }
[ -r "$PLAN" ] || { echo "segmentation: address plan $PLAN not readable" >&2; exit 1; }
if [ -n "${SEG_UPDATE_DOC:-}" ]; then
  # The committed report must name a commit that is exactly what was tested.
  [ -z "$(git status --porcelain 2>/dev/null)" ] || { echo "segmentation: SEG_UPDATE_DOC needs a clean git tree (commit first)" >&2; exit 1; }
  [ -n "$TESTER" ] || { echo "segmentation: SEG_UPDATE_DOC needs SEG_TESTER=\"name, role\"" >&2; exit 1; }
  [ "${SEG_MUTANTS:-1}" != 0 ] || { echo "segmentation: SEG_UPDATE_DOC needs the mutants (SEG_MUTANTS=0 is not evidence)" >&2; exit 1; }
fi
for b in vaultd gatewayd vaultctl gatewayctl pspsim; do
  [ -x "$SR_BIN/$b" ] || { echo "segmentation: $SR_BIN/$b missing (make)" >&2; exit 1; }
done

ZONES=(edge app cde cdedb appdb)       # zone hosts: each loads iac/nftables/<zone>.nft
OUTSIDE=(inet psp admin)               # hosts the appliance does not firewall
PORTS=(22 53 80 443 5432 8443 8444 8445)  # every service port of the design, DNS and HTTP
# plan NAME: the value of `define NAME = VALUE` in the address plan.
plan() {
  local v
  v=$(sed -n "s/^define $1 *= *\([^#]*\).*/\1/p" "$PLAN" | sed 's/ *$//')
  [ -n "$v" ] || { echo "segmentation: $PLAN defines no $1" >&2; exit 1; }
  printf '%s\n' "$v"
}
declare -A ADDR=([edge]=$(plan EDGE_HOST) [app]=$(plan APP_HOST) [cde]=$(plan CDE_HOST)
                 [cdedb]=$(plan CDE_DB_HOST) [appdb]=$(plan APP_DB_HOST)
                 [inet]=$(plan HARNESS_INTERNET_HOST) [site]=$(plan HARNESS_OTHER_SITE)
                 [psp]=$(plan HARNESS_PSP_HOST) [admin]=$(plan HARNESS_ADMIN_HOST))
CDE_PUBLIC=$(plan CDE_PUBLIC)   # vaultd's public listener, on the edge link (ADR 0112)
EDGE_LINK=$(plan EDGE_LINK)     # the edge's end of that link
for h in "${!ADDR[@]}" CDE_PUBLIC EDGE_LINK; do
  a=${ADDR[$h]:-${!h:-}}
  [[ "$a" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || { echo "segmentation: $PLAN: $h is not one IPv4 address ($a)" >&2; exit 1; }
done
declare -A NS=([edge]=edge [app]=app [cde]=cde [cdedb]=cdedb [appdb]=appdb [inet]=inet [site]=inet [psp]=psp [admin]=admin)
# Real services: the canary listeners leave these ports to the daemons.
declare -A REAL=([cde:8445]=vaultd [app:8443]=gatewayd [cdedb:5432]=postgres
                 [appdb:5432]=postgres [psp:443]=pspsim [edge:443]="edge DNAT -> vaultd")

WORK=$(mktemp -d /var/tmp/strongroom-seg.XXXXXX)
chmod 0711 "$WORK"
mkdir -p "$WORK"/{etc,log,secrets,softhsm/tokens,gatewayd-state} "$OUT"
chmod 0700 "$WORK/secrets"
PIDS=()
PGDIRS=()

nsx() { local ns=$1; shift; ip netns exec "$P$ns" "$@"; }
log() { printf 'segmentation: %s\n' "$*" >&2; }
cleanup() {
  local pid d
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  for d in "${PGDIRS[@]}"; do
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$d/data" -m immediate -w stop >/dev/null 2>&1 || true
  done
  for ns in core "${ZONES[@]}" "${OUTSIDE[@]}"; do ip netns del "$P$ns" 2>/dev/null || true; done
  if [ -n "${SEG_KEEP:-}" ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ topology
for ns in core "${ZONES[@]}" "${OUTSIDE[@]}"; do ip netns del "$P$ns" 2>/dev/null || true; done
ip netns add "${P}core"
nsx core ip link set lo up
nsx core sysctl -qw net.ipv4.ip_forward=1
# Every host has its address as a /32 and the router as its next hop at a
# link-local address (ROUTER), so any plan works, whatever its subnets: the
# router has a host route to every host.
ROUTER=169.254.0.1
for z in "${ZONES[@]}" "${OUTSIDE[@]}"; do
  ip netns add "$P$z"
  nsx "$z" ip link set lo up
  nsx "$z" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip link add "v-$z" netns "${P}core" type veth peer name eth0 netns "$P$z"
  nsx core ip addr add "$ROUTER/32" dev "v-$z"
  nsx core ip link set "v-$z" up
  nsx "$z" ip addr add "${ADDR[$z]}/32" dev eth0
  nsx "$z" ip link set eth0 up
  nsx "$z" ip route add "$ROUTER" dev eth0 scope link
  nsx "$z" ip route add default via "$ROUTER" dev eth0
  nsx core ip route add "${ADDR[$z]}/32" dev "v-$z"
done
nsx core sysctl -qw net.ipv6.conf.all.disable_ipv6=1
nsx inet ip addr add "${ADDR[site]}/32" dev eth0   # some other internet site
nsx core ip route add "${ADDR[site]}/32" dev v-inet
# The edge host forwards TCP 443 to the vault's public listener (edge.nft),
# over a link of its own to the CDE host (ADR 0112): no source NAT, so vaultd
# sees the browser's address; the CDE host answers through the edge again
# (its public address routes by a policy rule to the edge link).
nsx edge sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
ip link add sr-cde netns "${P}edge" type veth peer name sr-edge netns "${P}cde"
nsx edge ip addr add "$EDGE_LINK" peer "$CDE_PUBLIC/32" dev sr-cde
nsx edge ip link set sr-cde up
nsx cde ip addr add "$CDE_PUBLIC" peer "$EDGE_LINK/32" dev sr-edge
nsx cde ip link set sr-edge up
nsx cde ip rule add from "$CDE_PUBLIC" lookup 13
nsx cde ip route add default via "$EDGE_LINK" dev sr-edge table 13

declare -A RULESET_SHA=()
for z in "${ZONES[@]}"; do
  cat "$PLAN" "$NFT_DIR/$z.nft" | nsx "$z" nft -f - \
    || { log "ruleset $z.nft does not load"; exit 1; }
  RULESET_SHA[$z]=$(sha256sum "$NFT_DIR/$z.nft" | cut -c1-64)
done
log "zones up: ${ZONES[*]} (+ ${OUTSIDE[*]}, router) with their rulesets"

# ------------------------------------------------------------------ daemons
scripts/pki.sh "$WORK/pki" >/dev/null
for s in hsm-user-pin hsm-so-pin vault-db-password gateway-db-password; do
  (umask 077; openssl rand -hex 24 > "$WORK/secrets/$s")
done
# The key the PSP issued to the platform: pspsim's copy, outside vaultd's
# secrets; the vault holds it sealed in the HSM (ADR 0120), loaded below by
# two custodians (ADR 0105).
mkdir -p -m 0700 "$WORK/pspsim-keys" "$WORK/ceremony"
(umask 077; echo "sk_test_psp_$(openssl rand -hex 16)" > "$WORK/pspsim-keys/psp-stripe-key"
 for c in seg-a seg-b; do openssl rand -hex 16 > "$WORK/secrets/custodian-$c"; done)
sed "s|@TOKENDIR@|$WORK/softhsm/tokens|" hsm/softhsm2.conf.in > "$WORK/softhsm/softhsm2.conf"
export SOFTHSM2_CONF=$WORK/softhsm/softhsm2.conf
VCTL=("$SR_BIN/vaultctl" --pin-file "$WORK/secrets/hsm-user-pin" --so-pin-file "$WORK/secrets/hsm-so-pin"
      --transcript "$WORK/ceremony/transcript.jsonl" --custodians "$WORK/ceremony/custodians.json"
      --pubkey "$WORK/ceremony/ceremony-sign-v1.pem"
      --secret "seg-a=$WORK/secrets/custodian-seg-a" --secret "seg-b=$WORK/secrets/custodian-seg-b")
"${VCTL[@]}" init-token seg-a seg-b >/dev/null
"${VCTL[@]}" keys create >/dev/null
# The vault's TLS keys in the token, certificates from the CA (ADR 0118); the
# steps are recorded in this run's own transcript.
SR_VAULTCTL="$SR_BIN/vaultctl --pin-file $WORK/secrets/hsm-user-pin --transcript $WORK/ceremony/transcript.jsonl --custodians $WORK/ceremony/custodians.json --pubkey $WORK/ceremony/ceremony-sign-v1.pem" \
  scripts/pki.sh "$WORK/pki" vault

# pg_zone ZONE DB CLIENT_ZONE: a cluster of its own in ZONE, listening on the
# zone's address only; DB's role may connect from CLIENT_ZONE's address only.
pg_zone() {
  local zone=$1 db=$2 client=$3 d=$WORK/pg-$2
  mkdir -p "$d/run"; chown -R postgres: "$d"
  runuser -u postgres -- "$PGBIN/initdb" -D "$d/data" -U postgres --auth-local=trust --auth-host=reject \
    -E UTF8 --locale=C.UTF-8 >/dev/null
  cat >> "$d/data/postgresql.conf" <<CONF
listen_addresses = '${ADDR[$zone]}'
port = 5432
unix_socket_directories = '$d/run'
password_encryption = scram-sha-256
log_min_messages = warning
fsync = off
CONF
  cat > "$d/data/pg_hba.conf" <<HBA
local all  postgres                   trust
host  $db  $db      ${ADDR[$client]}/32  scram-sha-256
HBA
  PGDIRS+=("$d")
  nsx "$zone" runuser -u postgres -- "$PGBIN/pg_ctl" -D "$d/data" -l "$d/postgresql.log" -w -t 60 start >/dev/null \
    || { cat "$d/postgresql.log" >&2; return 1; }
  local pw; pw=$(cat "$WORK/secrets/$db-db-password")
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$d/run" -U postgres -d postgres -v role="$db" -v pw="$pw" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'pw') \gexec
SELECT format('CREATE DATABASE %I', :'role') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'role') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'role', :'role') \gexec
SQL
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$d/run" -U postgres -d "$db" -v role="$db" <<'SQL'
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'role') \gexec
SQL
  PSQL=$PGBIN/psql migrations/migrate.sh "$db" -h "$d/run" -U postgres >"$d/migrate.log" 2>&1 \
    || { cat "$d/migrate.log" >&2; return 1; }
}
pg_zone cdedb vault cde
pg_zone appdb gateway app

cat > "$WORK/etc/pspsim.json" <<JSON
{ "listen": "${ADDR[psp]}", "port": 443,
  "tls_cert": "$WORK/pki/pspsim.crt", "tls_key": "$WORK/pki/pspsim.key",
  "client_ca": "$WORK/pki/ca.crt", "peer_name": "vault-egress.strongroom.internal",
  "api_key_file": "$WORK/pspsim-keys/psp-stripe-key", "threads": 2 }
JSON
cat > "$WORK/etc/vaultd.json" <<JSON
{ "public_listen": "$CDE_PUBLIC", "public_port": 8444,
  "internal_listen": "${ADDR[cde]}", "internal_port": 8445,
  "tls_cert_public": "$WORK/pki/vault-public.crt",
  "tls_cert_internal": "$WORK/pki/vault-internal.crt",
  "client_ca": "$WORK/pki/ca.crt", "gateway_peer": "gateway.strongroom.internal",
  "db_host": "${ADDR[cdedb]}", "db_port": "5432", "db_name": "vault", "db_user": "vault",
  "db_password_file": "$WORK/secrets/vault-db-password",
  "pkcs11_module": "/usr/lib/softhsm/libsofthsm2.so", "hsm_token_label": "strongroom",
  "hsm_pin_file": "$WORK/secrets/hsm-user-pin", "hsm_sessions": 2,
  "psp_ca": "$WORK/pki/ca.crt", "psp_client_cert": "$WORK/pki/vault-egress.crt",
  "psp_stripe_host": "psp.strongroom.test", "psp_stripe_addr": "${ADDR[psp]}", "psp_stripe_port": 443,
  "threads": 2, "cvc_ttl_seconds": 3540, "sweep_interval_seconds": 60 }
JSON
cat > "$WORK/etc/gatewayd.json" <<JSON
{ "listen": "${ADDR[app]}", "port": 8443,
  "tls_cert": "$WORK/pki/gateway.crt", "tls_key": "$WORK/pki/gateway.key",
  "db_host": "${ADDR[appdb]}", "db_port": "5432", "db_name": "gateway", "db_user": "gateway",
  "db_password_file": "$WORK/secrets/gateway-db-password",
  "vault_url": "https://vault-internal.strongroom.test:8445", "vault_addr": "${ADDR[cde]}",
  "vault_ca": "$WORK/pki/ca.crt", "vault_client_cert": "$WORK/pki/gateway-client.crt",
  "vault_client_key": "$WORK/pki/gateway-client.key", "threads": 2,
  "audit_spool_file": "$WORK/gatewayd-state/audit.spool" }
JSON

# The platform's Stripe key sealed in the HSM under dual control, through
# the database's socket (the superuser: the vault role may connect from the
# CDE's address only).
jq --arg h "$WORK/pg-vault/run" '.db_host = $h | .db_user = "postgres" | del(.db_password_file)' \
  "$WORK/etc/vaultd.json" > "$WORK/etc/vaultctl.json"
"${VCTL[@]}" --config "$WORK/etc/vaultctl.json" psp load stripe api_key "$WORK/pspsim-keys/psp-stripe-key" >/dev/null \
  || { log "vaultctl psp load failed"; exit 1; }

# wait_in NS ADDR PORT: until something accepts on ADDR:PORT (from inside NS).
wait_in() {
  local i
  for ((i = 0; i < 300; i++)); do
    nsx "$1" bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
# daemon ZONE NAME PORT...: start NAME in ZONE's namespace, wait for its ports.
# vaultd and gatewayd run unprivileged, as their units do: another user
# (nobody), no capabilities, no new privileges. pspsim (the PSP) binds 443.
RUN_AS=(setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs --bounding-set=-all --inh-caps=-all)
chown -R 65534:65534 "$WORK/pki" "$WORK/secrets" "$WORK/softhsm" "$WORK/gatewayd-state"
declare -A DPID=()
daemon() {
  local zone=$1 name=$2 p; shift 2
  local run=("$SR_BIN/$name")
  case "$name" in vaultd|gatewayd) run=("${RUN_AS[@]}" "$SR_BIN/$name") ;; esac
  ip netns exec "$P$zone" "${run[@]}" --config "$WORK/etc/$name.json" >>"$WORK/log/$name.log" 2>&1 &
  DPID[$name]=$!
  PIDS+=($!)
  for p in "$@"; do
    wait_in "$zone" "${ADDR[$zone]}" "$p" || { tail -n 20 "$WORK/log/$name.log" >&2; log "$name did not start"; exit 1; }
  done
}
daemon psp pspsim 443
daemon cde vaultd 8445
wait_in cde "$CDE_PUBLIC" 8444 || { tail -n 20 "$WORK/log/vaultd.log" >&2; log "vaultd's public listener did not start"; exit 1; }
daemon app gatewayd 8443

# Canary listeners on every other port of every destination host.
for h in "${ZONES[@]}" psp site; do
  ports=()
  for p in "${PORTS[@]}"; do [ -n "${REAL[$h:$p]:-}" ] || ports+=("$p"); done
  [ ${#ports[@]} -gt 0 ] || continue
  ip netns exec "$P${NS[$h]}" perl "$HERE/listen.pl" "${ADDR[$h]}" "${ports[@]}" >"$WORK/log/canary-$h.log" 2>&1 &
  PIDS+=($!)
done
for h in "${ZONES[@]}" psp site; do
  for p in "${PORTS[@]}"; do
    [ -n "${REAL[$h:$p]:-}" ] && continue
    wait_in "${NS[$h]}" "${ADDR[$h]}" "$p" || { log "canary $h:$p did not start"; exit 1; }
  done
done
log "daemons and canaries up ($(( $(date +%s) - start_ts )) s)"

# ------------------------------------------------------------------ checks
RES=$WORK/results.tsv   # kind id src dst port expected observed verdict decided_by
: > "$RES"
failures=0
record() { # kind id src dst port expected observed decided_by
  local v=pass
  [ "$6" = "$7" ] || { v=FAIL; failures=$((failures + 1)); }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$v" "$8" >> "$RES"
}
CURL=(curl -sS --max-time 10 --connect-timeout 3 --cacert "$WORK/pki/ca.crt" -o "$WORK/body" -w '%{http_code}')

# 0. What the probes cannot see is not in the rulesets: every accept rule is a
# flow of flows.tsv over TCP to a port the matrix probes (lint.pl).
for z in "${ZONES[@]}"; do
  o=$(perl "$HERE/lint.pl" "$PLAN" "$HERE/flows.tsv" "$z" "$NFT_DIR/$z.nft" "${PORTS[@]}" | head -1)
  record lint - "$z" - - clean "${o:-clean}" "iac/nftables/$z.nft: every accept rule is a flow the matrix probes (lint.pl)"
done
for name in vaultd gatewayd; do
  st=$(awk '/^Uid:/ {u=$2} /^CapEff:/ {c=$2} /^NoNewPrivs:/ {n=$2} END {print "uid=" u " capeff=" c " nnp=" n}' "/proc/${DPID[$name]}/status" 2>/dev/null)
  record functional - "$name" - - "uid=65534 capeff=0000000000000000 nnp=1" "$st" "$name runs unprivileged in its zone (as its unit runs it: own user, no capabilities)"
done
# 1. Real traffic through the allowed flows.
out=$(nsx app "$SR_BIN/gatewayctl" --config "$WORK/etc/gatewayd.json" merchant create --name "Segmentation merchant" 2>>"$WORK/log/gatewayctl.log") || out=
PK=$(jq -r '.publishable_key // empty' <<<"$out" 2>/dev/null); SK=$(jq -r '.secret_key // empty' <<<"$out" 2>/dev/null)
record functional F4,F5 app cde 8445 merchant-registered "$([ -n "$PK" ] && echo merchant-registered || echo failed)" \
  "gatewayctl (app) -> gateway DB (F5) and vault internal listener (F4) -> vault DB (F6)"
exp_year=$(( $(date +%Y) + 3 ))
st=$(nsx inet "${CURL[@]}" --resolve "vault.strongroom.test:443:${ADDR[edge]}" -H "Authorization: Bearer $PK" \
  -H 'Content-Type: application/json' \
  --data-binary "{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":$exp_year,\"cvc\":\"123\"}}" \
  https://vault.strongroom.test/v1/tokens 2>/dev/null) || st=000
TOK=$(jq -r '.id // empty' "$WORK/body" 2>/dev/null || true)
record functional F1 inet edge 443 "201 tok_" "$st ${TOK:0:4}" \
  "browser (internet) -> edge:443 (edge prerouting dnat, edge forward F1) -> vaultd public listener (cde input F1) -> vault DB (F6)"
sleep 0.2
client=$(grep '"event":"http.request"' "$WORK/log/vaultd.log" | grep '"route":"/v1/tokens"' | tail -1 | jq -r '.client // "none"' 2>/dev/null || echo none)
record functional F1 inet cde 8444 "client ${ADDR[inet]}" "client $client" \
  "vaultd's request line names the browser's own address, not the edge's (no source NAT at the edge, ADR 0112; PCI DSS 10.2.2)"
st=$(nsx inet "${CURL[@]}" --resolve "gateway.strongroom.test:8443:${ADDR[app]}" -H "Authorization: Bearer $SK" \
  -H 'Content-Type: application/json' \
  --data-binary "{\"amount\":1500,\"currency\":\"usd\",\"payment_method\":\"$TOK\",\"capture_method\":\"automatic\"}" \
  https://gateway.strongroom.test:8443/v1/payments 2>/dev/null) || st=000
pstatus=$(jq -r '.status // empty' "$WORK/body" 2>/dev/null || true)
record functional F2,F4,F5,F6,F7 inet app 8443 "201 captured" "$st $pstatus" \
  "merchant (internet) -> gateway (app input F2) -> vault internal (app output F4, cde input F4) -> PSP (cde output F7); both databases (F5, F6)"
st=$(nsx psp "${CURL[@]}" --resolve "gateway.strongroom.test:8443:${ADDR[app]}" https://gateway.strongroom.test:8443/v1/payments 2>/dev/null) || st=000
[ "$st" != 000 ] && st="HTTP answer"
record functional F2 psp app 8443 "HTTP answer" "$st" "PSP webhook sender -> gateway port (app input F2): TLS handshake and an HTTP answer"
st=$(nsx inet "${CURL[@]}" --connect-timeout 1 --resolve "vault.strongroom.test:8444:${ADDR[cde]}" https://vault.strongroom.test:8444/v1/tokens 2>/dev/null) || st=000
record functional - inet cde 8444 000 "$st" "browser straight to the CDE host's port 8444, bypassing the edge: cde input default drop"
st=$(nsx inet "${CURL[@]}" --connect-timeout 1 --resolve "vault.strongroom.test:8444:$CDE_PUBLIC" https://vault.strongroom.test:8444/v1/tokens 2>/dev/null) || st=000
record functional - inet cde 8444 000 "$st" "browser straight to vaultd's public listener ($CDE_PUBLIC, on the edge link only): no route but through the edge"
st=$(nsx app "${CURL[@]}" --connect-timeout 1 --resolve "vault.strongroom.test:8444:${ADDR[cde]}" https://vault.strongroom.test:8444/v1/tokens 2>/dev/null) || st=000
record functional - app cde 8444 000 "$st" "gateway to vaultd's public listener: app output default drop"
if PGCONNECT_TIMEOUT=2 nsx app "$PGBIN/psql" -X -h "${ADDR[cdedb]}" -U vault -d vault -c 'SELECT 1' >/dev/null 2>&1 </dev/null; then r=connected; else r=refused; fi
record functional - app cdedb 5432 refused "$r" "application zone to the CDE database: app output default drop"

# 2. The matrix.
declare -A ALLOW=() FLOWID=()
while IFS=$'\t' read -r id src dst port _desc; do
  case "$id" in ''|'#'*) continue ;; esac
  if [ "$src" = outside ]; then srcs=("${OUTSIDE[@]}"); else srcs=("$src"); fi
  for s in "${srcs[@]}"; do ALLOW[$s:$dst:$port]=1; FLOWID[$s:$dst:$port]=$id; done
done < "$HERE/flows.tsv"
is_zone() { local z; for z in "${ZONES[@]}"; do [ "$z" = "$1" ] && return 0; done; return 1; }

declare -A EXPECT_DROP=()
counters() { # prints "zone chain packets" for every drop counter
  local z c
  for z in "${ZONES[@]}"; do
    nsx "$z" nft -j list counters 2>/dev/null | jq -r --arg z "$z" \
      '.nftables[] | select(.counter) | .counter | "\($z) \(.name) \(.packets)"'
  done
}
# Trace every connection attempt of the matrix: a harness-only table sets
# nftrace on TCP SYNs (it decides nothing: policy accept, no verdict rules), and
# `nft monitor trace` in each zone records which rule of which chain gave each
# packet its verdict. The report's "decided by" is that observation.
TRACE_PIDS=()
for z in "${ZONES[@]}"; do
  nsx "$z" nft -f - <<'NFT'
table inet sr_trace {
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		tcp flags & (syn|ack) == syn meta nftrace set 1
	}
	chain out {
		type filter hook output priority raw; policy accept;
		tcp flags & (syn|ack) == syn meta nftrace set 1
	}
}
NFT
  ip netns exec "$P$z" nft monitor trace > "$WORK/trace-$z" 2>/dev/null &
  TRACE_PIDS+=($!); PIDS+=($!)
done
sleep 0.5
counters > "$WORK/counters.before"
probes=()
probe_src=("${ZONES[@]}" "${OUTSIDE[@]}")
for s in "${probe_src[@]}"; do
  targets=()
  for d in "${ZONES[@]}" psp site; do
    [ "$d" = "$s" ] && continue
    [ "${NS[$d]}" = "$s" ] && continue
    is_zone "$s" || is_zone "$d" || continue   # neither end is ours
    for p in "${PORTS[@]}"; do targets+=("${ADDR[$d]}:$p"); done
  done
  ip netns exec "$P$s" perl "$HERE/probe.pl" "$PROBE_MS" "${targets[@]}" > "$WORK/probe-$s" &
  probes+=($!)
done
wait "${probes[@]}"
sleep 0.3
counters > "$WORK/counters.after"
for pid in "${TRACE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
for z in "${ZONES[@]}"; do nsx "$z" nft delete table inet sr_trace; done

# traces: "SADDR SPORT DADDR DPORT<TAB>zone chain: what verdict" per decision
# (the tuple is the packet's as it entered the zone's first chain).
for z in "${ZONES[@]}"; do
  awk -v z="$z" '
    $1 != "trace" || $2 != "id" { next }
    {
      id = $3; table = $5; chain = $6
      if ($7 == "packet:") {
        if (!(id in tup)) {
          s = d = sp = dp = ""
          for (i = 8; i < NF; i++) {
            if ($(i-1) == "ip" && $i == "saddr") s = $(i+1)
            if ($(i-1) == "ip" && $i == "daddr") d = $(i+1)
            if ($(i-1) == "tcp" && $i == "sport") sp = $(i+1)
            if ($(i-1) == "tcp" && $i == "dport") dp = $(i+1)
          }
          tup[id] = s " " sp " " d " " dp
        }
        next
      }
      if (table == "sr_trace" || !(id in tup)) next
      if ($7 == "policy") {
        if ($8 == "drop") print tup[id] "\t" z " " chain ": policy drop"
        next
      }
      if ($7 != "rule" || $0 !~ /\(verdict (accept|drop)\)/) next
      v = ($0 ~ /\(verdict drop\)/) ? "drop" : "accept"
      what = ""
      if (match($0, /comment "[^"]*"/)) { what = substr($0, RSTART + 9, RLENGTH - 10); split(what, w, " "); what = w[1] }
      else if (match($0, /counter name "[^"]*"/)) what = "default " substr($0, RSTART + 14, RLENGTH - 15)
      else if ($0 ~ /iif "lo"|oif "lo"/) what = "loopback"
      else if ($0 ~ /ct state established,related/) what = "established"
      else what = "rule"
      if ($0 ~ / dnat (ip )?to /) v = "dnat"
      if ($0 ~ / masquerade /) v = "masquerade"
      print tup[id] "\t" z " " chain ": " what " " v
    }' "$WORK/trace-$z"
done > "$WORK/traces.tsv"
declare -A TRACE=()
while IFS=$'\t' read -r k v; do TRACE[$k]+="${TRACE[$k]:+; }$v"; done < "$WORK/traces.tsv"

# The verdict: the probe's outcome, and the chains that decided must be the
# expected ones: a refused flow from a zone host is dropped by that host's own
# output chain (egress filtering), otherwise by the destination's input chain;
# an allowed flow is accepted, by its flow id, on every zone host on its path.
declare -A HOSTOF=()
for h in "${!ADDR[@]}"; do HOSTOF[${ADDR[$h]}]=$h; done
for s in "${probe_src[@]}"; do
  while read -r target observed sport; do
    a=${target%:*}; p=${target#*:}; d=${HOSTOF[$a]}
    key=$s:$d:$p
    by=${TRACE["${ADDR[$s]} $sport $a $p"]:-}
    need=()
    if [ -n "${ALLOW[$key]:-}" ]; then
      exp=open; id=${FLOWID[$key]}
      is_zone "$s" && need+=("$s output: $id accept")
      if [ "$d" = edge ] && [ "$p" = 443 ]; then
        # after the edge's DNAT the CDE sees the source itself -> its public listener
        by+="${by:+; }${TRACE["${ADDR[$s]} $sport $CDE_PUBLIC 8444"]:-}"
        need+=("edge prerouting: $id dnat" "edge forward: $id accept" "cde input: $id accept")
      elif is_zone "$d"; then need+=("$d input: $id accept"); fi
    else
      exp=timeout; id=-
      if is_zone "$s"; then chain="$s drop_out"; need+=("$s output: default drop_out drop")
      else chain="$d drop_in"; need+=("$d input: default drop_in drop"); fi
      EXPECT_DROP[$chain]=$(( ${EXPECT_DROP[$chain]:-0} + 1 ))
    fi
    for n in "${need[@]}"; do
      [[ "$by" == *"$n"* ]] || { observed="$observed, but not decided by '$n'"; break; }
    done
    [ "$exp" = open ] && [[ "$by" == *" drop"* ]] && observed="$observed, but a chain dropped it"
    record matrix "$id" "$s" "$d" "$p" "$exp" "$observed" "${by:-(no trace)}"
  done < "$WORK/probe-$s"
done

# 2b. No zone host sends UDP anywhere (no DNS, NTP or other datagram leaves a
# zone; the CDE resolves nothing): a datagram to another internet site's DNS
# port and to the PSP must be dropped by the sender's own output chain.
for z in "${ZONES[@]}"; do
  for dst in site psp; do
    b=$(nsx "$z" nft -j list counter inet "sr_$z" drop_out | jq '.nftables[] | select(.counter) | .counter.packets')
    nsx "$z" bash -c "echo probe > /dev/udp/${ADDR[$dst]}/53" 2>/dev/null || true
    a=$(nsx "$z" nft -j list counter inet "sr_$z" drop_out | jq '.nftables[] | select(.counter) | .counter.packets')
    record udp - "$z" "$dst" 53/udp dropped "$([ "$a" -gt "$b" ] && echo dropped || echo "not counted ($b -> $a)")" "$z output: default drop_out drop (counter +$((a - b)))"
  done
done

# 3. The drop counters account for every refused probe (at least one packet
# each, counted on the chain the report names).
for chain in "${!EXPECT_DROP[@]}"; do
  set -- $chain
  b=$(awk -v z="$1" -v c="$2" '$1 == z && $2 == c {print $3}' "$WORK/counters.before")
  a=$(awk -v z="$1" -v c="$2" '$1 == z && $2 == c {print $3}' "$WORK/counters.after")
  n=$(( ${a:-0} - ${b:-0} ))
  want=${EXPECT_DROP[$chain]}
  record counter - "$1" - - ">=$want" "$([ "$n" -ge "$want" ] && echo ">=$want" || echo "$n")" "$1 $2 counted $n dropped packets"
done

# 4. The matrix can fail: open one forbidden flow (CDE -> another internet
# site, 443) with an extra rule; the probe must now see it open; remove it.
nsx cde nft insert rule inet sr_cde output ip daddr "${ADDR[site]}" tcp dport 443 accept comment \"selftest\"
observed=$(nsx cde perl "$HERE/probe.pl" "$PROBE_MS" "${ADDR[site]}:443" | cut -d" " -f2)
h=$(nsx cde nft -a list chain inet sr_cde output | sed -n 's/.*comment "selftest" # handle \([0-9]*\).*/\1/p')
nsx cde nft delete rule inet sr_cde output handle "$h"
record selftest - cde site 443 open "$observed" "cde output: a temporary accept rule (removed again) opens the flow; the probe sees it"
observed=$(nsx cde perl "$HERE/probe.pl" "$PROBE_MS" "${ADDR[site]}:443" | cut -d" " -f2)
record selftest - cde site 443 timeout "$observed" "cde output: default drop again once the temporary rule is removed"

# 5, 6. Each chain alone; mutation testing.
. "$HERE/mutate.sh"

# ------------------------------------------------------------------ report
total=$(wc -l < "$RES")
elapsed=$(( $(date +%s) - start_ts ))
sha_json=$(for z in "${ZONES[@]}"; do printf '%s\t%s\n' "$z" "${RULESET_SHA[$z]}"; done \
  | jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): {file: ("iac/nftables/" + .[0] + ".nft"), sha256: .[1]}}) | add')
addr_json=$(for h in "${!ADDR[@]}"; do printf '%s\t%s\n' "$h" "${ADDR[$h]}"; done | jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): .[1]}) | add')
tsv_json() { jq -R -s --arg keys "$1" '($keys | split(" ")) as $k | split("\n") | map(select(length > 0) | split("\t") as $f
  | [range(0; $k | length)] | map({($k[.]): $f[.]}) | add)' "$2"; }
plan_file=${PLAN#$ROOT/}
jq -R -s --arg when "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg commit "$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)" \
  --arg tester "${TESTER:-not recorded (SEG_TESTER unset)}" --arg nft "$(nft --version)" --arg kernel "$(uname -srm)" \
  --arg plan "$plan_file" --arg plan_sha "$(sha256sum "$PLAN" | cut -c1-64)" \
  --argjson rulesets "$sha_json" --argjson hosts "$addr_json" --argjson failures "$failures" --argjson seconds "$elapsed" \
  --argjson mutants "$(tsv_json "name rule killed_by" "$WORK/mutants.out")" \
  --argjson survivors "$(tsv_json "name rule explanation" "$WORK/survivors.tsv")" \
  --argjson mut_seconds "$mut_seconds" --argjson mut_on "$([ "${SEG_MUTANTS:-1}" = 0 ] && echo false || echo true)" '
  split("\n") | map(select(length > 0) | split("\t") |
    {kind: .[0], flow: .[1], source: .[2], destination: .[3], port: .[4], expected: .[5],
     observed: .[6], verdict: .[7], decided_by: .[8]}) as $rows
  | {generated_at: $when, commit: $commit, tester: $tester, seconds: $seconds,
     tools: {nft: $nft, kernel: $kernel},
     address_plan: {file: $plan, sha256: $plan_sha}, hosts: $hosts, rulesets: $rulesets,
     summary: {checks: ($rows | length), failed: $failures,
               matrix_allowed: ([$rows[] | select(.kind == "matrix" and .expected == "open")] | length),
               matrix_refused: ([$rows[] | select(.kind == "matrix" and .expected == "timeout")] | length)},
     mutation: {run: $mut_on, seconds: $mut_seconds, mutants: ($mutants | length),
                killed: ([$mutants[] | select(.killed_by != "survived" and .killed_by != "not run")] | length),
                survivors: $survivors, results: $mutants},
     results: $rows}' "$RES" > "$OUT/report.json"
R=$OUT/report.json
{
  echo "# Segmentation test report"
  echo
  echo "Generated by \`make segmentation\` (iac/segmentation/run.sh) at $(jq -r .generated_at "$R"), commit $(jq -r .commit "$R"), in ${elapsed} s. Tester: $(jq -r .tester "$R")."
  echo
  echo "Address plan: \`$plan_file\` (sha256 $(jq -r .address_plan.sha256 "$R")). Rulesets (sha256):"
  for z in "${ZONES[@]}"; do echo "\`iac/nftables/$z.nft\` ${RULESET_SHA[$z]};"; done
  echo "$(nft --version); kernel $(uname -srm)."
  echo
  echo "Hosts: $(for h in edge app cde cdedb appdb inet site psp admin; do printf '%s %s; ' "$h" "${ADDR[$h]}"; done)vaultd's public listener $CDE_PUBLIC (edge link, edge end $EDGE_LINK)."
  echo
  echo "**$total checks, $failures failed.** Matrix: $(jq .summary.matrix_allowed "$R") allowed pairs must connect, $(jq .summary.matrix_refused "$R") other pairs must be silently dropped (a listener waits on every port, so a timeout can only be the firewall)."
  echo "Each chain alone: $(jq '[.results[] | select(.kind == "input-alone")] | length' "$R") probes of the input chains with the senders' output chains (and the edge's forward chain) opened, $(jq '[.results[] | select(.kind == "output-alone")] | length' "$R") probes of the output chains with the receivers' input chains opened."
  echo "**Mutation testing: $(jq .mutation.killed "$R") of $(jq .mutation.mutants "$R") mutants killed ($mut_rate%), $(jq '.mutation.survivors | length' "$R") survived**, in $mut_seconds s$([ "${SEG_MUTANTS:-1}" = 0 ] && echo " (SKIPPED: SEG_MUTANTS=0, not evidence)")."
  echo
  echo "## Checks"
  echo
  echo "| kind | flow | source | destination | port | expected | observed | verdict | decided by |"
  echo "|---|---|---|---|---|---|---|---|---|"
  awk -F'\t' '$1 !~ /-alone$/ || $5 == "-" {printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9}' "$RES"
  echo
  echo "## Each chain alone"
  echo
  echo "| chain | opened for the test | probes | must connect | must be dropped | failed |"
  echo "|---|---|---|---|---|---|"
  jq -r '[.results[] | select(.kind | endswith("-alone")) | select(.port != "-")
          | . + {chain: (if .kind == "input-alone" then .destination + " input" else .source + " output" end)}]
         | group_by(.chain)[] | "| \(.[0].chain) | \(if .[0].kind == "input-alone" then "every output chain, the edge'"'"'s forward chain" else "every input chain" end) | \(length) | \([.[] | select(.expected == "open")] | length) | \([.[] | select(.expected != "open")] | length) | \([.[] | select(.verdict != "pass")] | length) |"' "$R"
  echo
  echo "## Mutants"
  echo
  echo "Every rule of every ruleset deleted; each address, port, interface or ct status match of a rule removed (the rule matches more); an \`accept\` added at the top of every chain. Each mutant is loaded alone in its zone and the checks through that zone are run until one fails."
  echo
  echo "| mutant | rule | killed by |"
  echo "|---|---|---|"
  jq -r '.mutation.results[] | "| `\(.name)` | `\(.rule)` | \(.killed_by) |"' "$R"
  echo
  echo "Surviving mutants: $(jq -r 'if (.mutation.survivors | length) == 0 then "none." else "" end' "$R")"
  jq -r '.mutation.survivors[] | "- `\(.name)` (`\(.rule)`): \(.explanation)"' "$R"
  echo
  echo "## Each chain alone: every probe"
  echo
  echo "| kind | flow | source | destination | port | expected | observed | verdict | decided by |"
  echo "|---|---|---|---|---|---|---|---|---|"
  awk -F'\t' '$1 ~ /-alone$/ && $5 != "-" {printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9}' "$RES"
} > "$OUT/report.md"

# The compliance document embeds the latest report on request (everything but
# the per-probe rows of the each-chain-alone passes, which report.md keeps).
if [ -n "${SEG_UPDATE_DOC:-}" ]; then
  doc=$ROOT/compliance/pci_dss/network_segmentation.md
  { sed '/<!-- segmentation-report:begin -->/q' "$doc"
    sed -n '3,/^## Each chain alone: every probe/p' "$OUT/report.md" | sed '$d' | sed 's/^## /### /'
    sed -n '/<!-- segmentation-report:end -->/,$p' "$doc"; } > "$WORK/doc" && cp "$WORK/doc" "$doc"
fi

if [ "$failures" -eq 0 ]; then
  echo "segmentation: $total checks passed, mutants killed: $mut_killed of $mut_total ($mut_rate%), in ${elapsed} s (report: ${OUT#$ROOT/}/report.md, report.json)"
else
  grep -P '\tFAIL\t' "$RES" | sed 's/^/  FAIL /' >&2
  echo "segmentation: $failures of $total checks FAILED, mutants killed: $mut_killed of $mut_total ($mut_rate%), in ${elapsed} s (report: ${OUT#$ROOT/}/report.md)"
  exit 1
fi
