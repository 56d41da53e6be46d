/* Unit tests for common/sr_util (ids, hex, SHA-256, constant-time compare). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/sr_util.h"

static int is_b62(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static void test_random_id_shape(void **state)
{
	char id[64];
	size_t i;
	int k;

	(void)state;
	for (k = 0; k < 1000; k++) {
		assert_int_equal(sr_random_id("tok_", 16, id, sizeof id), 0);
		/* invariant 3, docs/invariants.md: tok_ + 128 random bits = 22 base62 chars. */
		assert_int_equal(strlen(id), 4 + 22);
		assert_memory_equal(id, "tok_", 4);
		for (i = 4; id[i] != '\0'; i++)
			assert_true(is_b62(id[i]));
	}
	assert_int_equal(sr_random_id("", 8, id, sizeof id), 0);
	assert_int_equal(strlen(id), 11); /* 64 bits -> 11 base62 digits */
	assert_int_equal(sr_random_id(NULL, 32, id, sizeof id), 0);
	assert_int_equal(strlen(id), 43); /* 256 bits -> 43 base62 digits */
}

static void test_random_id_differs(void **state)
{
	char a[40], b[40];

	(void)state;
	assert_int_equal(sr_random_id("req_", 16, a, sizeof a), 0);
	assert_int_equal(sr_random_id("req_", 16, b, sizeof b), 0);
	assert_string_not_equal(a, b);
}

static void test_random_id_spread(void **state)
{
	/* Every base62 character appears in the low digits over many ids
	 * (a constant or truncated encoder fails this). */
	int seen[128] = {0};
	char id[40];
	int k, n = 0;
	size_t i;

	(void)state;
	for (k = 0; k < 2000; k++) {
		assert_int_equal(sr_random_id("", 16, id, sizeof id), 0);
		for (i = 1; i < 22; i++)
			seen[(unsigned char)id[i]]++;
	}
	for (k = 0; k < 128; k++)
		if (seen[k] > 0)
			n++;
	assert_int_equal(n, 62);
	/* Roughly uniform: each char expected 2000*21/62 ~ 677 times. */
	for (k = 0; k < 128; k++)
		if (seen[k] > 0)
			assert_in_range(seen[k], 450, 950);
}

static void test_random_id_too_small(void **state)
{
	char id[26];

	(void)state;
	memset(id, 'x', sizeof id);
	/* tok_ + 22 + NUL = 27 bytes needed. */
	assert_int_equal(sr_random_id("tok_", 16, id, sizeof id), -1);
	assert_int_equal(sr_random_id("tok_", 0, id, sizeof id), -1);
	assert_int_equal(sr_random_id("tok_", 16, NULL, 64), -1);
}

static void test_hex(void **state)
{
	const uint8_t in[] = { 0x00, 0x01, 0xab, 0xff, 0x7f };
	char out[11];

	(void)state;
	sr_hex(in, sizeof in, out);
	assert_string_equal(out, "0001abff7f");
	sr_hex(in, 0, out);
	assert_string_equal(out, "");
}

static void test_sha256(void **state)
{
	char out[65];

	(void)state;
	/* FIPS 180-4 / NIST example vectors. */
	sr_sha256_hex("abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sr_sha256_hex("", 0, out);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_ct_equal(void **state)
{
	(void)state;
	assert_int_equal(sr_ct_equal("abcdef", "abcdef", 6), 1);
	assert_int_equal(sr_ct_equal("abcdef", "abcdeg", 6), 0);
	assert_int_equal(sr_ct_equal("xbcdef", "abcdef", 6), 0);
	assert_int_equal(sr_ct_equal("abcdef", "abcdeg", 5), 1);
}

static void test_now(void **state)
{
	(void)state;
	assert_true(sr_now() > 1700000000LL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_id_shape),
		cmocka_unit_test(test_random_id_differs),
		cmocka_unit_test(test_random_id_spread),
		cmocka_unit_test(test_random_id_too_small),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_ct_equal),
		cmocka_unit_test(test_now),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
