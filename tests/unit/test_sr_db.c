/*
 * Unit tests for common/sr_db against the dev PostgreSQL cluster
 * (127.0.0.1:55432, role postgres without password; the dev stack contract, docs/development.md).
 * Skipped when no server answers there (SR_TEST_PG_PORT overrides).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sr_db.h"
#include "tests/unit/fixture.h"

static struct sr_db_pool *g_pool = NULL;

static int setup(void **state)
{
	char err[256] = "";

	(void)state;
	g_pool = fx_pg_pool("postgres", 2, err, sizeof err);
	if (g_pool == NULL)
		fprintf(stderr, "no PostgreSQL (%s): database tests skipped\n", err);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sr_db_pool_free(g_pool);
	return 0;
}

static void test_exec(void **state)
{
	PGconn *c = NULL;

	(void)state;
	if (g_pool == NULL)
		skip();
	c = sr_db_acquire(g_pool);
	assert_non_null(c);
	assert_int_equal(fx_pg_scalar(c, "SELECT 41 + 1", NULL), 42);
	assert_int_equal(sr_db_exec(c, "SELECT 1"), 0);
	assert_int_equal(sr_db_exec(c, "SELEKT 1"), -1);
	assert_int_equal(sr_db_exec(NULL, "SELECT 1"), -1);
	sr_db_release(g_pool, c);
}

static void test_release_rolls_back(void **state)
{
	PGconn *a = NULL, *b = NULL, *c = NULL;

	(void)state;
	if (g_pool == NULL)
		skip();
	a = sr_db_acquire(g_pool);
	b = sr_db_acquire(g_pool);
	assert_ptr_not_equal(a, b);
	sr_db_release(g_pool, b);
	assert_int_equal(sr_db_exec(a, "CREATE TEMP TABLE IF NOT EXISTS sr_t (x int)"), 0);
	assert_int_equal(sr_db_exec(a, "DELETE FROM sr_t"), 0);
	assert_int_equal(sr_db_exec(a, "BEGIN"), 0);
	assert_int_equal(sr_db_exec(a, "INSERT INTO sr_t VALUES (1)"), 0);
	sr_db_release(g_pool, a); /* transaction left open */
	assert_int_equal(PQtransactionStatus(a), PQTRANS_IDLE);
	/* Take both to be sure to get a back. */
	b = sr_db_acquire(g_pool);
	c = sr_db_acquire(g_pool);
	assert_true(b == a || c == a);
	assert_int_equal(fx_pg_scalar(a, "SELECT count(*) FROM sr_t", NULL), 0);
	sr_db_release(g_pool, b);
	sr_db_release(g_pool, c);
}

struct waiter {
	PGconn *got;
	int done;
};

static void *acquire_thread(void *arg)
{
	struct waiter *w = arg;

	w->got = sr_db_acquire(g_pool);
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void test_acquire_blocks(void **state)
{
	PGconn *a = NULL, *b = NULL;
	struct waiter w = { NULL, 0 };
	pthread_t t;

	(void)state;
	if (g_pool == NULL)
		skip();
	a = sr_db_acquire(g_pool);
	b = sr_db_acquire(g_pool);
	assert_int_equal(pthread_create(&t, NULL, acquire_thread, &w), 0);
	usleep(200000);
	assert_int_equal(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST), 0); /* pool exhausted */
	sr_db_release(g_pool, b);
	pthread_join(t, NULL);
	assert_ptr_equal(w.got, b);
	sr_db_release(g_pool, a);
	sr_db_release(g_pool, w.got);
}

static void test_reconnect(void **state)
{
	PGconn *a = NULL, *b = NULL;
	char sql[96];
	int pid;

	(void)state;
	if (g_pool == NULL)
		skip();
	a = sr_db_acquire(g_pool);
	b = sr_db_acquire(g_pool);
	pid = PQbackendPID(b);
	snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)::int", pid);
	assert_int_equal(fx_pg_scalar(a, sql, NULL), 1);
	usleep(100000);
	/* b's server process is gone: the next query fails, marking it bad. */
	assert_int_equal(sr_db_exec(b, "SELECT 1"), -1);
	assert_int_not_equal(PQstatus(b), CONNECTION_OK);
	sr_db_release(g_pool, b);
	b = sr_db_acquire(g_pool); /* the only free one: reset on acquire */
	assert_int_equal(PQstatus(b), CONNECTION_OK);
	assert_int_equal(fx_pg_scalar(b, "SELECT 7", NULL), 7);
	assert_int_not_equal(PQbackendPID(b), pid);
	sr_db_release(g_pool, a);
	sr_db_release(g_pool, b);
}

/* A connection whose server process ended while it sat idle in the pool is
 * reset on acquire: the borrower's first query succeeds (the daemon recovers
 * by itself after a PostgreSQL restart). */
static void test_stale_idle_connection(void **state)
{
	PGconn *a = NULL, *b = NULL;
	char sql[96];
	int pid;

	(void)state;
	if (g_pool == NULL)
		skip();
	a = sr_db_acquire(g_pool);
	b = sr_db_acquire(g_pool);
	pid = PQbackendPID(b);
	sr_db_release(g_pool, b);     /* idle in the pool, still CONNECTION_OK */
	snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)::int", pid);
	assert_int_equal(fx_pg_scalar(a, sql, NULL), 1);
	usleep(200000);
	b = sr_db_acquire(g_pool);
	assert_int_equal(fx_pg_scalar(b, "SELECT 7", NULL), 7);
	assert_int_not_equal(PQbackendPID(b), pid);
	sr_db_release(g_pool, b);
	sr_db_release(g_pool, a);
}

static void test_ping_and_stats(void **state)
{
	PGconn *a = NULL, *b = NULL;
	size_t size = 0, busy = 0;

	(void)state;
	if (g_pool == NULL)
		skip();
	assert_int_equal(sr_db_ping(g_pool), 0);
	sr_db_pool_stats(g_pool, &size, &busy);
	assert_int_equal(size, 2);
	assert_int_equal(busy, 0);
	a = sr_db_try_acquire(g_pool);
	b = sr_db_try_acquire(g_pool);
	assert_non_null(a);
	assert_non_null(b);
	/* All busy: try_acquire does not wait; ping reports reachable. */
	assert_null(sr_db_try_acquire(g_pool));
	assert_int_equal(sr_db_ping(g_pool), 0);
	sr_db_pool_stats(g_pool, &size, &busy);
	assert_int_equal(busy, 2);
	sr_db_release(g_pool, a);
	sr_db_release(g_pool, b);
	assert_int_equal(sr_db_ping(NULL), -1);
	assert_null(sr_db_try_acquire(NULL));
}

static void test_errors(void **state)
{
	char err[256] = "";
	struct sr_db_pool *p = NULL;

	(void)state;
	/* A missing password file: error names the file. */
	p = sr_db_pool_new("127.0.0.1", fx_pg_port(), "postgres", "postgres", "/nonexistent/pw", 1,
	                   err, sizeof err);
	assert_null(p);
	assert_non_null(strstr(err, "/nonexistent/pw"));

	if (g_pool == NULL)
		skip();
	err[0] = '\0';
	p = sr_db_pool_new("127.0.0.1", fx_pg_port(), "sr_no_such_db", "postgres", NULL, 1, err,
	                   sizeof err);
	assert_null(p);
	assert_non_null(strstr(err, "sr_no_such_db"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_release_rolls_back),
		cmocka_unit_test(test_acquire_blocks),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_stale_idle_connection),
		cmocka_unit_test(test_ping_and_stats),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
