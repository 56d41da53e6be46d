/* Unit tests for common/sr_log: one JSON object per line on stderr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/sr_log.h"

/* Run fn with stderr redirected to a pipe; return what was written. */
static char *capture(void (*fn)(void))
{
	static char buf[8192];
	int p[2];
	int saved;
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(p[1], 2) >= 0);
	close(p[1]);
	fn();
	dup2(saved, 2);
	close(saved);
	n = read(p[0], buf, sizeof buf - 1);
	close(p[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	return buf;
}

static void log_one(void)
{
	sr_log(SR_LOG_WARN, "req_abc", "token.created", "{s:s, s:I, s:s}", "token", "tok_1",
	       "n", (json_int_t)42, "event", "override-attempt");
}

static void log_two(void)
{
	sr_log(SR_LOG_INFO, NULL, "a.b", NULL);
	sr_log(SR_LOG_ERROR, NULL, "c.d", "{s:s}", "k", "line\nbreak");
}

static void test_fields(void **state)
{
	char *out = NULL;
	json_t *j = NULL;
	const char *ts = NULL;

	(void)state;
	sr_log_init("testd");
	out = capture(log_one);
	/* Exactly one line, newline-terminated. */
	assert_int_equal(out[strlen(out) - 1], '\n');
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
	assert_string_equal(json_string_value(json_object_get(j, "daemon")), "testd");
	assert_string_equal(json_string_value(json_object_get(j, "event")), "token.created");
	assert_string_equal(json_string_value(json_object_get(j, "request_id")), "req_abc");
	assert_string_equal(json_string_value(json_object_get(j, "token")), "tok_1");
	assert_int_equal(json_integer_value(json_object_get(j, "n")), 42);
	ts = json_string_value(json_object_get(j, "ts"));
	assert_non_null(ts);
	/* RFC 3339 UTC with milliseconds: 2026-01-02T03:04:05.678Z */
	assert_int_equal(strlen(ts), 24);
	assert_int_equal(ts[4], '-');
	assert_int_equal(ts[10], 'T');
	assert_int_equal(ts[19], '.');
	assert_int_equal(ts[23], 'Z');
	json_decref(j);
}

static void test_two_lines_no_request_id(void **state)
{
	char *out = NULL;
	char *nl = NULL;
	json_t *j = NULL;

	(void)state;
	out = capture(log_two);
	nl = strchr(out, '\n');
	assert_non_null(nl);
	*nl = '\0';
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_null(json_object_get(j, "request_id"));
	assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
	json_decref(j);
	/* The embedded newline is escaped: the second record is one line. */
	j = json_loads(nl + 1, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "k")), "line\nbreak");
	assert_ptr_equal(strchr(nl + 1, '\n'), nl + 1 + strlen(nl + 1) - 1);
	json_decref(j);
}

static void log_odd(void)
{
	static char big[3000];

	memset(big, 'x', sizeof big - 1);
	/* An event needing escapes, a line over the stack buffer, a bad
	 * format, an empty object: each still one valid JSON line. */
	sr_log(SR_LOG_INFO, "req_q", "odd\"event\n", "{s:s}", "k", "v");
	sr_log(SR_LOG_INFO, NULL, "big.line", "{s:s, s:s}", "big", big, "ts", "not-a-ts");
	sr_log(SR_LOG_INFO, NULL, "bad.format", "{s:s", "k", "v");
	sr_log(SR_LOG_INFO, NULL, "empty.extra", "{}");
}

static void test_escapes_long_lines_and_bad_formats(void **state)
{
	char *out = NULL;
	char *line = NULL;
	char *nl = NULL;
	json_t *j[4] = { NULL };
	int i;

	(void)state;
	sr_log_init("testd");
	out = capture(log_odd);
	for (i = 0, line = out; i < 4; i++, line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		j[i] = json_loads(line, 0, NULL);
		assert_non_null(j[i]);
		assert_string_equal(json_string_value(json_object_get(j[i], "daemon")), "testd");
	}
	assert_string_equal(line, "");   /* exactly four lines */
	assert_string_equal(json_string_value(json_object_get(j[0], "event")), "odd\"event\n");
	assert_string_equal(json_string_value(json_object_get(j[0], "k")), "v");
	assert_string_equal(json_string_value(json_object_get(j[0], "correlation_id")), "req_q");
	assert_int_equal(strlen(json_string_value(json_object_get(j[1], "big"))), 2999);
	assert_int_equal(strlen(json_string_value(json_object_get(j[1], "ts"))), 24);
	assert_true(json_is_true(json_object_get(j[2], "log_format_error")));
	assert_null(json_object_get(j[2], "k"));
	assert_string_equal(json_string_value(json_object_get(j[3], "event")), "empty.extra");
	assert_int_equal(json_object_size(j[3]), 4);
	for (i = 0; i < 4; i++)
		json_decref(j[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_two_lines_no_request_id),
		cmocka_unit_test(test_escapes_long_lines_and_bad_formats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
