/*
 * PUT /v1/psp_credentials/{connector} (admin role): a merchant registers its
 * own credentials at a PSP (issue 5):
 *   {"api_key"?, "merchant_account"?, "webhook_secret"?}
 * The gateway never stores or logs them: the JSON body is relayed as is to
 * the vault (PUT /v1/psp_credentials/{connector}, mutual TLS), which seals
 * them under the HSM and answers last 4 characters only. The request body
 * buffers are wiped (sr_http, jansson's allocator, gw_vault_client).
 * invariant 10, docs/invariants.md; PCI DSS v4.0 8.6.3.
 */
#include <stdio.h>
#include <string.h>

#include "common/sr_http.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/customers/gw_cards.h"
#include "gateway/api/gw_handlers.h"

int gw_psp_connector_name_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	size_t i;

	if (n == 0 || n > 32 || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

void gw_handle_psp_credentials_put(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	char merchant[72];
	char path[96];

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (!gw_psp_connector_name_ok(req->params[0])) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such connector.", "connector");
		return;
	}
	if (!json_is_object(req->json)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_missing",
		                    "A JSON object with api_key, merchant_account or webhook_secret is "
		                    "required.", NULL);
		return;
	}
	snprintf(path, sizeof path, "/v1/psp_credentials/%s", req->params[0]);
	gw_cards_relay(req, merchant, "PUT", path, req->json);
}
