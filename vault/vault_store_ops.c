/*
 * vault_store_ops: ownership of PSP payments (issue 4).
 */
#include "vault/vault_store_ops.h"
#include "common/sr_dbprep.h"

#include <stdio.h>

int vault_store_psp_reference_owned(PGconn *db, const char *merchant_id, const char *psp_reference,
                                    char *err, size_t errlen)
{
	const char *params[2] = { merchant_id, psp_reference };
	PGresult *res = NULL;
	int rc = -1;

	res = sr_db_params(db,
	                   "SELECT 1 FROM authorizations WHERE merchant_id = $1 AND psp_reference = $2 "
	                   "LIMIT 1",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "psp reference lookup failed (%s)",
			         PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL
			         ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : "none");
		goto out;
	}
	rc = PQntuples(res) > 0 ? 1 : 0;
out:
	PQclear(res);
	return rc;
}
