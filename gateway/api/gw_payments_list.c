/*
 * GET /v1/payments (issue 4): the merchant's payments, newest first, with
 * cursor pagination and filters, as Stripe lists:
 *   limit (1..100, default 10), starting_after (a payment id: the page after
 *   it), status, created[gte], created[lte] (UNIX seconds).
 * 200 {"object":"list","url":"/v1/payments","data":[payment...],"has_more"}.
 * A bad value is 400 (never echoed); an unknown cursor is 400 resource_missing.
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/store/gw_store_lifecycle.h"
#include "common/sr_db.h"
#include "common/sr_http.h"

#include <string.h>

static void bad(struct sr_http_request *req, const char *code, const char *msg, const char *param)
{
	sr_http_reply_error(req, 400, "invalid_request_error", code, msg, param);
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
	f.limit = 10;
	f.created_gte = -1;
	f.created_lte = -1;
	if ((v = sr_http_query(req, "limit")) != NULL) {
		long long n = gw_query_uint(v);

		if (n < 1 || n > 100) {
			bad(req, "limit_invalid", "limit must be an integer between 1 and 100.", "limit");
			return;
		}
		f.limit = (int)n;
	}
	if ((v = sr_http_query(req, "status")) != NULL) {
		if (gw_status_parse(v, &st) != 0) {
			bad(req, "status_invalid", "status is not a payment status.", "status");
			return;
		}
		f.status = gw_status_str(st);
	}
	if ((v = sr_http_query(req, "created[gte]")) != NULL &&
	    (f.created_gte = gw_query_uint(v)) < 0) {
		bad(req, "created_invalid", "created[gte] must be UNIX seconds.", "created[gte]");
		return;
	}
	if ((v = sr_http_query(req, "created[lte]")) != NULL &&
	    (f.created_lte = gw_query_uint(v)) < 0) {
		bad(req, "created_invalid", "created[lte] must be UNIX seconds.", "created[lte]");
		return;
	}
	if ((v = sr_http_query(req, "starting_after")) != NULL) {
		if (!gw_id_shape_ok(v, "pay_")) {
			bad(req, "resource_missing", "starting_after is not one of your payments.",
			    "starting_after");
			return;
		}
		f.starting_after = v;
	}
	conn = sr_db_acquire(app->db);
	data = gw_store_payment_list(conn, merchant, &f, &has_more, &missing);
	sr_db_release(app->db, conn);
	if (missing) {
		bad(req, "resource_missing", "starting_after is not one of your payments.", "starting_after");
		return;
	}
	if (data == NULL) {
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	sr_http_reply_json(req, 200, json_pack("{s:s, s:s, s:o, s:b}", "object", "list",
	                                       "url", "/v1/payments", "data", data, "has_more", has_more));
}
