/*
 * Unit tests of vault/vault_card: Luhn, brands, lengths, expiry, CVC and the
 * POST /v1/tokens parser (ISO/IEC 7812-1; PCI DSS v4.0 3.3.1.2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "vault/tokens/vault_card.h"

/* 2030-06-15 12:00:00 UTC */
#define NOW_2030 ((time_t)1907755200)

static void test_luhn(void **state)
{
	(void)state;
	static const char *const good[] = {
		"4242424242424242", "5555555555554444", "378282246310005", "4000000000000002",
		"4000000000009995", "4000000000000069", "4000000000000127", "4000000000000119",
		"4000000000003220", "4000008400001629", "4000000000000259", "6011111111111117",
		"3566002020360505", "30569309025904", "6200000000000005", "2223003122003222",
		"4222222222222",
	};
	static const char *const bad[] = {
		"4242424242424241", "5555555555554445", "378282246310006", "", "42424242x4242424",
		"4242 4242 4242 4242",
	};
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_true(vault_luhn_valid(good[i], strlen(good[i])));
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(vault_luhn_valid(bad[i], strlen(bad[i])));
	assert_false(vault_luhn_valid(NULL, 0));
}

static void test_brands(void **state)
{
	(void)state;
	static const struct {
		const char *pan;
		enum vault_brand brand;
	} cases[] = {
		{ "4242424242424242", VAULT_BRAND_VISA },
		{ "5555555555554444", VAULT_BRAND_MASTERCARD },
		{ "5105105105105100", VAULT_BRAND_MASTERCARD },
		{ "2223003122003222", VAULT_BRAND_MASTERCARD },
		{ "2221000000000009", VAULT_BRAND_MASTERCARD },
		{ "2720990000000007", VAULT_BRAND_MASTERCARD },
		{ "2220990000000000", VAULT_BRAND_UNKNOWN },   /* just below 2221 */
		{ "2721000000000000", VAULT_BRAND_UNKNOWN },   /* just above 2720 */
		{ "5600000000000000", VAULT_BRAND_UNKNOWN },   /* 56 is not mastercard */
		{ "378282246310005", VAULT_BRAND_AMEX },
		{ "340000000000009", VAULT_BRAND_AMEX },
		{ "6011111111111117", VAULT_BRAND_DISCOVER },
		{ "6445644564456445", VAULT_BRAND_DISCOVER },
		{ "6500000000000002", VAULT_BRAND_DISCOVER },
		{ "3566002020360505", VAULT_BRAND_JCB },
		{ "3528000000000000", VAULT_BRAND_JCB },
		{ "3590000000000000", VAULT_BRAND_UNKNOWN },   /* past 3589 */
		{ "30569309025904", VAULT_BRAND_DINERS },
		{ "36227206271667", VAULT_BRAND_DINERS },
		{ "38520000023237", VAULT_BRAND_DINERS },
		{ "3060000000000000", VAULT_BRAND_UNKNOWN },   /* 306 is not diners */
		{ "6200000000000005", VAULT_BRAND_UNIONPAY },
		{ "6222000000000000", VAULT_BRAND_UNIONPAY },
		{ "1234567890123452", VAULT_BRAND_UNKNOWN },
		{ "9999999999999995", VAULT_BRAND_UNKNOWN },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (vault_card_brand(cases[i].pan, strlen(cases[i].pan)) != cases[i].brand)
			fail_msg("brand of case %zu: got %s, want %s", i,
			         vault_brand_str(vault_card_brand(cases[i].pan, strlen(cases[i].pan))),
			         vault_brand_str(cases[i].brand));
	}
	assert_string_equal(vault_brand_str(VAULT_BRAND_MASTERCARD), "mastercard");
	assert_string_equal(vault_brand_str(VAULT_BRAND_UNKNOWN), "unknown");
}

