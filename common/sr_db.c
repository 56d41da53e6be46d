/*
 * sr_db: a fixed pool of libpq connections (see sr_db.h).
 * Parameterized SQL only (PQexecParams) — PCI DSS v4.0 6.2.4 (injection).
 */
#include "common/sr_db.h"
#include "common/sr_log.h"
#include "common/sr_secret.h"

#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sr_db_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t size;
	PGconn **conns;  /* all connections */
	int *busy;       /* 1 while borrowed */
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Copy libpq's message without its trailing newline. */
static void pq_err(char *err, size_t errlen, const char *what, PGconn *conn)
{
	char msg[512];
	size_t n;

	snprintf(msg, sizeof msg, "%s", conn != NULL ? PQerrorMessage(conn) : "out of memory");
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	seterr(err, errlen, "%s: %s", what, msg);
}

struct sr_db_pool *sr_db_pool_new(const char *host, const char *port, const char *dbname,
                                  const char *user, const char *password_file, size_t size,
                                  char *err, size_t errlen)
{
	struct sr_db_pool *pool = NULL;
	struct sr_db_pool *ret = NULL;
	char *password = NULL;
	size_t i;
	int mu_init = 0, cv_init = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (size == 0)
		size = 1;
	if (password_file != NULL) {
		/* invariant 10, docs/invariants.md: the DB password comes from a file. */
		password = sr_secret_read_file(password_file, NULL, err, errlen);
		if (password == NULL)
			goto out;
	}
	pool = calloc(1, sizeof *pool);
	if (pool == NULL)
		goto oom;
	pool->conns = calloc(size, sizeof *pool->conns);
	pool->busy = calloc(size, sizeof *pool->busy);
	if (pool->conns == NULL || pool->busy == NULL)
		goto oom;
	if (pthread_mutex_init(&pool->mu, NULL) != 0)
		goto oom;
	mu_init = 1;
	if (pthread_cond_init(&pool->cv, NULL) != 0)
		goto oom;
	cv_init = 1;
	pool->size = size;

	for (i = 0; i < size; i++) {
		const char *keys[] = { "host", "port", "dbname", "user", "password",
		                       "connect_timeout", "application_name", NULL };
		const char *vals[] = { host, port, dbname, user, password, "5", "strongroom", NULL };
		PGconn *c = NULL;

		if (password == NULL) {
			/* libpq stops at the first NULL keyword: drop password. */
			keys[4] = "connect_timeout";
			vals[4] = "5";
			keys[5] = "application_name";
			vals[5] = "strongroom";
			keys[6] = NULL;
			vals[6] = NULL;
		}
		c = PQconnectdbParams(keys, vals, 0);
		if (c == NULL || PQstatus(c) != CONNECTION_OK) {
			pq_err(err, errlen, "database connection failed", c);
			if (c != NULL)
				PQfinish(c);
			goto out;
		}
		pool->conns[i] = c;
	}
	ret = pool;
	pool = NULL;
	goto out;
oom:
	seterr(err, errlen, "database pool: out of memory");
out:
	sr_secret_free(password);
	if (pool != NULL) {
		for (i = 0; pool->conns != NULL && i < pool->size; i++)
			if (pool->conns[i] != NULL)
				PQfinish(pool->conns[i]);
		if (cv_init)
			pthread_cond_destroy(&pool->cv);
		if (mu_init)
			pthread_mutex_destroy(&pool->mu);
		free(pool->conns);
		free(pool->busy);
		free(pool);
	}
	return ret;
}

/* An idle connection whose server went away (restart, failover) still says
 * CONNECTION_OK until it is used. We never LISTEN, so an idle connection has
 * nothing to read unless the server is ending it (its admin_shutdown
 * ErrorResponse, then EOF): readable while idle = stale, reset it here
 * rather than fail the borrower's first query. */
static int stale(PGconn *c)
{
	struct pollfd p;

	if (PQstatus(c) != CONNECTION_OK)
		return 1;
	if (PQtransactionStatus(c) != PQTRANS_IDLE || PQsocket(c) < 0)
		return 0;
	p.fd = PQsocket(c);
	p.events = POLLIN;
	p.revents = 0;
	return poll(&p, 1, 0) > 0;
}

