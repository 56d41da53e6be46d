/*
 * gw_store_events: append-only payment events with their outbox rows.
 */
#include "gateway/store/gw_store.h"
#include "gateway/store/gw_store_lists.h"
#include "gateway/events/gw_webhook.h"
#include "common/sr_dbprep.h"
#include "common/sr_log.h"
#include "common/sr_util.h"

#include <stdlib.h>
#include <string.h>

int gw_store_event_append(PGconn *conn, const char *payment_id, const char *type,
                          const char *from, const char *to, const json_t *data,
                          const char *request_id, const char *idempotency_key)
{
	const char *params[9];
	const char *ext = gw_webhook_event_name(type);
	char id[40];
	char *data_txt = NULL;
	PGresult *res = NULL;
	int rc = -1;

	/* ADR 0129: the public id is 128 CSPRNG bits, never the sequence. */
	if (sr_random_id("evt_", 16, id, sizeof id) != 0)
		goto out;
	data_txt = data != NULL ? json_dumps(data, JSON_COMPACT) : strdup("{}");
	if (data_txt == NULL)
		goto out;
	params[0] = payment_id;
	params[1] = type;
	params[2] = from;
	params[3] = to;
	params[4] = data_txt;
	params[5] = id;
	params[6] = ext != NULL ? ext : type;
	params[7] = request_id;
	params[8] = request_id != NULL ? idempotency_key : NULL;
	/* invariant 7, docs/invariants.md: the event and its outbox row are one statement,
	 * inside the caller's transaction that also updates the payment. The
	 * outbox payload is the Event object as it was written (the webhook
	 * body is built again at delivery by the same builder, with its
	 * pending_webhooks then). */
	res = sr_db_params(conn,
	                   "WITH e AS (INSERT INTO payment_events (payment_id, type, from_status, to_status, "
	                   "data, public_id, event_type, request_id, idempotency_key) "
	                   "VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9) RETURNING *) "
	                   "INSERT INTO outbox (event_id, topic, payload) "
	                   "SELECT e.id, e.type, " GW_STORE_EVENT_OBJECT("e") " FROM e",
	                   9, NULL, params, NULL, NULL, 0);
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
