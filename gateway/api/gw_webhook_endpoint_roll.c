/*
 * POST /v1/webhook_endpoints/{id}/roll_secret {"expires_in"?: seconds}
 * (issue 19, admin role): a new signing secret, shown in this answer only
 * (200: the endpoint with "secret" and "previous_secret_expires"). The
 * current secret keeps signing beside it, as a second v1= of
 * Strongroom-Signature, for expires_in seconds (0 to 86400, default 0: it
 * stops at once), as Stripe's roll of an endpoint secret; then only the new
 * one signs. Another merchant's endpoint, or a deleted one, is 404. ADR 0129.
 */
#include "gateway/gw_app.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_request.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/events/gw_webhook_endpoint.h"
#include "common/sr_db.h"
#include "common/sr_http.h"

#include <string.h>

void gw_handle_webhook_endpoint_roll(struct sr_http_request *req)
{
	struct gw_error uerr;
	struct gw_app *app = req->app;
	const char *k = NULL;
	char merchant[72];
	PGconn *conn = NULL;
	json_t *out = NULL, *v = NULL;
	long long expires_in = 0;
	int rc = 1;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (app->webhook_key == NULL) {
		sr_http_reply_error(req, 503, "api_error", "webhooks_unavailable",
		                    "Webhooks are not configured on this gateway.", NULL);
		return;
	}
	if (req->json != NULL && !json_is_object(req->json)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_type",
		                    "The body must be a JSON object.", NULL);
		return;
	}
	json_object_foreach(req->json, k, v) {
		if (strcmp(k, "expires_in") != 0) {
			gw_error_unknown_param(&uerr, k);
			sr_http_reply_error(req, uerr.status, uerr.type, uerr.code, uerr.message, uerr.param);
			return;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > GW_WEBHOOK_ROLL_MAX_S) {
			sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
			                    "expires_in must be an integer number of seconds from 0 to 86400.",
			                    "expires_in");
			return;
		}
		expires_in = (long long)json_integer_value(v);
	}
	if (gw_id_shape_ok(req->params[0], "we_")) {
		gw_strlcpy(gw_req_ctx()->target, req->params[0], sizeof gw_req_ctx()->target);
		conn = sr_db_acquire(app->db);
		rc = gw_webhook_endpoint_roll(conn, app->webhook_key, merchant, req->params[0], expires_in,
		                              &out);
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
