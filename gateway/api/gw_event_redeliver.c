/*
 * POST /v1/events/{id}/redeliver {"endpoint"?: "we_..."} (issue 5, admin
 * role): send event evt_... again to every live endpoint of the merchant
 * whose filter matches (or only the one named), with a fresh retry window.
 * 202 {"object":"redelivery","event","scheduled":<deliveries>}. An event of
 * another merchant, or one merchants are not told about, is 404.
 */
#include "gateway/gw_app.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/store/gw_store_lists.h"
#include "gateway/store/gw_store_webhooks.h"
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"

void gw_handle_event_redeliver(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	const char *endpoint = NULL;
	char merchant[72];
	PGconn *conn = NULL;
	json_t *v = NULL;
	int rc = -2;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (req->json != NULL) {
		v = json_object_get(req->json, "endpoint");
		if (!json_is_object(req->json) || json_object_size(req->json) > (v != NULL ? 1u : 0u) ||
		    (v != NULL && !gw_id_shape_ok(json_string_value(v), "we_"))) {
			sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
			                    "The body may only name an endpoint (\"endpoint\": \"we_...\").",
			                    "endpoint");
			return;
		}
		endpoint = json_string_value(v);
	}
	if (gw_store_event_id_ok(req->params[0])) {
		gw_strlcpy(gw_req_ctx()->target, req->params[0], sizeof gw_req_ctx()->target);
		conn = sr_db_acquire(app->db);
		rc = gw_store_webhook_redeliver(conn, req->params[0], merchant, endpoint);
		sr_db_release(app->db, conn);
	}
	if (rc == -2) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such event.", "id");
		return;
	}
	if (rc < 0) {
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	sr_log(SR_LOG_INFO, req->request_id, "webhook.redeliver", "{s:s, s:i}", "event_id",
	       req->params[0], "scheduled", rc);
	sr_http_reply_json(req, 202, json_pack("{s:s, s:s, s:i}", "object", "redelivery", "event",
	                                       req->params[0], "scheduled", rc));
}
