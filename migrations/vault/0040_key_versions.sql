-- Key versions and online rotation (issue 7, ADR 0074). PCI DSS v4.0 3.6.1,
-- 3.7.4 (key changes at the end of the cryptoperiod), 3.7.5 (retirement);
-- NIST SP 800-57 Part 1 §5.3 (cryptoperiods) and §7 (key states).
--
-- key_versions says which HSM key of each purpose is current: vaultd
-- encrypts new PANs/CVCs under the current pan-enc key and fingerprints under
-- the current fp-hmac key, re-reading this table at most once a second, so a
-- rotation needs no restart. vaultctl keys rotate (dual control) generates the
-- next key in the HSM and then, in one transaction, marks it current and the
-- old one 'previous' (still used to decrypt, and for fp-hmac to find
-- duplicates); vaultctl keys reencrypt moves records to the current keys;
-- vaultctl keys retire destroys a 'previous' key no record uses ('retired').
CREATE TABLE key_versions (
  label      text PRIMARY KEY CHECK (label ~ '^(pan-enc|fp-hmac)-v[1-9][0-9]*$'),
  purpose    text NOT NULL CHECK (purpose IN ('pan-enc', 'fp-hmac')),
  version    integer NOT NULL CHECK (version > 0),
  state      text NOT NULL CHECK (state IN ('current', 'previous', 'retired')),
  kcv        text CHECK (kcv ~ '^[0-9A-F]{6}$'),
  changed_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (purpose, version),
  CHECK (label = purpose || '-v' || version)
);
-- Exactly one current key per purpose at any time.
CREATE UNIQUE INDEX key_versions_one_current ON key_versions (purpose) WHERE state = 'current';
INSERT INTO key_versions (label, purpose, version, state) VALUES
  ('pan-enc-v1', 'pan-enc', 1, 'current'),
  ('fp-hmac-v1', 'fp-hmac', 1, 'current');

-- Which fingerprint key made each token's fingerprint (re-fingerprinted by
-- vaultctl keys reencrypt). While a previous fp-hmac key exists, vaultd also
-- stores the fingerprint under it (fingerprint_prev) so that deduplication
-- matches cards fingerprinted before and after the rotation (ADR 0074).
ALTER TABLE tokens ADD COLUMN fp_version text NOT NULL DEFAULT 'fp-hmac-v1'
  CHECK (fp_version ~ '^fp-hmac-v[0-9]+$');
ALTER TABLE tokens ADD COLUMN fingerprint_prev text
  CHECK (fingerprint_prev ~ '^fp_[0-9a-f]{32}$');
CREATE INDEX tokens_merchant_fingerprint_prev_idx ON tokens (merchant_id, fingerprint_prev)
  WHERE fingerprint_prev IS NOT NULL;
-- The re-encryption job and retirement look records up by version.
CREATE INDEX tokens_key_version_idx ON tokens (key_version);
CREATE INDEX tokens_fp_version_idx ON tokens (fp_version);

-- vaultd reads; vaultctl (same role, ADR 0074) rotates and retires.
GRANT SELECT, INSERT, UPDATE ON key_versions TO vault;
