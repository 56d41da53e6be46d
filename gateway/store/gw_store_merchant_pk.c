/* gw_store: a merchant's publishable key hash (re-registration with the vault). */
#include <stdio.h>
#include <string.h>

#include "gateway/store/gw_store.h"

int gw_store_publishable_key_hash(PGconn *conn, const char *merchant_id, char *out)
{
	const char *params[1] = { merchant_id };
	PGresult *res = NULL;
	int rc = -1;

	out[0] = '\0';
	res = PQexecParams(conn,
	                   "SELECT key_sha256 FROM api_keys WHERE merchant_id = $1 "
	                   "AND kind = 'publishable' AND revoked_at IS NULL "
	                   "ORDER BY created_at DESC LIMIT 1",
	                   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.publishable_key_lookup_failed", res);
		goto out;
	}
	if (PQntuples(res) == 0) {
		rc = 0;
		goto out;
	}
	snprintf(out, 65, "%s", PQgetvalue(res, 0, 0));
	rc = 1;
out:
	PQclear(res);
	return rc;
}
