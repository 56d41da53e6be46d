/*
 * POST /v1/payment_operations (internal listener, mTLS peer = the gateway).
 * {"merchant","operation":"capture"|"cancel"|"refund"|"retrieve",
 *  "psp_reference","amount" (minor units, 0 = the whole),"idempotency_key",
 *  "reason" (optional; cancel: duplicate | fraudulent | requested_by_customer |
 *  abandoned | expired, refund: the first three; anything else is 400 naming
 *  reason; forwarded in each PSP's words, ADR 0108)}
 *
 * Acts on a PSP payment the vault authorized for that merchant (another
 * merchant's reference is 404, audited like a foreign token: docs/invariants.md, invariant
 * 6). No card data is decrypted: these operations need none. The gateway's
 * idempotency key is passed to the PSP, so a retry after a lost answer never
 * acts twice (invariant 8).
 *
 * 200 {"outcome":"succeeded"|"refused"|"unknown","amount","reference",
 *      "failure_code","status","psp_failure_code","redirect_url","mismatch"} —
 * status (retrieve only) is the payment's normalized status at the PSP
 * (also "voided"); mismatch, with outcome unknown, names the field of the
 * PSP's answer that contradicted the request (issue 15: a 200 is not a
 * confirmation until its body says what was asked).
 * 502 api_error psp_unavailable when nothing reached the PSP.
 *
 * Issue 5: the operation goes to the connector that authorized the payment
 * (recorded on the vault's authorization), with that authorization's
 * currency; a capture of "the whole" (amount 0) names the authorized amount,
 * as connectors whose modifications always carry one (Adyen) need it. An
 * operation that provably did not reach the PSP is retried like an
 * authorization (psp_retry_max, psp_retry_backoff_ms doubled), always with
 * the same idempotency key; one that was sent and lost its answer is
 * `unknown`, never retried here.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "vault/connectors/connector.h"
#include "vault/vault_app.h"
#include "vault/connectors/vault_psp_creds.h"
#include "vault/store/vault_store.h"
#include "vault/store/vault_store_route.h"
#include "vault/tokens/vault_token.h"

static const char *const OPS[] = { "capture", "cancel", "refund", "retrieve", NULL };

static bool ident_ok(const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;
	size_t i;

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

static json_t *str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

void vault_handle_payment_ops(struct sr_http_request *req)
{
	static const char *const keys[] = {
		"merchant", "operation", "psp_reference", "amount", "idempotency_key", "reason", NULL
	};
	struct vault_app *app = req->app;
	struct vault_op_request oq;
	struct vault_op_result res;
	struct vault_psp_creds_held creds;
	const json_t *o = req->json;
	const char *key = NULL;
	const char *merchant = NULL;
	const char *op = NULL;
	json_t *val = NULL;
	json_t *amount = NULL;
	const struct vault_connector *conn = NULL;
	char conn_name[32] = "";
	char currency[4] = "";
	long long auth_amount = 0;
	PGconn *db = NULL;
	char err[256];
	size_t i;
	int kind = -1;
	int rc;

	memset(&oq, 0, sizeof oq);
	memset(&res, 0, sizeof res);
	memset(&creds, 0, sizeof creds);
	if (!vault_require_gateway(req))
		return;
	if (!json_is_object(o)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_missing",
		                    "A JSON object body is required.", NULL);
		return;
	}
	json_object_foreach((json_t *)o, key, val) {
		bool known = false;

		for (i = 0; keys[i] != NULL; i++)
			known = known || strcmp(key, keys[i]) == 0;
		if (!known) {
			sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
			                    "The request contains an unknown parameter.", NULL);
			return;
		}
	}
	merchant = json_string_value(json_object_get(o, "merchant"));
	op = json_string_value(json_object_get(o, "operation"));
	oq.psp_reference = json_string_value(json_object_get(o, "psp_reference"));
	oq.idempotency_key = json_string_value(json_object_get(o, "idempotency_key"));
	oq.reason = json_string_value(json_object_get(o, "reason"));
	amount = json_object_get(o, "amount");
	for (i = 0; op != NULL && OPS[i] != NULL; i++)
		if (strcmp(op, OPS[i]) == 0)
			kind = (int)i;
	if (!vault_merchant_id_valid(merchant) || kind < 0 || !ident_ok(oq.psp_reference, 120) ||
	    (kind != VAULT_OP_RETRIEVE && !ident_ok(oq.idempotency_key, 255)) ||
	    (amount != NULL && (!json_is_integer(amount) || json_integer_value(amount) < 0 ||
	                        json_integer_value(amount) > 99999999999LL))) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
		                    "merchant, operation, psp_reference, amount or idempotency_key is invalid.",
		                    NULL);
		return;
	}
	sr_http_set_principal(req, merchant, NULL); /* the gateway acts for it */
	oq.kind = (enum vault_op_kind)kind;
	if ((json_object_get(o, "reason") != NULL && oq.reason == NULL) ||
	    !vault_op_reason_ok(oq.kind, oq.reason)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
		                    "reason is not one this operation forwards.", "reason");
		return;
	}
	oq.amount = amount != NULL ? (long long)json_integer_value(amount) : 0;
	oq.request_id = req->request_id;

	db = sr_db_acquire(app->db);
	rc = vault_store_psp_payment_get(db, merchant, oq.psp_reference, conn_name, &auth_amount, currency,
	                                 err, sizeof err);
	sr_db_release(app->db, db);
	if (rc < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s}", "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	if (rc == 0) {
		sr_log(SR_LOG_WARN, req->request_id, "payment_op.foreign_or_unknown", "{s:s, s:s, s:s}",
		       "merchant", merchant, "operation", OPS[kind], "psp_reference", oq.psp_reference);
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such payment at the processor.", "psp_reference");
		return;
	}
	conn = vault_connector_find(app, conn_name);
	if (conn == NULL) {
		sr_log(SR_LOG_ERROR, req->request_id, "payment_op.connector_gone", "{s:s, s:s}",
		       "psp_reference", oq.psp_reference, "connector", conn_name);
		sr_http_reply_error(req, 502, "api_error", "psp_unavailable",
		                    "The payment processor could not be reached.", NULL);
		return;
	}
	oq.currency = currency;
	if (oq.kind == VAULT_OP_CAPTURE && oq.amount == 0)
		oq.amount = auth_amount;
	/* Issue 5: the merchant's own credentials at the payment's connector,
	 * in guarded memory for this call only. */
	db = sr_db_acquire(app->db);
	rc = vault_psp_creds_load(db, app->hsm, merchant, conn->name, &creds, err, sizeof err);
	sr_db_release(app->db, db);
	if (rc < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "psp_credentials.load_failed", "{s:s, s:s, s:s}",
		       "merchant", merchant, "connector", conn->name, "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	oq.creds = rc == 1 ? &creds.creds : NULL;
	rc = -1;
	if (conn->operate != NULL) {
		unsigned delay = app->psp_retry_backoff_ms;
		int attempt;

		for (attempt = 0;; attempt++) {
			rc = conn->operate(conn, app->egress, &oq, &res, err, sizeof err);
			if (rc == 0 || attempt >= app->psp_retry_max)
				break;
			sr_log(SR_LOG_WARN, req->request_id, "payment_op.psp_retry", "{s:s, s:s, s:i, s:s}",
			       "operation", OPS[kind], "connector", conn->name, "attempt", attempt + 1,
			       "error", err);
			{
				struct timespec ts = { .tv_sec = (time_t)(delay / 1000),
				                       .tv_nsec = (long)(delay % 1000) * 1000000L };

				while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
					;
			}
			delay = delay >= 2500 ? 5000 : delay * 2;
		}
	}
	vault_psp_creds_release(&creds);
	oq.creds = NULL;
	if (rc != 0) {
		sr_log(SR_LOG_WARN, req->request_id, "payment_op.psp_unavailable", "{s:s, s:s, s:s}",
		       "operation", OPS[kind], "connector", conn->name,
		       "error", conn->operate == NULL ? "unsupported" : err);
		sr_http_reply_error(req, 502, "api_error", "psp_unavailable",
		                    "The payment processor could not be reached.", NULL);
		return;
	}
	sr_log(SR_LOG_INFO, req->request_id, "payment_op.result", "{s:s, s:s, s:s, s:s, s:I, s:s}",
	       "merchant", merchant, "operation", OPS[kind], "connector", conn->name,
	       "psp_reference", oq.psp_reference,
	       "amount", (json_int_t)oq.amount, "peer", req->peer);
	sr_http_reply_json(req, 200,
	    json_pack("{s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o}",
	              "outcome", res.outcome == VAULT_OP_SUCCEEDED ? "succeeded"
	                         : res.outcome == VAULT_OP_REFUSED ? "refused" : "unknown",
	              "amount", (json_int_t)res.amount,
	              "reference", str_or_null(res.reference),
	              "failure_code", str_or_null(res.failure_code),
	              "status", kind == VAULT_OP_RETRIEVE && res.outcome == VAULT_OP_SUCCEEDED
	                        ? json_string(vault_auth_status_str(res.intent.status)) : json_null(),
	              "psp_failure_code", str_or_null(res.intent.failure_code),
	              "redirect_url", str_or_null(res.intent.redirect_url),
	              "mismatch", str_or_null(res.mismatch)));
}
