/*
 * gw_lifecycle: capture, cancel, refunds, reconciliation (see gw_lifecycle.h).
 */
#include "gateway/payments/gw_lifecycle.h"
#include "gateway/gw_app.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/payments/gw_ledger.h"
#include "gateway/payments/gw_return_url.h"
#include "gateway/store/gw_store.h"
#include "common/sr_db.h"
#include "common/sr_log.h"
#include "common/sr_util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void seterr(struct gw_error *err, unsigned status, const char *type, const char *code,
                   const char *message, const char *param)
{
	if (err == NULL)
		return;
	err->status = status;
	err->type = type;
	err->code = code;
	err->message = message;
	err->param = param;
}

static enum gw_lc_rc internal(struct gw_error *err)
{
	seterr(err, 500, "api_error", "internal_error", "An internal error occurred.", NULL);
	return GW_LC_INTERNAL;
}

/* BEGIN + lock. On anything but GW_LC_OK the transaction is rolled back. */
static enum gw_lc_rc begin_locked(PGconn *conn, const char *merchant, const char *payment_id,
                                  struct gw_payment *p, struct gw_error *err)
{
	int r;

	if (sr_db_exec(conn, "BEGIN") != 0)
		return internal(err);
	r = gw_store_payment_lock(conn, payment_id, merchant, p);
	if (r == 0)
		return GW_LC_OK;
	sr_db_exec(conn, "ROLLBACK");
	if (r == 1) {
		seterr(err, 404, "invalid_request_error", "resource_missing", "No such payment.", "id");
		return GW_LC_REFUSED;
	}
	if (r == 2) {
		seterr(err, 409, "invalid_request_error", "concurrent_update",
		       "Another request is changing this payment right now; retry.", NULL);
		return GW_LC_RETRY;
	}
	return internal(err);
}

/* A refusal by state: 409 with a code naming the state that forbids it. */
static enum gw_lc_rc state_refusal(enum gw_status st, const char *op, struct gw_error *err)
{
	const char *code = "payment_not_authorized";
	const char *msg = "This payment is not authorized, so it cannot be changed this way.";

	switch (st) {
	case GW_ST_CAPTURED:
	case GW_ST_PARTIALLY_REFUNDED:
		code = "payment_already_captured";
		msg = "This payment has already been captured.";
		break;
	case GW_ST_REFUNDED:
		code = strcmp(op, "refund") == 0 ? "payment_already_refunded" : "payment_already_captured";
		msg = strcmp(op, "refund") == 0 ? "This payment has been refunded in full."
		                                : "This payment has already been captured.";
		break;
	case GW_ST_DISPUTED:
		code = "payment_disputed";
		msg = "This payment is disputed.";
		break;
	case GW_ST_VOIDED:
		code = strcmp(op, "cancel") == 0 ? "payment_already_voided" : "payment_voided";
		msg = "This payment has been voided.";
		break;
	case GW_ST_FAILED:
		code = "payment_failed";
		msg = "This payment failed; nothing was authorized.";
		break;
	case GW_ST_CANCELED:
		code = "payment_canceled";
		msg = "This payment was never sent to the processor; nothing was authorized.";
		break;
	case GW_ST_AUTHORIZED:
		code = "payment_not_captured";
		msg = "This payment is authorized but not captured; cancel it instead of refunding.";
		break;
	default:
		if (strcmp(op, "refund") == 0) {
			code = "payment_not_captured";
			msg = "This payment has not been captured.";
		}
		break;
	}
	seterr(err, 409, "invalid_request_error", code, msg, NULL);
	return GW_LC_REFUSED;
}

/* The PSP call did not give a definite answer: nothing saved, retry is safe. */
static enum gw_lc_rc psp_retry(enum gw_vault_rc vrc, struct gw_error *err)
{
	if (vrc == GW_VAULT_NOT_SENT)
		seterr(err, 502, "api_error", "psp_unavailable",
		       "The payment processor could not be reached; nothing was changed. Retry later.",
		       NULL);
	else
		seterr(err, 502, "api_error", "psp_answer_lost",
		       "The payment processor's answer was lost; retry (with the same Idempotency-Key): "
		       "the processor will not act twice.", NULL);
	return GW_LC_RETRY;
}

