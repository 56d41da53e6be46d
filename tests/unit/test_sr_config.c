/* Unit tests for common/sr_config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sr_config.h"

static const char *const allowed[] = { "listen", "port", "threads", "db_password_file", NULL };

static char g_path[64];

static void write_cfg(const char *text)
{
	FILE *f = NULL;
	int fd;

	snprintf(g_path, sizeof g_path, "/tmp/sr_config_test.XXXXXX");
	fd = mkstemp(g_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_good(void **state)
{
	char err[256] = "";
	json_t *cfg = NULL;

	(void)state;
	write_cfg("{\n  \"listen\": \"127.0.0.1\",\n  \"port\": 8443\n}\n");
	cfg = sr_config_load(g_path, allowed, err, sizeof err);
	unlink(g_path);
	assert_non_null(cfg);
	assert_string_equal(sr_config_str(cfg, "listen", "x"), "127.0.0.1");
	assert_int_equal(sr_config_int(cfg, "port", 1), 8443);
	/* Defaults for absent keys. */
	assert_int_equal(sr_config_int(cfg, "threads", 4), 4);
	assert_string_equal(sr_config_str(cfg, "db_password_file", "def"), "def");
	assert_null(sr_config_str(cfg, "db_password_file", NULL));
	/* Wrong type falls back to the default too. */
	assert_int_equal(sr_config_int(cfg, "listen", 7), 7);
	assert_string_equal(sr_config_str(cfg, "port", "d"), "d");
	json_decref(cfg);
}

static void test_unknown_key(void **state)
{
	char err[256] = "";
	json_t *cfg = NULL;

	(void)state;
	write_cfg("{\"listen\": \"127.0.0.1\", \"prot\": 8443}");
	cfg = sr_config_load(g_path, allowed, err, sizeof err);
	unlink(g_path);
	assert_null(cfg);
	assert_non_null(strstr(err, "unknown key 'prot'"));
	assert_non_null(strstr(err, g_path));
	/* A near miss names the key meant (issue 18). */
	assert_non_null(strstr(err, "did you mean 'port'?"));
	/* Nothing near: no guess. */
	write_cfg("{\"completely_different\": 1}");
	cfg = sr_config_load(g_path, allowed, err, sizeof err);
	unlink(g_path);
	assert_null(cfg);
	assert_non_null(strstr(err, "unknown key 'completely_different'"));
	assert_null(strstr(err, "did you mean"));
	/* A missing underscore, a doubled letter, a swapped pair. */
	write_cfg("{\"db_passwordfile\": 1}");
	cfg = sr_config_load(g_path, allowed, err, sizeof err);
	unlink(g_path);
	assert_null(cfg);
	assert_non_null(strstr(err, "did you mean 'db_password_file'?"));
	write_cfg("{\"thraeds\": 1}");
	cfg = sr_config_load(g_path, allowed, err, sizeof err);
	unlink(g_path);
	assert_null(cfg);
	assert_non_null(strstr(err, "did you mean 'threads'?"));
}

static void test_invalid_json_line(void **state)
{
	char err[256] = "";
	char want[80];
	json_t *cfg = NULL;

	(void)state;
	write_cfg("{\n  \"listen\": \"127.0.0.1\",\n  \"port\": 84 43\n}\n");
	cfg = sr_config_load(g_path, allowed, err, sizeof err);
	unlink(g_path);
	assert_null(cfg);
	snprintf(want, sizeof want, "%s:3:", g_path);
	assert_non_null(strstr(err, want));
}

static void test_duplicate_key(void **state)
{
	char err[256] = "";
	json_t *cfg = NULL;

	(void)state;
	write_cfg("{\"port\": 1,\n\"port\": 2}");
	cfg = sr_config_load(g_path, allowed, err, sizeof err);
	unlink(g_path);
	assert_null(cfg);
	assert_true(strlen(err) > 0);
}

/* The offending key's line: unknown keys and sr_config_error. Keys nested
 * in sub-objects, inside strings or escaped must not confuse the scan. */
static void test_key_lines(void **state)
{
	char err[256] = "";
	char want[96];
	json_t *cfg = NULL;

	(void)state;
	write_cfg("{\n  \"listen\": \"a \\\"port\\\": \\\"x\",\n"
	          "  \"threads\": {\"port\": 1,\n \"x\": [\"port\"]},\n"
	          "  \"p\\u006frt\": 8443,\n  \"bogus\": 1\n}\n");
	cfg = sr_config_load(g_path, allowed, err, sizeof err);
	assert_null(cfg);
	snprintf(want, sizeof want, "%s:6: unknown key 'bogus'", g_path);
	assert_string_equal(err, want);
	/* "p\u006frt" is "port" on line 5, not the nested one on line 3. */
	assert_int_equal(sr_config_key_line(g_path, "port"), 5);
	assert_int_equal(sr_config_key_line(g_path, "listen"), 2);
	assert_int_equal(sr_config_key_line(g_path, "x"), 0);
	assert_int_equal(sr_config_key_line(g_path, "absent"), 0);
	sr_config_error(err, sizeof err, g_path, "threads", "must be %s", "an integer");
	snprintf(want, sizeof want, "%s:3: threads: must be an integer", g_path);
	assert_string_equal(err, want);
	sr_config_error(err, sizeof err, g_path, "tls_cert", "is required");
	snprintf(want, sizeof want, "%s: tls_cert: is required", g_path);
	assert_string_equal(err, want);
	unlink(g_path);
	assert_int_equal(sr_config_key_line("/nonexistent/x.json", "port"), 0);
}

static void test_not_object_and_missing(void **state)
{
	char err[256] = "";
	json_t *cfg = NULL;

	(void)state;
	write_cfg("[1, 2]");
	cfg = sr_config_load(g_path, allowed, err, sizeof err);
	unlink(g_path);
	assert_null(cfg);
	assert_non_null(strstr(err, "object"));

	err[0] = '\0';
	cfg = sr_config_load("/nonexistent/strongroom.json", allowed, err, sizeof err);
	assert_null(cfg);
	assert_non_null(strstr(err, "/nonexistent/strongroom.json"));
	/* The path and why, not a line number (was "...json:-1: unable to open"). */
	assert_null(strstr(err, ":-1"));
	assert_non_null(strstr(err, "cannot read the configuration file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_invalid_json_line),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_key_lines),
		cmocka_unit_test(test_not_object_and_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
