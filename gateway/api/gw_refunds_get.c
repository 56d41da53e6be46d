/*
 * GET /v1/refunds/{id} (issue 4): a merchant reads its own refund; another
 * merchant's is indistinguishable from a missing one (404).
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/store/gw_store_lifecycle.h"
#include "common/sr_db.h"
#include "common/sr_http.h"

void gw_handle_refunds_get(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_refund r;
	char merchant[72];
	PGconn *conn = NULL;
	json_t *body = NULL;
	int rc;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (!gw_id_shape_ok(req->params[0], "re_")) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such refund.", "id");
		return;
	}
	conn = sr_db_acquire(app->db);
	rc = gw_store_refund_get(conn, req->params[0], merchant, &r);
	sr_db_release(app->db, conn);
	if (rc == 1) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such refund.", "id");
		return;
	}
	body = rc == 0 ? gw_refund_to_json(&r) : NULL;
	if (body == NULL) {
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	sr_http_reply_json(req, 200, body);
}
