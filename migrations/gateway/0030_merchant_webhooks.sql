-- Issue 5: webhooks to merchants. Endpoints with event filters and their own
-- signing secret (stored encrypted, ADR 0100), one delivery per (outbox event,
-- endpoint), and every delivery attempt. Applied in one transaction.

-- A merchant's webhook endpoint. The signing secret ("whsec_...") is shown
-- once at creation; the gateway keeps it sealed with XChaCha20-Poly1305 under
-- the gateway's webhook key (webhook_secret_key_file), AAD = id || merchant,
-- so a sealed secret copied to another row does not open (ADR 0100).
CREATE TABLE webhook_endpoints (
    id              text PRIMARY KEY CHECK (id ~ '^we_[A-Za-z0-9]{8,64}$'),
    merchant_id     text NOT NULL REFERENCES merchants(id),
    url             text NOT NULL CHECK (url ~ '^https?://' AND length(url) BETWEEN 10 AND 2048),
    enabled_events  text[] NOT NULL CHECK (cardinality(enabled_events) BETWEEN 1 AND 16),
    secret_sealed   bytea NOT NULL,   -- nonce (24 bytes) || ciphertext || tag
    secret_prefix   text NOT NULL,    -- "whsec_" + 4 characters, for display
    created_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz NULL
);
CREATE INDEX webhook_endpoints_merchant_idx ON webhook_endpoints (merchant_id) WHERE deleted_at IS NULL;

-- One delivery of one event to one endpoint. 'pending' until a 2xx
-- ('succeeded') or until retries exceed the maximum age ('failed').
-- next_attempt_at doubles as the claim lease of the instance sending it.
CREATE TABLE webhook_deliveries (
    id               bigserial PRIMARY KEY,
    outbox_id        bigint NOT NULL REFERENCES outbox(id),
    endpoint_id      text NOT NULL REFERENCES webhook_endpoints(id),
    merchant_id      text NOT NULL REFERENCES merchants(id),
    event_type       text NOT NULL CHECK (event_type ~ '^[a-z]+\.[a-z_]+$'),
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    started_at       timestamptz NOT NULL DEFAULT now(),  -- the retry window runs from here (reset by redeliver)
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz NULL,
    completed_at     timestamptz NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (outbox_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id DESC);

-- Every attempt (issue 5: status code, latency, truncated response).
CREATE TABLE webhook_attempts (
    id             bigserial PRIMARY KEY,
    delivery_id    bigint NOT NULL REFERENCES webhook_deliveries(id),
    attempted_at   timestamptz NOT NULL DEFAULT now(),
    outcome        text NOT NULL CHECK (outcome IN ('success', 'http_error', 'network_error')),
    status_code    integer NULL,
    latency_ms     integer NOT NULL CHECK (latency_ms >= 0),
    response_body  text NULL CHECK (octet_length(response_body) <= 1024),
    error          text NULL CHECK (length(error) <= 256)
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);

-- The dispatcher fans events out in outbox order.
CREATE INDEX IF NOT EXISTS outbox_event_idx ON outbox (event_id);

-- Least privilege (PCI DSS v4.0 7.2.2): endpoints are soft-deleted, never removed.
GRANT SELECT, INSERT, UPDATE ON webhook_endpoints, webhook_deliveries TO gateway;
GRANT SELECT, INSERT ON webhook_attempts TO gateway;
GRANT USAGE ON SEQUENCE webhook_deliveries_id_seq, webhook_attempts_id_seq TO gateway;
