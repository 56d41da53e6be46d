/*
 * GET /v1/payments/{id}/events (issue 4): the payment's event timeline,
 * oldest first: {"object":"list","data":[{"id":"evt_..","type","from","to",
 * "created","data"}],"has_more":false}. Another merchant's payment is 404.
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/store/gw_store.h"
#include "gateway/store/gw_store_lifecycle.h"
#include "common/sr_db.h"
#include "common/sr_http.h"

void gw_handle_payment_events_list(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_payment p;
	char merchant[72];
	PGconn *conn = NULL;
	json_t *data = NULL;
	int rc;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (!gw_id_shape_ok(req->params[0], "pay_")) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such payment.", "id");
		return;
	}
	conn = sr_db_acquire(app->db);
	rc = gw_store_payment_get(conn, req->params[0], merchant, 0, &p);
	if (rc == 0)
		data = gw_store_payment_events(conn, p.id);
	sr_db_release(app->db, conn);
	if (rc == 1) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such payment.", "id");
		return;
	}
	if (data == NULL) {
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	sr_http_reply_json(req, 200, json_pack("{s:s, s:o, s:b}", "object", "list", "data", data,
	                                       "has_more", 0));
}
