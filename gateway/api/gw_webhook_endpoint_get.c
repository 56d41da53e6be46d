/*
 * GET /v1/webhook_endpoints/{id} (issue 5): one live endpoint of the
 * merchant (another merchant's is 404); the secret is never returned, only
 * its first characters ("secret_prefix").
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/store/gw_store_webhooks.h"
#include "common/sr_db.h"
#include "common/sr_http.h"

void gw_handle_webhook_endpoint_get(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	char merchant[72];
	PGconn *conn = NULL;
	json_t *out = NULL;
	int rc = 1;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (gw_id_shape_ok(req->params[0], "we_")) {
		conn = sr_db_acquire(app->db);
		rc = gw_store_webhook_endpoint_get(conn, req->params[0], merchant, &out);
		sr_db_release(app->db, conn);
	}
	if (rc == 1) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such webhook endpoint.", "id");
		return;
	}
	if (rc != 0) {
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	sr_http_reply_json(req, 200, out);
}
