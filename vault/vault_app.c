/*
 * vault_app: helpers shared by the vault's handlers.
 */
#include "vault/vault_app.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/sr_db.h"
#include "common/sr_log.h"
#include "vault/api/vault_ratelimit.h"
#include "vault/store/vault_store.h"
#include "vault/tokens/vault_token.h"
#include "vault/connectors/connector.h"

int vault_require_gateway(struct sr_http_request *req)
{
	const struct vault_app *app = req->app;

	/* invariant 5, docs/invariants.md: sr_http verified the certificate during the
	 * handshake and again per request; check the identity once more here
	 * so a misconfigured listener can never serve the internal API. */
	if (app == NULL || app->gateway_peer == NULL || req->peer == NULL ||
	    strcmp(req->peer, app->gateway_peer) != 0) {
		sr_log(SR_LOG_WARN, req->request_id, "internal.peer_refused", NULL);
		sr_http_reply_error(req, 403, "authentication_error", "peer_not_allowed",
		                    "This client is not allowed to use the internal API.", NULL);
		return 0;
	}
	return 1;
}

const char *vault_request_merchant(struct sr_http_request *req)
{
	const char *merchant = sr_http_header(req, "Strongroom-Merchant");

	if (merchant == NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_missing",
		                    "The Strongroom-Merchant header is required.", "Strongroom-Merchant");
		return NULL;
	}
	if (!vault_merchant_id_valid(merchant)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_type",
		                    "The Strongroom-Merchant header is not a merchant id.",
		                    "Strongroom-Merchant");
		return NULL;
	}
	return merchant;
}

json_t *vault_token_json(const struct vault_token_row *row)
{
	bool is_card = vault_card_token_id_valid(row->id);
	json_t *o = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:i, s:i, s:s}, s:I}",
	                      "id", row->id, "object", is_card ? "card" : "token",
	                      "merchant", row->merchant_id,
	                      "card", "brand", row->brand, "last4", row->last4,
	                      "exp_month", row->exp_month, "exp_year", row->exp_year,
	                      "fingerprint", row->fingerprint,
	                      "created", (json_int_t)row->created_at);

	if (o == NULL)
		return NULL;
	if (is_card)
		json_object_set_new(o, "customer", json_string(row->customer));
	else
		json_object_set_new(o, "used", json_boolean(row->used_by[0] != '\0'));
	if (row->expires_at > 0)
		json_object_set_new(o, "expires_at", json_integer(row->expires_at));
	if (row->legacy_number[0] != '\0')
		json_object_set_new(o, "legacy_number", json_string(row->legacy_number));
	return o;
}

void vault_reply_delete(struct sr_http_request *req, bool card)
{
	struct vault_app *app = req->app;
	const char *merchant = NULL;
	const char *id = req->params[0];
	char err[256];
	PGconn *db = NULL;
	int rc;

	if (!vault_require_gateway(req))
		return;
	merchant = vault_request_merchant(req);
	if (merchant == NULL)
		return;
	if (card ? !vault_card_token_id_valid(id) : !vault_token_id_valid(id)) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    card ? "No such card." : "No such token.", "id");
		return;
	}
	db = sr_db_acquire(app->db);
	rc = vault_store_token_delete(db, id, merchant, err, sizeof err);
	sr_db_release(app->db, db);
	if (rc < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s, s:s}", "token", id,
		       "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error",
		                    "An internal error occurred.", NULL);
		return;
	}
	if (rc == 0) {
		/* Missing, or another merchant's (invariant 6, docs/invariants.md: same answer). */
		sr_log(SR_LOG_INFO, req->request_id, "token.delete_missing", "{s:s, s:s}",
		       "token", id, "merchant", merchant);
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    card ? "No such card." : "No such token.", "id");
		return;
	}
	/* The row held the only copy of the PAN's ciphertext. */
	sr_log(SR_LOG_INFO, req->request_id, "token.deleted", "{s:s, s:s}", "token", id,
	       "merchant", merchant);
	sr_http_reply_json(req, 200, json_pack("{s:s, s:s, s:b}", "id", id, "object",
	                                       card ? "card" : "token", "deleted", 1));
}

int vault_rate_admit(struct sr_http_request *req, struct vault_ratelimit *rl, const char *key,
                     const char *what)
{
	struct timespec ts;
	char after[24];
	long wait;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	wait = vault_ratelimit_take(rl, key, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
	if (wait == 0)
		return 1;
	snprintf(after, sizeof after, "%ld", wait);
	sr_log(SR_LOG_WARN, req->request_id, "ratelimit.refused", "{s:s, s:I}", "limit", what,
	       "retry_after", (json_int_t)wait);
	sr_http_add_header(req, "Retry-After", after);
	sr_http_reply_error(req, 429, "rate_limit_error", "rate_limited",
	                    strcmp(what, "client_address") == 0
	                    ? "Too many requests from this address; retry later."
	                    : "Too many requests for this publishable key; retry later.", NULL);
	return 0;
}

const struct vault_connector *vault_connector_find(const struct vault_app *app, const char *name)
{
	if (app == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < app->n_connectors; i++)
		if (strcmp(app->connectors[i]->name, name) == 0)
			return app->connectors[i];
	return NULL;
}