static enum gw_lc_rc capture_or_cancel(struct gw_app *app, const char *request_id,
                                       const char *merchant, const char *payment_id,
                                       long long amount, const char *reason, int is_capture,
                                       struct gw_payment *out, struct gw_error *err)
{
	struct gw_vault_op_result res;
	struct gw_payment p;
	PGconn *conn = NULL;
	char key[96];
	enum gw_vault_rc vrc;
	enum gw_lc_rc rc;
	int began = 0;

	conn = sr_db_acquire(app->db);
	rc = begin_locked(conn, merchant, payment_id, &p, err);
	if (rc != GW_LC_OK)
		goto out;
	began = 1;
	if (p.status != GW_ST_AUTHORIZED) {
		rc = state_refusal(p.status, is_capture ? "capture" : "cancel", err);
		goto out;
	}
	if (is_capture && amount > p.amount) {
		seterr(err, 400, "invalid_request_error", "amount_too_large",
		       "amount must not exceed the authorized amount.", "amount");
		rc = GW_LC_REFUSED;
		goto out;
	}
	if (p.psp_reference[0] == '\0') {
		rc = internal(err);
		goto out;
	}
	gw_strlcpy(gw_req_ctx()->provider, p.connector, sizeof gw_req_ctx()->provider);
	snprintf(key, sizeof key, "%s-%s", p.id, is_capture ? "capture" : "cancel");
	vrc = gw_vault_operate(app->vault, request_id, merchant, is_capture ? "capture" : "cancel",
	                       p.psp_reference, is_capture && amount > 0 ? amount : 0, key,
	                       is_capture ? NULL : reason, &res);
	if (vrc == GW_VAULT_OK && strcmp(res.outcome, "refused") == 0) {
		sr_log(SR_LOG_WARN, request_id, "payment.psp_refused", "{s:s, s:s, s:s}", "payment", p.id,
		       "operation", is_capture ? "capture" : "cancel", "code", res.failure_code);
		seterr(err, 409, "invalid_request_error", "psp_refused",
		       "The payment processor refused this operation for this payment.", NULL);
		rc = GW_LC_REFUSED;
		goto out;
	}
	if (vrc == GW_VAULT_OK && strcmp(res.outcome, "unknown") == 0 && res.mismatch[0] != '\0') {
		/* Issue 15: the PSP answered without confirming (another status,
		 * amount, currency or object): neither done nor refused. The
		 * payment is unknown until reconciliation reads the PSP's state. */
		sr_log(SR_LOG_WARN, request_id, "payment.psp_answer_mismatch", "{s:s, s:s, s:s}",
		       "payment", p.id, "operation", is_capture ? "capture" : "cancel",
		       "field", res.mismatch);
		p.status = GW_ST_UNKNOWN;
		if (gw_ledger_apply_in_tx(conn, &p, GW_ST_AUTHORIZED, NULL) != 0 ||
		    sr_db_exec(conn, "COMMIT") != 0) {
			rc = internal(err);
			goto out;
		}
		began = 0;
		if (out != NULL)
			*out = p;
		rc = GW_LC_OK;
		goto out;
	}
	if (vrc != GW_VAULT_OK || strcmp(res.outcome, "succeeded") != 0) {
		sr_log(SR_LOG_WARN, request_id, "payment.psp_no_answer", "{s:s, s:s, s:s}", "payment", p.id,
		       "operation", is_capture ? "capture" : "cancel", "vault_outcome", gw_vault_rc_str(vrc));
		rc = psp_retry(vrc == GW_VAULT_OK ? GW_VAULT_LOST : vrc, err);
		goto out;
	}
	if (is_capture) {
		p.status = GW_ST_CAPTURED;
		p.amount_captured = res.amount > 0 && res.amount <= p.amount ? res.amount
		                    : amount > 0 ? amount : p.amount;
	} else {
		p.status = GW_ST_VOIDED;
	}
	if (gw_ledger_apply_in_tx(conn, &p, GW_ST_AUTHORIZED, NULL) != 0 ||
	    sr_db_exec(conn, "COMMIT") != 0) {
		/* The PSP acted but we could not record it: the retry replays the
		 * PSP's answer under the same key and records it then. */
		rc = psp_retry(GW_VAULT_LOST, err);
		goto out;
	}
	began = 0;
	sr_log(SR_LOG_INFO, request_id, is_capture ? "payment.captured" : "payment.voided",
	       "{s:s, s:s, s:I, s:s?}", "payment", p.id, "merchant", merchant,
	       "amount_captured", (json_int_t)p.amount_captured, "reason", reason);
	if (out != NULL)
		*out = p;
	rc = GW_LC_OK;
out:
	if (began && rc != GW_LC_OK)
		sr_db_exec(conn, "ROLLBACK");
	sr_db_release(app->db, conn);
	return rc;
}

