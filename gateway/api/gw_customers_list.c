/*
 * GET /v1/customers: the merchant's customers, newest first, with the list
 * parameters of gw_page.h and email (exact match), as Stripe's
 * https://docs.stripe.com/api/customers/list.
 * 200 {"object":"list","url":"/v1/customers","data":[customer...],"has_more"}.
 * A cursor that is not one of the merchant's customers is 400
 * resource_missing, another merchant's too.
 */
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_page.h"
#include "gateway/customers/gw_customer.h"
#include "gateway/store/gw_store_customers.h"

#include <string.h>

void gw_handle_customers_list(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_page p;
	char merchant[72];
	const char *email = NULL;
	PGconn *conn = NULL;
	json_t *data = NULL;
	int has_more = 0;
	int missing = 0;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (gw_page_parse(req, gw_customer_id_ok, &p) != 0)
		return;
	email = sr_http_query(req, "email");
	if (email != NULL && (email[0] == '\0' || strlen(email) > GW_CUSTOMER_EMAIL_MAX)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "email_invalid",
		                    "email must be an email address.", "email");
		return;
	}
	conn = sr_db_acquire(app->db);
	data = gw_store_customer_page(conn, merchant, email, &p, &has_more, &missing);
	sr_db_release(app->db, conn);
	if (missing) {
		gw_page_cursor_missing(req, &p);
		return;
	}
	gw_page_reply(req, "/v1/customers", data, has_more);
}
