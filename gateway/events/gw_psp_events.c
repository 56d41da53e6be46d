/*
 * gw_psp_events: one verified PSP event's effect, exactly once (gw_psp_events.h).
 */
#include "gateway/events/gw_psp_events.h"
#include "gateway/disputes/gw_dispute.h"
#include "gateway/store/gw_store_disputes.h"
#include "gateway/payments/gw_ledger.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/store/gw_store.h"
#include "gateway/store/gw_store_lifecycle.h"
#include "gateway/store/gw_store_psp_webhooks.h"
#include "common/sr_db.h"
#include "common/sr_log.h"
#include "common/sr_util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *str_of(const json_t *ev, const char *k)
{
	const char *s = json_string_value(json_object_get(ev, k));

	return s != NULL && s[0] != '\0' ? s : NULL;
}

static long long int_of(const json_t *ev, const char *k)
{
	const json_t *v = json_object_get(ev, k);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (long long)json_integer_value(v) : 0;
}

/* The asynchronous authorization result (3-D Secure done, or an outcome that
 * was unknown): status the PSP reached for p. */
static enum gw_status auth_target(const struct gw_payment *p)
{
	return strcmp(p->capture_method, "automatic") == 0 ? GW_ST_CAPTURED : GW_ST_AUTHORIZED;
}

/*
 * dispute.created on the locked payment p (its status set to disputed, was
 * from): the dispute row, the payment's change with event payment.disputed
 * (dispute.created) about the dispute, and dispute.funds_withdrawn, in the
 * caller's transaction. @return 1 applied, 0 no effect (no PSP id, or this
 * dispute exists), -1 error.
 */
static int dispute_create(PGconn *conn, struct gw_payment *p, enum gw_status from,
                          const char *psp_id, long long amount, const char *currency,
                          const char *reason)
{
	struct gw_dispute d;
	json_t *extra = NULL;
	int rc = -1;
	int r;

	memset(&d, 0, sizeof d);
	if (psp_id == NULL || strspn(psp_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                      "0123456789_-") != strlen(psp_id) || strlen(psp_id) > 127)
		return 0;
	if (sr_random_id("du_", 16, d.id, sizeof d.id) != 0)
		return -1;
	gw_strlcpy(d.merchant_id, p->merchant_id, sizeof d.merchant_id);
	gw_strlcpy(d.payment_id, p->id, sizeof d.payment_id);
	gw_strlcpy(d.psp_dispute_id, psp_id, sizeof d.psp_dispute_id);
	d.amount = amount > 0 ? amount : p->amount_captured;
	gw_strlcpy(d.currency, currency != NULL && strlen(currency) == 3 ? currency : p->currency,
	           sizeof d.currency);
	gw_strlcpy(d.reason, gw_dispute_reason(reason), sizeof d.reason);
	gw_strlcpy(d.status, "needs_response", sizeof d.status);
	d.due_by = (long long)time(NULL) + GW_DISPUTE_DUE_DAYS * 86400LL;
	r = gw_store_dispute_insert(conn, &d);
	if (r != 0) {
		rc = r == 1 ? 0 : -1;
		goto out;
	}
	extra = json_pack("{s:o}", "dispute", gw_dispute_to_json(&d));
	if (extra == NULL || gw_ledger_apply_in_tx_with(conn, p, from, "payment.disputed", extra) != 0)
		goto out;
	gw_strlcpy(d.payment_status, gw_status_str(p->status), sizeof d.payment_status);
	rc = gw_dispute_event_in_tx(conn, &d, "dispute.funds_withdrawn", NULL) == 0 ? 1 : -1;
out:
	json_decref(extra);
	gw_dispute_clear(&d);
	return rc;
}

/*
 * Apply ev to the locked payment p inside the open transaction.
 * @return 1 applied, 0 no effect, -1 error.
 */
