/*
 * Unit tests: the shapes list cursors must have and the page row order
 * (gateway/store/gw_store_lists.h, issue 19).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/store/gw_store_lists.h"
#include "gateway/payments/gw_ledger.h"

static void test_event_id_shape(void **state)
{
	/* ADR 0129: evt_ + 22 base62 (sr_random_id, 16 bytes), or the 64 hex
	 * characters of rows older than it; never a sequence number. */
	static const char *const OK[] = {
		"evt_1QbfC5rYmnu7PfXRplebEh", "evt_aaaaaaaaaaaaaaaaaaaaaa",
		"evt_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL,
	};
	static const char *const BAD[] = {
		"", "evt_", "evt_1", "evt_42", "evt_999999999999999999", "evt_1QbfC5rYmnu7PfXRplebE",
		"evt_1QbfC5rYmnu7PfXRplebE'", "evt_1QbfC5rYmnu7PfXRplebE ", "evt_1QbfC5rYmnu7PfXRpleb-h",
		"EVT_1QbfC5rYmnu7PfXRplebEh", "re_1QbfC5rYmnu7PfXRplebEh", "evt_1QbfC5rYmnu7PfXRplebEh\n",
		"evt_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", NULL,
	};
	size_t i;

	(void)state;
	for (i = 0; OK[i] != NULL; i++)
		assert_true(gw_store_event_id_ok(OK[i]));
	for (i = 0; BAD[i] != NULL; i++)
		assert_false(gw_store_event_id_ok(BAD[i]));
	assert_false(gw_store_event_id_ok(NULL));
}

/* Stripe's data.previous_attributes: the changed members, old values. */
static void test_previous_attributes(void **state)
{
	json_t *before = json_pack("{s:s, s:s, s:I, s:n, s:o}", "id", "pay_1", "status", "processing",
	                           "amount_captured", (json_int_t)0, "failure_code", "metadata",
	                           json_pack("{s:s}", "k", "v"));
	json_t *after = json_pack("{s:s, s:s, s:I, s:n, s:o}", "id", "pay_1", "status", "captured",
	                          "amount_captured", (json_int_t)1500, "failure_code", "metadata",
	                          json_pack("{s:s}", "k", "v"));
	json_t *prev = gw_ledger_previous(before, after);
	json_t *none = gw_ledger_previous(after, after);
	json_t *bad = gw_ledger_previous(NULL, after);

	(void)state;
	assert_non_null(prev);
	assert_int_equal(json_object_size(prev), 2);
	assert_string_equal(json_string_value(json_object_get(prev, "status")), "processing");
	assert_int_equal(json_integer_value(json_object_get(prev, "amount_captured")), 0);
	assert_int_equal(json_object_size(none), 0);
	assert_int_equal(json_object_size(bad), 0);
	json_decref(before);
	json_decref(after);
	json_decref(prev);
	json_decref(none);
	json_decref(bad);
}

static void test_page_row_order(void **state)
{
	struct gw_page p;

	(void)state;
	memset(&p, 0, sizeof p);
	p.limit = 3;
	/* starting_after / no cursor: read newest first, in order. */
	assert_int_equal(gw_store_page_row(&p, 3, 0), 0);
	assert_int_equal(gw_store_page_row(&p, 3, 2), 2);
	p.starting_after = "re_aaaaaaaaaaaaaaaaaaaaaa";
	assert_int_equal(gw_store_page_row(&p, 3, 0), 0);
	/* ending_before: read oldest first, shown reversed (newest first). */
	p.starting_after = NULL;
	p.ending_before = "re_aaaaaaaaaaaaaaaaaaaaaa";
	assert_int_equal(gw_store_page_row(&p, 3, 0), 2);
	assert_int_equal(gw_store_page_row(&p, 3, 2), 0);
	assert_int_equal(gw_store_page_row(&p, 1, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_id_shape),
		cmocka_unit_test(test_previous_attributes),
		cmocka_unit_test(test_page_row_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
