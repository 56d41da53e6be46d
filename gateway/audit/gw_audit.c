/*
 * gw_audit: request context and the hash-chained audit trail (gw_audit.h).
 */
#include "gateway/audit/gw_audit.h"
#include "gateway/audit/gw_audit_spool.h"
#include "gateway/store/gw_store.h"
#include "common/sr_db.h"
#include "common/sr_dbprep.h"
#include "common/sr_gc.h"
#include "common/sr_log.h"
#include "common/sr_util.h"

#include <pthread.h>
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

/* Columns of one audit_events row in the INSERT below. */
#define AUDIT_COLS 14
/* Records per transaction (ADR 0083): bounds the statement at 64 x 14 parameters. */
#define AUDIT_MAX_BATCH 64

/* One record waiting for the group commit, and the connection of its submitter. */
struct audit_item {
	PGconn *conn;
	struct gw_audit_record *rec;
};

/* "($1::bigint, $2, ...)" for rows 0..n-1 into sql; 0 or -1 (does not fit). */
static int values_list(char *sql, size_t cap, size_t n)
{
	size_t pos = 0, r;
	int k;

	for (r = 0; r < n; r++) {
		unsigned b = (unsigned)(r * AUDIT_COLS);

		k = snprintf(sql + pos, cap - pos,
		             "%s($%u::bigint, $%u, $%u, $%u::bigint, $%u, $%u, $%u, $%u, $%u, $%u, "
		             "$%u::integer, $%u, $%u, $%u)",
		             r > 0 ? ", " : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8,
		             b + 9, b + 10, b + 11, b + 12, b + 13, b + 14);
		if (k < 0 || (size_t)k >= cap - pos)
			return -1;
		pos += (size_t)k;
	}
	return 0;
}

