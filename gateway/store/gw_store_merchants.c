/*
 * gw_store_merchants: merchants and API keys (hashes only).
 */
#include "gateway/store/gw_store.h"
#include "common/sr_log.h"

#include <stdlib.h>
#include <string.h>

int gw_store_merchant_insert(PGconn *conn, const char *id, const char *name)
{
	const char *params[2] = { id, name };
	PGresult *res = NULL;
	int rc = -1;

	res = PQexecParams(conn, "INSERT INTO merchants (id, name) VALUES ($1, $2)",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		gw_store_log_error("db.merchant_insert_failed", res);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int gw_store_api_key_insert(PGconn *conn, const char *merchant_id, const char *kind,
                            const char *key_sha256, const char *key_prefix)
{
	const char *params[4] = { merchant_id, kind, key_sha256, key_prefix };
	PGresult *res = NULL;
	int rc = -1;

	res = PQexecParams(conn,
	                   "INSERT INTO api_keys (merchant_id, kind, key_sha256, key_prefix) "
	                   "VALUES ($1, $2, $3, $4)",
	                   4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		gw_store_log_error("db.api_key_insert_failed", res);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

json_t *gw_store_merchant_list(PGconn *conn)
{
	PGresult *res = NULL;
	json_t *arr = NULL;
	json_t *ret = NULL;
	json_t *cur = NULL;
	int i;

	/* One row per key (LEFT JOIN), ordered so a merchant's keys are adjacent. */
	res = PQexecParams(conn,
	                   "SELECT m.id, m.name, extract(epoch FROM m.created_at)::bigint, "
	                   "k.kind, k.key_prefix, extract(epoch FROM k.created_at)::bigint, "
	                   "k.revoked_at IS NOT NULL "
	                   "FROM merchants m LEFT JOIN api_keys k ON k.merchant_id = m.id "
	                   "ORDER BY m.created_at, m.id, k.id",
	                   0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.merchant_list_failed", res);
		goto out;
	}
	arr = json_array();
	if (arr == NULL)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		const char *id = PQgetvalue(res, i, 0);

		if (cur == NULL || strcmp(json_string_value(json_object_get(cur, "id")), id) != 0) {
			cur = json_pack("{s:s, s:s, s:I, s:[]}", "id", id, "name", PQgetvalue(res, i, 1),
			                "created", (json_int_t)strtoll(PQgetvalue(res, i, 2), NULL, 10),
			                "keys");
			if (cur == NULL || json_array_append_new(arr, cur) != 0)
				goto out;
		}
		if (!PQgetisnull(res, i, 3)) {
			json_t *k = json_pack("{s:s, s:s, s:I, s:b}", "kind", PQgetvalue(res, i, 3),
			                      "prefix", PQgetvalue(res, i, 4),
			                      "created", (json_int_t)strtoll(PQgetvalue(res, i, 5), NULL, 10),
			                      "revoked", strcmp(PQgetvalue(res, i, 6), "t") == 0);
			if (k == NULL || json_array_append_new(json_object_get(cur, "keys"), k) != 0)
				goto out;
		}
	}
	ret = arr;
	arr = NULL;
out:
	json_decref(arr);
	PQclear(res);
	return ret;
}
