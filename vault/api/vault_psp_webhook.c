/*
 * POST /v1/psp_webhooks/{connector} (internal listener, mTLS peer = the
 * gateway only): verify and parse one PSP webhook delivery the gateway
 * relays (issue 5). The body is the PSP's raw bytes; the PSP's signature
 * header (Stripe-Signature) arrives as Strongroom-PSP-Signature.
 *
 * Which secret verifies it (issue 15, ADR 0107): the connector's hooks read,
 * unverified, the PSP account the delivery claims to be for and the payment
 * it names. A payment the vault authorized (authorizations, by connector
 * and PSP reference) is verified with its merchant's webhook secret only
 * when the named account is that merchant's registered account, else with
 * the connector's platform secret: another merchant's registration never
 * applies to it. A payment the vault does not know is verified with the
 * secret of the merchant that registered the named account (registrations
 * are proven and exclusive, the platform's account reserved), else with the
 * platform secret. Nothing in the body is used before the signature verified.
 *
 * 200 {"merchant":"mer_..."|null,"events":[{"id","type","psp_reference",
 *      "reference","amount","currency","failure_code","created"}]}
 *      type = vault_psp_event_kind_str (authorization.succeeded, ...)
 * 400 invalid_request_error signature_invalid | timestamp_out_of_tolerance |
 *     payload_malformed (nothing parsed is returned; input never echoed)
 * 404 no such connector, or a connector without webhooks.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "vault/connectors/connector.h"
#include "vault/store/vault_store_route.h"
#include "vault/vault_app.h"
#include "vault/connectors/vault_psp_creds.h"

#define MAX_EVENTS 16

static json_t *str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/*
 * ADR 0107: merchant (capacity 80) = whose webhook secret verifies a
 * delivery naming account and payment (either may be ""), or "" for the
 * platform's secret. 0, or -1 with err.
 */
static int secret_owner(struct vault_app *app, const struct vault_connector *c,
                        const char *account, const char *payment, char *merchant, char *err,
                        size_t errlen)
{
	struct vault_key_labels labels;
	char payer[80] = "";
	char owner[80] = "";
	PGconn *db = NULL;
	int paid = 0;
	int owned = 0;

	merchant[0] = '\0';
	if (account[0] == '\0' && payment[0] == '\0')
		return 0;
	if (vault_keys_current(app->keys, app->db, &labels, err, errlen) != 0)
		return -1;
	db = sr_db_acquire(app->db);
	if (payment[0] != '\0')
		paid = vault_store_psp_payment_merchant(db, c->name, payment, payer, sizeof payer, err,
		                                        errlen);
	if (paid >= 0 && account[0] != '\0')
		/* The current and previous fp-hmac keys (ADR 0074, 0095). */
		owned = vault_psp_creds_find_account(db, app->hsm, &labels, c->name, account, owner,
		                                     sizeof owner, err, errlen);
	sr_db_release(app->db, db);
	if (paid < 0 || owned < 0)
		return -1;
	if (paid == 1)          /* the payment's merchant, on its own account only */
		snprintf(merchant, 80, "%s", owned == 1 && strcmp(owner, payer) == 0 ? payer : "");
	else if (paid == 0)     /* not ours: the account's registered owner */
		snprintf(merchant, 80, "%s", owned == 1 ? owner : "");
	return 0;               /* paid == 2 (two merchants): the platform's only */
}