enum gw_lc_rc gw_lifecycle_capture(struct gw_app *app, const char *request_id,
                                   const char *merchant, const char *payment_id, long long amount,
                                   struct gw_payment *out, struct gw_error *err)
{
	return capture_or_cancel(app, request_id, merchant, payment_id, amount, NULL, 1, out, err);
}

enum gw_lc_rc gw_lifecycle_cancel(struct gw_app *app, const char *request_id,
                                  const char *merchant, const char *payment_id, const char *reason,
                                  struct gw_payment *out, struct gw_error *err)
{
	return capture_or_cancel(app, request_id, merchant, payment_id, 0, reason, 0, out, err);
}

/* Apply a refund's definite PSP answer inside the open transaction. */
static int refund_settle(PGconn *conn, struct gw_payment *p, struct gw_refund *r,
                         const struct gw_vault_op_result *res)
{
	enum gw_status from = p->status;
	json_t *before = gw_refund_to_json(r);
	json_t *extra = NULL;
	int rc = -1;

	if (strcmp(res->outcome, "refused") == 0) {
		gw_strlcpy(r->status, "failed", sizeof r->status);
		gw_strlcpy(r->failure_code, res->failure_code[0] != '\0' ? res->failure_code : "psp_refused",
		           sizeof r->failure_code);
		if (gw_store_refund_update(conn, r) != 0)
			goto out;
		/* Issue 5: the failure is an event too (webhook refund.failed),
		 * written with the refund in the same transaction (invariant 7). */
		extra = gw_refund_event_about(before, r);
		rc = extra != NULL ? gw_ledger_apply_in_tx_with(conn, p, from, "payment.refund_failed", extra)
		                   : -1;
		goto out;
	}
	gw_strlcpy(r->status, "succeeded", sizeof r->status);
	gw_strlcpy(r->psp_reference, res->reference, sizeof r->psp_reference);
	if (gw_store_refund_update(conn, r) != 0)
		goto out;
	p->amount_refunded += r->amount;
	p->status = p->amount_refunded >= p->amount_captured ? GW_ST_REFUNDED
	                                                     : GW_ST_PARTIALLY_REFUNDED;
	/* The event carries the refund (webhook refund.succeeded, issue 5). */
	extra = gw_refund_event_about(before, r);
	if (extra == NULL)
		goto out;
	rc = gw_ledger_apply_in_tx_with(conn, p, from,
	                                p->status == GW_ST_REFUNDED ? "payment.refunded"
	                                                            : "payment.partially_refunded",
	                                extra);
out:
	json_decref(before);
	json_decref(extra);
	return rc;
}

enum gw_lc_rc gw_lifecycle_refund(struct gw_app *app, const char *request_id,
                                  const char *merchant, const char *payment_id, long long amount,
                                  const char *reason, const char *metadata, struct gw_refund *out,
                                  struct gw_error *err)
{
	struct gw_vault_op_result res;
	struct gw_payment p;
	struct gw_refund r;
	PGconn *conn = NULL;
	long long pending = 0;
	long long left = 0;
	enum gw_vault_rc vrc;
	enum gw_lc_rc rc;
	int began = 0;

