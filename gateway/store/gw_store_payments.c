/*
 * gw_store_payments: payments insert / get / versioned update.
 */
#include "gateway/store/gw_store.h"
#include "common/sr_dbprep.h"
#include "common/sr_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw_store_log_error(const char *event, PGresult *res)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	/* SQLSTATE only: messages can quote parameter values. */
	sr_log(SR_LOG_ERROR, NULL, event, "{s:s}", "sqlstate", state != NULL ? state : "none");
}

int gw_store_exec_one(PGconn *conn, const char *sql, int nparams, const char *const *params,
                      const char *event)
{
	PGresult *res = sr_db_params(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	int rc = -1;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		gw_store_log_error(event, res);
	else
		rc = strcmp(PQcmdTuples(res), "1") == 0 ? 0 : 1;
	PQclear(res);
	return rc;
}

static const char *nullable(const char *s)
{
	return (s != NULL && s[0] != '\0') ? s : NULL;
}

#define PAYMENT_COLS GW_STORE_PAYMENT_COLS

int gw_store_row_to_payment(PGresult *res, int row, struct gw_payment *p)
{
	memset(p, 0, sizeof *p);
	gw_strlcpy(p->id, PQgetvalue(res, row, 0), sizeof p->id);
	gw_strlcpy(p->merchant_id, PQgetvalue(res, row, 1), sizeof p->merchant_id);
	p->amount = strtoll(PQgetvalue(res, row, 2), NULL, 10);
	gw_strlcpy(p->currency, PQgetvalue(res, row, 3), sizeof p->currency);
	if (gw_status_parse(PQgetvalue(res, row, 4), &p->status) != 0)
		return -1;
	gw_strlcpy(p->capture_method, PQgetvalue(res, row, 5), sizeof p->capture_method);
	gw_strlcpy(p->payment_method, PQgetvalue(res, row, 6), sizeof p->payment_method);
	gw_strlcpy(p->description, PQgetvalue(res, row, 7), sizeof p->description);
	gw_strlcpy(p->card_brand, PQgetvalue(res, row, 8), sizeof p->card_brand);
	gw_strlcpy(p->card_last4, PQgetvalue(res, row, 9), sizeof p->card_last4);
	p->amount_captured = strtoll(PQgetvalue(res, row, 10), NULL, 10);
	gw_strlcpy(p->failure_code, PQgetvalue(res, row, 11), sizeof p->failure_code);
	gw_strlcpy(p->failure_message, PQgetvalue(res, row, 12), sizeof p->failure_message);
	gw_strlcpy(p->psp_reference, PQgetvalue(res, row, 13), sizeof p->psp_reference);
	gw_strlcpy(p->connector, PQgetvalue(res, row, 14), sizeof p->connector);
	gw_strlcpy(p->redirect_url, PQgetvalue(res, row, 15), sizeof p->redirect_url);
	p->version = atoi(PQgetvalue(res, row, 16));
	p->created = strtoll(PQgetvalue(res, row, 17), NULL, 10);
	p->updated = strtoll(PQgetvalue(res, row, 18), NULL, 10);
	p->amount_refunded = strtoll(PQgetvalue(res, row, 19), NULL, 10);
	gw_strlcpy(p->route_reason, PQgetvalue(res, row, 20), sizeof p->route_reason);
	/* "{}" (the column's default) renders as no metadata. */
	if (strcmp(PQgetvalue(res, row, 21), "{}") != 0)
		gw_strlcpy(p->metadata, PQgetvalue(res, row, 21), sizeof p->metadata);
	gw_strlcpy(p->statement_descriptor, PQgetvalue(res, row, 22), sizeof p->statement_descriptor);
	gw_strlcpy(p->statement_descriptor_suffix, PQgetvalue(res, row, 23),
	           sizeof p->statement_descriptor_suffix);
	gw_strlcpy(p->return_url, PQgetvalue(res, row, 24), sizeof p->return_url);
	return 0;
}

int gw_store_payment_insert(PGconn *conn, struct gw_payment *p)
{
	char amount[32], captured[32];
	const char *params[17];
	PGresult *res = NULL;
	int rc = -1;

	snprintf(amount, sizeof amount, "%lld", p->amount);
	snprintf(captured, sizeof captured, "%lld", p->amount_captured);
	params[0] = p->id;
	params[1] = p->merchant_id;
	params[2] = amount;
	params[3] = p->currency;
	params[4] = gw_status_str(p->status);
	params[5] = p->capture_method;
	params[6] = p->payment_method;
	params[7] = nullable(p->description);
	params[8] = nullable(p->card_brand);
	params[9] = nullable(p->card_last4);
	params[10] = captured;
	params[11] = nullable(p->failure_code);
	params[12] = nullable(p->failure_message);
	params[13] = p->metadata[0] != '\0' ? p->metadata : "{}";
	params[14] = nullable(p->statement_descriptor);
	params[15] = nullable(p->statement_descriptor_suffix);
	params[16] = nullable(p->return_url);
	res = sr_db_params(conn,
	                   "INSERT INTO payments (id, merchant_id, amount, currency, status, "
	                   "capture_method, payment_method, description, card_brand, card_last4, "
	                   "amount_captured, failure_code, failure_message, metadata, "
	                   "statement_descriptor, statement_descriptor_suffix, return_url, version) "
	                   "VALUES ($1, $2, $3::bigint, $4, $5, $6, $7, $8, $9, $10, $11::bigint, $12, $13, "
	                   "$14::jsonb, $15, $16, $17, 1) "
	                   "RETURNING extract(epoch FROM created_at)::bigint",
	                   17, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		gw_store_log_error("db.payment_insert_failed", res);
		goto out;
	}
	p->version = 1;
	p->created = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	p->updated = p->created;
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int gw_store_payment_get(PGconn *conn, const char *id, const char *merchant_id,
                         int for_update, struct gw_payment *out)
{
	const char *params[2] = { id, merchant_id };
	PGresult *res = NULL;
	int rc = -1;

	res = sr_db_params(conn,
	                   for_update
	                   ? "SELECT " PAYMENT_COLS " FROM payments WHERE id = $1 AND merchant_id = $2 FOR UPDATE"
	                   : "SELECT " PAYMENT_COLS " FROM payments WHERE id = $1 AND merchant_id = $2",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.payment_get_failed", res);
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

int gw_store_payment_update(PGconn *conn, struct gw_payment *p, enum gw_status expected_from)
{
	char captured[32], version[16], refunded[32];
	const char *params[15];
	PGresult *res = NULL;
	int rc = -1;

	snprintf(captured, sizeof captured, "%lld", p->amount_captured);
	snprintf(version, sizeof version, "%d", p->version);
	params[0] = p->id;
	params[1] = p->merchant_id;
	params[2] = version;
	params[3] = gw_status_str(expected_from);
	params[4] = gw_status_str(p->status);
	params[5] = nullable(p->card_brand);
	params[6] = nullable(p->card_last4);
	params[7] = captured;
	params[8] = nullable(p->failure_code);
	params[9] = nullable(p->failure_message);
	params[10] = nullable(p->psp_reference);
	params[11] = nullable(p->connector);
	params[12] = nullable(p->redirect_url);
	snprintf(refunded, sizeof refunded, "%lld", p->amount_refunded);
	params[13] = refunded;
	params[14] = nullable(p->route_reason);
	res = sr_db_params(conn,
	                   "UPDATE payments SET amount_refunded = $14::bigint, route_reason = $15, status = $5, card_brand = $6, card_last4 = $7, "
	                   "amount_captured = $8::bigint, failure_code = $9, failure_message = $10, "
	                   "psp_reference = $11, connector = $12, redirect_url = $13, version = version + 1, "
	                   "updated_at = now() "
	                   "WHERE id = $1 AND merchant_id = $2 AND version = $3::integer AND status = $4 "
	                   "RETURNING version, extract(epoch FROM updated_at)::bigint",
	                   15, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.payment_update_failed", res);
		goto out;
	}
	if (PQntuples(res) != 1) {
		rc = 1; /* someone else changed the row first */
		goto out;
	}
	p->version = atoi(PQgetvalue(res, 0, 0));
	p->updated = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	rc = 0;
out:
	PQclear(res);
	return rc;
}
