/*
 * Unit tests (issue 16, ADR 0113): instance heartbeats and the takeover of
 * an Idempotency-Key claim, on the gateway's real migrations: a live owner's
 * claim is never taken over before its lease; a dead owner's (no heartbeat
 * for GW_INSTANCE_DEAD_S, or deregistered) at once; a claim without an owner
 * (made before migration 0040) waits for its lease as before.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/store/gw_store.h"
#include "gateway/store/gw_store_instances.h"
#include "gateway/store/gw_store_lifecycle.h"
#include "tests/unit/fixture.h"

#define MER "mer_instancetest1"
#define GWI_A "gwi_aaaaaaaaaaaaaaaa"
#define GWI_B "gwi_bbbbbbbbbbbbbbbb"
#define GWI_C "gwi_cccccccccccccccc"
#define FP "0000000000000000000000000000000000000000000000000000000000000000"

static char g_db[64];
static struct sr_db_pool *g_pool;
static PGconn *g_c;

static int setup(void **state)
{
	char err[256] = "";
	int rc;

	(void)state;
	rc = fx_pg_create(g_db, sizeof g_db, "gw_instances_test", "gateway");
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	g_pool = fx_pg_pool(g_db, 1, err, sizeof err);
	if (g_pool == NULL)
		return -1;
	g_c = sr_db_acquire(g_pool);
	return sr_db_exec(g_c, "INSERT INTO merchants (id, name) VALUES ('" MER "', 'test')");
}

static int teardown(void **state)
{
	(void)state;
	if (g_pool != NULL) {
		sr_db_release(g_pool, g_c);
		sr_db_pool_free(g_pool);
	}
	fx_pg_drop(g_db);
	return 0;
}

static void age(const char *id, int seconds)
{
	char sql[160];

	snprintf(sql, sizeof sql,
	         "UPDATE gateway_instances SET heartbeat_at = now() - make_interval(secs => %d) "
	         "WHERE id = '%s'", seconds, id);
	assert_int_equal(sr_db_exec(g_c, sql), 0);
}

static const char *owner_of(const char *key)
{
	static char out[64];
	const char *params[1] = { key };
	PGresult *r = PQexecParams(g_c, "SELECT coalesce(owner, '') FROM idempotency_keys WHERE key = $1",
	                           1, NULL, params, NULL, NULL, 0);

	assert_int_equal(PQntuples(r), 1);
	snprintf(out, sizeof out, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return out;
}

static void test_takeover_follows_heartbeats(void **state)
{
	char pay[72];

	(void)state;
	if (g_pool == NULL)
		skip();
	assert_int_equal(gw_store_instance_beat(g_c, GWI_A), 0);
	assert_int_equal(gw_store_instance_beat(g_c, GWI_A), 0); /* a renewal, not a second row */
	assert_int_equal(gw_store_instance_beat(g_c, GWI_B), 0);
	assert_int_equal(fx_pg_scalar(g_c, "SELECT count(*) FROM gateway_instances", NULL), 2);
	assert_int_equal(gw_store_idem_claim_lease(g_c, MER, "k1", FP, "POST", "/v1/payments", 600,
	                                           GWI_A), 0);
	assert_int_equal(gw_store_idem_claim_lease(g_c, MER, "k1", FP, "POST", "/v1/payments", 600,
	                                           GWI_B), 1);
	/* A live owner (last beat 4 s ago, under GW_INSTANCE_DEAD_S) keeps it. */
	age(GWI_A, GW_INSTANCE_DEAD_S - 1);
	assert_int_equal(gw_store_idem_takeover(g_c, MER, "k1", 600, GWI_B, pay), 1);
	assert_string_equal(owner_of("k1"), GWI_A);
	/* Dead (no beat for GW_INSTANCE_DEAD_S + 1 s): taken over at once,
	 * although its lease has 10 minutes to run; exactly once. */
	age(GWI_A, GW_INSTANCE_DEAD_S + 1);
	assert_int_equal(gw_store_idem_takeover(g_c, MER, "k1", 600, GWI_B, pay), 0);
	assert_string_equal(pay, "");
	assert_string_equal(owner_of("k1"), GWI_B);
	assert_int_equal(gw_store_idem_takeover(g_c, MER, "k1", 600, GWI_C, pay), 1);
	/* A clean stop deregisters: its claims are free at once. */
	assert_int_equal(gw_store_instance_remove(g_c, GWI_B), 0);
	assert_int_equal(gw_store_idem_takeover(g_c, MER, "k1", 600, GWI_C, pay), 0);
	assert_string_equal(owner_of("k1"), GWI_C);
	/* An owner that never registered is no owner alive. */
	assert_int_equal(gw_store_idem_takeover(g_c, MER, "k1", 600, GWI_A, pay), 0);
	/* A completed key is never taken over. */
	assert_int_equal(gw_store_idem_complete(g_c, MER, "k1", 201, "{}"), 0);
	assert_int_equal(gw_store_idem_takeover(g_c, MER, "k1", 600, GWI_B, pay), 1);
}

static void test_ownerless_claim_waits_for_its_lease(void **state)
{
	char pay[72];

	(void)state;
	if (g_pool == NULL)
		skip();
	assert_int_equal(gw_store_idem_claim_lease(g_c, MER, "k2", FP, "POST", "/v1/payments", 600,
	                                           NULL), 0);
	assert_int_equal(gw_store_idem_takeover(g_c, MER, "k2", 600, GWI_B, pay), 1);
	assert_int_equal(sr_db_exec(g_c, "UPDATE idempotency_keys SET lease_until = now() - interval "
	                                 "'1 second' WHERE key = 'k2'"), 0);
	assert_int_equal(gw_store_idem_takeover(g_c, MER, "k2", 600, GWI_B, pay), 0);
}

static void test_long_dead_instances_swept(void **state)
{
	(void)state;
	if (g_pool == NULL)
		skip();
	assert_int_equal(gw_store_instance_beat(g_c, GWI_C), 0);
	age(GWI_C, 2 * 86400);
	assert_int_equal(gw_store_instance_beat(g_c, GWI_A), 0);
	assert_int_equal(fx_pg_scalar(g_c, "SELECT count(*) FROM gateway_instances WHERE id = $1",
	                              GWI_C), 0);
	assert_int_equal(fx_pg_scalar(g_c, "SELECT count(*) FROM gateway_instances WHERE id = $1",
	                              GWI_A), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_takeover_follows_heartbeats),
		cmocka_unit_test(test_ownerless_claim_waits_for_its_lease),
		cmocka_unit_test(test_long_dead_instances_swept),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