	memset(&r, 0, sizeof r);
	conn = sr_db_acquire(app->db);
	rc = begin_locked(conn, merchant, payment_id, &p, err);
	if (rc != GW_LC_OK)
		goto out;
	began = 1;
	if (p.status != GW_ST_CAPTURED && p.status != GW_ST_PARTIALLY_REFUNDED) {
		rc = state_refusal(p.status, "refund", err);
		goto out;
	}
	if (gw_store_refund_pending_sum(conn, p.id, &pending) != 0) {
		rc = internal(err);
		goto out;
	}
	/* Never more than captured: succeeded and pending refunds both count. */
	left = p.amount_captured - p.amount_refunded - pending;
	if (amount < 0)
		amount = left;
	if (left <= 0 || amount > left) {
		seterr(err, 400, "invalid_request_error", "refund_amount_too_large",
		       left <= 0 ? "Nothing is left to refund on this payment (refunds may be pending)."
		                 : "amount exceeds what is left to refund on this payment.",
		       "amount");
		rc = GW_LC_REFUSED;
		goto out;
	}
	if (sr_random_id("re_", 16, r.id, sizeof r.id) != 0) {
		rc = internal(err);
		goto out;
	}
	gw_strlcpy(r.payment_id, p.id, sizeof r.payment_id);
	gw_strlcpy(r.merchant_id, merchant, sizeof r.merchant_id);
	gw_strlcpy(r.currency, p.currency, sizeof r.currency);
	gw_strlcpy(r.status, "pending", sizeof r.status);
	gw_strlcpy(r.reason, reason, sizeof r.reason);
	gw_strlcpy(r.metadata, metadata, sizeof r.metadata);
	r.amount = amount;
	if (gw_store_refund_insert(conn, &r) != 0) {
		rc = internal(err);
		goto out;
	}
	gw_strlcpy(gw_req_ctx()->provider, p.connector, sizeof gw_req_ctx()->provider);
	vrc = gw_vault_operate(app->vault, request_id, merchant, "refund", p.psp_reference, amount,
	                       r.id, r.reason, &res);
	if (vrc == GW_VAULT_NOT_SENT) {
		rc = psp_retry(vrc, err); /* rolled back: no refund exists */
		goto out;
	}
	if (vrc == GW_VAULT_OK && strcmp(res.outcome, "unknown") != 0) {
		if (refund_settle(conn, &p, &r, &res) != 0) {
			rc = internal(err);
			goto out;
		}
	} else {
		/* Sent, answer lost or not confirming the refund (issue 15: the
		 * mismatched field is logged): the refund stays pending (it counts
		 * against the limit) until the worker's retry with the same key or
		 * the PSP's refund notification settles it. */
		sr_log(SR_LOG_WARN, request_id, "refund.pending", "{s:s, s:s, s:s, s:s?}", "refund", r.id,
		       "payment", p.id, "vault_outcome", gw_vault_rc_str(vrc),
		       "mismatch", vrc == GW_VAULT_OK && res.mismatch[0] != '\0' ? res.mismatch : NULL);
	}
	if (sr_db_exec(conn, "COMMIT") != 0) {
		rc = internal(err);
		goto out;
	}
	began = 0;
	sr_log(SR_LOG_INFO, request_id, "refund.created", "{s:s, s:s, s:s, s:I, s:s}", "refund", r.id,
	       "payment", p.id, "merchant", merchant, "amount", (json_int_t)r.amount, "status", r.status);
	if (out != NULL)
		*out = r;
	rc = GW_LC_OK;
out:
	if (began && rc != GW_LC_OK)
		sr_db_exec(conn, "ROLLBACK");
	sr_db_release(app->db, conn);
	return rc;
}

