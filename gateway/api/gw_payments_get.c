/*
 * GET /v1/payments/{id}: a merchant reads its own payment. Another merchant's
 * payment is indistinguishable from a missing one (404).
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/store/gw_store.h"
#include "common/sr_db.h"
#include "common/sr_http.h"

#include <string.h>

void gw_handle_payments_get(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_payment p;
	char merchant[72];
	PGconn *conn = NULL;
	json_t *body = NULL;
	int r;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (!gw_id_shape_ok(req->params[0], "pay_")) {
		/* Not a payment id (it could even be a card number): never sent to
		 * the database, never echoed. */
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such payment.", "id");
		return;
	}
	conn = sr_db_acquire(app->db);
	r = gw_store_payment_get(conn, req->params[0], merchant, 0, &p);
	sr_db_release(app->db, conn);
	if (r == 1) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such payment.", "id");
		return;
	}
	body = r == 0 ? gw_payment_to_json(&p) : NULL;
	if (body == NULL) {
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	sr_http_reply_json(req, 200, body);
}
