#!/usr/bin/env bash
# make up: start the dev stack under var/ (the dev stack contract, docs/development.md).
# Idempotent: what already runs is left running, what exists is kept.
#   var/pki/      dev PKI (scripts/pki.sh)
#   var/secrets/  HSM PINs, database passwords, custodians' dev secrets (mode 0600);
#                 no PSP secret: those are sealed in the HSM (ADR 0120)
#   var/pspsim-keys/ the secrets pspsim (the PSP) issued to the platform
#   var/softhsm/  SoftHSM2 config and token "strongroom" with pan-enc-v1, fp-hmac-v1
#   var/ceremony/ its custodians registry (dev-a, dev-b, dev-c; secrets in
#                 var/secrets/custodian-*), transcript and transcript signer key
#   var/pg/       PostgreSQL cluster (127.0.0.1:55432), databases vault and gateway
#   var/etc/      daemon configuration files
#   var/log/      daemon logs (JSON lines), var/run/ pid files
#   var/pspsim/   pspsim's journal: its intents, refunds, idempotency records
#                 (issue 16; kept across restarts, as the PSP's own records)
#   var/dev.env   export STRONGROOM_PK=..., STRONGROOM_SK, STRONGROOM_CA, GATEWAY_URL,
#                 VAULT_URL, SOFTHSM2_CONF (vaultctl on the dev token) ...
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
for b in vaultd gatewayd vaultctl gatewayctl pspsim; do
  [ -x "$SR_BIN/$b" ] || die "$SR_BIN/$b missing: run make first"
done
mkdir -p "$VAR"/{log,run,etc,softhsm/tokens}
mkdir -p -m 0700 "$VAR/secrets"

# Secrets: files, never environment variables (invariant 10, docs/invariants.md).
new_secret "$VAR/secrets/hsm-user-pin"
new_secret "$VAR/secrets/hsm-so-pin"
# Issue 5: the key sealing merchant webhook signing secrets (64 hex, ADR 0100).
[ -s "$VAR/secrets/webhook-key" ] || (umask 077; openssl rand -hex 32 > "$VAR/secrets/webhook-key")
# The secrets the PSP issues to the platform (issue 28, ADR 0120): pspsim's
# copies, on the PSP's side (var/pspsim-keys/). The vault holds them only
# sealed in the HSM: loaded below with vaultctl psp load by two custodians,
# never named in vaultd's configuration nor kept in var/secrets/.
mkdir -p -m 0700 "$VAR/pspsim-keys"
for f in psp-stripe-key psp-stripe-webhook-secret psp-adyen-key psp-adyen-hmac; do
  [ -e "$VAR/secrets/$f" ] && mv "$VAR/secrets/$f" "$VAR/pspsim-keys/$f"   # a stack from before issue 28
done
PSPK=$VAR/pspsim-keys
[ -s "$PSPK/psp-stripe-key" ] || (umask 077; echo "sk_test_psp_$(openssl rand -hex 16)" > "$PSPK/psp-stripe-key")
# The platform's Stripe webhook endpoint secret (issue 5): pspsim signs, the vault verifies.
[ -s "$PSPK/psp-stripe-webhook-secret" ] || (umask 077; echo "whsec_$(openssl rand -hex 24)" > "$PSPK/psp-stripe-webhook-secret")
# issue 5: the Adyen connector's X-API-Key and notification HMAC key (hex).
[ -s "$PSPK/psp-adyen-key" ] || (umask 077; echo "AQE_test_$(openssl rand -hex 24)" > "$PSPK/psp-adyen-key")
[ -s "$PSPK/psp-adyen-hmac" ] || (umask 077; openssl rand -hex 32 | tr a-f A-F > "$PSPK/psp-adyen-hmac")

scripts/pki.sh "$VAR/pki"

