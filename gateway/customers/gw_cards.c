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
	struct gw_app *app = req->app;
	json_t *resp = NULL;
	long status = 0;
	enum gw_vault_rc rc;

	rc = gw_vault_request(app->vault, req->request_id, method, path, merchant, body, &status,
	                      &resp);
	if (rc != GW_VAULT_OK || status >= 500 || status < 200 || resp == NULL) {
		sr_log(SR_LOG_ERROR, req->request_id, "vault.cards_failed", "{s:s, s:s, s:I}",
		       "method", method, "outcome", gw_vault_rc_str(rc), "status", (json_int_t)status);
		sr_http_reply_error(req, 502, "api_error", "vault_unavailable",
		                    "The card vault is unavailable. Retry later.", NULL);
		goto out;
	}
	/* No PAN outside the CDE: nothing PAN-like ever leaves through the gateway. */
	if (json_has_pan(resp)) {
		sr_log(SR_LOG_ERROR, req->request_id, "vault.answer_refused", "{s:s}", "reason",
		       "card-number-like value");
		sr_http_reply_error(req, 502, "api_error", "vault_unavailable",
		                    "The card vault gave an invalid answer.", NULL);
		goto out;
	}
	if (status < 300)
		drop_internal_fields(resp);
	sr_http_reply_json(req, (unsigned)status, resp);
	resp = NULL;
out:
	json_decref(resp);
}
