/*
 * Unit tests: Idempotency-Key checks and the request fingerprint (docs/invariants.md
 * invariant 8).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/payments/gw_idempotency.h"

static void fp_of(const char *method, const char *path, const char *text, char out[65])
{
	json_error_t jerr;
	json_t *body = text != NULL ? json_loads(text, 0, &jerr) : NULL;

	if (text != NULL)
		assert_non_null(body);
	assert_int_equal(gw_idem_fingerprint(method, path, body, out), 0);
	assert_int_equal(strlen(out), 64);
	json_decref(body);
}

static void test_fingerprint_reordered_keys_equal(void **state)
{
	char a[65], b[65];

	(void)state;
	fp_of("POST", "/v1/payments",
	      "{\"amount\":1000,\"currency\":\"usd\",\"payment_method\":\"tok_abcdefgh\"}", a);
	fp_of("POST", "/v1/payments",
	      "{ \"payment_method\" : \"tok_abcdefgh\",\n \"currency\":\"usd\", \"amount\": 1000 }", b);
	assert_string_equal(a, b);
}

static void test_fingerprint_changes(void **state)
{
	char base[65], other[65];

	(void)state;
	fp_of("POST", "/v1/payments",
	      "{\"amount\":1000,\"currency\":\"usd\",\"payment_method\":\"tok_abcdefgh\"}", base);
	fp_of("POST", "/v1/payments",
	      "{\"amount\":1001,\"currency\":\"usd\",\"payment_method\":\"tok_abcdefgh\"}", other);
	assert_string_not_equal(base, other);
	fp_of("POST", "/v1/payments",
	      "{\"amount\":1000,\"currency\":\"eur\",\"payment_method\":\"tok_abcdefgh\"}", other);
	assert_string_not_equal(base, other);
	fp_of("POST", "/v1/payments",
	      "{\"amount\":1000,\"currency\":\"usd\",\"payment_method\":\"tok_abcdefgh\","
	      "\"capture_method\":\"manual\"}", other);
	assert_string_not_equal(base, other);
	fp_of("POST", "/v1/refunds",
	      "{\"amount\":1000,\"currency\":\"usd\",\"payment_method\":\"tok_abcdefgh\"}", other);
	assert_string_not_equal(base, other);
	fp_of("PUT", "/v1/payments",
	      "{\"amount\":1000,\"currency\":\"usd\",\"payment_method\":\"tok_abcdefgh\"}", other);
	assert_string_not_equal(base, other);
	fp_of("POST", "/v1/payments", NULL, other);
	assert_string_not_equal(base, other);
	assert_int_equal(gw_idem_fingerprint(NULL, "/v1/payments", NULL, other), -1);
}

static void test_key_length_limits(void **state)
{
	struct gw_error err;
	char key[300];

	(void)state;
	memset(key, 'k', sizeof key);
	key[255] = '\0';
	assert_int_equal(gw_idem_key_check(key, &err), 0);
	key[255] = 'k';
	key[256] = '\0';
	assert_int_equal(gw_idem_key_check(key, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.type, "invalid_request_error");
	assert_string_equal(err.code, "idempotency_key_too_long");
	/* The message never echoes the key. */
	assert_null(strstr(err.message, "kkkk"));
	assert_int_equal(gw_idem_key_check("a", &err), 0);
	assert_int_equal(gw_idem_key_check("", &err), -1);
	assert_string_equal(err.code, "idempotency_key_invalid");
	assert_int_equal(gw_idem_key_check("abc\ndef", &err), -1);
	assert_string_equal(err.code, "idempotency_key_invalid");
	assert_int_equal(gw_idem_key_check("3f1c0b4e-8a7d-4c55-9d0e-2b9a1f6c7e21", &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fingerprint_reordered_keys_equal),
		cmocka_unit_test(test_fingerprint_changes),
		cmocka_unit_test(test_key_length_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
