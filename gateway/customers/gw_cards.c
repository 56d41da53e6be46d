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

void gw_cards_relay(struct sr_http_request *req, const char *merchant, const char *method,
                    const char *path, json_t *body)
{
	(void)gw_cards_relay_status(req, merchant, method, path, body, NULL);
}

unsigned gw_cards_relay_status(struct sr_http_request *req, const char *merchant,
                               const char *method, const char *path, json_t *body,
                               json_t **out)
{
	struct gw_app *app = req->app;
	json_t *resp = NULL;
	long status = 0;
	unsigned replied = 502;
	enum gw_vault_rc rc;

	if (out != NULL)
		*out = NULL;

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
	replied = (unsigned)status;
	if (out != NULL)
		*out = json_incref(resp);
	sr_http_reply_json(req, replied, resp);
	resp = NULL;
out:
	json_decref(resp);
	return replied;
}