enum gw_lc_rc gw_lifecycle_refund_resolve(struct gw_app *app, const char *request_id,
                                          const char *merchant, const char *refund_id)
{
	struct gw_vault_op_result res;
	struct gw_payment p;
	struct gw_refund r;
	struct gw_error err;
	PGconn *conn = NULL;
	enum gw_vault_rc vrc;
	enum gw_lc_rc rc = GW_LC_INTERNAL;
	int began = 0;

	conn = sr_db_acquire(app->db);
	if (gw_store_refund_get(conn, refund_id, merchant, &r) != 0)
		goto out;
	rc = begin_locked(conn, merchant, r.payment_id, &p, &err);
	if (rc != GW_LC_OK)
		goto out;
	began = 1;
	rc = GW_LC_INTERNAL;
	/* Re-read under the payment's lock: someone may have settled it. */
	if (gw_store_refund_get(conn, refund_id, merchant, &r) != 0)
		goto out;
	if (strcmp(r.status, "pending") != 0) {
		rc = GW_LC_OK;
		goto out;
	}
	vrc = gw_vault_operate(app->vault, request_id, merchant, "refund", p.psp_reference, r.amount,
	                       r.id, r.reason, &res);
	if (vrc != GW_VAULT_OK || strcmp(res.outcome, "unknown") == 0) {
		rc = GW_LC_RETRY;
		goto out;
	}
	if (refund_settle(conn, &p, &r, &res) != 0 || sr_db_exec(conn, "COMMIT") != 0)
		goto out;
	began = 0;
	sr_log(SR_LOG_INFO, request_id, "refund.resolved", "{s:s, s:s, s:s}", "refund", r.id,
	       "payment", p.id, "status", r.status);
	rc = GW_LC_OK;
out:
	if (began)
		sr_db_exec(conn, "ROLLBACK");
	sr_db_release(app->db, conn);
	return rc;
}

void gw_lifecycle_apply_auth(struct gw_payment *p, enum gw_vault_rc vrc,
                             const struct gw_vault_auth_result *res, int recovering)
{
	enum gw_status st = GW_ST_UNKNOWN;

	switch (vrc) {
	case GW_VAULT_OK:
		if (gw_status_parse(res->status, &st) != 0 ||
		    (st != GW_ST_CAPTURED && st != GW_ST_AUTHORIZED && st != GW_ST_REQUIRES_ACTION &&
		     st != GW_ST_FAILED && st != GW_ST_UNKNOWN))
			st = GW_ST_UNKNOWN; /* never guess an outcome we do not understand */
		p->status = st;
		gw_strlcpy(p->psp_reference, res->psp_reference, sizeof p->psp_reference);
		gw_strlcpy(p->connector, res->connector, sizeof p->connector);
		gw_strlcpy(p->route_reason, res->route_reason, sizeof p->route_reason);
		if (res->card.last4[0] != '\0') {
			gw_strlcpy(p->card_brand, res->card.brand, sizeof p->card_brand);
			gw_strlcpy(p->card_last4, res->card.last4, sizeof p->card_last4);
		}
		if (st == GW_ST_CAPTURED)
			p->amount_captured = p->amount;
		if (st == GW_ST_REQUIRES_ACTION && strncmp(res->redirect_url, "https://", 8) == 0)
			gw_strlcpy(p->redirect_url, res->redirect_url, sizeof p->redirect_url);
		if (st == GW_ST_FAILED) {
			gw_strlcpy(p->failure_code, res->failure_code[0] != '\0' ? res->failure_code
			                                                          : "processing_error",
			           sizeof p->failure_code);
			gw_strlcpy(p->failure_message,
			           res->failure_message[0] != '\0' ? res->failure_message
			                                           : "The payment could not be processed.",
			           sizeof p->failure_message);
		}
		break;
	case GW_VAULT_NOT_SENT:
		if (recovering)
			break; /* an earlier attempt may have reached the PSP: prove nothing */
		/* An outage, not a card failure (issue 16): never attempted. */
		p->status = GW_ST_CANCELED;
		gw_strlcpy(p->failure_code, "not_sent", sizeof p->failure_code);
		gw_strlcpy(p->failure_message,
		           "The payment processor could not be reached; the payment was never sent "
		           "and nothing was charged.", sizeof p->failure_message);
		break;
	case GW_VAULT_NOT_FOUND:
	case GW_VAULT_REJECTED:
		if (recovering)
			break; /* an earlier attempt may have reached the PSP: prove nothing */
		/* The vault refused the authorization: definite, nothing sent. */
		p->status = GW_ST_FAILED;
		gw_strlcpy(p->failure_code, "processing_error", sizeof p->failure_code);
		gw_strlcpy(p->failure_message, "The payment could not be processed; no charge was made.",
		           sizeof p->failure_message);
		break;
	case GW_VAULT_LOST:
	case GW_VAULT_ERROR:
		/* The PSP may have acted: 'unknown', resolved later by asking it. */
		if (!recovering || p->status == GW_ST_PROCESSING)
			p->status = GW_ST_UNKNOWN;
		break;
	}
}

