/*
 * gw_store_lifecycle: lifecycle statements (see gw_store_lifecycle.h).
 */
#include "gateway/store/gw_store_lifecycle.h"
#include "gateway/store/gw_store.h"
#include "gateway/store/gw_store_instances.h"
#include "gateway/store/gw_store_lists.h"
#include "common/sr_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *nullable(const char *s)
{
	return (s != NULL && s[0] != '\0') ? s : NULL;
}

static json_t *str_or_null(const char *s)
{
	return (s != NULL && s[0] != '\0') ? json_string(s) : json_null();
}

json_t *gw_refund_to_json(const struct gw_refund *r)
{
	json_t *metadata = NULL;

	if (r == NULL)
		return NULL;
	metadata = r->metadata[0] != '\0' ? json_loads(r->metadata, 0, NULL) : NULL;
	if (!json_is_object(metadata)) {
		json_decref(metadata);
		metadata = json_object();
	}
	if (metadata == NULL)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:I}",
	                 "id", r->id, "object", "refund", "payment", r->payment_id,
	                 "amount", (json_int_t)r->amount, "currency", r->currency,
	                 "status", r->status, "reason", str_or_null(r->reason),
	                 "failure_code", str_or_null(r->failure_code),
	                 "psp_reference", str_or_null(r->psp_reference),
	                 "metadata", metadata,
	                 "created", (json_int_t)r->created);
}

int gw_store_payment_lock(PGconn *conn, const char *id, const char *merchant_id,
                          struct gw_payment *out)
{
	const char *params[2] = { id, merchant_id };
	PGresult *res = NULL;
	const char *state = NULL;
	int rc = -1;

