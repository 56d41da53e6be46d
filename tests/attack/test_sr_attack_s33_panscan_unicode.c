/*
 * Attack suite, session 33: a card number in other decimal digits. A shopper
 * typing through a Japanese or Chinese input method writes full-width digits
 * ("４２４２ ４２４２ ..."), Arabic and Persian keyboards write Arabic-Indic
 * ones: the same PAN, which a merchant can pass on in a customer's name,
 * description or metadata. common/sr_panscan read only ASCII digits, so
 * such a number passed the dispatch screen and every field's scan, raw
 * (UTF-8) or JSON-escaped (\uFF14), and was stored outside the CDE.
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

#define FW4 "\xef\xbc\x94" /* U+FF14 FULLWIDTH DIGIT FOUR */
#define FW2 "\xef\xbc\x92"
#define AR4 "\xd9\xa4"     /* U+0664 ARABIC-INDIC DIGIT FOUR */
#define AR2 "\xd9\xa2"

static void test_fullwidth(void **state)
{
	(void)state;
	assert_true(has("card " FW4 FW2 FW4 FW2 " " FW4 FW2 FW4 FW2 " " FW4 FW2 FW4 FW2 " "
	                FW4 FW2 FW4 FW2 " thanks"));
	assert_true(has("\"\\uff14\\uff12\\uff14\\uff12\\uff14\\uff12\\uff14\\uff12"
	                "\\uFF14\\uFF12\\uFF14\\uFF12\\uFF14\\uFF12\\uFF14\\uFF12\""));
	/* mixed with ASCII digits, percent-encoded UTF-8 */
	assert_true(has("4242%EF%BC%94%EF%BC%92" "4242" FW4 "2424242"));
}

static void test_arabic_indic(void **state)
{
	(void)state;
	assert_true(has(AR4 AR2 AR4 AR2 AR4 AR2 AR4 AR2 AR4 AR2 AR4 AR2 AR4 AR2 AR4 AR2));
	assert_true(has("\\u06f4\\u06f2\\u06f4\\u06f2\\u06f4\\u06f2\\u06f4\\u06f2"
	                "\\u06f4\\u06f2\\u06f4\\u06f2\\u06f4\\u06f2\\u06f4\\u06f2"));
}

static void test_still_benign(void **state)
{
	(void)state;
	assert_false(has("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e caf\xc3\xa9 2024-02-16 14:30:41"));
	/* 16 full-width digits failing Luhn */
	assert_false(has(FW4 FW2 FW4 FW2 FW4 FW2 FW4 FW2 FW4 FW2 FW4 FW2 FW4 FW2 FW4 "\xef\xbc\x93"));
	/* truncated and invalid UTF-8 around ASCII digits that are no card */
	assert_false(has("\xef\xbc 1234 \xd9 5678 \xef\x94\x32"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fullwidth),
		cmocka_unit_test(test_arabic_indic),
		cmocka_unit_test(test_still_benign),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
