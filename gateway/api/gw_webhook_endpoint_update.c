/*
 * POST /v1/webhook_endpoints/{id} {"url"?, "enabled_events"?, "disabled"?,
 * "description"?} (issue 19, admin role), as Stripe's update of a webhook
 * endpoint: 200 with the endpoint (never its secret). A URL or filter the
 * create path refuses is refused the same way (400 naming the parameter,
 * never echoing it); another merchant's endpoint, or a deleted one, is 404.
 * ADR 0129.
 */
#include "gateway/gw_app.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_request.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/events/gw_webhook_endpoint.h"
#include "common/sr_config.h"
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"

#include <string.h>

void gw_handle_webhook_endpoint_update(struct sr_http_request *req)
{
	static const char *const KNOWN[] = { "url", "enabled_events", "disabled", "description", NULL };
	struct gw_error uerr;
	struct gw_app *app = req->app;
	const char *why = NULL, *param = NULL, *k = NULL;
	char merchant[72];
	PGconn *conn = NULL;
	json_t *out = NULL, *v = NULL;
	size_t i;
	int rc = 2;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (req->json != NULL && !json_is_object(req->json)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_type",
		                    "The body must be a JSON object.", NULL);
		return;
	}
	json_object_foreach(req->json, k, v) {
		for (i = 0; KNOWN[i] != NULL && strcmp(KNOWN[i], k) != 0; i++)
			;
		if (KNOWN[i] == NULL) {
			gw_error_unknown_param(&uerr, k);
			sr_http_reply_error(req, uerr.status, uerr.type, uerr.code, uerr.message, uerr.param);
			return;
		}
	}
	if (gw_id_shape_ok(req->params[0], "we_")) {
		gw_strlcpy(gw_req_ctx()->target, req->params[0], sizeof gw_req_ctx()->target);
		conn = sr_db_acquire(app->db);
		rc = gw_webhook_endpoint_update(conn, merchant, req->params[0], req->json,
		                                sr_config_int(app->cfg, "webhook_allow_private", 0) != 0,
		                                &out, &why, &param);
		sr_db_release(app->db, conn);
	}
	if (rc == 2) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such webhook endpoint.", "id");
		return;
	}
	if (rc == 1) {
		sr_log(SR_LOG_INFO, req->request_id, "webhook.endpoint_invalid", "{s:s}", "param", param);
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid", why, param);
		return;
	}
	if (rc != 0) {
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	sr_log(SR_LOG_INFO, req->request_id, "webhook.endpoint_updated", "{s:s, s:s}", "endpoint",
	       req->params[0], "merchant", merchant);
	sr_http_reply_json(req, 200, out);
}
