/*
 * Unit tests of the vault's card brand table (vault/tokens/vault_card.c,
 * issue 19 item 9): one number per brand and per length edge, the most
 * specific IIN range winning over a broader one (Elo inside Visa's 4 and
 * Discover's 65, Hipercard inside Diners' 38), UnionPay numbers outside
 * Luhn, and numbers written with spaces or dashes. Written against the
 * wire names (vault_brand_str) so it reads like the API's card.brand.
 * The numbers are made up (prefix, zeros, check digit), not real cards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "common/sr_panscan.h"
#include "vault/tokens/vault_card.h"

/* 2030-06-15 12:00:00 UTC */
#define NOW_2030 ((time_t)1907755200)

/* Parse {"card":{"number":number,...}}; on success copy the normalized
 * digits and the brand's wire name out. @return the parser's rc. */
static int parse_number(const char *number, char *digits, size_t cap, const char **brand,
                        const char **code)
{
	struct vault_card_input in;
	const char *param = NULL;
	json_t *body = json_pack("{s:{s:s, s:i, s:i}}", "card", "number", number, "exp_month", 12,
	                         "exp_year", 2031);
	int rc;

	assert_non_null(body);
	*code = NULL;
	rc = vault_parse_token_request_at(body, NOW_2030, &in, code, &param);
	if (rc == 0) {
		snprintf(digits, cap, "%s", in.pan);
		*brand = vault_brand_str(in.brand);
		vault_card_input_free(&in);
	} else {
		assert_null(in.pan);
		if (param != NULL)
			assert_null(strstr(param, "0000"));
	}
	json_decref(body);
	return rc;
}

static const struct {
	const char *number;
	const char *brand;
	const char *why;
} k_accepted[] = {
	{ "4242424242424242", "visa", "16 digits" },
	{ "4222222222222", "visa", "13 digits" },
	{ "400000000000000002", "visa", "18 digits" },
	{ "4000000000000000006", "visa", "19 digits" },
	{ "5555555555554444", "mastercard", "51-55" },
	{ "2223003122003222", "mastercard", "2-series" },
	{ "2720990000000007", "mastercard", "2-series upper edge" },
	{ "378282246310005", "amex", "37" },
	{ "6011111111111117", "discover", "6011" },
	{ "6445644564456445", "discover", "644-649" },
	{ "36227206271667", "diners", "36, 14 digits" },
	{ "30950000000000", "diners", "3095" },
	{ "3566002020360505", "jcb", "3528-3589" },
	{ "6200000000000005", "unionpay", "62, Luhn holds" },
	{ "6200000000000006", "unionpay", "62, Luhn fails: UnionPay does not require it" },
	{ "675900000000", "maestro", "12 digits" },
	{ "6304000000000000000", "maestro", "19 digits" },
	{ "5018000000000009", "maestro", "5018" },
	{ "2200000000000004", "mir", "2200" },
	{ "2204000000000000006", "mir", "19 digits" },
	{ "4011780000000006", "elo", "401178 inside Visa's 4" },
	{ "5067000000000009", "elo", "506699-506778" },
	{ "6500310000000005", "elo", "650031 inside Discover's 65" },
	{ "6062820000000003", "hipercard", "606282" },
	{ "3841000000000007", "hipercard", "384100 inside Diners' 38" },
	{ "9792000000000003", "troy", "9792" },
	{ "5061000000000005", "verve", "506099-506198" },
	{ "650002000000000000", "verve", "650002, 18 digits" },
	{ "6073000000000009", "rupay", "60" },
	{ "5085000000000007", "rupay", "508" },
};

