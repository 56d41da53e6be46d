/*
 * Attack suite, issue 15 item 3: the PAN detector (common/sr_panscan) on
 * generated corpora. Recall: every network's numbers (random IIN in range,
 * every length it issues, Luhn check digit) in every shape a merchant might
 * use to smuggle one (spaced, tabbed, dotted, "____", mixed separators, glued
 * to letters or "_", %-encoded, JSON \u-escaped, split across JSON strings,
 * in a path id): 100% required. False positives: at most 1 in 10,000 on each
 * kind of ordinary data (millisecond timestamps, order keys, UUIDs, hex ids,
 * invoice numbers, phone numbers, database dump rows), 100,000 values each.
 * The measured rates are printed. Deterministic (a fixed seed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/sr_panscan.h"

#define BENIGN_N 100000
#define PANS_PER_NETWORK 2000

static uint64_t g_rng = 0x5eed15003ULL;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (g_rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* ------------------------------------------------------------------ */
/* recall                                                              */

static const struct net {
	const char *name;
	unsigned lo, hi, digits, minlen, maxlen;
} NETS[] = {
	{ "visa", 4, 4, 1, 16, 19 },
	{ "mastercard", 51, 55, 2, 16, 16 },
	{ "mastercard-2", 2221, 2720, 4, 16, 16 },
	{ "amex-34", 34, 34, 2, 15, 15 },
	{ "amex-37", 37, 37, 2, 15, 15 },
	{ "discover-6011", 6011, 6011, 4, 16, 19 },
	{ "discover-644", 644, 649, 3, 16, 19 },
	{ "discover-65", 65, 65, 2, 16, 19 },
	{ "jcb", 3528, 3589, 4, 16, 19 },
	{ "diners-300", 300, 305, 3, 14, 19 },
	{ "diners-36", 36, 36, 2, 14, 19 },
	{ "diners-38", 38, 39, 2, 14, 19 },
	{ "unionpay", 62, 62, 2, 16, 19 },
	{ "maestro-6759", 6759, 6759, 4, 16, 19 },
	{ "maestro-5018", 5018, 5018, 4, 16, 19 },
};

/* A random number of network nt: n digits into pan (NUL-terminated). */
static size_t make_pan(const struct net *nt, char *pan)
{
	size_t n = nt->minlen + below(nt->maxlen - nt->minlen + 1), i;
	unsigned prefix = nt->lo + below(nt->hi - nt->lo + 1);
	char p[8];

	snprintf(p, sizeof p, "%u", prefix);
	memcpy(pan, p, nt->digits);
	for (i = nt->digits; i < n - 1; i++)
		pan[i] = (char)('0' + below(10));
	pan[n - 1] = '0';
	pan[n] = '\0';
	for (i = 0; i < 10; i++) {
		pan[n - 1] = (char)('0' + i);
		if (sr_panscan_luhn(pan, n))
			break;
	}
	return n;
}

enum shape {
	SH_PLAIN, SH_SPACES4, SH_TABS, SH_DOTS, SH_UNDERSCORES, SH_MIXED, SH_GLUED, SH_UGLUED,
	SH_PERCENT, SH_JSONU, SH_PCT_SPACES, SH_JSON_ARRAY, SH_PATH_ID, SH_IN_TEXT, SH_COUNT
};
static const char *const SHAPE_NAMES[SH_COUNT] = {
	"plain", "4 spaces", "tabs", "dots", "____", "mixed separators", "glued abc...x",
	"_-glued", "%-encoded", "JSON \\u-escaped", "%20%20%20%20", "JSON array of strings",
	"path id pay_...", "inside a sentence",
};

/* The PAN in groups of four as printed on cards (a remainder shorter than
 * three digits stays with the last group: 4-4-4-5, 4-4-4-6), joined by sep. */
