-- Deleted customers (issue 19 item 2, ADR 0128): the gateway deletes a
-- customer object only after the vault destroyed its saved cards. The
-- vault first records the customer here (committed on its own), then
-- deletes the cards; POST /v1/cards refuses a recorded customer before
-- and again after it inserts a card, so no card survives under a deleted
-- customer however the two requests interleave. Customer object ids are
-- random (cus_ + 22 base62) and never reused.
CREATE TABLE deleted_customers (
    merchant_id  text NOT NULL REFERENCES merchants(id),
    customer     text NOT NULL CHECK (customer ~ '^[0-9A-Za-z_-]{1,64}$'),
    deleted_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, customer)
);
GRANT SELECT, INSERT ON deleted_customers TO vault;
