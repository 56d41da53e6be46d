/*
 * GET /v1/routing (internal listener, mTLS peer = the gateway). Header
 * Strongroom-Merchant. The merchant's routing (issue 5, ADR 0091):
 * 200 {"object":"routing","region","primary","secondary","connectors","regions"}
 * (nulls when unset; connectors and regions: what may be chosen).
 */
#include "common/sr_db.h"
#include "common/sr_log.h"
#include "vault/vault_app.h"
#include "vault/connectors/vault_route.h"
#include "vault/store/vault_store_route.h"

void vault_handle_routing_get(struct sr_http_request *req)
{
	struct vault_app *app = req->app;
	struct vault_merchant_routing m;
	const char *merchant = NULL;
	char err[256];
	PGconn *db = NULL;
	int rc;

	if (!vault_require_gateway(req))
		return;
	merchant = vault_request_merchant(req);
	if (merchant == NULL)
		return;
	db = sr_db_acquire(app->db);
	rc = vault_store_merchant_routing_get(db, merchant, &m, err, sizeof err);
	sr_db_release(app->db, db);
	if (rc < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s}", "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	sr_http_reply_json(req, 200, vault_routing_json(app, &m));
}
