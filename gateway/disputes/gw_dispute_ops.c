/*
 * gw_dispute_ops: evidence and acceptance of a dispute, through the vault
 * (gw_dispute.h, gw_dispute_act; ADR 0132).
 */
#include "gateway/disputes/gw_dispute.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/gw_app.h"
#include "gateway/api/gw_request.h"
#include "gateway/store/gw_store_disputes.h"
#include "gateway/vault_client/gw_vault_client.h"
#include "common/sr_db.h"
#include "common/sr_log.h"
#include "common/sr_util.h"

#include <string.h>

static unsigned fail(struct gw_error *err, unsigned status, const char *code, const char *message,
                     const char *param)
{
	memset(err, 0, sizeof *err);
	err->status = status;
	err->type = status >= 500 ? "api_error" : "invalid_request_error";
	err->code = code;
	err->message = message;
	err->param = param;
	return status;
}

/* The state d reaches when the PSP confirmed op (submit: evidence submitted). */
static void next_state(struct gw_dispute *d, enum gw_dispute_op op, bool submit)
{
	bool warning = strncmp(d->status, "warning_", 8) == 0;

	if (op == GW_DISPUTE_CLOSE) {
		gw_strlcpy(d->status, warning ? "warning_closed" : "lost", sizeof d->status);
	} else if (submit) {
		gw_strlcpy(d->status, warning ? "warning_under_review" : "under_review", sizeof d->status);
		d->submission_count++;
	}
}

/* Ask the vault. @return 0 confirmed, or the HTTP status with err filled. */
static unsigned ask_vault(struct gw_app *app, const char *request_id, const struct gw_dispute *d,
                          enum gw_dispute_op op, const json_t *evidence, bool submit,
                          struct gw_error *err)
{
	char key[48];
	json_t *body = NULL;
	json_t *resp = NULL;
	const char *outcome = NULL;
	long status = 0;
	enum gw_vault_rc rc;
	unsigned ret;

	/* A key per attempt: the lease already keeps two calls apart, and a
	 * retry after a lost answer sends the same evidence again (harmless). */
	if (sr_random_id("dispop_", 16, key, sizeof key) != 0)
		return fail(err, 500, "internal_error", "An internal error occurred.", NULL);
	body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:b}", "merchant", d->merchant_id,
	                 "operation", op == GW_DISPUTE_CLOSE ? "accept" : "evidence",
	                 "psp_reference", d->psp_payment, "dispute", d->psp_dispute_id,
	                 "idempotency_key", key, "evidence", evidence, "submit", submit);
	if (body == NULL)
		return fail(err, 500, "internal_error", "An internal error occurred.", NULL);
	rc = gw_vault_request(app->vault, request_id, "POST", "/v1/dispute_operations", NULL, body,
	                      &status, &resp);
	outcome = json_string_value(json_object_get(resp, "outcome"));
	if (rc != GW_VAULT_OK || status != 200 || outcome == NULL) {
		sr_log(SR_LOG_WARN, request_id, "dispute.vault_failed", "{s:s, s:s, s:I}", "dispute",
		       d->id, "outcome", gw_vault_rc_str(rc), "status", (json_int_t)status);
		ret = fail(err, 502, "psp_unavailable",
		           "The payment processor could not be reached; the dispute is unchanged.", NULL);
	} else if (strcmp(outcome, "succeeded") == 0) {
		ret = 0;
	} else if (strcmp(outcome, "refused") == 0) {
		sr_log(SR_LOG_WARN, request_id, "dispute.psp_refused", "{s:s, s:s?}", "dispute", d->id,
		       "failure_code", json_string_value(json_object_get(resp, "failure_code")));
		ret = fail(err, 400, "psp_refused",
		           "The payment processor refused this change; the dispute is unchanged.", NULL);
	} else {
		ret = fail(err, 502, "psp_outcome_unknown",
		           "The payment processor's answer was lost; the dispute is unchanged. Retry.",
		           NULL);
	}
	json_decref(body);
	json_decref(resp);
	return ret;
}

