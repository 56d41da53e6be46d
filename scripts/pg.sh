#!/usr/bin/env bash
# The dev PostgreSQL cluster: var/pg (data, socket), TCP 127.0.0.1:55432
# (+ SR_PORT_OFFSET).
# PostgreSQL refuses to run as root: the cluster belongs to the `postgres`
# user (Debian's package creates it). Usage: pg.sh start|stop|status
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -n "$PGBIN" ] || die "PostgreSQL server binaries not found (make deps)"
id postgres >/dev/null 2>&1 || die "user 'postgres' missing (make deps installs postgresql)"

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pgroot() {
  # The cluster lives in var/pg; if the postgres user cannot reach var/ (a
  # checkout under a private home directory), it lives in /var/tmp and
  # var/pg links to it.
  mkdir -p "$VAR"
  if [ ! -e "$VAR/pg" ]; then
    if as_pg test -x "$VAR"; then
      mkdir -p "$VAR/pg"
    else
      local alt; alt=/var/tmp/strongroom-pg-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)
      mkdir -p "$alt"; ln -s "$alt" "$VAR/pg"
    fi
  fi
  chown postgres: "$(readlink -f "$VAR/pg")" 2>/dev/null || true
  readlink -f "$VAR/pg"
}

start() {
  local root; root=$(pgroot)
  local data=$root/data run=$root/run
  as_pg mkdir -p "$run"
  if [ ! -s "$data/PG_VERSION" ]; then
    as_pg "$PGBIN/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=reject \
      -E UTF8 --locale=C.UTF-8 >/dev/null
    as_pg tee -a "$data/postgresql.conf" >/dev/null <<CONF
# Strongroom dev cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$run'
max_connections = 200
password_encryption = scram-sha-256
log_min_messages = warning
CONF
    as_pg tee "$data/pg_hba.conf" >/dev/null <<HBA
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       postgres                 trust
host    all       postgres  127.0.0.1/32   trust
host    vault     vault     127.0.0.1/32   scram-sha-256
host    gateway   gateway   127.0.0.1/32   scram-sha-256
HBA
  fi
  if ! as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$data" -l "$root/postgresql.log" -o "-p $PGPORT" -w -t 60 start >/dev/null \
      || { cat "$root/postgresql.log" >&2; die "PostgreSQL did not start"; }
  fi
}

stop() {
  [ -e "$VAR/pg" ] || return 0
  local data; data=$(readlink -f "$VAR/pg")/data
  [ -s "$data/PG_VERSION" ] || return 0
  if as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) data=$(readlink -f "$VAR/pg")/data; as_pg "$PGBIN/pg_ctl" -D "$data" status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
