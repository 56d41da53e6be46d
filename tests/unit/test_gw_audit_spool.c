/*
 * Unit tests: the audit spool (gateway/audit/gw_audit_spool.h, ADR 0114):
 * records kept durably while the database cannot take them, replayed into
 * the chain in order, never twice, the chain intact afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/unit/fixture.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/audit/gw_audit_spool.h"
#include "common/sr_db.h"

static char g_dir[64];
static char g_path[128];
static char g_db[64];
static struct sr_db_pool *g_pool;

static int group_setup(void **state)
{
	char err[256];
	int rc;

	(void)state;
	if (fx_tmpdir(g_dir, sizeof g_dir, "gw-spool") != 0)
		return -1;
	snprintf(g_path, sizeof g_path, "%s/state/audit.spool", g_dir);
	rc = fx_pg_create(g_db, sizeof g_db, "gw_spool_test", "gateway");
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	g_pool = fx_pg_pool(g_db, 2, err, sizeof err);
	return g_pool != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	sr_db_pool_free(g_pool);
	fx_pg_drop(g_db);
	fx_rmtree(g_dir);
	return 0;
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void rec_of(struct gw_audit_record *r, const char *request_id, int status)
{
	memset(r, 0, sizeof *r);
	r->merchant_id = "mer_test0001";
	r->key_id = 7;
	r->role = "admin";
	r->request_id = request_id;
	r->action = "POST /v1/payments";
	r->target = "pay_abcdefgh";
	r->provider = "stripe";
	r->result = status < 300 ? "success" : "error";
	r->status = status;
	r->reason = status < 300 ? NULL : "internal_error";
}

/* Before a spool is opened (gatewayctl, this test's start), nothing is kept. */
static void test_put_without_spool_fails(void **state)
{
	struct gw_audit_record r;

	(void)state;
	rec_of(&r, "req_none", 201);
	assert_int_equal(gw_audit_spool_put(&r), -1);
	assert_false(gw_audit_spool_pending());
}

/* Spooled: one line each, owner-only, kept while the database is absent. */
static void test_put_is_durable_and_kept(void **state)
{
	struct gw_audit_record r;
	struct stat st;

	(void)state;
	assert_int_equal(gw_audit_spool_open(g_path), 0);
	assert_int_equal(stat(g_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	rec_of(&r, "req_one", 201);
	assert_int_equal(gw_audit_spool_put(&r), 0);
	rec_of(&r, "req_two", 500);
	assert_int_equal(gw_audit_spool_put(&r), 0);
	assert_true(gw_audit_spool_pending());
	assert_true(file_size(g_path) > 0);
	assert_int_equal(gw_audit_spool_drain(NULL), -1); /* no database: kept */
	assert_true(gw_audit_spool_pending());
}

/* Drained in order into the chain (a torn last line, never acknowledged, is
 * skipped); the same records spooled again are not written twice. */
static void test_drain_in_order_once(void **state)
{
	struct gw_audit_record r;
	json_t *report = NULL;
	PGconn *c = NULL;
	FILE *f = NULL;

	(void)state;
	if (g_pool == NULL)
		skip();
	rec_of(&r, "req_three", 404);
	assert_int_equal(gw_audit_spool_put(&r), 0);
	f = fopen(g_path, "a");
	assert_non_null(f);
	fputs("{\"ts\":\"2026-01-01T00:00:00.000000Z\",\"act", f); /* a crash mid-write */
	fclose(f);
	c = sr_db_acquire(g_pool);
	usleep(250 * 1000); /* past the spacing after the failed drain above */
	assert_int_equal(gw_audit_spool_drain(c), 0);
	assert_false(gw_audit_spool_pending());
	assert_int_equal(file_size(g_path), 0);
	assert_int_equal(fx_pg_scalar(c, "SELECT count(*) FROM audit_events", NULL), 3);
	assert_int_equal(fx_pg_scalar(c, "SELECT seq FROM audit_events WHERE request_id = $1",
	                              "req_one"), 1);
	assert_int_equal(fx_pg_scalar(c, "SELECT seq FROM audit_events WHERE request_id = $1",
	                              "req_three"), 3);
	/* A COMMIT whose answer was lost: the record is spooled though it is in. */
	{
		PGresult *res = PQexecParams(c, "SELECT ts FROM audit_events WHERE seq = 1", 0, NULL,
		                             NULL, NULL, NULL, 0);

		assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
		rec_of(&r, "req_one", 201);
		snprintf(r.ts, sizeof r.ts, "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	assert_int_equal(gw_audit_spool_put(&r), 0);
	rec_of(&r, "req_four", 201);
	assert_int_equal(gw_audit_spool_put(&r), 0);
	assert_int_equal(gw_audit_spool_drain(c), 0);
	assert_int_equal(fx_pg_scalar(c, "SELECT count(*) FROM audit_events", NULL), 4);
	assert_int_equal(fx_pg_scalar(c, "SELECT count(*) FROM audit_events WHERE request_id = $1",
	                              "req_one"), 1);
	/* An append with the spool empty goes to the chain directly. */
	rec_of(&r, "req_five", 201);
	assert_int_equal(gw_audit_append(c, &r), 0);
	assert_int_equal(gw_audit_verify(c, &report), 0);
	assert_true(json_is_true(json_object_get(report, "ok")));
	assert_int_equal(json_integer_value(json_object_get(report, "records")), 5);
	json_decref(report);
	sr_db_release(g_pool, c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_without_spool_fails),
		cmocka_unit_test(test_put_is_durable_and_kept),
		cmocka_unit_test(test_drain_in_order_once),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
