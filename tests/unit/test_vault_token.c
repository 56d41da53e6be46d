/*
 * Unit tests of vault/vault_token: random token ids (invariant 3, docs/invariants.md:
 * "tok_" + 128 bits from a CSPRNG) and the id shape checks done before any
 * database lookup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vault/tokens/vault_token.h"

#define N_UNIQUE 1000

static void test_shape(void **state)
{
	char id[VAULT_TOKEN_LEN + 1];
	size_t i;

	(void)state;
	assert_int_equal(vault_token_new(id, sizeof id), 0);
	assert_int_equal(strncmp(id, "tok_", 4), 0);
	assert_int_equal(strlen(id), 26);
	for (i = 4; i < strlen(id); i++) {
		char c = id[i];

		assert_true((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
	}
	assert_true(vault_token_id_valid(id));
	/* too small a buffer is refused, not truncated */
	assert_int_equal(vault_token_new(id, VAULT_TOKEN_LEN), -1);
	assert_int_equal(vault_token_new(NULL, 64), -1);
}

static int cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void test_unique(void **state)
{
	char (*ids)[VAULT_TOKEN_LEN + 1] = NULL;
	size_t i;
	unsigned seen[256] = { 0 };
	unsigned distinct = 0;

	(void)state;
	ids = calloc(N_UNIQUE, sizeof *ids);
	assert_non_null(ids);
	for (i = 0; i < N_UNIQUE; i++)
		assert_int_equal(vault_token_new(ids[i], sizeof ids[i]), 0);
	qsort(ids, N_UNIQUE, sizeof *ids, cmp);
	for (i = 1; i < N_UNIQUE; i++)
		assert_int_not_equal(strcmp(ids[i - 1], ids[i]), 0);
	/* The random part uses (nearly) the whole alphabet: not a counter. */
	for (i = 0; i < N_UNIQUE; i++) {
		size_t j;

		for (j = 5; j < VAULT_TOKEN_LEN; j++)
			seen[(unsigned char)ids[i][j]]++;
	}
	for (i = 0; i < 256; i++)
		distinct += seen[i] != 0;
	assert_true(distinct >= 60);
	free(ids);
}

static void test_token_validator(void **state)
{
	static const char *const bad[] = {
		"", "tok_", "tok_abc", "tok_AAAAAAAAAAAAAAAAAAAAA",      /* 21 */
		"tok_AAAAAAAAAAAAAAAAAAAAAAA",                            /* 23 */
		"tok_AAAAAAAAAAAAAAAAAAAA-A", "tok_AAAAAAAAAAAAAAAAAAAA_A",
		"tok_AAAAAAAAAAAAAAAAAAAA A", "TOK_AAAAAAAAAAAAAAAAAAAAAA",
		"pm_AAAAAAAAAAAAAAAAAAAAAA", "tok_AAAAAAAAAAAAAAAAAAAA'A",
		"4242424242424242", "tok_doesnotexist00000000000",
	};
	size_t i;

	(void)state;
	assert_true(vault_token_id_valid("tok_AAAAAAAAAAAAAAAAAAAAAA"));
	assert_true(vault_token_id_valid("tok_0123456789abcdefXYZ012"));
	assert_false(vault_token_id_valid(NULL));
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (vault_token_id_valid(bad[i]))
			fail_msg("accepted bad token id #%zu", i);
	}
}

static void test_merchant_validator(void **state)
{
	(void)state;
	assert_true(vault_merchant_id_valid("mer_123"));
	assert_true(vault_merchant_id_valid("mer_AbC09xyzAbC09xyz"));
	assert_false(vault_merchant_id_valid(NULL));
	assert_false(vault_merchant_id_valid("mer_"));
	assert_false(vault_merchant_id_valid("mer_a|b"));
	assert_false(vault_merchant_id_valid("mer_a-b"));
	assert_false(vault_merchant_id_valid("acct_123"));
	assert_false(vault_merchant_id_valid(
	    "mer_01234567890123456789012345678901234567890123456789012345678901234")); /* 65 */
	assert_true(vault_merchant_id_valid(
	    "mer_0123456789012345678901234567890123456789012345678901234567890123"));  /* 64 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_unique),
		cmocka_unit_test(test_token_validator),
		cmocka_unit_test(test_merchant_validator),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
