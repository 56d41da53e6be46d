-- Merchants' own PSP credentials (issue 5): API key, merchant account and
-- webhook secret per (merchant, connector), registered through the gateway
-- and kept only here, in the CDE, as AES-256-GCM ciphertext made inside the
-- HSM (ADR 0095). The AAD "strongroom/psp-cred/v1|<merchant>|<connector>"
-- binds each ciphertext to its row. Only the last 4 characters of each value
-- are kept in clear (what the API may show). account_hmac is HMAC-SHA256
-- (HSM key, domain-separated) of the merchant account, so a webhook that
-- names an account finds its merchant without the account in clear.
-- PCI DSS v4.0 3.5.1 / 8.6.3: credentials protected; invariant 10, docs/invariants.md.

CREATE TABLE psp_credentials (
  merchant_id            text NOT NULL REFERENCES merchants (id) ON DELETE CASCADE,
  connector              text NOT NULL CHECK (connector ~ '^[a-z][a-z0-9_]{0,31}$'),
  key_version            text NOT NULL,
  iv                     bytea NOT NULL CHECK (length(iv) = 12),
  ciphertext             bytea NOT NULL CHECK (length(ciphertext) BETWEEN 17 AND 1024),
  api_key_last4          text NULL CHECK (api_key_last4 IS NULL OR length(api_key_last4) = 4),
  merchant_account_last4 text NULL CHECK (merchant_account_last4 IS NULL OR length(merchant_account_last4) = 4),
  webhook_secret_last4   text NULL CHECK (webhook_secret_last4 IS NULL OR length(webhook_secret_last4) = 4),
  account_hmac           text NULL CHECK (account_hmac IS NULL OR account_hmac ~ '^[0-9a-f]{64}$'),
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (merchant_id, connector)
);

-- One merchant per PSP account and connector: a webhook naming the account
-- must resolve to exactly one merchant's secret.
CREATE UNIQUE INDEX psp_credentials_account_idx ON psp_credentials (connector, account_hmac)
  WHERE account_hmac IS NOT NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON psp_credentials TO vault;
