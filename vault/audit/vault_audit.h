/*
 * vault_audit: the chained, HSM-keyed audit log of PAN decryptions
 * (table pan_audit, migration 0004). PCI DSS v4.0 10.2.1 / 10.2.1.2 (access
 * to cardholder data by individuals or systems is logged), 10.2.2 (who,
 * what, when, result), 10.3.2 (logs protected from modification).
 *
 * Record n's MAC is HMAC-SHA256, computed inside the HSM with
 * HSM_KEY_AUDIT_HMAC ("audit-hmac-v1", sensitive, never extractable), over
 * the canonical encoding of the record: the domain string
 * "strongroom/pan-audit/v1", then each of seq, at_us (decimal), token_id,
 * merchant_id, purpose, payment_id, connector, peer, result, and the MAC of
 * record n-1 (32 zero bytes for n = 1), each preceded by its length as
 * 4 bytes big-endian. Without the HSM key nobody (the DBA included) can
 * forge, alter, remove or reorder a record undetected.
 *
 * The newest records (ADR 0111, PCI DSS v4.0 10.3.2, 10.3.4): the head
 * (pan_audit_head, migration 0050) carries seq, the MAC of record seq, the
 * record count and head_mac, the HSM HMAC over "strongroom/pan-audit-head/v1",
 * seq, records and that MAC (same length-prefixed encoding); whoever deletes
 * the newest records needs the HSM key to rewrite the head to match. Signed
 * checkpoints (pan_audit_checkpoint, append-only) carry the HSM HMAC over
 * "strongroom/pan-audit-checkpoint/v1", seq, records, at (UNIX microseconds)
 * and the MAC of record seq; they outlive a head put back from an older copy
 * and name the records missing after it.
 */
#ifndef VAULT_AUDIT_H
#define VAULT_AUDIT_H
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

struct hsm;

/** One decryption. Strings borrowed; NULL is stored as "". Never card data. */
struct vault_audit_event {
	const char *token_id;
	const char *merchant_id;
	const char *purpose;    /* "authorize", "card.create" */
	const char *payment_id;
	const char *connector;
	const char *peer;       /* verified mTLS identity of the requester */
	const char *result;     /* "decrypted", "decrypt_failed" */
};

/**
 * Canonical bytes of a record (see above) into out (capacity outcap).
 * @return the length, or 0 when it does not fit.
 */
size_t vault_audit_canonical(long long seq, long long at_us, const struct vault_audit_event *ev,
                             const uint8_t prev_mac[32], uint8_t *out, size_t outcap);

/**
 * Append ev to the chain and return once it is durable. Records appended
 * concurrently by this process's threads are group-committed (ADR 0083,
 * common/sr_gc.h): MACed in arrival order and written in one transaction
 * (serialized on pan_audit_head FOR UPDATE) on the connection of one of
 * the waiting callers. A process appends to one chain (one vault database).
 * Call BEFORE the plaintext is used: when it fails, the caller must not use
 * the decrypted data (fail closed).
 * @param db a borrowed connection with no open transaction.
 * @return the new record's seq (> 0), or -1 with err filled.
 */
long long vault_audit_append(PGconn *db, struct hsm *h, const struct vault_audit_event *ev,
                             char *err, size_t errlen);

/** Default checkpoint period (ADR 0111): every this many records... */
#define VAULT_AUDIT_CHECKPOINT_RECORDS 1000
/** ...or at the first append this many seconds after the process's last checkpoint. */
#define VAULT_AUDIT_CHECKPOINT_SECONDS 300

/**
 * How often this process writes a signed checkpoint (in the transaction of
 * the batch that triggers it; also logged as event "pan_audit.checkpoint"
 * for the central log server, PCI DSS v4.0 10.3.3): when the chain crosses
 * a multiple of records (0: never by count), when seconds have passed since
 * this process's last checkpoint (0: never by time), and at the process's
 * first append. Call before the first append (vaultd's start-up).
 * @param records 0..1000000000; @param seconds 0..31536000.
 * @return 0, or -1 when out of range (settings unchanged).
 */
int vault_audit_set_checkpoints(long long records, long long seconds);

/** Group-commit counters of this process: batches written, records in them. */
void vault_audit_stats(unsigned long long *batches, unsigned long long *records);

/** Outcome of vault_audit_verify. */
struct vault_audit_report {
	long long records;      /* records checked and found good */
	long long first_bad;    /* seq of the first bad record (or the first missing), 0 if none */
	long long checkpoints;  /* signed checkpoints whose MAC verified */
	long long last_checkpoint; /* seq of the newest of them, 0 if none */
	char reason[512];       /* why, for a human ("; " between findings); no card data */
};

/**
 * Walk the whole chain in seq order, recomputing each MAC in the HSM and
 * comparing in constant time; check that seq runs 1, 2, 3... without gaps;
 * check every checkpoint's MAC and that the chain still holds the record it
 * names, unchanged (a checkpoint beyond the chain's end names the missing
 * records: "records 41-57 missing after record 40"); check the head's MAC,
 * its record count and that it names the last record.
 * @return 0 intact, 1 tampered (report says where and why), -1 error (err).
 */
int vault_audit_verify(PGconn *db, struct hsm *h, struct vault_audit_report *rep, char *err,
                       size_t errlen);

#endif
