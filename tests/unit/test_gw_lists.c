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

static void test_event_id_shape(void **state)
{
	static const char *const OK[] = { "evt_1", "evt_42", "evt_999999999999999999", NULL };
	static const char *const BAD[] = {
		"", "evt_", "evt_0", "evt_01", "evt_1a", "evt_-1", "evt_ 1", "evt_1 ", "evt_1'",
		"evt_1234567890123456789", "EVT_1", "re_1", "1", "evt_1\n", NULL,
	};
	size_t i;

	(void)state;
	for (i = 0; OK[i] != NULL; i++)
		assert_true(gw_store_event_id_ok(OK[i]));
	for (i = 0; BAD[i] != NULL; i++)
		assert_false(gw_store_event_id_ok(BAD[i]));
	assert_false(gw_store_event_id_ok(NULL));
	assert_int_equal(gw_store_event_number("evt_42"), 42);
	assert_int_equal(gw_store_event_number("evt_999999999999999999"), 999999999999999999LL);
	assert_int_equal(gw_store_event_number("evt_042"), -1);
	assert_int_equal(gw_store_event_number("evt_0"), -1);
	assert_int_equal(gw_store_event_number(NULL), -1);
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
		cmocka_unit_test(test_page_row_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
