-- Issue 16: a payment that was created but never reached the PSP (the vault
-- or the PSP unreachable after bounded retries) is 'canceled' (failure_code
-- not_sent), not 'failed': an outage is not a card failure (ADR 0114). It is
-- terminal: no worker scans it, so it is never sent later.
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('processing', 'requires_action', 'authorized', 'captured',
                      'partially_refunded', 'refunded', 'voided', 'failed', 'disputed',
                      'unknown', 'canceled'));
