/*
 * vault_store: the vault database (migrations/vault/): merchants and tokens.
 * libpq, PQexecParams only (never SQL built from input); bytea travels as
 * binary parameters and results. Every function takes a borrowed connection
 * (sr_db_acquire) and leaves no transaction open.
 *
 * Only ciphertext of the PAN and CVC is stored (invariant 2, docs/invariants.md,
 * PCI DSS v4.0 3.5.1); the CVC is deleted after the first authorization
 * attempt or at cvc_expires_at, whichever comes first (3.3.1.2).
 */
#ifndef VAULT_STORE_H
#define VAULT_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "hsm/hsm.h"
#include "vault/crypto/vault_crypto.h"
#include "vault/tokens/vault_token.h"

/** One row of tokens. Ciphertext buffers are inline (fixed maximum sizes). */
struct vault_token_row {
	char id[VAULT_ANY_TOKEN_MAX + 1];       /* tok_... or card_... */
	char merchant_id[VAULT_MERCHANT_ID_MAX + 1];
	char brand[16];
	char last4[5];
	int exp_month;
	int exp_year;
	char fingerprint[VAULT_FP_LEN + 1];
	char key_version[32];
	char fp_version[32];                    /* fp-hmac-vN of fingerprint (ADR 0074) */
	char fingerprint_prev[VAULT_FP_LEN + 1]; /* under the previous fp key, or "" */
	uint8_t pan_iv[HSM_GCM_IV_LEN];
	uint8_t pan_ct[VAULT_PAN_CT_MAX];
	size_t pan_ct_len;
	bool has_cvc;                   /* cvc_* below are set */
	uint8_t cvc_iv[HSM_GCM_IV_LEN];
	uint8_t cvc_ct[VAULT_CVC_CT_MAX];
	size_t cvc_ct_len;
	long long cvc_expires_at;       /* UNIX seconds */
	long long created_at;           /* UNIX seconds */
	char customer[VAULT_CUSTOMER_MAX + 1];  /* card_ tokens only, else "" */
	long long expires_at;           /* UNIX seconds, 0 = no expiry */
	char legacy_number[VAULT_LEGACY_MAX + 1]; /* format-preserving alias or "" */
	char used_by[256];              /* tok_: the idempotency key that used it, or "" */
};

/**
 * Insert or update merchant id with the SHA-256 hex of its publishable key.
 * @return 0; -2 when the key hash belongs to another merchant (unique
 *         violation); -1 on any other database error (err filled).
 */
int vault_store_merchant_upsert(PGconn *db, const char *id, const char *pk_sha256_hex,
                                char *err, size_t errlen);

/**
 * Find the merchant whose publishable key hashes to pk_sha256_hex.
 * @param id_out capacity >= VAULT_MERCHANT_ID_MAX + 1.
 * @return 1 found, 0 not found, -1 database error.
 */
int vault_store_merchant_by_pk_hash(PGconn *db, const char *pk_sha256_hex, char *id_out,
                                    size_t id_cap, char *err, size_t errlen);

/**
 * Insert a token row (has_cvc selects whether the CVC columns are set;
 * customer, expires_at and legacy_number when non-empty / non-zero).
 * @return 0; -3 when legacy_number collides with another token's (retry
 *         with a new one); -1 on any other error.
 */
int vault_store_token_insert(PGconn *db, const struct vault_token_row *row, char *err,
                             size_t errlen);

/** Most rows vault_store_token_insert_batch takes at once. */
#define VAULT_TOKEN_BATCH_MAX 64

/**
 * Insert rows[0..n) (1 <= n <= VAULT_TOKEN_BATCH_MAX) with ONE multi-row
 * INSERT: one round trip and one implicit transaction (one durable commit)
 * for n rows, and PostgreSQL prepares the table's CHECK constraints once
 * per statement instead of once per row (ADR 0101). All or none: a failing
 * row (a legacy number collision, say) fails the statement.
 * @return 0 all committed; -1 nothing written (an error reply: safe to
 *         insert again); -2 outcome unknown (no reply: the connection broke).
 */
int vault_store_token_insert_batch(PGconn *db, const struct vault_token_row *const *rows,
                                   size_t n, char *err, size_t errlen);

/**
 * Load a token by id (tok_/card_) or by its legacy number, with its
 * ciphertext. Expired tokens (expires_at passed) are not found, even
 * before the sweeper deletes them.
 * @return 1 found (row filled), 0 not found, -1 database error.
 */
int vault_store_token_get(PGconn *db, const char *id, struct vault_token_row *row, char *err,
                          size_t errlen);