/* The checks before any PSP call. @return 0, or the HTTP status with err filled. */
static unsigned precheck(const struct gw_dispute *d, enum gw_dispute_op op, const json_t *body,
                         json_t *evidence, bool *submit, struct gw_error *err)
{
	if (gw_dispute_closed(d->status))
		return fail(err, 400, "dispute_closed", "This dispute is closed.", NULL);
	if (op == GW_DISPUTE_UPDATE) {
		if (strstr(d->status, "under_review") != NULL)
			return fail(err, 400, "dispute_already_submitted",
			            "Evidence was already submitted for this dispute.", NULL);
		return gw_dispute_update_parse(body, evidence, submit, err) == 0 ? 0 : err->status;
	}
	if (body != NULL && !json_is_object(body))
		return fail(err, 400, "parameter_invalid_type", "The body must be a JSON object.", NULL);
	if (json_is_object(body) && json_object_size(body) > 0) {
		const char *k = json_object_iter_key(json_object_iter((json_t *)body));

		gw_error_unknown_param(err, k);
		err->status = 400;
		err->type = "invalid_request_error";
		return 400;
	}
	if (strstr(d->status, "needs_response") == NULL)
		return fail(err, 400, "dispute_not_closable",
		            "Only a dispute that needs a response can be closed.", NULL);
	return 0;
}

unsigned gw_dispute_act(struct gw_app *app, const char *request_id, const char *merchant,
                        const char *id, enum gw_dispute_op op, const json_t *body, json_t **out,
                        struct gw_error *err)
{
	struct gw_dispute d;
	json_t *evidence = NULL;
	json_t *before = NULL;
	PGconn *conn = NULL;
	bool submit = false;
	bool leased = false;
	unsigned ret = 500;
	int rc = 1;

	memset(&d, 0, sizeof d);
	*out = NULL;
	fail(err, 500, "internal_error", "An internal error occurred.", NULL);
	conn = sr_db_acquire(app->db);
	if (gw_dispute_id_ok(id))
		rc = gw_store_dispute_get(conn, id, merchant, 0, &d);
	if (rc != 0) {
		ret = rc == 1 ? fail(err, 404, "resource_missing", "No such dispute.", "id") : 500;
		goto out;
	}
	evidence = json_deep_copy(d.evidence);
	if (evidence == NULL)
		goto out;
	ret = precheck(&d, op, body, evidence, &submit, err);
	if (ret != 0)
		goto out;
	ret = 500;
	rc = gw_store_dispute_claim(conn, id, merchant);
	if (rc != 0) {
		ret = rc == 2 ? fail(err, 409, "dispute_busy",
		                     "Another request on this dispute is in progress. Retry.", NULL)
		              : rc == 1 ? fail(err, 404, "resource_missing", "No such dispute.", "id") : 500;
		goto out;
	}
	leased = true;
	/* Read again under the lease: a request that finished meanwhile may have closed it. */
	if (gw_store_dispute_get(conn, id, merchant, 0, &d) != 0)
		goto out;
	json_decref(evidence);
	evidence = json_deep_copy(d.evidence);
	if (evidence == NULL)
		goto out;
	ret = precheck(&d, op, body, evidence, &submit, err);
	if (ret != 0)
		goto out;
	sr_db_release(app->db, conn);
	conn = NULL;
	ret = ask_vault(app, request_id, &d, op, evidence, submit, err);
	conn = sr_db_acquire(app->db);
	if (ret != 0)
		goto out;
	ret = 500;
	if (sr_db_exec(conn, "BEGIN") != 0)
		goto out;
	if (gw_store_dispute_get(conn, id, merchant, 1, &d) != 0)
		goto rollback;
	before = gw_dispute_to_json(&d);
	json_decref(d.evidence);
	d.evidence = evidence;
	evidence = NULL;
	next_state(&d, op, submit);
	/* invariant 7: the change and its event in one transaction. */
	if (before == NULL || gw_store_dispute_update(conn, &d) != 0 ||
	    gw_dispute_event_in_tx(conn, &d, op == GW_DISPUTE_CLOSE ? "dispute.closed"
	                                                            : "dispute.updated", before) != 0 ||
	    sr_db_exec(conn, "COMMIT") != 0)
		goto rollback;
	leased = false;
	*out = gw_dispute_to_json(&d);
	ret = *out != NULL ? 200 : 500;
	sr_log(SR_LOG_INFO, request_id, op == GW_DISPUTE_CLOSE ? "dispute.closed" : "dispute.updated",
	       "{s:s, s:s, s:s, s:b}", "dispute", d.id, "payment", d.payment_id, "status", d.status,
	       "submitted", submit);
	goto out;
rollback:
	(void)sr_db_exec(conn, "ROLLBACK");
out:
	if (ret >= 500 && ret != 502)
		fail(err, 500, "internal_error", "An internal error occurred.", NULL);
	if (leased && conn != NULL)
		(void)gw_store_dispute_release(conn, id);
	if (conn != NULL)
		sr_db_release(app->db, conn);
	json_decref(evidence);
	json_decref(before);
	gw_dispute_clear(&d);
	return ret;
}
