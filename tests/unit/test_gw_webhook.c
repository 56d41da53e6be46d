/*
 * Unit tests: webhooks to merchants (issue 5) — the Strongroom-Signature
 * (known answer computed with openssl), the retry schedule (bounded,
 * increasing, jitter within bounds), the event-name mapping, endpoint URL
 * checks, the private-address filter, sealed secrets and the key file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include <sodium.h>

#include "common/sr_secret.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/events/gw_webhook.h"

/*
 * Known answer, computed independently:
 *   printf '%s' '1700000000.{"id":"evt_1","type":"payment.captured"}' |
 *     openssl dgst -sha256 -hmac 'whsec_test_secret_0123456789' -r
 */
static void test_signature_known_answer(void **state)
{
	const char *body = "{\"id\":\"evt_1\",\"type\":\"payment.captured\"}";
	char sig[GW_WEBHOOK_SIG_MAX];

	(void)state;
	assert_int_equal(gw_webhook_sign("whsec_test_secret_0123456789", 1700000000LL, body,
	                                 strlen(body), sig, sizeof sig),
	                 0);
	assert_string_equal(sig, "t=1700000000,v1="
	                         "bd6316df3c565d888cfdf42e97ba7f5ab44b00b99df58993120ac5a9bff3ffb3");
}

static void test_signature_depends_on_everything(void **state)
{
	const char *body = "{\"id\":\"evt_1\"}";
	char a[GW_WEBHOOK_SIG_MAX], b[GW_WEBHOOK_SIG_MAX];

	(void)state;
	assert_int_equal(gw_webhook_sign("whsec_a", 100, body, strlen(body), a, sizeof a), 0);
	assert_int_equal(gw_webhook_sign("whsec_b", 100, body, strlen(body), b, sizeof b), 0);
	assert_string_not_equal(a + 6, b + 6); /* other secret */
	assert_int_equal(gw_webhook_sign("whsec_a", 101, body, strlen(body), b, sizeof b), 0);
	assert_string_not_equal(strstr(a, "v1="), strstr(b, "v1=")); /* other time */
	assert_int_equal(gw_webhook_sign("whsec_a", 100, body, strlen(body) - 1, b, sizeof b), 0);
	assert_string_not_equal(a, b); /* other body */
	/* Negative cases: bad arguments, too small a buffer. */
	assert_int_equal(gw_webhook_sign(NULL, 100, body, strlen(body), b, sizeof b), -1);
	assert_int_equal(gw_webhook_sign("whsec_a", -1, body, strlen(body), b, sizeof b), -1);
	assert_int_equal(gw_webhook_sign("whsec_a", 100, NULL, 3, b, sizeof b), -1);
	assert_int_equal(gw_webhook_sign("whsec_a", 100, body, strlen(body), b, 20), -1);
	/* An empty body is signed too. */
	assert_int_equal(gw_webhook_sign("whsec_a", 100, "", 0, b, sizeof b), 0);
}

static void test_backoff_schedule(void **state)
{
	const long long base = 60000, cap = 3600000;
	long long prev_max = 0;
	int n;

	(void)state;
	/* u = 0: the undelayed value d = min(cap, base * 2^(n-1)). */
	assert_int_equal(gw_webhook_backoff_ms(1, base, cap, 0.0), 60000);
	assert_int_equal(gw_webhook_backoff_ms(2, base, cap, 0.0), 120000);
	assert_int_equal(gw_webhook_backoff_ms(7, base, cap, 0.0), 3600000); /* 3840000 capped */
	assert_int_equal(gw_webhook_backoff_ms(1000, base, cap, 0.0), cap);  /* no overflow */
	/* Jitter takes off at most a quarter. */
	assert_in_range(gw_webhook_backoff_ms(1, base, cap, 0.999999), 45000, 45001);
	for (n = 1; n <= 40; n++) {
		long long hi = gw_webhook_backoff_ms(n, base, cap, 0.0);
		long long lo = gw_webhook_backoff_ms(n, base, cap, 0.999999);
		int k;

		assert_true(hi <= cap && lo >= hi * 3 / 4);
		/* Strictly increasing while below the cap: the shortest delay of
		 * retry n is longer than the longest of retry n-1. */
		if (hi < cap)
			assert_true(lo > prev_max);
		prev_max = hi;
		for (k = 0; k < 200; k++) {
			long long r = gw_webhook_backoff_ms_random(n, base, cap);

			assert_true(r >= lo && r <= hi);
		}
	}
	/* Bad inputs stay bounded: u out of range, base 0, cap below base. */
	assert_int_equal(gw_webhook_backoff_ms(3, base, cap, 7.0), 240000);
	assert_int_equal(gw_webhook_backoff_ms(3, base, cap, -1.0), 240000);
	assert_int_equal(gw_webhook_backoff_ms(3, 0, 10, 0.0), 4);
	assert_int_equal(gw_webhook_backoff_ms(3, 500, 100, 0.0), 500);
	assert_int_equal(gw_webhook_backoff_ms(0, base, cap, 0.0), base);
}

