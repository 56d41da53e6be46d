/*
 * Attack suite, session 33: a card number encoded more than once. A merchant
 * field (a customer's name, metadata, a webhook endpoint's description, an
 * Idempotency-Key that becomes an Event's request.idempotency_key) is screened
 * by common/sr_panscan, which decoded one level of %XX or JSON escape: a PAN
 * percent-encoded twice ("%2534%2532...": what a form or SDK that encodes an
 * already encoded value sends) or a JSON-escaped backslash before a \u escape
 * (a JSON blob inside a JSON string) passed, and was stored and sent on.
 * The scanner must decode what an escape produced when it starts an escape
 * itself, to any depth.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/sr_panscan.h"

static bool has(const char *s)
{
	return sr_panscan_has_pan(s, strlen(s));
}

static void test_twice_percent_encoded(void **state)
{
	(void)state;
	/* 4242424242424242, every digit %25-encoded twice */
	assert_true(has("%2534%2532%2534%2532%2534%2532%2534%2532"
	                "%2534%2532%2534%2532%2534%2532%2534%2532"));
	/* three times, split by an encoded space */
	assert_true(has("x%252534%252532%252534%252532%252520%252534%252532%252534%252532 "
	                "4242 4242"));
	/* twice, only the separators encoded twice */
	assert_true(has("4242%252B4242%252B4242%252B4242"));
	/* \u0025 then 34: a JSON escape of '%' starting a percent escape */
	assert_true(has("\\u002534\\u002532\\u002534\\u002532\\u002534\\u002532\\u002534\\u002532"
	                "\\u002534\\u002532\\u002534\\u002532\\u002534\\u002532\\u002534\\u002532"));
}

static void test_json_inside_json(void **state)
{
	(void)state;
	/* the raw bytes of {"m":"{\"n\":\"\\u0034242424242424242\"}"} */
	assert_true(has("{\"m\":\"{\\\"n\\\":\\\"\\\\u0034242424242424242\\\"}\"}"));
}

static void test_still_benign(void **state)
{
	(void)state;
	assert_false(has("100%25 off, 50%25 of 2024-02-16 14:30:41"));
	assert_false(has("%25%25%25%25"));
	assert_false(has("C:\\\\new\\\\table %2525 \\\\u"));
	/* 16 digits failing Luhn, encoded twice */
	assert_false(has("%2534%2532%2534%2532%2534%2532%2534%2532"
	                 "%2534%2532%2534%2532%2534%2532%2534%2533"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_twice_percent_encoded),
		cmocka_unit_test(test_json_inside_json),
		cmocka_unit_test(test_still_benign),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