	/* Wait a little for the row: a PSP webhook's update holds it for
	 * milliseconds and must not turn a merchant's refund into a 409. A
	 * capture, cancel or refund holds it across its PSP call (seconds):
	 * after 2 s the caller gets 409 concurrent_update (55P03, as NOWAIT
	 * gave at once). SET LOCAL ends with the caller's transaction. */
	if (sr_db_exec(conn, "SET LOCAL lock_timeout = '2s'") != 0)
		return -1;
	res = PQexecParams(conn,
	                   "SELECT " GW_STORE_PAYMENT_COLS " FROM payments "
	                   "WHERE id = $1 AND merchant_id = $2 FOR UPDATE",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state != NULL && strcmp(state, "55P03") == 0) {
			rc = 2; /* lock_not_available: a concurrent update holds the row */
			goto out;
		}
		gw_store_log_error("db.payment_lock_failed", res);
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

void gw_store_refund_row(PGresult *res, int row, struct gw_refund *r)
{
	memset(r, 0, sizeof *r);
	gw_strlcpy(r->id, PQgetvalue(res, row, 0), sizeof r->id);
	gw_strlcpy(r->payment_id, PQgetvalue(res, row, 1), sizeof r->payment_id);
	gw_strlcpy(r->merchant_id, PQgetvalue(res, row, 2), sizeof r->merchant_id);
	r->amount = strtoll(PQgetvalue(res, row, 3), NULL, 10);
	gw_strlcpy(r->currency, PQgetvalue(res, row, 4), sizeof r->currency);
	gw_strlcpy(r->status, PQgetvalue(res, row, 5), sizeof r->status);
	gw_strlcpy(r->reason, PQgetvalue(res, row, 6), sizeof r->reason);
	gw_strlcpy(r->psp_reference, PQgetvalue(res, row, 7), sizeof r->psp_reference);
	gw_strlcpy(r->failure_code, PQgetvalue(res, row, 8), sizeof r->failure_code);
	r->created = strtoll(PQgetvalue(res, row, 9), NULL, 10);
	if (strcmp(PQgetvalue(res, row, 10), "{}") != 0)
		gw_strlcpy(r->metadata, PQgetvalue(res, row, 10), sizeof r->metadata);
}

int gw_store_refund_insert(PGconn *conn, struct gw_refund *r)
{
	char amount[32];
	const char *params[8];
	PGresult *res = NULL;
	int rc = -1;

	snprintf(amount, sizeof amount, "%lld", r->amount);
	params[0] = r->id;
	params[1] = r->payment_id;
	params[2] = r->merchant_id;
	params[3] = amount;
	params[4] = r->currency;
	params[5] = r->status;
	params[6] = nullable(r->reason);
	params[7] = r->metadata[0] != '\0' ? r->metadata : "{}";
	res = PQexecParams(conn,
	                   "INSERT INTO refunds (id, payment_id, merchant_id, amount, currency, status, "
	                   "reason, metadata) "
	                   "VALUES ($1, $2, $3, $4::bigint, $5, $6, $7, $8::jsonb) "
	                   "RETURNING extract(epoch FROM created_at)::bigint",
	                   8, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		gw_store_log_error("db.refund_insert_failed", res);
		goto out;
	}
	r->created = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int gw_store_refund_update(PGconn *conn, const struct gw_refund *r)
{
	const char *params[4] = { r->id, r->status, nullable(r->psp_reference),
	                          nullable(r->failure_code) };

	return gw_store_exec_one(conn,
	                         "UPDATE refunds SET status = $2, psp_reference = $3, failure_code = $4, "
	                         "updated_at = now() WHERE id = $1",
	                         4, params, "db.refund_update_failed");
}

int gw_store_refund_get(PGconn *conn, const char *id, const char *merchant_id,
                        struct gw_refund *out)
{
	const char *params[2] = { id, merchant_id };
	PGresult *res = NULL;
	int rc = -1;

	res = PQexecParams(conn,
	                   "SELECT " GW_STORE_REFUND_COLS " FROM refunds WHERE id = $1 AND merchant_id = $2",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.refund_get_failed", res);
		goto out;
	}
	if (PQntuples(res) != 1) {
		rc = 1;
		goto out;
	}
	gw_store_refund_row(res, 0, out);
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int gw_store_refund_pending_sum(PGconn *conn, const char *payment_id, long long *sum)
{
	const char *params[1] = { payment_id };
	PGresult *res = NULL;
	int rc = -1;

	*sum = 0;
	res = PQexecParams(conn,
	                   "SELECT coalesce(sum(amount), 0)::bigint FROM refunds "
	                   "WHERE payment_id = $1 AND status = 'pending'",
	                   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		gw_store_log_error("db.refund_sum_failed", res);
		goto out;
	}
	*sum = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	rc = 0;
out:
	PQclear(res);
	return rc;
}

/* Payments: $1 merchant, $2 status or NULL, $3/$4 created bounds, $5
 * starting_after, $6 ending_before, $7 limit. Keyset pagination on
 * (created_at, id): stable under concurrent inserts; the cursor's row is read
 * within the merchant's payments only. */
#define PAYMENT_PAGE_SQL \
	"SELECT " GW_STORE_PAYMENT_COLS " FROM payments p " \
	"WHERE merchant_id = $1 AND ($2::text IS NULL OR status = $2) " \
	"AND ($3::bigint IS NULL OR created_at >= to_timestamp($3::bigint)) " \
	"AND ($4::bigint IS NULL OR created_at < to_timestamp($4::bigint + 1)) " \
	"AND ($5::text IS NULL OR (created_at, id) < " \
	"     (SELECT c.created_at, c.id FROM payments c WHERE c.id = $5 AND c.merchant_id = $1)) " \
	"AND ($6::text IS NULL OR (created_at, id) > " \
	"     (SELECT c.created_at, c.id FROM payments c WHERE c.id = $6 AND c.merchant_id = $1)) "

json_t *gw_store_payment_list(PGconn *conn, const char *merchant_id,
                              const struct gw_payment_filter *f, int *has_more,
                              int *cursor_missing)
{
	const struct gw_page *pg = &f->page;
	const char *params[7];
	char gte[32], lte[32];
	PGresult *res = NULL;
	json_t *arr = NULL;
	struct gw_payment p;
	int n = 0, i, rc;

	*has_more = 0;
	*cursor_missing = 0;
	rc = gw_store_cursor_owned(conn, "SELECT 1 FROM payments WHERE id = $1 AND merchant_id = $2",
	                           pg->starting_after != NULL ? pg->starting_after : pg->ending_before,
	                           merchant_id);
	if (rc != 0) {
		*cursor_missing = rc == 1;
		return NULL;
	}
	snprintf(gte, sizeof gte, "%lld", pg->created_gte);
	snprintf(lte, sizeof lte, "%lld", pg->created_lte);
	params[0] = merchant_id;
	params[1] = f->status;
	params[2] = pg->created_gte >= 0 ? gte : NULL;
	params[3] = pg->created_lte >= 0 ? lte : NULL;
	params[4] = pg->starting_after;
	params[5] = pg->ending_before;
	res = gw_store_page_exec(conn, pg,
	                         PAYMENT_PAGE_SQL "ORDER BY created_at DESC, id DESC LIMIT $7::integer",
	                         PAYMENT_PAGE_SQL "ORDER BY created_at, id LIMIT $7::integer",
	                         7, params, &n, has_more, "db.payment_list_failed");
	if (res == NULL)
		return NULL;
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++) {
		if (gw_store_row_to_payment(res, gw_store_page_row(pg, n, i), &p) != 0 ||
		    json_array_append_new(arr, gw_payment_to_json(&p)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	PQclear(res);
	return arr;
}

json_t *gw_store_payment_events(PGconn *conn, const char *payment_id)
{
	const char *params[1] = { payment_id };
	PGresult *res = NULL;
	json_t *arr = NULL;
	int i;

	res = PQexecParams(conn,
	                   "SELECT " GW_STORE_EVENT_COLS " FROM payment_events e "
	                   "WHERE e.payment_id = $1 ORDER BY e.id",
	                   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.payment_events_failed", res);
		goto out;
	}
	arr = json_array();
	for (i = 0; arr != NULL && i < PQntuples(res); i++) {
		if (json_array_append_new(arr, gw_store_event_json(res, i)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
out:
	PQclear(res);
	return arr;
}

int gw_store_idem_claim_lease(PGconn *conn, const char *merchant_id, const char *key,
                              const char *request_sha256, const char *method, const char *path,
                              int lease_s, const char *owner)
{
	char lease[16];
	const char *params[7] = { merchant_id, key, request_sha256, method, path, lease, owner };

	snprintf(lease, sizeof lease, "%d", lease_s);
	return gw_store_exec_one(conn,
	                         "INSERT INTO idempotency_keys (merchant_id, key, request_sha256, method, path, "
	                         "lease_until, owner) VALUES ($1, $2, $3, $4, $5, "
	                         "now() + make_interval(secs => $6::integer), $7) "
	                         "ON CONFLICT (merchant_id, key) DO NOTHING",
	                         7, params, "db.idem_claim_failed");
}

int gw_store_idem_link(PGconn *conn, const char *merchant_id, const char *key,
                       const char *payment_id)
{
	const char *params[3] = { merchant_id, key, payment_id };

	return gw_store_exec_one(conn,
	                         "UPDATE idempotency_keys SET payment_id = $3 "
	                         "WHERE merchant_id = $1 AND key = $2 AND status_code IS NULL",
	                         3, params, "db.idem_link_failed");
}

int gw_store_idem_unlink(PGconn *conn, const char *merchant_id, const char *key,
                         const char *payment_id)
{
	const char *params[3] = { merchant_id, key, payment_id };

	return gw_store_exec_one(conn,
	                         "DELETE FROM idempotency_keys WHERE merchant_id = $1 AND key = $2 "
	                         "AND payment_id = $3 AND status_code IS NULL",
	                         3, params, "db.idem_unlink_failed");
}

int gw_store_idem_takeover(PGconn *conn, const char *merchant_id, const char *key, int lease_s,
                           const char *owner, char payment_id[72])
{
	char lease[16];
	const char *params[4] = { merchant_id, key, lease, owner };
	PGresult *res = NULL;
	int rc = -1;

	payment_id[0] = '\0';
	snprintf(lease, sizeof lease, "%d", lease_s);
	/* ADR 0113: the lease ends when it runs out, or at once when its owner
	 * is dead (no heartbeat for GW_INSTANCE_DEAD_S: killed, restarted). */
	res = PQexecParams(conn,
	                   "UPDATE idempotency_keys SET lease_until = now() + make_interval(secs => $3::integer), "
	                   "owner = $4 "
	                   "WHERE merchant_id = $1 AND key = $2 AND status_code IS NULL "
	                   "AND (lease_until < now() OR " GW_STORE_OWNER_DEAD("owner") ") "
	                   "RETURNING coalesce(payment_id, '')",
	                   4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.idem_takeover_failed", res);
		goto out;
	}
	if (PQntuples(res) != 1) {
		rc = 1;
		goto out;
	}
	gw_strlcpy(payment_id, PQgetvalue(res, 0, 0), 72);
	rc = 0;
out:
	PQclear(res);
	return rc;
}

long long gw_store_idem_sweep(PGconn *conn, long long retention_s)
{
	char ret[32];
	const char *params[1] = { ret };
	PGresult *res = NULL;
	long long n = -1;

	snprintf(ret, sizeof ret, "%lld", retention_s);
	/* In-progress keys are kept until their lease ends (a retry may still resolve them). */
	res = PQexecParams(conn,
	                   "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1::bigint) "
	                   "AND (status_code IS NOT NULL OR lease_until < now())",
	                   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		gw_store_log_error("db.idem_sweep_failed", res);
		goto out;
	}
	n = strtoll(PQcmdTuples(res), NULL, 10);
out:
	PQclear(res);
	return n;
}

static int due_rows(PGconn *conn, const char *sql, int nparams, const char *const *params,
                    struct gw_due *out, int max)
{
	PGresult *res = NULL;
	int n = -1, i;

	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.worker_scan_failed", res);
		goto out;
	}
	n = PQntuples(res) < max ? PQntuples(res) : max;
	for (i = 0; i < n; i++) {
		gw_strlcpy(out[i].id, PQgetvalue(res, i, 0), sizeof out[i].id);
		gw_strlcpy(out[i].merchant_id, PQgetvalue(res, i, 1), sizeof out[i].merchant_id);
	}
out:
	PQclear(res);
	return n;
}

int gw_store_payments_due(PGconn *conn, enum gw_status status, long long age_s,
                          struct gw_due *out, int max)
{
	char age[32], lim[16];
	const char *params[3] = { gw_status_str(status), age, lim };

	snprintf(age, sizeof age, "%lld", age_s);
	snprintf(lim, sizeof lim, "%d", max);
	return due_rows(conn,
	                status == GW_ST_AUTHORIZED
	                ? "SELECT id, merchant_id FROM payments WHERE status = $1 "
	                  "AND created_at < now() - make_interval(secs => $2::bigint) "
	                  "ORDER BY created_at LIMIT $3::integer"
	                : "SELECT id, merchant_id FROM payments WHERE status = $1 "
	                  "AND updated_at < now() - make_interval(secs => $2::bigint) "
	                  "ORDER BY updated_at LIMIT $3::integer",
	                3, params, out, max);
}

int gw_store_refunds_due(PGconn *conn, long long age_s, struct gw_due *out, int max)
{
	char age[32], lim[16];
	const char *params[2] = { age, lim };

	snprintf(age, sizeof age, "%lld", age_s);
	snprintf(lim, sizeof lim, "%d", max);
	return due_rows(conn,
	                "SELECT id, merchant_id FROM refunds WHERE status = 'pending' "
	                "AND updated_at < now() - make_interval(secs => $1::bigint) "
	                "ORDER BY updated_at LIMIT $2::integer",
	                2, params, out, max);
}
