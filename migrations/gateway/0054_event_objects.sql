-- Issue 19 item 5 (ADR 0129): events shaped like Stripe's Event object, and
-- webhook endpoints that can be updated and have their secret rolled.
-- Applied in one transaction.

-- The public id of an event: "evt_" + 128 bits from a CSPRNG (the gateway
-- makes it, sr_random_id). The bigint id stays the internal sequence (the
-- outbox's reference and the tie-breaker of list order); it is never shown.
-- Rows written before this migration, and any insert that does not name
-- one, get 244 random bits from PostgreSQL's gen_random_uuid
-- (pg_strong_random), in hex. ADD COLUMN with a volatile default rewrites
-- the table: no UPDATE runs on the append-only table.
ALTER TABLE payment_events
    ADD COLUMN public_id text NOT NULL
        DEFAULT ('evt_' || replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))
        CHECK (public_id ~ '^evt_[A-Za-z0-9]{22,64}$');
CREATE UNIQUE INDEX payment_events_public_id_idx ON payment_events (public_id);

-- The event's type as merchants see it (GET /v1/events and the webhook):
-- refund.succeeded for payment.refunded, dispute.created for
-- payment.disputed (gw_webhook_event_name); NULL on rows written before this
-- migration, which read as the mapping below.
ALTER TABLE payment_events ADD COLUMN event_type text NULL
    CHECK (event_type IS NULL OR event_type ~ '^[a-z]+\.[a-z_]+$');

-- The merchant request that caused the event (Stripe's Event.request):
-- NULL for events of PSP webhooks, the worker and reconciliation.
ALTER TABLE payment_events ADD COLUMN request_id text NULL
    CHECK (request_id IS NULL OR length(request_id) BETWEEN 1 AND 64);
ALTER TABLE payment_events ADD COLUMN idempotency_key text NULL
    CHECK (idempotency_key IS NULL OR length(idempotency_key) BETWEEN 1 AND 255);

-- Webhook endpoints: status and description (POST
-- /v1/webhook_endpoints/{id}), and the previous secret of a roll, which
-- signs too until previous_expires_at (sealed like secret_sealed, ADR 0100:
-- the same AAD, endpoint id and merchant).
ALTER TABLE webhook_endpoints
    ADD COLUMN status text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    ADD COLUMN description text NULL CHECK (description IS NULL OR length(description) BETWEEN 1 AND 500),
    ADD COLUMN secret_previous_sealed bytea NULL,
    ADD COLUMN secret_previous_expires_at timestamptz NULL,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD CONSTRAINT webhook_endpoints_previous_pair
        CHECK ((secret_previous_sealed IS NULL) = (secret_previous_expires_at IS NULL));
