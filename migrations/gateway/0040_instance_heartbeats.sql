-- Issue 16: leases that end when their owner dies (ADR 0113). Every gatewayd
-- process registers a random instance id at start and writes its heartbeat
-- here every second on a connection of its own; an Idempotency-Key claim and
-- a webhook delivery claim record the instance that holds them. A claim whose
-- owner has not beaten for 5 s (killed, host lost, restarted under a new id)
-- may be taken over at once, however long its nominal lease; a live owner's
-- claim only after its lease, which covers the time it can still act.
-- The clock is the database's (now()) on both sides: no skew between hosts.
CREATE TABLE gateway_instances (
    id            text PRIMARY KEY CHECK (id ~ '^gwi_[A-Za-z0-9]{8,64}$'),
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now()
);

-- The owner of an in-progress claim (NULL: completed, released or from
-- before this migration, which then waits for its lease as before).
ALTER TABLE idempotency_keys ADD COLUMN owner text NULL;
ALTER TABLE webhook_deliveries ADD COLUMN owner text NULL;
-- Only deliveries being sent have an owner: the dead owners' scan stays small.
CREATE INDEX webhook_deliveries_owner_idx ON webhook_deliveries (owner) WHERE owner IS NOT NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON gateway_instances TO gateway;
