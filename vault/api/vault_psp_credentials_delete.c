/*
 * DELETE /v1/psp_credentials/{connector} (internal listener, mTLS peer = the
 * gateway) with Strongroom-Merchant: forget the merchant's credentials at
 * that PSP (the ciphertext row is deleted; the platform account is used
 * again). 200 {"object":"psp_credentials","connector","deleted":true};
 * 404 when none were registered.
 */
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "vault/vault_app.h"
#include "vault/connectors/vault_psp_creds.h"

void vault_handle_psp_credentials_delete(struct sr_http_request *req)
{
	struct vault_app *app = req->app;
	const char *merchant = NULL;
	const char *connector = req->params[0];
	PGconn *db = NULL;
	char err[256];
	int rc;

	if (!vault_require_gateway(req))
		return;
	merchant = vault_request_merchant(req);
	if (merchant == NULL)
		return;
	if (!vault_psp_connector_ok(connector)) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such PSP credentials.", "connector");
		return;
	}
	db = sr_db_acquire(app->db);
	rc = vault_psp_creds_delete(db, merchant, connector, err, sizeof err);
	sr_db_release(app->db, db);
	if (rc < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s}", "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	if (rc == 0) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such PSP credentials.", "connector");
		return;
	}
	sr_log(SR_LOG_INFO, req->request_id, "psp_credentials.deleted", "{s:s, s:s, s:s}",
	       "merchant", merchant, "connector", connector, "peer", req->peer);
	sr_http_reply_json(req, 200, json_pack("{s:s, s:s, s:b}", "object", "psp_credentials",
	                                       "connector", connector, "deleted", 1));
}
