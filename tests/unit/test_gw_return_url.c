/*
 * Unit tests of gw_return_url_check and gw_return_url_for_psp
 * (gateway/payments/gw_return_url.c; issue 19 item 3, ADR 0131): what a
 * return_url may be, card numbers refused however often they are
 * percent-encoded, http only to the loopback host in test mode, and the
 * payment id appended to the query before any fragment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/payments/gw_return_url.h"

static const char *check(const char *s, bool test_mode)
{
	static struct gw_error err;

	memset(&err, 0, sizeof err);
	if (gw_return_url_check(s, strlen(s), test_mode, &err) == 0)
		return "ok";
	assert_string_equal(err.param, "return_url");
	assert_int_equal(err.status, 400);
	assert_null(strstr(err.message, "shop"));
	return err.code;
}

static void test_accepted(void **state)
{
	(void)state;
	assert_string_equal(check("https://shop.example/done", false), "ok");
	assert_string_equal(check("https://shop.example:8443/a/b?x=1&y=%20#top", false), "ok");
	assert_string_equal(check("https://shop.example/done?order=4111111111111112", false), "ok");
	assert_string_equal(check("http://localhost:3000/done", true), "ok");
	assert_string_equal(check("http://127.0.0.1/done", true), "ok");
	assert_string_equal(check("http://[::1]:8080/", true), "ok");
}

static void test_refused(void **state)
{
	char long_url[1100];

	(void)state;
	assert_string_equal(check("", false), "return_url_invalid");
	assert_string_equal(check("javascript:alert(1)", false), "return_url_invalid");
	assert_string_equal(check("data:text/html,x", false), "return_url_invalid");
	assert_string_equal(check("/relative", false), "return_url_invalid");
	assert_string_equal(check("//shop.example/x", false), "return_url_invalid");
	assert_string_equal(check("HTTPS://shop.example/", false), "return_url_invalid");
	assert_string_equal(check("https:///shop", false), "return_url_invalid");
	assert_string_equal(check("https://u:p@shop.example/", false), "return_url_invalid");
	assert_string_equal(check("https://@shop.example/", false), "return_url_invalid");
	assert_string_equal(check("https://shop.example:99999/", false), "return_url_invalid");
	assert_string_equal(check("https://shop.example/a b", false), "return_url_invalid");
	assert_string_equal(check("https://shop.example/\"<x>", false), "return_url_invalid");
	assert_string_equal(check("http://localhost/", false), "return_url_invalid");
	assert_string_equal(check("http://localhost.shop.example/", true), "return_url_invalid");
	assert_string_equal(check("http://shop.example/", true), "return_url_invalid");
	memset(long_url, 'a', sizeof long_url);
	memcpy(long_url, "https://shop.example/", 21);
	long_url[sizeof long_url - 1] = '\0';
	assert_string_equal(check(long_url, false), "return_url_invalid");
}

static void test_card_numbers(void **state)
{
	(void)state;
	assert_string_equal(check("https://shop.example/?c=4111111111111111", false), "pan_not_allowed");
	assert_string_equal(check("https://shop.example/#4111-1111-1111-1111", false), "pan_not_allowed");
	assert_string_equal(check("https://shop.example/?c=%34111111111111111", false), "pan_not_allowed");
	/* twice and three times encoded: %25 is '%' */
	assert_string_equal(check("https://shop.example/?c=%2534111111111111111", false), "pan_not_allowed");
	assert_string_equal(check("https://shop.example/?c=%252534111111111111111", false), "pan_not_allowed");
	assert_string_equal(check("https://shop.example/?c=4111%25201111%25201111%25201111", false),
	                    "pan_not_allowed");
}

static void test_for_psp(void **state)
{
	char out[GW_RETURN_URL_PSP_MAX + 1];

	(void)state;
	assert_int_equal(gw_return_url_for_psp("https://shop.example/done?o=7#top", "pay_abc", out, sizeof out), 0);
	assert_string_equal(out, "https://shop.example/done?o=7&payment=pay_abc#top");
	assert_int_equal(gw_return_url_for_psp("http://localhost:3000/done", "pay_abc", out, sizeof out), 0);
	assert_string_equal(out, "http://localhost:3000/done?payment=pay_abc");
	assert_int_equal(gw_return_url_for_psp("https://shop.example/", "pay_abc", out, 10), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_card_numbers),
		cmocka_unit_test(test_for_psp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
