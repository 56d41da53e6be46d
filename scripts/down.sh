#!/usr/bin/env bash
# make down: stop exactly what make up started (pid files in var/run/, the
# var/pg cluster). Idempotent.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for name in checkout gatewayd vaultd pspsim; do
  f=$VAR/run/$name.pid
  [ -s "$f" ] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { log "$name did not stop in 10 s; killing"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$f"
done
"$ROOT/scripts/pg.sh" stop
log "strongroom: down"