static int apply(PGconn *conn, struct gw_payment *p, const char *type, const json_t *ev)
{
	enum gw_status from = p->status;
	const char *fc = str_of(ev, "failure_code");
	const char *ref = str_of(ev, "reference");
	long long amount = int_of(ev, "amount");
	struct gw_refund r;
	json_t *before = NULL;
	json_t *extra = NULL;
	char rid[72];
	int r_rc;
	int rc = -1;

	if (strcmp(type, "authorization.succeeded") == 0) {
		if (from == GW_ST_REQUIRES_ACTION) {
			/* As reconciliation does: requires_action -> processing -> outcome. */
			p->status = GW_ST_PROCESSING;
			p->redirect_url[0] = '\0';
			if (gw_ledger_apply_in_tx(conn, p, from, NULL) != 0)
				goto out;
			from = GW_ST_PROCESSING;
		} else if (from != GW_ST_PROCESSING && from != GW_ST_UNKNOWN) {
			rc = 0;
			goto out;
		}
		p->status = auth_target(p);
		if (p->status == GW_ST_CAPTURED)
			p->amount_captured = p->amount;
		rc = gw_ledger_apply_in_tx(conn, p, from, NULL) == 0 ? 1 : -1;
	} else if (strcmp(type, "authorization.failed") == 0) {
		if (from != GW_ST_REQUIRES_ACTION && from != GW_ST_PROCESSING && from != GW_ST_UNKNOWN) {
			rc = 0;
			goto out;
		}
		p->status = GW_ST_FAILED;
		p->redirect_url[0] = '\0';
		gw_strlcpy(p->failure_code, fc != NULL ? fc : "card_declined", sizeof p->failure_code);
		gw_strlcpy(p->failure_message, from == GW_ST_REQUIRES_ACTION
		           ? "The card was declined after authentication." : "The card was declined.",
		           sizeof p->failure_message);
		rc = gw_ledger_apply_in_tx(conn, p, from, NULL) == 0 ? 1 : -1;
	} else if (strcmp(type, "capture.succeeded") == 0) {
		/* unknown too: a capture whose answer did not confirm it (ADR 0108). */
		if (from != GW_ST_AUTHORIZED && from != GW_ST_UNKNOWN) {
			rc = 0;
			goto out;
		}
		p->status = GW_ST_CAPTURED;
		p->amount_captured = amount > 0 && amount < p->amount ? amount : p->amount;
		rc = gw_ledger_apply_in_tx(conn, p, from, NULL) == 0 ? 1 : -1;
	} else if (strcmp(type, "cancel.succeeded") == 0) {
		if (from != GW_ST_AUTHORIZED && from != GW_ST_UNKNOWN) {
			rc = 0;
			goto out;
		}
		p->status = GW_ST_VOIDED;
		rc = gw_ledger_apply_in_tx(conn, p, from, NULL) == 0 ? 1 : -1;
	} else if (strcmp(type, "refund.succeeded") == 0 || strcmp(type, "refund.failed") == 0) {
		r_rc = gw_store_refund_for_psp(conn, p->id, ref, amount, rid);
		if (r_rc != 0) {
			rc = r_rc == 1 ? 0 : -1;
			goto out;
		}
		if (gw_store_refund_get(conn, rid, p->merchant_id, &r) != 0)
			goto out;
		if (strcmp(r.status, "pending") != 0) {
			rc = 0;         /* already settled by the refund call's own answer */
			goto out;
		}
		before = gw_refund_to_json(&r);
		if (ref != NULL)
			gw_strlcpy(r.psp_reference, ref, sizeof r.psp_reference);
		if (strcmp(type, "refund.failed") == 0) {
			gw_strlcpy(r.status, "failed", sizeof r.status);
			gw_strlcpy(r.failure_code, fc != NULL ? fc : "refund_failed", sizeof r.failure_code);
			if (gw_store_refund_update(conn, &r) != 0)
				goto out;
			extra = gw_refund_event_about(before, &r);
			rc = gw_ledger_apply_in_tx_with(conn, p, from, "payment.refund_failed", extra) == 0
			     ? 1 : -1;
			goto out;
		}
		if (from != GW_ST_CAPTURED && from != GW_ST_PARTIALLY_REFUNDED) {
			rc = 0;
			goto out;
		}
		gw_strlcpy(r.status, "succeeded", sizeof r.status);
		if (gw_store_refund_update(conn, &r) != 0)
			goto out;
		p->amount_refunded += r.amount;
		if (p->amount_refunded > p->amount_captured)
			p->amount_refunded = p->amount_captured;
		p->status = p->amount_refunded >= p->amount_captured ? GW_ST_REFUNDED
		                                                     : GW_ST_PARTIALLY_REFUNDED;
		extra = gw_refund_event_about(before, &r);
		rc = gw_ledger_apply_in_tx_with(conn, p, from, p->status == GW_ST_REFUNDED
		                                ? "payment.refunded" : "payment.partially_refunded",
		                                extra) == 0 ? 1 : -1;
	} else if (strcmp(type, "dispute.created") == 0) {
		/* state machine (docs/architecture.md): captured -> disputed; a partially refunded
		 * payment can be disputed too (what is left of it) — ADR 0096. */
		if (from != GW_ST_CAPTURED && from != GW_ST_PARTIALLY_REFUNDED) {
			rc = 0;
			goto out;
		}
		p->status = GW_ST_DISPUTED;
		/* The dispute as an object of its own (ADR 0132) and as the event's
		 * data.object (ADR 0129); its funds withdrawn, as Stripe reports. */
		rc = dispute_create(conn, p, from, ref, amount, str_of(ev, "currency"), fc);
	} else {
		rc = 0;         /* other / capture.failed: acknowledged, no effect */
	}
out:
	json_decref(before);
	json_decref(extra);
	return rc;
}

