/*
 * GET /v1/payments/{id}/refunds (issue 19): the payment's refunds, newest
 * first, with the list parameters of gw_page.h, as Stripe lists a
 * charge's refunds. 200 {"object":"list","url":"/v1/payments/{id}/refunds",
 * "data":[refund...],"has_more"}. Another merchant's payment is 404, as
 * GET /v1/payments/{id}; a cursor that is not one of the merchant's refunds
 * is 400 resource_missing.
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_page.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/store/gw_store.h"
#include "gateway/store/gw_store_lists.h"
#include "common/sr_db.h"
#include "common/sr_http.h"

#include <stdio.h>

static bool refund_id_ok(const char *s)
{
	return gw_id_shape_ok(s, "re_");
}

void gw_handle_payment_refunds_list(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_payment pay;
	struct gw_page p;
	char merchant[72];
	char url[128];
	PGconn *conn = NULL;
	json_t *data = NULL;
	int has_more = 0;
	int missing = 0;
	int rc;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (!gw_id_shape_ok(req->params[0], "pay_")) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such payment.", "id");
		return;
	}
	if (gw_page_parse(req, refund_id_ok, &p) != 0)
		return;
	conn = sr_db_acquire(app->db);
	rc = gw_store_payment_get(conn, req->params[0], merchant, 0, &pay);
	if (rc == 0)
		data = gw_store_refund_page(conn, merchant, pay.id, &p, &has_more, &missing);
	sr_db_release(app->db, conn);
	if (rc == 1) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such payment.", "id");
		return;
	}
	if (missing) {
		gw_page_cursor_missing(req, &p);
		return;
	}
	snprintf(url, sizeof url, "/v1/payments/%s/refunds", pay.id);
	gw_page_reply(req, url, rc == 0 ? data : NULL, has_more);
}
