-- Gateway database, initial schema (app zone: tokens only, never a PAN —
-- invariant 1, docs/invariants.md). Applied by the migration runner as postgres inside one
-- transaction; no BEGIN/COMMIT here.

CREATE TABLE merchants (
    id          text PRIMARY KEY CHECK (id ~ '^mer_[A-Za-z0-9]{8,64}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- API keys are stored only as SHA-256 hashes (PCI DSS v4.0 8.3.2: authentication
-- factors unreadable in storage); key_prefix is for display only.
CREATE TABLE api_keys (
    id           bigserial PRIMARY KEY,
    merchant_id  text NOT NULL REFERENCES merchants(id),
    kind         text NOT NULL CHECK (kind IN ('publishable', 'secret')),
    key_sha256   text NOT NULL UNIQUE CHECK (key_sha256 ~ '^[0-9a-f]{64}$'),
    key_prefix   text NOT NULL CHECK (length(key_prefix) BETWEEN 4 AND 16),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz NULL
);
CREATE INDEX api_keys_merchant_idx ON api_keys (merchant_id);

CREATE TABLE payments (
    id               text PRIMARY KEY CHECK (id ~ '^pay_[A-Za-z0-9]{8,64}$'),
    merchant_id      text NOT NULL REFERENCES merchants(id),
    amount           bigint NOT NULL CHECK (amount > 0),
    currency         char(3) NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    status           text NOT NULL CHECK (status IN ('processing', 'requires_action',
                         'authorized', 'captured', 'partially_refunded', 'refunded',
                         'voided', 'failed', 'disputed', 'unknown')),
    capture_method   text NOT NULL CHECK (capture_method IN ('automatic', 'manual')),
    payment_method   text NOT NULL CHECK (payment_method ~ '^tok_[A-Za-z0-9]{8,64}$'),
    description      text NULL CHECK (description IS NULL OR length(description) <= 500),
    card_brand       text NULL,
    card_last4       text NULL CHECK (card_last4 IS NULL OR card_last4 ~ '^[0-9]{4}$'),
    amount_captured  bigint NOT NULL DEFAULT 0 CHECK (amount_captured >= 0 AND amount_captured <= amount),
    failure_code     text NULL,
    failure_message  text NULL,
    psp_reference    text NULL,
    connector        text NULL,
    redirect_url     text NULL,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_merchant_created_idx ON payments (merchant_id, created_at DESC);

-- Append-only history of every state change (PCI DSS v4.0 10.2: audit trail).
CREATE TABLE payment_events (
    id           bigserial PRIMARY KEY,
    payment_id   text NOT NULL REFERENCES payments(id),
    type         text NOT NULL CHECK (type ~ '^payment\.[a-z_]+$'),
    from_status  text NULL,
    to_status    text NOT NULL,
    data         jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_events_payment_idx ON payment_events (payment_id, id);

CREATE FUNCTION payment_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payment_events is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER payment_events_no_update_delete
    BEFORE UPDATE OR DELETE ON payment_events
    FOR EACH ROW EXECUTE FUNCTION payment_events_append_only();
CREATE TRIGGER payment_events_no_truncate
    BEFORE TRUNCATE ON payment_events
    FOR EACH STATEMENT EXECUTE FUNCTION payment_events_append_only();

-- Transactional outbox (invariant 7, docs/invariants.md): written in the same transaction as
-- the payment update and its event; a relay delivers and sets delivered_at.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    event_id      bigint NOT NULL REFERENCES payment_events(id),
    topic         text NOT NULL,
    payload       jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz NULL
);
CREATE INDEX outbox_undelivered_idx ON outbox (id) WHERE delivered_at IS NULL;

-- Idempotency-Key records (invariant 8, docs/invariants.md). status_code NULL = in progress.
CREATE TABLE idempotency_keys (
    merchant_id     text NOT NULL REFERENCES merchants(id),
    key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_sha256  text NOT NULL CHECK (request_sha256 ~ '^[0-9a-f]{64}$'),
    method          text NOT NULL,
    path            text NOT NULL,
    status_code     integer NULL,
    response_body   text NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, key)
);

-- Least privilege for the application role (PCI DSS v4.0 7.2.2).
GRANT SELECT, INSERT, UPDATE ON merchants, api_keys, payments, outbox, idempotency_keys TO gateway;
-- A claim is released (deleted) when execution could not start (vault unreachable).
GRANT DELETE ON idempotency_keys TO gateway;
GRANT SELECT, INSERT ON payment_events TO gateway;
GRANT USAGE ON SEQUENCE api_keys_id_seq, payment_events_id_seq, outbox_id_seq TO gateway;
