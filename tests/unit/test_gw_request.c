/*
 * Unit tests: POST /v1/payments validation, incl. invariant 1, docs/invariants.md (a card
 * number anywhere in the body is refused).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_request.h"

#define TOK "tok_4eC39HqLyjWDarjtT1zdp7dc"

/* Parse text as JSON and validate; returns the error code or "ok". */
static const char *check(const char *text, struct gw_payment_request *out)
{
	static char code[64];
	struct gw_payment_request tmp;
	struct gw_error err;
	json_error_t jerr;
	json_t *body = json_loads(text, 0, &jerr);
	int rc;

	assert_non_null(body);
	memset(&err, 0, sizeof err);
	rc = gw_payment_request_parse(body, out != NULL ? out : &tmp, &err);
	json_decref(body);
	if (rc == 0)
		return "ok";
	assert_int_equal(err.status, 400);
	assert_string_equal(err.type, "invalid_request_error");
	assert_non_null(err.message);
	snprintf(code, sizeof code, "%s", err.code);
	return code;
}

static void test_valid_minimal_and_full(void **state)
{
	struct gw_payment_request rq;

	(void)state;
	assert_string_equal(check("{\"amount\":1000,\"currency\":\"usd\",\"payment_method\":\"" TOK "\"}",
	                          &rq), "ok");
	assert_int_equal(rq.amount, 1000);
	assert_string_equal(rq.currency, "usd");
	assert_string_equal(rq.payment_method, TOK);
	assert_string_equal(rq.capture_method, "automatic");
	assert_false(rq.has_description);

	assert_string_equal(check("{\"amount\":99999999,\"currency\":\"EUR\",\"payment_method\":\"" TOK
	                          "\",\"capture_method\":\"manual\",\"description\":\"Order #1234\"}",
	                          &rq), "ok");
	assert_string_equal(rq.currency, "eur");
	assert_string_equal(rq.capture_method, "manual");
	assert_string_equal(rq.description, "Order #1234");
	assert_int_equal(rq.amount, 99999999);
	assert_string_equal(check("{\"amount\":1,\"currency\":\"jpy\",\"payment_method\":\"" TOK "\"}",
	                          NULL), "ok");
}

static void test_unknown_field(void **state)
{
	(void)state;
	assert_string_equal(check("{\"amount\":1000,\"currency\":\"usd\",\"payment_method\":\"" TOK
	                          "\",\"customer\":\"x\"}", NULL), "parameter_unknown");
	assert_string_equal(check("[1,2]", NULL), "parameter_invalid_type");
}

/* Stored credentials (ADR 0133): Stripe's values, a saved card only, not both. */
static void test_stored_credential(void **state)
{
#define SC(extra, pm) check("{\"amount\":1000,\"currency\":\"usd\",\"payment_method\":\"" pm "\"" extra "}", &rq)
	struct gw_payment_request rq;

	(void)state;
	assert_string_equal(SC(",\"setup_future_usage\":\"off_session\"", "card_abcdefgh12"), "ok");
	assert_string_equal(rq.setup_future_usage, "off_session");
	assert_false(rq.off_session);
	assert_string_equal(SC(",\"off_session\":true", "card_abcdefgh12"), "ok");
	assert_true(rq.off_session);
	assert_string_equal(rq.setup_future_usage, "");
	assert_string_equal(SC(",\"off_session\":false,\"setup_future_usage\":null", TOK), "ok");
	assert_false(rq.off_session);
	assert_string_equal(SC(",\"off_session\":true", TOK), "saved_card_required");
	assert_string_equal(SC(",\"setup_future_usage\":\"on_session\"", TOK), "saved_card_required");
	assert_string_equal(SC(",\"off_session\":\"true\"", "card_abcdefgh12"), "parameter_invalid_type");
	assert_string_equal(SC(",\"setup_future_usage\":\"always\"", "card_abcdefgh12"),
	                    "parameter_invalid_string");
	assert_string_equal(SC(",\"off_session\":true,\"setup_future_usage\":\"off_session\"",
	                       "card_abcdefgh12"), "parameter_invalid_string");
#undef SC
}

