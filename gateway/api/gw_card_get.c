/*
 * GET /v1/cards/{id}: a saved card's metadata (never card data).
 * Another merchant's card is answered like a missing one (404). Relayed to
 * the vault (vault/api/vault_card_get.c).
 */
#include <stdio.h>
#include <string.h>

#include "common/sr_http.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/customers/gw_cards.h"
#include "gateway/api/gw_handlers.h"

void gw_handle_card_get(struct sr_http_request *req)
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
	gw_cards_relay(req, merchant, "GET", path, NULL);
}
