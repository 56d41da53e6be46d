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

/** Group-commit counters of this process: batches written, records in them. */
void vault_audit_stats(unsigned long long *batches, unsigned long long *records);

/** Outcome of vault_audit_verify. */
struct vault_audit_report {
	long long records;      /* records checked and found good */
	long long first_bad;    /* seq of the first bad record (or the first missing), 0 if none */
	char reason[256];       /* why, for a human; no card data */
};

/**
 * Walk the whole chain in seq order, recomputing each MAC in the HSM and
 * comparing in constant time; check that seq runs 1, 2, 3... without gaps
 * and that the head (pan_audit_head) matches the last record.
 * @return 0 intact, 1 tampered (report says where and why), -1 error (err).
 */
int vault_audit_verify(PGconn *db, struct hsm *h, struct vault_audit_report *rep, char *err,
                       size_t errlen);

#endif
