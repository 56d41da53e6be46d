/*
 * GET /v1/customers/{id}: a merchant reads its own customer (Stripe's
 * https://docs.stripe.com/api/customers/retrieve). Another merchant's
 * customer, a deleted one and anything not shaped like a customer id are
 * the same 404 resource_missing (nothing is echoed or leaked).
 */
#include <stdlib.h>

#include "common/sr_db.h"
#include "common/sr_http.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/customers/gw_customer.h"
#include "gateway/store/gw_store_customers.h"

void gw_handle_customer_get(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_customer *c = NULL;
	char merchant[72];
	PGconn *conn = NULL;
	int rc = 1;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	c = malloc(sizeof *c);
	if (c == NULL) {
		rc = -1;
	} else if (gw_customer_id_ok(req->params[0])) {
		conn = sr_db_acquire(app->db);
		rc = gw_store_customer_get(conn, req->params[0], merchant, 0, c);
		sr_db_release(app->db, conn);
	}
	if (rc == 0)
		sr_http_reply_json(req, 200, gw_customer_to_json(c));
	else if (rc == 1)
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such customer.", "id");
	else
		sr_http_reply_error(req, 500, "api_error", "internal_error",
		                    "An internal error occurred.", NULL);
	free(c);
}
