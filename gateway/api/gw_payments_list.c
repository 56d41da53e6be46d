/*
 * GET /v1/payments (issue 4): the merchant's payments, newest first, with
 * cursor pagination and filters, as Stripe lists: the list parameters of
 * gw_page.h (limit, starting_after, ending_before, created[gte],
 * created[lte]) and status.
 * 200 {"object":"list","url":"/v1/payments","data":[payment...],"has_more"}.
 * A bad value is 400 (never echoed); a cursor that is not one of the
 * merchant's payments is 400 resource_missing.
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_page.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/store/gw_store_lifecycle.h"
#include "common/sr_db.h"
#include "common/sr_http.h"

#include <string.h>

static bool payment_id_ok(const char *s)
{
	return gw_id_shape_ok(s, "pay_");
}

void gw_handle_payments_list(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_payment_filter f;
	enum gw_status st;
	char merchant[72];
	const char *v = NULL;
	PGconn *conn = NULL;
	json_t *data = NULL;
	int has_more = 0;
	int missing = 0;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	memset(&f, 0, sizeof f);
	if (gw_page_parse(req, payment_id_ok, &f.page) != 0)
		return;
	if ((v = sr_http_query(req, "status")) != NULL) {
		if (gw_status_parse(v, &st) != 0) {
			sr_http_reply_error(req, 400, "invalid_request_error", "status_invalid",
			                    "status is not a payment status.", "status");
			return;
		}
		f.status = gw_status_str(st);
	}
	conn = sr_db_acquire(app->db);
	data = gw_store_payment_list(conn, merchant, &f, &has_more, &missing);
	sr_db_release(app->db, conn);
	if (missing) {
		gw_page_cursor_missing(req, &f.page);
		return;
	}
	gw_page_reply(req, "/v1/payments", data, has_more);
}
