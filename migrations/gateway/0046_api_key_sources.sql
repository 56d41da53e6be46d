-- Issue 28 item 5 (ADR 0119): API keys bound to where they may be used.
-- allowed_sources: the networks a key may be used from; NULL means anywhere.
-- Stored in the canonical form gatewayctl writes (IPv4-mapped IPv6 networks
-- as IPv4, no host bits: PostgreSQL's cidr type refuses those too).
ALTER TABLE api_keys ADD COLUMN allowed_sources cidr[] NULL
    CHECK (allowed_sources IS NULL
           OR (cardinality(allowed_sources) BETWEEN 1 AND 64
               AND array_position(allowed_sources, NULL) IS NULL));
-- Last successful use and the client address it came from, written at most
-- once a minute per key (not on every request), by the database's clock.
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz NULL;
ALTER TABLE api_keys ADD COLUMN last_used_source inet NULL;
