/*
 * POST /v1/customers/{customer}/cards {"token":"tok_...","deduplicate":bool?}
 * Save a single-use token as the customer's reusable card (card_...),
 * consuming the token; with "deduplicate": true the customer's existing
 * card with the same fingerprint is returned instead (200, "deduplicated").
 * Relayed to the vault's POST /v1/cards (vault/api/vault_cards_create.c).
 * A customer object's id (cus_ + 22) must be one of the merchant's
 * customers (404 otherwise; gw_cards_customer_check, ADR 0128); its first
 * card becomes its default_source, as in Stripe.
 */
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
		if (strcmp(key, "token") != 0 && strcmp(key, "deduplicate") != 0) {
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
	body = json_pack("{s:s, s:s, s:s, s:b}", "merchant", merchant, "token", token,
	                 "customer", customer, "deduplicate", json_is_true(dedup));
	if (body == NULL) {
		sr_http_reply_error(req, 500, "api_error", "internal_error",
		                    "An internal error occurred.", NULL);
		return;
	}
	if (gw_cards_relay_status(req, merchant, "POST", "/v1/cards", body, &card) == 201 &&
	    gw_customer_id_ok(customer) && json_is_string(json_object_get(card, "id"))) {
		conn = sr_db_acquire(app->db);
		(void)gw_store_customer_default_init(conn, customer, merchant,
		                                     json_string_value(json_object_get(card, "id")));
		sr_db_release(app->db, conn);
	}
	json_decref(card);
	json_decref(body);
}
