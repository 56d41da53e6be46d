/*
 * gw_store_psp_webhooks: dedup records and lookups for PSP webhooks (issue 5).
 */
#include "gateway/store/gw_store_psp_webhooks.h"
#include "gateway/store/gw_store.h"

#include <stdio.h>
#include <string.h>

int gw_store_psp_event_claim(PGconn *conn, const char *provider, const char *event_id,
                             const char *type, const char *merchant_id, const char *psp_reference)
{
	const char *params[5] = { provider, event_id, type, merchant_id, psp_reference };

	/* invariant 9, docs/invariants.md: unique (provider, event id); a replay inserts nothing. */
	return gw_store_exec_one(conn,
	                         "INSERT INTO psp_webhook_events (provider, event_id, type, merchant_id, "
	                         "psp_reference) VALUES ($1, $2, $3, $4, $5) "
	                         "ON CONFLICT (provider, event_id) DO NOTHING",
	                         5, params, "db.psp_event_claim_failed");
}

int gw_store_psp_event_finish(PGconn *conn, const char *provider, const char *event_id,
                              const char *payment_id, const char *outcome)
{
	const char *params[4] = { provider, event_id, payment_id, outcome };
	int rc;

	rc = gw_store_exec_one(conn,
	                       "UPDATE psp_webhook_events SET payment_id = $3, outcome = $4 "
	                       "WHERE provider = $1 AND event_id = $2",
	                       4, params, "db.psp_event_finish_failed");
	return rc == 0 ? 0 : -1;
}

int gw_store_payment_lock_by_psp(PGconn *conn, const char *connector, const char *psp_reference,
                                 const char *merchant_id, struct gw_payment *out)
{
	const char *params[3] = { connector, psp_reference, merchant_id };
	PGresult *res = NULL;
	int rc = -1;

	res = PQexecParams(conn,
	                   "SELECT " GW_STORE_PAYMENT_COLS " FROM payments "
	                   "WHERE psp_reference = $2 AND (connector = $1 OR connector IS NULL) "
	                   "AND ($3::text IS NULL OR merchant_id = $3) "
	                   "ORDER BY created_at LIMIT 1 FOR UPDATE",
	                   3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.payment_lock_by_psp_failed", res);
		goto out;
	}
	if (PQntuples(res) != 1) {
		rc = 1;
		goto out;
	}
	rc = gw_store_row_to_payment(res, 0, out) == 0 ? 0 : -1;
out:
	PQclear(res);
	return rc;
}

int gw_store_refund_for_psp(PGconn *conn, const char *payment_id, const char *psp_refund,
                            long long amount, char id_out[72])
{
	const char *params[3];
	char amt[32];
	PGresult *res = NULL;
	int rc = -1;

	snprintf(amt, sizeof amt, "%lld", amount);
	params[0] = payment_id;
	params[1] = psp_refund != NULL && psp_refund[0] != '\0' ? psp_refund : NULL;
	params[2] = amt;
	res = PQexecParams(conn,
	                   "SELECT id FROM refunds WHERE payment_id = $1 AND "
	                   "(($2::text IS NOT NULL AND psp_reference = $2) OR "
	                   " (status = 'pending' AND amount = $3::bigint)) "
	                   "ORDER BY COALESCE(psp_reference = $2, false) DESC, created_at "
	                   "LIMIT 1 FOR UPDATE",
	                   3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.refund_for_psp_failed", res);
		goto out;
	}
	if (PQntuples(res) != 1) {
		rc = 1;
		goto out;
	}
	snprintf(id_out, 72, "%s", PQgetvalue(res, 0, 0));
	rc = 0;
out:
	PQclear(res);
	return rc;
}
