/*
 * POST /v1/customers/{customer}/cards {"token":"tok_...","deduplicate":bool?,
 *                                      "metadata"?}
 * Save a single-use token as the customer's reusable card (card_...),
 * consuming the token; with "deduplicate": true the customer's existing
 * card with the same fingerprint is returned instead (200, "deduplicated").
 * Relayed to the vault's POST /v1/cards (vault/api/vault_cards_create.c).
 * A customer object's id (cus_ + 22) must be one of the merchant's
 * customers (404 otherwise; gw_cards_customer_check, ADR 0128); its first
 * card becomes its default_source, as in Stripe. metadata (Stripe's
 * limits, screened for card numbers: gw_metadata_apply) is kept by the
 * gateway (card_metadata, ADR 0128), merged into a deduplicated card's.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sr_http.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/customers/gw_cards.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_request.h"
#include "gateway/customers/gw_customer.h"
#include "gateway/store/gw_store_customers.h"
#include "common/sr_db.h"
#include "common/sr_log.h"

void gw_handle_customer_cards_create(struct sr_http_request *req)
{
	struct gw_error uerr;
	struct gw_app *app = req->app;
	char merchant[72];
	const char *customer = req->params[0];
	const char *key = NULL;
	const char *token = NULL;
	json_t *v = NULL;
	json_t *dedup = NULL;
	json_t *body = NULL;
	json_t *card = NULL;
	json_t *md = NULL;
	char *mdtext = NULL;
	long status = 0;
	PGconn *conn = NULL;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (!gw_customer_ok(customer)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_type",
		                    "The customer reference must be 1 to 64 characters of "
		                    "[0-9A-Za-z_-].", "customer");
		return;
	}
	if (gw_cards_customer_check(req, merchant, customer) != 0)
		return;
	if (!json_is_object(req->json)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "invalid_json",
		                    "The request body must be a JSON object.", NULL);
		return;
	}
	json_object_foreach(req->json, key, v) {
		if (strcmp(key, "token") != 0 && strcmp(key, "deduplicate") != 0 &&
		    strcmp(key, "metadata") != 0) {
			gw_error_unknown_param(&uerr, key);
			sr_http_reply_error(req, uerr.status, uerr.type, uerr.code, uerr.message, uerr.param);
			return;
		}
	}
	token = json_string_value(json_object_get(req->json, "token"));
	if (token == NULL || strncmp(token, "tok_", 4) != 0 || !gw_token_shape_ok(token)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_type",
		                    "token must be a single-use token id (tok_...).", "token");
		return;
	}
	dedup = json_object_get(req->json, "deduplicate");
	if (dedup != NULL && !json_is_boolean(dedup)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_type",
		                    "deduplicate must be a boolean.", "deduplicate");
		return;
	}
	md = json_object_get(req->json, "metadata");
	mdtext = malloc(GW_METADATA_JSON_MAX + 1);
	if (mdtext == NULL)
		goto internal;
	/* Checked before anything is saved (a refused body saves no card). */
	if (gw_metadata_apply(md, false, mdtext, &uerr) != 0)
		goto refused;
	body = json_pack("{s:s, s:s, s:s, s:b}", "merchant", merchant, "token", token,
	                 "customer", customer, "deduplicate", json_is_true(dedup));
	if (body == NULL)
		goto internal;
	if (gw_cards_vault_call(req, merchant, "POST", "/v1/cards", body, &status, &card) != 0)
		goto out;
	if ((status == 200 || status == 201) && json_is_string(json_object_get(card, "id"))) {
		const char *id = json_string_value(json_object_get(card, "id"));

		if (md != NULL &&
		    gw_cards_metadata_merge(req, merchant, id, customer, md, &uerr) != 0) {
			/* The card is saved; its answer says so, without metadata. */
			sr_log(SR_LOG_ERROR, req->request_id, "card.metadata_failed", "{s:s}", "card", id);
		}
		if (status == 201 && gw_customer_id_ok(customer)) {
			conn = sr_db_acquire(app->db);
			(void)gw_store_customer_default_init(conn, customer, merchant, id);
			sr_db_release(app->db, conn);
		}
	}
	gw_cards_reply(req, merchant, status, card);
	card = NULL;
	goto out;
refused:
	sr_http_reply_error(req, uerr.status, uerr.type, uerr.code, uerr.message, uerr.param);
	goto out;
internal:
	sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
	                    NULL);
out:
	free(mdtext);
	json_decref(card);
	json_decref(body);
}
