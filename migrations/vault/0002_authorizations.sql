-- Every authorization the vault made for a merchant, keyed by the gateway's
-- PSP idempotency key. A retried request with the same key replays the
-- recorded outcome without decrypting the PAN again or calling the PSP
-- (invariant 8, docs/invariants.md), unless the outcome was `unknown` (the PSP's answer was
-- lost): then the PSP is asked again with the same key. Each row also records
-- which mTLS identity asked for the decryption (PCI DSS v4.0 10.2.1).

CREATE TABLE authorizations (
  merchant_id     text NOT NULL REFERENCES merchants (id),
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  token_id        text NOT NULL CHECK (token_id ~ '^tok_[0-9A-Za-z]{22}$'),
  payment_id      text NOT NULL,
  amount          bigint NOT NULL CHECK (amount > 0),
  currency        text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  capture         boolean NOT NULL,
  connector       text NOT NULL,
  status          text NOT NULL CHECK (status IN ('captured', 'authorized', 'requires_action',
                                                  'failed', 'unknown')),
  psp_reference   text,
  failure_code    text,
  failure_message text,
  redirect_url    text,
  peer            text NOT NULL,
  attempts        integer NOT NULL DEFAULT 1 CHECK (attempts > 0),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (merchant_id, idempotency_key)
);

CREATE INDEX authorizations_token_idx ON authorizations (token_id);

GRANT SELECT, INSERT, UPDATE ON authorizations TO vault;
