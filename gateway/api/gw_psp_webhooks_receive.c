/*
 * POST /v1/psp_webhooks/{connector}: webhooks FROM PSPs (issue 5).
 *
 * No merchant API key: a delivery is authenticated by the PSP's signature,
 * which only the vault can check (it holds the webhook secrets). The raw
 * body (at most PSP_WEBHOOK_MAX_BODY bytes) and the PSP's signature header
 * (Stripe-Signature) are relayed verbatim to the vault's
 * POST /v1/psp_webhooks/{connector} over mutual TLS; the vault answers the
 * verified, normalized events (and the merchant whose secret verified them).
 * Each event then has its effect exactly once (gw_psp_events: dedup on
 * (provider, event id) in the same transaction as the effect, docs/invariants.md
 * invariants 7 and 9).
 *
 * Answers (what Stripe and Adyen expect, ADR 0096):
 *   200 {"received":true,"applied","duplicates"} (Adyen: the text "[accepted]")
 *                                 verified; applied, replayed, of no interest,
 *                                 or naming a payment we do not know (logged)
 *   400 signature_invalid | timestamp_out_of_tolerance | payload_malformed
 *                                 nothing written
 *   404 no such connector
 *   413 body too large (sr_http / here), 429 rate limited (gw_route)
 *   503 the vault is unreachable or a database write failed: nothing
 *       written, the PSP retries later
 * Nothing from the body is ever echoed or logged (it is the PSP's data).
 */
#include "gateway/gw_app.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/events/gw_psp_events.h"
#include "gateway/vault_client/gw_vault_client.h"
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"

#include <string.h>

#define PSP_WEBHOOK_MAX_BODY (16 * 1024)  /* the vault's internal body limit */

static int connector_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	size_t i;

	if (n == 0 || n > 32 || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* The PSP's signature header for connector (NULL: signed inside the body). */
static const char *signature_header(const char *connector)
{
	if (strcmp(connector, "stripe") == 0)
		return "Stripe-Signature";
	return NULL;
}

void gw_handle_psp_webhooks_receive(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	const char *connector = req->params[0];
	const char *hname = NULL;
	const char *sig = NULL;
	const char *merchant = NULL;
	const char *code = NULL;
	json_t *resp = NULL;
	json_t *events = NULL;
	PGconn *conn = NULL;
	char outcome[24];
	char payment[72];
	long status = 0;
	size_t i;
	size_t applied = 0;
	size_t dups = 0;
	enum gw_vault_rc vrc;

	if (!connector_ok(connector)) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such connector.", "connector");
		goto out;
	}
	if (req->body == NULL || req->body_len == 0) {
		sr_http_reply_error(req, 400, "invalid_request_error", "payload_malformed",
		                    "The webhook body is empty.", NULL);
		goto out;
	}
	if (req->body_len > PSP_WEBHOOK_MAX_BODY) {
		sr_http_reply_error(req, 413, "invalid_request_error", "payload_too_large",
		                    "The webhook body is too large.", NULL);
		goto out;
	}
	/* The audit record (gw_route) names the PSP. */
	gw_strlcpy(gw_req_ctx()->provider, connector, sizeof gw_req_ctx()->provider);
	hname = signature_header(connector);
	sig = hname != NULL ? sr_http_header(req, hname) : NULL;
	vrc = gw_vault_psp_webhook(app->vault, req->request_id, connector, (const char *)req->body,
	                           req->body_len, sig, &status, &resp);
	if (vrc != GW_VAULT_OK || status >= 500 || status == 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "psp_webhook.vault_failed", "{s:s, s:s, s:I}",
		       "connector", connector, "outcome", gw_vault_rc_str(vrc), "status", (json_int_t)status);
		sr_http_reply_error(req, 503, "api_error", "vault_unavailable",
		                    "The webhook could not be verified now. Retry later.", NULL);
		goto out;
	}
	if (status == 404) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such connector.", "connector");
		goto out;
	}
	if (status != 200) {
		code = json_string_value(json_object_get(json_object_get(resp, "error"), "code"));
		if (code == NULL || (strcmp(code, "signature_invalid") != 0 &&
		                     strcmp(code, "timestamp_out_of_tolerance") != 0 &&
		                     strcmp(code, "payload_malformed") != 0))
			code = "payload_malformed";
		sr_log(SR_LOG_WARN, req->request_id, "psp_webhook.refused", "{s:s, s:s}", "connector",
		       connector, "reason", code);
		sr_http_reply_error(req, 400, "invalid_request_error", code,
		                    strcmp(code, "timestamp_out_of_tolerance") == 0
		                    ? "The webhook timestamp is outside the tolerance."
		                    : strcmp(code, "signature_invalid") == 0
		                    ? "The webhook signature does not verify."
		                    : "The webhook body could not be parsed.", NULL);
		goto out;
	}
	merchant = json_string_value(json_object_get(resp, "merchant"));
	events = json_object_get(resp, "events");
	if (!json_is_array(events)) {
		sr_http_reply_error(req, 503, "api_error", "vault_unavailable",
		                    "The webhook could not be verified now. Retry later.", NULL);
		goto out;
	}
	conn = sr_db_acquire(app->db);
	for (i = 0; i < json_array_size(events); i++) {
		const json_t *ev = json_array_get(events, i);

		if (gw_psp_event_apply(conn, req->request_id, connector, merchant, ev, outcome,
		                       payment) != 0) {
			/* Rolled back: the PSP's retry applies it (and earlier events
			 * of this delivery are then replays). */
			sr_http_reply_error(req, 503, "api_error", "internal_error",
			                    "The webhook could not be recorded now. Retry later.", NULL);
			goto out;
		}
		applied += strcmp(outcome, "applied") == 0;
		dups += strcmp(outcome, "duplicate") == 0;
		sr_log(strcmp(outcome, "payment_unknown") == 0 ? SR_LOG_WARN : SR_LOG_INFO,
		       req->request_id, "psp_webhook.event", "{s:s, s:s?, s:s?, s:s?, s:s, s:s?}",
		       "connector", connector, "event", json_string_value(json_object_get(ev, "id")),
		       "type", json_string_value(json_object_get(ev, "type")),
		       "merchant", merchant, "outcome", outcome,
		       "payment", payment[0] != '\0' ? payment : NULL);
	}
	if (strcmp(connector, "adyen") == 0) {
		/* Adyen's notification contract: the body "[accepted]" acknowledges. */
		sr_http_reply_raw(req, 200, "text/plain", "[accepted]", 10);
		goto out;
	}
	sr_http_reply_json(req, 200, json_pack("{s:b, s:I, s:I}", "received", 1,
	                                       "applied", (json_int_t)applied,
	                                       "duplicates", (json_int_t)dups));
out:
	if (conn != NULL)
		sr_db_release(app->db, conn);
	json_decref(resp);
}
