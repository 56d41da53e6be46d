/*
 * gw_store_webhooks: webhook endpoints, deliveries and attempts (see
 * gw_store_webhooks.h). JSON for the API is built by PostgreSQL
 * (json_build_object), parsed back with jansson.
 */
#include "gateway/store/gw_store_webhooks.h"
#include "gateway/store/gw_store_instances.h"
#include "gateway/store/gw_store.h"
#include "gateway/store/gw_store_lists.h"
#include "gateway/payments/gw_payment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define ENDPOINT_JSON                                                                    \
	"json_build_object('id', w.id, 'object', 'webhook_endpoint', 'url', w.url, "         \
	"'enabled_events', to_json(w.enabled_events), 'secret_prefix', w.secret_prefix || '...', " \
	"'status', w.status, 'description', w.description, "                                  \
	"'created', extract(epoch FROM w.created_at)::bigint)"

/* The event-name mapping as two PostgreSQL text[] literals (names are
 * [a-z_.] only: no quoting needed). */
static void map_literals(char *in, size_t inlen, char *ext, size_t extlen)
{
	size_t i;
	size_t a = 0, b = 0;

	a += (size_t)snprintf(in + a, inlen - a, "{");
	b += (size_t)snprintf(ext + b, extlen - b, "{");
	for (i = 0; GW_WEBHOOK_MAP_INTERNAL[i] != NULL && a < inlen && b < extlen; i++) {
		a += (size_t)snprintf(in + a, inlen - a, "%s%s", i ? "," : "", GW_WEBHOOK_MAP_INTERNAL[i]);
		b += (size_t)snprintf(ext + b, extlen - b, "%s%s", i ? "," : "", GW_WEBHOOK_MAP_EXTERNAL[i]);
	}
	if (a < inlen)
		snprintf(in + a, inlen - a, "}");
	if (b < extlen)
		snprintf(ext + b, extlen - b, "}");
}

/* One-row, one-column text result parsed as JSON into *out. 0, 1 no row, -1. */
static int json_row(PGconn *conn, const char *sql, int n, const char *const *params,
                    const char *event, json_t **out)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	json_error_t jerr;
	int rc = -1;

	*out = NULL;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error(event, res);
		goto out;
	}
	if (PQntuples(res) == 0) {
		rc = 1;
		goto out;
	}
	*out = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
	rc = *out != NULL ? 0 : -1;
out:
	PQclear(res);
	return rc;
}

int gw_store_webhook_endpoint_insert(PGconn *conn, const char *id, const char *merchant_id,
                                     const char *url, const json_t *events, const uint8_t *sealed,
                                     size_t sealed_len, const char *secret_prefix, json_t **out)
{
	char hex[2 + 2 * GW_WEBHOOK_SEALED_MAX + 1];
	char *ev = NULL;
	const char *params[6];
	int rc = -1;

	*out = NULL;
	if (sealed_len > GW_WEBHOOK_SEALED_MAX)
		goto out;
	ev = json_dumps(events, JSON_COMPACT);
	if (ev == NULL)
		goto out;
	memcpy(hex, "\\x", 2);
	sodium_bin2hex(hex + 2, sizeof hex - 2, sealed, sealed_len);
	params[0] = id;
	params[1] = merchant_id;
	params[2] = url;
	params[3] = ev;
	params[4] = hex;
	params[5] = secret_prefix;
	rc = json_row(conn,
	              "WITH w AS (INSERT INTO webhook_endpoints (id, merchant_id, url, enabled_events, "
	              "secret_sealed, secret_prefix) SELECT $1, $2, $3, "
	              "ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), $5::bytea, $6 RETURNING *) "
	              "SELECT " ENDPOINT_JSON "::text FROM w",
	              6, params, "db.webhook_endpoint_insert_failed", out);
	if (rc == 1)
		rc = -1;
out:
	free(ev);
	return rc;
}

int gw_store_webhook_endpoint_get(PGconn *conn, const char *id, const char *merchant_id,
                                  json_t **out)
{
	const char *params[2] = { id, merchant_id };

	return json_row(conn,
	                "SELECT " ENDPOINT_JSON "::text FROM webhook_endpoints w "
	                "WHERE w.id = $1 AND w.merchant_id = $2 AND w.deleted_at IS NULL",
	                2, params, "db.webhook_endpoint_get_failed", out);
}

