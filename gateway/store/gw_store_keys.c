/*
 * gw_store_keys: key statements (gw_store_keys.h).
 */
#include "gateway/store/gw_store_keys.h"
#include "common/sr_dbprep.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/store/gw_store.h"
#include "gateway/store/gw_store_instances.h" /* GW_STR */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gw_store_key_lookup(PGconn *conn, const char *key_sha256, struct gw_key_info *out)
{
	const char *params[1] = { key_sha256 };
	PGresult *res = NULL;
	int rc = -1;

	memset(out, 0, sizeof *out);
	res = sr_db_params(conn,
	                   "SELECT id, merchant_id, kind, role, "
	                   "coalesce(array_to_string(allowed_sources, ','), ''), "
	                   "coalesce(expires_at <= now(), false), "
	                   "coalesce(last_used_at < now() - make_interval(secs => " GW_STR(GW_KEY_TOUCH_S)
	                   "), true) "
	                   "FROM api_keys WHERE key_sha256 = $1 AND revoked_at IS NULL",
	                   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.api_key_lookup_failed", res);
		goto out;
	}
	if (PQntuples(res) != 1) {
		rc = 1;
		goto out;
	}
	out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	gw_strlcpy(out->merchant_id, PQgetvalue(res, 0, 1), sizeof out->merchant_id);
	gw_strlcpy(out->kind, PQgetvalue(res, 0, 2), sizeof out->kind);
	gw_strlcpy(out->role, PQgetvalue(res, 0, 3), sizeof out->role);
	if (PQgetlength(res, 0, 4) >= (int)sizeof out->sources) {
		gw_store_log_error("db.api_key_sources_too_long", NULL);
		goto out;
	}
	gw_strlcpy(out->sources, PQgetvalue(res, 0, 4), sizeof out->sources);
	out->expired = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
	out->touch_due = strcmp(PQgetvalue(res, 0, 6), "t") == 0;
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int gw_store_key_touch(PGconn *conn, long long id, const char *source)
{
	char sid[32];
	const char *params[2] = { sid, source != NULL && source[0] != '\0' ? source : NULL };

	snprintf(sid, sizeof sid, "%lld", id);
	return gw_store_exec_one(conn,
	                         "UPDATE api_keys SET last_used_at = now(), last_used_source = $2::inet "
	                         "WHERE id = $1::bigint AND (last_used_at IS NULL OR last_used_at < "
	                         "now() - make_interval(secs => " GW_STR(GW_KEY_TOUCH_S) "))",
	                         2, params, "db.api_key_touch_failed");
}

int gw_store_key_allow(PGconn *conn, long long id, const char *sources)
{
	char sid[32];
	const char *params[2] = { sid, sources };

	snprintf(sid, sizeof sid, "%lld", id);
	return gw_store_exec_one(conn,
	                         "UPDATE api_keys SET allowed_sources = string_to_array($2, ',')::cidr[] "
	                         "WHERE id = $1::bigint AND kind = 'secret' AND revoked_at IS NULL",
	                         2, params, "db.api_key_allow_failed");
}

int gw_store_key_insert(PGconn *conn, const char *merchant_id, const char *role,
                        const char *key_sha256, const char *key_prefix, long long *id)
{
	const char *params[4] = { merchant_id, role, key_sha256, key_prefix };
	PGresult *res = NULL;
	int rc = -1;

	res = sr_db_params(conn,
	                   "INSERT INTO api_keys (merchant_id, kind, role, key_sha256, key_prefix) "
	                   "VALUES ($1, 'secret', $2, $3, $4) RETURNING id",
	                   4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		gw_store_log_error("db.api_key_insert_failed", res);
		goto out;
	}
	*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int gw_store_key_roll(PGconn *conn, long long old_id, long long grace_s, const char *key_sha256,
                      const char *key_prefix, struct gw_key_info *out, long long *new_id)
{
	char oid[32], grace[32], nid[32];
	const char *p1[1] = { oid };
	const char *p3[3] = { oid, grace, nid };
	const char *p2[2] = { oid, nid };
	PGresult *res = NULL;
	int rc = -1;

	memset(out, 0, sizeof *out);
	snprintf(oid, sizeof oid, "%lld", old_id);
	snprintf(grace, sizeof grace, "%lld", grace_s);
	res = sr_db_params(conn,
	                   "SELECT merchant_id, role FROM api_keys WHERE id = $1::bigint AND kind = 'secret' "
	                   "AND revoked_at IS NULL AND replaced_by IS NULL "
	                   "AND (expires_at IS NULL OR expires_at > now()) FOR UPDATE",
	                   1, NULL, p1, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.api_key_roll_failed", res);
		goto out;
	}
	if (PQntuples(res) != 1) {
		rc = 1;
		goto out;
	}
	out->id = old_id;
	gw_strlcpy(out->merchant_id, PQgetvalue(res, 0, 0), sizeof out->merchant_id);
	gw_strlcpy(out->role, PQgetvalue(res, 0, 1), sizeof out->role);
	gw_strlcpy(out->kind, "secret", sizeof out->kind);
	PQclear(res);
	res = NULL;
	if (gw_store_key_insert(conn, out->merchant_id, out->role, key_sha256, key_prefix, new_id) != 0)
		goto out;
	snprintf(nid, sizeof nid, "%lld", *new_id);
	res = sr_db_params(conn,
	                   "UPDATE api_keys SET expires_at = now() + make_interval(secs => $2::bigint), "
	                   "replaced_by = $3::bigint WHERE id = $1::bigint "
	                   "RETURNING floor(extract(epoch FROM expires_at))::bigint",
	                   3, NULL, p3, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		gw_store_log_error("db.api_key_roll_failed", res);
		goto out;
	}
	out->expires = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	/* Issue 28: a rolled key is used from where the old one was. */
	res = sr_db_params(conn,
	                   "UPDATE api_keys SET allowed_sources = (SELECT allowed_sources FROM "
	                   "api_keys WHERE id = $1::bigint) WHERE id = $2::bigint",
	                   2, NULL, p2, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		gw_store_log_error("db.api_key_roll_failed", res);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int gw_store_key_revoke(PGconn *conn, long long id)
{
	char sid[32];
	const char *params[1] = { sid };

	snprintf(sid, sizeof sid, "%lld", id);
	return gw_store_exec_one(conn,
	                         "UPDATE api_keys SET revoked_at = now() WHERE id = $1::bigint AND revoked_at IS NULL",
	                         1, params, "db.api_key_revoke_failed");
}

json_t *gw_store_key_list(PGconn *conn, const char *merchant_id)
{
	const char *params[1] = { merchant_id };
	PGresult *res = NULL;
	json_t *arr = NULL;
	int i;

	res = sr_db_params(conn,
	                   "SELECT id, kind, role, key_prefix, extract(epoch FROM created_at)::bigint, "
	                   "extract(epoch FROM expires_at)::bigint, extract(epoch FROM revoked_at)::bigint, "
	                   "array_to_json(allowed_sources::text[]), extract(epoch FROM last_used_at)::bigint, "
	                   "host(last_used_source) FROM api_keys WHERE merchant_id = $1 ORDER BY id",
	                   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.api_key_list_failed", res);
		goto out;
	}
	arr = json_array();
	for (i = 0; arr != NULL && i < PQntuples(res); i++) {
		json_t *sources = PQgetisnull(res, i, 7) ? json_null()
		                  : json_loads(PQgetvalue(res, i, 7), 0, NULL);

		json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o}",
		    "id", (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10),
		    "kind", PQgetvalue(res, i, 1), "role", PQgetvalue(res, i, 2),
		    "prefix", PQgetvalue(res, i, 3),
		    "created", (json_int_t)strtoll(PQgetvalue(res, i, 4), NULL, 10),
		    "expires", PQgetisnull(res, i, 5) ? json_null()
		               : json_integer(strtoll(PQgetvalue(res, i, 5), NULL, 10)),
		    "revoked", PQgetisnull(res, i, 6) ? json_null()
		               : json_integer(strtoll(PQgetvalue(res, i, 6), NULL, 10)),
		    "allowed_sources", sources != NULL ? sources : json_null(),
		    "last_used", PQgetisnull(res, i, 8) ? json_null()
		                 : json_integer(strtoll(PQgetvalue(res, i, 8), NULL, 10)),
		    "last_used_source", PQgetisnull(res, i, 9) ? json_null()
		                        : json_string(PQgetvalue(res, i, 9))));
	}
out:
	PQclear(res);
	return arr;
}
