/*
 * POST /v1/tokens (public listener): tokenize a card.
 * Authorization: Bearer pk_... (the merchant's publishable key, looked up
 * by its SHA-256). The PAN and CVC live in guarded memory from parsing to
 * encryption in the HSM; the reply and the log carry the token, brand and
 * last4 only (PCI DSS v4.0 3.4.1 / 3.5.1, invariants 2 and 3, docs/invariants.md).
 *
 * From a browser on another origin (an Origin header that is not the vault's
 * own), the origin must be registered for the key's merchant (table
 * merchant_origins): then Access-Control-Allow-Origin echoes it exactly;
 * otherwise 403 origin_not_allowed without CORS headers, so the browser keeps
 * the answer from the page (Fetch standard, CORS protocol). The vault's own
 * hosted fields are same-origin and need no registration.
 *
 * Options (issue 3): "expires_at" (UNIX seconds: the token is refused after
 * it and deleted by the sweeper) and "token_format": "format_preserving"
 * (the reply also carries "legacy_number": BIN + random digits + last4,
 * failing Luhn; collisions retried). The token is single-use: see
 * vault_authorize.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_util.h"
#include "vault/vault_app.h"
#include "vault/tokens/vault_card.h"
#include "vault/crypto/vault_crypto.h"
#include "vault/crypto/vault_keys.h"
#include "vault/elements/vault_origin.h"
#include "vault/api/vault_pkcache.h"
#include "vault/store/vault_store.h"
#include "vault/tokens/vault_token.h"
#include "vault/tokens/vault_token_writer.h"

/* The request line names the merchant and the key by the first 16 hex
 * digits of its SHA-256 (the id the key is stored under, PCI DSS 8.3.2). */
static void set_principal(struct sr_http_request *req, const char *hash, const char *mid)
{
	char key_id[32];

	snprintf(key_id, sizeof key_id, "pk_sha256:%.16s", hash);
	sr_http_set_principal(req, mid, key_id);
}

/* The merchant owning the publishable key: 1 found, 0 not, -1 error,
 * -3 found but origin (non-NULL: a cross-origin browser request) is not
 * registered for it. */
static int authenticate(struct sr_http_request *req, struct vault_app *app, const char *origin,
                        char *mid, size_t mid_cap)
{
	const char *key = sr_http_bearer(req);
	char hash[65];
	char err[256];
	PGconn *db = NULL;
	struct timespec ts;
	double now;
	int rc = 0;

	if (key == NULL || strncmp(key, "pk_", 3) != 0 || strlen(key) > 256)
		return 0;
	/* Keys are stored only as SHA-256 (PCI DSS 8.3.2); the lookup is by hash. */
	sr_sha256_hex(key, strlen(key), hash);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	/* The cache maps a key to its merchant; a browser request (origin set)
	 * always checks the merchant's registered origins in the database. */
	if (origin == NULL && vault_pkcache_get(app->pkcache, hash, now, mid, mid_cap) == 1) {
		set_principal(req, hash, mid);
		return 1;
	}
	db = sr_db_acquire(app->db);
	if (origin == NULL) {
		rc = vault_store_merchant_by_pk_hash(db, hash, mid, mid_cap, err, sizeof err);
	} else {
		rc = vault_store_merchant_origin_by_pk(db, hash, origin, mid, mid_cap, err, sizeof err);
		rc = rc == -2 ? 0 : rc == 0 ? -3 : rc;
	}
	sr_db_release(app->db, db);
	if (rc < 0)
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s}", "error", err);
	if (rc == 1) {
		vault_pkcache_put(app->pkcache, hash, mid, now);
		set_principal(req, hash, mid);
	}
	return rc;
}