json_t *gw_store_webhook_endpoint_list(PGconn *conn, const char *merchant_id)
{
	const char *params[1] = { merchant_id };
	json_t *out = NULL;

	if (json_row(conn,
	             "SELECT COALESCE(json_agg(" ENDPOINT_JSON " ORDER BY w.created_at, w.id), '[]')::text "
	             "FROM webhook_endpoints w WHERE w.merchant_id = $1 AND w.deleted_at IS NULL",
	             1, params, "db.webhook_endpoint_list_failed", &out) != 0)
		return NULL;
	return out;
}

int gw_store_webhook_endpoint_delete(PGconn *conn, const char *id, const char *merchant_id)
{
	const char *params[2] = { id, merchant_id };
	PGresult *res = NULL;
	int rc = -1;

	/* One statement: the endpoint is gone and nothing more is sent to it. */
	res = PQexecParams(conn,
	                   "WITH w AS (UPDATE webhook_endpoints SET deleted_at = now() "
	                   "WHERE id = $1 AND merchant_id = $2 AND deleted_at IS NULL RETURNING id), "
	                   "d AS (UPDATE webhook_deliveries SET status = 'failed', completed_at = now() "
	                   "WHERE endpoint_id IN (SELECT id FROM w) AND status = 'pending') "
	                   "SELECT count(*) FROM w",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.webhook_endpoint_delete_failed", res);
		goto out;
	}
	rc = strcmp(PQgetvalue(res, 0, 0), "1") == 0 ? 0 : 1;
out:
	PQclear(res);
	return rc;
}

int gw_store_webhook_endpoint_update(PGconn *conn, const char *id, const char *merchant_id,
                                     const char *url, const json_t *events, const char *status,
                                     const char *description, json_t **out)
{
	char *ev = NULL;
	const char *params[7];
	int rc = -1;

	*out = NULL;
	if (events != NULL && (ev = json_dumps(events, JSON_COMPACT)) == NULL)
		return -1;
	params[0] = id;
	params[1] = merchant_id;
	params[2] = url;
	params[3] = ev;
	params[4] = status;
	params[5] = description != NULL ? "1" : NULL;
	params[6] = description != NULL && description[0] != '\0' ? description : NULL;
	rc = json_row(conn,
	              "WITH w AS (UPDATE webhook_endpoints SET url = COALESCE($3, url), "
	              "enabled_events = CASE WHEN $4::jsonb IS NULL THEN enabled_events "
	              "ELSE ARRAY(SELECT jsonb_array_elements_text($4::jsonb)) END, "
	              "status = COALESCE($5, status), "
	              "description = CASE WHEN $6::text IS NULL THEN description ELSE $7 END, "
	              "updated_at = now() "
	              "WHERE id = $1 AND merchant_id = $2 AND deleted_at IS NULL RETURNING *) "
	              "SELECT " ENDPOINT_JSON "::text FROM w",
	              7, params, "db.webhook_endpoint_update_failed", out);
	free(ev);
	return rc;
}

int gw_store_webhook_endpoint_roll(PGconn *conn, const char *id, const char *merchant_id,
                                   const uint8_t *sealed, size_t sealed_len, const char *prefix,
                                   long long expires_in, json_t **out)
{
	char hex[2 + 2 * GW_WEBHOOK_SEALED_MAX + 1];
	char exp[24];
	const char *params[5];

	*out = NULL;
	if (sealed_len > GW_WEBHOOK_SEALED_MAX || expires_in < 0)
		return -1;
	memcpy(hex, "\\x", 2);
	sodium_bin2hex(hex + 2, sizeof hex - 2, sealed, sealed_len);
	snprintf(exp, sizeof exp, "%lld", expires_in);
	params[0] = id;
	params[1] = merchant_id;
	params[2] = hex;
	params[3] = prefix;
	params[4] = exp;
	/* One statement: the current secret becomes the previous one until
	 * now + expires_in (none at 0); a previous secret of an earlier roll
	 * is dropped at once. The row is locked by the UPDATE: two rolls
	 * serialize. */
	return json_row(conn,
	                "WITH w AS (UPDATE webhook_endpoints x SET "
	                "secret_previous_sealed = CASE WHEN $5::bigint > 0 THEN x.secret_sealed END, "
	                "secret_previous_expires_at = CASE WHEN $5::bigint > 0 "
	                "THEN now() + make_interval(secs => $5::bigint) END, "
	                "secret_sealed = $3::bytea, secret_prefix = $4, updated_at = now() "
	                "WHERE x.id = $1 AND x.merchant_id = $2 AND x.deleted_at IS NULL RETURNING *) "
	                "SELECT (" ENDPOINT_JSON "::jsonb || jsonb_build_object('previous_secret_expires', "
	                "extract(epoch FROM w.secret_previous_expires_at)::bigint))::text FROM w",
	                5, params, "db.webhook_endpoint_roll_failed", out);
}

