/*
 * GET /v1/routing: the merchant's routing (issue 5, ADR 0091):
 * {"object":"routing","region","primary","secondary","connectors","regions"}.
 * Relayed to the vault's GET /v1/routing, which holds it (the vault routes
 * authorizations; the gateway never chooses a connector).
 */
#include "common/sr_http.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/customers/gw_cards.h"
#include "gateway/api/gw_handlers.h"

void gw_handle_routing_get(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	char merchant[72];

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	gw_cards_relay(req, merchant, "GET", "/v1/routing", NULL);
}
