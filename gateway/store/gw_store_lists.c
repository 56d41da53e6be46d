/*
 * gw_store_lists: keyset pagination and the lists of refunds and events
 * (see gw_store_lists.h).
 */
#include "gateway/store/gw_store_lists.h"
#include "gateway/store/gw_store.h"
#include "gateway/store/gw_store_lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

PGresult *gw_store_page_exec(PGconn *conn, const struct gw_page *p, const char *newest,
                             const char *oldest, int nparams, const char **params, int *n,
                             int *has_more, const char *what)
{
	char lim[16];
	PGresult *res = NULL;

	*n = 0;
	*has_more = 0;
	snprintf(lim, sizeof lim, "%d", p->limit + 1);
	params[nparams - 1] = lim;
	res = PQexecParams(conn, p->ending_before != NULL ? oldest : newest, nparams, NULL, params,
	                   NULL, NULL, 0);
	params[nparams - 1] = NULL;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error(what, res);
		PQclear(res);
		return NULL;
	}
	*n = PQntuples(res);
	if (*n > p->limit) {
		*has_more = 1;
		*n = p->limit;
	}
	return res;
}

int gw_store_page_row(const struct gw_page *p, int n, int i)
{
	/* ending_before read oldest first: the page is its first n rows, reversed. */
	return p->ending_before != NULL ? n - 1 - i : i;
}

int gw_store_cursor_owned(PGconn *conn, const char *sql, const char *cursor,
                          const char *merchant_id)
{
	const char *params[2] = { cursor, merchant_id };
	PGresult *res = NULL;
	int rc = -1;

	if (cursor == NULL)
		return 0;
	res = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.list_cursor_failed", res);
		goto out;
	}
	rc = PQntuples(res) == 1 ? 0 : 1;
out:
	PQclear(res);
	return rc;
}

/* The cursor of a page: the one given, or NULL. */
static const char *page_cursor(const struct gw_page *p)
{
	return p->starting_after != NULL ? p->starting_after : p->ending_before;
}

/* Refunds: $1 merchant, $2 payment or NULL, $3/$4 created bounds, $5
 * starting_after, $6 ending_before, $7 limit. The cursor's row is read
 * within the merchant's refunds only. */
#define REFUND_PAGE_SQL \
	"SELECT " GW_STORE_REFUND_COLS " FROM refunds " \
	"WHERE merchant_id = $1 AND ($2::text IS NULL OR payment_id = $2) " \
	"AND ($3::bigint IS NULL OR created_at >= to_timestamp($3::bigint)) " \
	"AND ($4::bigint IS NULL OR created_at < to_timestamp($4::bigint + 1)) " \
	"AND ($5::text IS NULL OR (created_at, id) < " \
	"     (SELECT c.created_at, c.id FROM refunds c WHERE c.id = $5 AND c.merchant_id = $1)) " \
	"AND ($6::text IS NULL OR (created_at, id) > " \
	"     (SELECT c.created_at, c.id FROM refunds c WHERE c.id = $6 AND c.merchant_id = $1)) "

json_t *gw_store_refund_page(PGconn *conn, const char *merchant_id, const char *payment_id,
                             const struct gw_page *p, int *has_more, int *cursor_missing)
{
	const char *params[7];
	char gte[32], lte[32];
	PGresult *res = NULL;
	json_t *arr = NULL;
	struct gw_refund r;
	int n = 0, i, rc;

	*has_more = 0;
	*cursor_missing = 0;
	rc = gw_store_cursor_owned(conn, "SELECT 1 FROM refunds WHERE id = $1 AND merchant_id = $2",
	                           page_cursor(p), merchant_id);
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
	                         REFUND_PAGE_SQL "ORDER BY created_at DESC, id DESC LIMIT $7::integer",
	                         REFUND_PAGE_SQL "ORDER BY created_at, id LIMIT $7::integer",
	                         7, params, &n, has_more, "db.refund_list_failed");
	if (res == NULL)
		return NULL;
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++) {
		gw_store_refund_row(res, gw_store_page_row(p, n, i), &r);
		if (json_array_append_new(arr, gw_refund_to_json(&r)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	PQclear(res);
	return arr;
}

json_t *gw_store_event_json(PGresult *res, int row)
{
	const char *from = PQgetvalue(res, row, 2);
	json_t *data = json_loads(PQgetvalue(res, row, 5), 0, NULL);

	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:I, s:o}",
	                 "id", PQgetvalue(res, row, 0), "object", "payment_event",
	                 "type", PQgetvalue(res, row, 1), "payment", PQgetvalue(res, row, 6),
	                 "from", from[0] != '\0' ? json_string(from) : json_null(),
	                 "to", PQgetvalue(res, row, 3),
	                 "created", (json_int_t)strtoll(PQgetvalue(res, row, 4), NULL, 10),
	                 "data", json_is_object(data) ? data : (json_decref(data), json_object()));
}

