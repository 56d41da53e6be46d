-- Customers as objects (issue 19 item 2, ADR 0128): the merchant's shopper
-- records, shaped like Stripe's Customer. Every text field is screened for
-- card numbers by the gateway before it is stored (ADR 0106); metadata as
-- payments' (ADR 0124). default_source names one of the customer's saved
-- cards (card_ tokens live in the vault only). A row is deleted after the
-- vault destroyed the customer's cards (gateway/api/gw_customer_delete.c).
CREATE TABLE customers (
    id              text PRIMARY KEY CHECK (id ~ '^cus_[A-Za-z0-9]{22}$'),
    merchant_id     text NOT NULL REFERENCES merchants(id),
    email           text NULL CHECK (email IS NULL OR length(email) BETWEEN 3 AND 512),
    name            text NULL CHECK (name IS NULL OR length(name) BETWEEN 1 AND 256),
    description     text NULL CHECK (description IS NULL OR length(description) BETWEEN 1 AND 500),
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb
      CONSTRAINT customers_metadata_chk CHECK (jsonb_typeof(metadata) = 'object'
                                               AND octet_length(metadata::text) <= 40000),
    default_source  text NULL CHECK (default_source IS NULL OR default_source ~ '^card_[A-Za-z0-9]{8,64}$'),
    created_at      timestamptz NOT NULL DEFAULT now()
);
-- GET /v1/customers: newest first by keyset (created_at, id), optionally one email.
CREATE INDEX customers_merchant_created_id_idx ON customers (merchant_id, created_at DESC, id DESC);
CREATE INDEX customers_merchant_email_idx ON customers (merchant_id, email);
GRANT SELECT, INSERT, UPDATE, DELETE ON customers TO gateway;

-- Metadata on saved cards (issue 19 item 1, ADR 0128): the merchant's
-- strings about a card_ token of the vault, kept here in the application
-- zone, not in the CDE: they are not card data (screened for card numbers
-- like every field, ADR 0124) and the CDE holds only what it must. A row is
-- deleted with its card (DELETE /v1/cards/{id}) or its customer.
CREATE TABLE card_metadata (
    card_id      text PRIMARY KEY CHECK (card_id ~ '^card_[A-Za-z0-9]{8,64}$'),
    merchant_id  text NOT NULL REFERENCES merchants(id),
    customer     text NOT NULL CHECK (customer ~ '^[0-9A-Za-z_-]{1,64}$'),
    metadata     jsonb NOT NULL DEFAULT '{}'::jsonb
      CONSTRAINT card_metadata_metadata_chk CHECK (jsonb_typeof(metadata) = 'object'
                                                   AND octet_length(metadata::text) <= 40000)
);
CREATE INDEX card_metadata_customer_idx ON card_metadata (merchant_id, customer);
GRANT SELECT, INSERT, UPDATE, DELETE ON card_metadata TO gateway;
