/*
 * GET /v1/cards/{id} (internal listener, mTLS peer = the gateway).
 * Header Strongroom-Merchant. A saved card's metadata (brand, last4,
 * expiry, fingerprint, customer), never card data. Another merchant's card
 * is answered like a missing one and logged (invariant 6, docs/invariants.md).
 */
#include <string.h>

#include "common/sr_db.h"
#include "common/sr_log.h"
#include "vault/vault_app.h"
#include "vault/store/vault_store.h"
#include "vault/tokens/vault_token.h"

void vault_handle_card_get(struct sr_http_request *req)
{
	struct vault_app *app = req->app;
	struct vault_token_row row;
	const char *merchant = NULL;
	const char *id = req->params[0];
	char err[256];
	PGconn *db = NULL;
	int rc = 0;

	memset(&row, 0, sizeof row);
	if (!vault_require_gateway(req))
		goto out;
	merchant = vault_request_merchant(req);
	if (merchant == NULL)
		goto out;
	if (vault_card_token_id_valid(id)) {
		db = sr_db_acquire(app->db);
		rc = vault_store_token_get(db, id, &row, err, sizeof err);
		sr_db_release(app->db, db);
	}
	if (rc < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s, s:s}", "token", id,
		       "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error",
		                    "An internal error occurred.", NULL);
		goto out;
	}
	if (rc == 1 && strcmp(row.merchant_id, merchant) != 0) {
		sr_log(SR_LOG_WARN, req->request_id, "token.foreign_merchant",
		       "{s:s, s:s, s:s, s:s}", "token", row.id, "merchant", merchant,
		       "owner", row.merchant_id, "operation", "card.get");
		rc = 0;
	}
	if (rc == 0) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such card.", "id");
		goto out;
	}
	sr_http_reply_json(req, 200, vault_token_json(&row));
out:
	vault_token_row_clear(&row);
}