static void test_amount(void **state)
{
	(void)state;
	assert_string_equal(check("{\"currency\":\"usd\",\"payment_method\":\"" TOK "\"}", NULL),
	                    "parameter_missing");
	assert_string_equal(check("{\"amount\":0,\"currency\":\"usd\",\"payment_method\":\"" TOK "\"}",
	                          NULL), "amount_invalid");
	assert_string_equal(check("{\"amount\":-1,\"currency\":\"usd\",\"payment_method\":\"" TOK "\"}",
	                          NULL), "amount_invalid");
	assert_string_equal(check("{\"amount\":100000000,\"currency\":\"usd\",\"payment_method\":\"" TOK
	                          "\"}", NULL), "amount_invalid");
	assert_string_equal(check("{\"amount\":10.5,\"currency\":\"usd\",\"payment_method\":\"" TOK "\"}",
	                          NULL), "parameter_invalid_type");
	assert_string_equal(check("{\"amount\":\"1000\",\"currency\":\"usd\",\"payment_method\":\"" TOK
	                          "\"}", NULL), "parameter_invalid_type");
	assert_string_equal(check("{\"amount\":null,\"currency\":\"usd\",\"payment_method\":\"" TOK "\"}",
	                          NULL), "parameter_invalid_type");
	assert_string_equal(check("{\"amount\":true,\"currency\":\"usd\",\"payment_method\":\"" TOK "\"}",
	                          NULL), "parameter_invalid_type");
}

static void test_currency(void **state)
{
	(void)state;
	assert_string_equal(check("{\"amount\":1,\"payment_method\":\"" TOK "\"}", NULL),
	                    "parameter_missing");
	assert_string_equal(check("{\"amount\":1,\"currency\":\"us\",\"payment_method\":\"" TOK "\"}",
	                          NULL), "currency_invalid");
	assert_string_equal(check("{\"amount\":1,\"currency\":\"usdd\",\"payment_method\":\"" TOK "\"}",
	                          NULL), "currency_invalid");
	assert_string_equal(check("{\"amount\":1,\"currency\":\"u5d\",\"payment_method\":\"" TOK "\"}",
	                          NULL), "currency_invalid");
	assert_string_equal(check("{\"amount\":1,\"currency\":\"xyz\",\"payment_method\":\"" TOK "\"}",
	                          NULL), "currency_invalid");
	assert_string_equal(check("{\"amount\":1,\"currency\":840,\"payment_method\":\"" TOK "\"}",
	                          NULL), "parameter_invalid_type");
}

static void test_payment_method(void **state)
{
	(void)state;
	assert_string_equal(check("{\"amount\":1,\"currency\":\"usd\"}", NULL), "parameter_missing");
	assert_string_equal(check("{\"amount\":1,\"currency\":\"usd\",\"payment_method\":\"pm_123456789\"}",
	                          NULL), "payment_method_invalid");
	assert_string_equal(check("{\"amount\":1,\"currency\":\"usd\",\"payment_method\":\"tok_abcd1234\"}",
	                          NULL), "ok");
	assert_string_equal(check("{\"amount\":1,\"currency\":\"usd\",\"payment_method\":\"tok_abc\"}",
	                          NULL), "payment_method_invalid");
	/* A saved card (issue 3) is a token too; other prefixes are not. */
	assert_string_equal(check("{\"amount\":1,\"currency\":\"usd\",\"payment_method\":\"card_abcd1234\"}",
	                          NULL), "ok");
	assert_string_equal(check("{\"amount\":1,\"currency\":\"usd\",\"payment_method\":\"card_ab\"}",
	                          NULL), "payment_method_invalid");
	assert_string_equal(check("{\"amount\":1,\"currency\":\"usd\",\"payment_method\":\"cards_abcd1234\"}",
	                          NULL), "payment_method_invalid");
	assert_string_equal(check("{\"amount\":1,\"currency\":\"usd\",\"payment_method\":\"tok_abc/../x1234\"}",
	                          NULL), "payment_method_invalid");
	assert_string_equal(check("{\"amount\":1,\"currency\":\"usd\",\"payment_method\":{\"id\":\"" TOK "\"}}",
	                          NULL), "parameter_invalid_type");
	/* A Luhn-invalid card-like number is still not a token. */
	assert_string_equal(check("{\"amount\":1,\"currency\":\"usd\",\"payment_method\":\"4242424242424241\"}",
	                          NULL), "payment_method_invalid");
}