int gw_psp_event_apply(PGconn *conn, const char *request_id, const char *provider,
                       const char *merchant, const json_t *ev, char outcome[24],
                       char payment_id[72])
{
	struct gw_payment p;
	const char *id = str_of(ev, "id");
	const char *type = str_of(ev, "type");
	const char *psp_ref = str_of(ev, "psp_reference");
	const char *res = "no_effect";
	int began = 0;
	int rc = -1;
	int r;

	snprintf(outcome, 24, "error");
	payment_id[0] = '\0';
	memset(&p, 0, sizeof p);
	if (conn == NULL || provider == NULL || id == NULL || type == NULL || strlen(id) > 127)
		goto out;
	if (sr_db_exec(conn, "BEGIN") != 0)
		goto out;
	began = 1;
	r = gw_store_psp_event_claim(conn, provider, id, type, merchant, psp_ref);
	if (r < 0)
		goto out;
	if (r == 1) {
		/* invariant 9, docs/invariants.md: a replay has no second effect. */
		snprintf(outcome, 24, "duplicate");
		if (sr_db_exec(conn, "COMMIT") != 0)
			goto out;
		began = 0;
		rc = 0;
		goto out;
	}
	if (psp_ref != NULL) {
		r = gw_store_payment_lock_by_psp(conn, provider, psp_ref, merchant, &p);
		if (r < 0)
			goto out;
		if (r == 1) {
			res = strcmp(type, "other") == 0 ? "no_effect" : "payment_unknown";
		} else {
			r = apply(conn, &p, type, ev);
			if (r < 0)
				goto out;
			res = r == 1 ? "applied" : "no_effect";
			gw_strlcpy(payment_id, p.id, 72);
		}
	}
	if (gw_store_psp_event_finish(conn, provider, id, payment_id[0] != '\0' ? payment_id : NULL,
	                              res) != 0)
		goto out;
	if (sr_db_exec(conn, "COMMIT") != 0)
		goto out;
	began = 0;
	snprintf(outcome, 24, "%s", res);
	rc = 0;
out:
	if (began)
		sr_db_exec(conn, "ROLLBACK");
	if (rc != 0)
		sr_log(SR_LOG_ERROR, request_id, "psp_webhook.apply_failed", "{s:s, s:s?}", "provider",
		       provider != NULL ? provider : "", "event", id);
	return rc;
}
