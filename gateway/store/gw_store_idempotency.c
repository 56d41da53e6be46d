/*
 * gw_store_idempotency: Idempotency-Key records (invariant 8, docs/invariants.md).
 */
#include "gateway/store/gw_store.h"
#include "common/sr_dbprep.h"
#include "common/sr_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gw_store_idem_get(PGconn *conn, const char *merchant_id, const char *key,
                      char request_sha256[65], int *status_code, char **body)
{
	const char *params[2] = { merchant_id, key };
	PGresult *res = NULL;
	int rc = -1;

	*status_code = 0;
	*body = NULL;
	request_sha256[0] = '\0';
	res = sr_db_params(conn,
	                   "SELECT request_sha256, status_code, response_body FROM idempotency_keys "
	                   "WHERE merchant_id = $1 AND key = $2",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.idem_get_failed", res);
		goto out;
	}
	if (PQntuples(res) != 1) {
		rc = 1;
		goto out;
	}
	gw_strlcpy(request_sha256, PQgetvalue(res, 0, 0), 65);
	if (!PQgetisnull(res, 0, 1))
		*status_code = atoi(PQgetvalue(res, 0, 1));
	if (!PQgetisnull(res, 0, 2)) {
		*body = strdup(PQgetvalue(res, 0, 2));
		if (*body == NULL)
			goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int gw_store_idem_complete(PGconn *conn, const char *merchant_id, const char *key,
                           int status_code, const char *body)
{
	char status[16];
	const char *params[4] = { merchant_id, key, status, body };

	snprintf(status, sizeof status, "%d", status_code);
	return gw_store_exec_one(conn,
	                         "UPDATE idempotency_keys SET status_code = $3::integer, response_body = $4 "
	                         "WHERE merchant_id = $1 AND key = $2 AND status_code IS NULL",
	                         4, params, "db.idem_complete_failed");
}

int gw_store_idem_release(PGconn *conn, const char *merchant_id, const char *key)
{
	const char *params[2] = { merchant_id, key };
	PGresult *res = NULL;
	int rc = -1;

	/* A key linked to a payment is never deleted: its lease ends now, so
	 * that the next retry takes it over and answers the payment's truth. */
	res = sr_db_params(conn,
	                   "WITH released AS (DELETE FROM idempotency_keys "
	                   "WHERE merchant_id = $1 AND key = $2 AND status_code IS NULL "
	                   "AND payment_id IS NULL RETURNING 1) "
	                   "UPDATE idempotency_keys SET lease_until = now() "
	                   "WHERE merchant_id = $1 AND key = $2 AND status_code IS NULL "
	                   "AND payment_id IS NOT NULL",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		gw_store_log_error("db.idem_release_failed", res);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}
