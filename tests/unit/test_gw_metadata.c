/*
 * Unit tests of gw_metadata_parse and gw_error_unknown_param
 * (gateway/api/gw_request.c, issue 19 item 1): Stripe's metadata limits,
 * errors naming metadata[key], card numbers refused in keys and values
 * however they are split (the per-value screen, independent of the
 * dispatch screen of common/sr_http_screen.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/api/gw_request.h"

static char g_out[GW_METADATA_JSON_MAX + 1];

static int parse_text(const char *text, struct gw_error *err)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
	int rc;

	assert_non_null(v);
	memset(err, 0, sizeof *err);
	rc = gw_metadata_parse(v, g_out, sizeof g_out, err);
	json_decref(v);
	return rc;
}

static void expect(const char *text, const char *code, const char *param)
{
	struct gw_error err;

	if (parse_text(text, &err) != -1)
		fail_msg("accepted: %.80s", text);
	if (strcmp(err.code, code) != 0)
		fail_msg("%.80s: code %s, want %s", text, err.code, code);
	assert_string_equal(err.param, param);
	assert_int_equal(err.status, 400);
	assert_string_equal(g_out, "");
	/* never a value's digits in the error */
	assert_null(strstr(err.message, "4242"));
	assert_null(strstr(err.param, "4242"));
}

static void test_ok(void **state)
{
	struct gw_error err;
	json_t *back;

	(void)state;
	assert_int_equal(parse_text("{\"order_id\":\"6735\",\"note\":\"gift\"}", &err), 0);
	back = json_loads(g_out, 0, NULL);
	assert_non_null(back);
	assert_string_equal(json_string_value(json_object_get(back, "order_id")), "6735");
	assert_int_equal(json_object_size(back), 2);
	json_decref(back);
	/* null and "" unset a key; nothing left is "" */
	assert_int_equal(parse_text("{\"a\":null,\"b\":\"\"}", &err), 0);
	assert_string_equal(g_out, "");
	assert_int_equal(parse_text("null", &err), 0);
	assert_string_equal(g_out, "");
	assert_int_equal(gw_metadata_parse(NULL, g_out, sizeof g_out, &err), 0);
	/* 40 characters of a key, 500 of a value, counted in code points */
	assert_int_equal(parse_text("{\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	                            "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	                            "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	                            "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\":\"x\"}",
	                            &err), 0);
}

static void test_limits(void **state)
{
	char buf[40000];
	size_t n = 0;
	int i;

	(void)state;
	expect("\"x\"", "parameter_invalid_type", "metadata");
	expect("[1]", "parameter_invalid_type", "metadata");
	expect("{\"n\":12}", "parameter_invalid_type", "metadata[n]");
	expect("{\"o\":{\"a\":\"b\"}}", "parameter_invalid_type", "metadata[o]");
	expect("{\"a[b]\":\"x\"}", "metadata_key_invalid", "metadata");
	expect("{\"\":\"x\"}", "metadata_key_invalid", "metadata");
	expect("{\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\":\"v\"}", "metadata_key_too_long", "metadata");
	n = (size_t)snprintf(buf, sizeof buf, "{\"long\":\"");
	for (i = 0; i < 501; i++)
		buf[n++] = 'v';
	snprintf(buf + n, sizeof buf - n, "\"}");
	expect(buf, "metadata_value_too_long", "metadata[long]");
	/* a key that is no identifier is not named */
	n = (size_t)snprintf(buf, sizeof buf, "{\"a key\":\"");
	for (i = 0; i < 501; i++)
		buf[n++] = 'v';
	snprintf(buf + n, sizeof buf - n, "\"}");
	expect(buf, "metadata_value_too_long", "metadata");
	/* 51 keys */
	n = (size_t)snprintf(buf, sizeof buf, "{");
	for (i = 0; i < 51; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"k%d\":\"v\"", i ? "," : "", i);
	snprintf(buf + n, sizeof buf - n, "}");
	expect(buf, "metadata_too_many_keys", "metadata");
}

static void test_pan_refused(void **state)
{
	static const char *const cases[] = {
		"{\"order\":\"4242424242424242\"}",
		"{\"order\":\"4242 4242 4242 4242\"}",
		"{\"order\":\"card 4242-4242-4242-4242 thanks\"}",
		"{\"order\":\"\\u0034242424242424242\"}",
		"{\"4242 4242 4242 4242\":\"x\"}",
		"{\"k\":\"4011 7800 0000 0006\"}",
		"{\"k\":\"6073 0000 0000 0009\"}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect(cases[i], "pan_not_allowed", "metadata");
}

static void test_unknown_param(void **state)
{
	struct gw_error err;

	(void)state;
	memset(&err, 0, sizeof err);
	gw_error_unknown_param(&err, "amont");
	assert_string_equal(err.code, "parameter_unknown");
	assert_string_equal(err.param, "amont");
	assert_string_equal(err.message, "Received unknown parameter: amont.");
	gw_error_unknown_param(&err, "card[number]");
	assert_string_equal(err.param, "card[number]");
	/* anything else is not named: it may be card data */
	gw_error_unknown_param(&err, "4242 4242 4242 4242");
	assert_null(err.param);
	assert_null(strstr(err.message, "4242"));
	gw_error_unknown_param(&err, "4242424242424242");
	assert_null(err.param);
	gw_error_unknown_param(&err, "a\"b");
	assert_null(err.param);
	gw_error_unknown_param(&err, NULL);
	assert_null(err.param);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_pan_refused),
		cmocka_unit_test(test_unknown_param),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
