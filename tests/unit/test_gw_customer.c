/*
 * Unit tests of gw_customer_apply, gw_metadata_apply and gw_customer_to_json
 * (gateway/customers/gw_customer.c; issue 19 item 2, ADR 0128): Stripe's
 * update semantics (only given fields change, metadata merged, "" unsets),
 * the field checks, unknown parameters named, and card numbers refused in
 * every field after JSON decoding (the per-field screen, independent of the
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

#include "gateway/customers/gw_customer.h"

static struct gw_customer g_c;

static int apply(const char *text, bool update, struct gw_error *err)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
	bool dflt = false;
	int rc;

	assert_non_null(v);
	memset(err, 0, sizeof *err);
	rc = gw_customer_apply(v, update, &g_c, &dflt, err);
	json_decref(v);
	return rc;
}

static void expect(const char *text, bool update, const char *code, const char *param)
{
	struct gw_error err;

	if (apply(text, update, &err) != -1)
		fail_msg("accepted: %.80s", text);
	if (strcmp(err.code, code) != 0)
		fail_msg("%.80s: code %s, want %s", text, err.code, code);
	if (param == NULL)
		assert_null(err.param);
	else
		assert_string_equal(err.param, param);
	assert_int_equal(err.status, 400);
	assert_null(strstr(err.message, "4242"));
}

static void test_create_and_render(void **state)
{
	struct gw_error err;
	json_t *o = NULL;

	(void)state;
	memset(&g_c, 0, sizeof g_c);
	assert_int_equal(apply("{\"email\":\"a@b.io\",\"name\":\"Ada\",\"metadata\":{\"k\":\"v\"}}",
	                       false, &err), 0);
	snprintf(g_c.id, sizeof g_c.id, "cus_%s", "0123456789abcdefABCDEF");
	o = gw_customer_to_json(&g_c);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "email")), "a@b.io");
	assert_true(json_is_null(json_object_get(o, "description")));
	assert_true(json_is_null(json_object_get(o, "default_source")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "metadata"), "k")), "v");
	assert_int_equal(json_object_size(o), 8);
	json_decref(o);
}

static void test_update_semantics(void **state)
{
	struct gw_error err;
	json_t *md = NULL;

	(void)state;
	memset(&g_c, 0, sizeof g_c);
	assert_int_equal(apply("{\"email\":\"a@b.io\",\"name\":\"Ada\",\"description\":\"d\","
	                       "\"metadata\":{\"a\":\"1\",\"b\":\"2\"}}", false, &err), 0);
	assert_int_equal(apply("{\"description\":\"\",\"metadata\":{\"a\":\"\",\"c\":\"3\"}}", true,
	                       &err), 0);
	assert_string_equal(g_c.email, "a@b.io");
	assert_string_equal(g_c.name, "Ada");
	assert_string_equal(g_c.description, "");
	md = json_loads(g_c.metadata, 0, NULL);
	assert_null(json_object_get(md, "a"));
	assert_string_equal(json_string_value(json_object_get(md, "b")), "2");
	assert_string_equal(json_string_value(json_object_get(md, "c")), "3");
	json_decref(md);
	assert_int_equal(apply("{\"name\":null,\"metadata\":\"\"}", true, &err), 0);
	assert_string_equal(g_c.name, "");
	assert_string_equal(g_c.metadata, "");
	assert_int_equal(apply("{\"default_source\":\"card_abcdefgh12\"}", true, &err), 0);
	assert_string_equal(g_c.default_source, "card_abcdefgh12");
}

static void test_refused(void **state)
{
	char key41[64];
	char body[128];

	(void)state;
	memset(&g_c, 0, sizeof g_c);
	expect("[]", false, "parameter_invalid_type", NULL);
	expect("{\"email\":1}", false, "parameter_invalid_type", "email");
	expect("{\"email\":\"nobody\"}", false, "email_invalid", "email");
	expect("{\"email\":\"a@b@c\"}", false, "email_invalid", "email");
	expect("{\"email\":\"a b@c.io\"}", false, "email_invalid", "email");
	expect("{\"name\":[\"x\"]}", false, "parameter_invalid_type", "name");
	expect("{\"name\":\"a\\nb\"}", false, "parameter_invalid_type", "name");
	expect("{\"description\":false}", false, "parameter_invalid_type", "description");
	expect("{\"default_source\":\"card_abcdefgh12\"}", false, "parameter_unknown",
	       "default_source");
	expect("{\"default_source\":\"tok_abcdefgh12\"}", true, "resource_missing", "default_source");
	expect("{\"default_source\":5}", true, "parameter_invalid_type", "default_source");
	expect("{\"emial\":\"a@b.io\"}", true, "parameter_unknown", "emial");
	memset(key41, 'k', 41);
	key41[41] = '\0';
	snprintf(body, sizeof body, "{\"metadata\":{\"%s\":\"v\"}}", key41);
	expect(body, false, "metadata_key_too_long", "metadata");
}

static void test_merge_limits(void **state)
{
	struct gw_error err;
	json_t *md = json_object();
	json_t *body = NULL;
	char k[16];
	char *text = NULL;
	int i;

	(void)state;
	memset(&g_c, 0, sizeof g_c);
	for (i = 0; i < 50; i++) {
		snprintf(k, sizeof k, "k%d", i);
		json_object_set_new(md, k, json_string("v"));
	}
	body = json_pack("{s:o}", "metadata", md);
	text = json_dumps(body, JSON_COMPACT);
	assert_int_equal(apply(text, false, &err), 0);
	/* 50 stored + 1 merged: over Stripe's 50 keys. */
	expect("{\"metadata\":{\"k50\":\"v\"}}", true, "metadata_too_many_keys", "metadata");
	/* Replacing and deleting stays within. */
	assert_int_equal(apply("{\"metadata\":{\"k0\":\"w\",\"k1\":\"\"}}", true, &err), 0);
	free(text);
	json_decref(body);
}

/* Card numbers, decoded: JSON escapes, separators, glued to letters. */
static void test_pan_refused(void **state)
{
	static const char *const bodies[][2] = {
		{ "{\"email\":\"4242424242424242@example.com\"}", "email" },
		{ "{\"name\":\"\\u0034242 4242 4242 4242\"}", "name" },
		{ "{\"name\":\"jenny4242424242424242rosen\"}", "name" },
		{ "{\"description\":\"4242-4242-4242-4242\"}", "description" },
		{ "{\"description\":\"5555.5555.5555.4444\"}", "description" },
		{ "{\"metadata\":{\"n\":\"4242\\u00204242 4242 4242\"}}", "metadata" },
		{ "{\"metadata\":{\"4242424242424242\":\"x\"}}", "metadata" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		memset(&g_c, 0, sizeof g_c);
		expect(bodies[i][0], i % 2 == 0, "pan_not_allowed", bodies[i][1]);
		assert_null(strstr(g_c.email, "4242"));
		assert_null(strstr(g_c.name, "4242"));
		assert_null(strstr(g_c.description, "4242"));
		assert_null(strstr(g_c.metadata, "4242"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_render),
		cmocka_unit_test(test_update_semantics),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_merge_limits),
		cmocka_unit_test(test_pan_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
