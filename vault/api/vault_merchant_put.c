/*
 * PUT /v1/merchants/{id} (internal listener, mTLS peer = the gateway):
 * register or update a merchant and the SHA-256 of its publishable key
 * (how gatewayctl tells the vault which pk_ belongs to whom). The key itself
 * never reaches the vault's database (PCI DSS v4.0 8.3.2).
 * Body {"publishable_key_sha256":"<64 lowercase hex>",
 *       "allowed_origins":["https://shop.example", ...]}   (optional)
 * -> 200 {"id","object":"merchant"} (+ "allowed_origins" when given).
 * allowed_origins, when present, replaces the merchant's registered browser
 * origins (vault/elements/vault_origin.h: frame-ancestors of the hosted fields and CORS
 * on POST /v1/tokens); when absent they are left as they are. Each must be a
 * canonical serialized origin, at most VAULT_ORIGINS_PER_MERCHANT, no
 * duplicates. The merchant and its origins are written in one transaction.
 */
#include <stdio.h>
#include <string.h>

#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "vault/vault_app.h"
#include "vault/elements/vault_origin.h"
#include "vault/api/vault_pkcache.h"
#include "vault/store/vault_store.h"
#include "vault/tokens/vault_token.h"

static int is_hex64(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 64)
		return 0;
	for (i = 0; i < 64; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

/* Validate allowed_origins into list[]; 0, or -1 with an error reply sent. */
static int parse_origins(struct sr_http_request *req, const json_t *arr, const char **list,
                         size_t *n)
{
	size_t i = 0, k = 0;
	const json_t *v = NULL;

	*n = 0;
	if (!json_is_array(arr) || json_array_size(arr) > VAULT_ORIGINS_PER_MERCHANT) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_type",
		                    "allowed_origins must be an array of at most 16 origins.",
		                    "allowed_origins");
		return -1;
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || !vault_origin_valid(json_string_value(v))) {
			sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_type",
			                    "Each allowed origin must be a serialized origin such as "
			                    "https://shop.example or https://shop.example:8443 "
			                    "(lowercase, no path, no default port; http only for "
			                    "localhost and 127.0.0.1).", "allowed_origins");
			return -1;
		}
		for (k = 0; k < i; k++) {
			if (strcmp(list[k], json_string_value(v)) == 0) {
				sr_http_reply_error(req, 400, "invalid_request_error", "parameter_duplicate",
				                    "allowed_origins lists an origin twice.",
				                    "allowed_origins");
				return -1;
			}
		}
		list[i] = json_string_value(v);
	}
	*n = json_array_size(arr);
	return 0;
}

void vault_handle_merchant_put(struct sr_http_request *req)
{
	const char *origins[VAULT_ORIGINS_PER_MERCHANT];
	const json_t *jorigins = NULL;
	size_t n_origins = 0;
	int began = 0;
	struct vault_app *app = req->app;
	const char *id = req->params[0];
	const char *key = NULL;
	json_t *val = NULL;
	json_t *jhash = NULL;
	char err[256];
	PGconn *db = NULL;
	int rc;

	if (!vault_require_gateway(req))
		return;
	if (!vault_merchant_id_valid(id)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_type",
		                    "The merchant id is malformed.", "id");
		return;
	}
	if (!json_is_object(req->json)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_missing",
		                    "A JSON object body is required.", "publishable_key_sha256");
		return;
	}
	json_object_foreach(req->json, key, val) {
		if (strcmp(key, "publishable_key_sha256") != 0 && strcmp(key, "allowed_origins") != 0) {
			sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
			                    "The request contains an unknown parameter.", NULL);
			return;
		}
	}
	jhash = json_object_get(req->json, "publishable_key_sha256");
	if (jhash == NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_missing",
		                    "publishable_key_sha256 is required.", "publishable_key_sha256");
		return;
	}
	if (!is_hex64(json_string_value(jhash))) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_type",
		                    "publishable_key_sha256 must be 64 lowercase hex digits.",
		                    "publishable_key_sha256");
		return;
	}
	jorigins = json_object_get(req->json, "allowed_origins");
	if (jorigins != NULL && parse_origins(req, jorigins, origins, &n_origins) != 0)
		return;
	db = sr_db_acquire(app->db);
	rc = sr_db_exec(db, "BEGIN");
	if (rc == 0) {
		began = 1;
		rc = vault_store_merchant_upsert(db, id, json_string_value(jhash), err, sizeof err);
	} else {
		snprintf(err, sizeof err, "BEGIN failed");
	}
	if (rc == 0 && jorigins != NULL)
		rc = vault_store_origins_replace(db, id, origins, n_origins, err, sizeof err);
	if (rc == 0) {
		rc = sr_db_exec(db, "COMMIT");
		if (rc != 0)
			snprintf(err, sizeof err, "COMMIT failed");
		began = 0;
	}
	if (began)
		sr_db_exec(db, "ROLLBACK");
	sr_db_release(app->db, db);
	if (rc == -2) {
		sr_log(SR_LOG_WARN, req->request_id, "merchant.key_conflict", "{s:s}", "merchant", id);
		sr_http_reply_error(req, 409, "invalid_request_error", "resource_conflict",
		                    "This publishable key is registered to another merchant.",
		                    "publishable_key_sha256");
		return;
	}
	if (rc != 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s, s:s}", "merchant", id,
		       "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error",
		                    "An internal error occurred.", NULL);
		return;
	}
	/* A replaced publishable key must stop working now (vault_pkcache.h). */
	vault_pkcache_clear(app->pkcache);
	sr_log(SR_LOG_INFO, req->request_id, "merchant.registered", "{s:s, s:i}", "merchant", id,
	       "origins", jorigins != NULL ? (int)n_origins : -1);
	if (jorigins != NULL)
		sr_http_reply_json(req, 200, json_pack("{s:s, s:s, s:O}", "id", id, "object", "merchant",
		                                       "allowed_origins", jorigins));
	else
		sr_http_reply_json(req, 200, json_pack("{s:s, s:s}", "id", id, "object", "merchant"));
}
