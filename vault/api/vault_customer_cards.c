/*
 * GET /v1/customers/{customer}/cards (internal listener, mTLS peer = the
 * gateway). Header Strongroom-Merchant. The customer's saved cards, newest
 * first, at most 100: {"object":"list","data":[card...],"has_more":false}.
 * Metadata only. A customer reference is the merchant's own (1..64 of
 * [0-9A-Za-z_-]); customers of different merchants never mix.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/sr_db.h"
#include "common/sr_log.h"
#include "vault/vault_app.h"
#include "vault/store/vault_store.h"
#include "vault/tokens/vault_token.h"

#define MAX_CARDS 100

void vault_handle_customer_cards(struct sr_http_request *req)
{
	struct vault_app *app = req->app;
	struct vault_token_row *rows = NULL;
	const char *merchant = NULL;
	const char *customer = req->params[0];
	json_t *list = NULL;
	char err[256];
	PGconn *db = NULL;
	int n;
	int i;

	if (!vault_require_gateway(req))
		goto out;
	merchant = vault_request_merchant(req);
	if (merchant == NULL)
		goto out;
	if (!vault_customer_id_valid(customer)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_type",
		                    "The customer reference is malformed.", "customer");
		goto out;
	}
	rows = calloc(MAX_CARDS, sizeof *rows);
	list = json_array();
	if (rows == NULL || list == NULL)
		goto internal;
	db = sr_db_acquire(app->db);
	n = vault_store_cards_list(db, merchant, customer, rows, MAX_CARDS, err, sizeof err);
	sr_db_release(app->db, db);
	if (n < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s}", "error", err);
		goto internal;
	}
	for (i = 0; i < n; i++)
		json_array_append_new(list, vault_token_json(&rows[i]));
	sr_http_reply_json(req, 200, json_pack("{s:s, s:O, s:b}", "object", "list", "data", list,
	                                       "has_more", 0));
	goto out;
internal:
	sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
	                    NULL);
out:
	if (rows != NULL) {
		sodium_memzero(rows, MAX_CARDS * sizeof *rows);
		free(rows);
	}
	json_decref(list);
}