/*
 * An unknown payment p (locked, inside the open transaction) takes the status
 * the PSP reports for it (res from a retrieve): captured (amount_captured the
 * PSP's amount received when it is within the authorization), authorized,
 * voided or failed. Any other status leaves p unknown. @return as
 * gw_ledger_apply_in_tx (0 also when nothing changed).
 */
static int settle_from_psp(PGconn *conn, struct gw_payment *p, const struct gw_vault_op_result *res)
{
	enum gw_status st = GW_ST_UNKNOWN;

	if (gw_status_parse(res->status, &st) != 0 ||
	    (st != GW_ST_CAPTURED && st != GW_ST_AUTHORIZED && st != GW_ST_VOIDED && st != GW_ST_FAILED))
		return 0;
	p->status = st;
	if (st == GW_ST_CAPTURED)
		p->amount_captured = res->amount > 0 && res->amount <= p->amount ? res->amount : p->amount;
	if (st == GW_ST_FAILED) {
		gw_strlcpy(p->failure_code, res->psp_failure_code[0] != '\0' ? res->psp_failure_code
		                                                             : "card_declined",
		           sizeof p->failure_code);
		gw_strlcpy(p->failure_message, "The card was declined.", sizeof p->failure_message);
	}
	return gw_ledger_apply_in_tx(conn, p, GW_ST_UNKNOWN, NULL);
}