int gw_store_webhook_fanout(PGconn *conn, int max)
{
	char in[512], ext[512], lim[16];
	const char *params[3] = { in, ext, lim };
	PGresult *res = NULL;
	int rc = -1;

	map_literals(in, sizeof in, ext, sizeof ext);
	snprintf(lim, sizeof lim, "%d", max);
	/* Claim with SKIP LOCKED: several gatewayd instances never fan out the
	 * same outbox row twice; the deliveries' UNIQUE (outbox_id, endpoint_id)
	 * is the second guard. */
	res = PQexecParams(conn,
	                   "WITH o AS (SELECT o.id, o.topic, p.merchant_id FROM outbox o "
	                   "JOIN payment_events e ON e.id = o.event_id JOIN payments p ON p.id = e.payment_id "
	                   "WHERE o.delivered_at IS NULL ORDER BY o.id LIMIT $3 FOR UPDATE OF o SKIP LOCKED), "
	                   "m AS (SELECT o.id, o.merchant_id, mp.etype FROM o "
	                   "JOIN unnest($1::text[], $2::text[]) AS mp(itype, etype) ON mp.itype = o.topic), "
	                   "ins AS (INSERT INTO webhook_deliveries (outbox_id, endpoint_id, merchant_id, event_type) "
	                   "SELECT m.id, w.id, m.merchant_id, m.etype FROM m JOIN webhook_endpoints w "
	                   "ON w.merchant_id = m.merchant_id AND w.deleted_at IS NULL AND w.status = 'enabled' "
	                   "AND (m.etype = ANY (w.enabled_events) OR '*' = ANY (w.enabled_events)) "
	                   "ON CONFLICT (outbox_id, endpoint_id) DO NOTHING RETURNING 1) "
	                   "UPDATE outbox SET delivered_at = now() WHERE id IN (SELECT id FROM o) RETURNING id",
	                   3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.webhook_fanout_failed", res);
		goto out;
	}
	rc = PQntuples(res);
out:
	PQclear(res);
	return rc;
}

int gw_store_webhook_orphans(PGconn *conn)
{
	PGresult *res = NULL;
	int rc = -1;

	res = PQexecParams(conn,
	                   "UPDATE webhook_deliveries SET next_attempt_at = now(), owner = NULL "
	                   "WHERE owner IS NOT NULL AND status = 'pending' AND " GW_STORE_OWNER_DEAD("owner"),
	                   0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		gw_store_log_error("db.webhook_orphans_failed", res);
		goto out;
	}
	rc = atoi(PQcmdTuples(res));
out:
	PQclear(res);
	return rc;
}

