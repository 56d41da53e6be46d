/*
 * Unit tests: gw_source (issue 28, ADR 0119): CIDR parsing and matching
 * with IPv4-mapped IPv6 normalised, canonical text, lists, and the client
 * address through trusted proxies' X-Forwarded-For.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/api/gw_source.h"

/* Canonical text of network s, or "bad". */
static const char *canon(const char *s)
{
	static char out[GW_CIDR_TEXT];
	struct gw_cidr c;

	if (gw_cidr_parse(s, &c) != 0)
		return "bad";
	assert_int_equal(gw_cidr_format(&c, false, out, sizeof out), 0);
	return out;
}

/* Whether address a lies in network net (both must parse). */
static bool in(const char *net, const char *a)
{
	struct gw_cidr n, x;

	assert_int_equal(gw_cidr_parse(net, &n), 0);
	assert_int_equal(gw_addr_parse(a, &x), 0);
	return gw_cidr_contains(&n, &x);
}

static void test_parse_canonical(void **state)
{
	(void)state;
	assert_string_equal(canon("10.0.0.0/8"), "10.0.0.0/8");
	assert_string_equal(canon("192.0.2.7"), "192.0.2.7/32");
	assert_string_equal(canon("0.0.0.0/0"), "0.0.0.0/0");
	assert_string_equal(canon("2001:DB8::/32"), "2001:db8::/32");
	assert_string_equal(canon("2001:db8:0:0:0:0:0:1"), "2001:db8::1/128");
	assert_string_equal(canon("::/0"), "::/0");
	/* IPv4-mapped forms are IPv4. */
	assert_string_equal(canon("::ffff:192.0.2.7"), "192.0.2.7/32");
	assert_string_equal(canon("::ffff:c000:207"), "192.0.2.7/32");
	assert_string_equal(canon("::ffff:10.0.0.0/104"), "10.0.0.0/8");
	assert_string_equal(canon("::ffff:0.0.0.0/96"), "0.0.0.0/0");
	/* Below /96 a mapped prefix is an IPv6 network. */
	assert_string_equal(canon("::ffff:0:0/95"), "bad"); /* host bit (0xffff) set */
	assert_string_equal(canon("::/80"), "::/80");
}

static void test_parse_refused(void **state)
{
	static const char *const BAD[] = {
		"", "/", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/08", "10.0.0.0/+8",
		"10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0.0/ 8", " 10.0.0.0/8", "10.0.0.0/8 ",
		"10.0.0.1/8", "10.1.0.0/8", "2001:db8::1/32", "::1/129", "::1/1280",
		"10.0.0", "10.0.0.256", "010.0.0.1", "1.2.3.4:80", "[::1]", "::1%lo",
		"fe80::1%eth0/64", "localhost", "10.0.0.0/4294967304", "::ffff:10.0.0.1/104",
		"0x0a.0.0.0/8", "10.0.0.0\n/8",
	};
	struct gw_cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
		if (gw_cidr_parse(BAD[i], &c) != -1)
			fail_msg("accepted entry %zu", i);
	}
	assert_int_equal(gw_cidr_parse(NULL, &c), -1);
	assert_int_equal(gw_addr_parse("10.0.0.0/8", &c), -1);
	assert_int_equal(gw_addr_parse(NULL, &c), -1);
}

