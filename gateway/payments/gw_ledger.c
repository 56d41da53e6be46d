/*
 * gw_ledger: transactional payment writes (invariant 7, docs/invariants.md).
 */
#include "gateway/payments/gw_ledger.h"
#include "gateway/store/gw_store.h"
#include "common/sr_db.h"
#include "common/sr_log.h"

#include "gateway/store/gw_store_lifecycle.h"
#include "gateway/audit/gw_audit.h"

#include <stdbool.h>

#include <stdio.h>

json_t *gw_ledger_previous(const json_t *before, const json_t *after)
{
	json_t *prev = json_object();
	const char *k;
	json_t *v;

	if (prev == NULL || !json_is_object(before) || !json_is_object(after))
		return prev;
	json_object_foreach((json_t *)before, k, v) {
		if (!json_equal(v, json_object_get(after, k)) &&
		    json_object_set(prev, k, v) != 0) {
			json_decref(prev);
			return NULL;
		}
	}
	return prev;
}

json_t *gw_refund_event_about(const json_t *before, const struct gw_refund *r)
{
	json_t *now = gw_refund_to_json(r);
	json_t *prev = now != NULL ? gw_ledger_previous(before, now) : NULL;

	if (prev == NULL) {
		json_decref(now);
		return NULL;
	}
	return json_pack("{s:o, s:o}", "refund", now, "previous_attributes", prev);
}

/* The Event's data for p's change from before (NULL: p was created):
 * {"object": the refund or dispute of extra, else the payment;
 * "previous_attributes": extra's, or the payment's changed fields}. */
static json_t *event_data(const struct gw_payment *p, const struct gw_payment *before,
                          const json_t *extra)
{
	json_t *about = extra != NULL ? json_object_get(extra, "refund") : NULL;
	json_t *obj = NULL, *old = NULL, *prev = NULL;

	if (about == NULL && extra != NULL)
		about = json_object_get(extra, "dispute");
	if (about != NULL) {
		prev = json_object_get(extra, "previous_attributes");
		return prev != NULL ? json_pack("{s:O, s:O}", "object", about, "previous_attributes", prev)
		                    : json_pack("{s:O}", "object", about);
	}
	obj = gw_payment_to_json(p);
	if (obj == NULL)
		return NULL;
	if (before == NULL)
		return json_pack("{s:o}", "object", obj);
	old = gw_payment_to_json(before);
	prev = gw_ledger_previous(old, obj);
	json_decref(old);
	if (prev == NULL) {
		json_decref(obj);
		return NULL;
	}
	return json_pack("{s:o, s:o}", "object", obj, "previous_attributes", prev);
}

/* Append p's event: the merchant request that caused it (Stripe's
 * Event.request) is this thread's authenticated request, if any (none for
 * PSP webhooks, the worker, reconciliation). */
static int append_event(PGconn *conn, const struct gw_payment *p, const char *type,
                        const char *from, const json_t *data)
{
	const struct gw_req_ctx *ctx = gw_req_ctx();
	bool merchant_request = ctx->merchant[0] != '\0' && ctx->request_id[0] != '\0';

	return gw_store_event_append(conn, p->id, type, from, gw_status_str(p->status), data,
	                             merchant_request ? ctx->request_id : NULL,
	                             merchant_request && ctx->request_idem_key[0] != '\0'
	                             ? ctx->request_idem_key : NULL);
}

/* p as it is in the database (before this change), for previous_attributes. */
static int load_before(PGconn *conn, const struct gw_payment *p, struct gw_payment *before)
{
	return gw_store_payment_get(conn, p->id, p->merchant_id, 0, before);
}

