-- Token lifecycle (issue 3): single-use tok_ tokens, reusable card_ tokens
-- per customer, enforced expiry, format-preserving aliases.
--
-- * tok_ tokens are single-use: the first authorization claims the token
--   (used_by = the gateway's idempotency key); another key is refused
--   (token_already_used), the same key may retry.
-- * card_ tokens are reusable saved cards of a merchant's customer; they
--   never hold a CVC (PCI DSS v4.0 3.3.1.2: SAD is not kept after
--   authorization, and a saved card outlives any authorization).
-- * expires_at is enforced: reads ignore expired rows and the sweeper
--   deletes them (the row, hence its ciphertext) on its own schedule.
-- * legacy_number: an optional 16..19 digit alias keeping BIN and last 4,
--   random in between, failing the Luhn check (never a PAN).

ALTER TABLE tokens DROP CONSTRAINT tokens_id_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_id_check CHECK (id ~ '^(tok|card)_[0-9A-Za-z]{22}$');
ALTER TABLE tokens
  ADD COLUMN customer      text CHECK (customer ~ '^[0-9A-Za-z_-]{1,64}$'),
  ADD COLUMN expires_at    timestamptz,
  ADD COLUMN used_by       text CHECK (length(used_by) BETWEEN 1 AND 255),
  ADD COLUMN used_at       timestamptz,
  ADD COLUMN legacy_number text UNIQUE CHECK (legacy_number ~ '^[0-9]{16,19}$'),
  ADD CONSTRAINT tokens_card_no_cvc CHECK (id !~ '^card_' OR cvc_ct IS NULL),
  ADD CONSTRAINT tokens_card_has_customer CHECK ((id ~ '^card_') = (customer IS NOT NULL));

-- the sweeper's scan of expiring rows
CREATE INDEX tokens_expires_idx ON tokens (expires_at) WHERE expires_at IS NOT NULL;
-- a customer's saved cards; deduplication by keyed fingerprint
CREATE INDEX tokens_customer_idx ON tokens (merchant_id, customer, created_at)
  WHERE customer IS NOT NULL;

ALTER TABLE authorizations DROP CONSTRAINT authorizations_token_id_check;
ALTER TABLE authorizations ADD CONSTRAINT authorizations_token_id_check
  CHECK (token_id ~ '^(tok|card)_[0-9A-Za-z]{22}$');
