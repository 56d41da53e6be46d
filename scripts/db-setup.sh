#!/usr/bin/env bash
# Dev databases: `vault` and `gateway`, each with its own login role and
# password (var/secrets/*-db-password); neither role may connect to the other's
# database (separate databases and roles, docs/development.md). Then runs the migrations.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for db in vault gateway; do
  new_secret "$VAR/secrets/$db-db-password"
  # The password travels on psql's standard input, never its command line.
  { printf '\\set pw %s\n' "$(cat "$VAR/secrets/$db-db-password")"
    cat <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'role', :'pw') \gexec
SELECT format('CREATE DATABASE %I', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'role') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'role') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'role', :'role') \gexec
SQL
  } | pg -d postgres -v role="$db"
  pg -d "$db" -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC" >/dev/null
  pg -d "$db" -v role="$db" <<'SQL'
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'role') \gexec
SQL
  PSQL=$PGBIN/psql "$ROOT/migrations/migrate.sh" "$db" -h "$PGHOST" -p "$PGPORT" -U postgres >&2
done
