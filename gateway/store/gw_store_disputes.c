/*
 * gw_store_disputes: the disputes table (gw_store_disputes.h).
 */
#include "gateway/store/gw_store_disputes.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/store/gw_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DISPUTE_COLS \
	"d.id, d.merchant_id, d.payment_id, d.psp_dispute_id, d.amount, d.currency, d.reason, " \
	"d.status, d.evidence::text, d.submission_count, " \
	"COALESCE(extract(epoch FROM d.due_by)::bigint, 0), extract(epoch FROM d.created_at)::bigint, " \
	"COALESCE(p.connector, ''), p.status, COALESCE(p.psp_reference, '') "

static void row(PGresult *res, int i, struct gw_dispute *d)
{
	json_decref(d->evidence);
	memset(d, 0, sizeof *d);
	gw_strlcpy(d->id, PQgetvalue(res, i, 0), sizeof d->id);
	gw_strlcpy(d->merchant_id, PQgetvalue(res, i, 1), sizeof d->merchant_id);
	gw_strlcpy(d->payment_id, PQgetvalue(res, i, 2), sizeof d->payment_id);
	gw_strlcpy(d->psp_dispute_id, PQgetvalue(res, i, 3), sizeof d->psp_dispute_id);
	d->amount = strtoll(PQgetvalue(res, i, 4), NULL, 10);
	gw_strlcpy(d->currency, PQgetvalue(res, i, 5), sizeof d->currency);
	gw_strlcpy(d->reason, PQgetvalue(res, i, 6), sizeof d->reason);
	gw_strlcpy(d->status, PQgetvalue(res, i, 7), sizeof d->status);
	d->evidence = json_loads(PQgetvalue(res, i, 8), 0, NULL);
	if (!json_is_object(d->evidence)) {
		json_decref(d->evidence);
		d->evidence = json_object();
	}
	d->submission_count = atoi(PQgetvalue(res, i, 9));
	d->due_by = strtoll(PQgetvalue(res, i, 10), NULL, 10);
	d->created = strtoll(PQgetvalue(res, i, 11), NULL, 10);
	gw_strlcpy(d->connector, PQgetvalue(res, i, 12), sizeof d->connector);
	gw_strlcpy(d->payment_status, PQgetvalue(res, i, 13), sizeof d->payment_status);
	gw_strlcpy(d->psp_payment, PQgetvalue(res, i, 14), sizeof d->psp_payment);
}

