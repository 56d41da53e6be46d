#!/usr/bin/env bash
# Dev databases: `vault` and `gateway`, each with its own login role and
# password (var/secrets/*-db-password); neither role may connect to the other's
# database (separate databases and roles, docs/development.md). Then runs the migrations.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for db in vault gateway; do
  new_secret "$VAR/secrets/$db-db-password"
  # The password travels on psql's standard input, never its command line.
  { printf '\\set pw %s\n' "$(cat "$VAR/secrets/$db-db-password")"; cat "$ROOT/migrations/roles.sql"; } \
    | pg -d postgres -v role="$db" >/dev/null
  PSQL=$PGBIN/psql "$ROOT/migrations/migrate.sh" "$db" -h "$PGHOST" -p "$PGPORT" -U postgres >&2
done
