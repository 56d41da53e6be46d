/*
 * vault_psp_platform: custody of the platform's own PSP secrets (issue 28,
 * ADR 0120): per connector, the API key ("api_key") and the webhook secret
 * ("webhook_secret": Stripe's endpoint secret whsec_..., Adyen's notification
 * HMAC key in hex). They are sealed exactly as merchants' credentials are
 * (ADR 0095): AES-256-GCM inside the HSM under the current pan-enc-vN key,
 * the row naming its key_version so that key rotation moves them too, with
 * the domain-separating AAD "strongroom/psp-platform/v1|<connector>|<name>"
 * (no PAN, CVC or merchant-credential ciphertext opens as a platform secret,
 * nor one platform secret as another). Table psp_platform_secrets (migration
 * vault/0052). Written only by vaultctl psp load under dual control; read by
 * vaultd at start into guarded memory. Only the last 4 characters are ever
 * shown. PCI DSS v4.0 3.5.1, 3.6.1, 3.7.6, 8.6.3.
 */
#ifndef VAULT_PSP_PLATFORM_H
#define VAULT_PSP_PLATFORM_H
#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>
#include <jansson.h>

#include "vault/crypto/vault_keys.h"

struct hsm;

#define VAULT_PSP_PLATFORM_API_KEY "api_key"
#define VAULT_PSP_PLATFORM_WEBHOOK "webhook_secret"

/**
 * Whether (connector, name) names a platform secret: connector "stripe" or
 * "adyen", name "api_key" or "webhook_secret".
 */
bool vault_psp_platform_name_ok(const char *connector, const char *name);

/**
 * Whether value is acceptable for (connector, name): 8..256 visible ASCII
 * characters (vault_psp_secret_ok); Adyen's webhook_secret must moreover be
 * its HMAC key in hex, an even number of digits, at least 32 (16 bytes;
 * https://docs.adyen.com/development-resources/webhooks/verify-hmac-signatures).
 */
bool vault_psp_platform_value_ok(const char *connector, const char *name, const char *value);

/**
 * Seal value inside the HSM h under pan_label (the current pan-enc-vN,
 * validated in shape) and upsert the row (connector, name) with its last 4
 * characters and loaded_by (the custodians' names, for the record; no
 * secret). Arguments validated here (name and value as above).
 * @return 0 stored, -1 error with err (never containing the value).
 */
int vault_psp_platform_put(PGconn *db, struct hsm *h, const char *pan_label,
                           const char *connector, const char *name, const char *value,
                           const char *loaded_by, char *err, size_t errlen);

/**
 * Open the row (connector, name) under its own key_version into *out: a
 * NUL-terminated copy in guarded memory (free with sr_secret_free, which
 * wipes), *len_out its length (may be NULL).
 * @return 1 loaded, 0 none stored (*out NULL), -1 error with err (a row that
 * does not open under this HSM, e.g. moved to another name or read without
 * the token that sealed it, is an error).
 */
int vault_psp_platform_load(PGconn *db, struct hsm *h, const char *connector, const char *name,
                            char **out, size_t *len_out, char *err, size_t errlen);

/**
 * The stored platform secrets as a new JSON array of {"connector", "name",
 * "last4", "key_version", "loaded_by", "loaded_at" (Unix seconds)}, by
 * connector and name; never a value. NULL on error with err.
 */
json_t *vault_psp_platform_list(PGconn *db, char *err, size_t errlen);

/**
 * vaultctl keys reencrypt for platform secrets: every row whose key_version
 * is not cur->pan is opened under its own key and sealed again under
 * cur->pan with the same AAD; the UPDATE applies only while the row still
 * holds the ciphertext read (a concurrent load wins). One sr_log event per
 * row ("psp_platform_secret.resealed", connector and name, never a value).
 * st->moved / skipped / failed incremented. PCI DSS v4.0 3.7.4.
 * @return rows looked at, or -1 with err.
 */
int vault_psp_platform_reseal(PGconn *db, struct hsm *h, const struct vault_key_labels *cur,
                              struct vault_reencrypt_stats *st, char *err, size_t errlen);

#endif
