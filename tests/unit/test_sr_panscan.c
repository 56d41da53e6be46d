/* Unit tests for common/sr_panscan (the PAN scanner behind build/bin/panscan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "common/sr_panscan.h"

struct found {
	size_t n;
	sr_panscan_hit h[16];
};

static void collect(const sr_panscan_hit *hit, void *ctx)
{
	struct found *f = ctx;

	if (f->n < 16)
		f->h[f->n] = *hit;
	f->n++;
}

static size_t scan(const char *text, struct found *f)
{
	uint64_t n;

	memset(f, 0, sizeof *f);
	n = sr_panscan_buffer(text, strlen(text), collect, f);
	assert_int_equal(n, f->n);
	return f->n;
}

static void test_luhn(void **state)
{
	(void)state;
	assert_true(sr_panscan_luhn("4242424242424242", 16));
	assert_false(sr_panscan_luhn("4242424242424241", 16));
	assert_true(sr_panscan_luhn("378282246310005", 15));
	assert_true(sr_panscan_luhn("0", 1));
	assert_false(sr_panscan_luhn("", 0));
	assert_false(sr_panscan_luhn("42a2", 4));
}

static void test_plain_number(void **state)
{
	struct found f;

	(void)state;
	assert_int_equal(scan("card 4242424242424242 ok", &f), 1);
	assert_string_equal(f.h[0].masked, "424242******4242");
	assert_int_equal(f.h[0].ndigits, 16);
	assert_int_equal(f.h[0].offset, 5);
	assert_int_equal(f.h[0].line, 1);
	assert_int_equal(f.h[0].column, 6);
	/* at the very start and end of the input, in JSON, after a newline */
	assert_int_equal(scan("4242424242424242", &f), 1);
	assert_int_equal(scan("{\"number\":\"5555555555554444\"}", &f), 1);
	assert_string_equal(f.h[0].masked, "555555******4444");
	assert_int_equal(scan("a\nb\n  378282246310005,", &f), 1);
	assert_int_equal(f.h[0].line, 3);
	assert_int_equal(f.h[0].column, 3);
	assert_string_equal(f.h[0].masked, "378282*****0005");
}

static void test_lengths(void **state)
{
	struct found f;

	(void)state;
	/* 14 (Diners) to 19 digits; 12, 13 (Visa's retired length) and 20 are
	 * not (all Luhn-valid). */
	assert_int_equal(scan("x 36227206271667 x", &f), 1);
	assert_int_equal(f.h[0].ndigits, 14);
	assert_int_equal(scan("x 6011000000000000001 x", &f), 1);
	assert_int_equal(f.h[0].ndigits, 19);
	assert_string_equal(f.h[0].masked, "601100*********0001");
	assert_int_equal(scan("x 4222222222222 x", &f), 0);   /* 13 */
	assert_int_equal(scan("x 424242424242 x", &f), 0);   /* 12 */
	assert_int_equal(scan("x 42424242424242424242 x", &f), 0); /* 20 */
	assert_int_equal(scan("x 4242424242424241 x", &f), 0);  /* Luhn fails */
}

static void test_iin_ranges(void **state)
{
	(void)state;
	assert_true(sr_panscan_iin_ok("4242424242424242", 16));      /* Visa */
	assert_true(sr_panscan_iin_ok("5555555555554444", 16));      /* Mastercard */
	assert_true(sr_panscan_iin_ok("2223003122003222", 16));      /* Mastercard 2-series */
	assert_true(sr_panscan_iin_ok("378282246310005", 15));       /* Amex */
	assert_true(sr_panscan_iin_ok("6011111111111117", 16));      /* Discover */
	assert_true(sr_panscan_iin_ok("3566002020360505", 16));      /* JCB */
	assert_true(sr_panscan_iin_ok("30569309025904", 14));        /* Diners */
	assert_true(sr_panscan_iin_ok("6200000000000005", 16));      /* UnionPay */
	assert_true(sr_panscan_iin_ok("6759649826438453", 16));      /* Maestro */
	/* a luhn-valid number no network issues: prefix or length */
	assert_false(sr_panscan_iin_ok("1765118001234567", 16));
	assert_false(sr_panscan_iin_ok("2220000000000000", 16));
	assert_false(sr_panscan_iin_ok("2721000000000000", 16));
	assert_false(sr_panscan_iin_ok("5555555555554444555", 19)); /* Mastercard is 16 */
	assert_false(sr_panscan_iin_ok("37828224631000", 14));      /* Amex is 15 */
	assert_false(sr_panscan_iin_ok("42424242424x4242", 16));
}

