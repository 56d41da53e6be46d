/*
 * GET /v1/psp_credentials (admin role): the merchant's registered PSP
 * credentials, connector and last 4 characters of each value only (issue 5).
 * Relayed to the vault (vault/api/vault_psp_credentials_list.c).
 */
#include "common/sr_http.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/customers/gw_cards.h"
#include "gateway/api/gw_handlers.h"

void gw_handle_psp_credentials_list(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	char merchant[72];

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	gw_cards_relay(req, merchant, "GET", "/v1/psp_credentials", NULL);
}
