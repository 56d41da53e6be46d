/*
 * GET /v1/webhook_endpoints (issue 5): the merchant's live endpoints, oldest
 * first, {"object":"list","data":[...],"has_more":false}; never a secret.
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/store/gw_store_webhooks.h"
#include "common/sr_db.h"
#include "common/sr_http.h"

void gw_handle_webhook_endpoints_list(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	char merchant[72];
	PGconn *conn = NULL;
	json_t *data = NULL;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	conn = sr_db_acquire(app->db);
	data = gw_store_webhook_endpoint_list(conn, merchant);
	sr_db_release(app->db, conn);
	if (data == NULL) {
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	sr_http_reply_json(req, 200, json_pack("{s:s, s:o, s:b}", "object", "list", "data", data,
	                                       "has_more", 0));
}
