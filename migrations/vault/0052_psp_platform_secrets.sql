-- The platform's own PSP secrets (issue 28, ADR 0120): the Stripe and Adyen
-- API keys, Stripe's webhook endpoint secret and Adyen's notification HMAC
-- key, loaded by vaultctl psp load under dual control and kept only here, as
-- AES-256-GCM ciphertext made inside the HSM under a pan-enc-vN key (the
-- sealing of merchants' credentials, ADR 0095), with the AAD
-- "strongroom/psp-platform/v1|<connector>|<name>" binding each ciphertext to
-- its row. They replace the plaintext psp_*_file settings: a copy of vaultd's
-- secrets directory or of this database holds no PSP secret. Only the last 4
-- characters are kept in clear. PCI DSS v4.0 3.5.1, 3.6.1, 8.6.3.
CREATE TABLE psp_platform_secrets (
  connector    text NOT NULL CHECK (connector ~ '^[a-z][a-z0-9_]{0,31}$'),
  name         text NOT NULL CHECK (name IN ('api_key', 'webhook_secret')),
  key_version  text NOT NULL CHECK (key_version ~ '^pan-enc-v[1-9][0-9]*$'),
  iv           bytea NOT NULL CHECK (length(iv) = 12),
  ciphertext   bytea NOT NULL CHECK (length(ciphertext) BETWEEN 17 AND 1024),
  last4        text NOT NULL CHECK (length(last4) = 4),
  loaded_by    text NOT NULL,
  loaded_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connector, name)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON psp_platform_secrets TO vault;