/* 3 days of retries at the defaults: a bounded number of attempts. */
static void test_backoff_three_days(void **state)
{
	long long t = 0;
	int n = 0;

	(void)state;
	while (t <= 3LL * 86400 * 1000) {
		n++;
		t += gw_webhook_backoff_ms(n, 60000, 3600000, 0.5);
	}
	assert_true(n > 60 && n < 100);
}

static void test_event_mapping(void **state)
{
	char type[64];
	int s, i, hit;

	(void)state;
	assert_string_equal(gw_webhook_event_name("payment.captured"), "payment.captured");
	assert_string_equal(gw_webhook_event_name("payment.refunded"), "refund.succeeded");
	assert_string_equal(gw_webhook_event_name("payment.partially_refunded"), "refund.succeeded");
	assert_string_equal(gw_webhook_event_name("payment.refund_failed"), "refund.failed");
	assert_string_equal(gw_webhook_event_name("payment.disputed"), "dispute.created");
	assert_string_equal(gw_webhook_event_name("dispute.closed"), "dispute.closed");
	assert_null(gw_webhook_event_name("payment.created"));
	assert_null(gw_webhook_event_name("payment.processing"));
	assert_null(gw_webhook_event_name("refund.succeeded")); /* already external */
	assert_null(gw_webhook_event_name(NULL));
	/* Every status but processing is announced. */
	for (s = 0; s < GW_ST__COUNT; s++) {
		snprintf(type, sizeof type, "payment.%s", gw_status_str((enum gw_status)s));
		if (s == GW_ST_PROCESSING)
			assert_null(gw_webhook_event_name(type));
		else
			assert_non_null(gw_webhook_event_name(type));
	}
	/* Every merchant event name is reachable, and every mapping target is a name. */
	for (i = 0; GW_WEBHOOK_EVENTS[i] != NULL; i++) {
		int j;

		hit = 0;
		for (j = 0; GW_WEBHOOK_MAP_EXTERNAL[j] != NULL; j++)
			hit |= strcmp(GW_WEBHOOK_MAP_EXTERNAL[j], GW_WEBHOOK_EVENTS[i]) == 0;
		assert_true(hit);
		assert_true(gw_webhook_filter_valid(GW_WEBHOOK_EVENTS[i]));
	}
	assert_int_equal(i, 14); /* payment.canceled: issue 16, ADR 0114; dispute.*: ADR 0132 */
	for (i = 0; GW_WEBHOOK_MAP_EXTERNAL[i] != NULL; i++)
		assert_true(gw_webhook_filter_valid(GW_WEBHOOK_MAP_EXTERNAL[i]));
	assert_true(gw_webhook_filter_valid("*"));
	assert_false(gw_webhook_filter_valid("payment.*"));
	assert_false(gw_webhook_filter_valid("payment.created"));
	assert_false(gw_webhook_filter_valid(""));
	assert_false(gw_webhook_filter_valid(NULL));
}

static void test_url_check(void **state)
{
	static const char *const ok[] = {
		"https://shop.example/hooks/strongroom",
		"https://shop.example:8443/h?x=1",
		"https://93.184.216.34/h",
	};
	static const char *const bad[] = {
		"http://shop.example/h",           /* not https */
		"ftp://shop.example/h",
		"https://user:pw@shop.example/h",  /* credentials */
		"https://shop.example/h#frag",
		"shop.example/h",
		"not a url",
		"",
	};
	static const char *const private_[] = {
		"https://localhost/h", "https://api.localhost/h", "https://127.0.0.1:8443/h",
		"https://10.1.2.3/h",  "https://172.16.0.9/h",    "https://192.168.1.1/h",
		"https://169.254.169.254/latest/meta-data", "https://0.0.0.0/h",
		"https://100.64.0.1/h", "https://[::1]/h", "https://[fd00::1]/h", "https://[fe80::1]/h",
		"https://[::ffff:127.0.0.1]/h", "https://224.0.0.1/h",
	};
	const char *why = NULL;
	char *longurl = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(gw_webhook_url_check(ok[i], false, &why), 0);
		assert_null(why);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(gw_webhook_url_check(bad[i], true, &why), -1);
		assert_non_null(why);
		assert_null(strstr(why, "shop.example")); /* never echoes the input */
	}
	for (i = 0; i < sizeof private_ / sizeof private_[0]; i++) {
		assert_int_equal(gw_webhook_url_check(private_[i], false, &why), -1);
		assert_int_equal(gw_webhook_url_check(private_[i], true, &why), 0);
	}
	assert_int_equal(gw_webhook_url_check(NULL, true, &why), -1);
	longurl = malloc(GW_WEBHOOK_URL_MAX + 32);
	assert_non_null(longurl);
	memcpy(longurl, "https://shop.example/", 21);
	memset(longurl + 21, 'a', GW_WEBHOOK_URL_MAX);
	longurl[GW_WEBHOOK_URL_MAX + 21] = '\0';
	assert_int_equal(gw_webhook_url_check(longurl, true, &why), -1);
	longurl[GW_WEBHOOK_URL_MAX] = '\0';
	assert_int_equal(gw_webhook_url_check(longurl, true, &why), 0);
	free(longurl);
}

