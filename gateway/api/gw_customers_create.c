/*
 * POST /v1/customers {"email"?, "name"?, "description"?, "metadata"?}:
 * create a customer (Stripe's https://docs.stripe.com/api/customers/create).
 * 201 with the customer object (gw_customer_to_json); 400 as
 * gw_customer_apply (a card number in any field: pan_not_allowed, nothing
 * stored). Saved cards are added with POST /v1/customers/{id}/cards.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_util.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/customers/gw_customer.h"
#include "gateway/store/gw_store_customers.h"

void gw_handle_customers_create(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_customer *c = NULL;
	struct gw_error err;
	char merchant[72];
	bool dflt = false;
	PGconn *conn = NULL;
	int rc;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		goto internal;
	if (gw_customer_apply(req->json, false, c, &dflt, &err) != 0) {
		sr_http_reply_error(req, err.status, err.type, err.code, err.message, err.param);
		goto out;
	}
	if (sr_random_id("cus_", 16, c->id, sizeof c->id) != 0)
		goto internal;
	conn = sr_db_acquire(app->db);
	rc = gw_store_customer_insert(conn, merchant, c);
	sr_db_release(app->db, conn);
	if (rc != 0)
		goto internal;
	gw_strlcpy(gw_req_ctx()->target, c->id, sizeof gw_req_ctx()->target);
	sr_http_reply_json(req, 201, gw_customer_to_json(c));
	goto out;
internal:
	sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
	                    NULL);
out:
	free(c);
}