static void test_capture_method_and_description(void **state)
{
	char body[1200];
	char desc[520];

	(void)state;
	assert_string_equal(check("{\"amount\":1,\"currency\":\"usd\",\"payment_method\":\"" TOK
	                          "\",\"capture_method\":\"later\"}", NULL), "capture_method_invalid");
	assert_string_equal(check("{\"amount\":1,\"currency\":\"usd\",\"payment_method\":\"" TOK
	                          "\",\"capture_method\":1}", NULL), "parameter_invalid_type");
	assert_string_equal(check("{\"amount\":1,\"currency\":\"usd\",\"payment_method\":\"" TOK
	                          "\",\"description\":5}", NULL), "parameter_invalid_type");
	memset(desc, 'a', 501);
	desc[501] = '\0';
	snprintf(body, sizeof body, "{\"amount\":1,\"currency\":\"usd\",\"payment_method\":\"" TOK
	         "\",\"description\":\"%s\"}", desc);
	assert_string_equal(check(body, NULL), "description_too_long");
	desc[500] = '\0';
	snprintf(body, sizeof body, "{\"amount\":1,\"currency\":\"usd\",\"payment_method\":\"" TOK
	         "\",\"description\":\"%s\"}", desc);
	assert_string_equal(check(body, NULL), "ok");
}

static void test_secret_key_shape(void **state)
{
	(void)state;
	assert_true(gw_auth_secret_key_shape_ok("sk_test_0123456789abcdefghijABCDEFGHIJ"));
	assert_false(gw_auth_secret_key_shape_ok("pk_test_0123456789abcdefghijABCDEFGHIJ"));
	assert_false(gw_auth_secret_key_shape_ok("sk_test_short"));
	assert_false(gw_auth_secret_key_shape_ok("sk_test_0123456789abcdefghij-BCDEFGHIJ"));
	assert_false(gw_auth_secret_key_shape_ok(""));
	assert_false(gw_auth_secret_key_shape_ok(NULL));
}

static void test_key_generate(void **state)
{
	char k1[128], k2[128], s1[65], s2[65], d1[16], d2[16];

	(void)state;
	assert_int_equal(gw_auth_key_generate("sk_test_", k1, sizeof k1, s1, d1), 0);
	assert_int_equal(gw_auth_key_generate("sk_test_", k2, sizeof k2, s2, d2), 0);
	assert_true(gw_auth_secret_key_shape_ok(k1));
	assert_string_not_equal(k1, k2);
	assert_string_not_equal(s1, s2);
	assert_int_equal(strlen(s1), 64);
	assert_int_equal(strlen(d1), 12);
	assert_memory_equal(d1, k1, 12);
	assert_true(strlen(k1) >= 8 + 43); /* 32 bytes of base62 */
	assert_int_equal(gw_auth_key_generate("sk_test_", k1, 20, s1, d1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_minimal_and_full),
		cmocka_unit_test(test_unknown_field),
		cmocka_unit_test(test_amount),
		cmocka_unit_test(test_stored_credential),
		cmocka_unit_test(test_currency),
		cmocka_unit_test(test_payment_method),
		cmocka_unit_test(test_capture_method_and_description),
		cmocka_unit_test(test_secret_key_shape),
		cmocka_unit_test(test_key_generate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
