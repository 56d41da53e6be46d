/*
 * gw_ledger: transactional payment writes (invariant 7, docs/invariants.md).
 */
#include "gateway/payments/gw_ledger.h"
#include "gateway/store/gw_store.h"
#include "common/sr_db.h"
#include "common/sr_log.h"

#include "gateway/store/gw_store_lifecycle.h"

#include <stdio.h>

static json_t *event_data(const struct gw_payment *p)
{
	json_t *obj = gw_payment_to_json(p);

	if (obj == NULL)
		return NULL;
	return json_pack("{s:o}", "object", obj);
}

int gw_ledger_transition(PGconn *conn, struct gw_payment *p, enum gw_status from)
{
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
	r = gw_store_payment_update(conn, p, from);
	if (r != 0) {
		rc = r;
		goto out;
	}
	data = event_data(p);
	if (data == NULL)
		goto out;
	if (gw_store_event_append(conn, p->id, type, gw_status_str(from), gw_status_str(p->status),
	                          data) != 0)
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
	data = event_data(p);
	if (data == NULL)
		goto out;
	if (gw_store_event_append(conn, p->id, "payment.created", NULL, gw_status_str(p->status),
	                          data) != 0)
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
	r = gw_store_payment_update(conn, p, from);
	if (r != 0) {
		rc = r;
		goto out;
	}
	data = event_data(p);
	if (data == NULL || (extra != NULL && json_object_update(data, (json_t *)extra) != 0))
		goto out;
	if (gw_store_event_append(conn, p->id, type, gw_status_str(from), gw_status_str(p->status),
	                          data) != 0)
		goto out;
	rc = 0;
out:
	json_decref(data);
	return rc;
}