int gw_store_webhook_claim(PGconn *conn, int lease_s, const char *owner, struct gw_wh_job *jobs,
                           int max)
{
	char lease[16], lim[16];
	const char *params[3] = { lease, lim, owner };
	PGresult *res = NULL;
	size_t blen = 0;
	const char *hex;
	int n = 0;
	int i;
	int rc = -1;

	snprintf(lease, sizeof lease, "%d", lease_s);
	snprintf(lim, sizeof lim, "%d", max);
	/* A disabled endpoint's deliveries wait (not claimed, so they never
	 * hold up others'). The body is the Event object (ADR 0129); the
	 * previous secret of a roll comes only while it has not expired. */
	res = PQexecParams(conn,
	                   "WITH c AS (SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints cw "
	                   "ON cw.id = d.endpoint_id AND cw.status = 'enabled' WHERE d.status = 'pending' "
	                   "AND d.next_attempt_at <= now() ORDER BY d.next_attempt_at LIMIT $2 "
	                   "FOR UPDATE OF d SKIP LOCKED) "
	                   "UPDATE webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => $1::int), "
	                   "owner = $3 "
	                   "FROM c, webhook_endpoints w, outbox o, payment_events e "
	                   "WHERE d.id = c.id AND w.id = d.endpoint_id AND o.id = d.outbox_id AND e.id = o.event_id "
	                   "RETURNING d.id, d.attempts, extract(epoch FROM now() - d.started_at)::bigint, "
	                   "w.id, d.merchant_id, e.public_id, d.event_type, w.url, "
	                   "encode(w.secret_sealed, 'hex'), "
	                   "(" GW_STORE_EVENT_OBJECT("e") ")::text, "
	                   "CASE WHEN w.secret_previous_expires_at > now() "
	                   "THEN encode(w.secret_previous_sealed, 'hex') END, "
	                   "COALESCE(extract(epoch FROM w.secret_previous_expires_at)::bigint, 0)",
	                   3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.webhook_claim_failed", res);
		goto out;
	}
	n = PQntuples(res);
	for (i = 0; i < n && i < max; i++) {
		struct gw_wh_job *j = &jobs[i];

		memset(j, 0, sizeof *j);
		j->delivery_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		j->attempts = atoi(PQgetvalue(res, i, 1));
		j->age_s = strtoll(PQgetvalue(res, i, 2), NULL, 10);
		gw_strlcpy(j->endpoint_id, PQgetvalue(res, i, 3), sizeof j->endpoint_id);
		gw_strlcpy(j->merchant_id, PQgetvalue(res, i, 4), sizeof j->merchant_id);
		gw_strlcpy(j->event_id, PQgetvalue(res, i, 5), sizeof j->event_id);
		gw_strlcpy(j->event_type, PQgetvalue(res, i, 6), sizeof j->event_type);
		gw_strlcpy(j->url, PQgetvalue(res, i, 7), sizeof j->url);
		hex = PQgetvalue(res, i, 8);
		if (sodium_hex2bin(j->sealed, sizeof j->sealed, hex, strlen(hex), NULL, &blen, NULL) != 0)
			blen = 0; /* opens as nothing: the attempt fails and is recorded */
		j->sealed_len = blen;
		hex = PQgetvalue(res, i, 10);
		blen = 0;
		if (hex[0] == '\0' ||
		    sodium_hex2bin(j->sealed_prev, sizeof j->sealed_prev, hex, strlen(hex), NULL, &blen,
		                   NULL) != 0)
			blen = 0; /* no previous secret signs */
		j->sealed_prev_len = blen;
		j->prev_expires = strtoll(PQgetvalue(res, i, 11), NULL, 10);
		j->body = strdup(PQgetvalue(res, i, 9));
		if (j->body == NULL) {
			gw_store_webhook_jobs_free(jobs, i);
			goto out;
		}
	}
	rc = i;
out:
	PQclear(res);
	return rc;
}

void gw_store_webhook_jobs_free(struct gw_wh_job *jobs, int n)
{
	int i;

	for (i = 0; jobs != NULL && i < n; i++) {
		free(jobs[i].body);
		jobs[i].body = NULL;
		sodium_memzero(jobs[i].sealed, sizeof jobs[i].sealed);
		sodium_memzero(jobs[i].sealed_prev, sizeof jobs[i].sealed_prev);
	}
}

int gw_store_webhook_attempt(PGconn *conn, const struct gw_wh_job *job,
                             const struct gw_wh_attempt *a)
{
	char id[24], code[16], lat[24], retry[24], att[16], started[32];
	const char *params[10];
	PGresult *res = NULL;
	int rc = -1;
	long long now_ms;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	snprintf(id, sizeof id, "%lld", job->delivery_id);
	snprintf(code, sizeof code, "%ld", a->status_code);
	snprintf(lat, sizeof lat, "%lld", a->latency_ms);
	snprintf(retry, sizeof retry, "%lld", a->retry_in_ms);
	snprintf(att, sizeof att, "%d", job->attempts);
	/* The attempt is stamped with when it started. */
	snprintf(started, sizeof started, "%lld", now_ms - a->latency_ms);
	params[0] = id;
	params[1] = a->outcome;
	params[2] = a->status_code > 0 ? code : NULL;
	params[3] = lat;
	params[4] = a->response;
	params[5] = a->error;
	params[6] = a->new_status;
	params[7] = retry;
	params[8] = att;
	params[9] = started;
	res = PQexecParams(conn,
	                   "WITH a AS (INSERT INTO webhook_attempts (delivery_id, attempted_at, outcome, "
	                   "status_code, latency_ms, response_body, error) VALUES ($1::bigint, "
	                   "to_timestamp($10::double precision / 1000), $2, $3::int, $4::int, $5, $6) "
	                   "RETURNING attempted_at) "
	                   "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $7, owner = NULL, "
	                   "last_attempt_at = (SELECT attempted_at FROM a), "
	                   "next_attempt_at = CASE WHEN $7 = 'pending' "
	                   "THEN now() + make_interval(secs => $8::double precision / 1000) ELSE next_attempt_at END, "
	                   "completed_at = CASE WHEN $7 = 'pending' THEN NULL ELSE now() END "
	                   "WHERE id = $1::bigint AND attempts = $9::int AND status = 'pending'",
	                   10, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		gw_store_log_error("db.webhook_attempt_failed", res);
		goto out;
	}
	rc = strcmp(PQcmdTuples(res), "1") == 0 ? 0 : 1;
out:
	PQclear(res);
	return rc;
}

