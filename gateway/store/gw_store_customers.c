/*
 * gw_store_customers: the customers table (see gw_store_customers.h).
 */
#include "gateway/store/gw_store_customers.h"
#include "gateway/store/gw_store.h"
#include "common/sr_dbprep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CUSTOMER_COLS \
	"id, coalesce(email, ''), coalesce(name, ''), coalesce(description, ''), metadata::text, " \
	"coalesce(default_source, ''), extract(epoch FROM created_at)::bigint"

static void copy(char *dst, size_t cap, PGresult *res, int row, int col)
{
	snprintf(dst, cap, "%s", PQgetvalue(res, row, col));
}

static void customer_row(PGresult *res, int row, struct gw_customer *c)
{
	const char *md = PQgetvalue(res, row, 4);

	copy(c->id, sizeof c->id, res, row, 0);
	copy(c->email, sizeof c->email, res, row, 1);
	copy(c->name, sizeof c->name, res, row, 2);
	copy(c->description, sizeof c->description, res, row, 3);
	snprintf(c->metadata, sizeof c->metadata, "%s", strcmp(md, "{}") == 0 ? "" : md);
	copy(c->default_source, sizeof c->default_source, res, row, 5);
	c->created = strtoll(PQgetvalue(res, row, 6), NULL, 10);
}

/* "" is stored as NULL (unset). */
static const char *nullable(const char *s)
{
	return s[0] != '\0' ? s : NULL;
}

int gw_store_customer_insert(PGconn *conn, const char *merchant_id, struct gw_customer *c)
{
	const char *params[6] = { c->id, merchant_id, nullable(c->email), nullable(c->name),
	                          nullable(c->description), c->metadata[0] != '\0' ? c->metadata : "{}" };
	PGresult *res = sr_db_params(conn,
	                             "INSERT INTO customers (id, merchant_id, email, name, description, "
	                             "metadata) VALUES ($1, $2, $3, $4, $5, $6::jsonb) "
	                             "RETURNING extract(epoch FROM created_at)::bigint",
	                             6, NULL, params, NULL, NULL, 0);
	int rc = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		gw_store_log_error("db.customer_insert_failed", res);
		goto out;
	}
	c->created = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int gw_store_customer_get(PGconn *conn, const char *id, const char *merchant_id, int for_update,
                          struct gw_customer *out)
{
	const char *params[2] = { id, merchant_id };
	PGresult *res = sr_db_params(conn,
	                             for_update
	                             ? "SELECT " CUSTOMER_COLS " FROM customers WHERE id = $1 "
	                               "AND merchant_id = $2 FOR UPDATE"
	                             : "SELECT " CUSTOMER_COLS " FROM customers WHERE id = $1 "
	                               "AND merchant_id = $2",
	                             2, NULL, params, NULL, NULL, 0);
	int rc = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.customer_get_failed", res);
		goto out;
	}
	rc = 1;
	if (PQntuples(res) == 1) {
		customer_row(res, 0, out);
		rc = 0;
	}
out:
	PQclear(res);
	return rc;
}

int gw_store_customer_update(PGconn *conn, const char *merchant_id, const struct gw_customer *c)
{
	const char *params[7] = { c->id, merchant_id, nullable(c->email), nullable(c->name),
	                          nullable(c->description),
	                          c->metadata[0] != '\0' ? c->metadata : "{}",
	                          nullable(c->default_source) };

	return gw_store_exec_one(conn,
	                         "UPDATE customers SET email = $3, name = $4, description = $5, "
	                         "metadata = $6::jsonb, default_source = $7 "
	                         "WHERE id = $1 AND merchant_id = $2",
	                         7, params, "db.customer_update_failed");
}

int gw_store_customer_delete(PGconn *conn, const char *id, const char *merchant_id)
{
	const char *params[2] = { id, merchant_id };

	return gw_store_exec_one(conn,
	                         "WITH m AS (DELETE FROM card_metadata WHERE merchant_id = $2 "
	                         "AND customer = $1) "
	                         "DELETE FROM customers WHERE id = $1 AND merchant_id = $2",
	                         2, params, "db.customer_delete_failed");
}

int gw_store_customer_default_init(PGconn *conn, const char *id, const char *merchant_id,
                                   const char *card_id)
{
	const char *params[3] = { id, merchant_id, card_id };

	return gw_store_exec_one(conn,
	                         "UPDATE customers SET default_source = $3 WHERE id = $1 "
	                         "AND merchant_id = $2 AND default_source IS NULL",
	                         3, params, "db.customer_default_failed") < 0 ? -1 : 0;
}

int gw_store_customer_default_clear(PGconn *conn, const char *merchant_id, const char *card_id)
{
	const char *params[2] = { merchant_id, card_id };
	PGresult *res = sr_db_params(conn,
	                             "UPDATE customers SET default_source = NULL "
	                             "WHERE merchant_id = $1 AND default_source = $2",
	                             2, NULL, params, NULL, NULL, 0);
	int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;

	if (rc != 0)
		gw_store_log_error("db.customer_default_failed", res);
	PQclear(res);
	return rc;
}

/* $1 merchant, $2 email or NULL, $3/$4 created bounds, $5 starting_after,
 * $6 ending_before, $7 limit; the cursor's row read within the merchant's. */
#define CUSTOMER_PAGE_SQL \
	"SELECT " CUSTOMER_COLS " FROM customers " \
	"WHERE merchant_id = $1 AND ($2::text IS NULL OR email = $2) " \
	"AND ($3::bigint IS NULL OR created_at >= to_timestamp($3::bigint)) " \
	"AND ($4::bigint IS NULL OR created_at < to_timestamp($4::bigint + 1)) " \
	"AND ($5::text IS NULL OR (created_at, id) < " \
	"     (SELECT c.created_at, c.id FROM customers c WHERE c.id = $5 AND c.merchant_id = $1)) " \
	"AND ($6::text IS NULL OR (created_at, id) > " \
	"     (SELECT c.created_at, c.id FROM customers c WHERE c.id = $6 AND c.merchant_id = $1)) "