void vault_handle_tokens_create(struct sr_http_request *req)
{
	struct vault_app *app = req->app;
	struct vault_card_input card;
	struct vault_token_row row;
	const json_t *body = NULL;
	const char *code = NULL;
	const char *param = NULL;
	char mid[VAULT_MERCHANT_ID_MAX + 1];
	char err[256];
	struct vault_key_labels labels;
	char shape[VAULT_PAN_MAX + 1];  /* shown lead + zeros + last4: the legacy number's template */
	const char *origin = NULL;
	json_t *reply = NULL;
	int attempt;
	int rc;

	memset(&card, 0, sizeof card);
	memset(&row, 0, sizeof row);
	mid[0] = '\0';

	/* Issue 3: rate limits per client address (before any work) and per
	 * publishable key (after authentication, keyed by its merchant). The
	 * address is the one sr_http read for the request line. */
	if (req->client[0] != '\0' && !vault_rate_admit(req, app->rl_ip, req->client, "client_address"))
		goto out;
	if (!vault_cors_cross_origin(req, &origin))
		origin = NULL;
	rc = authenticate(req, app, origin, mid, sizeof mid);
	if (rc == -3) {
		/* PCI DSS 6.4.3: only the merchant's registered pages may tokenize
		 * from a browser. No CORS headers: the page cannot read this. The
		 * origin is not logged verbatim (it is attacker-chosen input). */
		sr_log(SR_LOG_WARN, req->request_id, "token.origin_refused", "{s:s}", "merchant", mid);
		sr_http_reply_error(req, 403, "invalid_request_error", "origin_not_allowed",
		                    "This origin is not registered for the publishable key.", NULL);
		goto out;
	}
	if (origin != NULL && rc == 1)
		vault_cors_allow(req, origin);
	if (rc < 0) {
		sr_http_reply_error(req, 500, "api_error", "internal_error",
		                    "An internal error occurred.", NULL);
		goto out;
	}
	if (rc == 0) {
		sr_http_reply_error(req, 401, "authentication_error", "invalid_api_key",
		                    "Invalid publishable key.", NULL);
		goto out;
	}

	if (!vault_rate_admit(req, app->rl_key, mid, "publishable_key"))
		goto out;

	/* sr_http refused any body that is not JSON (415) before this handler. */
	body = req->json;
	rc = vault_parse_token_request(body, &card, &code, &param);
	if (rc != 0) {
		/* The contract answers every validation error, card_error
		 * type included, with 400 (not Stripe's 402). */
		unsigned status = rc == -2 ? 500 : 400;

		sr_log(SR_LOG_INFO, req->request_id, "token.rejected", "{s:s, s:s, s:s?}",
		       "merchant", mid, "code", code, "param", param);
		sr_http_reply_error(req, status, vault_card_error_type(code), code,
		                    vault_card_error_message(code), param);
		goto out;
	}

	/* invariant 3, docs/invariants.md: a random token, never derived from the PAN. */
	if (vault_token_new(row.id, sizeof row.id) != 0)
		goto internal;
	snprintf(row.merchant_id, sizeof row.merchant_id, "%s", mid);
	snprintf(row.brand, sizeof row.brand, "%s", vault_brand_str(card.brand));
	memcpy(row.last4, card.last4, sizeof row.last4);
	row.exp_month = card.exp_month;
	row.exp_year = card.exp_year;
	/* ADR 0074: the current key versions (a rotation takes effect within 1 s). */
	if (vault_keys_current(app->keys, app->db, &labels, err, sizeof err) != 0)
		goto hsm_error;
	snprintf(row.key_version, sizeof row.key_version, "%s", labels.pan);
	snprintf(row.fp_version, sizeof row.fp_version, "%s", labels.fp);
	row.created_at = sr_now();
	row.expires_at = card.expires_at;
	shape[0] = '\0';
	if (card.format_preserving) {
		/* PCI DSS 3.4.1: only what a truncated form may show is kept
		 * (vault_pan_lead_shown: at most the first six, and the last four). */
		memset(shape, '0', card.pan_len);
		memcpy(shape, card.pan, vault_pan_lead_shown(card.pan_len));
		memcpy(shape + card.pan_len - 4, card.last4, 4);
		shape[card.pan_len] = '\0';
	}

	/* PCI DSS 3.5.1.1: keyed, per-merchant fingerprint. */
	if (vault_crypto_fingerprint(app->hsm, labels.fp, mid, card.pan, card.pan_len,
	                             row.fingerprint, err, sizeof err) != 0)
		goto hsm_error;
	/* During a fingerprint key rotation, the fingerprint under the previous
	 * key too, so deduplication finds cards of either (ADR 0074). */
	if (labels.fp_prev[0] != '\0' &&
	    vault_crypto_fingerprint(app->hsm, labels.fp_prev, mid, card.pan, card.pan_len,
	                             row.fingerprint_prev, err, sizeof err) != 0) {
		/* Retired meanwhile (up to 1 s of cache): not needed, not fatal. */
		sr_log(SR_LOG_WARN, req->request_id, "fingerprint.previous_key_unusable",
		       "{s:s, s:s}", "key", labels.fp_prev, "error", err);
		row.fingerprint_prev[0] = '\0';
	}
	/* invariant 2, docs/invariants.md: AES-256-GCM in the HSM, AAD binds token + merchant. */
	row.pan_ct_len = sizeof row.pan_ct;
	if (vault_crypto_encrypt_pan(app->hsm, labels.pan, row.id, mid, card.pan, card.pan_len, row.pan_iv,
	                             row.pan_ct, &row.pan_ct_len, err, sizeof err) != 0)
		goto hsm_error;
	if (card.cvc != NULL) {
		/* PCI DSS 3.3.1.2: CVC encrypted, deleted at the first
		 * authorization or after cvc_ttl_seconds. */
		row.cvc_ct_len = sizeof row.cvc_ct;
		if (vault_crypto_encrypt_cvc(app->hsm, labels.pan, row.id, mid, card.cvc, card.cvc_len,
		                             row.cvc_iv, row.cvc_ct, &row.cvc_ct_len,
		                             err, sizeof err) != 0)
			goto hsm_error;
		row.has_cvc = true;
		row.cvc_expires_at = row.created_at + app->cvc_ttl_seconds;
	}
	/* Plaintext no longer needed: wipe before the database round trip. */
	vault_card_input_free(&card);

	/* A legacy number collision is retried with fresh random digits. */
	for (attempt = 0; attempt < 5; attempt++) {
		if (shape[0] != '\0' &&
		    vault_legacy_number_new(shape, strlen(shape), row.legacy_number,
		                            sizeof row.legacy_number) != 0)
			goto internal;
		/* Durable before the reply; the commit is shared with concurrent
		 * requests (ADR 0101). */
		rc = vault_token_writer_insert(app->tokens, &row, err, sizeof err);
		if (rc != -3)
			break;
	}
	if (rc != 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s, s:s}", "token", row.id,
		       "error", err);
		goto internal;
	}

	sr_log(SR_LOG_INFO, req->request_id, "token.created", "{s:s, s:s, s:s, s:s}",
	       "token", row.id, "merchant", mid, "brand", row.brand, "last4", row.last4);
	reply = json_pack("{s:s, s:s, s:{s:s, s:s, s:i, s:i, s:s}, s:I}",
	                  "id", row.id, "object", "token",
	                  "card", "brand", row.brand, "last4", row.last4,
	                  "exp_month", row.exp_month, "exp_year", row.exp_year,
	                  "fingerprint", row.fingerprint,
	                  "created", (json_int_t)row.created_at);
	if (reply != NULL && row.expires_at > 0)
		json_object_set_new(reply, "expires_at", json_integer(row.expires_at));
	if (reply != NULL && row.legacy_number[0] != '\0')
		json_object_set_new(reply, "legacy_number", json_string(row.legacy_number));
	sr_http_reply_json(req, 201, reply);
	goto out;

hsm_error:
	sr_log(SR_LOG_ERROR, req->request_id, "hsm.error", "{s:s}", "error", err);
internal:
	sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
	                    NULL);
out:
	sodium_memzero(shape, sizeof shape);
	vault_card_input_free(&card);
	vault_token_row_clear(&row);
}
