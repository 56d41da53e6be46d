/*
 * PUT /v1/routing {"region","primary","secondary"} (admin role): replace the
 * merchant's routing (issue 5, ADR 0091). Each field is a string or null
 * (absent: null): region one of the appliance's configured regions, primary
 * a connector that overrides country and region routing, secondary the
 * connector used only when the primary provably did not accept an
 * authorization. Validated and stored by the vault (PUT /v1/routing); the
 * gateway checks the shape only.
 */
#include <string.h>

#include "common/sr_http.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/customers/gw_cards.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_request.h"

void gw_handle_routing_put(struct sr_http_request *req)
{
	struct gw_error uerr;
	static const char *const keys[] = { "region", "primary", "secondary", NULL };
	struct gw_app *app = req->app;
	char merchant[72];
	const char *key = NULL;
	json_t *v = NULL;
	size_t i;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (!json_is_object(req->json)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "invalid_json",
		                    "The request body must be a JSON object.", NULL);
		return;
	}
	json_object_foreach(req->json, key, v) {
		bool known = false;

		for (i = 0; keys[i] != NULL; i++)
			known = known || strcmp(key, keys[i]) == 0;
		if (!known) {
			gw_error_unknown_param(&uerr, key);
			sr_http_reply_error(req, uerr.status, uerr.type, uerr.code, uerr.message, uerr.param);
			return;
		}
		if (!json_is_null(v) && (!json_is_string(v) || json_string_length(v) > 32)) {
			sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_type",
			                    "region, primary and secondary must be short strings or null.", key);
			return;
		}
	}
	gw_cards_relay(req, merchant, "PUT", "/v1/routing", req->json);
}