int gw_ledger_transition(PGconn *conn, struct gw_payment *p, enum gw_status from)
{
	struct gw_payment before;
	json_t *data = NULL;
	char type[64];
	int began = 0;
	int rc = -1;
	int r;

	if (conn == NULL || p == NULL)
		goto out;
	if (!gw_payment_transition_allowed(from, p->status)) {
		sr_log(SR_LOG_WARN, NULL, "payment.transition_refused", "{s:s, s:s, s:s}",
		       "payment", p->id, "from", gw_status_str(from), "to", gw_status_str(p->status));
		rc = 1;
		goto out;
	}
	snprintf(type, sizeof type, "payment.%s", gw_status_str(p->status));
	if (sr_db_exec(conn, "BEGIN") != 0)
		goto out;
	began = 1;
	if (load_before(conn, p, &before) != 0)
		goto out;
	r = gw_store_payment_update(conn, p, from);
	if (r != 0) {
		rc = r;
		goto out;
	}
	data = event_data(p, &before, NULL);
	if (data == NULL)
		goto out;
	if (append_event(conn, p, type, gw_status_str(from), data) != 0)
		goto out;
	if (sr_db_exec(conn, "COMMIT") != 0)
		goto out;
	began = 0;
	rc = 0;
out:
	if (began)
		sr_db_exec(conn, "ROLLBACK");
	json_decref(data);
	return rc;
}

int gw_ledger_create_linked(PGconn *conn, struct gw_payment *p, const char *idem_key)
{
	json_t *data = NULL;
	int began = 0;
	int rc = -1;

	if (conn == NULL || p == NULL || p->status != GW_ST_PROCESSING)
		goto out;
	if (sr_db_exec(conn, "BEGIN") != 0)
		goto out;
	began = 1;
	if (gw_store_payment_insert(conn, p) != 0)
		goto out;
	data = event_data(p, NULL, NULL);
	if (data == NULL)
		goto out;
	if (append_event(conn, p, "payment.created", NULL, data) != 0)
		goto out;
	if (idem_key != NULL && gw_store_idem_link(conn, p->merchant_id, idem_key, p->id) != 0)
		goto out; /* the claim is gone (taken over): do not proceed */
	if (sr_db_exec(conn, "COMMIT") != 0)
		goto out;
	began = 0;
	rc = 0;
out:
	if (began)
		sr_db_exec(conn, "ROLLBACK");
	json_decref(data);
	return rc;
}

int gw_ledger_cancel_unsent(PGconn *conn, struct gw_payment *p, const char *idem_key)
{
	int rc = -1;

	if (conn == NULL || p == NULL || p->status != GW_ST_CANCELED ||
	    sr_db_exec(conn, "BEGIN") != 0)
		return -1;
	rc = gw_ledger_apply_in_tx(conn, p, GW_ST_PROCESSING, NULL);
	if (rc == 0 && idem_key != NULL &&
	    gw_store_idem_unlink(conn, p->merchant_id, idem_key, p->id) < 0)
		rc = -1;
	if (rc == 0 && sr_db_exec(conn, "COMMIT") != 0)
		return -1; /* a failed COMMIT ends the transaction */
	if (rc != 0)
		sr_db_exec(conn, "ROLLBACK");
	return rc;
}

int gw_ledger_apply_in_tx(PGconn *conn, struct gw_payment *p, enum gw_status from,
                          const char *type)
{
	return gw_ledger_apply_in_tx_with(conn, p, from, type, NULL);
}

int gw_ledger_apply_in_tx_with(PGconn *conn, struct gw_payment *p, enum gw_status from,
                               const char *type, const json_t *extra)
{
	struct gw_payment before;
	json_t *data = NULL;
	char tbuf[64];
	int rc = -1;
	int r;

	if (conn == NULL || p == NULL)
		goto out;
	if (p->status == from ? type == NULL : !gw_payment_transition_allowed(from, p->status)) {
		sr_log(SR_LOG_WARN, NULL, "payment.transition_refused", "{s:s, s:s, s:s}",
		       "payment", p->id, "from", gw_status_str(from), "to", gw_status_str(p->status));
		rc = 1;
		goto out;
	}
	if (type == NULL) {
		snprintf(tbuf, sizeof tbuf, "payment.%s", gw_status_str(p->status));
		type = tbuf;
	}
	if (load_before(conn, p, &before) != 0)
		goto out;
	r = gw_store_payment_update(conn, p, from);
	if (r != 0) {
		rc = r;
		goto out;
	}
	data = event_data(p, &before, extra);
	if (data == NULL)
		goto out;
	if (append_event(conn, p, type, gw_status_str(from), data) != 0)
		goto out;
	rc = 0;
out:
	json_decref(data);
	return rc;
}
