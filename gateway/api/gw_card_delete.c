/*
 * DELETE /v1/cards/{id}: delete a saved card; the vault destroys its ciphertext.
 * Another merchant's card is answered like a missing one (404). Relayed to
 * the vault (vault/api/vault_card_delete.c). A customer whose default_source
 * it was has none after it (as Stripe's); its metadata goes with it.
 */
#include <stdio.h>
#include <string.h>

#include "common/sr_http.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/customers/gw_cards.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/store/gw_store_customers.h"
#include "common/sr_db.h"

void gw_handle_card_delete(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	char merchant[72];
	char path[128];

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (!gw_card_id_ok(req->params[0])) {
		/* Not a card id (it could be a card number): never sent on, never echoed. */
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such card.", "id");
		return;
	}
	snprintf(path, sizeof path, "/v1/cards/%s", req->params[0]);
	if (gw_cards_relay_status(req, merchant, "DELETE", path, NULL, NULL) == 200) {
		PGconn *conn = sr_db_acquire(app->db);

		(void)gw_store_customer_default_clear(conn, merchant, req->params[0]);
		(void)gw_store_card_metadata_delete(conn, merchant, req->params[0]);
		sr_db_release(app->db, conn);
	}
}
