-- Disputes as objects (issue 19 item 6, ADR 0132): one row per dispute a
-- PSP reported on a payment (Stripe's dispute, Adyen's chargeback), with
-- its own random public id (du_ + 128 CSPRNG bits), the PSP's id kept for
-- the vault's calls only, the status in Stripe's words, the merchant's
-- evidence (text fields only, screened for card numbers and bounded by
-- gw_dispute_evidence_parse before they reach this table), and a short
-- lease (op_until) held while one PSP call for it is in flight, so two
-- concurrent submits or closes never reach the PSP twice.
CREATE TABLE disputes (
    id                text PRIMARY KEY CHECK (id ~ '^du_[A-Za-z0-9]{16,64}$'),
    merchant_id       text NOT NULL REFERENCES merchants(id),
    payment_id        text NOT NULL REFERENCES payments(id),
    psp_dispute_id    text NOT NULL CHECK (psp_dispute_id ~ '^[A-Za-z0-9_-]{1,127}$'),
    amount            bigint NOT NULL CHECK (amount >= 0),
    currency          text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    reason            text NOT NULL CHECK (reason ~ '^[a-z_]{1,40}$'),
    status            text NOT NULL CHECK (status IN ('warning_needs_response',
                          'warning_under_review', 'warning_closed', 'needs_response',
                          'under_review', 'won', 'lost')),
    evidence          jsonb NOT NULL DEFAULT '{}'::jsonb
                      CHECK (jsonb_typeof(evidence) = 'object' AND length(evidence::text) <= 200000),
    submission_count  integer NOT NULL DEFAULT 0 CHECK (submission_count >= 0),
    due_by            timestamptz NULL,
    op_until          timestamptz NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (payment_id, psp_dispute_id)
);
CREATE INDEX disputes_merchant_created_idx ON disputes (merchant_id, created_at DESC, id DESC);
CREATE INDEX disputes_payment_idx ON disputes (payment_id);
GRANT SELECT, INSERT, UPDATE ON disputes TO gateway;

-- A dispute's own changes (dispute.updated, dispute.closed,
-- dispute.funds_withdrawn, dispute.funds_reinstated) are events of its
-- payment, written with the change in one transaction (invariant 7).
ALTER TABLE payment_events DROP CONSTRAINT payment_events_type_check,
    ADD CONSTRAINT payment_events_type_check CHECK (type ~ '^(payment|dispute)\.[a-z_]+$');