# SoftHSM2 token, found by label (never by slot number).
sed "s|@TOKENDIR@|$VAR/softhsm/tokens|" hsm/softhsm2.conf.in > "$VAR/softhsm/softhsm2.conf"
# Its SO names the key custodians (ADR 0105): three dev custodians, one
# secret file each, so that dual control and ceremony 5 run on the dev stack.
mkdir -p -m 0700 "$VAR/ceremony"
cust=()
for c in dev-a dev-b dev-c; do
  new_secret "$VAR/secrets/custodian-$c"
  cust+=(--secret "$c=$VAR/secrets/custodian-$c")
done
"$SR_BIN/vaultctl" "${cust[@]}" init-token dev-a dev-b dev-c >/dev/null
[ -s "$VAR/ceremony/custodians.json" ] || log "warning: the token predates its custodians (ADR 0105): ceremonies are refused until it is re-created"
"$SR_BIN/vaultctl" keys create >/dev/null
# The vault's TLS keys are generated in the token; the dev CA signs their
# requests, as the operator's CA does in production (ADR 0118).
SR_VAULTCTL="$SR_BIN/vaultctl" scripts/pki.sh "$VAR/pki" vault

scripts/pg.sh start
scripts/db-setup.sh 2>"$VAR/log/migrate.log" || { cat "$VAR/log/migrate.log" >&2; die "database setup failed"; }

cat > "$VAR/etc/pspsim.json" <<JSON
{
  "listen": "127.0.0.1", "port": $PSP_PORT,
  "tls_cert": "var/pki/pspsim.crt", "tls_key": "var/pki/pspsim.key",
  "client_ca": "var/pki/ca.crt", "peer_name": "vault-egress.strongroom.internal",
  "api_key_file": "var/pspsim-keys/psp-stripe-key", "threads": 4,
  "adyen_api_key_file": "var/pspsim-keys/psp-adyen-key", "adyen_merchant_account": "StrongroomDevECOM",
  "challenge_port": $PSP_CHALLENGE_PORT,
  "webhook_url": "https://gateway.strongroom.test:$GW_PORT", "webhook_addr": "127.0.0.1",
  "webhook_ca": "var/pki/ca.crt", "webhook_secret_file": "var/pspsim-keys/psp-stripe-webhook-secret",
  "adyen_hmac_key_file": "var/pspsim-keys/psp-adyen-hmac", "state_dir": "var/pspsim"
}
JSON
cat > "$VAR/etc/vaultd.json" <<JSON
{
  "public_listen": "127.0.0.1", "public_port": $VAULT_PUBLIC_PORT,
  "internal_listen": "127.0.0.1", "internal_port": $VAULT_INTERNAL_PORT,
  "tls_cert_public": "var/pki/vault-public.crt",
  "tls_cert_internal": "var/pki/vault-internal.crt",
  "client_ca": "var/pki/ca.crt", "gateway_peer": "gateway.strongroom.internal",
  "db_host": "127.0.0.1", "db_port": "$PGPORT", "db_name": "vault", "db_user": "vault",
  "db_password_file": "var/secrets/vault-db-password",
  "pkcs11_module": "/usr/lib/softhsm/libsofthsm2.so", "hsm_token_label": "strongroom",
  "hsm_pin_file": "var/secrets/hsm-user-pin", "hsm_sessions": 4,
  "psp_ca": "var/pki/ca.crt", "psp_client_cert": "var/pki/vault-egress.crt",
  "psp_stripe_host": "psp.strongroom.test", "psp_stripe_addr": "127.0.0.1", "psp_stripe_port": $PSP_PORT,
  "psp_adyen_host": "psp.strongroom.test", "psp_adyen_addr": "127.0.0.1", "psp_adyen_port": $PSP_PORT,
  "psp_adyen_merchant_account": "StrongroomDevECOM",
  "routing_countries": {"US": "stripe", "CA": "stripe", "DE": "adyen", "NL": "adyen", "FR": "adyen",
                        "BE": "adyen", "AT": "adyen", "ES": "adyen", "GB": "adyen"},
  "routing_regions": {"us": "stripe", "eu": "adyen"}, "routing_default": "stripe",
  "psp_retry_max": 2, "psp_retry_backoff_ms": 50, "psp_timeout_ms": 3000,
  "threads": 4, "cvc_ttl_seconds": 3540, "sweep_interval_seconds": 60,
  "admin_listen": "127.0.0.1", "admin_port": $VAULT_ADMIN_PORT, "shutdown_grace_seconds": 8,
  "rate_limit_ip_per_minute": 6000000, "rate_limit_ip_burst": 100000,
  "rate_limit_key_per_minute": 6000000, "rate_limit_key_burst": 100000
}
JSON
# The platform's PSP secrets sealed in the HSM, the production path (ADR
# 0120, hsm/ceremonies/psp-platform-secrets.md): two dev custodians approve
# each load; loaded again only when the PSP's value changed (its last 4).
"$SR_BIN/vaultctl" --config var/etc/vaultd.json psp list > "$VAR/run/psp-loaded.jsonl" \
  || die "vaultctl psp list failed"
