/*
 * GET /v1/webhook_endpoints/{id}/deliveries[?limit=N] (issue 5): the
 * endpoint's deliveries, newest first (limit 1..100, default 20), each with
 * every attempt: time (unix ms), outcome, status code, latency, the response
 * truncated to 1 KiB, the error. Deleted endpoints keep their history.
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/store/gw_store_webhooks.h"
#include "common/sr_db.h"
#include "common/sr_http.h"

#include <stdlib.h>

void gw_handle_webhook_deliveries_list(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	const char *lim = sr_http_query(req, "limit");
	char merchant[72];
	PGconn *conn = NULL;
	json_t *data = NULL;
	char *end = NULL;
	long limit = 20;
	int rc = 1;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (lim != NULL) {
		limit = strtol(lim, &end, 10);
		if (end == lim || *end != '\0' || limit < 1 || limit > 100) {
			sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
			                    "limit must be an integer from 1 to 100.", "limit");
			return;
		}
	}
	if (gw_id_shape_ok(req->params[0], "we_")) {
		conn = sr_db_acquire(app->db);
		rc = gw_store_webhook_deliveries(conn, req->params[0], merchant, (int)limit, &data);
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
	sr_http_reply_json(req, 200, json_pack("{s:s, s:o, s:b}", "object", "list", "data", data,
	                                       "has_more", 0));
}
