/* Unit tests for common/sr_secret (invariant 10, docs/invariants.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sr_secret.h"

static char g_path[64];

static void write_secret(const char *data, size_t len, mode_t mode)
{
	int fd;

	snprintf(g_path, sizeof g_path, "/tmp/sr_secret_test.XXXXXX");
	fd = mkstemp(g_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	assert_int_equal(chmod(g_path, mode), 0);
}

static void test_read_0600(void **state)
{
	char err[256] = "";
	size_t len = 99;
	char *s = NULL;

	(void)state;
	write_secret("s3cret-pin\n", 11, 0600);
	s = sr_secret_read_file(g_path, &len, err, sizeof err);
	unlink(g_path);
	assert_non_null(s);
	assert_string_equal(s, "s3cret-pin");
	assert_int_equal(len, 10);
	sr_secret_free(s);
}

static void test_newline_rules(void **state)
{
	char err[256] = "";
	size_t len = 0;
	char *s = NULL;

	(void)state;
	/* CRLF stripped, only one trailing newline. */
	write_secret("abc\r\n", 5, 0400);
	s = sr_secret_read_file(g_path, &len, err, sizeof err);
	unlink(g_path);
	assert_non_null(s);
	assert_string_equal(s, "abc");
	sr_secret_free(s);

	write_secret("abc\n\n", 5, 0600);
	s = sr_secret_read_file(g_path, &len, err, sizeof err);
	unlink(g_path);
	assert_non_null(s);
	assert_int_equal(len, 4);
	assert_memory_equal(s, "abc\n", 5);
	sr_secret_free(s);

	write_secret("nonl", 4, 0600);
	s = sr_secret_read_file(g_path, NULL, err, sizeof err);
	unlink(g_path);
	assert_non_null(s);
	assert_string_equal(s, "nonl");
	sr_secret_free(s);
}

static void test_refuse_group_readable(void **state)
{
	char err[256] = "";
	char *s = NULL;

	(void)state;
	write_secret("topsecretvalue\n", 15, 0644);
	s = sr_secret_read_file(g_path, NULL, err, sizeof err);
	assert_null(s);
	assert_non_null(strstr(err, g_path));
	assert_null(strstr(err, "topsecretvalue")); /* never the content */

	assert_int_equal(chmod(g_path, 0640), 0);
	s = sr_secret_read_file(g_path, NULL, err, sizeof err);
	assert_null(s);
	assert_int_equal(chmod(g_path, 0602), 0);
	s = sr_secret_read_file(g_path, NULL, err, sizeof err);
	assert_null(s);
	unlink(g_path);
}

static void test_missing_and_large(void **state)
{
	char err[256] = "";
	char big[5000];
	char *s = NULL;

	(void)state;
	s = sr_secret_read_file("/nonexistent/secret", NULL, err, sizeof err);
	assert_null(s);
	assert_non_null(strstr(err, "/nonexistent/secret"));

	memset(big, 'k', sizeof big);
	write_secret(big, sizeof big, 0600);
	s = sr_secret_read_file(g_path, NULL, err, sizeof err);
	unlink(g_path);
	assert_null(s);

	/* Exactly 4096 bytes is allowed. */
	write_secret(big, 4096, 0600);
	s = sr_secret_read_file(g_path, NULL, err, sizeof err);
	unlink(g_path);
	assert_non_null(s);
	assert_int_equal(strlen(s), 4096);
	sr_secret_free(s);
}

/* systemd credentials: relative paths resolve in $CREDENTIALS_DIRECTORY. */
static void test_credentials_directory(void **state)
{
	char err[256] = "";
	char out[128];
	char dir[64] = "/tmp/sr_creds_test.XXXXXX";
	char file[128];
	char *s = NULL;
	FILE *f = NULL;

	(void)state;
	unsetenv("CREDENTIALS_DIRECTORY");
	assert_int_equal(sr_secret_path("var/secrets/pin", out, sizeof out), 0);
	assert_string_equal(out, "var/secrets/pin");
	assert_non_null(mkdtemp(dir));
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	assert_int_equal(sr_secret_path("hsm-pin", out, sizeof out), 0);
	snprintf(file, sizeof file, "%s/hsm-pin", dir);
	assert_string_equal(out, file);
	/* Absolute paths are never redirected. */
	assert_int_equal(sr_secret_path("/etc/strongroom/pin", out, sizeof out), 0);
	assert_string_equal(out, "/etc/strongroom/pin");
	assert_int_equal(sr_secret_path("hsm-pin", out, 8), -1);
	assert_int_equal(sr_secret_path(NULL, out, sizeof out), -1);

	f = fopen(file, "w");
	assert_non_null(f);
	fputs("1234\n", f);
	fclose(f);
	assert_int_equal(chmod(file, 0400), 0);
	s = sr_secret_read_file("hsm-pin", NULL, err, sizeof err);
	assert_non_null(s);
	assert_string_equal(s, "1234");
	sr_secret_free(s);
	assert_int_equal(sr_secret_check_file("hsm-pin", out, sizeof out, err, sizeof err), 0);
	assert_string_equal(out, file);
	/* The check refuses what the read refuses, naming the resolved path. */
	assert_int_equal(chmod(file, 0440), 0);
	assert_int_equal(sr_secret_check_file("hsm-pin", NULL, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, file));
	assert_non_null(strstr(err, "group or others"));
	assert_null(sr_secret_read_file("hsm-pin", NULL, err, sizeof err));
	assert_int_equal(sr_secret_check_file("missing", NULL, 0, err, sizeof err), -1);
	assert_int_equal(sr_secret_check_file(dir, NULL, 0, err, sizeof err), -1); /* a directory */
	unlink(file);
	rmdir(dir);
	unsetenv("CREDENTIALS_DIRECTORY");
}

static void test_alloc(void **state)
{
	unsigned char *p = NULL;
	size_t i;

	(void)state;
	p = sr_secret_alloc(32);
	assert_non_null(p);
	for (i = 0; i < 32; i++)
		assert_int_equal(p[i], 0);
	sr_secret_free(p);
	sr_secret_free(NULL);
}

static void test_harden(void **state)
{
	struct rlimit rl;

	(void)state;
	assert_int_equal(sr_secret_harden_process(), 0);
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
	assert_int_equal(rl.rlim_cur, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_0600),
		cmocka_unit_test(test_newline_rules),
		cmocka_unit_test(test_refuse_group_readable),
		cmocka_unit_test(test_credentials_directory),
		cmocka_unit_test(test_missing_and_large),
		cmocka_unit_test(test_alloc),
		cmocka_unit_test(test_harden), /* last: changes the process */
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