static void test_lengths(void **state)
{
	(void)state;
	assert_true(vault_card_length_ok(VAULT_BRAND_VISA, 13));
	assert_true(vault_card_length_ok(VAULT_BRAND_VISA, 16));
	assert_true(vault_card_length_ok(VAULT_BRAND_VISA, 19));
	assert_false(vault_card_length_ok(VAULT_BRAND_VISA, 15));
	assert_true(vault_card_length_ok(VAULT_BRAND_MASTERCARD, 16));
	assert_false(vault_card_length_ok(VAULT_BRAND_MASTERCARD, 15));
	assert_true(vault_card_length_ok(VAULT_BRAND_AMEX, 15));
	assert_false(vault_card_length_ok(VAULT_BRAND_AMEX, 16));
	assert_true(vault_card_length_ok(VAULT_BRAND_DINERS, 14));
	assert_false(vault_card_length_ok(VAULT_BRAND_DINERS, 13));
	assert_true(vault_card_length_ok(VAULT_BRAND_DISCOVER, 19));
	assert_false(vault_card_length_ok(VAULT_BRAND_DISCOVER, 15));
	assert_true(vault_card_length_ok(VAULT_BRAND_JCB, 16));
	assert_true(vault_card_length_ok(VAULT_BRAND_UNIONPAY, 17));
	assert_true(vault_card_length_ok(VAULT_BRAND_UNKNOWN, 13));
	assert_false(vault_card_length_ok(VAULT_BRAND_UNKNOWN, 12));
	assert_true(vault_card_length_ok(VAULT_BRAND_MAESTRO, 12));
	assert_false(vault_card_length_ok(VAULT_BRAND_MAESTRO, 11));
	assert_true(vault_card_length_ok(VAULT_BRAND_VISA, 18));
	assert_false(vault_card_length_ok(VAULT_BRAND_UNKNOWN, 20));

	/* Luhn-valid but the wrong length for the brand: refused. */
	assert_false(vault_card_number_ok("424242424242424", 15, NULL));  /* visa 15, Luhn-valid */
	assert_false(vault_card_number_ok("37828224631003", 14, NULL));   /* amex 14, Luhn-valid */
	assert_false(vault_card_number_ok("424242424242", 12, NULL));     /* visa 12: only maestro */
	assert_false(vault_card_number_ok("67590000000", 11, NULL));      /* too short */
	assert_false(vault_card_number_ok("42424242424242424242", 20, NULL)); /* too long */
	assert_true(vault_card_number_ok("4222222222222", 13, NULL));
}

static void test_expiry(void **state)
{
	(void)state;
	time_t now = NOW_2030;

	assert_int_equal(vault_card_check_expiry(6, 2030, now), VAULT_EXPIRY_OK);   /* current month */
	assert_int_equal(vault_card_check_expiry(5, 2030, now), VAULT_EXPIRY_EXPIRED); /* last month */
	assert_int_equal(vault_card_check_expiry(12, 2029, now), VAULT_EXPIRY_EXPIRED);
	assert_int_equal(vault_card_check_expiry(1, 2031, now), VAULT_EXPIRY_OK);
	assert_int_equal(vault_card_check_expiry(12, 2030, now), VAULT_EXPIRY_OK);
	assert_int_equal(vault_card_check_expiry(0, 2031, now), VAULT_EXPIRY_BAD_MONTH);
	assert_int_equal(vault_card_check_expiry(13, 2031, now), VAULT_EXPIRY_BAD_MONTH);
	assert_int_equal(vault_card_check_expiry(-1, 2031, now), VAULT_EXPIRY_BAD_MONTH);
	assert_int_equal(vault_card_check_expiry(6, 1999, now), VAULT_EXPIRY_BAD_YEAR);
	assert_int_equal(vault_card_check_expiry(6, 30, now), VAULT_EXPIRY_BAD_YEAR);  /* 2 digits */
	assert_int_equal(vault_card_check_expiry(6, 2080, now), VAULT_EXPIRY_OK);     /* +50 */
	assert_int_equal(vault_card_check_expiry(6, 2081, now), VAULT_EXPIRY_BAD_YEAR);
	/* Last second of the month is still valid; the next one is not. */
	assert_int_equal(vault_card_check_expiry(6, 2030, (time_t)1909094399), VAULT_EXPIRY_OK);
	assert_int_equal(vault_card_check_expiry(6, 2030, (time_t)1909094400), VAULT_EXPIRY_EXPIRED);
}

