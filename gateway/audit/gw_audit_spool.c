/*
 * gw_audit_spool: the durable queue of audit records (gw_audit_spool.h).
 */
#include "gateway/audit/gw_audit_spool.h"
#include "gateway/store/gw_store.h"
#include "common/sr_db.h"
#include "common/sr_dbprep.h"
#include "common/sr_log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SPOOL_MAX_BYTES (64L * 1024 * 1024) /* drained in one transaction */
#define DRAIN_SPACING_MS 200
#define CHUNK 64                            /* gw_audit_link_insert's bound */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_fd = -1;
static atomic_bool g_pending;
static long long g_last_failed_ms;

/* One spooled record: rec's strings point into obj. */
struct spooled {
	struct gw_audit_record rec;
	json_t *obj;
	bool present;    /* already in the chain: not written again */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* mkdir -p dir (each missing level 0700). @return 0 or -1 (errno). */
static int mkdir_p(char *dir)
{
	char *p;

	for (p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return mkdir(dir, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

int gw_audit_spool_open(const char *path)
{
	char dir[4096];
	struct stat st;
	int fd, dfd;

	if (path == NULL || strlen(path) >= sizeof dir)
		return -1;
	snprintf(dir, sizeof dir, "%s", path);
	dirname(dir);
	if (mkdir_p(dir) != 0) {
		sr_log(SR_LOG_ERROR, NULL, "audit.spool_open_failed", "{s:s, s:s}", "path", path,
		       "error", strerror(errno));
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) != 0) {
		sr_log(SR_LOG_ERROR, NULL, "audit.spool_open_failed", "{s:s, s:s}", "path", path,
		       "error", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* The file's name must survive a crash too. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	pthread_mutex_lock(&g_lock);
	if (g_fd >= 0)
		close(g_fd);
	g_fd = fd;
	atomic_store(&g_pending, st.st_size > 0);
	pthread_mutex_unlock(&g_lock);
	if (st.st_size > 0)
		sr_log(SR_LOG_WARN, NULL, "audit.spool_found", "{s:s, s:I}", "path", path, "bytes",
		       (json_int_t)st.st_size);
	return 0;
}

bool gw_audit_spool_pending(void)
{
	return atomic_load(&g_pending);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static json_t *opt_str(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

int gw_audit_spool_put(const struct gw_audit_record *rec)
{
	json_t *o = NULL;
	char *line = NULL;
	char ts[40];
	struct stat st;
	size_t len;
	int rc = -1;

	if (rec == NULL)
		return -1;
	if (rec->ts[0] != '\0')
		snprintf(ts, sizeof ts, "%s", rec->ts);
	else
		now_rfc3339(ts);
	o = json_pack("{s:s, s:o, s:I, s:o, s:o, s:s, s:o, s:o, s:s, s:i, s:o}", "ts", ts,
	              "merchant", opt_str(rec->merchant_id), "key_id", (json_int_t)rec->key_id,
	              "role", opt_str(rec->role), "request_id", opt_str(rec->request_id),
	              "action", rec->action != NULL ? rec->action : "",
	              "target", opt_str(rec->target), "provider", opt_str(rec->provider),
	              "result", rec->result != NULL ? rec->result : "", "status", rec->status,
	              "reason", opt_str(rec->reason));
	line = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (line == NULL)
		return -1;
	len = strlen(line);
	line[len] = '\n'; /* json_dumps's NUL becomes the record separator */
	pthread_mutex_lock(&g_lock);
	if (g_fd < 0)
		goto out;
	if (flock(g_fd, LOCK_EX) != 0)
		goto out;
	if (fstat(g_fd, &st) == 0) {
		if (write_all(g_fd, line, len + 1) == 0 && fdatasync(g_fd) == 0) {
			rc = 0;
		} else if (ftruncate(g_fd, st.st_size) != 0 || fdatasync(g_fd) != 0) {
			/* Nothing half-written may stay: it would corrupt the next line. */
			sr_log(SR_LOG_ERROR, NULL, "audit.spool_rollback_failed", "{s:s}", "error",
			       strerror(errno));
		}
	}
	(void)flock(g_fd, LOCK_UN);
	if (rc == 0)
		atomic_store(&g_pending, true);
out:
	pthread_mutex_unlock(&g_lock);
	if (rc == 0)
		sr_log(SR_LOG_WARN, rec->request_id, "audit.spooled", "{s:s, s:i}", "action",
		       rec->action != NULL ? rec->action : "", "status", rec->status);
	free(line);
	return rc;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k)); /* NULL for null or absent */
}

/* Parse one spool line into *sp. @return 0, or -1 (not a record). */
static int parse_line(const char *buf, size_t len, struct spooled *sp)
{
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);

	memset(sp, 0, sizeof *sp);
	if (!json_is_object(o) || jstr(o, "ts") == NULL || strlen(jstr(o, "ts")) >= sizeof sp->rec.ts ||
	    jstr(o, "action") == NULL || jstr(o, "result") == NULL ||
	    !json_is_integer(json_object_get(o, "status")) ||
	    !json_is_integer(json_object_get(o, "key_id"))) {
		json_decref(o);
		return -1;
	}
	sp->obj = o;
	snprintf(sp->rec.ts, sizeof sp->rec.ts, "%s", jstr(o, "ts"));
	sp->rec.merchant_id = jstr(o, "merchant");
	sp->rec.key_id = json_integer_value(json_object_get(o, "key_id"));
	sp->rec.role = jstr(o, "role");
	sp->rec.request_id = jstr(o, "request_id");
	sp->rec.action = jstr(o, "action");
	sp->rec.target = jstr(o, "target");
	sp->rec.provider = jstr(o, "provider");
	sp->rec.result = jstr(o, "result");
	sp->rec.status = (int)json_integer_value(json_object_get(o, "status"));
	sp->rec.reason = jstr(o, "reason");
	return 0;
}

/* Read the whole spool (lock held) into *out[*n]. @return 0 or -1. */
static int read_spool(struct spooled **out, size_t *n)
{
	struct spooled *v = NULL;
	struct stat st;
	char *buf = NULL;
	size_t cap = 0, got = 0, pos = 0, line = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (fstat(g_fd, &st) != 0 || st.st_size > SPOOL_MAX_BYTES)
		return -1;
	if (st.st_size == 0)
		return 0;
	buf = malloc((size_t)st.st_size);
	if (buf == NULL)
		return -1;
	while (got < (size_t)st.st_size) {
		ssize_t r = pread(g_fd, buf + got, (size_t)st.st_size - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		got += (size_t)r;
	}
	while (pos < got) {
		char *nl = memchr(buf + pos, '\n', got - pos);
		size_t len;

		line++;
		if (nl == NULL) {
			/* A write cut short by a crash: never acknowledged to anyone. */
			sr_log(SR_LOG_WARN, NULL, "audit.spool_partial_line", "{s:I}", "line",
			       (json_int_t)line);
			break;
		}
		len = (size_t)(nl - (buf + pos));
		if (*n == cap) {
			struct spooled *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof *v);

			if (nv == NULL)
				goto out;
			v = nv;
		}
		if (parse_line(buf + pos, len, &v[*n]) == 0)
			(*n)++;
		else
			sr_log(SR_LOG_ERROR, NULL, "audit.spool_bad_line", "{s:I}", "line", (json_int_t)line);
		pos += len + 1;
	}
	rc = 0;
out:
	free(buf);
	if (rc != 0) {
		while (*n > 0)
			json_decref(v[--(*n)].obj);
		free(v);
		v = NULL;
	}
	*out = v;
	return rc;
}

static int same(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* Mark spooled records already in the chain (inside the locked transaction). */
static int mark_present(PGconn *conn, struct spooled *v, size_t n)
{
	const char *min = v[0].rec.ts;
	const char *params[1];
	PGresult *res = NULL;
	size_t i;
	int r, rows;

	for (i = 1; i < n; i++)
		if (strcmp(v[i].rec.ts, min) < 0)
			min = v[i].rec.ts;
	params[0] = min;
	res = sr_db_params(conn, "SELECT ts, action, request_id FROM audit_events WHERE ts >= $1", 1,
	                   NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gw_store_log_error("db.audit_spool_check_failed", res);
		PQclear(res);
		return -1;
	}
	rows = PQntuples(res);
	for (r = 0; r < rows; r++)
		for (i = 0; i < n; i++)
			if (!v[i].present && strcmp(PQgetvalue(res, r, 0), v[i].rec.ts) == 0 &&
			    strcmp(PQgetvalue(res, r, 1), v[i].rec.action) == 0 &&
			    same(PQgetisnull(res, r, 2) ? NULL : PQgetvalue(res, r, 2), v[i].rec.request_id))
				v[i].present = true;
	PQclear(res);
	return 0;
}

/* Write v[0..n) (not present) in one transaction. @return 0 or -1. */
static int replay(PGconn *conn, struct spooled *v, size_t n, size_t *written)
{
	struct gw_audit_record *chunk[CHUNK];
	size_t i, k = 0;

	*written = 0;
	if (gw_audit_begin_locked(conn) != 0)
		return -1;
	if (mark_present(conn, v, n) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if (v[i].present)
			continue;
		chunk[k++] = &v[i].rec;
		if (k == CHUNK) {
			if (gw_audit_link_insert(conn, chunk, k) != 0)
				goto fail;
			*written += k;
			k = 0;
		}
	}
	if (k > 0) {
		if (gw_audit_link_insert(conn, chunk, k) != 0)
			goto fail;
		*written += k;
	}
	return sr_db_exec(conn, "COMMIT") == 0 ? 0 : -1;
fail:
	sr_db_exec(conn, "ROLLBACK");
	return -1;
}

int gw_audit_spool_drain(PGconn *conn)
{
	struct spooled *v = NULL;
	size_t n = 0, written = 0;
	bool tried = false;
	int rc = -1;

	if (!atomic_load(&g_pending))
		return 0;
	pthread_mutex_lock(&g_lock);
	if (g_fd < 0 || !atomic_load(&g_pending)) {
		rc = 0;
		goto unlock;
	}
	if (conn == NULL || now_ms() - g_last_failed_ms < DRAIN_SPACING_MS)
		goto unlock; /* the last attempt failed just now: do not hammer */
	tried = true;
	if (flock(g_fd, LOCK_EX) != 0)
		goto unlock;
	if (read_spool(&v, &n) != 0)
		goto unflock;
	if (n > 0 && replay(conn, v, n, &written) != 0)
		goto unflock;
	/* Durable in the chain: now the spool may go. */
	if (ftruncate(g_fd, 0) != 0 || fdatasync(g_fd) != 0) {
		sr_log(SR_LOG_ERROR, NULL, "audit.spool_truncate_failed", "{s:s}", "error",
		       strerror(errno));
		goto unflock;
	}
	atomic_store(&g_pending, false);
	rc = 0;
	if (n > 0)
		sr_log(SR_LOG_INFO, NULL, "audit.spool_replayed", "{s:I, s:I}", "records",
		       (json_int_t)written, "already_in_chain", (json_int_t)(n - written));
unflock:
	(void)flock(g_fd, LOCK_UN);
unlock:
	if (rc != 0 && tried)
		g_last_failed_ms = now_ms();
	pthread_mutex_unlock(&g_lock);
	while (n > 0)
		json_decref(v[--n].obj);
	free(v);
	return rc;
}