for x in stripe:api_key:psp-stripe-key stripe:webhook_secret:psp-stripe-webhook-secret \
         adyen:api_key:psp-adyen-key adyen:webhook_secret:psp-adyen-hmac; do
  IFS=: read -r conn name file <<<"$x"
  have=$(jq -r --arg c "$conn" --arg n "$name" 'select(.connector == $c and .name == $n) | .last4' "$VAR/run/psp-loaded.jsonl")
  [ "$have" = "$(head -n1 "$PSPK/$file" | tail -c 5)" ] && continue
  "$SR_BIN/vaultctl" --config var/etc/vaultd.json "${cust[@]:0:4}" psp load "$conn" "$name" "$PSPK/$file" >/dev/null \
    || die "vaultctl psp load $conn $name failed"
done
rm -f "$VAR/run/psp-loaded.jsonl"

cat > "$VAR/etc/gatewayd.json" <<JSON
{
  "listen": "127.0.0.1", "port": $GW_PORT,
  "tls_cert": "var/pki/gateway.crt", "tls_key": "var/pki/gateway.key",
  "db_host": "127.0.0.1", "db_port": "$PGPORT", "db_name": "gateway", "db_user": "gateway",
  "db_password_file": "var/secrets/gateway-db-password",
  "vault_url": "https://vault-internal.strongroom.test:$VAULT_INTERNAL_PORT", "vault_addr": "127.0.0.1",
  "vault_ca": "var/pki/ca.crt", "vault_client_cert": "var/pki/gateway-client.crt",
  "vault_client_key": "var/pki/gateway-client.key", "threads": 4,
  "admin_listen": "127.0.0.1", "admin_port": $GW_ADMIN_PORT, "shutdown_grace_seconds": 8,
  "webhook_secret_key_file": "var/secrets/webhook-key", "webhook_ca": "var/pki/ca.crt",
  "webhook_allow_private": 1, "webhook_interval_ms": 200,
  "webhook_backoff_base_ms": 1000, "webhook_backoff_cap_ms": 5000,
  "mode": "test", "challenge_ca": "var/pki/ca.crt", "challenge_addr": "127.0.0.1"
}
JSON

# start NAME PORT...: run the daemon in the background unless it runs already.
start() {
  local name=$1; shift
  if running "$name"; then return 0; fi
  local q
  for q in "$@"; do
    port_busy "$q" && die "port $q is taken by another process: cannot start $name (another stack? set SR_PORT_OFFSET)"
  done
  "$SR_BIN/$name" --config "var/etc/$name.json" >>"$VAR/log/$name.log" 2>&1 &
  echo $! > "$VAR/run/$name.pid"
  local p
  for p in "$@"; do
    if ! wait_port "$p" 30 || ! running "$name"; then
      tail -n 20 "$VAR/log/$name.log" >&2
      die "$name did not start (log: var/log/$name.log)"
    fi
  done
}
start pspsim $PSP_PORT $PSP_CHALLENGE_PORT
start vaultd $VAULT_PUBLIC_PORT $VAULT_INTERNAL_PORT $VAULT_ADMIN_PORT
start gatewayd $GW_PORT $GW_ADMIN_PORT

