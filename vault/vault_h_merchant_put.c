/*
 * PUT /v1/merchants/{id} (internal listener, mTLS peer = the gateway):
 * register or update a merchant and the SHA-256 of its publishable key
 * (how gatewayctl tells the vault which pk_ belongs to whom). The key itself
 * never reaches the vault's database (PCI DSS v4.0 8.3.2).
 * Body {"publishable_key_sha256":"<64 lowercase hex>"} -> 200 {"id","object":"merchant"}.
 */
#include <string.h>

#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "vault/vault_app.h"
#include "vault/vault_pkcache.h"
#include "vault/vault_store.h"
#include "vault/vault_token.h"

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

void vault_handle_merchant_put(struct sr_http_request *req)
{
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
		if (strcmp(key, "publishable_key_sha256") != 0) {
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
	db = sr_db_acquire(app->db);
	rc = vault_store_merchant_upsert(db, id, json_string_value(jhash), err, sizeof err);
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
	sr_log(SR_LOG_INFO, req->request_id, "merchant.registered", "{s:s}", "merchant", id);
	sr_http_reply_json(req, 200, json_pack("{s:s, s:s}", "id", id, "object", "merchant"));
}