void vault_handle_psp_webhook(struct sr_http_request *req)
{
	struct vault_app *app = req->app;
	const struct vault_connector *c = NULL;
	struct vault_psp_creds_held creds;
	struct vault_psp_event ev[MAX_EVENTS];
	const char *sig = NULL;
	const char *secret = NULL;
	const char *code = NULL;
	char account[160];
	char payment[160];
	char merchant[80];
	char err[256];
	json_t *events = NULL;
	PGconn *db = NULL;
	size_t n = 0;
	size_t i;
	int rc;

	memset(&creds, 0, sizeof creds);
	merchant[0] = '\0';
	account[0] = '\0';
	payment[0] = '\0';
	if (!vault_require_gateway(req))
		goto out;
	c = vault_connector_find(app, req->params[0]);
	if (c == NULL || c->webhook_events == NULL) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such connector, or it takes no webhooks.", "connector");
		goto out;
	}
	if (req->body == NULL || req->body_len == 0) {
		sr_http_reply_error(req, 400, "invalid_request_error", "payload_malformed",
		                    "The webhook body is empty.", NULL);
		goto out;
	}
	sig = sr_http_header(req, "Strongroom-PSP-Signature");
	if (c->webhook_account != NULL &&
	    c->webhook_account(c, (const char *)req->body, req->body_len, account, sizeof account) != 0) {
		sr_log(SR_LOG_WARN, req->request_id, "psp_webhook.refused", "{s:s, s:s}", "connector",
		       c->name, "reason", "payload_malformed");
		sr_http_reply_error(req, 400, "invalid_request_error", "payload_malformed",
		                    "The webhook body is not this PSP's notification.", NULL);
		goto out;
	}
	if (c->webhook_payment != NULL)
		(void)c->webhook_payment(c, (const char *)req->body, req->body_len, payment,
		                         sizeof payment);
	rc = secret_owner(app, c, account, payment, merchant, err, sizeof err);
	if (rc == 0 && merchant[0] != '\0') {
		db = sr_db_acquire(app->db);
		rc = vault_psp_creds_load(db, app->hsm, merchant, c->name, &creds, err, sizeof err);
		sr_db_release(app->db, db);
		db = NULL;
		if (rc == 0)
			merchant[0] = '\0';     /* deleted meanwhile: the platform's secret */
		rc = rc < 0 ? -1 : 0;
	}
	if (rc < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "psp_credentials.load_failed", "{s:s, s:s}",
		       "connector", c->name, "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error",
		                    "An internal error occurred.", NULL);
		goto out;
	}
	secret = creds.creds.webhook_secret;    /* NULL: the platform's */
	memset(ev, 0, sizeof ev);
	rc = c->webhook_events(c, secret, sig, (const char *)req->body, req->body_len,
	                       (long long)time(NULL), ev, MAX_EVENTS, &n, err, sizeof err);
	vault_psp_creds_release(&creds);
	if (rc != 0) {
		code = rc == -2 ? "timestamp_out_of_tolerance" : rc == -3 ? "payload_malformed"
		                                                          : "signature_invalid";
		sr_log(SR_LOG_WARN, req->request_id, "psp_webhook.refused", "{s:s, s:s, s:s?, s:s}",
		       "connector", c->name, "reason", code,
		       "merchant", merchant[0] != '\0' ? merchant : NULL, "error", err);
		sr_http_reply_error(req, 400, "invalid_request_error", code,
		                    rc == -2 ? "The webhook timestamp is outside the tolerance."
		                    : rc == -3 ? "The webhook body could not be parsed."
		                               : "The webhook signature does not verify.", NULL);
		goto out;
	}
	events = json_array();
	for (i = 0; events != NULL && i < n && i < MAX_EVENTS; i++) {
		json_array_append_new(events,
		    json_pack("{s:s, s:s, s:o, s:o, s:I, s:o, s:o, s:I}",
		              "id", ev[i].event_id, "type", vault_psp_event_kind_str(ev[i].kind),
		              "psp_reference", str_or_null(ev[i].psp_reference),
		              "reference", str_or_null(ev[i].reference),
		              "amount", (json_int_t)ev[i].amount,
		              "currency", str_or_null(ev[i].currency),
		              "failure_code", str_or_null(ev[i].failure_code),
		              "created", (json_int_t)ev[i].created));
		sr_log(SR_LOG_INFO, req->request_id, "psp_webhook.verified", "{s:s, s:s, s:s, s:s?, s:s?}",
		       "connector", c->name, "event", ev[i].event_id,
		       "type", vault_psp_event_kind_str(ev[i].kind),
		       "psp_reference", ev[i].psp_reference[0] != '\0' ? ev[i].psp_reference : NULL,
		       "merchant", merchant[0] != '\0' ? merchant : NULL);
	}
	if (events == NULL) {
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		goto out;
	}
	sr_http_reply_json(req, 200, json_pack("{s:o, s:o}", "merchant", str_or_null(merchant),
	                                       "events", events));
out:
	vault_psp_creds_release(&creds);
}
