-- Issue 4: the payment lifecycle after authorization (capture, void,
-- refunds), idempotency crash recovery, and indexes for listing.
-- Applied by the migration runner inside one transaction.

-- What has been refunded so far (succeeded refunds only); never more than
-- was captured.
ALTER TABLE payments
    ADD COLUMN amount_refunded bigint NOT NULL DEFAULT 0;
ALTER TABLE payments
    ADD CONSTRAINT payments_refund_bounds CHECK (amount_refunded >= 0 AND amount_refunded <= amount_captured);

-- Listing: GET /v1/payments (merchant, newest first, optional status filter)
-- and the workers' scans (status, age).
CREATE INDEX payments_merchant_created_id_idx ON payments (merchant_id, created_at DESC, id DESC);
CREATE INDEX payments_status_created_idx ON payments (status, created_at)
    WHERE status IN ('processing', 'requires_action', 'authorized', 'unknown');

-- Refund objects with their own status. 'pending' while the PSP's answer is
-- unknown (a worker asks again with the same PSP idempotency key, the refund id).
CREATE TABLE refunds (
    id              text PRIMARY KEY CHECK (id ~ '^re_[A-Za-z0-9]{8,64}$'),
    payment_id      text NOT NULL REFERENCES payments(id),
    merchant_id     text NOT NULL REFERENCES merchants(id),
    amount          bigint NOT NULL CHECK (amount > 0),
    currency        char(3) NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    status          text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    reason          text NULL CHECK (reason IS NULL OR reason IN ('duplicate', 'fraudulent',
                        'requested_by_customer')),
    psp_reference   text NULL,
    failure_code    text NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id, created_at);
CREATE INDEX refunds_pending_idx ON refunds (created_at) WHERE status = 'pending';

-- Idempotency crash recovery: the payment a claimed key created (linked in the
-- same transaction as the payment row), and a lease. A key still in progress
-- after its lease (its gatewayd died) is taken over by the next retry, which
-- learns the outcome from the vault with the same PSP key (never a second charge).
ALTER TABLE idempotency_keys ADD COLUMN payment_id text NULL REFERENCES payments(id);
ALTER TABLE idempotency_keys ADD COLUMN lease_until timestamptz NOT NULL DEFAULT now() + interval '60 seconds';
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

GRANT SELECT, INSERT, UPDATE ON refunds TO gateway;
