-- Vault (CDE) schema: merchants known to the vault and card tokens.
-- Applied by migrations/migrate.sh as the database owner in one transaction.
-- No plaintext PAN or CVC is ever stored (invariant 2, docs/invariants.md, PCI DSS v4.0
-- 3.5.1): only AES-256-GCM ciphertext made inside the HSM, with its key
-- version; the CVC only until the first authorization or its TTL (3.3.1.2).

CREATE TABLE merchants (
  id                     text PRIMARY KEY CHECK (id ~ '^mer_[0-9A-Za-z]{1,64}$'),
  -- SHA-256 (hex) of the merchant's publishable key: the key itself is not kept.
  publishable_key_sha256 text NOT NULL UNIQUE CHECK (publishable_key_sha256 ~ '^[0-9a-f]{64}$'),
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tokens (
  id             text PRIMARY KEY CHECK (id ~ '^tok_[0-9A-Za-z]{22}$'),
  merchant_id    text NOT NULL REFERENCES merchants (id),
  brand          text NOT NULL CHECK (brand IN ('visa', 'mastercard', 'amex', 'discover',
                                                'jcb', 'diners', 'unionpay', 'unknown')),
  last4          text NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
  exp_month      smallint NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
  exp_year       smallint NOT NULL CHECK (exp_year BETWEEN 2000 AND 2999),
  -- PCI DSS 3.5.1.1: keyed hash (HMAC-SHA256 in the HSM), per merchant.
  fingerprint    text NOT NULL CHECK (fingerprint ~ '^fp_[0-9a-f]{32}$'),
  key_version    text NOT NULL CHECK (key_version ~ '^pan-enc-v[0-9]+$'),
  pan_iv         bytea NOT NULL CHECK (octet_length(pan_iv) = 12),
  -- ciphertext || 16-byte GCM tag of a 13..19 digit PAN
  pan_ct         bytea NOT NULL CHECK (octet_length(pan_ct) BETWEEN 29 AND 35),
  cvc_iv         bytea CHECK (octet_length(cvc_iv) = 12),
  cvc_ct         bytea CHECK (octet_length(cvc_ct) BETWEEN 19 AND 20),
  cvc_expires_at timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_used_at   timestamptz,
  -- the CVC's IV, ciphertext and expiry exist together or not at all
  CONSTRAINT tokens_cvc_all_or_none CHECK (
    (cvc_iv IS NULL AND cvc_ct IS NULL AND cvc_expires_at IS NULL) OR
    (cvc_iv IS NOT NULL AND cvc_ct IS NOT NULL AND cvc_expires_at IS NOT NULL))
);

CREATE INDEX tokens_merchant_fingerprint_idx ON tokens (merchant_id, fingerprint);
-- the sweeper's scan: rows still holding a CVC, by expiry
CREATE INDEX tokens_cvc_expires_idx ON tokens (cvc_expires_at) WHERE cvc_ct IS NOT NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON merchants, tokens TO vault;
