/*
 * GET /v1/tokens/{id} (internal listener, mTLS peer = the gateway).
 * Header Strongroom-Merchant: mer_... names the merchant asking. A token of
 * another merchant is answered exactly like a missing one (404) and audited
 * as "token.foreign_merchant" (invariant 6, docs/invariants.md). Card metadata only:
 * brand, last4, expiry, fingerprint — never the PAN (there is no
 * detokenize endpoint). Also answers for card_ tokens and legacy numbers;
 * a tok_ token says whether it was "used" (single-use).
 */
#include <string.h>

#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "vault/vault_app.h"
#include "vault/store/vault_store.h"
#include "vault/tokens/vault_token.h"

static void not_found(struct sr_http_request *req)
{
	sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
	                    "No such token.", "token");
}

void vault_handle_token_get(struct sr_http_request *req)
{
	struct vault_app *app = req->app;
	struct vault_token_row row;
	const char *merchant = NULL;
	const char *id = req->params[0];
	char err[256];
	PGconn *db = NULL;
	int rc;

	memset(&row, 0, sizeof row);
	if (!vault_require_gateway(req))
		goto out;
	merchant = sr_http_header(req, "Strongroom-Merchant");
	if (merchant == NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_missing",
		                    "The Strongroom-Merchant header is required.", "Strongroom-Merchant");
		goto out;
	}
	if (!vault_merchant_id_valid(merchant)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_type",
		                    "The Strongroom-Merchant header is not a merchant id.",
		                    "Strongroom-Merchant");
		goto out;
	}
	/* Shape check before any database lookup. */
	if (!vault_any_token_id_valid(id) && !vault_legacy_number_valid(id)) {
		not_found(req);
		goto out;
	}
	db = sr_db_acquire(app->db);
	rc = vault_store_token_get(db, id, &row, err, sizeof err);
	sr_db_release(app->db, db);
	if (rc < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s, s:s}", "token", id,
		       "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error",
		                    "An internal error occurred.", NULL);
		goto out;
	}
	if (rc == 0) {
		not_found(req);
		goto out;
	}
	if (strcmp(row.merchant_id, merchant) != 0) {
		/* invariant 6, docs/invariants.md: refused (as absent) and audited. */
		sr_log(SR_LOG_WARN, req->request_id, "token.foreign_merchant",
		       "{s:s, s:s, s:s, s:s}", "token", row.id, "merchant", merchant,
		       "owner", row.merchant_id, "operation", "token.get");
		not_found(req);
		goto out;
	}
	sr_http_reply_json(req, 200, vault_token_json(&row));
out:
	vault_token_row_clear(&row);
}
