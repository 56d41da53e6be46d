/*
 * gw_store_instances: instance heartbeats (see gw_store_instances.h).
 */
#include "gateway/store/gw_store_instances.h"
#include "gateway/store/gw_store.h"

#include <stddef.h>

int gw_store_instance_beat(PGconn *conn, const char *id)
{
	const char *params[1] = { id };
	PGresult *res = NULL;
	int rc = -1;

	res = PQexecParams(conn,
	                   "WITH gone AS (DELETE FROM gateway_instances "
	                   "WHERE heartbeat_at < now() - interval '1 day' AND id <> $1) "
	                   "INSERT INTO gateway_instances (id) VALUES ($1) "
	                   "ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()",
	                   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		gw_store_log_error("db.instance_beat_failed", res);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int gw_store_instance_remove(PGconn *conn, const char *id)
{
	const char *params[1] = { id };

	return gw_store_exec_one(conn, "DELETE FROM gateway_instances WHERE id = $1", 1, params,
	                         "db.instance_remove_failed") < 0 ? -1 : 0;
}
