#!/usr/bin/env bash
# Migration runner: applies migrations/<db>/NNNN_name.sql in order, each once,
# each in one transaction together with its record (file name + SHA-256) in
# schema_migrations. Refuses to run when an applied file has changed or
# disappeared, or when a file name is not NNNN_name.sql.
#
# usage: migrate.sh DB [PSQL-CONNECTION-OPTIONS...]
#   e.g. migrate.sh vault -h 127.0.0.1 -p 55432 -U postgres
# Runs as a role that may create the tables (the database owner); each file
# grants the application role what it needs.
set -euo pipefail
db=${1:?usage: migrate.sh DB [psql options]}; shift
dir=$(cd "$(dirname "$0")" && pwd)/$db
[ -d "$dir" ] || { echo "migrate: no directory $dir" >&2; exit 2; }
PSQL=${PSQL:-psql}
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 "$@" -d "$db"; }

q "$@" -c "CREATE TABLE IF NOT EXISTS schema_migrations (
  filename   text PRIMARY KEY,
  sha256     text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  applied_at timestamptz NOT NULL DEFAULT now())"

declare -A applied=()
while IFS='|' read -r name sum; do
  [ -n "$name" ] && applied[$name]=$sum
done < <(q "$@" -At -c "SELECT filename || '|' || sha256 FROM schema_migrations ORDER BY filename")

# Every applied file must still be there, unchanged.
for name in "${!applied[@]}"; do
  [ -f "$dir/$name" ] || { echo "migrate: $db/$name was applied but is missing" >&2; exit 1; }
  sum=$(sha256sum "$dir/$name" | cut -d' ' -f1)
  [ "$sum" = "${applied[$name]}" ] || {
    echo "migrate: $db/$name changed after it was applied (checksum mismatch); write a new migration instead" >&2
    exit 1; }
done

n=0
for f in "$dir"/*.sql; do
  [ -e "$f" ] || continue
  name=$(basename "$f")
  [[ $name =~ ^[0-9]{4}_[a-z0-9_]+\.sql$ ]] || { echo "migrate: bad file name $db/$name (want NNNN_name.sql)" >&2; exit 1; }
  [ -n "${applied[$name]:-}" ] && continue
  # One transaction per file: a file must not commit or roll it back, or run
  # psql meta-commands (\\connect, \\!, ...).
  if grep -Eiq '^[[:space:]]*(COMMIT|ROLLBACK|START[[:space:]]+TRANSACTION)\b|^[[:space:]]*\\' "$f"; then
    echo "migrate: $db/$name controls transactions or holds psql meta-commands; not applied" >&2
    exit 1
  fi
  sum=$(sha256sum "$f" | cut -d' ' -f1)
  { cat "$f"; printf '\nINSERT INTO schema_migrations (filename, sha256) VALUES (:%s, :%s);\n' "'mname'" "'msum'"; } \
    | q "$@" --single-transaction -v mname="$name" -v msum="$sum" -f - \
    || { echo "migrate: $db/$name failed; nothing of it was applied" >&2; exit 1; }
  echo "migrate: applied $db/$name"
  n=$((n + 1))
done
[ $n -gt 0 ] || echo "migrate: $db is up to date"
