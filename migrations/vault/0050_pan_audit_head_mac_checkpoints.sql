-- The PAN decryption audit cannot be silently shortened (issue 15, ADR 0111;
-- PCI DSS v4.0 10.3.2, 10.3.4).
--
-- 1. The head carries the record count and head_mac: HMAC-SHA256 in the HSM
--    under audit-hmac-v1 over (seq, mac, records) (vault_audit.h). Whoever
--    deletes the newest records and rewrites the head to match needs the HSM
--    key to make head_mac. head_mac is NULL only on a head written before this
--    migration; vaultd sets it on its next append.
-- 2. pan_audit is append-only for everyone, the table owner included (as the
--    gateway's audit_events, migration gateway/0003): triggers refuse UPDATE,
--    DELETE and TRUNCATE. The vault role already had SELECT, INSERT only.
-- 3. The head only moves forward: each UPDATE must raise seq and records and
--    carry a head_mac, so the vault role cannot put back an older head it
--    saved (a replay of a head MAC that vaultd once made).
-- 4. pan_audit_checkpoint: signed checkpoints (seq, records, the chain MAC of
--    record seq, time; sig = HMAC in the HSM), written by vaultd every
--    audit_checkpoint_records records or audit_checkpoint_seconds seconds.
--    The vault role may INSERT and SELECT only; triggers refuse UPDATE, DELETE
--    and TRUNCATE. A checkpoint beyond the end of the chain names the records
--    that are missing; each checkpoint is also logged (vaultd's journal,
--    shipped off the host) for the attacker who can bypass triggers.

ALTER TABLE pan_audit_head
  ADD COLUMN records  bigint NOT NULL DEFAULT 0 CHECK (records >= 0),
  ADD COLUMN head_mac bytea NULL CHECK (octet_length(head_mac) = 32);
-- A gap-free chain numbered from 1: the head's seq is its record count.
UPDATE pan_audit_head SET records = seq;

CREATE TABLE pan_audit_checkpoint (
  seq     bigint PRIMARY KEY CHECK (seq > 0),
  records bigint NOT NULL CHECK (records > 0),
  mac     bytea NOT NULL CHECK (octet_length(mac) = 32),   -- record seq's chain MAC
  at      timestamptz NOT NULL,                            -- MACed as UNIX microseconds
  sig     bytea NOT NULL CHECK (octet_length(sig) = 32)
);

CREATE FUNCTION pan_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER pan_audit_no_update_delete
    BEFORE UPDATE OR DELETE ON pan_audit
    FOR EACH ROW EXECUTE FUNCTION pan_audit_append_only();
CREATE TRIGGER pan_audit_no_truncate
    BEFORE TRUNCATE ON pan_audit
    FOR EACH STATEMENT EXECUTE FUNCTION pan_audit_append_only();
CREATE TRIGGER pan_audit_checkpoint_no_update_delete
    BEFORE UPDATE OR DELETE ON pan_audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION pan_audit_append_only();
CREATE TRIGGER pan_audit_checkpoint_no_truncate
    BEFORE TRUNCATE ON pan_audit_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION pan_audit_append_only();

CREATE FUNCTION pan_audit_head_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.seq > OLD.seq AND NEW.records > OLD.records
       AND NEW.head_mac IS NOT NULL THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'pan_audit_head only moves forward (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER pan_audit_head_forward
    BEFORE UPDATE OR DELETE ON pan_audit_head
    FOR EACH ROW EXECUTE FUNCTION pan_audit_head_forward_only();
CREATE TRIGGER pan_audit_head_no_truncate
    BEFORE TRUNCATE ON pan_audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION pan_audit_head_forward_only();

GRANT SELECT, INSERT ON pan_audit_checkpoint TO vault;
