/*
 * GET /v1/events/{id} (issue 19): one of the merchant's events of the last
 * GW_EVENTS_DAYS (30) days, as Stripe's GET /v1/events/{id}. Another
 * merchant's event, an older one and a malformed id are all 404.
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/store/gw_store_lists.h"
#include "common/sr_db.h"
#include "common/sr_http.h"

void gw_handle_event_get(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	char merchant[72];
	PGconn *conn = NULL;
	json_t *ev = NULL;
	int rc = 1;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (gw_store_event_id_ok(req->params[0])) {
		conn = sr_db_acquire(app->db);
		rc = gw_store_event_get(conn, merchant, req->params[0], &ev);
		sr_db_release(app->db, conn);
	}
	if (rc == 1) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such event.", "id");
		return;
	}
	if (rc != 0) {
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	sr_http_reply_json(req, 200, ev);
}