# The test merchant: created once, kept while the gateway database knows it.
merchant_ok=0
if [ -s "$VAR/dev.env" ]; then
  mid=$(sed -n 's/^\(export \)\{0,1\}STRONGROOM_MERCHANT=//p' "$VAR/dev.env")
  if [ -n "$mid" ]; then
    n=$(pg -d gateway -At -v id="$mid" <<<"SELECT count(*) FROM merchants WHERE id = :'id'" 2>/dev/null || echo 0)
    [ "$n" = 1 ] && merchant_ok=1
  fi
fi
if [ $merchant_ok = 1 ]; then
  MID=$mid
  PK=$(sed -n 's/^\(export \)\{0,1\}STRONGROOM_PK=//p' "$VAR/dev.env")
  SK=$(sed -n 's/^\(export \)\{0,1\}STRONGROOM_SK=//p' "$VAR/dev.env")
else
  out=$("$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant create --name "Strongroom test merchant") \
    || die "gatewayctl merchant create failed"
  MID=$(jq -r .id <<<"$out"); PK=$(jq -r .publishable_key <<<"$out"); SK=$(jq -r .secret_key <<<"$out")
fi
# The test merchant's payment page origin (the example checkout): only it may
# frame the vault's card fields and tokenize from a browser (issue 6).
CHECKOUT_ORIGIN=http://localhost:$CHECKOUT_PORT
"$SR_BIN/gatewayctl" --config var/etc/gatewayd.json merchant origins --id "$MID" --origin "$CHECKOUT_ORIGIN" >/dev/null \
  || die "gatewayctl merchant origins failed"
(umask 077; cat > "$VAR/dev.env" <<ENV
# Written by make up. Dev credentials of the test merchant and the stack's URLs,
# exported: \`. var/dev.env\` hands them to every child process (curl, node ...).
export STRONGROOM_MERCHANT=$MID
export STRONGROOM_PK=$PK
export STRONGROOM_SK=$SK
export STRONGROOM_CA=$VAR/pki/ca.crt
export GATEWAY_URL=https://localhost:$GW_PORT
export VAULT_URL=https://localhost:$VAULT_PUBLIC_PORT
export VAULT_INTERNAL_URL=https://vault-internal.strongroom.test:$VAULT_INTERNAL_PORT
export PSP_URL=https://psp.strongroom.test:$PSP_PORT
export GATEWAY_ADMIN_URL=https://localhost:$GW_ADMIN_PORT
export VAULT_ADMIN_URL=https://localhost:$VAULT_ADMIN_PORT
export PSP_CHALLENGE_URL=https://psp.strongroom.test:$PSP_CHALLENGE_PORT
export CHECKOUT_PORT=$CHECKOUT_PORT
export CHECKOUT_URL=$CHECKOUT_ORIGIN/
export SR_PORT_OFFSET=$SR_PORT_OFFSET
export SOFTHSM2_CONF=$SOFTHSM2_CONF
ENV
)

# The example merchant checkout (examples/checkout/, Node.js standard library).
if command -v node >/dev/null 2>&1; then
  if ! running checkout node; then
    : > "$VAR/log/checkout-requests.log"
    node examples/checkout/server.mjs --env "$VAR/dev.env" --port "$CHECKOUT_PORT" \
      --log "$VAR/log/checkout-requests.log" >>"$VAR/log/checkout.log" 2>&1 &
    echo $! > "$VAR/run/checkout.pid"
    wait_port "$CHECKOUT_PORT" 15 && running checkout node || die "the example checkout did not start (var/log/checkout.log)"
  fi
else
  log "node not found: the example checkout is not started"
fi
log "strongroom: up (gateway :$GW_PORT, vault :$VAULT_PUBLIC_PORT/:$VAULT_INTERNAL_PORT, pspsim :$PSP_PORT/:$PSP_CHALLENGE_PORT, postgres :$PGPORT); credentials in var/dev.env"
log "strongroom: example checkout at $CHECKOUT_ORIGIN/ (browser: map psp.strongroom.test to 127.0.0.1 and trust var/pki/ca.crt; see README)"
