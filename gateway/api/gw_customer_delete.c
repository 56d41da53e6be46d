/*
 * DELETE /v1/customers/{id}: delete a customer and its saved cards (Stripe's
 * https://docs.stripe.com/api/customers/delete): 200 {"id","object":
 * "customer","deleted":true}. Order (ADR 0128): the vault first deletes the
 * customer's cards, the rows holding the only copies of their ciphertext
 * (PCI DSS v4.0 3.2.1), having recorded the customer as deleted so no card
 * can be saved under it any more; only then is the customer's row deleted.
 * A failure half-way answers 502 (vault) or 500 (database) and leaves the
 * customer in place; deleting it again finishes the job (both steps are
 * idempotent). So a deleted customer never has a card that pays.
 * 404 as GET /v1/customers/{id}. The deletion is logged (customer.deleted,
 * with the number of cards destroyed) and audited (gw_route).
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/customers/gw_customer.h"
#include "gateway/store/gw_store_customers.h"
#include "gateway/vault_client/gw_vault_client.h"

void gw_handle_customer_delete(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_customer *c = NULL;
	char merchant[72];
	char path[64];
	const char *id = req->params[0];
	json_t *resp = NULL;
	long status = 0;
	enum gw_vault_rc vrc;
	PGconn *conn = NULL;
	int rc = 1;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	c = malloc(sizeof *c);
	if (c != NULL && gw_customer_id_ok(id)) {
		conn = sr_db_acquire(app->db);
		rc = gw_store_customer_get(conn, id, merchant, 0, c);
		sr_db_release(app->db, conn);
	} else if (c == NULL) {
		rc = -1;
	}
	free(c);
	if (rc == 1) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such customer.", "id");
		return;
	}
	if (rc < 0)
		goto internal;
	gw_strlcpy(gw_req_ctx()->target, id, sizeof gw_req_ctx()->target);
	snprintf(path, sizeof path, "/v1/customers/%s", id);
	vrc = gw_vault_request(app->vault, req->request_id, "DELETE", path, merchant, NULL, &status,
	                       &resp);
	if (vrc != GW_VAULT_OK || status != 200) {
		sr_log(SR_LOG_ERROR, req->request_id, "customer.delete_failed", "{s:s, s:s, s:I}",
		       "customer", id, "outcome", gw_vault_rc_str(vrc), "status", (json_int_t)status);
		json_decref(resp);
		sr_http_reply_error(req, 502, "api_error", "vault_unavailable",
		                    "The customer's saved cards could not be deleted; the customer is "
		                    "kept. Retry the deletion.", NULL);
		return;
	}
	conn = sr_db_acquire(app->db);
	rc = gw_store_customer_delete(conn, id, merchant);
	sr_db_release(app->db, conn);
	if (rc < 0) {
		json_decref(resp);
		goto internal;
	}
	sr_log(SR_LOG_INFO, req->request_id, "customer.deleted", "{s:s, s:s, s:I}", "customer", id,
	       "merchant", merchant, "cards_deleted",
	       json_integer_value(json_object_get(resp, "cards_deleted")));
	json_decref(resp);
	sr_http_reply_json(req, 200, json_pack("{s:s, s:s, s:b}", "id", id, "object", "customer",
	                                       "deleted", 1));
	return;
internal:
	sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
	                    NULL);
}
