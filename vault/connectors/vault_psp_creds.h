/*
 * vault_psp_creds: custody of merchants' own PSP credentials (issue 5).
 *
 * A merchant registers, per connector, an API key, a merchant account and a
 * webhook secret (each optional). They are stored only as AES-256-GCM
 * ciphertext made inside the HSM (ADR 0095: under the current pan-enc-vN
 * key, sensitive and not extractable, named by the row's key_version so that
 * key rotation (ADR 0074) moves credentials too; with the domain-separating AAD
 * "strongroom/psp-cred/v1|<merchant>|<connector>", so no PAN or CVC
 * ciphertext can ever be opened as credentials nor the reverse). Plaintext
 * exists only in libsodium guarded memory for the length of one call
 * (vault_psp_creds_load .. vault_psp_creds_release) and is handed to
 * connectors as struct vault_psp_credentials. Only the last 4 characters of
 * each value are ever returned. Never read from the environment (docs/invariants.md
 * invariant 10); never logged. PCI DSS v4.0 3.5.1, 3.6.1, 8.6.3.
 */
#ifndef VAULT_PSP_CREDS_H
#define VAULT_PSP_CREDS_H
#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>
#include <jansson.h>

#include "vault/connectors/connector.h"
#include "vault/crypto/vault_keys.h"

struct hsm;

#define VAULT_PSP_SECRET_MIN   8    /* api_key, webhook_secret: characters */
#define VAULT_PSP_SECRET_MAX   256
#define VAULT_PSP_ACCOUNT_MIN  4    /* merchant_account */
#define VAULT_PSP_ACCOUNT_MAX  128

/** Credentials decrypted for one call: creds points into guarded memory. */
struct vault_psp_creds_held {
	struct vault_psp_credentials creds; /* members NULL when not registered */
	const char *webhook_pending;        /* a webhook secret not yet active (ADR 0107), or NULL */
	char *blob;                         /* guarded (sr_secret_alloc); wiped on release */
};

/**
 * Whether s is an acceptable API key or webhook secret: 8..256 visible
 * ASCII characters (0x21..0x7e), no spaces or control characters.
 */
bool vault_psp_secret_ok(const char *s);

/** Whether s is an acceptable merchant account: 4..128 of [A-Za-z0-9_.-]. */
bool vault_psp_account_ok(const char *s);

/** Whether s is a connector name shape: [a-z][a-z0-9_]{0,31}. */
bool vault_psp_connector_ok(const char *s);

/**
 * Whether s is a key label "<prefix>N", N 1..99999 (key_versions' label
 * shape, migration vault/0040), e.g. prefix "pan-enc-v": labels read from
 * the database are checked before they reach the HSM.
 */
bool vault_psp_label_ok(const char *s, const char *prefix);

/**
 * Encrypt and upsert (merchant, connector)'s credentials. Each value may be
 * NULL (not registered); at least one must be given, already validated.
 * webhook_secret is the active secret (the one webhooks are verified with);
 * webhook_pending a submitted secret the PSP has not shown it uses (ADR
 * 0107): sealed with the rest, never used to verify. The row's
 * webhook_secret_status is "pending" when webhook_pending is given, else
 * "active" when webhook_secret is, else NULL; webhook_secret_last4 is the
 * pending secret's when there is one.
 * Sealed under keys->pan (stored as key_version); the account HMAC made
 * under keys->fp (stored as account_hmac_key). During an fp-hmac transition
 * (keys->fp_prev set) an account registered by another merchant under the
 * previous key is also refused (ADR 0074, 0095). keys: vault_keys_current's
 * answer, labels validated in shape here. PCI DSS v4.0 3.5.1, 3.6.1, 3.7.4.
 * @return 0 stored; 1 the merchant account is already registered by another
 * merchant for this connector (nothing written); 2 the merchant is unknown
 * to the vault; -1 error with err (never containing a value).
 */
int vault_psp_creds_put(PGconn *db, struct hsm *h, const struct vault_key_labels *keys,
                        const char *merchant, const char *connector, const char *api_key,
                        const char *merchant_account, const char *webhook_secret,
                        const char *webhook_pending, char *err, size_t errlen);

/**
 * Decrypt (merchant, connector)'s credentials into out (guarded memory),
 * under the row's own key_version (any pan-enc-vN, validated in shape, that
 * the HSM still holds: a rotated but not yet re-sealed row keeps working).
 * @return 1 loaded (release with vault_psp_creds_release), 0 none registered
 * (out zeroed), -1 error with err (a ciphertext that does not open is an error).
 */
int vault_psp_creds_load(PGconn *db, struct hsm *h, const char *merchant, const char *connector,
                         struct vault_psp_creds_held *out, char *err, size_t errlen);

/** Wipe and free what vault_psp_creds_load put in held. NULL ok. */
void vault_psp_creds_release(struct vault_psp_creds_held *held);

/**
 * The merchant whose credentials for connector name merchant account
 * `account` (looked up by its HMAC). The HMAC is computed under keys->fp
 * and, during an fp-hmac transition, under keys->fp_prev too; a row matches
 * only the HMAC made with its own account_hmac_key (ADR 0074's fingerprint
 * transition, applied to accounts). merchant_out capacity >= 72.
 * @return 1 found, 0 none, -1 error with err.
 */
int vault_psp_creds_find_account(PGconn *db, struct hsm *h, const struct vault_key_labels *keys,
                                 const char *connector, const char *account, char *merchant_out,
                                 size_t cap, char *err, size_t errlen);

/**
 * One batch of vaultctl keys reencrypt for credentials: up to batch rows
 * after the cursor (merchant, connector) whose key_version is not cur->pan or
 * whose account_hmac_key is not cur->fp, in key order. Each row is decrypted
 * under its own key_version, sealed again under cur->pan with the same AAD,
 * its account HMAC recomputed under cur->fp, and written back by one UPDATE
 * that applies only if the row still holds the ciphertext that was read
 * (a concurrent re-registration makes it a skip). Credentials are not PANs:
 * no PAN audit record, but one sr_log event per row ("psp_credentials.resealed",
 * merchant and connector only, never a value). PCI DSS v4.0 3.7.4, 8.6.3.
 * @param cursor_merchant, cursor_connector in/out: the last row handled
 *        ("" / "" to start); capacities >= 72 and >= 33.
 * @param st moved / skipped / failed (did not decrypt, or the recomputed
 *        account HMAC collides) incremented.
 * @return rows looked at (0: pass finished), or -1 with err.
 */
int vault_psp_creds_reseal_batch(PGconn *db, struct hsm *h, const struct vault_key_labels *cur,
                                 int batch, char *cursor_merchant, size_t cm_cap,
                                 char *cursor_connector, size_t cc_cap,
                                 struct vault_reencrypt_stats *st, char *err, size_t errlen);

/**
 * merchant's registered credentials as a new JSON array of
 * {"connector","api_key_last4","merchant_account_last4","webhook_secret_last4",
 *  "webhook_secret_status","created","updated"} (last4 null when not
 * registered; status "pending", "active" or null, ADR 0107), by connector.
 * NULL on error.
 */
json_t *vault_psp_creds_list(PGconn *db, const char *merchant, char *err, size_t errlen);

/** Delete (merchant, connector)'s credentials. @return 1 deleted, 0 none, -1 error. */
int vault_psp_creds_delete(PGconn *db, const char *merchant, const char *connector, char *err,
                           size_t errlen);

#endif
