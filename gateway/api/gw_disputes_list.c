/*
 * GET /v1/disputes (issue 19 item 6, ADR 0132): the merchant's disputes,
 * newest first, with the list parameters of gw_page.h and payment (a
 * payment id: its disputes only), as Stripe's GET /v1/disputes
 * (https://docs.stripe.com/api/disputes/list; Stripe filters by
 * payment_intent). 200 {"object":"list","url":"/v1/disputes","data":
 * [dispute...],"has_more"}. A cursor that is not one of the merchant's
 * disputes is 400 resource_missing; a payment filter naming another
 * merchant's payment matches nothing.
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_page.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/disputes/gw_dispute.h"
#include "gateway/store/gw_store_disputes.h"
#include "common/sr_db.h"
#include "common/sr_http.h"

void gw_handle_disputes_list(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_page p;
	char merchant[72];
	const char *payment = NULL;
	PGconn *conn = NULL;
	json_t *data = NULL;
	int has_more = 0;
	int missing = 0;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (gw_page_parse(req, gw_dispute_id_ok, &p) != 0)
		return;
	payment = sr_http_query(req, "payment");
	if (payment != NULL && !gw_id_shape_ok(payment, "pay_")) {
		sr_http_reply_error(req, 400, "invalid_request_error", "resource_missing",
		                    "payment is not one of your payments.", "payment");
		return;
	}
	conn = sr_db_acquire(app->db);
	data = gw_store_dispute_page(conn, merchant, payment, &p, &has_more, &missing);
	sr_db_release(app->db, conn);
	if (missing) {
		gw_page_cursor_missing(req, &p);
		return;
	}
	gw_page_reply(req, "/v1/disputes", data, has_more);
}
