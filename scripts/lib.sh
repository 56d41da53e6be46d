# Shared helpers for the dev-stack scripts. Sourced, not run.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR=$ROOT/var
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
# Ports (the dev stack contract, docs/development.md). SR_PORT_OFFSET shifts all of them so
# that several checkouts can run their stacks side by side (default 0).
SR_PORT_OFFSET=${SR_PORT_OFFSET:-0}
PGPORT=$((55432 + SR_PORT_OFFSET))
GW_PORT=$((8443 + SR_PORT_OFFSET))
VAULT_PUBLIC_PORT=$((8444 + SR_PORT_OFFSET))
VAULT_INTERNAL_PORT=$((8445 + SR_PORT_OFFSET))
PSP_PORT=$((8446 + SR_PORT_OFFSET))
# Admin listeners (/healthz, /readyz, /metrics; ADR 0051), loopback only.
GW_ADMIN_PORT=$((8447 + SR_PORT_OFFSET))
VAULT_ADMIN_PORT=$((8448 + SR_PORT_OFFSET))
# Browser-facing (issue 6): pspsim's 3-D Secure challenge pages, the example checkout.
PSP_CHALLENGE_PORT=$((8449 + SR_PORT_OFFSET))
CHECKOUT_PORT=$((8450 + SR_PORT_OFFSET))
PGHOST=127.0.0.1
SR_BIN=${SR_BIN:-build/bin}
case "$SR_BIN" in /*) ;; *) SR_BIN=$ROOT/$SR_BIN ;; esac
export SOFTHSM2_CONF=$VAR/softhsm/softhsm2.conf

log() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# psql as the operators' role over TCP (dev cluster only: trust for postgres@127.0.0.1).
pg() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U postgres "$@"; }

# wait_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT.
wait_port() {
  local port=$1 t=${2:-30} i
  for ((i = 0; i < t * 10; i++)); do
    (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# running NAME [COMM]: the pid in var/run/NAME.pid is alive, not a zombie,
# and its command name is COMM (default NAME).
running() {
  local f=$VAR/run/$1.pid pid comm=${2:-$1}
  [ -s "$f" ] || return 1
  pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null || return 1
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]
}

# port_busy PORT: something already listens on 127.0.0.1:PORT.
port_busy() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

# new_secret FILE: random secret, mode 0600, kept if present.
new_secret() {
  [ -s "$1" ] && return 0
  (umask 077; openssl rand -hex 24 > "$1")
}
