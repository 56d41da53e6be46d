/*
 * Unit tests of vault/vault_origin: which strings are accepted as a
 * merchant's registered browser origin (RFC 6454 section 6.2 serialization,
 * exactly as browsers send it in the Origin header), and the CORS same-origin
 * decision is covered by the integration tests (t_cors_*).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vault/elements/vault_origin.h"
#include "vault/elements/vault_static.h"

static void test_valid(void **state)
{
	static const char *const ok[] = {
		"https://shop.example", "https://shop.example:8443", "https://a.b.c.example",
		"https://xn--bcher-kva.example", "https://127.0.0.1:8444", "https://localhost",
		"http://localhost:8748", "http://127.0.0.1:3000", "http://localhost",
		"https://a-b.example:1", "https://x.example:65535", "https://shop1.strongroom.test",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		if (!vault_origin_valid(ok[i]))
			fail_msg("refused %s", ok[i]);
	}
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"", "https://", "http://", "shop.example", "//shop.example", "ftp://shop.example",
		"HTTPS://shop.example", "https://Shop.example", "https://shop.example/",
		"https://shop.example/path", "https://shop.example?x", "https://shop.example#f",
		"https://shop.example:", "https://shop.example:443", "http://localhost:80",
		"https://shop.example:0", "https://shop.example:65536", "https://shop.example:08443",
		"https://shop.example:84a3", "https://user@shop.example", "https://-shop.example",
		"https://shop-.example", "https://shop..example", "https://.shop.example",
		"https://shop.example.", "https://shop_1.example", "https://shop example",
		"https://shop.example; script-src *", "https://shop.example\r\nX: y",
		"http://shop.example", "http://localhost.evil.example", "http://127.0.0.1.evil.example",
		"https://[::1]", "null", "https://shop.example:8443:1", "*",
	};
	char longhost[400];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (vault_origin_valid(bad[i]))
			fail_msg("accepted %s", bad[i]);
	}
	assert_false(vault_origin_valid(NULL));
	/* a 64-byte label, and a host longer than 253 bytes */
	memset(longhost, 0, sizeof longhost);
	memcpy(longhost, "https://", 8);
	memset(longhost + 8, 'a', 64);
	memcpy(longhost + 72, ".example", 8);
	assert_false(vault_origin_valid(longhost));
	memcpy(longhost + 71, ".example", 9);      /* 63-byte label: fine */
	assert_true(vault_origin_valid(longhost));
	for (i = 8; i < 8 + 300; i++)
		longhost[i] = (i % 10 == 0) ? '.' : 'a';
	longhost[8 + 300] = '\0';
	assert_false(vault_origin_valid(longhost));
}

/* The embedded static files are present, with an SRI hash each. */
static void test_static_embedded(void **state)
{
	static const char *const names[] = { "strongroom.js", "card.html", "card.js", "card.css" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		const struct vault_static_file *f = vault_static_find(names[i]);

		assert_non_null(f);
		assert_true(f->len > 100);
		assert_int_equal(strncmp(f->sri, "sha384-", 7), 0);
		assert_int_equal(strlen(f->sri), 7 + 64);
		assert_int_equal(f->data[f->len], 0);
	}
	assert_null(vault_static_find("missing.js"));
	assert_null(vault_static_find(NULL));
	assert_null(vault_static_find("../card.js"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_static_embedded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