json_t *gw_store_customer_page(PGconn *conn, const char *merchant_id, const char *email,
                               const struct gw_page *p, int *has_more, int *cursor_missing)
{
	const char *params[7];
	char gte[32], lte[32];
	PGresult *res = NULL;
	json_t *arr = NULL;
	struct gw_customer *c = NULL;
	int n = 0, i, rc;

	*has_more = 0;
	*cursor_missing = 0;
	rc = gw_store_cursor_owned(conn, "SELECT 1 FROM customers WHERE id = $1 AND merchant_id = $2",
	                           p->starting_after != NULL ? p->starting_after : p->ending_before,
	                           merchant_id);
	if (rc != 0) {
		*cursor_missing = rc == 1;
		return NULL;
	}
	snprintf(gte, sizeof gte, "%lld", p->created_gte);
	snprintf(lte, sizeof lte, "%lld", p->created_lte);
	params[0] = merchant_id;
	params[1] = email;
	params[2] = p->created_gte >= 0 ? gte : NULL;
	params[3] = p->created_lte >= 0 ? lte : NULL;
	params[4] = p->starting_after;
	params[5] = p->ending_before;
	res = gw_store_page_exec(conn, p,
	                         CUSTOMER_PAGE_SQL "ORDER BY created_at DESC, id DESC LIMIT $7::integer",
	                         CUSTOMER_PAGE_SQL "ORDER BY created_at, id LIMIT $7::integer",
	                         7, params, &n, has_more, "db.customer_list_failed");
	if (res == NULL)
		return NULL;
	c = malloc(sizeof *c);   /* ~37 KiB: one row at a time, off the stack */
	arr = c != NULL ? json_array() : NULL;
	for (i = 0; arr != NULL && i < n; i++) {
		customer_row(res, gw_store_page_row(p, n, i), c);
		if (json_array_append_new(arr, gw_customer_to_json(c)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	free(c);
	PQclear(res);
	return arr;
}

int gw_store_card_metadata_get(PGconn *conn, const char *merchant_id, const char *card_id,
                               int for_update, char *md)
{
	const char *params[2] = { card_id, merchant_id };
	PGresult *res = sr_db_params(conn,
	                             for_update
	                             ? "SELECT metadata::text FROM card_metadata WHERE card_id = $1 "
	                               "AND merchant_id = $2 FOR UPDATE"
	                             : "SELECT metadata::text FROM card_metadata WHERE card_id = $1 "
	                               "AND merchant_id = $2",
	                             2, NULL, params, NULL, NULL, 0);
	int rc = -1;

	md[0] = '\0';
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.card_metadata_failed", res);
		goto out;
	}
	rc = 1;
	if (PQntuples(res) == 1) {
		if (strcmp(PQgetvalue(res, 0, 0), "{}") != 0)
			snprintf(md, GW_METADATA_JSON_MAX + 1, "%s", PQgetvalue(res, 0, 0));
		rc = 0;
	}
out:
	PQclear(res);
	return rc;
}

int gw_store_card_metadata_put(PGconn *conn, const char *merchant_id, const char *card_id,
                               const char *customer, const char *md)
{
	const char *params[4] = { card_id, merchant_id, customer, md };
	PGresult *res = NULL;
	int rc;

	if (md[0] == '\0')
		return gw_store_card_metadata_delete(conn, merchant_id, card_id);
	res = sr_db_params(conn,
	                   "INSERT INTO card_metadata (card_id, merchant_id, customer, metadata) "
	                   "VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (card_id) DO UPDATE "
	                   "SET metadata = EXCLUDED.metadata WHERE card_metadata.merchant_id = $2",
	                   4, NULL, params, NULL, NULL, 0);
	rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
	if (rc != 0)
		gw_store_log_error("db.card_metadata_failed", res);
	PQclear(res);
	return rc;
}

int gw_store_card_metadata_delete(PGconn *conn, const char *merchant_id, const char *card_id)
{
	const char *params[2] = { card_id, merchant_id };

	return gw_store_exec_one(conn,
	                         "DELETE FROM card_metadata WHERE card_id = $1 AND merchant_id = $2",
	                         2, params, "db.card_metadata_failed") < 0 ? -1 : 0;
}

json_t *gw_store_card_metadata_map(PGconn *conn, const char *merchant_id, const json_t *cards)
{
	json_t *ids = json_array();
	json_t *map = NULL;
	json_t *c = NULL;
	char *text = NULL;
	const char *params[2] = { merchant_id, NULL };
	PGresult *res = NULL;
	size_t i;
	int r;

	json_array_foreach((json_t *)cards, i, c)
		json_array_append(ids, json_object_get(c, "id"));
	text = json_dumps(ids, JSON_COMPACT);
	json_decref(ids);
	if (text == NULL)
		return NULL;
	params[1] = text;
	res = sr_db_params(conn,
	                   "SELECT card_id, metadata::text FROM card_metadata WHERE merchant_id = $1 "
	                   "AND card_id IN (SELECT jsonb_array_elements_text($2::jsonb))",
	                   2, NULL, params, NULL, NULL, 0);
	free(text);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.card_metadata_failed", res);
		goto out;
	}
	map = json_object();
	for (r = 0; map != NULL && r < PQntuples(res); r++)
		json_object_set_new(map, PQgetvalue(res, r, 0),
		                    json_loads(PQgetvalue(res, r, 1), 0, NULL));
out:
	PQclear(res);
	return map;
}
