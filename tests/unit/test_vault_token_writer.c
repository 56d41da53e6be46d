/*
 * test_vault_token_writer: token inserts in multi-row batches and the group
 * committer over them (ADR 0101), against a scratch database made for the
 * run in the dev PostgreSQL cluster (SR_TEST_PG_PORT, default 55432) with
 * every vault migration applied. Skipped when no PostgreSQL answers.
 *  - A batch commits all its rows in one transaction.
 *  - A batch with one failing row (a legacy number taken) writes none of
 *    them, reports "nothing written", and leaves the connection idle.
 *  - More rows than VAULT_TOKEN_BATCH_MAX, or none, are refused.
 *  - Many threads inserting through one writer: every row committed once,
 *    in fewer transactions than rows, each caller told only about its own
 *    row; a colliding legacy number fails that row alone with -3.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/sr_db.h"
#include "tests/unit/fixture.h"
#include "vault/store/vault_store.h"
#include "vault/tokens/vault_token.h"
#include "vault/tokens/vault_token_writer.h"

#define MER "mer_writertest"
#define THREADS 12
#define PER_THREAD 40

static char g_db[64];
static struct sr_db_pool *g_pool = NULL;

static int group_setup(void **state)
{
	char err[256] = "";
	PGconn *c = NULL;
	int rc;

	(void)state;
	rc = fx_pg_create(g_db, sizeof g_db, "sr_writer_test", "vault");
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	g_pool = fx_pg_pool(g_db, 4, err, sizeof err);
	if (g_pool == NULL)
		return -1;
	c = sr_db_acquire(g_pool);
	rc = sr_db_exec(c, "INSERT INTO merchants (id, publishable_key_sha256) VALUES ('" MER "', "
	                "repeat('b', 64))");
	sr_db_release(g_pool, c);
	return rc;
}

static int group_teardown(void **state)
{
	(void)state;
	sr_db_pool_free(g_pool);
	fx_pg_drop(g_db);
	return 0;
}

#define NEED_DB() do { if (g_pool == NULL) skip(); } while (0)

/* A row as vault_tokens_create makes one (ciphertext bytes are opaque to
 * the store); legacy non-NULL gives it that legacy number. */
static void make_row(struct vault_token_row *r, const char *legacy)
{
	size_t i;

	memset(r, 0, sizeof *r);
	assert_int_equal(vault_token_new(r->id, sizeof r->id), 0);
	snprintf(r->merchant_id, sizeof r->merchant_id, "%s", MER);
	snprintf(r->brand, sizeof r->brand, "visa");
	memcpy(r->last4, "4242", 5);
	r->exp_month = 12;
	r->exp_year = 2031;
	snprintf(r->fingerprint, sizeof r->fingerprint, "fp_%032x", 7u);
	snprintf(r->key_version, sizeof r->key_version, "pan-enc-v1");
	snprintf(r->fp_version, sizeof r->fp_version, "fp-hmac-v1");
	for (i = 0; i < sizeof r->pan_iv; i++)
		r->pan_iv[i] = (uint8_t)i;
	r->pan_ct_len = 32;
	memset(r->pan_ct, 0xA5, r->pan_ct_len);
	r->created_at = 1800000000;
	if (legacy != NULL)
		snprintf(r->legacy_number, sizeof r->legacy_number, "%s", legacy);
}

static long long count_sql(const char *sql, const char *arg)
{
	PGconn *c = sr_db_acquire(g_pool);
	long long n = fx_pg_scalar(c, sql, arg);

	sr_db_release(g_pool, c);
	return n;
}

static long long present(const char *id)
{
	return count_sql("SELECT count(*) FROM tokens WHERE id = $1", id);
}

