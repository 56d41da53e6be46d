/*
 * GET /v1/refunds (issue 19): the merchant's refunds, newest first, with the
 * list parameters of gw_page.h and payment (a payment id: its refunds only),
 * as Stripe's GET /v1/refunds (https://docs.stripe.com/api/refunds/list).
 * 200 {"object":"list","url":"/v1/refunds","data":[refund...],"has_more"}.
 * A cursor that is not one of the merchant's refunds is 400
 * resource_missing; a payment filter naming another merchant's payment
 * simply matches nothing (the refunds are filtered by merchant first).
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_page.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/store/gw_store_lists.h"
#include "common/sr_db.h"
#include "common/sr_http.h"

static bool refund_id_ok(const char *s)
{
	return gw_id_shape_ok(s, "re_");
}

void gw_handle_refunds_list(struct sr_http_request *req)
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
	if (gw_page_parse(req, refund_id_ok, &p) != 0)
		return;
	payment = sr_http_query(req, "payment");
	if (payment != NULL && !gw_id_shape_ok(payment, "pay_")) {
		sr_http_reply_error(req, 400, "invalid_request_error", "resource_missing",
		                    "payment is not one of your payments.", "payment");
		return;
	}
	conn = sr_db_acquire(app->db);
	data = gw_store_refund_page(conn, merchant, payment, &p, &has_more, &missing);
	sr_db_release(app->db, conn);
	if (missing) {
		gw_page_cursor_missing(req, &p);
		return;
	}
	gw_page_reply(req, "/v1/refunds", data, has_more);
}
