/*
 * DELETE /v1/webhook_endpoints/{id} (issue 5, admin role): the endpoint stops
 * receiving events (its pending deliveries are marked failed); its delivery
 * history stays listable. 200 {"id","object":"webhook_endpoint","deleted":true}.
 */
#include "gateway/gw_app.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/store/gw_store_webhooks.h"
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"

void gw_handle_webhook_endpoint_delete(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	char merchant[72];
	PGconn *conn = NULL;
	int rc = 1;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (gw_id_shape_ok(req->params[0], "we_")) {
		gw_strlcpy(gw_req_ctx()->target, req->params[0], sizeof gw_req_ctx()->target);
		conn = sr_db_acquire(app->db);
		rc = gw_store_webhook_endpoint_delete(conn, req->params[0], merchant);
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
	sr_log(SR_LOG_INFO, req->request_id, "webhook.endpoint_deleted", "{s:s, s:s}", "endpoint",
	       req->params[0], "merchant", merchant);
	sr_http_reply_json(req, 200, json_pack("{s:s, s:s, s:b}", "id", req->params[0], "object",
	                                       "webhook_endpoint", "deleted", 1));
}