static void grouped(const char *pan, size_t n, const char *sep, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 8 < outlen; i++) {
		if (i > 0 && i % 4 == 0 && n - i >= 3)
			o += (size_t)snprintf(out + o, outlen - o, "%s", sep);
		out[o++] = pan[i];
	}
	out[o] = '\0';
}

static void shape(enum shape sh, const char *pan, size_t n, char *out, size_t outlen)
{
	static const char *const mixed[] = { " -", "/", "._", " , ", "\t", "--", "__ " };
	char g[256];
	size_t i, o = 0;

	switch (sh) {
	case SH_PLAIN: snprintf(out, outlen, "%s", pan); break;
	case SH_SPACES4: grouped(pan, n, "    ", out, outlen); break;
	case SH_TABS: grouped(pan, n, "\t", out, outlen); break;
	case SH_DOTS: grouped(pan, n, ".", out, outlen); break;
	case SH_UNDERSCORES: grouped(pan, n, "____", out, outlen); break;
	case SH_MIXED:
		for (i = 0; i < n; i++) {
			if (i > 0 && i % 4 == 0 && n - i >= 3)
				o += (size_t)snprintf(out + o, outlen - o, "%s", mixed[below(7)]);
			out[o++] = pan[i];
		}
		out[o] = '\0';
		break;
	case SH_GLUED: snprintf(out, outlen, "abc%sx", pan); break;
	case SH_UGLUED: snprintf(out, outlen, "x_%s_y", pan); break;
	case SH_PERCENT:
		for (i = 0; i < n; i++)
			o += (size_t)snprintf(out + o, outlen - o, "%%%02X", (unsigned char)pan[i]);
		break;
	case SH_JSONU:
		o += (size_t)snprintf(out + o, outlen - o, "{\"description\":\"");
		for (i = 0; i < n; i++)
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", (unsigned char)pan[i]);
		snprintf(out + o, outlen - o, "\"}");
		break;
	case SH_PCT_SPACES: grouped(pan, n, "%20%20%20%20", out, outlen); break;
	case SH_JSON_ARRAY:
		grouped(pan, n, "\",\"", g, sizeof g);
		snprintf(out, outlen, "{\"d\":[\"%s\"]}", g);
		break;
	case SH_PATH_ID: snprintf(out, outlen, "/v1/payments/pay_%s/capture", pan); break;
	case SH_IN_TEXT:
		grouped(pan, n, " ", g, sizeof g);
		snprintf(out, outlen, "Order 1765118001234, card %s, thank you", g);
		break;
	default: out[0] = '\0';
	}
}

static void test_recall_every_network_every_shape(void **state)
{
	char pan[24], text[512];
	unsigned long found[SH_COUNT] = { 0 }, total[SH_COUNT] = { 0 };
	size_t k, i, n;
	int sh;

	(void)state;
	for (k = 0; k < sizeof NETS / sizeof NETS[0]; k++) {
		for (i = 0; i < PANS_PER_NETWORK; i++) {
			n = make_pan(&NETS[k], pan);
			assert_true(sr_panscan_iin_ok(pan, n));
			for (sh = 0; sh < SH_COUNT; sh++) {
				shape((enum shape)sh, pan, n, text, sizeof text);
				total[sh]++;
				if (sr_panscan_has_pan(text, strlen(text)))
					found[sh]++;
				else
					print_message("missed: %s, %s, %zu digits\n", NETS[k].name,
					              SHAPE_NAMES[sh], n);
			}
		}
	}
	for (sh = 0; sh < SH_COUNT; sh++) {
		print_message("recall %-22s %lu/%lu = %.4f\n", SHAPE_NAMES[sh], found[sh], total[sh],
		              (double)found[sh] / (double)total[sh]);
		assert_int_equal(found[sh], total[sh]);
	}
}

/* ------------------------------------------------------------------ */
/* false positives                                                     */

