/*
 * POST /v1/dispute_operations (internal listener, mTLS peer = the gateway;
 * issue 19 item 6, ADR 0132).
 * {"merchant","operation":"evidence"|"accept","psp_reference" (the disputed
 *  payment at the PSP),"dispute" (the PSP's dispute id),"idempotency_key",
 *  "evidence" (evidence: {field: text}, at most 18 fields of at most 20,000
 *  bytes' worth of characters, screened for card numbers again here),
 *  "submit" (evidence: bool)}
 *
 * The dispute is answered at the connector that authorized the payment, with
 * the merchant's own credentials there (issue 5); another merchant's payment
 * is 404, audited like a foreign token (docs/invariants.md, invariant 6). No
 * card data is decrypted. A call that provably did not reach the PSP is 502
 * psp_unavailable (the gateway's lease makes a retry the merchant's, never
 * ours: a dispute call is not retried here).
 *
 * 200 {"outcome":"succeeded"|"refused"|"unknown","failure_code","sent"}.
 */
#include <stdbool.h>
#include <string.h>

#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_panscan.h"
#include "vault/connectors/connector.h"
#include "vault/connectors/vault_psp_creds.h"
#include "vault/store/vault_store.h"
#include "vault/store/vault_store_route.h"
#include "vault/vault_app.h"

#define EVIDENCE_FIELDS_MAX 18
#define EVIDENCE_VALUE_MAX (20000 * 4) /* 20,000 characters of UTF-8 */

static bool ident_ok(const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n <= max && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                      "0123456789_-") == n;
}

/* Evidence into keys/values (borrowed from ev). @return the count, or -1. */
static int evidence_of(const json_t *ev, const char **keys, const char **values)
{
	const char *k = NULL;
	json_t *v = NULL;
	int n = 0;

	if (ev == NULL)
		return 0;
	if (!json_is_object(ev) || json_object_size(ev) > EVIDENCE_FIELDS_MAX)
		return -1;
	json_object_foreach((json_t *)ev, k, v) {
		if (!json_is_string(v) || strspn(k, "abcdefghijklmnopqrstuvwxyz_") != strlen(k) ||
		    strlen(k) == 0 || strlen(k) > 40 || json_string_length(v) > EVIDENCE_VALUE_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v) ||
		    sr_panscan_has_pan(json_string_value(v), json_string_length(v)))
			return -1;
		keys[n] = k;
		values[n] = json_string_value(v);
		n++;
	}
	return n;
}

void vault_handle_dispute_ops(struct sr_http_request *req)
{
	static const char *const known[] = {
		"merchant", "operation", "psp_reference", "dispute", "idempotency_key", "evidence",
		"submit", NULL
	};
	struct vault_app *app = req->app;
	struct vault_dispute_request dq;
	struct vault_dispute_result res;
	struct vault_psp_creds_held creds;
	const char *keys[EVIDENCE_FIELDS_MAX];
	const char *values[EVIDENCE_FIELDS_MAX];
	const json_t *o = req->json;
	const char *merchant = NULL, *op = NULL, *key = NULL;
	const struct vault_connector *conn = NULL;
	json_t *val = NULL;
	char conn_name[32] = "", currency[4] = "", err[256];
	long long auth_amount = 0;
	PGconn *db = NULL;
	int n, rc;
	size_t i;

	memset(&dq, 0, sizeof dq);
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
		bool ok = false;

		for (i = 0; known[i] != NULL; i++)
			ok = ok || strcmp(key, known[i]) == 0;
		if (!ok) {
			sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
			                    "The request contains an unknown parameter.", NULL);
			return;
		}
	}
	merchant = json_string_value(json_object_get(o, "merchant"));
	op = json_string_value(json_object_get(o, "operation"));
	dq.psp_reference = json_string_value(json_object_get(o, "psp_reference"));
	dq.dispute = json_string_value(json_object_get(o, "dispute"));
	dq.idempotency_key = json_string_value(json_object_get(o, "idempotency_key"));
	dq.submit = json_is_true(json_object_get(o, "submit"));
	dq.op = op != NULL && strcmp(op, "accept") == 0 ? VAULT_DISPUTE_ACCEPT : VAULT_DISPUTE_EVIDENCE;
	n = evidence_of(json_object_get(o, "evidence"), keys, values);
	if (!vault_merchant_id_valid(merchant) || op == NULL ||
	    (strcmp(op, "accept") != 0 && strcmp(op, "evidence") != 0) ||
	    !ident_ok(dq.psp_reference, 120) || !ident_ok(dq.dispute, 127) ||
	    !ident_ok(dq.idempotency_key, 200) || n < 0 ||
	    (json_object_get(o, "submit") != NULL && !json_is_boolean(json_object_get(o, "submit")))) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
		                    "merchant, operation, psp_reference, dispute, idempotency_key, "
		                    "evidence or submit is invalid.", NULL);
		return;
	}
	dq.evidence_keys = keys;
	dq.evidence_values = values;
	dq.n_evidence = (size_t)n;
	dq.request_id = req->request_id;
	sr_http_set_principal(req, merchant, NULL); /* the gateway acts for it */
	db = sr_db_acquire(app->db);
	rc = vault_store_psp_payment_get(db, merchant, dq.psp_reference, conn_name, &auth_amount,
	                                 currency, err, sizeof err);
	sr_db_release(app->db, db);
	if (rc < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s}", "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	if (rc == 0) {
		sr_log(SR_LOG_WARN, req->request_id, "dispute_op.foreign_or_unknown", "{s:s, s:s}",
		       "merchant", merchant, "psp_reference", dq.psp_reference);
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such payment at the processor.", "psp_reference");
		return;
	}
	conn = vault_connector_find(app, conn_name);
	if (conn == NULL || conn->dispute == NULL) {
		sr_log(SR_LOG_ERROR, req->request_id, "dispute_op.unsupported", "{s:s}", "connector",
		       conn_name);
		sr_http_reply_error(req, 502, "api_error", "psp_unavailable",
		                    "The payment processor could not be reached.", NULL);
		return;
	}
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
	dq.creds = rc == 1 ? &creds.creds : NULL;
	rc = conn->dispute(conn, app->egress, &dq, &res, err, sizeof err);
	vault_psp_creds_release(&creds);
	dq.creds = NULL;
	if (rc != 0) {
		sr_log(SR_LOG_WARN, req->request_id, "dispute_op.psp_unavailable", "{s:s, s:s}",
		       "connector", conn->name, "error", err);
		sr_http_reply_error(req, 502, "api_error", "psp_unavailable",
		                    "The payment processor could not be reached.", NULL);
		return;
	}
	sr_log(SR_LOG_INFO, req->request_id, "dispute_op.result", "{s:s, s:s, s:s, s:s, s:i, s:s}",
	       "merchant", merchant, "operation", op, "connector", conn->name, "psp_reference",
	       dq.psp_reference, "evidence_fields", n, "peer", req->peer);
	sr_http_reply_json(req, 200,
	    json_pack("{s:s, s:s?, s:b}", "outcome", res.outcome == VAULT_OP_SUCCEEDED ? "succeeded"
	              : res.outcome == VAULT_OP_REFUSED ? "refused" : "unknown",
	              "failure_code", res.failure_code[0] != '\0' ? res.failure_code : NULL,
	              "sent", res.sent));
}
