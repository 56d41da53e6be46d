/*
 * Unit tests of the dispute model (gateway/disputes/gw_dispute.c, ADR 0132):
 * the evidence body (known text fields only, merged, "" / null unsets,
 * bounded, card numbers refused without echo, nothing merged from a refused
 * body), Stripe's reasons, closed states and the Dispute JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/api/gw_request.h"
#include "gateway/disputes/gw_dispute.h"

static int parse(const char *text, json_t *ev, bool *submit, struct gw_error *err)
{
	json_t *b = json_loads(text, JSON_ALLOW_NUL, NULL);
	int rc;

	assert_non_null(b);
	memset(err, 0, sizeof *err);
	rc = gw_dispute_update_parse(b, ev, submit, err);
	json_decref(b);
	return rc;
}

static void refused(const char *text, const char *code, const char *param)
{
	json_t *ev = json_pack("{s:s}", "customer_name", "Jane");
	struct gw_error err;
	bool submit = true;

	assert_int_equal(parse(text, ev, &submit, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.code, code);
	if (param == NULL)
		assert_null(err.param);
	else
		assert_string_equal(err.param, param);
	assert_null(strstr(err.message, "4242"));
	assert_null(strstr(err.param != NULL ? err.param : "", "4242"));
	/* nothing merged from a refused body */
	assert_int_equal(json_object_size(ev), 1);
	assert_string_equal(json_string_value(json_object_get(ev, "customer_name")), "Jane");
	json_decref(ev);
}

static void test_merge(void **state)
{
	(void)state;
	json_t *ev = json_pack("{s:s, s:s}", "customer_name", "Jane", "shipping_carrier", "UPS");
	struct gw_error err;
	bool submit = false;

	assert_int_equal(parse("{\"evidence\":{\"product_description\":\"Teapot\",\"customer_name\":\"\","
	                       "\"shipping_carrier\":null},\"submit\":true}", ev, &submit, &err), 0);
	assert_true(submit);
	assert_int_equal(json_object_size(ev), 1);
	assert_string_equal(json_string_value(json_object_get(ev, "product_description")), "Teapot");
	assert_int_equal(parse("{}", ev, &submit, &err), 0);
	assert_false(submit);
	json_decref(ev);
}

static void test_refused(void **state)
{
	(void)state;
	char *big = malloc(GW_DISPUTE_EVIDENCE_MAX + 64);
	char *body = malloc(GW_DISPUTE_EVIDENCE_MAX + 128);

	assert_non_null(big);
	assert_non_null(body);
	refused("{\"amount\":1}", "parameter_unknown", "amount");
	refused("{\"evidence\":{\"receipt\":\"file_1\"}}", "parameter_unknown", "evidence[receipt]");
	refused("{\"evidence\":{\"4242424242424242\":\"x\"}}", "parameter_unknown", "evidence");
	refused("{\"evidence\":[]}", "parameter_invalid_type", "evidence");
	refused("{\"evidence\":{\"customer_name\":7}}", "parameter_invalid_type", "evidence[customer_name]");
	refused("{\"submit\":\"yes\"}", "parameter_invalid_type", "submit");
	refused("{\"evidence\":{\"uncategorized_text\":\"card 4242 4242 4242 4242\"}}", "pan_not_allowed",
	        "evidence[uncategorized_text]");
	refused("{\"evidence\":{\"uncategorized_text\":\"4242-4242-4242-4242\"}}", "pan_not_allowed",
	        "evidence[uncategorized_text]");
	refused("{\"evidence\":{\"customer_name\":\"a\\u0000b\"}}", "evidence_too_long",
	        "evidence[customer_name]");
	memset(big, 'a', GW_DISPUTE_EVIDENCE_MAX + 1);
	big[GW_DISPUTE_EVIDENCE_MAX + 1] = '\0';
	snprintf(body, GW_DISPUTE_EVIDENCE_MAX + 128, "{\"evidence\":{\"access_activity_log\":\"%s\"}}", big);
	refused(body, "evidence_too_long", "evidence[access_activity_log]");
	free(big);
	free(body);
}

static void test_model(void **state)
{
	(void)state;
	struct gw_dispute d;
	json_t *j = NULL;

	assert_string_equal(gw_dispute_reason("fraudulent"), "fraudulent");
	assert_string_equal(gw_dispute_reason("10.4"), "general");
	assert_string_equal(gw_dispute_reason(NULL), "general");
	assert_true(gw_dispute_closed("lost"));
	assert_true(gw_dispute_closed("won"));
	assert_true(gw_dispute_closed("warning_closed"));
	assert_false(gw_dispute_closed("needs_response"));
	assert_false(gw_dispute_closed("under_review"));
	assert_true(gw_dispute_id_ok("du_0123456789abcdefghijkl"));
	assert_false(gw_dispute_id_ok("du_nope"));
	assert_false(gw_dispute_id_ok("re_0123456789abcdefghijkl"));
	memset(&d, 0, sizeof d);
	snprintf(d.id, sizeof d.id, "du_0123456789abcdefghijkl");
	snprintf(d.status, sizeof d.status, "needs_response");
	snprintf(d.psp_dispute_id, sizeof d.psp_dispute_id, "du_psp_secret");
	d.evidence = json_pack("{s:s}", "customer_name", "Jane");
	j = gw_dispute_to_json(&d);
	assert_non_null(j);
	assert_true(json_is_null(json_object_get(json_object_get(j, "evidence"), "shipping_carrier")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "evidence"),
	                                                      "customer_name")), "Jane");
	assert_true(json_is_true(json_object_get(json_object_get(j, "evidence_details"), "has_evidence")));
	assert_true(json_is_null(json_object_get(json_object_get(j, "evidence_details"), "due_by")));
	{
		char *text = json_dumps(j, 0);

		assert_null(strstr(text, "du_psp_secret")); /* the PSP's id is never shown */
		free(text);
	}
	json_decref(j);
	gw_dispute_clear(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
