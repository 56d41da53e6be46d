/*
 * vault_psp_creds: custody of merchants' own PSP credentials (issue 5).
 *
 * A merchant registers, per connector, an API key, a merchant account and a
 * webhook secret (each optional). They are stored only as AES-256-GCM
 * ciphertext made inside the HSM (ADR 0095: key HSM_KEY_PAN_ENC, sensitive
 * and not extractable, with the domain-separating AAD
 * "strongroom/psp-cred/v1|<merchant>|<connector>", so no PAN or CVC
 * ciphertext can ever be opened as credentials nor the reverse). Plaintext
 * exists only in libsodium guarded memory for the length of one call
 * (vault_psp_creds_load .. vault_psp_creds_release) and is handed to
 * connectors as struct vault_psp_credentials. Only the last 4 characters of
 * each value are ever returned. Never read from the environment (BRIEF
 * invariant 10); never logged. PCI DSS v4.0 3.5.1, 3.6.1, 8.6.3.
 */
#ifndef VAULT_PSP_CREDS_H
#define VAULT_PSP_CREDS_H
#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>
#include <jansson.h>

#include "vault/connector.h"

struct hsm;

#define VAULT_PSP_SECRET_MIN   8    /* api_key, webhook_secret: characters */
#define VAULT_PSP_SECRET_MAX   256
#define VAULT_PSP_ACCOUNT_MIN  4    /* merchant_account */
#define VAULT_PSP_ACCOUNT_MAX  128

/** Credentials decrypted for one call: creds points into guarded memory. */
struct vault_psp_creds_held {
	struct vault_psp_credentials creds; /* members NULL when not registered */
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
 * Encrypt and upsert (merchant, connector)'s credentials. Each value may be
 * NULL (not registered); at least one must be given, already validated.
 * @return 0 stored; 1 the merchant account is already registered by another
 * merchant for this connector (nothing written); 2 the merchant is unknown
 * to the vault; -1 error with err (never containing a value).
 */
int vault_psp_creds_put(PGconn *db, struct hsm *h, const char *merchant, const char *connector,
                        const char *api_key, const char *merchant_account,
                        const char *webhook_secret, char *err, size_t errlen);

/**
 * Decrypt (merchant, connector)'s credentials into out (guarded memory).
 * @return 1 loaded (release with vault_psp_creds_release), 0 none registered
 * (out zeroed), -1 error with err (a ciphertext that does not open is an error).
 */
int vault_psp_creds_load(PGconn *db, struct hsm *h, const char *merchant, const char *connector,
                         struct vault_psp_creds_held *out, char *err, size_t errlen);

/** Wipe and free what vault_psp_creds_load put in held. NULL ok. */
void vault_psp_creds_release(struct vault_psp_creds_held *held);

/**
 * The merchant whose credentials for connector name merchant account
 * `account` (looked up by its HMAC). merchant_out capacity >= 72.
 * @return 1 found, 0 none, -1 error with err.
 */
int vault_psp_creds_find_account(PGconn *db, struct hsm *h, const char *connector,
                                 const char *account, char *merchant_out, size_t cap,
                                 char *err, size_t errlen);

/**
 * merchant's registered credentials as a new JSON array of
 * {"connector","api_key_last4","merchant_account_last4","webhook_secret_last4",
 *  "created","updated"} (last4 null when not registered), by connector.
 * NULL on error.
 */
json_t *vault_psp_creds_list(PGconn *db, const char *merchant, char *err, size_t errlen);

/** Delete (merchant, connector)'s credentials. @return 1 deleted, 0 none, -1 error. */
int vault_psp_creds_delete(PGconn *db, const char *merchant, const char *connector, char *err,
                           size_t errlen);

#endif
