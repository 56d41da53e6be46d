/*
 * Unit tests: the payment state machine (docs/architecture.md) and payment rendering.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/payments/gw_payment.h"

static const struct { enum gw_status from, to; } LEGAL[] = {
	{ GW_ST_PROCESSING, GW_ST_REQUIRES_ACTION },
	{ GW_ST_PROCESSING, GW_ST_AUTHORIZED },
	{ GW_ST_PROCESSING, GW_ST_CAPTURED },
	{ GW_ST_PROCESSING, GW_ST_FAILED },
	{ GW_ST_PROCESSING, GW_ST_UNKNOWN },
	{ GW_ST_PROCESSING, GW_ST_CANCELED },
	{ GW_ST_REQUIRES_ACTION, GW_ST_PROCESSING },
	{ GW_ST_REQUIRES_ACTION, GW_ST_FAILED },
	{ GW_ST_AUTHORIZED, GW_ST_CAPTURED },
	{ GW_ST_AUTHORIZED, GW_ST_VOIDED },
	{ GW_ST_AUTHORIZED, GW_ST_UNKNOWN },
	{ GW_ST_CAPTURED, GW_ST_PARTIALLY_REFUNDED },
	{ GW_ST_CAPTURED, GW_ST_REFUNDED },
	{ GW_ST_CAPTURED, GW_ST_DISPUTED },
	{ GW_ST_PARTIALLY_REFUNDED, GW_ST_REFUNDED },
	{ GW_ST_PARTIALLY_REFUNDED, GW_ST_DISPUTED },
	{ GW_ST_UNKNOWN, GW_ST_REQUIRES_ACTION },
	{ GW_ST_UNKNOWN, GW_ST_AUTHORIZED },
	{ GW_ST_UNKNOWN, GW_ST_CAPTURED },
	{ GW_ST_UNKNOWN, GW_ST_FAILED },
	{ GW_ST_UNKNOWN, GW_ST_VOIDED },
};

static int is_legal(enum gw_status f, enum gw_status t)
{
	size_t i;

	for (i = 0; i < sizeof LEGAL / sizeof LEGAL[0]; i++)
		if (LEGAL[i].from == f && LEGAL[i].to == t)
			return 1;
	return 0;
}

static void test_legal_transitions_allowed(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof LEGAL / sizeof LEGAL[0]; i++)
		assert_true(gw_payment_transition_allowed(LEGAL[i].from, LEGAL[i].to));
}

static void test_named_illegal_transitions_refused(void **state)
{
	(void)state;
	assert_false(gw_payment_transition_allowed(GW_ST_FAILED, GW_ST_CAPTURED));
	assert_false(gw_payment_transition_allowed(GW_ST_CAPTURED, GW_ST_AUTHORIZED));
	assert_false(gw_payment_transition_allowed(GW_ST_VOIDED, GW_ST_CAPTURED));
	assert_false(gw_payment_transition_allowed(GW_ST_REFUNDED, GW_ST_CAPTURED));
	assert_false(gw_payment_transition_allowed(GW_ST_REFUNDED, GW_ST_PARTIALLY_REFUNDED));
	assert_false(gw_payment_transition_allowed(GW_ST_AUTHORIZED, GW_ST_REFUNDED));
	assert_false(gw_payment_transition_allowed(GW_ST_FAILED, GW_ST_PROCESSING));
	assert_false(gw_payment_transition_allowed(GW_ST_CAPTURED, GW_ST_VOIDED));
	assert_false(gw_payment_transition_allowed(GW_ST_DISPUTED, GW_ST_CAPTURED));
	assert_false(gw_payment_transition_allowed(GW_ST_UNKNOWN, GW_ST_PROCESSING));
	assert_false(gw_payment_transition_allowed(GW_ST_PROCESSING, GW_ST_REFUNDED));
	assert_false(gw_payment_transition_allowed(GW_ST_PROCESSING, GW_ST_PROCESSING));
}

/* Exhaustive: exactly the listed pairs are legal, nothing else; terminal
 * states have no way out. */
