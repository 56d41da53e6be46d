/*
 * gw_audit: request context and the hash-chained audit trail (gw_audit.h).
 */
#include "gateway/gw_audit.h"
#include "gateway/gw_store.h"
#include "common/sr_db.h"
#include "common/sr_log.h"
#include "common/sr_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
/* Advisory lock key serializing chain appends ("SRAUDIT" in ASCII). */
#define AUDIT_LOCK "23449545585263956"

static __thread struct gw_req_ctx g_ctx;

struct gw_req_ctx *gw_req_ctx(void)
{
	return &g_ctx;
}

static const struct {
	const char *role;
	unsigned perms;
} ROLES[] = {
	{ "admin", GW_PERM_READ | GW_PERM_PAYMENTS | GW_PERM_REFUNDS | GW_PERM_ADMIN },
	{ "payments", GW_PERM_READ | GW_PERM_PAYMENTS },
	{ "finance", GW_PERM_READ | GW_PERM_REFUNDS },
	{ "read_only", GW_PERM_READ },
};

unsigned gw_role_perms(const char *role)
{
	size_t i;

	for (i = 0; role != NULL && i < sizeof ROLES / sizeof ROLES[0]; i++)
		if (strcmp(ROLES[i].role, role) == 0)
			return ROLES[i].perms;
	return 0;
}

bool gw_role_valid(const char *s)
{
	return gw_role_perms(s) != 0;
}

static json_t *str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

int gw_audit_hash(const struct gw_audit_record *rec, const char *prev_hash, char hash[65])
{
	json_t *o = NULL;
	char *canon = NULL;
	int rc = -1;

	o = json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:s, s:i, s:o, s:s}",
	              "seq", (json_int_t)rec->seq, "ts", rec->ts,
	              "merchant", str_or_null(rec->merchant_id),
	              "key_id", rec->key_id > 0 ? json_integer(rec->key_id) : json_null(),
	              "role", str_or_null(rec->role), "request_id", str_or_null(rec->request_id),
	              "action", rec->action != NULL ? rec->action : "",
	              "target", str_or_null(rec->target), "provider", str_or_null(rec->provider),
	              "result", rec->result != NULL ? rec->result : "",
	              "status", rec->status, "reason", str_or_null(rec->reason),
	              "prev", prev_hash);
	if (o == NULL)
		goto out;
	canon = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	if (canon == NULL)
		goto out;
	sr_sha256_hex(canon, strlen(canon), hash);
	rc = 0;
out:
	free(canon);
	json_decref(o);
	return rc;
}

static void now_rfc3339(char out[40])
{
	struct timeval tv;
	struct tm tm;
	char base[24];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 40, "%s.%06ldZ", base, (long)tv.tv_usec);
}

