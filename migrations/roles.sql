-- An application role and its database, before the migrations (scripts/db-setup.sh
-- on the dev stack; README.md, "Install on a server"). Run by the cluster's
-- superuser with psql: -v role=vault (or gateway), and the role's password set
-- as :pw on psql's standard input, never on a command line:
--   { printf '\\set pw %s\n' "$(cat PASSWORD-FILE)"; cat roles.sql; } | psql -v role=vault
-- Idempotent. Neither role may connect to the other's database, nor create in
-- its schema public (the migrations, run as the owner, grant what it needs).
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'role', :'pw') \gexec
SELECT format('CREATE DATABASE %I', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'role') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'role') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'role', :'role') \gexec
\connect :role
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'role') \gexec
