/*
 * gw_cards: relay of the saved-card endpoints to the vault (gw_cards.h).
 */
#include "gateway/customers/gw_cards.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_panscan.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_request.h"
#include "gateway/vault_client/gw_vault_client.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/customers/gw_customer.h"
#include "gateway/store/gw_store_customers.h"
#include "common/sr_db.h"

bool gw_customer_ok(const char *s)
{
	size_t n;
	size_t i;

	if (s == NULL)
		return false;
	n = strnlen(s, 65);
	if (n < 1 || n > 64)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool gw_card_id_ok(const char *s)
{
	size_t n;
	size_t i;

	if (s == NULL || strncmp(s, "card_", 5) != 0)
		return false;
	n = strnlen(s + 5, 65);
	if (n < 8 || n > 64)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[5 + i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

/* Whether the vault's answer holds a card number in any shape (the one
 * detector, common/sr_panscan, over its compact JSON text). */
static bool json_has_pan(const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	bool found = text == NULL || sr_panscan_has_pan(text, strlen(text));

	if (text != NULL) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	return found;
}

int gw_cards_customer_check(struct sr_http_request *req, const char *merchant, const char *ref)
{
	struct gw_app *app = req->app;
	struct gw_customer *c = NULL;
	PGconn *conn = NULL;
	int rc;

	if (!gw_customer_id_ok(ref))
		return 0;
	c = malloc(sizeof *c);
	if (c == NULL) {
		sr_http_reply_error(req, 500, "api_error", "internal_error",
		                    "An internal error occurred.", NULL);
		return -1;
	}
	conn = sr_db_acquire(app->db);
	rc = gw_store_customer_get(conn, ref, merchant, 0, c);
	sr_db_release(app->db, conn);
	free(c);
	if (rc == 0) {
		gw_strlcpy(gw_req_ctx()->target, ref, sizeof gw_req_ctx()->target);
		return 0;
	}
	if (rc == 1)
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such customer.", "customer");
	else
		sr_http_reply_error(req, 500, "api_error", "internal_error",
		                    "An internal error occurred.", NULL);
	return -1;
}

/* The vault's card objects name their merchant (its internal API checks
 * ownership with it); the merchant API does not: the caller's own id is no
 * field of a card (docs/openapi.yaml, SavedCard). Removed from a card and
 * from each card of a list. */
static void drop_internal_fields(json_t *resp)
{
	json_t *data = json_object_get(resp, "data");
	json_t *item;
	size_t i;

	json_object_del(resp, "merchant");
	json_array_foreach(data, i, item)
		json_object_del(item, "merchant");
}

void gw_cards_relay(struct sr_http_request *req, const char *merchant, const char *method,
                    const char *path, json_t *body)
{
	(void)gw_cards_relay_status(req, merchant, method, path, body, NULL);
}

int gw_cards_vault_call(struct sr_http_request *req, const char *merchant, const char *method,
                        const char *path, json_t *body, long *status, json_t **resp)
{
	struct gw_app *app = req->app;
	enum gw_vault_rc rc;

	*status = 0;
	*resp = NULL;
	rc = gw_vault_request(app->vault, req->request_id, method, path, merchant, body, status,
	                      resp);
	if (rc != GW_VAULT_OK || *status >= 500 || *status < 200 || *resp == NULL) {
		sr_log(SR_LOG_ERROR, req->request_id, "vault.cards_failed", "{s:s, s:s, s:I}",
		       "method", method, "outcome", gw_vault_rc_str(rc), "status", (json_int_t)*status);
		sr_http_reply_error(req, 502, "api_error", "vault_unavailable",
		                    "The card vault is unavailable. Retry later.", NULL);
		goto refused;
	}
	/* No PAN outside the CDE: nothing PAN-like ever leaves through the gateway. */
	if (json_has_pan(*resp)) {
		sr_log(SR_LOG_ERROR, req->request_id, "vault.answer_refused", "{s:s}", "reason",
		       "card-number-like value");
		sr_http_reply_error(req, 502, "api_error", "vault_unavailable",
		                    "The card vault gave an invalid answer.", NULL);
		goto refused;
	}
	return 0;
refused:
	json_decref(*resp);
	*resp = NULL;
	return -1;
}

/* The saved cards an answer holds: a card, or a list's cards (not a
 * deletion's answer). */
static bool is_card(const json_t *o)
{
	return json_is_object(o) && json_object_get(o, "deleted") == NULL &&
	       json_is_string(json_object_get(o, "id")) &&
	       strcmp(json_string_value(json_object_get(o, "object")) != NULL
	              ? json_string_value(json_object_get(o, "object")) : "", "card") == 0;
}

/* Add each card's metadata (the gateway's card_metadata, {} when none). */
static int add_metadata(struct sr_http_request *req, const char *merchant, json_t *resp)
{
	struct gw_app *app = req->app;
	json_t *cards = json_array();
	json_t *map = NULL;
	json_t *data = json_object_get(resp, "data");
	json_t *c = NULL;
	PGconn *conn = NULL;
	size_t i;
	int rc = -1;

	if (cards == NULL)
		return -1;
	if (is_card(resp))
		json_array_append(cards, resp);
	json_array_foreach(json_is_array(data) ? data : NULL, i, c) {
		if (is_card(c))
			json_array_append(cards, c);
	}
	if (json_array_size(cards) == 0) {
		rc = 0;
		goto out;
	}
	conn = sr_db_acquire(app->db);
	map = gw_store_card_metadata_map(conn, merchant, cards);
	sr_db_release(app->db, conn);
	if (map == NULL)
		goto out;
	json_array_foreach(cards, i, c) {
		json_t *md = json_object_get(map, json_string_value(json_object_get(c, "id")));

		json_object_set_new(c, "metadata", md != NULL ? json_incref(md) : json_object());
	}
	rc = 0;
out:
	json_decref(map);
	json_decref(cards);
	return rc;
}

int gw_cards_metadata_merge(struct sr_http_request *req, const char *merchant,
                            const char *card_id, const char *customer, const json_t *v,
                            struct gw_error *err)
{
	struct gw_app *app = req->app;
	char *md = malloc(GW_METADATA_JSON_MAX + 1);
	PGconn *conn = NULL;
	int rc = -1;

	if (md == NULL)
		goto internal;
	conn = sr_db_acquire(app->db);
	if (sr_db_exec(conn, "BEGIN") != 0)
		goto internal;
	/* The row locked while the keys merge: concurrent updates lose none. */
	if (gw_store_card_metadata_get(conn, merchant, card_id, 1, md) < 0)
		goto rollback;
	if (gw_metadata_apply(v, true, md, err) != 0) {
		(void)sr_db_exec(conn, "ROLLBACK");
		goto out;
	}
	if (gw_store_card_metadata_put(conn, merchant, card_id, customer, md) != 0 ||
	    sr_db_exec(conn, "COMMIT") != 0)
		goto rollback;
	rc = 0;
	goto out;
rollback:
	(void)sr_db_exec(conn, "ROLLBACK");
internal:
	err->status = 500;
	err->type = "api_error";
	err->code = "internal_error";
	err->message = "An internal error occurred.";
	err->param = NULL;
out:
	if (conn != NULL)
		sr_db_release(app->db, conn);
	free(md);
	return rc;
}

void gw_cards_reply(struct sr_http_request *req, const char *merchant, long status, json_t *resp)
{
	if (status >= 200 && status < 300 && add_metadata(req, merchant, resp) != 0) {
		json_decref(resp);
		sr_http_reply_error(req, 500, "api_error", "internal_error",
		                    "An internal error occurred.", NULL);
		return;
	}
	if (status >= 200 && status < 300)
		drop_internal_fields(resp);
	sr_http_reply_json(req, (unsigned)status, resp);
}

unsigned gw_cards_relay_status(struct sr_http_request *req, const char *merchant,
                               const char *method, const char *path, json_t *body,
                               json_t **out)
{
	json_t *resp = NULL;
	long status = 0;

	if (out != NULL)
		*out = NULL;
	if (gw_cards_vault_call(req, merchant, method, path, body, &status, &resp) != 0)
		return 502;
	if (out != NULL)
		*out = json_incref(resp);
	gw_cards_reply(req, merchant, status, resp);
	return (unsigned)status;
}
