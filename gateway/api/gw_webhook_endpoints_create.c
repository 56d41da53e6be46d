/*
 * POST /v1/webhook_endpoints {"url","enabled_events":[...]} (issue 5, admin
 * role): 201 with the endpoint and its signing secret "whsec_...", shown this
 * once (GET never returns it; the gateway keeps it sealed, ADR 0100).
 */
#include "gateway/gw_app.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_request.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/events/gw_webhook_endpoint.h"
#include "common/sr_config.h"
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"

#include <string.h>

void gw_handle_webhook_endpoints_create(struct sr_http_request *req)
{
	struct gw_error uerr;
	struct gw_app *app = req->app;
	const char *why = NULL;
	const char *param = NULL;
	const char *url = NULL;
	char merchant[72];
	PGconn *conn = NULL;
	json_t *out = NULL;
	json_t *v = NULL;
	int rc;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (app->webhook_key == NULL) {
		sr_http_reply_error(req, 503, "api_error", "webhooks_unavailable",
		                    "Webhooks are not configured on this gateway.", NULL);
		return;
	}
	if (!json_is_object(req->json)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_missing",
		                    "A JSON body with url and enabled_events is required.", NULL);
		return;
	}
	json_object_foreach(req->json, url, v) {
		if (strcmp(url, "url") != 0 && strcmp(url, "enabled_events") != 0) {
			gw_error_unknown_param(&uerr, url);
			sr_http_reply_error(req, uerr.status, uerr.type, uerr.code, uerr.message, uerr.param);
			return;
		}
	}
	url = json_string_value(json_object_get(req->json, "url"));
	if (url == NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_missing",
		                    "url is required (a string).", "url");
		return;
	}
	conn = sr_db_acquire(app->db);
	rc = gw_webhook_endpoint_create(conn, app->webhook_key, merchant, url,
	                                json_object_get(req->json, "enabled_events"),
	                                sr_config_int(app->cfg, "webhook_allow_private", 0) != 0, &out,
	                                &why, &param);
	sr_db_release(app->db, conn);
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
	gw_strlcpy(gw_req_ctx()->target, json_string_value(json_object_get(out, "id")),
	           sizeof gw_req_ctx()->target);
	sr_http_reply_json(req, 201, out);
}
