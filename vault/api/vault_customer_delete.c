/*
 * DELETE /v1/customers/{customer} (internal listener, mTLS peer = the
 * gateway). Header Strongroom-Merchant. Deletes the merchant's customer in
 * the vault: records it as deleted (POST /v1/cards refuses it from then on)
 * and deletes its saved cards, the rows that hold the only copies of their
 * PANs' ciphertext (PCI DSS v4.0 3.2.1). Idempotent, so the gateway retries
 * it until it succeeds before it deletes the customer object (ADR 0128).
 * 200 {"id":customer,"object":"customer","deleted":true,"cards_deleted":n};
 * 500 when the database failed (the customer stays recorded as deleted).
 */
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "vault/vault_app.h"
#include "vault/store/vault_store_customers.h"
#include "vault/tokens/vault_token.h"

void vault_handle_customer_delete(struct sr_http_request *req)
{
	struct vault_app *app = req->app;
	const char *merchant = NULL;
	const char *customer = req->params[0];
	char err[256];
	PGconn *db = NULL;
	long long n;

	if (!vault_require_gateway(req))
		return;
	merchant = vault_request_merchant(req);
	if (merchant == NULL)
		return;
	if (!vault_customer_id_valid(customer)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_type",
		                    "The customer reference is malformed.", "customer");
		return;
	}
	db = sr_db_acquire(app->db);
	n = vault_store_customer_delete(db, merchant, customer, err, sizeof err);
	sr_db_release(app->db, db);
	if (n < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s, s:s}", "customer", customer,
		       "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error",
		                    "An internal error occurred.", NULL);
		return;
	}
	sr_log(SR_LOG_INFO, req->request_id, "customer.deleted", "{s:s, s:s, s:I}", "customer",
	       customer, "merchant", merchant, "cards_deleted", (json_int_t)n);
	sr_http_reply_json(req, 200, json_pack("{s:s, s:s, s:b, s:I}", "id", customer, "object",
	                                       "customer", "deleted", 1, "cards_deleted",
	                                       (json_int_t)n));
}
