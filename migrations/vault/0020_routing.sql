-- Routing (issue 5). Each merchant may choose a region (mapped to a
-- connector by vaultd's routing_regions), a primary connector that overrides
-- country and region routing, and a secondary connector used only when the
-- primary provably did not accept an authorization (connection refused, TLS
-- failure, a PSP answer documented as not processed). ADR 0091.
-- Connector names are checked by vaultd against its configured connectors;
-- the CHECKs below are the database's last line.

CREATE TABLE merchant_routing (
  merchant_id         text PRIMARY KEY REFERENCES merchants (id) ON DELETE CASCADE,
  region              text NULL CHECK (region ~ '^[a-z]{2,8}$'),
  primary_connector   text NULL CHECK (primary_connector ~ '^[a-z][a-z0-9_]{0,31}$'),
  secondary_connector text NULL CHECK (secondary_connector ~ '^[a-z][a-z0-9_]{0,31}$'),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK (secondary_connector IS NULL OR secondary_connector IS DISTINCT FROM primary_connector)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON merchant_routing TO vault;

-- Why an authorization went to its connector: country, region, override,
-- default, or failover (the secondary after the primary provably refused).
ALTER TABLE authorizations ADD COLUMN route_reason text NULL
  CHECK (route_reason IN ('country', 'region', 'override', 'default', 'failover'));