bool gw_store_event_id_ok(const char *s)
{
	size_t i, n;

	if (s == NULL || strncmp(s, "evt_", 4) != 0)
		return false;
	s += 4;
	n = strlen(s);
	if (n < 22 || n > 64)
		return false;
	for (i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	}
	return true;
}

#define STR_(x) #x
#define STR(x) STR_(x)
/* An event of merchant $2 shown in lists: the last GW_EVENTS_DAYS days. */
#define EVENT_VISIBLE(e) \
	e ".payment_id IN (SELECT x.id FROM payments x WHERE x.merchant_id = $2) " \
	"AND " e ".created_at >= now() - make_interval(days => " STR(GW_EVENTS_DAYS) ") "

/* Events: $1 type or NULL, $2 merchant, $3 type prefix or NULL, $4/$5
 * created bounds, $6 starting_after, $7 ending_before (event ids: their
 * (created, sequence) read among the merchant's visible events), $8 limit. */
#define EVENT_PAGE_SQL \
	"SELECT " GW_STORE_EVENT_OBJECT("e") "::text FROM payment_events e " \
	"WHERE " EVENT_VISIBLE("e") \
	"AND ($1::text IS NULL OR " GW_STORE_EVENT_TYPE("e") " = $1) " \
	"AND ($3::text IS NULL OR starts_with(" GW_STORE_EVENT_TYPE("e") ", $3)) " \
	"AND ($4::bigint IS NULL OR e.created_at >= to_timestamp($4::bigint)) " \
	"AND ($5::bigint IS NULL OR e.created_at < to_timestamp($5::bigint + 1)) " \
	"AND ($6::text IS NULL OR (e.created_at, e.id) < " \
	"     (SELECT c.created_at, c.id FROM payment_events c WHERE c.public_id = $6 AND " \
	EVENT_VISIBLE("c") ")) " \
	"AND ($7::text IS NULL OR (e.created_at, e.id) > " \
	"     (SELECT c.created_at, c.id FROM payment_events c WHERE c.public_id = $7 AND " \
	EVENT_VISIBLE("c") ")) "

/* Row i of res, a one-column text result of Event objects, parsed. */
static json_t *event_row(PGresult *res, int row)
{
	return json_loads(PQgetvalue(res, row, 0), 0, NULL);
}

json_t *gw_store_event_page(PGconn *conn, const char *merchant_id, const char *type,
                            const char *type_prefix, const struct gw_page *p, int *has_more,
                            int *cursor_missing)
{
	const char *params[8];
	char gte[32], lte[32];
	PGresult *res = NULL;
	json_t *arr = NULL;
	json_t *ev = NULL;
	int n = 0, i, rc;

	*has_more = 0;
	*cursor_missing = 0;
	if (page_cursor(p) != NULL) {
		/* A cursor is an event this merchant can read (the same window). */
		rc = gw_store_event_get(conn, merchant_id, page_cursor(p), &ev);
		json_decref(ev);
		if (rc != 0) {
			*cursor_missing = rc == 1;
			return NULL;
		}
	}
	snprintf(gte, sizeof gte, "%lld", p->created_gte);
	snprintf(lte, sizeof lte, "%lld", p->created_lte);
	params[0] = type;
	params[1] = merchant_id;
	params[2] = type_prefix;
	params[3] = p->created_gte >= 0 ? gte : NULL;
	params[4] = p->created_lte >= 0 ? lte : NULL;
	params[5] = p->starting_after;
	params[6] = p->ending_before;
	res = gw_store_page_exec(conn, p,
	                         EVENT_PAGE_SQL "ORDER BY e.created_at DESC, e.id DESC LIMIT $8::integer",
	                         EVENT_PAGE_SQL "ORDER BY e.created_at, e.id LIMIT $8::integer",
	                         8, params, &n, has_more, "db.event_list_failed");
	if (res == NULL)
		return NULL;
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++) {
		if (json_array_append_new(arr, event_row(res, gw_store_page_row(p, n, i))) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	PQclear(res);
	return arr;
}

int gw_store_event_get(PGconn *conn, const char *merchant_id, const char *evt_id, json_t **out)
{
	const char *params[2] = { evt_id, merchant_id };
	PGresult *res = NULL;
	int rc = -1;

	*out = NULL;
	if (!gw_store_event_id_ok(evt_id))
		return 1;
	res = PQexecParams(conn,
	                   "SELECT " GW_STORE_EVENT_OBJECT("e") "::text FROM payment_events e "
	                   "WHERE e.public_id = $1 AND " EVENT_VISIBLE("e"),
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.event_get_failed", res);
		goto out;
	}
	if (PQntuples(res) != 1) {
		rc = 1;
		goto out;
	}
	*out = event_row(res, 0);
	rc = *out != NULL ? 0 : -1;
out:
	PQclear(res);
	return rc;
}