int gw_audit_append(PGconn *conn, struct gw_audit_record *rec)
{
	PGresult *res = NULL;
	char prev[65] = ZERO_HASH;
	char hash[65];
	char seq[32], key_id[32], status[16];
	const char *params[14];
	int began = 0;
	int rc = -1;

	if (conn == NULL || rec == NULL)
		return -1;
	if (sr_db_exec(conn, "BEGIN") != 0)
		goto out;
	began = 1;
	res = PQexecParams(conn, "SELECT pg_advisory_xact_lock(" AUDIT_LOCK ")", 0, NULL, NULL, NULL,
	                   NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.audit_lock_failed", res);
		goto out;
	}
	PQclear(res);
	res = PQexecParams(conn, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", 0,
	                   NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.audit_head_failed", res);
		goto out;
	}
	rec->seq = 1;
	if (PQntuples(res) == 1) {
		rec->seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10) + 1;
		snprintf(prev, sizeof prev, "%s", PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	res = NULL;
	now_rfc3339(rec->ts);
	if (gw_audit_hash(rec, prev, hash) != 0)
		goto out;
	snprintf(seq, sizeof seq, "%lld", rec->seq);
	snprintf(key_id, sizeof key_id, "%lld", rec->key_id);
	snprintf(status, sizeof status, "%d", rec->status);
	params[0] = seq;
	params[1] = rec->ts;
	params[2] = rec->merchant_id != NULL && rec->merchant_id[0] != '\0' ? rec->merchant_id : NULL;
	params[3] = rec->key_id > 0 ? key_id : NULL;
	params[4] = rec->role != NULL && rec->role[0] != '\0' ? rec->role : NULL;
	params[5] = rec->request_id != NULL && rec->request_id[0] != '\0' ? rec->request_id : NULL;
	params[6] = rec->action != NULL ? rec->action : "";
	params[7] = rec->target != NULL && rec->target[0] != '\0' ? rec->target : NULL;
	params[8] = rec->provider != NULL && rec->provider[0] != '\0' ? rec->provider : NULL;
	params[9] = rec->result != NULL ? rec->result : "";
	params[10] = status;
	params[11] = rec->reason != NULL && rec->reason[0] != '\0' ? rec->reason : NULL;
	params[12] = prev;
	params[13] = hash;
	res = PQexecParams(conn,
	                   "INSERT INTO audit_events (seq, ts, merchant_id, key_id, role, request_id, "
	                   "action, target, provider, result, status, reason, prev_hash, hash) VALUES "
	                   "($1::bigint, $2, $3, $4::bigint, $5, $6, $7, $8, $9, $10, $11::integer, $12, $13, $14)",
	                   14, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		gw_store_log_error("db.audit_insert_failed", res);
		goto out;
	}
	if (sr_db_exec(conn, "COMMIT") != 0)
		goto out;
	began = 0;
	rc = 0;
out:
	if (began)
		sr_db_exec(conn, "ROLLBACK");
	PQclear(res);
	return rc;
}

static const char *val(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

int gw_audit_verify(PGconn *conn, json_t **report)
{
	PGresult *res = NULL;
	struct gw_audit_record rec;
	char prev[65] = ZERO_HASH;
	char hash[65];
	const char *problem = NULL;
	long long bad = 0;
	int n = 0, i;
	int rc = -1;

	*report = NULL;
	res = PQexecParams(conn,
	                   "SELECT seq, ts, merchant_id, key_id, role, request_id, action, target, "
	                   "provider, result, status, reason, prev_hash, hash FROM audit_events ORDER BY seq",
	                   0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.audit_read_failed", res);
		goto out;
	}
	n = PQntuples(res);
	for (i = 0; i < n && problem == NULL; i++) {
		memset(&rec, 0, sizeof rec);
		rec.seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		snprintf(rec.ts, sizeof rec.ts, "%s", PQgetvalue(res, i, 1));
		rec.merchant_id = val(res, i, 2);
		rec.key_id = val(res, i, 3) != NULL ? strtoll(val(res, i, 3), NULL, 10) : 0;
		rec.role = val(res, i, 4);
		rec.request_id = val(res, i, 5);
		rec.action = val(res, i, 6);
		rec.target = val(res, i, 7);
		rec.provider = val(res, i, 8);
		rec.result = val(res, i, 9);
		rec.status = atoi(PQgetvalue(res, i, 10));
		rec.reason = val(res, i, 11);
		if (gw_audit_hash(&rec, PQgetvalue(res, i, 12), hash) != 0)
			goto out;
		if (!sr_ct_equal(hash, PQgetvalue(res, i, 13), 64) || strlen(PQgetvalue(res, i, 13)) != 64) {
			problem = "altered";     /* its fields no longer match its hash */
			bad = rec.seq;
		} else if (rec.seq != (long long)i + 1) {
			problem = "removed";     /* a gap in the sequence */
			bad = (long long)i + 1;
		} else if (strcmp(PQgetvalue(res, i, 12), prev) != 0) {
			problem = "reordered";   /* intact itself, but not chained to its predecessor */
			bad = rec.seq;
		}
		snprintf(prev, sizeof prev, "%s", PQgetvalue(res, i, 13));
	}
	if (problem == NULL) {
		*report = json_pack("{s:b, s:i}", "ok", 1, "records", n);
		rc = 0;
	} else {
		*report = json_pack("{s:b, s:i, s:I, s:s}", "ok", 0, "records", n,
		                    "first_bad_seq", (json_int_t)bad, "problem", problem);
		rc = 1;
	}
out:
	PQclear(res);
	return rc;
}
