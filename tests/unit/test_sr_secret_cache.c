/*
 * sr_secret's cache of small guarded blocks (ADR 0013): a released block is
 * wiped before anyone gets it again; sizes above the block size still work.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/sr_secret.h"

static int all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] != 0)
			return 0;
	}
	return 1;
}

static void test_reuse_is_wiped(void **state)
{
	unsigned char *a = NULL;
	unsigned char *b = NULL;
	int i;

	(void)state;
	for (i = 0; i < 50; i++) {
		a = sr_secret_alloc(19);
		assert_non_null(a);
		assert_true(all_zero(a, 19));
		memcpy(a, "4242424242424242424", 19);
		sr_secret_free(a);
		b = sr_secret_alloc(256);   /* the largest cached size: the whole block */
		assert_non_null(b);
		assert_true(all_zero(b, 256));
		memset(b, 0x42, 256);
		sr_secret_free(b);
	}
}

static void test_many_and_large(void **state)
{
	unsigned char *p[300];
	unsigned char *big = NULL;
	int i;

	(void)state;
	/* more than the cache holds at once: the rest are plain sodium blocks */
	for (i = 0; i < 300; i++) {
		p[i] = sr_secret_alloc(16);
		assert_non_null(p[i]);
		assert_true(all_zero(p[i], 16));
		memset(p[i], 0x37, 16);
	}
	for (i = 0; i < 300; i++)
		sr_secret_free(p[i]);
	big = sr_secret_alloc(5000);
	assert_non_null(big);
	assert_true(all_zero(big, 5000));
	sr_secret_free(big);
	sr_secret_free(NULL);
	p[0] = sr_secret_alloc(0);
	assert_non_null(p[0]);
	sr_secret_free(p[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reuse_is_wiped),
		cmocka_unit_test(test_many_and_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