enum kind {
	K_TIMESTAMP, K_ORDER, K_UUID, K_HEX32, K_INVOICE13, K_INVOICE, K_PHONE, K_DUMP_ROW, K_COUNT
};
static const char *const KIND_NAMES[K_COUNT] = {
	"millisecond timestamps", "order-<ms timestamp> keys", "UUIDs", "hex ids (32)",
	"Invoice <13 digits>", "invoice numbers", "phone numbers", "database dump rows",
};

static void digits(char *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = (char)('0' + below(10));
	out[n] = '\0';
}

/* Our ids: "pay_" + 22 base62 characters (common/sr_util.c). */
static void base62(char *out, size_t n)
{
	static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = B62[below(62)];
	out[n] = '\0';
}

static void hex(char *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = "0123456789abcdef"[below(16)];
	out[n] = '\0';
}

/* Milliseconds since 1970 in 2001..2286 (13 digits). */
static unsigned long long ms_time(void)
{
	return 1000000000000ULL + rnd() % 9000000000000ULL;
}

static void benign(enum kind k, char *out, size_t outlen)
{
	char a[64], b[64], c[64];

	switch (k) {
	case K_TIMESTAMP: snprintf(out, outlen, "%llu", ms_time()); break;
	case K_ORDER: snprintf(out, outlen, "order-%llu", ms_time()); break;
	case K_UUID:
		hex(a, 32);
		snprintf(out, outlen, "%.8s-%.4s-4%.3s-%c%.3s-%.12s", a, a + 8, a + 12,
		         "89ab"[below(4)], a + 15, a + 18);
		break;
	case K_HEX32: hex(a, 32); snprintf(out, outlen, "%s", a); break;
	case K_INVOICE13: digits(a, 13); snprintf(out, outlen, "Invoice %s", a); break;
	case K_INVOICE:
		digits(a, 6 + below(7));
		snprintf(out, outlen, below(2) ? "INV-%u-%s" : "Invoice %u/%s", 2000 + below(40), a);
		break;
	case K_PHONE:
		switch (below(5)) {
		case 0: digits(a, 7); snprintf(out, outlen, "+1 (%03u) %.3s-%.4s", 200 + below(800), a, a + 3); break;
		case 1: digits(a, 9); snprintf(out, outlen, "+44 7%.3s %.6s", a, a + 3); break;
		case 2: digits(a, 10); snprintf(out, outlen, "+49 15%.2s %.8s", a, a + 2); break;
		case 3: digits(a, 8); snprintf(out, outlen, "+33 6 %.2s %.2s %.2s %.2s", a, a + 2, a + 4, a + 6); break;
		default: digits(a, 10); snprintf(out, outlen, "+%u%s", 1 + below(99), a); break;
		}
		break;
	case K_DUMP_ROW:
		/* a COPY line: id, amounts, a timestamp with microseconds, a status */
		base62(a, 22);
		digits(b, 6);
		digits(c, 3);
		snprintf(out, outlen, "pay_%s\t%u\t%u\t%u\tusd\t20%02u-%02u-%02u %02u:%02u:%02u.%s+00\t%s\tcaptured",
		         a, 1 + below(99999), below(99999), below(3), 20 + below(10), 1 + below(12),
		         1 + below(28), below(24), below(60), below(60), b, c);
		break;
	default: out[0] = '\0';
	}
}

static void test_false_positives_on_ordinary_data(void **state)
{
	char text[256];
	unsigned long fp;
	size_t i;
	int k;

	(void)state;
	for (k = 0; k < K_COUNT; k++) {
		fp = 0;
		for (i = 0; i < BENIGN_N; i++) {
			benign((enum kind)k, text, sizeof text);
			if (sr_panscan_has_pan(text, strlen(text)))
				fp++;
		}
		print_message("false positives %-26s %lu/%d = %.6f\n", KIND_NAMES[k], fp, BENIGN_N,
		              (double)fp / BENIGN_N);
		assert_true(fp * 10000 <= BENIGN_N); /* at most 1 in 10,000 */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recall_every_network_every_shape),
		cmocka_unit_test(test_false_positives_on_ordinary_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
