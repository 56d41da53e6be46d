/*
 * POST /v1/customers/{id} {"email"?, "name"?, "description"?, "metadata"?,
 * "default_source"?}: update a customer as Stripe does
 * (https://docs.stripe.com/api/customers/update): only the fields given
 * change, metadata keys are merged ("" deletes one), "" unsets a field.
 * default_source must be one of this customer's saved cards, asked of the
 * vault (GET /v1/cards/{id}: the card's merchant and customer); otherwise
 * 400 resource_missing naming default_source. The row is locked while the
 * body is applied, so concurrent metadata merges do not lose keys.
 * 200 with the customer; 404 as GET /v1/customers/{id}; 400 as
 * gw_customer_apply; 502 when the vault cannot be asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/customers/gw_cards.h"
#include "gateway/customers/gw_customer.h"
#include "gateway/store/gw_store_customers.h"
#include "gateway/vault_client/gw_vault_client.h"

/* 0 card is customer's; 1 it is not (replied 400); -1 replied 502. */
static int card_of_customer(struct sr_http_request *req, const char *merchant,
                            const char *customer, const char *card)
{
	struct gw_app *app = req->app;
	char path[128];
	json_t *resp = NULL;
	long status = 0;
	enum gw_vault_rc rc;
	int out;

	snprintf(path, sizeof path, "/v1/cards/%s", card);
	rc = gw_vault_request(app->vault, req->request_id, "GET", path, merchant, NULL, &status,
	                      &resp);
	if (rc != GW_VAULT_OK || status >= 500 || (status != 200 && status != 404)) {
		sr_log(SR_LOG_ERROR, req->request_id, "vault.cards_failed", "{s:s, s:I}", "outcome",
		       gw_vault_rc_str(rc), "status", (json_int_t)status);
		sr_http_reply_error(req, 502, "api_error", "vault_unavailable",
		                    "The card vault is unavailable. Retry later.", NULL);
		out = -1;
	} else if (status == 200 &&
	           strcmp(json_string_value(json_object_get(resp, "customer")) != NULL
	                  ? json_string_value(json_object_get(resp, "customer")) : "", customer) == 0) {
		out = 0;
	} else {
		sr_http_reply_error(req, 400, "invalid_request_error", "resource_missing",
		                    "default_source is not one of this customer's cards.",
		                    "default_source");
		out = 1;
	}
	json_decref(resp);
	return out;
}

void gw_handle_customer_update(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_customer *c = NULL;
	struct gw_error err;
	char merchant[72];
	const char *id = req->params[0];
	const char *card = NULL;
	bool dflt = false;
	PGconn *conn = NULL;
	int rc = 1;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (!gw_customer_id_ok(id)) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such customer.", "id");
		return;
	}
	gw_strlcpy(gw_req_ctx()->target, id, sizeof gw_req_ctx()->target);
	c = calloc(1, sizeof *c);
	if (c == NULL)
		goto internal;
	conn = sr_db_acquire(app->db);
	rc = gw_store_customer_get(conn, id, merchant, 0, c);
	sr_db_release(app->db, conn);
	conn = NULL;
	if (rc != 0)
		goto missing;
	/* The body's shape first (no vault call for a malformed one), then the
	 * card's owner, then the merge under the row's lock. */
	if (gw_customer_apply(req->json, true, c, &dflt, &err) != 0)
		goto refused;
	card = json_string_value(json_object_get(req->json, "default_source"));
	if (card != NULL && card[0] != '\0' && card_of_customer(req, merchant, id, card) != 0)
		goto out;
	conn = sr_db_acquire(app->db);
	if (sr_db_exec(conn, "BEGIN") != 0)
		goto internal;
	rc = gw_store_customer_get(conn, id, merchant, 1, c);
	if (rc != 0) {
		(void)sr_db_exec(conn, "ROLLBACK");
		goto missing;
	}
	if (gw_customer_apply(req->json, true, c, &dflt, &err) != 0) {
		(void)sr_db_exec(conn, "ROLLBACK");
		goto refused;
	}
	if (gw_store_customer_update(conn, merchant, c) != 0 || sr_db_exec(conn, "COMMIT") != 0) {
		(void)sr_db_exec(conn, "ROLLBACK");
		goto internal;
	}
	sr_http_reply_json(req, 200, gw_customer_to_json(c));
	goto out;
refused:
	sr_http_reply_error(req, err.status, err.type, err.code, err.message, err.param);
	goto out;
missing:
	if (rc < 0)
		goto internal;
	sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
	                    "No such customer.", "id");
	goto out;
internal:
	sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
	                    NULL);
out:
	if (conn != NULL)
		sr_db_release(app->db, conn);
	free(c);
}
