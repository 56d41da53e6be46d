/*
 * vault_store_customers: deleted customers (see vault_store_customers.h).
 */
#include "vault/store/vault_store_customers.h"
#include "common/sr_dbprep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void pq_err(char *err, size_t errlen, const char *what, PGresult *res, PGconn *db)
{
	const char *m = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db);

	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %.*s", what, (int)strcspn(m != NULL ? m : "", "\n"),
		         m != NULL ? m : "");
}

int vault_store_customer_is_deleted(PGconn *db, const char *merchant_id, const char *customer,
                                    char *err, size_t errlen)
{
	const char *params[2] = { merchant_id, customer };
	PGresult *res = NULL;
	int rc = -1;

	res = sr_db_params(db, "SELECT 1 FROM deleted_customers WHERE merchant_id = $1 AND customer = $2",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pq_err(err, errlen, "deleted customer lookup", res, db);
		goto out;
	}
	rc = PQntuples(res) > 0 ? 1 : 0;
out:
	PQclear(res);
	return rc;
}

long long vault_store_customer_delete(PGconn *db, const char *merchant_id, const char *customer,
                                      char *err, size_t errlen)
{
	const char *params[2] = { merchant_id, customer };
	PGresult *res = NULL;
	long long n = -1;

	/* Its own statement (autocommit): visible to every card insert that
	 * starts after it, before the DELETE below takes its snapshot. */
	res = sr_db_params(db,
	                   "INSERT INTO deleted_customers (merchant_id, customer) VALUES ($1, $2) "
	                   "ON CONFLICT DO NOTHING",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pq_err(err, errlen, "deleted customer insert", res, db);
		goto out;
	}
	PQclear(res);
	/* The rows hold the only copies of the ciphertext: deleting them destroys it. */
	res = sr_db_params(db,
	                   "DELETE FROM tokens WHERE merchant_id = $1 AND customer = $2 "
	                   "AND id LIKE 'card\\_%'",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pq_err(err, errlen, "customer cards delete", res, db);
		goto out;
	}
	n = strtoll(PQcmdTuples(res), NULL, 10);
out:
	PQclear(res);
	return n;
}