static void test_separators(void **state)
{
	struct found f;

	(void)state;
	assert_int_equal(scan("pan: 4242 4242 4242 4242.", &f), 1);
	assert_string_equal(f.h[0].masked, "424242******4242");
	assert_int_equal(f.h[0].column, 6);
	assert_int_equal(scan("pan: 4242-4242-4242-4242\n", &f), 1);
	assert_int_equal(scan("amex 3782 822463 10005 end", &f), 1);
	assert_int_equal(f.h[0].ndigits, 15);
	assert_int_equal(scan("6011 0000 0000 0000 001", &f), 1);
	assert_int_equal(f.h[0].ndigits, 19);
	/* a number just before or after the card number's groups */
	assert_int_equal(scan("12 4242 4242 4242 4242", &f), 1);
	assert_int_equal(scan("ref 2026 4242424242424242 x", &f), 1);
	/* any run of up to 16 non-alphanumerics: mixed, doubled, tabs, "____" */
	assert_int_equal(scan("4242-4242 4242-4242", &f), 1);
	assert_int_equal(scan("4242    4242    4242    4242", &f), 1);
	assert_int_equal(scan("4242\t4242\t4242\t4242", &f), 1);
	assert_int_equal(scan("4242.4242.4242.4242", &f), 1);
	assert_int_equal(scan("4242____4242____4242____4242", &f), 1);
	assert_int_equal(scan("4242 -/4242._4242 , 4242", &f), 1);
	assert_int_equal(scan("42424242 42424242", &f), 1);
	assert_int_equal(scan("[\"4242\", \"4242\", \"4242\", \"4242\"]", &f), 1);
	/* a longer gap, or a letter, ends the chain */
	assert_int_equal(scan("4242 4242                  4242 4242", &f), 0);
	assert_int_equal(scan("4242 4242 x 4242 4242", &f), 0);
	/* groups of 1-2 digits are dates and times, not card formatting */
	assert_int_equal(scan("4 2 4 2 4 2 4 2 4 2 4 2 4 2 4 2", &f), 0);
	assert_int_equal(scan("0 0 0 0 0 0 0 0 0 0 0 0 0", &f), 0);
	assert_int_equal(scan("2024-02-16 14:30:41.398055+00\t807", &f), 0);
	/* two numbers in a row are two findings */
	assert_int_equal(scan("4242424242424242 5555555555554444", &f), 2);
}

static void test_glued_and_encoded(void **state)
{
	struct found f;

	(void)state;
	/* letters, '_' or an id prefix next to the digits do not hide them */
	assert_int_equal(scan("tok_4242424242424242", &f), 1);
	assert_int_equal(scan("id=x4242424242424242", &f), 1);
	assert_int_equal(scan("4242424242424242abc", &f), 1);
	assert_int_equal(scan("abc4242 4242 4242 4242x", &f), 1);
	assert_int_equal(scan("pay_4242____4242____4242____4242", &f), 1);
	assert_int_equal(scan("\xc3\xa9" "4242424242424242\xc3\xa9", &f), 1);
	/* percent-encoding and JSON escapes, positions in the input */
	assert_int_equal(scan("q=%34%32%34%32%34%32%34%32%34%32%34%32%34%32%34%32", &f), 1);
	assert_int_equal(f.h[0].column, 3);
	assert_int_equal(scan("4242%20%20%20%204242%20%20%20%204242%20%20%20%204242", &f), 1);
	assert_int_equal(scan("{\"d\":\"\\u0034\\u0032\\u0034\\u0032\\u0034\\u0032\\u0034\\u0032"
	                      "\\u0034\\u0032\\u0034\\u0032\\u0034\\u0032\\u0034\\u0032\"}", &f), 1);
	assert_int_equal(f.h[0].column, 7);
	assert_int_equal(scan("\"4242\\t4242\\n4242\\/4242\"", &f), 1);
	/* broken escapes are text */
	assert_int_equal(scan("%zz4242424242424242 \\x4242424242424242", &f), 2);
	/* hashes and UUIDs: digits inside 32+ hex characters with a letter */
	assert_int_equal(scan("sha256 deadbeefdeadbeef4242424242424242cafecafe", &f), 0);
	assert_int_equal(scan("4242424242424242cafecafecafecafecafe", &f), 0);
	assert_int_equal(scan("4242424242-4242-42a0-8000-000000000000", &f), 0);
	assert_int_equal(scan("12345678-1234-1234-1234-123456789012", &f), 0); /* UUID */
	/* shorter hex words are words: the number is found */
	assert_int_equal(scan("deadbeef4242424242424242cafe", &f), 1);
	assert_int_equal(scan("4242424242424242a 4242424242424242b", &f), 2);
}