enum gw_lc_rc gw_lifecycle_reconcile(struct gw_app *app, const char *request_id,
                                     const char *merchant, const char *payment_id,
                                     long long three_ds_expiry_s, struct gw_payment *out)
{
	struct gw_vault_auth_request arq;
	struct gw_vault_auth_result ares;
	struct gw_vault_op_result res;
	struct gw_payment p;
	struct gw_error err;
	char psp_return_url[GW_RETURN_URL_PSP_MAX + 1];
	PGconn *conn = NULL;
	enum gw_status from;
	enum gw_vault_rc vrc;
	enum gw_lc_rc rc;
	int began = 0;
	int r = 0;

	conn = sr_db_acquire(app->db);
	rc = begin_locked(conn, merchant, payment_id, &p, &err);
	if (rc != GW_LC_OK)
		goto out;
	began = 1;
	from = p.status;
	if (p.status == GW_ST_UNKNOWN && p.psp_reference[0] != '\0') {
		/* The PSP named its payment (a capture or cancel it answered
		 * without confirming, issue 15; or an authorization still
		 * processing): read its state there and settle from that alone. */
		vrc = gw_vault_operate(app->vault, request_id, merchant, "retrieve", p.psp_reference, 0,
		                       NULL, NULL, &res);
		if (vrc == GW_VAULT_OK && strcmp(res.outcome, "succeeded") == 0)
			r = settle_from_psp(conn, &p, &res);
	} else if (p.status == GW_ST_PROCESSING || p.status == GW_ST_UNKNOWN) {
		memset(&arq, 0, sizeof arq);
		arq.merchant = merchant;
		arq.token = p.payment_method;
		arq.payment_id = p.id;
		arq.amount = p.amount;
		arq.currency = p.currency;
		arq.capture = strcmp(p.capture_method, "automatic") == 0;
		arq.idempotency_key = p.id; /* the same PSP key as the first attempt */
		/* and the same parameters: a PSP refuses a key reused with others */
		arq.statement_descriptor = p.statement_descriptor;
		arq.statement_descriptor_suffix = p.statement_descriptor_suffix;
		if (p.return_url[0] != '\0' &&
		    gw_return_url_for_psp(p.return_url, p.id, psp_return_url, sizeof psp_return_url) == 0)
			arq.return_url = psp_return_url;
		vrc = gw_vault_authorize(app->vault, request_id, &arq, &ares);
		gw_lifecycle_apply_auth(&p, vrc, &ares, 1);
		if (p.status != from)
			r = gw_ledger_apply_in_tx(conn, &p, from, NULL);
	} else if (p.status == GW_ST_REQUIRES_ACTION && p.psp_reference[0] != '\0') {
		vrc = gw_vault_operate(app->vault, request_id, merchant, "retrieve", p.psp_reference, 0,
		                       NULL, NULL, &res);
		if (vrc == GW_VAULT_OK && strcmp(res.outcome, "succeeded") == 0 &&
		    (strcmp(res.status, "captured") == 0 || strcmp(res.status, "authorized") == 0 ||
		     strcmp(res.status, "failed") == 0)) {
			/* The customer completed the challenge: requires_action ->
			 * processing -> the PSP's outcome (two events). */
			p.status = GW_ST_PROCESSING;
			p.redirect_url[0] = '\0';
			r = gw_ledger_apply_in_tx(conn, &p, GW_ST_REQUIRES_ACTION, NULL);
			if (r == 0) {
				gw_status_parse(res.status, &p.status);
				if (p.status == GW_ST_CAPTURED)
					p.amount_captured = p.amount;
				if (p.status == GW_ST_FAILED) {
					gw_strlcpy(p.failure_code, res.psp_failure_code[0] != '\0'
					           ? res.psp_failure_code : "card_declined", sizeof p.failure_code);
					gw_strlcpy(p.failure_message, "The card was declined after authentication.",
					           sizeof p.failure_message);
				}
				r = gw_ledger_apply_in_tx(conn, &p, GW_ST_PROCESSING, NULL);
			}
		} else if (three_ds_expiry_s > 0 && (long long)time(NULL) - p.updated >= three_ds_expiry_s) {
			/* Abandoned challenge: cancel at the PSP (best effort; the
			 * intent then cannot succeed later) and fail the payment. */
			char key[96];

			snprintf(key, sizeof key, "%s-cancel", p.id);
			(void)gw_vault_operate(app->vault, request_id, merchant, "cancel", p.psp_reference, 0,
			                       key, "abandoned", &res);
			p.status = GW_ST_FAILED;
			p.redirect_url[0] = '\0';
			gw_strlcpy(p.failure_code, "authentication_expired", sizeof p.failure_code);
			gw_strlcpy(p.failure_message, "3-D Secure authentication was not completed in time.",
			           sizeof p.failure_message);
			r = gw_ledger_apply_in_tx(conn, &p, GW_ST_REQUIRES_ACTION, NULL);
		}
	}
	if (r != 0 || sr_db_exec(conn, "COMMIT") != 0) {
		rc = GW_LC_INTERNAL;
		goto out;
	}
	began = 0;
	if (p.status != from)
		sr_log(SR_LOG_INFO, request_id, "payment.reconciled", "{s:s, s:s, s:s}", "payment", p.id,
		       "from", gw_status_str(from), "to", gw_status_str(p.status));
	if (out != NULL)
		*out = p;
	rc = GW_LC_OK;
out:
	if (began)
		sr_db_exec(conn, "ROLLBACK");
	sr_db_release(app->db, conn);
	return rc;
}
