/*
 * GET /v1/customers/{customer}/cards: the customer's saved cards (metadata
 * only), newest first. Relayed to the vault (vault/api/vault_customer_cards.c).
 * A customer object's id must be one of the merchant's (gw_cards_customer_check).
 */
#include <stdio.h>

#include "common/sr_http.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/customers/gw_cards.h"
#include "gateway/api/gw_handlers.h"

void gw_handle_customer_cards_list(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	char merchant[72];
	char path[128];

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (!gw_customer_ok(req->params[0])) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_type",
		                    "The customer reference must be 1 to 64 characters of "
		                    "[0-9A-Za-z_-].", "customer");
		return;
	}
	if (gw_cards_customer_check(req, merchant, req->params[0]) != 0)
		return;
	snprintf(path, sizeof path, "/v1/customers/%s/cards", req->params[0]);
	gw_cards_relay(req, merchant, "GET", path, NULL);
}