PGconn *sr_db_acquire(struct sr_db_pool *pool)
{
	PGconn *c = NULL;
	size_t i;

	if (pool == NULL)
		return NULL;
	pthread_mutex_lock(&pool->mu);
	for (;;) {
		for (i = 0; i < pool->size; i++) {
			if (!pool->busy[i]) {
				pool->busy[i] = 1;
				c = pool->conns[i];
				break;
			}
		}
		if (c != NULL)
			break;
		pthread_cond_wait(&pool->cv, &pool->mu);
	}
	pthread_mutex_unlock(&pool->mu);

	if (stale(c)) {
		/* Broken (server restart, network): reconnect with the same
		 * parameters. If it still fails the caller's query fails. */
		PQreset(c);
		if (PQstatus(c) != CONNECTION_OK)
			sr_log(SR_LOG_ERROR, NULL, "db.reconnect_failed", NULL);
		else
			sr_log(SR_LOG_WARN, NULL, "db.reconnected", NULL);
	}
	return c;
}

PGconn *sr_db_try_acquire(struct sr_db_pool *pool)
{
	PGconn *c = NULL;
	size_t i;

	if (pool == NULL)
		return NULL;
	pthread_mutex_lock(&pool->mu);
	for (i = 0; i < pool->size; i++) {
		if (!pool->busy[i]) {
			pool->busy[i] = 1;
			c = pool->conns[i];
			break;
		}
	}
	pthread_mutex_unlock(&pool->mu);
	if (c != NULL && stale(c)) {
		PQreset(c);
		sr_log(PQstatus(c) == CONNECTION_OK ? SR_LOG_WARN : SR_LOG_ERROR, NULL,
		       PQstatus(c) == CONNECTION_OK ? "db.reconnected" : "db.reconnect_failed", NULL);
	}
	return c;
}

void sr_db_release(struct sr_db_pool *pool, PGconn *conn)
{
	size_t i;

	if (pool == NULL || conn == NULL)
		return;
	if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE) {
		/* Never hand the next borrower a half-done transaction. */
		if (sr_db_exec(conn, "ROLLBACK") != 0)
			PQreset(conn);
	}
	pthread_mutex_lock(&pool->mu);
	for (i = 0; i < pool->size; i++) {
		if (pool->conns[i] == conn) {
			pool->busy[i] = 0;
			break;
		}
	}
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
}

void sr_db_pool_free(struct sr_db_pool *pool)
{
	size_t i;

	if (pool == NULL)
		return;
	for (i = 0; i < pool->size; i++)
		if (pool->conns[i] != NULL)
			PQfinish(pool->conns[i]);
	pthread_cond_destroy(&pool->cv);
	pthread_mutex_destroy(&pool->mu);
	free(pool->conns);
	free(pool->busy);
	free(pool);
}

int sr_db_exec(PGconn *conn, const char *sql)
{
	PGresult *res = NULL;
	int rc = -1;
	ExecStatusType st;

	if (conn == NULL || sql == NULL)
		return -1;
	res = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		rc = 0;
	PQclear(res);
	return rc;
}

int sr_db_ping(struct sr_db_pool *pool)
{
	PGconn *c = NULL;
	int rc = -1;

	if (pool == NULL)
		return -1;
	c = sr_db_try_acquire(pool);
	if (c == NULL)
		return 0; /* every connection is busy: the database answers */
	if (PQstatus(c) == CONNECTION_OK && sr_db_exec(c, "SELECT 1") == 0) {
		rc = 0;
	} else {
		/* The query itself found the connection broken: reconnect
		 * (connect_timeout 5 s) and ask again. */
		PQreset(c);
		if (PQstatus(c) == CONNECTION_OK && sr_db_exec(c, "SELECT 1") == 0) {
			sr_log(SR_LOG_WARN, NULL, "db.reconnected", NULL);
			rc = 0;
		}
	}
	sr_db_release(pool, c);
	return rc;
}

void sr_db_pool_stats(struct sr_db_pool *pool, size_t *size, size_t *busy)
{
	size_t i, n = 0;

	if (pool == NULL) {
		*size = 0;
		*busy = 0;
		return;
	}
	pthread_mutex_lock(&pool->mu);
	for (i = 0; i < pool->size; i++)
		n += pool->busy[i] ? 1 : 0;
	*size = pool->size;
	*busy = n;
	pthread_mutex_unlock(&pool->mu);
}