static void test_cvc(void **state)
{
	(void)state;
	assert_true(vault_card_cvc_ok(VAULT_BRAND_VISA, "123", 3));
	assert_false(vault_card_cvc_ok(VAULT_BRAND_VISA, "1234", 4));
	assert_false(vault_card_cvc_ok(VAULT_BRAND_VISA, "12", 2));
	assert_false(vault_card_cvc_ok(VAULT_BRAND_VISA, "12a", 3));
	assert_true(vault_card_cvc_ok(VAULT_BRAND_AMEX, "1234", 4));
	assert_false(vault_card_cvc_ok(VAULT_BRAND_AMEX, "123", 3));
	assert_false(vault_card_cvc_ok(VAULT_BRAND_MASTERCARD, NULL, 0));
}

/* Parse text at NOW_2030; check code and param. */
static void expect_error(const char *text, const char *want_code, const char *want_param)
{
	struct vault_card_input in;
	json_error_t jerr;
	json_t *body = json_loads(text, JSON_DECODE_ANY, &jerr);
	const char *code = NULL;
	const char *param = NULL;
	int rc;

	assert_non_null(body);
	rc = vault_parse_token_request_at(body, NOW_2030, &in, &code, &param);
	if (rc != -1)
		fail_msg("accepted: %s", text);
	assert_non_null(code);
	if (strcmp(code, want_code) != 0)
		fail_msg("code %s, want %s for %s", code, want_code, text);
	if (want_param == NULL)
		assert_null(param);
	else
		assert_string_equal(param, want_param);
	assert_null(in.pan);
	assert_null(in.cvc);
	/* Never the number (or any submitted digits) in what is reported. */
	assert_null(strstr(code, "4242"));
	assert_null(strstr(vault_card_error_message(code), "4242"));
	if (param != NULL)
		assert_null(strstr(param, "4242"));
	json_decref(body);
}

static void test_parse_ok(void **state)
{
	(void)state;
	struct vault_card_input in;
	json_t *body = json_pack("{s:{s:s, s:i, s:i, s:s}}", "card", "number", "378282246310005",
	                         "exp_month", 12, "exp_year", 2031, "cvc", "1234");
	const char *code = NULL;
	const char *param = NULL;

	assert_int_equal(vault_parse_token_request_at(body, NOW_2030, &in, &code, &param), 0);
	assert_null(code);
	assert_string_equal(in.pan, "378282246310005");
	assert_int_equal(in.pan_len, 15);
	assert_string_equal(in.cvc, "1234");
	assert_int_equal(in.brand, VAULT_BRAND_AMEX);
	assert_string_equal(in.last4, "0005");
	assert_int_equal(in.exp_month, 12);
	assert_int_equal(in.exp_year, 2031);
	vault_card_input_free(&in);
	assert_null(in.pan);
	json_decref(body);

	/* cvc is optional; null counts as absent */
	body = json_pack("{s:{s:s, s:i, s:i, s:n}}", "card", "number", "4242424242424242",
	                 "exp_month", 1, "exp_year", 2031, "cvc");
	assert_int_equal(vault_parse_token_request_at(body, NOW_2030, &in, &code, &param), 0);
	assert_null(in.cvc);
	assert_int_equal(in.brand, VAULT_BRAND_VISA);
	vault_card_input_free(&in);
	json_decref(body);

	/* and with the real clock */
	body = json_pack("{s:{s:s, s:i, s:i}}", "card", "number", "5555555555554444",
	                 "exp_month", 12, "exp_year", 2099 - 40);
	assert_int_equal(vault_parse_token_request(body, &in, &code, &param), 0);
	assert_int_equal(in.brand, VAULT_BRAND_MASTERCARD);
	vault_card_input_free(&in);
	json_decref(body);
}

