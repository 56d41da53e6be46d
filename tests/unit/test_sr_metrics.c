/* Unit tests for common/sr_metrics: exposition format, labels, redaction,
 * histograms, collectors, refusals of bad definitions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sr_metrics.h"

static char *render(void)
{
	size_t len = 0;
	char *t = sr_metrics_render(&len);

	assert_non_null(t);
	assert_int_equal(strlen(t), len);
	return t;
}

static void test_counter_and_format(void **state)
{
	static const char *const l[] = { "route", "status", NULL };
	struct sr_metric *c = sr_metrics_counter("t_requests_total", "Requests.\nSecond \\ line.", l);
	char *t = NULL;

	(void)state;
	assert_non_null(c);
	/* Same name, same shape: the same family. */
	assert_ptr_equal(sr_metrics_counter("t_requests_total", "x", l), c);
	sr_metrics_add(c, 1, "/v1/payments", "201");
	sr_metrics_add(c, 2, "/v1/payments", "201");
	sr_metrics_add(c, 1, "/v1/pay\"ments\\\n", "400");
	sr_metrics_add(c, -5, "/v1/payments", "201"); /* counters never go down */
	t = render();
	assert_non_null(strstr(t, "# HELP t_requests_total Requests.\\nSecond \\\\ line.\n"
	                          "# TYPE t_requests_total counter\n"
	                          "t_requests_total{route=\"/v1/payments\",status=\"201\"} 3\n"
	                          "t_requests_total{route=\"/v1/pay\\\"ments\\\\\\n\",status=\"400\"} 1\n"));
	free(t);
}

static void test_redaction(void **state)
{
	static const char *const l[] = { "v", NULL };
	struct sr_metric *c = sr_metrics_counter("t_redact_total", "", l);
	char *t = NULL;

	(void)state;
	sr_metrics_add(c, 1, "4242424242424242");
	sr_metrics_add(c, 1, "/v1/x/123456789012/y");
	sr_metrics_add(c, 1, "tok_abc");
	sr_metrics_add(c, 1, "sk_test_abc");
	sr_metrics_add(c, 1, "pk_live_x");
	sr_metrics_add(c, 1, "12345678901");  /* 11 digits: a status or count, kept */
	sr_metrics_add(c, 1, NULL);
	t = render();
	assert_null(strstr(t, "4242"));
	assert_null(strstr(t, "123456789012"));
	assert_null(strstr(t, "tok_"));
	assert_null(strstr(t, "sk_"));
	assert_null(strstr(t, "pk_"));
	assert_non_null(strstr(t, "t_redact_total{v=\"redacted\"} 5\n"));
	assert_non_null(strstr(t, "t_redact_total{v=\"12345678901\"} 1\n"));
	assert_non_null(strstr(t, "t_redact_total{v=\"\"} 1\n"));
	free(t);
}

static void test_histogram(void **state)
{
	static const double b[] = { 0.1, 1, 10 };
	static const char *const l[] = { "op", NULL };
	struct sr_metric *h = sr_metrics_histogram("t_latency_seconds", "Latency.", l, b, 3);
	char *t = NULL;

	(void)state;
	assert_non_null(h);
	sr_metrics_observe(h, 0.05, "enc");
	sr_metrics_observe(h, 0.1, "enc");   /* le is inclusive */
	sr_metrics_observe(h, 5, "enc");
	sr_metrics_observe(h, 50, "enc");
	t = render();
	assert_non_null(strstr(t, "# TYPE t_latency_seconds histogram\n"
	                          "t_latency_seconds_bucket{op=\"enc\",le=\"0.1\"} 2\n"
	                          "t_latency_seconds_bucket{op=\"enc\",le=\"1\"} 2\n"
	                          "t_latency_seconds_bucket{op=\"enc\",le=\"10\"} 3\n"
	                          "t_latency_seconds_bucket{op=\"enc\",le=\"+Inf\"} 4\n"
	                          "t_latency_seconds_sum{op=\"enc\"} 55.15\n"
	                          "t_latency_seconds_count{op=\"enc\"} 4\n"));
	free(t);
}

static int g_collected;

static void collector(void *arg)
{
	static const char *const none[] = { NULL };

	g_collected++;
	sr_metrics_set(sr_metrics_gauge("t_depth", "Depth.", none), *(double *)arg);
}

static void test_gauge_collector(void **state)
{
	static double depth = 7;
	char *t = NULL;

	(void)state;
	sr_metrics_add_collector(collector, &depth);
	t = render();
	assert_int_equal(g_collected, 1);
	assert_non_null(strstr(t, "# TYPE t_depth gauge\nt_depth 7\n"));
	free(t);
	depth = 2.5;
	t = render();
	assert_non_null(strstr(t, "t_depth 2.5\n"));
	free(t);
}

static void test_bad_definitions(void **state)
{
	static const char *const l[] = { "a", NULL };
	static const char *const le[] = { "le", NULL };
	static const char *const badl[] = { "1a", NULL };
	static const char *const five[] = { "a", "b", "c", "d", "e", NULL };
	static const double unsorted[] = { 1, 0.5 };

	(void)state;
	assert_null(sr_metrics_counter("no_suffix", "", NULL));
	assert_null(sr_metrics_counter("1bad_total", "", NULL));
	assert_null(sr_metrics_counter("bad-name_total", "", NULL));
	assert_null(sr_metrics_counter("t_le_total", "", le));
	assert_null(sr_metrics_counter("t_badl_total", "", badl));
	assert_null(sr_metrics_counter("t_five_total", "", five));
	assert_null(sr_metrics_histogram("t_unsorted", "", NULL, unsorted, 2));
	assert_non_null(sr_metrics_gauge("t_shape", "", l));
	assert_null(sr_metrics_counter("t_shape", "", l));  /* other kind, same name */
	/* Wrong kind of update is ignored; NULL family is a no-op. */
	sr_metrics_observe(sr_metrics_gauge("t_shape", "", l), 1, "x");
	sr_metrics_add(NULL, 1);
}

static void test_series_limit(void **state)
{
	static const char *const l[] = { "i", NULL };
	struct sr_metric *c = sr_metrics_counter("t_many_total", "", l);
	char v[16];
	char *t = NULL;
	int i;

	(void)state;
	for (i = 0; i < SR_METRICS_MAX_SERIES + 10; i++) {
		snprintf(v, sizeof v, "v%d", i);
		sr_metrics_add(c, 1, v);
	}
	t = render();
	assert_non_null(strstr(t, "strongroom_metrics_series_dropped_total{family=\"t_many_total\"} 10\n"));
	assert_null(strstr(t, "{i=\"v512\"}"));
	free(t);
}

static void *hammer(void *arg)
{
	static const char *const l[] = { "t", NULL };
	struct sr_metric *c = sr_metrics_counter("t_threads_total", "", l);
	int i;

	(void)arg;
	for (i = 0; i < 10000; i++)
		sr_metrics_add(c, 1, "x");
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t th[4];
	char *t = NULL;
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, NULL), 0);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	t = render();
	assert_non_null(strstr(t, "t_threads_total{t=\"x\"} 40000\n"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_and_format),
		cmocka_unit_test(test_redaction),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_gauge_collector),
		cmocka_unit_test(test_bad_definitions),
		cmocka_unit_test(test_series_limit),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
