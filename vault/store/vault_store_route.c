/*
 * vault_store_route: merchant_routing and the PSP payment lookup (issue 5).
 */
#include "vault/store/vault_store_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void db_err(char *err, size_t errlen, const char *what, PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s failed (%s)", what, state != NULL ? state : "none");
}

static void copy_col(char *dst, size_t cap, PGresult *res, int col)
{
	snprintf(dst, cap, "%s", PQgetisnull(res, 0, col) ? "" : PQgetvalue(res, 0, col));
}

int vault_store_merchant_routing_get(PGconn *db, const char *merchant_id,
                                     struct vault_merchant_routing *m, char *err, size_t errlen)
{
	const char *params[1] = { merchant_id };
	PGresult *res = NULL;
	int rc = -1;

	memset(m, 0, sizeof *m);
	res = PQexecParams(db,
	                   "SELECT region, primary_connector, secondary_connector FROM merchant_routing "
	                   "WHERE merchant_id = $1",
	                   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_err(err, errlen, "merchant routing lookup", res);
		goto out;
	}
	rc = 0;
	if (PQntuples(res) == 1) {
		copy_col(m->region, sizeof m->region, res, 0);
		copy_col(m->primary, sizeof m->primary, res, 1);
		copy_col(m->secondary, sizeof m->secondary, res, 2);
		rc = 1;
	}
out:
	PQclear(res);
	return rc;
}

static const char *nullable(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

int vault_store_merchant_routing_put(PGconn *db, const char *merchant_id,
                                     const struct vault_merchant_routing *m, char *err, size_t errlen)
{
	const char *params[4] = { merchant_id, nullable(m->region), nullable(m->primary),
	                          nullable(m->secondary) };
	const char *state = NULL;
	PGresult *res = NULL;
	int rc = -1;

	res = PQexecParams(db,
	                   "INSERT INTO merchant_routing (merchant_id, region, primary_connector, "
	                   "secondary_connector) VALUES ($1, $2, $3, $4) "
	                   "ON CONFLICT (merchant_id) DO UPDATE SET region = $2, primary_connector = $3, "
	                   "secondary_connector = $4, updated_at = now()",
	                   4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state != NULL && strcmp(state, "23503") == 0) {
			rc = 0;        /* foreign_key_violation: no such merchant */
			goto out;
		}
		db_err(err, errlen, "merchant routing write", res);
		goto out;
	}
	rc = 1;
out:
	PQclear(res);
	return rc;
}

int vault_store_psp_payment_get(PGconn *db, const char *merchant_id, const char *psp_reference,
                                char connector[32], long long *amount, char currency[4],
                                char *err, size_t errlen)
{
	const char *params[2] = { merchant_id, psp_reference };
	PGresult *res = NULL;
	int rc = -1;

	res = PQexecParams(db,
	                   "SELECT connector, amount, currency FROM authorizations "
	                   "WHERE merchant_id = $1 AND psp_reference = $2 "
	                   "ORDER BY created_at DESC LIMIT 1",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_err(err, errlen, "psp payment lookup", res);
		goto out;
	}
	rc = 0;
	if (PQntuples(res) == 1) {
		copy_col(connector, 32, res, 0);
		*amount = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		copy_col(currency, 4, res, 2);
		rc = 1;
	}
out:
	PQclear(res);
	return rc;
}

int vault_store_psp_payment_merchant(PGconn *db, const char *connector, const char *psp_reference,
                                     char *merchant_out, size_t cap, char *err, size_t errlen)
{
	const char *params[2] = { connector, psp_reference };
	PGresult *res = NULL;
	int rc = -1;

	if (merchant_out != NULL && cap > 0)
		merchant_out[0] = '\0';
	if (db == NULL || connector == NULL || psp_reference == NULL || merchant_out == NULL ||
	    cap < 72) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "psp payment merchant: bad arguments");
		return -1;
	}
	res = PQexecParams(db,
	                   "SELECT DISTINCT merchant_id FROM authorizations "
	                   "WHERE connector = $1 AND psp_reference = $2 LIMIT 2",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_err(err, errlen, "psp payment merchant lookup", res);
		goto out;
	}
	rc = PQntuples(res) == 0 ? 0 : PQntuples(res) == 1 ? 1 : 2;
	if (rc == 1)
		snprintf(merchant_out, cap, "%s", PQgetvalue(res, 0, 0));
out:
	PQclear(res);
	return rc;
}