/* Feeding the same text in two pieces, split at every point, finds the same. */
static void test_every_split(void **state)
{
	const char *text = "a 4242 4242 4242 4242 b 4000000000009995\nx-3782-822463-10005-y "
			   "deadbeef4242424242424242 6011000000000000001 %34%32%34%32%34%32%34%32\\u0034"
			   "\\u0032\\u0034\\u0032\\u0034\\u0032\\u0034\\u0032 cafe4242424242424242-"
			   "4242424242424242cafecafecafecafe";
	size_t len = strlen(text), cut;
	struct found whole, part;
	sr_panscan s;

	(void)state;
	assert_int_equal(scan(text, &whole), 6);
	for (cut = 0; cut <= len; cut++) {
		memset(&part, 0, sizeof part);
		sr_panscan_init(&s, collect, &part);
		sr_panscan_feed(&s, text, cut);
		sr_panscan_feed(&s, text + cut, len - cut);
		assert_int_equal(sr_panscan_finish(&s), 6);
		assert_int_equal(part.n, 6);
		assert_memory_equal(part.h, whole.h, 6 * sizeof whole.h[0]);
	}
}

/* Random bytes over a digit-heavy alphabet, fed whole and byte by byte:
 * no crash (ASan/UBSan), same findings either way, every finding sane. */
static void test_random_input(void **state)
{
	static const char alpha[] = "0123456789 -ab_\n\xff%\\u";
	unsigned char buf[4096];
	struct found a, b;
	sr_panscan s;
	size_t i, round;

	(void)state;
	assert_true(sodium_init() >= 0);
	for (round = 0; round < 200; round++) {
		randombytes_buf(buf, sizeof buf);
		if (round % 2 == 0)
			for (i = 0; i < sizeof buf; i++)
				buf[i] = (unsigned char)alpha[buf[i] % (sizeof alpha - 1)];
		memset(&a, 0, sizeof a);
		memset(&b, 0, sizeof b);
		sr_panscan_buffer(buf, sizeof buf, collect, &a);
		sr_panscan_init(&s, collect, &b);
		for (i = 0; i < sizeof buf; i++)
			sr_panscan_feed(&s, buf + i, 1);
		sr_panscan_finish(&s);
		assert_int_equal(a.n, b.n);
		for (i = 0; i < a.n && i < 16; i++) {
			assert_true(a.h[i].ndigits >= 14 && a.h[i].ndigits <= 19);
			assert_int_equal(strlen(a.h[i].masked), a.h[i].ndigits);
			assert_true(a.h[i].offset < sizeof buf);
			assert_memory_equal(&a.h[i], &b.h[i], sizeof a.h[i]);
		}
	}
}

static void test_finish_wipes(void **state)
{
	sr_panscan s;
	static const unsigned char zero[sizeof(sr_panscan)];

	(void)state;
	sr_panscan_init(&s, NULL, NULL);
	sr_panscan_feed(&s, "4242 4242 4242 42", 17);
	assert_int_equal(sr_panscan_finish(&s), 0);
	assert_memory_equal(&s, zero, sizeof s);
	/* a NULL callback still counts */
	assert_int_equal(sr_panscan_buffer("4242424242424242", 16, NULL, NULL), 1);
	assert_int_equal(sr_panscan_buffer("", 0, NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_luhn),
		cmocka_unit_test(test_plain_number),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_iin_ranges),
		cmocka_unit_test(test_separators),
		cmocka_unit_test(test_glued_and_encoded),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_random_input),
		cmocka_unit_test(test_finish_wipes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
