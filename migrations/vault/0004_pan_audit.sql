-- Audit of every PAN decryption (PCI DSS v4.0 10.2.1, 10.2.2, 10.3.2).
-- One row per decryption, written BEFORE the plaintext is used (fail
-- closed: no audit row, no use). Rows are chained: mac = HMAC-SHA256 in the
-- HSM under audit-hmac-v1 (sensitive, never extractable) over the record's
-- canonical form, which includes the previous row's mac (vault_audit.h).
-- `vaultctl audit verify` walks the chain and names the first row altered,
-- removed or reordered. The vault role may only append and read.

CREATE TABLE pan_audit (
  seq         bigint PRIMARY KEY CHECK (seq > 0),
  at          timestamptz NOT NULL,         -- MACed as UNIX microseconds
  token_id    text NOT NULL,
  merchant_id text NOT NULL,
  purpose     text NOT NULL,                -- authorize, card.create
  payment_id  text NOT NULL DEFAULT '',
  connector   text NOT NULL DEFAULT '',
  peer        text NOT NULL,                -- the mTLS identity that asked
  result      text NOT NULL,                -- decrypted, decrypt_failed
  mac         bytea NOT NULL CHECK (octet_length(mac) = 32)
);

-- The head of the chain: appends serialize on this row (FOR UPDATE), and it
-- lets verification notice the removal of the newest rows.
CREATE TABLE pan_audit_head (
  id   boolean PRIMARY KEY DEFAULT true CHECK (id),
  seq  bigint NOT NULL,
  mac  bytea NOT NULL CHECK (octet_length(mac) = 32)
);
INSERT INTO pan_audit_head (seq, mac) VALUES (0, decode(repeat('00', 32), 'hex'));

GRANT SELECT, INSERT ON pan_audit TO vault;
GRANT SELECT, UPDATE ON pan_audit_head TO vault;
