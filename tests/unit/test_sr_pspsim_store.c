/*
 * Unit tests for tests/pspsim/pspsim_store (the simulator's journal, issue
 * 16, ADR 0115): what was committed and waited for is read back after a
 * reopen, the last put of an object wins, concurrent commits share
 * fdatasyncs and lose nothing, a torn last line is dropped, a corrupt line
 * before the end refuses the start, the directory is locked, fingerprints
 * are keyed. pspsim_store.c is test code of its own (linked into pspsim
 * only), so it is included here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "tests/pspsim/pspsim_store.c"
#include "tests/unit/fixture.h"

#define THREADS 16
#define PER_THREAD 25

static int collect(const char *id, json_t *v, void *arg)
{
	json_object_set((json_t *)arg, id, v);
	return 0;
}

static json_t *loaded(const char *kind)
{
	json_t *o = json_object();

	assert_int_equal(psim_store_each(kind, collect, o), 0);
	return o;
}

static void journal_path(const char *dir, char *out, size_t n)
{
	snprintf(out, n, "%s/journal.jsonl", dir);
}

static void append_raw(const char *dir, const char *text)
{
	char p[256];
	FILE *f = NULL;

	journal_path(dir, p, sizeof p);
	f = fopen(p, "a");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void commit_one(const char *kind, const char *id, json_int_t n)
{
	json_t *v = json_pack("{s:I}", "n", n);

	psim_store_put(kind, id, v);
	json_decref(v);
	psim_store_commit();
	psim_store_wait();
}

static void test_round_trip_last_put_wins(void **state)
{
	char dir[128], err[256] = "";
	json_t *o = NULL;

	(void)state;
	assert_int_equal(fx_tmpdir(dir, sizeof dir, "pspsim_store_"), 0);
	assert_int_equal(psim_store_open(dir, err, sizeof err), 0);
	psim_store_loaded_free();
	commit_one("pi", "pi_a", 1);
	commit_one("pi", "pi_b", 2);
	commit_one("pi", "pi_a", 3);          /* the same object again: the last one wins */
	commit_one("adyen_idem", "k:1", 4);    /* ids are any string */
	psim_store_close();

	assert_int_equal(psim_store_open(dir, err, sizeof err), 0);
	o = loaded("pi");
	assert_int_equal(json_object_size(o), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "pi_a"), "n")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "pi_b"), "n")), 2);
	json_decref(o);
	o = loaded("adyen_idem");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "k:1"), "n")), 4);
	json_decref(o);
	psim_store_close();
	fx_rmtree(dir);
}

static void *writer(void *arg)
{
	long t = (long)arg;
	char id[32];
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		snprintf(id, sizeof id, "t%ld_%d", t, i);
		commit_one("pm", id, t * 1000 + i);
	}
	return NULL;
}

static void test_concurrent_commits_share_syncs_lose_nothing(void **state)
{
	char dir[128], err[256] = "";
	pthread_t th[THREADS];
	json_t *o = NULL;
	json_t *st = NULL;
	long t;

	(void)state;
	assert_int_equal(fx_tmpdir(dir, sizeof dir, "pspsim_store_"), 0);
	assert_int_equal(psim_store_open(dir, err, sizeof err), 0);
	psim_store_loaded_free();
	for (t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, writer, (void *)t), 0);
	for (t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	st = psim_store_stats();
	assert_int_equal(json_integer_value(json_object_get(st, "journal_lines")), THREADS * PER_THREAD);
	/* Group commit: fewer fdatasyncs than lines (each line was waited for). */
	assert_true(json_integer_value(json_object_get(st, "journal_syncs")) < THREADS * PER_THREAD);
	json_decref(st);
	psim_store_close();

	assert_int_equal(psim_store_open(dir, err, sizeof err), 0);
	o = loaded("pm");
	assert_int_equal(json_object_size(o), THREADS * PER_THREAD);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "t7_24"), "n")), 7024);
	json_decref(o);
	psim_store_close();
	fx_rmtree(dir);
}

