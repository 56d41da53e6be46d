/*
 * DELETE /v1/psp_credentials/{connector} (admin role): forget the merchant's
 * credentials at that PSP (the platform account is used again). Relayed to
 * the vault (vault/api/vault_psp_credentials_delete.c).
 */
#include <stdio.h>

#include "common/sr_http.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/customers/gw_cards.h"
#include "gateway/api/gw_handlers.h"

void gw_handle_psp_credentials_delete(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	char merchant[72];
	char path[96];

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (!gw_psp_connector_name_ok(req->params[0])) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such PSP credentials.", "connector");
		return;
	}
	snprintf(path, sizeof path, "/v1/psp_credentials/%s", req->params[0]);
	gw_cards_relay(req, merchant, "DELETE", path, NULL);
}
