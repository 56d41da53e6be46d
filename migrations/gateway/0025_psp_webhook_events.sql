-- Webhooks from PSPs (issue 5): every verified event is recorded once,
-- keyed on (provider, event id) (invariant 9, docs/invariants.md). The insert happens in
-- the same transaction as the event's effect on the payment (its payment
-- event and outbox row, invariant 7), so a redelivery finds the row and
-- has no second effect; a failed transaction leaves no row, so the PSP's
-- retry applies the effect once.
CREATE TABLE psp_webhook_events (
    provider       text NOT NULL CHECK (provider ~ '^[a-z][a-z0-9_]{0,31}$'),
    event_id       text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 127),
    type           text NOT NULL,
    merchant_id    text NULL REFERENCES merchants(id),
    psp_reference  text NULL,
    payment_id     text NULL REFERENCES payments(id),
    -- applied | no_effect | payment_unknown
    outcome        text NOT NULL DEFAULT 'received'
                   CHECK (outcome IN ('received', 'applied', 'no_effect', 'payment_unknown')),
    received_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);
CREATE INDEX psp_webhook_events_payment_idx ON psp_webhook_events (payment_id) WHERE payment_id IS NOT NULL;

-- A webhook names the payment by the PSP's reference.
CREATE INDEX payments_connector_psp_reference_idx ON payments (connector, psp_reference)
    WHERE psp_reference IS NOT NULL;

GRANT SELECT, INSERT, UPDATE ON psp_webhook_events TO gateway;
