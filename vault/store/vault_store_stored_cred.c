/*
 * vault_store_stored_cred: card_network_tx (see vault_store_stored_cred.h).
 */
#include "vault/store/vault_store_stored_cred.h"
#include "common/sr_dbprep.h"

#include <stdio.h>
#include <string.h>

/* The statement's error, first line only; never a parameter's value. */
static void pq_err(char *err, size_t errlen, const char *what, PGresult *res, PGconn *db)
{
	const char *m = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db);

	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %.*s", what, (int)strcspn(m != NULL ? m : "", "\n"),
		         m != NULL ? m : "");
}

int vault_store_network_tx_get(PGconn *db, const char *card_id, char *out, size_t cap,
                               char *err, size_t errlen)
{
	const char *params[1] = { card_id };
	PGresult *res = NULL;
	int rc = -1;

	res = sr_db_params(db, "SELECT network_tx_id FROM card_network_tx WHERE card_id = $1",
	                   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pq_err(err, errlen, "network tx lookup", res, db);
		goto out;
	}
	rc = 0;
	if (PQntuples(res) == 1 && (size_t)PQgetlength(res, 0, 0) < cap) {
		snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
		rc = 1;
	}
out:
	PQclear(res);
	return rc;
}

int vault_store_network_tx_put(PGconn *db, const char *card_id, const char *network_tx_id,
                               const char *connector, char *err, size_t errlen)
{
	const char *params[3] = { card_id, network_tx_id, connector };
	PGresult *res = NULL;
	int rc = -1;

	res = sr_db_params(db,
	                   "INSERT INTO card_network_tx (card_id, network_tx_id, connector) "
	                   "VALUES ($1, $2, $3) ON CONFLICT (card_id) DO UPDATE SET "
	                   "network_tx_id = EXCLUDED.network_tx_id, connector = EXCLUDED.connector, "
	                   "updated_at = now()",
	                   3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pq_err(err, errlen, "network tx save", res, db);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}
