/*
 * vault_keys: which HSM key versions are current, and online rotation
 * (issue 7, ADR 0074; table key_versions, migration vault/0040).
 * PCI DSS v4.0 3.6.1, 3.7.4 (cryptoperiod, key change), 3.7.5 (retirement);
 * NIST SP 800-57 Part 1 §5.3, §7.
 *
 * vaultd asks vault_keys_current before each encryption or fingerprint: the
 * labels come from key_versions, re-read at most once a second (so a rotation
 * made by vaultctl reaches every vaultd within a second, without a restart),
 * and the last good answer is kept while the database is unreachable.
 * Decryption never needs this: each record names its key (tokens.key_version).
 *
 * vaultctl uses the rest: rotation bookkeeping, the re-encryption batches
 * and retirement checks.
 */
#ifndef VAULT_KEYS_H
#define VAULT_KEYS_H
#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>

#include "vault/crypto/vault_crypto.h"

#define VAULT_KEY_LABEL_MAX 31

/** The labels in use: "pan-enc-v2", "fp-hmac-v1", and fp_prev ("" if none). */
struct vault_key_labels {
	char pan[VAULT_KEY_LABEL_MAX + 1];
	char fp[VAULT_KEY_LABEL_MAX + 1];
	char fp_prev[VAULT_KEY_LABEL_MAX + 1];
};

struct vault_keys;
struct sr_db_pool;

/** A cache of the current labels (thread-safe). NULL on out of memory. */
struct vault_keys *vault_keys_new(void);
void vault_keys_free(struct vault_keys *k);

/**
 * The current labels: cached, re-read from key_versions when older than
 * 1 second. A read that fails keeps the previous answer (logged by the
 * caller via err); with no previous answer it fails.
 * @return 0, or -1 with err.
 */
int vault_keys_current(struct vault_keys *k, struct sr_db_pool *pool,
                       struct vault_key_labels *out, char *err, size_t errlen);

/** Read the labels now (no cache). 0, or -1 with err (also: no current key). */
int vault_keys_read(PGconn *db, struct vault_key_labels *out, char *err, size_t errlen);

/**
 * purpose ("pan-enc" or "fp-hmac"): the current version and the next free
 * version number (max + 1, retired ones included). 0 or -1.
 */
int vault_keys_versions(PGconn *db, const char *purpose, int *current, int *next, char *err,
                        size_t errlen);

/**
 * Make purpose-v<version> current, in one transaction: the current key of
 * that purpose becomes 'previous' (it keeps decrypting / matching), the new
 * row is inserted with its KCV. The key must exist in the HSM already.
 * A 'previous' key of the same purpose that is still in the table stays
 * 'previous' (several may coexist until retired). 0 or -1.
 */
int vault_keys_make_current(PGconn *db, const char *purpose, int version, const char *kcv,
                            char *err, size_t errlen);

/**
 * The state of label ("current", "previous", "retired") into state[16].
 * @return 1 found, 0 no such row, -1 error.
 */
int vault_keys_state(PGconn *db, const char *label, char state[16], char *err, size_t errlen);

/**
 * Records that still need label: tokens whose key_version (pan-enc) or
 * fp_version / fingerprint_prev (fp-hmac) names it, and merchants' PSP
 * credentials whose key_version (pan-enc) or account_hmac_key (fp-hmac)
 * names it (ADR 0095 amended), and the platform's PSP secrets whose
 * key_version names it (ADR 0120). >= 0, or -1.
 */
long long vault_keys_in_use(PGconn *db, const char *label, char *err, size_t errlen);

/** Mark a 'previous' label 'retired' (after its HSM key was destroyed). 0 or -1. */
int vault_keys_mark_retired(PGconn *db, const char *label, char *err, size_t errlen);

/**
 * Records not yet on the current keys: tokens (key_version or fp_version)
 * plus PSP credentials (key_version or account_hmac_key) plus the platform's
 * PSP secrets (key_version, ADR 0120). >= 0, or -1.
 */
long long vault_keys_outdated(PGconn *db, const struct vault_key_labels *cur, char *err,
                              size_t errlen);

struct vault_reencrypt_stats {
	long long moved;     /* records now on the current keys */
	long long skipped;   /* changed concurrently (retried in a later pass) */
	long long failed;    /* did not decrypt (audited as decrypt_failed) */
};

/**
 * One batch of the re-encryption job: up to batch records with id > *cursor
 * not on the current keys, in id order. Each: PAN (and CVC, if still held)
 * decrypted in the HSM under its own version, the decryption appended to the
 * PAN audit chain (purpose "reencrypt", peer "vaultctl") BEFORE the plaintext
 * is used (PCI DSS 10.2.1), encrypted under cur->pan with the same AAD, the
 * fingerprint recomputed under cur->fp when fp_version differs (the old one
 * kept in fingerprint_prev), and written back by one UPDATE that only
 * applies if the row still has the ciphertext that was read (a concurrent
 * CVC deletion makes it a skip). Each record commits on its own, so a crash
 * loses nothing; tokens never change.
 * @param cursor in/out: the last id handled ("" to start).
 * @return the number of records looked at (0: pass finished), or -1 with err.
 */
int vault_keys_reencrypt_batch(PGconn *db, struct hsm *h, const struct vault_key_labels *cur,
                               int batch, char *cursor, size_t cursor_cap,
                               struct vault_reencrypt_stats *st, char *err, size_t errlen);

#endif