static void test_parse_errors(void **state)
{
	(void)state;
	struct vault_card_input in;
	const char *code = NULL;
	const char *param = NULL;

	assert_int_equal(vault_parse_token_request_at(NULL, NOW_2030, &in, &code, &param), -1);
	assert_string_equal(code, "parameter_missing");

	expect_error("[1,2]", "parameter_invalid_type", NULL);
	expect_error("\"4242424242424242\"", "parameter_invalid_type", NULL);
	expect_error("{}", "parameter_missing", "card");
	expect_error("{\"card\":\"4242424242424242\"}", "parameter_invalid_type", "card");
	expect_error("{\"card\":{\"exp_month\":12,\"exp_year\":2031}}", "parameter_missing",
	             "card[number]");
	expect_error("{\"card\":{\"number\":\"4242424242424242\",\"exp_year\":2031}}",
	             "parameter_missing", "card[exp_month]");
	expect_error("{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12}}",
	             "parameter_missing", "card[exp_year]");
	expect_error("{\"card\":{\"number\":4242424242424242,\"exp_month\":12,\"exp_year\":2031}}",
	             "parameter_invalid_type", "card[number]");
	/* single spaces or dashes between groups are normalized away
	 * (test_vault_card_brands.c); anything else is refused */
	expect_error("{\"card\":{\"number\":\"4242  4242 4242 4242\",\"exp_month\":12,\"exp_year\":2031}}",
	             "incorrect_number", "card[number]");
	expect_error("{\"card\":{\"number\":\"4242/4242/4242/4242\",\"exp_month\":12,\"exp_year\":2031}}",
	             "incorrect_number", "card[number]");
	expect_error("{\"card\":{\"number\":\"42424242424242ab\",\"exp_month\":12,\"exp_year\":2031}}",
	             "incorrect_number", "card[number]");
	expect_error("{\"card\":{\"number\":\"424242424242\",\"exp_month\":12,\"exp_year\":2031}}",
	             "incorrect_number", "card[number]");
	expect_error("{\"card\":{\"number\":\"42424242424242424242\",\"exp_month\":12,\"exp_year\":2031}}",
	             "incorrect_number", "card[number]");
	expect_error("{\"card\":{\"number\":\"4242424242424241\",\"exp_month\":12,\"exp_year\":2031}}",
	             "incorrect_number", "card[number]");
	expect_error("{\"card\":{\"number\":\"\",\"exp_month\":12,\"exp_year\":2031}}",
	             "incorrect_number", "card[number]");
	/* unknown fields at both levels; a number-like key is never named */
	expect_error("{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":2031},\"pin\":\"1\"}",
	             "parameter_unknown", "pin");
	expect_error("{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":2031,\"pin\":\"1234\"}}",
	             "parameter_unknown", "card[pin]");
	expect_error("{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":2031},\"4242424242424242\":1}",
	             "parameter_unknown", NULL);
	expect_error("{\"card\":{\"number\":\"1\",\"exp_month\":12,\"exp_year\":2031,\"4242424242424242\":1}}",
	             "parameter_unknown", "card");
	expect_error("{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":\"12\",\"exp_year\":2031}}",
	             "parameter_invalid_type", "card[exp_month]");
	expect_error("{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":\"2031\"}}",
	             "parameter_invalid_type", "card[exp_year]");
	expect_error("{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12.0,\"exp_year\":2031}}",
	             "parameter_invalid_type", "card[exp_month]");
	expect_error("{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":13,\"exp_year\":2031}}",
	             "invalid_expiry_month", "card[exp_month]");
	expect_error("{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":0,\"exp_year\":2031}}",
	             "invalid_expiry_month", "card[exp_month]");
	expect_error("{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":31}}",
	             "invalid_expiry_year", "card[exp_year]");
	expect_error("{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":2020}}",
	             "expired_card", "card[exp_year]");
	expect_error("{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":2031,\"cvc\":\"12a\"}}",
	             "invalid_cvc", "card[cvc]");
	expect_error("{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":2031,\"cvc\":\"1234\"}}",
	             "invalid_cvc", "card[cvc]");
	expect_error("{\"card\":{\"number\":\"378282246310005\",\"exp_month\":12,\"exp_year\":2031,\"cvc\":\"123\"}}",
	             "invalid_cvc", "card[cvc]");
	expect_error("{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":2031,\"cvc\":123}}",
	             "parameter_invalid_type", "card[cvc]");
}

static void test_error_types(void **state)
{
	(void)state;
	assert_string_equal(vault_card_error_type("incorrect_number"), "card_error");
	assert_string_equal(vault_card_error_type("expired_card"), "card_error");
	assert_string_equal(vault_card_error_type("invalid_cvc"), "card_error");
	assert_string_equal(vault_card_error_type("parameter_unknown"), "invalid_request_error");
	assert_string_equal(vault_card_error_type("parameter_missing"), "invalid_request_error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_luhn),
		cmocka_unit_test(test_brands),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_cvc),
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_error_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