static void test_transition_table_exact(void **state)
{
	int f, t;

	(void)state;
	for (f = 0; f < GW_ST__COUNT; f++)
		for (t = 0; t < GW_ST__COUNT; t++)
			assert_int_equal(gw_payment_transition_allowed((enum gw_status)f, (enum gw_status)t),
			                 is_legal((enum gw_status)f, (enum gw_status)t));
	for (t = 0; t < GW_ST__COUNT; t++) {
		assert_false(gw_payment_transition_allowed(GW_ST_FAILED, (enum gw_status)t));
		assert_false(gw_payment_transition_allowed(GW_ST_VOIDED, (enum gw_status)t));
		assert_false(gw_payment_transition_allowed(GW_ST_REFUNDED, (enum gw_status)t));
		assert_false(gw_payment_transition_allowed(GW_ST_CANCELED, (enum gw_status)t));
	}
	/* Out-of-range values are refused, not read past the table. */
	assert_false(gw_payment_transition_allowed(GW_ST__COUNT, GW_ST_CAPTURED));
	assert_false(gw_payment_transition_allowed((enum gw_status)-1, GW_ST_CAPTURED));
}

static void test_status_string_round_trip(void **state)
{
	static const char *const NAMES[] = {
		"processing", "requires_action", "authorized", "captured", "partially_refunded",
		"refunded", "voided", "failed", "disputed", "unknown", "canceled",
	};
	enum gw_status st;
	int i;

	(void)state;
	assert_int_equal(sizeof NAMES / sizeof NAMES[0], GW_ST__COUNT);
	for (i = 0; i < GW_ST__COUNT; i++) {
		assert_string_equal(gw_status_str((enum gw_status)i), NAMES[i]);
		assert_int_equal(gw_status_parse(NAMES[i], &st), 0);
		assert_int_equal(st, i);
	}
	assert_int_equal(gw_status_parse("succeeded", &st), -1);
	assert_int_equal(gw_status_parse("Captured", &st), -1);
	assert_int_equal(gw_status_parse("", &st), -1);
	assert_int_equal(gw_status_parse(NULL, &st), -1);
}

static void test_payment_json(void **state)
{
	struct gw_payment p;
	json_t *o = NULL;

	(void)state;
	memset(&p, 0, sizeof p);
	strcpy(p.id, "pay_abc12345");
	strcpy(p.merchant_id, "mer_abc12345");
	p.amount = 1000;
	strcpy(p.currency, "usd");
	p.status = GW_ST_CAPTURED;
	strcpy(p.capture_method, "automatic");
	strcpy(p.payment_method, "tok_abcdefgh12");
	strcpy(p.card_brand, "visa");
	strcpy(p.card_last4, "4242");
	p.amount_captured = 1000;
	strcpy(p.psp_reference, "pi_123");
	strcpy(p.connector, "stripe");
	p.created = 1700000000;
	o = gw_payment_to_json(&p);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "object")), "payment");
	assert_string_equal(json_string_value(json_object_get(o, "status")), "captured");
	assert_int_equal(json_integer_value(json_object_get(o, "amount")), 1000);
	assert_int_equal(json_integer_value(json_object_get(o, "amount_captured")), 1000);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "card"), "last4")),
	                    "4242");
	assert_true(json_is_null(json_object_get(o, "failure_code")));
	assert_true(json_is_null(json_object_get(o, "next_action")));
	assert_true(json_is_false(json_object_get(o, "livemode")));
	assert_int_equal(json_integer_value(json_object_get(o, "created")), 1700000000);
	/* The merchant id is not part of the public object. */
	assert_null(json_object_get(o, "merchant_id"));
	json_decref(o);

	p.status = GW_ST_REQUIRES_ACTION;
	strcpy(p.redirect_url, "https://psp.strongroom.test/3ds/x");
	o = gw_payment_to_json(&p);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(o,
	                    "next_action"), "redirect_to_url"), "url")),
	                    "https://psp.strongroom.test/3ds/x");
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_legal_transitions_allowed),
		cmocka_unit_test(test_named_illegal_transitions_refused),
		cmocka_unit_test(test_transition_table_exact),
		cmocka_unit_test(test_status_string_round_trip),
		cmocka_unit_test(test_payment_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
