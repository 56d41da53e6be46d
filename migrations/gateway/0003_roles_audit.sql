-- Issue 4: roles on secret keys, key roll with a grace period, and the
-- hash-chained audit trail. Applied by the migration runner in one transaction.

-- Roles (least privilege, PCI DSS v4.0 7.2.1/7.2.2): admin (everything),
-- payments (create, capture, cancel, read), finance (refunds, read),
-- read_only. Existing keys keep full access (admin).
ALTER TABLE api_keys ADD COLUMN role text NOT NULL DEFAULT 'admin'
    CHECK (role IN ('admin', 'payments', 'finance', 'read_only'));
-- A rolled key stays valid until expires_at (the grace period), then is refused.
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz NULL;
-- The key a rolled key was replaced by (audit of key history).
ALTER TABLE api_keys ADD COLUMN replaced_by bigint NULL REFERENCES api_keys(id);

-- Audit trail (PCI DSS v4.0 10.2.1, 10.2.2, 10.3.2): every state-changing
-- request and every refusal. Each record carries SHA-256 over its canonical
-- form (which includes the previous record's hash and its own sequence
-- number), so `gatewayctl audit verify` finds the first altered, removed or
-- reordered record. Appends are serialized by an advisory lock.
CREATE TABLE audit_events (
    seq          bigint PRIMARY KEY CHECK (seq > 0),
    ts           text NOT NULL,            -- RFC 3339 UTC with microseconds, as hashed
    merchant_id  text NULL,
    key_id       bigint NULL,
    role         text NULL,
    request_id   text NULL,
    action       text NOT NULL,
    target       text NULL,
    provider     text NULL,
    result       text NOT NULL CHECK (result IN ('success', 'refused', 'error', 'replayed')),
    status       integer NOT NULL,
    reason       text NULL,
    prev_hash    text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash         text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
);

CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

GRANT SELECT, INSERT ON audit_events TO gateway;
