/*
 * Unit tests of gw_metadata_parse, gw_error_unknown_param and the statement
 * descriptors (gateway/api/gw_request.c, sr_statement_descriptor_ok;
 * issue 19 item 1): Stripe's metadata limits,
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

#include "common/sr_util.h"
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

static void test_statement_descriptor(void **state)
{
	static struct gw_payment_request rq;
	struct gw_error err;
	json_t *b;

	(void)state;
	assert_true(sr_statement_descriptor_ok("STRONGROOM SHOP", 15, 5));
	assert_true(sr_statement_descriptor_ok("ORDER 42", 8, 1));
	assert_true(sr_statement_descriptor_ok("A", 1, 1));
	assert_true(sr_statement_descriptor_ok("Shop.co/x-1+?,_", 15, 5));
	assert_true(sr_statement_descriptor_ok("ABCDEFGHIJKLMNOPQRSTUV", 22, 5));
	assert_false(sr_statement_descriptor_ok("ABCDEFGHIJKLMNOPQRSTUVW", 23, 5));
	assert_false(sr_statement_descriptor_ok("SHOP", 4, 5));
	assert_false(sr_statement_descriptor_ok("12345", 5, 5));      /* no letter */
	assert_false(sr_statement_descriptor_ok("<b>SHOP", 7, 5));
	assert_false(sr_statement_descriptor_ok("SHOP'S", 6, 5));
	assert_false(sr_statement_descriptor_ok("SHOP\"X", 6, 5));
	assert_false(sr_statement_descriptor_ok("SHOP*X", 6, 5));
	assert_false(sr_statement_descriptor_ok("SHOP\\X", 6, 5));
	assert_false(sr_statement_descriptor_ok("SHOP\0XY", 7, 5));  /* NUL inside */
	assert_false(sr_statement_descriptor_ok("SH\xc3\xa9OP", 6, 5)); /* non-ASCII */
	assert_false(sr_statement_descriptor_ok(NULL, 0, 1));

	memset(&err, 0, sizeof err);
	b = json_loads("{\"amount\":100,\"currency\":\"usd\",\"payment_method\":\"tok_abcdefgh\","
	               "\"statement_descriptor\":\"STRONGROOM\",\"statement_descriptor_suffix\":\"A1\"}",
	               0, NULL);
	assert_int_equal(gw_payment_request_parse(b, &rq, &err), 0);
	assert_string_equal(rq.statement_descriptor, "STRONGROOM");
	assert_string_equal(rq.statement_descriptor_suffix, "A1");
	json_decref(b);
	b = json_loads("{\"amount\":100,\"currency\":\"usd\",\"payment_method\":\"tok_abcdefgh\","
	               "\"statement_descriptor_suffix\":\"<x>\"}", 0, NULL);
	assert_int_equal(gw_payment_request_parse(b, &rq, &err), -1);
	assert_string_equal(err.code, "statement_descriptor_invalid");
	assert_string_equal(err.param, "statement_descriptor_suffix");
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_pan_refused),
		cmocka_unit_test(test_unknown_param),
		cmocka_unit_test(test_statement_descriptor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
