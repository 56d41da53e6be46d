/*
 * Unit tests for common/sr_gc (group commit, ADR 0083): every submitter's
 * record is written exactly once, in one strict order, batches never
 * overlap, concurrent submitters share transactions, a rolled-back batch is
 * retried one record at a time, an unknown outcome is never retried.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "common/sr_gc.h"

#define THREADS 32
#define PER_THREAD 40
#define TOTAL (THREADS * PER_THREAD)

/* A fake chain: the batch callback appends item ids in order. */
struct chain {
	atomic_int inside;          /* callbacks running now (must stay <= 1) */
	int overlap;                /* set when two callbacks ran at once */
	int log[TOTAL + 64];        /* ids in commit order */
	int n;
	int calls;
	int max_batch_seen;
	int bad_id;                 /* a batch holding it fails (mode) */
	int mode;                   /* SR_GC_RETRY or SR_GC_FAILED for bad batches */
	int sleep_us;               /* time one "COMMIT" takes */
};

struct item {
	int id;
	long long seq;              /* out: position in the chain (1-based) */
};

static int batch_fn(void *arg, void *const *items, size_t n)
{
	struct chain *c = arg;
	size_t i;
	int rc = SR_GC_OK;

	if (atomic_fetch_add(&c->inside, 1) != 0)
		c->overlap = 1;
	c->calls++;
	if ((int)n > c->max_batch_seen)
		c->max_batch_seen = (int)n;
	for (i = 0; i < n; i++)
		if (((struct item *)items[i])->id == c->bad_id)
			rc = c->mode;
	if (rc == SR_GC_OK) {
		for (i = 0; i < n; i++) {
			struct item *it = items[i];

			c->log[c->n++] = it->id;
			it->seq = c->n;
		}
	}
	if (c->sleep_us > 0) {
		struct timespec ts = { 0, (long)c->sleep_us * 1000L };

		nanosleep(&ts, NULL);
	}
	atomic_fetch_sub(&c->inside, 1);
	return rc;
}

struct worker {
	struct sr_gc *gc;
	int first_id;
	int rc[PER_THREAD];
	long long seq[PER_THREAD];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		struct item it = { w->first_id + i, 0 };

		w->rc[i] = sr_gc_submit(w->gc, &it);
		w->seq[i] = it.seq;
	}
	return NULL;
}

static void test_single(void **state)
{
	static struct chain c;
	struct sr_gc *gc = NULL;
	struct item it = { 7, 0 };
	unsigned long long b = 0, r = 0;

	(void)state;
	memset(&c, 0, sizeof c);
	c.bad_id = -1;
	gc = sr_gc_new("test", batch_fn, &c, 8);
	assert_non_null(gc);
	assert_int_equal(sr_gc_submit(gc, &it), SR_GC_OK);
	assert_int_equal(it.seq, 1);
	assert_int_equal(c.n, 1);
	sr_gc_stats(gc, &b, &r);
	assert_int_equal(b, 1);
	assert_int_equal(r, 1);
	sr_gc_free(gc);
	assert_null(sr_gc_new("test", NULL, &c, 8));
	assert_null(sr_gc_new("test", batch_fn, &c, 0));
}

/* 32 threads x 40 records: each committed once, batches never overlap,
 * each submitter's records appear in its own order, and they were batched. */
static void test_concurrent_chain(void **state)
{
	static struct chain c;
	static struct worker w[THREADS];
	static int seen[TOTAL];
	pthread_t th[THREADS];
	struct sr_gc *gc = NULL;
	unsigned long long b = 0, r = 0;
	int i, k;

	(void)state;
	memset(&c, 0, sizeof c);
	memset(seen, 0, sizeof seen);
	c.bad_id = -1;
	c.sleep_us = 500;
	gc = sr_gc_new("test", batch_fn, &c, 16);
	assert_non_null(gc);
	for (i = 0; i < THREADS; i++) {
		w[i].gc = gc;
		w[i].first_id = i * PER_THREAD;
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(c.overlap, 0);
	assert_int_equal(c.n, TOTAL);
	for (i = 0; i < TOTAL; i++) {
		assert_true(c.log[i] >= 0 && c.log[i] < TOTAL);
		seen[c.log[i]]++;
	}
	for (i = 0; i < TOTAL; i++)
		assert_int_equal(seen[i], 1);
	for (i = 0; i < THREADS; i++)
		for (k = 0; k < PER_THREAD; k++) {
			assert_int_equal(w[i].rc[k], SR_GC_OK);
			/* The seq handed back is the record's place in the chain. */
			assert_int_equal(c.log[w[i].seq[k] - 1], w[i].first_id + k);
			if (k > 0)
				assert_true(w[i].seq[k] > w[i].seq[k - 1]);
		}
	assert_true(c.max_batch_seen <= 16);
	assert_true(c.max_batch_seen > 1);          /* records did share transactions */
	assert_true(c.calls < TOTAL);
	sr_gc_stats(gc, &b, &r);
	assert_int_equal(r, TOTAL);
	assert_int_equal(b, (unsigned long long)c.calls);
	sr_gc_free(gc);
}

/* A batch rolled back (SR_GC_RETRY) is written again one record per
 * transaction: only the bad record fails. */
static void test_retry_isolates(void **state)
{
	static struct chain c;
	static struct worker w[THREADS];
	pthread_t th[THREADS];
	struct sr_gc *gc = NULL;
	int i, k, failed = 0;

	(void)state;
	memset(&c, 0, sizeof c);
	c.bad_id = 5 * PER_THREAD + 3;
	c.mode = SR_GC_RETRY;
	c.sleep_us = 300;
	gc = sr_gc_new("test", batch_fn, &c, 16);
	assert_non_null(gc);
	for (i = 0; i < THREADS; i++) {
		w[i].gc = gc;
		w[i].first_id = i * PER_THREAD;
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < THREADS; i++)
		for (k = 0; k < PER_THREAD; k++) {
			if (w[i].first_id + k == c.bad_id) {
				assert_int_equal(w[i].rc[k], SR_GC_RETRY);
				failed++;
			} else {
				assert_int_equal(w[i].rc[k], SR_GC_OK);
			}
		}
	assert_int_equal(failed, 1);
	assert_int_equal(c.n, TOTAL - 1);
	assert_int_equal(c.overlap, 0);
	sr_gc_free(gc);
}

/* An unknown outcome (SR_GC_FAILED) fails the whole batch, never retried. */
static void test_failed_not_retried(void **state)
{
	static struct chain c;
	struct sr_gc *gc = NULL;
	struct item it = { 9, 0 };

	(void)state;
	memset(&c, 0, sizeof c);
	c.bad_id = 9;
	c.mode = SR_GC_FAILED;
	gc = sr_gc_new("test", batch_fn, &c, 8);
	assert_non_null(gc);
	assert_int_equal(sr_gc_submit(gc, &it), SR_GC_FAILED);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.n, 0);
	assert_int_equal(sr_gc_submit(NULL, &it), SR_GC_FAILED);
	sr_gc_free(gc);
	sr_gc_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_concurrent_chain),
		cmocka_unit_test(test_retry_isolates),
		cmocka_unit_test(test_failed_not_retried),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