static void test_torn_tail_dropped_corrupt_middle_refused(void **state)
{
	char dir[128], err[256] = "";
	json_t *o = NULL;

	(void)state;
	assert_int_equal(fx_tmpdir(dir, sizeof dir, "pspsim_store_"), 0);
	assert_int_equal(psim_store_open(dir, err, sizeof err), 0);
	psim_store_loaded_free();
	commit_one("pi", "pi_a", 1);
	psim_store_close();
	/* A write cut by the crash: never answered, dropped. */
	append_raw(dir, "{\"put\":[{\"kind\":\"pi\",\"id\":\"pi_b\",\"v\":{\"n\":");
	assert_int_equal(psim_store_open(dir, err, sizeof err), 0);
	o = loaded("pi");
	assert_int_equal(json_object_size(o), 1);
	json_decref(o);
	psim_store_close();
	/* The compacted journal no longer holds it: a later line is not glued to it. */
	commit_one("pi", "pi_c", 5);    /* memory only now (closed): a no-op */
	append_raw(dir, "{\"put\":[{\"kind\":\"pi\",\"id\":\"pi_c\",\"v\":{\"n\":5}}]}\n");
	assert_int_equal(psim_store_open(dir, err, sizeof err), 0);
	o = loaded("pi");
	assert_int_equal(json_object_size(o), 2);
	json_decref(o);
	psim_store_close();
	/* An unreadable line before the last: corruption, the start is refused. */
	append_raw(dir, "not json\n{\"put\":[]}\n");
	assert_int_equal(psim_store_open(dir, err, sizeof err), -1);
	assert_non_null(strstr(err, "is not a journal record"));
	psim_store_close();
	/* A record of the wrong shape too. */
	fx_rmtree(dir);
	assert_int_equal(fx_tmpdir(dir, sizeof dir, "pspsim_store_"), 0);
	append_raw(dir, "{\"put\":[{\"kind\":\"pi\"}]}\n{\"put\":[]}\n");
	assert_int_equal(psim_store_open(dir, err, sizeof err), -1);
	psim_store_close();
	fx_rmtree(dir);
}

static void test_directory_locked(void **state)
{
	char dir[128], p[256], err[256] = "";
	int fd;

	(void)state;
	assert_int_equal(fx_tmpdir(dir, sizeof dir, "pspsim_store_"), 0);
	assert_int_equal(psim_store_open(dir, err, sizeof err), 0);
	snprintf(p, sizeof p, "%s/lock", dir);
	fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);   /* a second pspsim is refused */
	psim_store_close();
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
	fx_rmtree(dir);
}

static void test_memory_only_and_fingerprints(void **state)
{
	char a[65], b[65], c[65], d[65];

	(void)state;
	assert_int_equal(psim_store_open(NULL, NULL, 0), 0);
	commit_one("pi", "pi_a", 1);              /* no journal: no-ops, no wait */
	psim_store_fingerprint_key("sk_test_one", 11);
	psim_store_fingerprint("POST", "/v1/payment_intents", "amount=1", 8, a);
	psim_store_fingerprint("POST", "/v1/payment_intents", "amount=1", 8, b);
	psim_store_fingerprint("POST", "/v1/payment_intents", "amount=2", 8, c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), 64);
	psim_store_fingerprint_key("sk_test_two", 11);
	psim_store_fingerprint("POST", "/v1/payment_intents", "amount=1", 8, d);
	assert_string_not_equal(a, d);            /* keyed: the journal alone cannot test guesses */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_last_put_wins),
		cmocka_unit_test(test_concurrent_commits_share_syncs_lose_nothing),
		cmocka_unit_test(test_torn_tail_dropped_corrupt_middle_refused),
		cmocka_unit_test(test_directory_locked),
		cmocka_unit_test(test_memory_only_and_fingerprints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