static void test_one_number_per_brand(void **state)
{
	char digits[32];
	const char *brand = NULL;
	const char *code = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof k_accepted / sizeof k_accepted[0]; i++) {
		if (parse_number(k_accepted[i].number, digits, sizeof digits, &brand, &code) != 0)
			fail_msg("%s (%s): refused with %s", k_accepted[i].brand, k_accepted[i].why,
			         code != NULL ? code : "?");
		if (strcmp(brand, k_accepted[i].brand) != 0)
			fail_msg("%s (%s): reported as %s", k_accepted[i].brand, k_accepted[i].why, brand);
		assert_string_equal(digits, k_accepted[i].number);
		/* vault_card_brand agrees with the parser. */
		assert_string_equal(vault_brand_str(vault_card_brand(k_accepted[i].number,
		                                                     strlen(k_accepted[i].number))),
		                    k_accepted[i].brand);
	}
}

static void test_refused(void **state)
{
	static const char *const refused[] = {
		"400000000002",         /* visa, 12 digits: only Maestro issues 12 */
		"400000000000006",      /* visa, 15 digits */
		"40000000000002",       /* visa, 14 digits */
		"4242424242424241",     /* visa, Luhn fails */
		"4011780000000000009",  /* elo is 16 digits only: no fallback to Visa */
		"620000000000000",      /* unionpay, 15 digits */
		"67590000000",          /* 11 digits */
		"5555555555554445",     /* mastercard, Luhn fails */
		"123456789012",         /* 12 digits of no 12-digit network */
		"42424242424242424242", /* 20 digits */
	};
	char digits[32];
	const char *brand = NULL;
	const char *code = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		if (parse_number(refused[i], digits, sizeof digits, &brand, &code) != -1)
			fail_msg("accepted #%zu as %s", i, brand);
		assert_string_equal(code, "incorrect_number");
	}
}

static void test_separators(void **state)
{
	static const struct {
		const char *in;
		const char *want; /* NULL: refused */
	} cases[] = {
		{ "4242 4242 4242 4242", "4242424242424242" },
		{ "4242-4242-4242-4242", "4242424242424242" },
		{ "3782 822463 10005", "378282246310005" },
		{ "4242 4242-4242 4242", "4242424242424242" },
		{ "6759 0000 0000", "675900000000" },
		{ " 4242424242424242", NULL },   /* leading separator */
		{ "4242424242424242-", NULL },   /* trailing separator */
		{ "4242  4242 4242 4242", NULL }, /* two in a row */
		{ "4242.4242.4242.4242", NULL }, /* only spaces and dashes */
		{ "4242\t4242 4242 4242", NULL },
		{ "4242 4242 4242 4241", NULL }, /* Luhn still applies */
		{ "4 2 4 2 4 2 4 2 4 2 4 2 4 2 4 2 4 2 4 2", NULL }, /* 20 digits */
		{ "-", NULL },
		{ " ", NULL },
	};
	char digits[32];
	const char *brand = NULL;
	const char *code = NULL;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		rc = parse_number(cases[i].in, digits, sizeof digits, &brand, &code);
		if (cases[i].want == NULL) {
			if (rc != -1)
				fail_msg("accepted #%zu", i);
			assert_string_equal(code, "incorrect_number");
		} else {
			if (rc != 0)
				fail_msg("refused #%zu with %s", i, code != NULL ? code : "?");
			assert_string_equal(digits, cases[i].want);
		}
	}
}

/* Every brand's number the vault accepts at 16 to 19 digits and that passes
 * Luhn is one the PAN detector of both zones (common/sr_panscan.c) finds:
 * the two tables may not drift apart where it matters, a card number that
 * could reach the gateway. */
static void test_panscan_knows_every_brand(void **state)
{
	size_t i;
	size_t n;

	(void)state;
	for (i = 0; i < sizeof k_accepted / sizeof k_accepted[0]; i++) {
		n = strlen(k_accepted[i].number);
		if (n < 16 || !sr_panscan_luhn(k_accepted[i].number, n))
			continue;
		if (!sr_panscan_iin_ok(k_accepted[i].number, n))
			fail_msg("sr_panscan misses %s (%s)", k_accepted[i].brand, k_accepted[i].why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_number_per_brand),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_separators),
		cmocka_unit_test(test_panscan_knows_every_brand),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