static const char *opt(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

int gw_audit_link_insert(PGconn *conn, struct gw_audit_record *const *recs, size_t n)
{
	PGresult *res = NULL;
	char prev[65] = ZERO_HASH;
	char (*hash)[65] = NULL;
	char (*num)[3][32] = NULL;     /* seq, key_id, status per record */
	const char **params = NULL;
	char *sql = NULL;
	size_t sqlcap = 256 + n * 192, i;
	long long seq = 1;
	int k;
	int rc = -1;

	if (n == 0 || n > AUDIT_MAX_BATCH || conn == NULL)
		return -1;
	hash = calloc(n, sizeof *hash);
	num = calloc(n, sizeof *num);
	params = calloc(n * AUDIT_COLS, sizeof *params);
	sql = malloc(sqlcap);
	if (hash == NULL || num == NULL || params == NULL || sql == NULL)
		goto out;
	res = sr_db_params(conn, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", 0,
	                   NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.audit_head_failed", res);
		goto out;
	}
	if (PQntuples(res) == 1) {
		seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10) + 1;
		snprintf(prev, sizeof prev, "%s", PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	res = NULL;
	/* Link in arrival order: record i's prev is record i-1's hash. */
	for (i = 0; i < n; i++) {
		struct gw_audit_record *rec = recs[i];
		const char **p = params + i * AUDIT_COLS;

		rec->seq = seq + (long long)i;
		if (rec->ts[0] == '\0')
			now_rfc3339(rec->ts); /* a spooled record keeps the time it happened */
		if (gw_audit_hash(rec, i == 0 ? prev : hash[i - 1], hash[i]) != 0)
			goto out;
		snprintf(num[i][0], sizeof num[i][0], "%lld", rec->seq);
		snprintf(num[i][1], sizeof num[i][1], "%lld", rec->key_id);
		snprintf(num[i][2], sizeof num[i][2], "%d", rec->status);
		p[0] = num[i][0];
		p[1] = rec->ts;
		p[2] = opt(rec->merchant_id);
		p[3] = rec->key_id > 0 ? num[i][1] : NULL;
		p[4] = opt(rec->role);
		p[5] = opt(rec->request_id);
		p[6] = rec->action != NULL ? rec->action : "";
		p[7] = opt(rec->target);
		p[8] = opt(rec->provider);
		p[9] = rec->result != NULL ? rec->result : "";
		p[10] = num[i][2];
		p[11] = opt(rec->reason);
		p[12] = i == 0 ? prev : hash[i - 1];
		p[13] = hash[i];
	}
	k = snprintf(sql, sqlcap, "%s", "INSERT INTO audit_events (seq, ts, merchant_id, key_id, "
	             "role, request_id, action, target, provider, result, status, reason, prev_hash, "
	             "hash) VALUES ");
	if (k < 0 || (size_t)k >= sqlcap || values_list(sql + k, sqlcap - (size_t)k, n) != 0)
		goto out;
	res = PQexecParams(conn, sql, (int)(n * AUDIT_COLS), NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		gw_store_log_error("db.audit_insert_failed", res);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	free(sql);
	free(params);
	free(num);
	free(hash);
	return rc;
}

int gw_audit_begin_locked(PGconn *conn)
{
	PGresult *res = NULL;

	if (sr_db_exec(conn, "BEGIN") != 0)
		return -1;
	res = sr_db_params(conn, "SELECT pg_advisory_xact_lock(" AUDIT_LOCK ")", 0, NULL, NULL, NULL,
	                   NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.audit_lock_failed", res);
		PQclear(res);
		sr_db_exec(conn, "ROLLBACK");
		return -1;
	}
	PQclear(res);
	return 0;
}

/*
 * The group commit's batch (sr_gc_batch_fn): link items[0..n) to the chain
 * in this order and commit them in one transaction, on the connection of the
 * first record's submitter (it waits in sr_gc_submit until we return). The
 * advisory lock still serialises batches across gatewayd instances and
 * gatewayctl (ADR 0021): the chain keeps one order, one hash per record.
 */
static int append_batch(void *arg, void *const *items, size_t n)
{
	const struct audit_item *first = items[0];
	struct gw_audit_record *recs[AUDIT_MAX_BATCH];
	PGconn *conn = first->conn;
	PGresult *res = NULL;
	size_t i;
	int rc = SR_GC_RETRY;

	(void)arg;
	if (n == 0 || n > AUDIT_MAX_BATCH || conn == NULL)
		return SR_GC_FAILED;
	for (i = 0; i < n; i++)
		recs[i] = ((const struct audit_item *)items[i])->rec;
	if (gw_audit_begin_locked(conn) != 0)
		return SR_GC_RETRY;
	if (gw_audit_link_insert(conn, recs, n) != 0) {
		sr_db_exec(conn, "ROLLBACK");
		return SR_GC_RETRY;
	}
	res = PQexecParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		/* An error reply means rolled back (retry is safe); a lost
		 * connection leaves the outcome unknown (never retried). */
		gw_store_log_error("db.audit_commit_failed", res);
		rc = PQstatus(conn) == CONNECTION_OK ? SR_GC_RETRY : SR_GC_FAILED;
	} else {
		rc = SR_GC_OK;
	}
	PQclear(res);
	return rc;
}

static struct sr_gc *g_gc;
static pthread_once_t g_gc_once = PTHREAD_ONCE_INIT;

static void gc_init(void)
{
	g_gc = sr_gc_new("gateway_audit", append_batch, NULL, AUDIT_MAX_BATCH);
}

int gw_audit_append(PGconn *conn, struct gw_audit_record *rec)
{
	struct audit_item item = { conn, rec };
	void *one = &item;
	int rc;

	if (conn == NULL || rec == NULL)
		return -1;
	pthread_once(&g_gc_once, gc_init);
	/* Records the database could not take are written first (issue 16);
	 * while it still cannot, this one queues behind them, in order. */
	if (gw_audit_spool_pending() && gw_audit_spool_drain(conn) != 0)
		return gw_audit_spool_put(rec);
	/* PCI DSS v4.0 10.5.1: we return only once the record is durable. */
	rc = g_gc != NULL ? sr_gc_submit(g_gc, &item) : append_batch(NULL, &one, 1);
	if (rc == SR_GC_OK)
		return 0;
	/* The database refused it or went away: durable in the spool instead
	 * (when this process has one), replayed when the database is back. */
	return gw_audit_spool_put(rec);
}

void gw_audit_stats(unsigned long long *batches, unsigned long long *records)
{
	*batches = *records = 0;
	pthread_once(&g_gc_once, gc_init);
	if (g_gc != NULL)
		sr_gc_stats(g_gc, batches, records);
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
