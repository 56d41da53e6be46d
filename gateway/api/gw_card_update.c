/*
 * POST /v1/cards/{id} {"metadata"}: update a saved card's metadata, as
 * Stripe's card update (https://docs.stripe.com/api/cards/update): keys
 * merged into the card's, a "" or null value deletes its key, metadata ""
 * deletes every key; Stripe's limits, screened for card numbers
 * (gw_metadata_apply). The card is asked of the vault first (another
 * merchant's is 404, as a missing one); the metadata is the gateway's
 * (card_metadata, ADR 0128). 200 with the card.
 */
#include <stdio.h>
#include <string.h>

#include "common/sr_http.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_request.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/customers/gw_cards.h"

void gw_handle_card_update(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_error err;
	char merchant[72];
	char path[128];
	const char *id = req->params[0];
	const char *key = NULL;
	const char *customer = NULL;
	json_t *v = NULL;
	json_t *card = NULL;
	long status = 0;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (!gw_card_id_ok(id)) {
		/* Not a card id (it could be a card number): never sent on, never echoed. */
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such card.", "id");
		return;
	}
	gw_strlcpy(gw_req_ctx()->target, id, sizeof gw_req_ctx()->target);
	if (req->json != NULL && !json_is_object(req->json)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_type",
		                    "The request body must be a JSON object.", NULL);
		return;
	}
	json_object_foreach(req->json, key, v) {
		if (strcmp(key, "metadata") != 0) {
			gw_error_unknown_param(&err, key);
			sr_http_reply_error(req, err.status, err.type, err.code, err.message, err.param);
			return;
		}
	}
	snprintf(path, sizeof path, "/v1/cards/%s", id);
	if (gw_cards_vault_call(req, merchant, "GET", path, NULL, &status, &card) != 0)
		return;
	customer = json_string_value(json_object_get(card, "customer"));
	if (status == 200 && customer != NULL && json_object_get(req->json, "metadata") != NULL &&
	    gw_cards_metadata_merge(req, merchant, id, customer,
	                            json_object_get(req->json, "metadata"), &err) != 0) {
		json_decref(card);
		sr_http_reply_error(req, err.status, err.type, err.code, err.message, err.param);
		return;
	}
	gw_cards_reply(req, merchant, status, card);
}
