/*
 * gw_store_events: append-only payment events with their outbox rows.
 */
#include "gateway/store/gw_store.h"
#include "common/sr_dbprep.h"
#include "common/sr_log.h"

#include <stdlib.h>
#include <string.h>

int gw_store_event_append(PGconn *conn, const char *payment_id, const char *type,
                          const char *from, const char *to, const json_t *data)
{
	const char *params[5];
	char *data_txt = NULL;
	PGresult *res = NULL;
	int rc = -1;

	data_txt = data != NULL ? json_dumps(data, JSON_COMPACT) : strdup("{}");
	if (data_txt == NULL)
		goto out;
	params[0] = payment_id;
	params[1] = type;
	params[2] = from;
	params[3] = to;
	params[4] = data_txt;
	/* invariant 7, docs/invariants.md: the event and its outbox row are one statement,
	 * inside the caller's transaction that also updates the payment. The
	 * outbox payload is the webhook body: {"id","type","created","data"}. */
	res = sr_db_params(conn,
	                   "WITH e AS (INSERT INTO payment_events (payment_id, type, from_status, to_status, data) "
	                   "VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id, type, data, created_at) "
	                   "INSERT INTO outbox (event_id, topic, payload) "
	                   "SELECT e.id, e.type, jsonb_build_object('id', 'evt_' || e.id, 'type', e.type, "
	                   "'created', extract(epoch FROM e.created_at)::bigint, 'data', e.data) FROM e",
	                   5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		gw_store_log_error("db.event_append_failed", res);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	free(data_txt);
	return rc;
}