static void test_batch_all_or_none(void **state)
{
	struct vault_token_row rows[5];
	const struct vault_token_row *p[5];
	char err[256] = "";
	PGconn *c = NULL;
	int i;

	(void)state;
	NEED_DB();
	for (i = 0; i < 5; i++) {
		make_row(&rows[i], NULL);
		p[i] = &rows[i];
	}
	c = sr_db_acquire(g_pool);
	assert_int_equal(vault_store_token_insert_batch(c, p, 5, err, sizeof err), 0);
	sr_db_release(g_pool, c);
	for (i = 0; i < 5; i++)
		assert_int_equal(present(rows[i].id), 1);

	/* Row 2 takes a legacy number already used: none of the 4 is written. */
	make_row(&rows[0], "4242420000000001");
	c = sr_db_acquire(g_pool);
	assert_int_equal(vault_store_token_insert(c, &rows[0], err, sizeof err), 0);
	for (i = 0; i < 4; i++)
		make_row(&rows[i + 1], i == 1 ? "4242420000000001" : NULL);
	assert_int_equal(vault_store_token_insert_batch(c, p + 1, 4, err, sizeof err), -1);
	assert_non_null(strstr(err, "unique"));
	for (i = 1; i < 5; i++)
		assert_int_equal(present(rows[i].id), 0);
	/* The same connection is idle (the statement rolled back alone). */
	assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
	make_row(&rows[2], NULL);
	assert_int_equal(vault_store_token_insert_batch(c, p + 1, 4, err, sizeof err), 0);
	sr_db_release(g_pool, c);
	for (i = 1; i < 5; i++)
		assert_int_equal(present(rows[i].id), 1);
	assert_int_equal(vault_store_token_insert_batch(NULL, p, 1, err, sizeof err), -1);
	/* The largest batch: 64 rows x 19 parameters in one statement. */
	{
		static struct vault_token_row big[VAULT_TOKEN_BATCH_MAX];
		static const struct vault_token_row *bp[VAULT_TOKEN_BATCH_MAX];
		long long before = count_sql("SELECT count(*) FROM tokens", NULL);

		for (i = 0; i < VAULT_TOKEN_BATCH_MAX; i++) {
			make_row(&big[i], NULL);
			bp[i] = &big[i];
		}
		c = sr_db_acquire(g_pool);
		assert_int_equal(vault_store_token_insert_batch(c, bp, VAULT_TOKEN_BATCH_MAX, err,
		                                                sizeof err), 0);
		sr_db_release(g_pool, c);
		assert_int_equal(count_sql("SELECT count(*) FROM tokens", NULL),
		                 before + VAULT_TOKEN_BATCH_MAX);
		assert_int_equal(present(big[VAULT_TOKEN_BATCH_MAX - 1].id), 1);
	}
	c = sr_db_acquire(g_pool);
	assert_int_equal(vault_store_token_insert_batch(c, p, 0, err, sizeof err), -1);
	assert_int_equal(vault_store_token_insert_batch(c, p, VAULT_TOKEN_BATCH_MAX + 1, err,
	                                                sizeof err), -1);
	sr_db_release(g_pool, c);
}

struct worker {
	struct vault_token_writer *w;
	struct vault_token_row rows[PER_THREAD];
	int rc[PER_THREAD];
	const char *legacy;     /* the thread's first row takes it, when set */
};

static void *work(void *arg)
{
	struct worker *k = arg;
	char err[256];
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		make_row(&k->rows[i], i == 0 ? k->legacy : NULL);
		k->rc[i] = vault_token_writer_insert(k->w, &k->rows[i], err, sizeof err);
	}
	return NULL;
}

static void test_writer_concurrent(void **state)
{
	static struct worker k[THREADS];
	pthread_t t[THREADS];
	unsigned long long batches = 0, rows = 0;
	long long before;
	char err[256] = "";
	struct vault_token_row taken;
	struct vault_token_writer *w = NULL;
	int i, j, ok = 0;

	(void)state;
	NEED_DB();
	assert_null(vault_token_writer_new(NULL, 4));
	assert_null(vault_token_writer_new(g_pool, 0));
	w = vault_token_writer_new(g_pool, THREADS);
	assert_non_null(w);
	assert_int_equal(vault_token_writer_insert(w, NULL, err, sizeof err), -1);
	make_row(&taken, "4242420000000002");
	assert_int_equal(vault_token_writer_insert(w, &taken, err, sizeof err), 0);
	before = count_sql("SELECT count(*) FROM tokens", NULL);
	for (i = 0; i < THREADS; i++) {
		k[i].w = w;
		k[i].legacy = i == 3 ? "4242420000000002" : NULL;
		assert_int_equal(pthread_create(&t[i], NULL, work, &k[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < THREADS; i++) {
		for (j = 0; j < PER_THREAD; j++) {
			if (i == 3 && j == 0) {
				assert_int_equal(k[i].rc[j], -3);   /* the collision, alone */
				assert_int_equal(present(k[i].rows[j].id), 0);
				continue;
			}
			assert_int_equal(k[i].rc[j], 0);
			assert_int_equal(present(k[i].rows[j].id), 1);
			ok++;
		}
	}
	assert_int_equal(count_sql("SELECT count(*) FROM tokens", NULL), before + ok);
	vault_token_writer_stats(w, &batches, &rows);
	assert_int_equal(rows, (unsigned long long)ok + 1);
	/* Shared commits: fewer transactions than rows (12 threads at once). */
	assert_true(batches < rows);
	vault_token_writer_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_all_or_none),
		cmocka_unit_test(test_writer_concurrent),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