int gw_store_dispute_insert(PGconn *conn, struct gw_dispute *d)
{
	const char *params[9];
	char amount[32], due[32];
	PGresult *res = NULL;
	int rc = -1;

	snprintf(amount, sizeof amount, "%lld", d->amount);
	snprintf(due, sizeof due, "%lld", d->due_by);
	params[0] = d->id;
	params[1] = d->merchant_id;
	params[2] = d->payment_id;
	params[3] = d->psp_dispute_id;
	params[4] = amount;
	params[5] = d->currency;
	params[6] = d->reason;
	params[7] = d->status;
	params[8] = d->due_by > 0 ? due : NULL;
	res = PQexecParams(conn,
	                   "INSERT INTO disputes (id, merchant_id, payment_id, psp_dispute_id, amount, "
	                   "currency, reason, status, due_by) VALUES ($1, $2, $3, $4, $5::bigint, $6, "
	                   "$7, $8, to_timestamp($9::bigint)) ON CONFLICT (payment_id, psp_dispute_id) "
	                   "DO NOTHING RETURNING extract(epoch FROM created_at)::bigint",
	                   9, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.dispute_insert_failed", res);
		goto out;
	}
	if (PQntuples(res) != 1) {
		rc = 1;
		goto out;
	}
	d->created = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int gw_store_dispute_get(PGconn *conn, const char *id, const char *merchant_id, int lock,
                         struct gw_dispute *d)
{
	const char *params[2] = { id, merchant_id };
	PGresult *res = NULL;
	int rc = -1;

	res = PQexecParams(conn, lock
	                   ? "SELECT " DISPUTE_COLS "FROM disputes d JOIN payments p ON p.id = d.payment_id "
	                     "WHERE d.id = $1 AND d.merchant_id = $2 FOR UPDATE OF d"
	                   : "SELECT " DISPUTE_COLS "FROM disputes d JOIN payments p ON p.id = d.payment_id "
	                     "WHERE d.id = $1 AND d.merchant_id = $2",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.dispute_get_failed", res);
		goto out;
	}
	if (PQntuples(res) != 1) {
		rc = 1;
		goto out;
	}
	row(res, 0, d);
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int gw_store_dispute_claim(PGconn *conn, const char *id, const char *merchant_id)
{
	const char *params[2] = { id, merchant_id };
	PGresult *res = NULL;
	int rc = -1;

	res = PQexecParams(conn,
	                   "WITH c AS (UPDATE disputes SET op_until = now() + interval '60 seconds' "
	                   " WHERE id = $1 AND merchant_id = $2 AND (op_until IS NULL OR op_until < now()) "
	                   " RETURNING 1) "
	                   "SELECT (SELECT count(*) FROM disputes WHERE id = $1 AND merchant_id = $2), "
	                   "(SELECT count(*) FROM c)",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		gw_store_log_error("db.dispute_claim_failed", res);
		goto out;
	}
	rc = strcmp(PQgetvalue(res, 0, 0), "1") != 0 ? 1 : strcmp(PQgetvalue(res, 0, 1), "1") != 0 ? 2 : 0;
out:
	PQclear(res);
	return rc;
}

int gw_store_dispute_release(PGconn *conn, const char *id)
{
	const char *params[1] = { id };
	PGresult *res = PQexecParams(conn, "UPDATE disputes SET op_until = NULL WHERE id = $1", 1, NULL,
	                             params, NULL, NULL, 0);
	int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;

	if (rc != 0)
		gw_store_log_error("db.dispute_release_failed", res);
	PQclear(res);
	return rc;
}

int gw_store_dispute_update(PGconn *conn, const struct gw_dispute *d)
{
	const char *params[5];
	char count[16];
	char *ev = d->evidence != NULL ? json_dumps(d->evidence, JSON_COMPACT) : strdup("{}");
	PGresult *res = NULL;
	int rc = -1;

	if (ev == NULL)
		return -1;
	snprintf(count, sizeof count, "%d", d->submission_count);
	params[0] = d->id;
	params[1] = d->merchant_id;
	params[2] = ev;
	params[3] = d->status;
	params[4] = count;
	res = PQexecParams(conn,
	                   "UPDATE disputes SET evidence = $3::jsonb, status = $4, "
	                   "submission_count = $5::integer, op_until = NULL, updated_at = now() "
	                   "WHERE id = $1 AND merchant_id = $2",
	                   5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		gw_store_log_error("db.dispute_update_failed", res);
		goto out;
	}
	rc = strcmp(PQcmdTuples(res), "1") == 0 ? 0 : 1;
out:
	PQclear(res);
	free(ev);
	return rc;
}

/* $1 merchant, $2 payment or NULL, $3/$4 created bounds, $5 starting_after,
 * $6 ending_before, $7 limit; the cursor's row read within the merchant's. */
#define DISPUTE_PAGE_SQL \
	"SELECT " DISPUTE_COLS "FROM disputes d JOIN payments p ON p.id = d.payment_id " \
	"WHERE d.merchant_id = $1 AND ($2::text IS NULL OR d.payment_id = $2) " \
	"AND ($3::bigint IS NULL OR d.created_at >= to_timestamp($3::bigint)) " \
	"AND ($4::bigint IS NULL OR d.created_at < to_timestamp($4::bigint + 1)) " \
	"AND ($5::text IS NULL OR (d.created_at, d.id) < " \
	"     (SELECT c.created_at, c.id FROM disputes c WHERE c.id = $5 AND c.merchant_id = $1)) " \
	"AND ($6::text IS NULL OR (d.created_at, d.id) > " \
	"     (SELECT c.created_at, c.id FROM disputes c WHERE c.id = $6 AND c.merchant_id = $1)) "

json_t *gw_store_dispute_page(PGconn *conn, const char *merchant_id, const char *payment_id,
                              const struct gw_page *p, int *has_more, int *cursor_missing)
{
	const char *params[7];
	const char *cursor = p->starting_after != NULL ? p->starting_after : p->ending_before;
	char gte[32], lte[32];
	struct gw_dispute d;
	PGresult *res = NULL;
	json_t *arr = NULL;
	int n = 0, i, rc;

	memset(&d, 0, sizeof d);
	*has_more = 0;
	*cursor_missing = 0;
	rc = gw_store_cursor_owned(conn, "SELECT 1 FROM disputes WHERE id = $1 AND merchant_id = $2",
	                           cursor, merchant_id);
	if (rc != 0) {
		*cursor_missing = rc == 1;
		return NULL;
	}
	snprintf(gte, sizeof gte, "%lld", p->created_gte);
	snprintf(lte, sizeof lte, "%lld", p->created_lte);
	params[0] = merchant_id;
	params[1] = payment_id;
	params[2] = p->created_gte >= 0 ? gte : NULL;
	params[3] = p->created_lte >= 0 ? lte : NULL;
	params[4] = p->starting_after;
	params[5] = p->ending_before;
	res = gw_store_page_exec(conn, p,
	                         DISPUTE_PAGE_SQL "ORDER BY d.created_at DESC, d.id DESC LIMIT $7::integer",
	                         DISPUTE_PAGE_SQL "ORDER BY d.created_at, d.id LIMIT $7::integer",
	                         7, params, &n, has_more, "db.dispute_list_failed");
	if (res == NULL)
		return NULL;
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++) {
		row(res, gw_store_page_row(p, n, i), &d);
		if (json_array_append_new(arr, gw_dispute_to_json(&d)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	gw_dispute_clear(&d);
	PQclear(res);
	return arr;
}
