/*
 * Unit tests for common/sr_dbprep (prepared statements per connection,
 * ADR 0084) against the dev PostgreSQL cluster (127.0.0.1:55432, role
 * postgres; SR_TEST_PG_PORT overrides). Skipped when no server answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sr_db.h"
#include "common/sr_dbprep.h"
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

/* Prepared statements of this session (from the server's view). */
static long long prepared(PGconn *c)
{
	return fx_pg_scalar(c, "SELECT count(*) FROM pg_prepared_statements", NULL);
}

static long long add(PGconn *c, const char *sql, const char *a, const char *b)
{
	const char *params[2] = { a, b };
	PGresult *r = sr_db_params(c, sql, 2, NULL, params, NULL, NULL, 0);
	long long v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

/* Same results as PQexecParams; one server-side statement per text, reused. */
static void test_reuse(void **state)
{
	PGconn *c = NULL;
	char buf[64];
	long long n0;
	int i;

	(void)state;
	if (g_pool == NULL)
		skip();
	c = sr_db_acquire(g_pool);
	n0 = prepared(c);
	for (i = 0; i < 10; i++) {
		char x[16];

		snprintf(x, sizeof x, "%d", i);
		assert_int_equal(add(c, "SELECT $1::int + $2::int", x, "5"), i + 5);
	}
	assert_int_equal(prepared(c), n0 + 1);
	/* The same text from another buffer is the same statement. */
	snprintf(buf, sizeof buf, "%s", "SELECT $1::int + $2::int");
	assert_int_equal(add(c, buf, "1", "1"), 2);
	assert_int_equal(prepared(c), n0 + 1);
	/* The same buffer with other text is another statement (never the old one). */
	snprintf(buf, sizeof buf, "%s", "SELECT $1::int * $2::int");
	assert_int_equal(add(c, buf, "3", "4"), 12);
	assert_int_equal(prepared(c), n0 + 2);
	sr_db_release(g_pool, c);
}

/* Errors come back as from PQexecParams, and nothing is kept for them. */
static void test_errors(void **state)
{
	PGconn *c = NULL;
	PGresult *r = NULL;
	const char *params[1] = { "not a number" };
	long long n0;

	(void)state;
	if (g_pool == NULL)
		skip();
	c = sr_db_acquire(g_pool);
	n0 = prepared(c);
	r = sr_db_params(c, "SELEKT 1", 0, NULL, NULL, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	assert_int_equal(prepared(c), n0);
	/* An execution error leaves the prepared statement usable. */
	r = sr_db_params(c, "SELECT $1::int", 1, NULL, params, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	params[0] = "41";
	r = sr_db_params(c, "SELECT $1::int", 1, NULL, params, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "41");
	PQclear(r);
	r = sr_db_params(NULL, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0);
	assert_int_not_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	sr_db_release(g_pool, c);
}

/* After a reconnect (new server session, no statements) the statement is
 * prepared again instead of failing with "does not exist". */
static void test_after_reconnect(void **state)
{
	PGconn *a = NULL, *b = NULL;
	char sql[96];
	PGresult *r = NULL;
	int pid;

	(void)state;
	if (g_pool == NULL)
		skip();
	a = sr_db_acquire(g_pool);
	b = sr_db_acquire(g_pool);
	assert_int_equal(add(b, "SELECT $1::int - $2::int", "9", "2"), 7);
	pid = PQbackendPID(b);
	snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)::int", pid);
	r = PQexecParams(a, sql, 0, NULL, NULL, NULL, NULL, 0);
	PQclear(r);
	usleep(100000);
	assert_int_equal(sr_db_exec(b, "SELECT 1"), -1);
	sr_db_release(g_pool, b);
	b = sr_db_acquire(g_pool);      /* reset on acquire (sr_db) */
	assert_int_not_equal(PQbackendPID(b), pid);
	assert_int_equal(add(b, "SELECT $1::int - $2::int", "9", "2"), 7);
	assert_int_equal(prepared(b), 1);
	sr_db_release(g_pool, a);
	sr_db_release(g_pool, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_after_reconnect),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