int gw_store_webhook_deliveries(PGconn *conn, const char *endpoint_id, const char *merchant_id,
                                int limit, json_t **out)
{
	char lim[16];
	const char *params[3] = { endpoint_id, merchant_id, lim };
	json_t *one = NULL;
	int rc;

	snprintf(lim, sizeof lim, "%d", limit);
	*out = NULL;
	/* Deleted endpoints keep their history. */
	rc = json_row(conn, "SELECT '{}' FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2", 2,
	              params, "db.webhook_endpoint_get_failed", &one);
	json_decref(one);
	if (rc != 0)
		return rc;
	rc = json_row(
	    conn,
	    "SELECT COALESCE(json_agg(x.j ORDER BY x.id DESC), '[]')::text FROM ("
	    "SELECT d.id, json_build_object('id', 'whd_' || d.id, 'object', 'webhook_delivery', "
	    "'event', e.public_id, 'type', d.event_type, 'endpoint', d.endpoint_id, "
	    "'status', d.status, 'attempts_count', d.attempts, "
	    "'next_attempt', CASE WHEN d.status = 'pending' THEN extract(epoch FROM d.next_attempt_at)::bigint END, "
	    "'created', extract(epoch FROM d.created_at)::bigint, "
	    "'completed', extract(epoch FROM d.completed_at)::bigint, "
	    "'attempts', COALESCE((SELECT json_agg(json_build_object("
	    "'at', (extract(epoch FROM a.attempted_at) * 1000)::bigint, 'outcome', a.outcome, "
	    "'status_code', a.status_code, 'latency_ms', a.latency_ms, 'response', a.response_body, "
	    "'error', a.error) ORDER BY a.id) FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]'::json)"
	    ") AS j FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id "
	    "JOIN payment_events e ON e.id = o.event_id "
	    "WHERE d.endpoint_id = $1 AND d.merchant_id = $2 ORDER BY d.id DESC LIMIT $3::int) x",
	    3, params, "db.webhook_deliveries_failed", out);
	return rc == 1 ? -1 : rc;
}

int gw_store_webhook_redeliver(PGconn *conn, const char *event_id, const char *merchant_id,
                               const char *endpoint_id)
{
	char in[512], ext[512];
	const char *params[5];
	PGresult *res = NULL;
	int rc = -1;

	map_literals(in, sizeof in, ext, sizeof ext);
	params[0] = event_id;
	params[1] = merchant_id;
	params[2] = in;
	params[3] = ext;
	params[4] = endpoint_id;
#define EV_SQL                                                                                 \
	"WITH ev AS (SELECT o.id AS outbox_id, mp.etype FROM outbox o "                            \
	"JOIN payment_events e ON e.id = o.event_id JOIN payments p ON p.id = e.payment_id "       \
	"JOIN unnest($3::text[], $4::text[]) AS mp(itype, etype) ON mp.itype = o.topic "           \
	"WHERE e.public_id = $1 AND p.merchant_id = $2) "
	res = PQexecParams(conn, EV_SQL "SELECT count(*) FROM ev", 4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.webhook_redeliver_failed", res);
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
		rc = -2;
		goto out;
	}
	PQclear(res);
	res = PQexecParams(conn,
	                   EV_SQL "INSERT INTO webhook_deliveries (outbox_id, endpoint_id, merchant_id, event_type) "
	                   "SELECT ev.outbox_id, w.id, $2, ev.etype FROM ev JOIN webhook_endpoints w "
	                   "ON w.merchant_id = $2 AND w.deleted_at IS NULL "
	                   "AND (ev.etype = ANY (w.enabled_events) OR '*' = ANY (w.enabled_events)) "
	                   "AND ($5::text IS NULL OR w.id = $5) "
	                   "ON CONFLICT (outbox_id, endpoint_id) DO UPDATE SET status = 'pending', attempts = 0, "
	                   "started_at = now(), next_attempt_at = now(), completed_at = NULL RETURNING id",
	                   5, NULL, params, NULL, NULL, 0);
#undef EV_SQL
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.webhook_redeliver_failed", res);
		goto out;
	}
	rc = PQntuples(res);
out:
	PQclear(res);
	return rc;
}

long long gw_store_webhook_pending(PGconn *conn)
{
	PGresult *res = PQexecParams(conn,
	                             "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'",
	                             0, NULL, NULL, NULL, NULL, 0);
	long long n = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}
