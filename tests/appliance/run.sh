#!/usr/bin/env bash
# make appliance-test: Strongroom installed on a fresh Debian 12, booted
# under systemd, provisioned the documented way, and the main job run
# against it (README.md, "Install on a server": its steps are this file's
# `step` lines, in the same order; tests/appliance/readme_check.sh holds
# the two together).
#
#   var/appliance/base/      debootstrap's Debian 12 (minbase + systemd),
#                            made once per tree and kept (a fresh clone
#                            makes it; delete it to start cold)
#   var/appliance/archives/  apt's downloaded packages, kept across runs
#   var/appliance/root/      this run's server: a copy of base/, made anew
#                            by every run (kept after it, to look at)
#   var/appliance/pki/       the test's CA (the operator's PKI in production)
#   var/appliance/log/       boot console, pspsim, journal of a failed run
#
# The server boots with `systemd-nspawn --boot --private-network`: a network
# namespace of its own holding the production address plan
# (iac/nftables/addresses-harness.nft) on its loopback, so the sample
# configuration of systemd/etc/strongroom/ is used unchanged and no port of
# a dev stack on the host can collide. pspsim (test only, never installed)
# runs from the host's build/bin inside that namespace, as the PSP at
# psp.strongroom.test (198.51.100.10:443); the main job's curl runs there
# too, as a client on the edge host's address.
#
# Needs root, debootstrap, systemd-nspawn (systemd-container) and the
# Debian mirror. SR_APPLIANCE_SKIP_OK=1 (make check): a missing
# prerequisite or a container that does not boot is a skip, said plainly;
# otherwise a failure. Nothing stays running after the run, whatever its
# end (trap). Prints "appliance: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
A=$ROOT/var/appliance
BASE=$A/base R=$A/root ARCHIVES=$A/archives PKI=$A/pki LOG=$A/log
MIRROR=${SR_APPLIANCE_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
SR_BIN=${SR_BIN:-build/bin}
case "$SR_BIN" in /*) ;; *) SR_BIN=$ROOT/$SR_BIN ;; esac
RESULTS=${RESULTS:-}
MAX=${SR_UNIT_MAX_EXPOSURE:-2.0}
# The address plan (iac/nftables/addresses-harness.nft) and sample configuration ports.
EDGE=10.40.1.2 APP=10.40.2.2 CDE=10.40.3.2 CDE_DB=10.40.4.2 APP_DB=10.40.5.2 PSP=198.51.100.10
NSPAWN_PID= LEADER= PSPSIM_PID= passed=0 failed=0 t0=$(date +%s)

# The run's report goes to fd 3, the original standard output: a trap that
# fires inside a redirected command still reports where it should.
exec 3>&1
say() { printf 'appliance: %s\n' "$*" >&3; }
step() { printf '== %s (%d s)\n' "$*" $(( $(date +%s) - t0 )) >&3; }
ok() { echo "  ok   $*" >&3; passed=$((passed + 1)); }
bad() { echo "  FAIL $*" >&3; failed=$((failed + 1)); }
finish() {
  echo "appliance: $passed passed, $failed failed${1:+, $1 skipped}" >&3
  [ -n "$RESULTS" ] && echo "$passed $failed" > "$RESULTS"
  exit $(( failed > 0 ))
}
# die MSG: a failure that ends the run (the trap stops everything).
die() { bad "$*"; finish; }
# skip MSG: a prerequisite the machine lacks: a skip under make check.
skip() {
  if [ "${SR_APPLIANCE_SKIP_OK:-0}" = 1 ]; then say "SKIPPED: $*"; finish 1; fi
  die "$* (make check skips it; make appliance-test needs it)"
}

# Teardown: pspsim, then the container (SIGTERM to nspawn powers it off),
# then SIGKILL for what is left after 60 s.
teardown() {
  [ -n "$PSPSIM_PID" ] && kill "$PSPSIM_PID" 2>/dev/null && wait "$PSPSIM_PID" 2>/dev/null
  PSPSIM_PID=
  if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    if [ "$failed" -gt 0 ] && [ -n "$LEADER" ]; then
      vm journalctl -b --no-pager -n 300 > "$LOG/journal.log" 2>&1 && echo "  (journal: $LOG/journal.log)" >&3
    fi
    kill -TERM "$NSPAWN_PID" 2>/dev/null
    for _ in $(seq 300); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$NSPAWN_PID" 2>/dev/null
    wait "$NSPAWN_PID" 2>/dev/null
  fi
  NSPAWN_PID= LEADER=
  rm -f "$A/nspawn.pid" "$A/pspsim.pid"
}
trap teardown EXIT
trap 'bad "interrupted"; finish' INT TERM

# in_root CMD...: run a command in the root, not booted (package installs;
# shares the host's network to reach the mirror).
in_root() {
  systemd-nspawn --register=no --keep-unit --quiet -D "$R" --bind="$ARCHIVES:/var/cache/apt/archives" \
    --setenv=DEBIAN_FRONTEND=noninteractive -- "$@"
}
# vm CMD...: run a command in the booted server, as root on its console would.
vm() {
  nsenter -t "$LEADER" -m -u -i -n -p -C -r -w -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 "$@"
}
# vsh 'SHELL TEXT': vm bash -c (pipes, redirections inside the server).
vsh() { vm /bin/bash -euo pipefail -c "$1"; }
# net CMD...: a host command in the server's network namespace (pspsim, curl).
net() { nsenter -t "$LEADER" -n -- "$@"; }

# ------------------------------------------------------------- prerequisites
tests/appliance/readme_check.sh && ok "README.md \"Install on a server\" is this test's steps" \
  || bad "README.md \"Install on a server\" differs from this test"
[ "$(id -u)" -eq 0 ] || skip "not root (debootstrap and systemd-nspawn need root)"
for c in debootstrap systemd-nspawn nsenter curl openssl jq; do
  command -v "$c" >/dev/null || skip "$c not found (make deps installs debootstrap and systemd-container)"
done
for b in vaultd gatewayd vaultctl gatewayctl pspsim; do
  [ -x "$SR_BIN/$b" ] || die "$SR_BIN/$b missing: run make first"
done
curl -sfI --max-time 15 "$MIRROR/dists/$SUITE/Release" >/dev/null || skip "the Debian mirror $MIRROR is not reachable"
mkdir -p "$A" "$ARCHIVES/partial" "$LOG"
rm -f "$LOG"/*.log
# A run killed before its trap ran (SIGKILL) left its container or pspsim:
# stop them (their pids are in var/appliance/*.pid, checked by command line).
for f in "$A/nspawn.pid" "$A/pspsim.pid"; do
  p=$(cat "$f" 2>/dev/null) || continue
  if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -e "-D $R " -e "$A/pspsim.json"; then
    kill -TERM "$p"; for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null
  fi
  rm -f "$f"
done

# ------------------------------------------------------------- the server
step "0. a fresh Debian 12 server"
BASE_ID="$SUITE minbase systemd,systemd-sysv,dbus $MIRROR"
if [ ! -f "$BASE/.strongroom-base" ] || [ "$(cat "$BASE/.strongroom-base")" != "$BASE_ID" ]; then
  rm -rf "$BASE" "$BASE.tmp"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus --cache-dir="$ARCHIVES" \
    "$SUITE" "$BASE.tmp" "$MIRROR" > "$LOG/debootstrap.log" 2>&1 \
    || { tail -5 "$LOG/debootstrap.log"; die "debootstrap failed (var/appliance/log/debootstrap.log)"; }
  echo "$BASE_ID" > "$BASE.tmp/.strongroom-base"
  mv "$BASE.tmp" "$BASE"
  ok "debootstrap $SUITE: $(du -sh "$BASE" | cut -f1)"
else
  ok "debootstrap's root cached in var/appliance/base ($(du -sh "$BASE" | cut -f1))"
fi
rm -rf "$R"
cp -a "$BASE" "$R"
rm -f "$R/.strongroom-base"
echo strongroom-appliance > "$R/etc/hostname"
cat > "$R/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
EOF
# No service starts while packages install in the unbooted root.
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod 0755 "$R/usr/sbin/policy-rc.d"

# os [WHAT]: the operator's commands (standard input: README.md "Install on
# a server" verbatim), run by bash as root on the booted server after $VC_DEF.
VC_DEF=$(cat <<'EOF'
export SOFTHSM2_CONF=/etc/strongroom/softhsm2.conf
VC="vaultctl --pin-file /etc/strongroom/credentials/hsm-user-pin --so-pin-file /root/ceremony/hsm-so-pin --transcript /var/lib/strongroom-ceremony/transcript.jsonl --custodians /var/lib/strongroom-ceremony/custodians.json --pubkey /var/lib/strongroom-ceremony/ceremony-sign-v1.pem --master operator"
VCD="systemd-run --unit=strongroom-vaultctl --quiet --wait --pipe --collect -p LoadCredential=vault-db-password:/etc/strongroom/credentials/vault-db-password -p LoadCredential=hsm-user-pin:/etc/strongroom/credentials/hsm-user-pin -p BindReadOnlyPaths=/run/credentials/strongroom-vaultctl.service:/run/credentials/strongroom-vaultd.service -p Environment=SOFTHSM2_CONF=/etc/strongroom/softhsm2.conf $VC --config /etc/strongroom/vaultd.json"
EOF
)
os() {
  local script; script=$(cat)
  echo "### ${1:-}" >> "$LOG/steps.log"
  vm /bin/bash -euo pipefail -c "$VC_DEF"$'\n'"$script" >> "$LOG/steps.log" 2>&1 \
    || { tail -8 "$LOG/steps.log" | sed 's/^/    /'; die "${1:-operator step} failed (var/appliance/log/steps.log)"; }
}

# install_strongroom: the packages of `make deb` (build/deb/), installed
# with apt in their directory, which pulls their dependencies from the
# mirror; the packages create the users and directories.
install_strongroom() {
  local debs=() d
  for d in build/deb/strongroom-*.deb; do [ -e "$d" ] && debs+=("$d"); done
  [ ${#debs[@]} -ge 4 ] || { echo "  no packages in build/deb/: make deb first"; return 2; }
  in_root apt-get update -qq > "$LOG/apt.log" 2>&1 || { tail -5 "$LOG/apt.log"; return 1; }
  rm -rf "$R/root/debs"; mkdir -p "$R/root/debs"; cp "${debs[@]}" "$R/root/debs/"
  echo "  packages: ${debs[*]}"
  in_root sh -c 'cd /root/debs && apt-get install --no-install-recommends ./strongroom-common_*_all.deb ./strongroom-vault_*_amd64.deb ./strongroom-gateway_*_amd64.deb ./strongroom-tools_*_amd64.deb postgresql softhsm2 openssl -y -q' \
    >> "$LOG/apt.log" 2>&1 || { tail -15 "$LOG/apt.log"; return 1; }
}
step "1. install Strongroom and its services"
install_strongroom; rc=$?
[ $rc -eq 2 ] && die "no Debian packages to install: run make deb first (make check does)"
[ $rc -eq 0 ] || die "installing Strongroom into the root failed (var/appliance/log/apt.log)"
rm -f "$R/usr/sbin/policy-rc.d"
missing=$(in_root sh -c 'ldd /usr/libexec/strongroom/vaultd /usr/libexec/strongroom/gatewayd /usr/bin/vaultctl /usr/bin/gatewayctl' 2>&1 | grep 'not found')
[ -z "$missing" ] && ok "installed; every library the binaries link is there" || bad "libraries missing: $missing"
in_root id strongroom-vault >/dev/null 2>&1 && in_root id strongroom-gateway >/dev/null 2>&1 \
  && ok "users strongroom-vault and strongroom-gateway (sysusers)" || bad "the daemons' users are missing"

step "2. boot"
systemd-nspawn --register=no --keep-unit --private-network -D "$R" --boot --console=passive \
  > "$LOG/boot.log" 2>&1 &
NSPAWN_PID=$!
echo "$NSPAWN_PID" > "$A/nspawn.pid"
for _ in $(seq 100); do
  LEADER=$(pgrep -P "$NSPAWN_PID" -x systemd | head -1)
  [ -n "$LEADER" ] && break; sleep 0.2
done
[ -n "$LEADER" ] || { tail -5 "$LOG/boot.log"; skip "the container did not boot (var/appliance/log/boot.log)"; }
# Until the manager answers on its bus, then until the boot has ended.
for _ in $(seq 240); do
  state=$(timeout 120 nsenter -t "$LEADER" -m -u -i -n -p -C -r -w -- /bin/systemctl is-system-running --wait 2>&1)
  case "$state" in *"Failed to connect"*) sleep 0.5 ;; *) break ;; esac
done
case "$state" in
  running|degraded) ok "booted: systemd says $state" ;;
  *) tail -5 "$LOG/boot.log"; skip "the container did not finish booting (systemd: '$state')" ;;
esac
[ "$state" = degraded ] && vm systemctl --failed --no-pager --plain | sed 's/^/    /'
# The address plan on the server's loopback (one host plays every role).
# Each flow leaves from its host's address (the kernel would answer a local
# peer from the peer's own address): to the CDE database from the CDE host,
# to the application database and to the vault from the gateway's host, to
# the PSP from the CDE host, to the gateway from the PSP (its webhooks).
for a in $EDGE $APP $CDE $CDE_DB $APP_DB $PSP; do net ip addr add "$a/32" dev lo; done
for r in $CDE_DB:$CDE $APP_DB:$APP $CDE:$APP $PSP:$CDE $APP:$PSP; do
  net ip route replace local "${r%:*}" dev lo table local src "${r#*:}" || die "source address for ${r%:*}"
done

# ------------------------------------------------------------- provisioning
step "3. PostgreSQL: roles, databases, migrations"
os "PostgreSQL" <<'EOF'
pg_conftool 15 main set listen_addresses '10.40.4.2,10.40.5.2'
echo 'host vault vault 10.40.3.2/32 scram-sha-256' >> /etc/postgresql/15/main/pg_hba.conf
echo 'host gateway gateway 10.40.2.2/32 scram-sha-256' >> /etc/postgresql/15/main/pg_hba.conf
systemctl restart postgresql@15-main
(umask 077; openssl rand -hex 24 > /etc/strongroom/credentials/vault-db-password)
(umask 077; openssl rand -hex 24 > /etc/strongroom/credentials/gateway-db-password)
{ printf '\\set pw %s\n' "$(cat /etc/strongroom/credentials/vault-db-password)"; cat /usr/share/strongroom/migrations/roles.sql; } | runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -v role=vault
{ printf '\\set pw %s\n' "$(cat /etc/strongroom/credentials/gateway-db-password)"; cat /usr/share/strongroom/migrations/roles.sql; } | runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -v role=gateway
runuser -u postgres -- /usr/share/strongroom/migrations/migrate.sh vault
runuser -u postgres -- /usr/share/strongroom/migrations/migrate.sh gateway
EOF
for db in vault gateway; do
  n=$(vm runuser -u postgres -- psql -X -At -d "$db" -c 'SELECT count(*) FROM schema_migrations' 2>/dev/null)
  [ "$n" = "$(ls migrations/$db/*.sql | wc -l)" ] && ok "database $db: $n migrations applied" || bad "database $db: '$n' migrations"
done

step "4. HSM: token, custodians, keys under dual control (ceremony 1)"
# The PINs and each custodian's passphrase are typed by different people,
# each into a file of their own (here: random).
os "ceremony 1" <<'EOF'
install -d -m 0700 -o strongroom-vault -g strongroom-vault /var/lib/strongroom-vault /var/lib/strongroom-vault/tokens
install -d -m 0700 /root/ceremony /var/lib/strongroom-ceremony
(umask 077; openssl rand -hex 16 > /root/ceremony/hsm-so-pin)
(umask 077; openssl rand -hex 16 > /etc/strongroom/credentials/hsm-user-pin)
(umask 077; openssl rand -hex 20 > /root/ceremony/custodian-a)
(umask 077; openssl rand -hex 20 > /root/ceremony/custodian-b)
(umask 077; openssl rand -hex 20 > /root/ceremony/custodian-c)
$VC --secret custodian-a=/root/ceremony/custodian-a --secret custodian-b=/root/ceremony/custodian-b --secret custodian-c=/root/ceremony/custodian-c init-token custodian-a custodian-b custodian-c
$VC ceremony init
$VC --secret custodian-a=/root/ceremony/custodian-a --secret custodian-b=/root/ceremony/custodian-b keys generate --key-label pan-enc-v1
$VC --secret custodian-a=/root/ceremony/custodian-a --secret custodian-b=/root/ceremony/custodian-b keys generate --key-label fp-hmac-v1
$VC --secret custodian-a=/root/ceremony/custodian-a --secret custodian-b=/root/ceremony/custodian-b keys generate --key-label audit-hmac-v1
$VC keys list
EOF
n=$(vsh "$VC_DEF"$'\n''$VC keys list' 2>/dev/null | grep -c 'sensitive=1 extractable=0')
[ "$n" -ge 3 ] && ok "token strongroom: pan-enc-v1, fp-hmac-v1, audit-hmac-v1 under dual control, never extractable" \
  || bad "keys list: $n keys sensitive and never extractable, want 3"

step "5. TLS: the vault's keys in the HSM, certificates from the operator's CA (ceremony 7)"
os "ceremony 7: requests" <<'EOF'
$VC tls csr public --org Strongroom --cn vault.strongroom.test --out /root/ceremony/vault-public.csr
$VC tls csr internal --org Strongroom --cn vault-internal.strongroom.test --out /root/ceremony/vault-internal.csr
$VC tls csr egress --org Strongroom --cn vault-egress.strongroom.internal --out /root/ceremony/vault-egress.csr
EOF
# The operator's CA (here scripts/pki.sh's) signs the requests, and issues
# the gateway's certificates and keys (files: the gateway has no HSM).
scripts/pki.sh "$PKI" > "$LOG/pki.log" 2>&1 || die "scripts/pki.sh failed"
for x in public:vault.strongroom.test:serverAuth internal:vault-internal.strongroom.test:serverAuth \
         egress:vault-egress.strongroom.internal:clientAuth; do
  IFS=: read -r role cn eku <<<"$x"
  ext=$(mktemp)
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=DNS:%s\n' \
    "$eku" "$cn" > "$ext"
  openssl x509 -req -in "$R/root/ceremony/vault-$role.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$ext" -out "$R/root/ceremony/vault-$role.crt" 2>>"$LOG/pki.log" || die "signing vault-$role"
  rm -f "$ext"
done
install -m 0644 "$PKI/ca.crt" "$R/etc/strongroom/pki/ca.crt"
install -m 0644 "$PKI/ca.crt" "$R/etc/strongroom/pki/psp-ca.crt"
install -m 0644 "$PKI/gateway.crt" "$PKI/gateway-client.crt" "$R/etc/strongroom/pki/"
install -m 0600 "$PKI/gateway.key" "$PKI/gateway-client.key" "$R/etc/strongroom/credentials/"
os "ceremony 7: certificates" <<'EOF'
$VC tls install public /root/ceremony/vault-public.crt --out /etc/strongroom/pki/vault-public.crt
$VC tls install internal /root/ceremony/vault-internal.crt --out /etc/strongroom/pki/vault-internal.crt
$VC tls install egress /root/ceremony/vault-egress.crt --out /etc/strongroom/pki/vault-egress.crt
$VC tls list
(umask 077; openssl rand -hex 32 > /etc/strongroom/credentials/webhook-key)
EOF
ok "vault-public, vault-internal, vault-egress: keys in the HSM, certificates installed"

# pspsim: the PSP (test only; never installed), from the host in the server's network.
mkdir -p -m 0700 "$A/pspsim-keys"; rm -rf "$A/pspsim-state"; mkdir -p -m 0700 "$A/pspsim-state"
(umask 077
 echo "sk_test_psp_$(openssl rand -hex 16)" > "$A/pspsim-keys/psp-stripe-key"
 echo "whsec_$(openssl rand -hex 24)" > "$A/pspsim-keys/psp-stripe-webhook-secret"
 echo "AQE_test_$(openssl rand -hex 24)" > "$A/pspsim-keys/psp-adyen-key"
 openssl rand -hex 32 | tr a-f A-F > "$A/pspsim-keys/psp-adyen-hmac")
cat > "$A/pspsim.json" <<JSON
{
  "listen": "$PSP", "port": 443,
  "tls_cert": "$PKI/pspsim.crt", "tls_key": "$PKI/pspsim.key",
  "client_ca": "$PKI/ca.crt", "peer_name": "vault-egress.strongroom.internal",
  "api_key_file": "$A/pspsim-keys/psp-stripe-key", "threads": 2,
  "adyen_api_key_file": "$A/pspsim-keys/psp-adyen-key", "adyen_merchant_account": "StrongroomDevECOM",
  "challenge_port": 8449,
  "webhook_url": "https://gateway.strongroom.test:8443", "webhook_addr": "$APP",
  "webhook_ca": "$PKI/ca.crt", "webhook_secret_file": "$A/pspsim-keys/psp-stripe-webhook-secret",
  "adyen_hmac_key_file": "$A/pspsim-keys/psp-adyen-hmac", "state_dir": "$A/pspsim-state"
}
JSON
# nsenter -F execs pspsim in this very process: $! is pspsim's pid.
nsenter -t "$LEADER" -n -F -- "$SR_BIN/pspsim" --config "$A/pspsim.json" > "$LOG/pspsim.log" 2>&1 &
PSPSIM_PID=$!
echo "$PSPSIM_PID" > "$A/pspsim.pid"

step "6. the platform's PSP secrets sealed in the HSM"
# The PSP dashboard operator types each value into a file in /dev/shm (here:
# the secrets pspsim issued); two custodians approve each load. vaultd.json
# names the database password and the PIN where systemd puts them for the
# unit: $VCD runs vaultctl in a transient unit that loads the same
# credentials and sees them at that path, before vaultd's first start.
vsh 'install -m 0600 /dev/null /dev/shm/stripe-api-key' && vsh 'cat > /dev/shm/stripe-api-key' < "$A/pspsim-keys/psp-stripe-key"
vsh 'install -m 0600 /dev/null /dev/shm/stripe-webhook-secret' \
  && vsh 'cat > /dev/shm/stripe-webhook-secret' < "$A/pspsim-keys/psp-stripe-webhook-secret"
os "ceremony: the platform's PSP secrets" <<'EOF'
$VCD --secret custodian-a=/root/ceremony/custodian-a --secret custodian-b=/root/ceremony/custodian-b psp load stripe api_key /dev/shm/stripe-api-key
$VCD --secret custodian-a=/root/ceremony/custodian-a --secret custodian-b=/root/ceremony/custodian-b psp load stripe webhook_secret /dev/shm/stripe-webhook-secret
shred -u /dev/shm/stripe-api-key /dev/shm/stripe-webhook-secret
EOF
os "closing the ceremonies" <<'EOF'
$VCD psp list
$VC ceremony verify /var/lib/strongroom-ceremony/transcript.jsonl --allow-untimed
shred -u /root/ceremony/hsm-so-pin
chown -R strongroom-vault:strongroom-vault /var/lib/strongroom-vault
EOF
grep -q 'transcript intact' "$LOG/steps.log" && ok "stripe api_key and webhook_secret sealed in the HSM; ceremony transcript intact" \
  || bad "ceremony verify: no 'transcript intact'"

step "7. start the units"
os "starting the units" <<'EOF'
systemctl daemon-reload
systemctl enable --now strongroom-vaultd
systemctl enable --now strongroom-gatewayd
EOF
# until_active UNIT PORT ADDR: the unit runs and its listener answers.
until_active() {
  local i
  for i in $(seq 150); do
    if [ "$(vm systemctl is-active "$1")" = active ] && net bash -c "exec 3<>/dev/tcp/$3/$2" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  vm systemctl status --no-pager -n 20 "$1" | sed 's/^/    /'; return 1
}
until_active strongroom-vaultd 8444 $CDE && ok "strongroom-vaultd active, listening on $CDE:8444" || die "strongroom-vaultd did not start"
until_active strongroom-gatewayd 8443 $APP && ok "strongroom-gatewayd active, listening on $APP:8443" || die "strongroom-gatewayd did not start"

step "8. the first merchant"
out=$(vm gatewayctl --config /etc/strongroom/gatewayd.json merchant create --name "Appliance merchant" 2>"$LOG/gatewayctl.log") \
  || { cat "$LOG/gatewayctl.log"; die "gatewayctl merchant create failed"; }
PK=$(jq -r .publishable_key <<<"$out"); SK=$(jq -r .secret_key <<<"$out")
[[ $PK == pk_* && $SK == sk_* ]] && ok "merchant $(jq -r .id <<<"$out") with its keys" || die "merchant create: no keys"

# ------------------------------------------------------------- the main job
step "the main job against the booted appliance: tokenize -> pay -> captured"
kill -0 "$PSPSIM_PID" 2>/dev/null || { tail -5 "$LOG/pspsim.log"; die "pspsim is not running"; }
api() {   # URL-HOST PORT ADDR PATH KEY BODY [IDEMPOTENCY-KEY]
  net curl -sS --max-time 30 --interface "$EDGE" --cacert "$PKI/ca.crt" --resolve "$1:$2:$3" \
    -H "Authorization: Bearer $5" -H 'Content-Type: application/json' ${7:+-H "Idempotency-Key: $7"} \
    --data-binary "$6" -w '\n%{http_code}' "https://$1:$2$4"
}
res=$(api vault.strongroom.test 8444 $CDE /v1/tokens "$PK" \
  "{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":$(( $(date +%Y) + 3 )),\"cvc\":\"123\"}}")
code=${res##*$'\n'} body=${res%$'\n'*}; tok=$(jq -r '.id // empty' <<<"$body" 2>/dev/null)
[ "$code" = 201 ] && [[ $tok == tok_* ]] && ok "tokenized at the vault: $tok" || die "tokenize: HTTP $code $body"
res=$(api gateway.strongroom.test 8443 $APP /v1/payments "$SK" \
  "{\"amount\":2000,\"currency\":\"usd\",\"payment_method\":\"$tok\",\"capture_method\":\"automatic\"}" "appliance-$(openssl rand -hex 8)")
code=${res##*$'\n'} body=${res%$'\n'*}
[ "$code" = 201 ] && [ "$(jq -r .status <<<"$body")" = captured ] \
  && ok "payment $(jq -r .id <<<"$body") captured (20.00 USD, through pspsim)" || bad "pay: HTTP $code $body"

# ------------------------------------------------------------- hardening of the running units
step "systemd-analyze security of the running units (goal <= $MAX)"
for u in strongroom-vaultd strongroom-gatewayd; do
  frag=$(vm systemctl show -p FragmentPath --value "$u.service")
  e=$(vm systemd-analyze security --no-pager "$u.service" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  if awk -v a="$e" -v b="$MAX" 'BEGIN { exit !(a != "" && a + 0 <= b + 0) }'; then
    ok "$u.service ($frag, running): exposure $e (<= $MAX)"
  else
    bad "$u.service ($frag, running): exposure '$e' > $MAX"
  fi
done
say "took $(( $(date +%s) - t0 )) s"
finish