/** Delete the CVC of token id (PCI DSS 3.3.1.2). @return 0 or -1. */
int vault_store_cvc_delete(PGconn *db, const char *id, char *err, size_t errlen);

/** Set last_used_at = now() for token id. 0 or -1. */
int vault_store_token_touch(PGconn *db, const char *id, char *err, size_t errlen);

/**
 * Delete every CVC whose cvc_expires_at has passed (PCI DSS 3.3.1.2).
 * @return the number of tokens whose CVC was deleted, or -1.
 */
long long vault_store_sweep_cvc(PGconn *db, char *err, size_t errlen);

/** A recorded authorization (table authorizations, migration 0002). */
struct vault_authorization_row {
	char token_id[VAULT_ANY_TOKEN_MAX + 1];
	long long amount;
	char currency[4];
	bool capture;
	char status[24];                /* vault_auth_status_str() values */
	char psp_reference[128];
	char failure_code[64];
	char failure_message[256];
	char redirect_url[512];
	char connector[32];
	char route_reason[16];          /* country|region|override|default|failover, "" (issue 5) */
};

/**
 * Find the authorization recorded for (merchant_id, idempotency_key).
 * @return 1 found (row filled), 0 none, -1 database error.
 */
int vault_store_authorization_get(PGconn *db, const char *merchant_id,
                                  const char *idempotency_key,
                                  struct vault_authorization_row *row, char *err, size_t errlen);

/**
 * Take the session-level advisory lock of (merchant_id, idempotency_key), so
 * that concurrent authorizations with one key run one after the other and
 * the PSP is asked once (invariant 8, docs/invariants.md). Blocks. @return 0 or -1.
 */
int vault_store_authorization_lock(PGconn *db, const char *merchant_id,
                                   const char *idempotency_key, char *err, size_t errlen);
/** Release the lock taken by vault_store_authorization_lock on this connection. */
void vault_store_authorization_unlock(PGconn *db, const char *merchant_id,
                                      const char *idempotency_key);

/**
 * Record (insert, or update on a retry: status, references, attempts + 1) the
 * outcome of an authorization that reached the PSP. A recorded definite
 * outcome is never overwritten by a later one (only `unknown` is updated). peer is the mTLS identity
 * that asked (PCI DSS v4.0 10.2.1). @return 0 or -1.
 */
int vault_store_authorization_put(PGconn *db, const char *merchant_id,
                                  const char *idempotency_key, const char *payment_id,
                                  const char *peer, const struct vault_authorization_row *row,
                                  char *err, size_t errlen);

/**
 * Claim single-use token id for the authorization keyed idempotency_key:
 * sets used_by/used_at when unused; a claim by the same key again succeeds
 * (a retry of the same authorization).
 * @return 1 claimed, 0 already used by another key (or gone), -1 error.
 */
int vault_store_token_claim(PGconn *db, const char *id, const char *idempotency_key,
                            char *err, size_t errlen);

/** Undo a claim by idempotency_key (nothing reached the PSP). 0 or -1. */
int vault_store_token_unclaim(PGconn *db, const char *id, const char *idempotency_key,
                              char *err, size_t errlen);

/**
 * Delete token id of merchant_id: the row and with it the PAN's (and any
 * CVC's) ciphertext. @return 1 deleted, 0 no such token of that merchant, -1.
 */
int vault_store_token_delete(PGconn *db, const char *id, const char *merchant_id,
                             char *err, size_t errlen);

/** Delete every token whose expires_at has passed. @return the count, or -1. */
long long vault_store_sweep_expired(PGconn *db, char *err, size_t errlen);

/**
 * Deduplication: the merchant's reusable card token for customer with this
 * fingerprint (the newest). During a fingerprint key rotation (ADR 0074)
 * fingerprint_prev ("" or NULL when none) is the same PAN's fingerprint under
 * the previous key; a card matches when either fingerprint of one equals
 * either of the other. @return 1 found (row filled), 0 none, -1.
 */
int vault_store_card_find(PGconn *db, const char *merchant_id, const char *customer,
                          const char *fingerprint, const char *fingerprint_prev,
                          struct vault_token_row *row, char *err, size_t errlen);

/**
 * A customer's saved cards, newest first, metadata only (no ciphertext):
 * fills up to max rows. @return the number filled, or -1.
 */
int vault_store_cards_list(PGconn *db, const char *merchant_id, const char *customer,
                           struct vault_token_row *rows, int max, char *err, size_t errlen);

/** Wipe a row (ciphertext included). NULL ok. */
void vault_token_row_clear(struct vault_token_row *row);

#endif