static void test_contains(void **state)
{
	(void)state;
	assert_true(in("10.0.0.0/8", "10.255.1.2"));
	assert_false(in("10.0.0.0/8", "11.0.0.0"));
	assert_true(in("127.0.0.1/32", "127.0.0.1"));
	assert_false(in("127.0.0.1/32", "127.0.0.2"));
	assert_true(in("192.0.2.0/25", "192.0.2.127"));
	assert_false(in("192.0.2.0/25", "192.0.2.128"));
	assert_true(in("0.0.0.0/0", "203.0.113.9"));
	assert_false(in("0.0.0.0/0", "2001:db8::1"));
	/* The mapped peer of a dual-stack listener is its IPv4 client. */
	assert_true(in("127.0.0.1/32", "::ffff:127.0.0.1"));
	assert_false(in("127.0.0.1/32", "::ffff:127.0.0.2"));
	assert_true(in("::ffff:127.0.0.0/120", "127.0.0.200"));
	/* An IPv6 network wider than /96 around ::ffff:0:0 holds IPv4 too. */
	assert_true(in("::/0", "192.0.2.1"));
	assert_false(in("2001:db8::/32", "192.0.2.1"));
	assert_true(in("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(in("2001:db8::/32", "2001:db9::"));
	assert_true(in("2001:db8::/33", "2001:db8:7fff::"));
	assert_false(in("2001:db8::/33", "2001:db8:8000::"));
	assert_true(in("::1", "::1"));
	assert_false(in("::1", "::2"));
}

static void test_format(void **state)
{
	struct gw_cidr c;
	char out[GW_CIDR_TEXT];

	(void)state;
	assert_int_equal(gw_addr_parse("::ffff:203.0.113.9", &c), 0);
	assert_int_equal(gw_cidr_format(&c, true, out, sizeof out), 0);
	assert_string_equal(out, "203.0.113.9");
	assert_int_equal(gw_cidr_format(&c, false, out, sizeof out), 0);
	assert_string_equal(out, "203.0.113.9/32");
	assert_int_equal(gw_addr_parse("2001:db8::1", &c), 0);
	assert_int_equal(gw_cidr_format(&c, true, out, sizeof out), 0);
	assert_string_equal(out, "2001:db8::1");
	assert_int_equal(gw_cidr_format(&c, true, out, 5), -1);
	c.prefix = 129;
	assert_int_equal(gw_cidr_format(&c, false, out, sizeof out), -1);
}

static void test_list(void **state)
{
	struct gw_cidr l[GW_CIDR_MAX];
	struct gw_cidr a;
	char many[GW_CIDR_MAX * 16 + 32];
	size_t n = 0, bad = 0, used = 0;
	int i;

	(void)state;
	assert_int_equal(gw_cidr_list_parse(" 10.0.0.0/8 ,2001:db8::/32,127.0.0.1", l, GW_CIDR_MAX,
	                                    &n, &bad), 0);
	assert_int_equal(n, 3);
	assert_int_equal(gw_addr_parse("127.0.0.1", &a), 0);
	assert_true(gw_cidr_list_contains(l, n, &a));
	assert_int_equal(gw_addr_parse("2001:db8::5", &a), 0);
	assert_true(gw_cidr_list_contains(l, n, &a));
	assert_int_equal(gw_addr_parse("127.0.0.2", &a), 0);
	assert_false(gw_cidr_list_contains(l, n, &a));
	assert_false(gw_cidr_list_contains(l, 0, &a));
	/* One bad entry fails the whole list and names its index. */
	assert_int_equal(gw_cidr_list_parse("10.0.0.0/8,10.0.0.1/8", l, GW_CIDR_MAX, &n, &bad), -1);
	assert_int_equal(bad, 1);
	assert_int_equal(n, 0);
	assert_int_equal(gw_cidr_list_parse("", l, GW_CIDR_MAX, &n, &bad), -1);
	assert_int_equal(gw_cidr_list_parse("10.0.0.0/8,", l, GW_CIDR_MAX, &n, &bad), -1);
	assert_int_equal(gw_cidr_list_parse(",10.0.0.0/8", l, GW_CIDR_MAX, &n, &bad), -1);
	assert_int_equal(gw_cidr_list_parse(NULL, l, GW_CIDR_MAX, &n, &bad), -1);
	for (i = 0; i <= GW_CIDR_MAX; i++)
		used += (size_t)snprintf(many + used, sizeof many - used, "%s10.0.%d.0/24",
		                         i > 0 ? "," : "", i);
	assert_int_equal(gw_cidr_list_parse(many, l, GW_CIDR_MAX, &n, &bad), -1);
	assert_int_equal(bad, GW_CIDR_MAX);
	many[strlen(many) - strlen(",10.0.64.0/24")] = '\0';
	assert_int_equal(gw_cidr_list_parse(many, l, GW_CIDR_MAX, &n, &bad), 0);
	assert_int_equal(n, GW_CIDR_MAX);
}

/* The client of (peer, xff) with trusted "10.0.0.0/8,::ffff:192.0.2.1",
 * as text, or "unknown". */
static const char *client(const char *peer, const char *xff, size_t ntrusted)
{
	static char out[GW_CIDR_TEXT];
	struct gw_cidr t[2], c;
	size_t n = 0, bad = 0;

	assert_int_equal(gw_cidr_list_parse("10.0.0.0/8,::ffff:192.0.2.1", t, 2, &n, &bad), 0);
	if (gw_source_client(peer, xff, t, ntrusted, &c) != 0)
		return "unknown";
	assert_int_equal(gw_cidr_format(&c, true, out, sizeof out), 0);
	return out;
}

static void test_client(void **state)
{
	(void)state;
	/* Nothing trusted: always the peer, X-Forwarded-For ignored. */
	assert_string_equal(client("10.1.1.1", "203.0.113.9", 0), "10.1.1.1");
	assert_string_equal(client("::ffff:10.1.1.1", NULL, 0), "10.1.1.1");
	/* An untrusted peer's X-Forwarded-For is ignored (spoofing). */
	assert_string_equal(client("198.51.100.4", "10.1.1.1", 2), "198.51.100.4");
	assert_string_equal(client("198.51.100.4", "garbage", 2), "198.51.100.4");
	/* A trusted peer: the right-most entry that is not a trusted proxy. */
	assert_string_equal(client("10.0.0.5", "203.0.113.9", 2), "203.0.113.9");
	assert_string_equal(client("10.0.0.5", "1.1.1.1, 203.0.113.9", 2), "203.0.113.9");
	assert_string_equal(client("10.0.0.5", "1.1.1.1, 203.0.113.9, 10.9.9.9", 2), "203.0.113.9");
	assert_string_equal(client("::ffff:10.0.0.5", "203.0.113.9,::ffff:192.0.2.1", 2),
	                    "203.0.113.9");
	assert_string_equal(client("192.0.2.1", "::ffff:203.0.113.9", 2), "203.0.113.9");
	assert_string_equal(client("10.0.0.5", "2001:db8::7", 2), "2001:db8::7");
	/* Every entry a proxy: the left-most; no header: the peer. */
	assert_string_equal(client("10.0.0.5", "10.2.2.2, 10.3.3.3", 2), "10.2.2.2");
	assert_string_equal(client("10.0.0.5", NULL, 2), "10.0.0.5");
	/* An entry examined that is not a bare address: unknown. Entries
	 * left of the client are never examined. */
	assert_string_equal(client("10.0.0.5", "203.0.113.9:443", 2), "unknown");
	assert_string_equal(client("10.0.0.5", "[2001:db8::7]", 2), "unknown");
	assert_string_equal(client("10.0.0.5", "unknown", 2), "unknown");
	assert_string_equal(client("10.0.0.5", "", 2), "unknown");
	assert_string_equal(client("10.0.0.5", "203.0.113.9,", 2), "unknown");
	assert_string_equal(client("10.0.0.5", "junk, 10.2.2.2", 2), "unknown");
	assert_string_equal(client("10.0.0.5", "junk, 203.0.113.9", 2), "203.0.113.9");
	/* No peer, or not an address: unknown. */
	assert_string_equal(client("", NULL, 0), "unknown");
	assert_string_equal(client(NULL, NULL, 0), "unknown");
}

static void test_client_bounds(void **state)
{
	char xff[8192];
	size_t used = 0;
	int i;

	(void)state;
	/* 64 trusted hops then the client: read; 65 trusted hops: unknown. */
	used = (size_t)snprintf(xff, sizeof xff, "203.0.113.9");
	for (i = 0; i < 63; i++)
		used += (size_t)snprintf(xff + used, sizeof xff - used, ",10.0.0.%d", i);
	assert_string_equal(client("10.0.0.5", xff, 2), "203.0.113.9");
	used = (size_t)snprintf(xff, sizeof xff, "203.0.113.9");
	for (i = 0; i < 64; i++)
		used += (size_t)snprintf(xff + used, sizeof xff - used, ",10.0.0.%d", i);
	assert_string_equal(client("10.0.0.5", xff, 2), "unknown");
	memset(xff, ' ', sizeof xff - 1);
	xff[sizeof xff - 1] = '\0';
	assert_string_equal(client("10.0.0.5", xff, 2), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_canonical),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_client),
		cmocka_unit_test(test_client_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
