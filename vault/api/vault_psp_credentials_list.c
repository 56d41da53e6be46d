/*
 * GET /v1/psp_credentials (internal listener, mTLS peer = the gateway) with
 * Strongroom-Merchant: the merchant's registered PSP credentials, last 4
 * characters of each value only (issue 5).
 * 200 {"object":"list","data":[{"object":"psp_credentials","connector","api_key_last4",
 *      "merchant_account_last4","webhook_secret_last4","webhook_secret_status","created",
 *      "updated"}]}: each item as PUT answers it (docs/openapi.yaml, PspCredentials).
 */
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "vault/vault_app.h"
#include "vault/connectors/vault_psp_creds.h"

void vault_handle_psp_credentials_list(struct sr_http_request *req)
{
	struct vault_app *app = req->app;
	const char *merchant = NULL;
	json_t *list = NULL;
	json_t *item;
	size_t i;
	PGconn *db = NULL;
	char err[256];

	if (!vault_require_gateway(req))
		return;
	merchant = vault_request_merchant(req);
	if (merchant == NULL)
		return;
	db = sr_db_acquire(app->db);
	list = vault_psp_creds_list(db, merchant, err, sizeof err);
	sr_db_release(app->db, db);
	if (list == NULL) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s}", "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	json_array_foreach(list, i, item)
		json_object_set_new(item, "object", json_string("psp_credentials"));
	sr_http_reply_json(req, 200, json_pack("{s:s, s:o}", "object", "list", "data", list));
}
