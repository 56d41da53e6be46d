/*
 * gw_auth: merchant authentication by secret API key (Authorization: Bearer
 * sk_...). Keys are 32 CSPRNG bytes in base62 behind "sk_test_"/"pk_test_";
 * the database holds only their SHA-256 (PCI DSS v4.0 8.3.2), so lookup is
 * by hash and no stored secret is ever compared.
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H
#include <stdbool.h>
#include <stddef.h>

struct sr_http_request;
struct gw_app;

#define GW_KEY_RANDOM_BYTES 32

/**
 * Whether key has the shape of a secret key: "sk_test_" or "sk_live_" followed
 * by 20..64 base62 characters. Publishable keys (pk_) are not secret keys.
 */
bool gw_auth_secret_key_shape_ok(const char *key);

/**
 * Authenticate req. On success copies the merchant id into merchant_id[len]
 * and returns 0. Otherwise replies (401 authentication_error invalid_api_key
 * for a missing, malformed, unknown, revoked or publishable key; 500 api_error
 * on a database failure) and returns -1. The key never reaches a log.
 * Issue 4: the key must not be revoked; past its roll overlap (expires_at
 * <= the database's now()) it is refused with 401 authentication_error
 * api_key_expired. Issue 28 (ADR 0119): a key with allowed_sources used from
 * any other client address (gw_req_ctx()->source, set by gw_route), or from
 * an unknown one, is refused with 403 authentication_error
 * api_key_source_not_allowed, before the merchant rate limit, the role
 * check and anything the handler does (body validation, idempotency);
 * counted in strongroom_api_key_source_refused_total{reason} and audited
 * (target "source:ADDRESS"; never the key). The key's role must grant the
 * permission of the running route (gw_req_ctx()->need): otherwise 403
 * authentication_error insufficient_role. Fills gw_req_ctx() with the
 * merchant, key id and role for the audit trail. A successful use is
 * recorded (last_used_at, last_used_source) at most once a minute per key.
 */
int gw_auth_merchant(struct gw_app *app, struct sr_http_request *req, char *merchant_id,
                     size_t len);

/**
 * Generate a new API key: prefix ("sk_test_" / "pk_test_") + base62 of 32
 * random bytes into key[keylen] (>= 64), its SHA-256 hex into sha[65], and
 * the display prefix (first 12 characters) into display[16]. @return 0 or -1.
 */
int gw_auth_key_generate(const char *prefix, char *key, size_t keylen, char sha[65],
                         char display[16]);

#endif