static void test_addr_blocked(void **state)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;

	(void)state;
	memset(&s4, 0, sizeof s4);
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "8.8.8.8", &s4.sin_addr);
	assert_false(gw_webhook_addr_blocked((struct sockaddr *)&s4));
	inet_pton(AF_INET, "127.0.0.53", &s4.sin_addr);
	assert_true(gw_webhook_addr_blocked((struct sockaddr *)&s4));
	inet_pton(AF_INET, "172.31.255.255", &s4.sin_addr);
	assert_true(gw_webhook_addr_blocked((struct sockaddr *)&s4));
	inet_pton(AF_INET, "172.32.0.1", &s4.sin_addr);
	assert_false(gw_webhook_addr_blocked((struct sockaddr *)&s4));
	memset(&s6, 0, sizeof s6);
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2606:4700::1111", &s6.sin6_addr);
	assert_false(gw_webhook_addr_blocked((struct sockaddr *)&s6));
	inet_pton(AF_INET6, "::ffff:10.0.0.1", &s6.sin6_addr);
	assert_true(gw_webhook_addr_blocked((struct sockaddr *)&s6));
	inet_pton(AF_INET6, "fc00::1", &s6.sin6_addr);
	assert_true(gw_webhook_addr_blocked((struct sockaddr *)&s6));
	assert_true(gw_webhook_addr_blocked(NULL));
}

static void test_seal_open(void **state)
{
	uint8_t key[GW_WEBHOOK_KEY_BYTES], key2[GW_WEBHOOK_KEY_BYTES];
	uint8_t sealed[GW_WEBHOOK_SEALED_MAX], sealed2[GW_WEBHOOK_SEALED_MAX];
	const char *secret = "whsec_0123456789abcdefghijABCDEFGHIJ0123456";
	size_t len = 0, len2 = 0;
	char *out = NULL;

	(void)state;
	randombytes_buf(key, sizeof key);
	randombytes_buf(key2, sizeof key2);
	assert_int_equal(gw_webhook_seal(key, secret, "we_1", "mer_1", sealed, &len), 0);
	assert_int_equal(len, 24 + strlen(secret) + 16);
	assert_null(memmem(sealed, len, "0123456789", 10)); /* not in the clear */
	out = gw_webhook_open(key, sealed, len, "we_1", "mer_1");
	assert_non_null(out);
	assert_string_equal(out, secret);
	sr_secret_free(out);
	/* A fresh nonce each time. */
	assert_int_equal(gw_webhook_seal(key, secret, "we_1", "mer_1", sealed2, &len2), 0);
	assert_memory_not_equal(sealed, sealed2, 24);
	/* Bound to its row (AAD), its key, its bytes. */
	assert_null(gw_webhook_open(key, sealed, len, "we_2", "mer_1"));
	assert_null(gw_webhook_open(key, sealed, len, "we_1", "mer_2"));
	assert_null(gw_webhook_open(key2, sealed, len, "we_1", "mer_1"));
	sealed[30] ^= 1;
	assert_null(gw_webhook_open(key, sealed, len, "we_1", "mer_1"));
	assert_null(gw_webhook_open(key, sealed, 10, "we_1", "mer_1"));
	assert_null(gw_webhook_open(key, NULL, len, "we_1", "mer_1"));
	assert_int_equal(gw_webhook_seal(key, NULL, "we_1", "mer_1", sealed, &len), -1);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void test_key_load(void **state)
{
	char path[] = "/tmp/test_gw_webhook_keyXXXXXX";
	char err[256];
	uint8_t *key = NULL;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	write_file(path, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", 0600);
	key = gw_webhook_key_load(path, err, sizeof err);
	assert_non_null(key);
	assert_int_equal(key[0], 0);
	assert_int_equal(key[31], 0x1f);
	sr_secret_free(key);
	/* Negative cases: too short, not hex, readable by others, missing. */
	write_file(path, "0001020304", 0600);
	assert_null(gw_webhook_key_load(path, err, sizeof err));
	assert_null(strstr(err, "0001020304")); /* never the content */
	write_file(path, "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0600);
	assert_null(gw_webhook_key_load(path, err, sizeof err));
	write_file(path, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0644);
	assert_null(gw_webhook_key_load(path, err, sizeof err));
	unlink(path);
	assert_null(gw_webhook_key_load(path, err, sizeof err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature_known_answer),
		cmocka_unit_test(test_signature_depends_on_everything),
		cmocka_unit_test(test_backoff_schedule),
		cmocka_unit_test(test_backoff_three_days),
		cmocka_unit_test(test_event_mapping),
		cmocka_unit_test(test_url_check),
		cmocka_unit_test(test_addr_blocked),
		cmocka_unit_test(test_seal_open),
		cmocka_unit_test(test_key_load),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
