/*
 * Unit tests: Stripe webhook verification and parsing
 * (vault/connectors/stripe/stripe_webhook.c, issue 5). The known-answer signatures
 * were computed with the openssl command line, independently of our code:
 *   printf '%s' "1700000000.$BODY" | openssl dgst -sha256 -hmac "$SECRET" -r
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "vault/connectors/connector.h"
#include "vault/connectors/stripe/stripe.h"
#include "vault/connectors/vault_psp_creds.h"

#define T0 1700000000LL
#define SECRET "whsec_test_secret_0123456789"
#define BODY \
	"{\"id\":\"evt_1KnownAnswer\",\"object\":\"event\",\"type\":\"payment_intent.succeeded\"," \
	"\"created\":1700000000,\"data\":{\"object\":{\"id\":\"pi_123abc\",\"object\":\"payment_intent\"," \
	"\"amount\":1500,\"amount_received\":1500,\"currency\":\"usd\",\"status\":\"succeeded\"}}}"
/* openssl dgst -sha256 -hmac SECRET over "1700000000." BODY */
#define KAT_V1 "13af09c8ef447970c0682ea3ef5c5836c88ecb6bd6599be2a474ba5d2a436fea"
/* the same with the secret "whsec_other_secret_987654321" (a rolled secret) */
#define OTHER_V1 "978f61b7b4627ce738a772619550a85e003c2945f00ca4918960e70adb10708c"

static int verify(const char *header, const char *body, long long now)
{
	char err[256] = "";

	return vault_stripe_webhook_verify(SECRET, header, body, strlen(body), now, 300, err,
	                                   sizeof err);
}

static void test_known_answer(void **state)
{
	(void)state;
	assert_int_equal(verify("t=1700000000,v1=" KAT_V1, BODY, T0), 0);
	/* Upper-case hex is the same signature. */
	assert_int_equal(verify("t=1700000000,v1=13AF09C8EF447970C0682EA3EF5C5836C88ECB6BD6599BE2A474BA5D2A436FEA",
	                        BODY, T0 + 10), 0);
	/* v0 and unknown schemes are ignored. */
	assert_int_equal(verify("t=1700000000,v0=deadbeef,v1=" KAT_V1 ",v9=x", BODY, T0), 0);
}

static void test_several_v1(void **state)
{
	(void)state;
	/* While a secret rolls, Stripe sends one v1 per secret: any one matching verifies. */
	assert_int_equal(verify("t=1700000000,v1=" OTHER_V1 ",v1=" KAT_V1, BODY, T0), 0);
	assert_int_equal(verify("t=1700000000,v1=" KAT_V1 ",v1=" OTHER_V1, BODY, T0), 0);
	/* Only the other secret's signature: refused. */
	assert_int_equal(verify("t=1700000000,v1=" OTHER_V1, BODY, T0), -1);
}

static void test_tampered(void **state)
{
	char body[sizeof BODY];

	(void)state;
	memcpy(body, BODY, sizeof BODY);
	body[strlen(body) - 10] = '9';          /* one byte of the body changed */
	assert_int_equal(verify("t=1700000000,v1=" KAT_V1, body, T0), -1);
	/* Another timestamp with the same signature. */
	assert_int_equal(verify("t=1700000001,v1=" KAT_V1, BODY, T0), -1);
	/* One hex digit of the signature changed. */
	assert_int_equal(verify("t=1700000000,v1=03af09c8ef447970c0682ea3ef5c5836c88ecb6bd6599be2a474ba5d2a436fea",
	                        BODY, T0), -1);
	/* Wrong secret. */
	{
		char err[128];

		assert_int_equal(vault_stripe_webhook_verify("whsec_wrong", "t=1700000000,v1=" KAT_V1, BODY,
		                                             strlen(BODY), T0, 300, err, sizeof err), -1);
		assert_int_equal(vault_stripe_webhook_verify(NULL, "t=1700000000,v1=" KAT_V1, BODY,
		                                             strlen(BODY), T0, 300, err, sizeof err), -1);
		assert_int_equal(vault_stripe_webhook_verify("", "t=1700000000,v1=" KAT_V1, BODY,
		                                             strlen(BODY), T0, 300, err, sizeof err), -1);
	}
}

static void test_stale(void **state)
{
	(void)state;
	assert_int_equal(verify("t=1700000000,v1=" KAT_V1, BODY, T0 + 300), 0);
	assert_int_equal(verify("t=1700000000,v1=" KAT_V1, BODY, T0 + 301), -2);
	assert_int_equal(verify("t=1700000000,v1=" KAT_V1, BODY, T0 + 86400), -2);
	/* From the future beyond the tolerance. */
	assert_int_equal(verify("t=1700000000,v1=" KAT_V1, BODY, T0 - 301), -2);
	/* A forged signature is "bad signature" even when stale. */
	assert_int_equal(verify("t=1700000000,v1=" OTHER_V1, BODY, T0 + 1000), -1);
}

static void test_bad_headers(void **state)
{
	static const char *const bad[] = {
		"", "t=", "v1=" KAT_V1, "t=1700000000", "t=1700000000,", ",", "=", "t=17000000x0,v1=" KAT_V1,
		"t=-1700000000,v1=" KAT_V1, "t=1700000000,v1=", "t=1700000000,v1=zz",
		"t=1700000000,v1=" KAT_V1 "00", "t=1700000000 ,v1=" KAT_V1, "T=1700000000,v1=" KAT_V1,
		"t=1700000000,t=1700000000,v1=" KAT_V1, "t=1700000000,v1" KAT_V1, "garbage",
		"t=99999999999999999999,v1=" KAT_V1,
	};
	char err[256];
	char big[4096];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(vault_stripe_webhook_verify(SECRET, bad[i], BODY, strlen(BODY), T0, 300,
		                                             err, sizeof err), -1);
		assert_true(strlen(err) > 0);
		/* The error never echoes the header or the body. */
		assert_null(strstr(err, KAT_V1));
		assert_null(strstr(err, "evt_"));
	}
	assert_int_equal(vault_stripe_webhook_verify(SECRET, NULL, BODY, strlen(BODY), T0, 300, err,
	                                             sizeof err), -1);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(vault_stripe_webhook_verify(SECRET, big, BODY, strlen(BODY), T0, 300, err,
	                                             sizeof err), -1);
}

static void test_parse_kinds(void **state)
{
	static const struct {
		const char *json;
		enum vault_psp_event_kind kind;
		const char *psp_reference;
		const char *reference;
		long long amount;
		const char *failure_code;
	} cases[] = {
		{ BODY, VAULT_EV_AUTHORIZATION_SUCCEEDED, "pi_123abc", "", 1500, "" },
		{ "{\"id\":\"evt_2\",\"type\":\"payment_intent.amount_capturable_updated\",\"created\":1,"
		  "\"data\":{\"object\":{\"id\":\"pi_2\",\"amount_capturable\":700,\"currency\":\"eur\"}}}",
		  VAULT_EV_AUTHORIZATION_SUCCEEDED, "pi_2", "", 700, "" },
		{ "{\"id\":\"evt_3\",\"type\":\"payment_intent.payment_failed\",\"created\":1,"
		  "\"data\":{\"object\":{\"id\":\"pi_3\",\"amount\":100,\"last_payment_error\":"
		  "{\"code\":\"card_declined\",\"decline_code\":\"insufficient_funds\","
		  "\"message\":\"4242424242424242 declined\"}}}}",
		  VAULT_EV_AUTHORIZATION_FAILED, "pi_3", "", 100, "insufficient_funds" },
		{ "{\"id\":\"evt_4\",\"type\":\"payment_intent.payment_failed\",\"created\":1,"
		  "\"data\":{\"object\":{\"id\":\"pi_4\",\"last_payment_error\":{\"code\":\"weird<code>\"}}}}",
		  VAULT_EV_AUTHORIZATION_FAILED, "pi_4", "", 0, "card_declined" },
		{ "{\"id\":\"evt_5\",\"type\":\"charge.captured\",\"created\":1,\"data\":{\"object\":"
		  "{\"id\":\"ch_5\",\"payment_intent\":\"pi_5\",\"amount_captured\":900}}}",
		  VAULT_EV_CAPTURE_SUCCEEDED, "pi_5", "", 900, "" },
		{ "{\"id\":\"evt_6\",\"type\":\"charge.refunded\",\"created\":1,\"data\":{\"object\":"
		  "{\"id\":\"ch_6\",\"payment_intent\":\"pi_6\",\"amount_refunded\":300,\"refunds\":"
		  "{\"data\":[{\"id\":\"re_6\",\"amount\":200}]}}}}",
		  VAULT_EV_REFUND_SUCCEEDED, "pi_6", "re_6", 200, "" },
		{ "{\"id\":\"evt_7\",\"type\":\"refund.updated\",\"created\":1,\"data\":{\"object\":"
		  "{\"id\":\"re_7\",\"payment_intent\":\"pi_7\",\"amount\":50,\"status\":\"failed\","
		  "\"failure_reason\":\"expired_or_canceled_card\"}}}",
		  VAULT_EV_REFUND_FAILED, "pi_7", "re_7", 50, "expired_or_canceled_card" },
		{ "{\"id\":\"evt_8\",\"type\":\"charge.refund.updated\",\"created\":1,\"data\":{\"object\":"
		  "{\"id\":\"re_8\",\"payment_intent\":\"pi_8\",\"amount\":60,\"status\":\"succeeded\"}}}",
		  VAULT_EV_REFUND_SUCCEEDED, "pi_8", "re_8", 60, "" },
		{ "{\"id\":\"evt_9\",\"type\":\"refund.updated\",\"created\":1,\"data\":{\"object\":"
		  "{\"id\":\"re_9\",\"payment_intent\":\"pi_9\",\"amount\":60,\"status\":\"pending\"}}}",
		  VAULT_EV_OTHER, "pi_9", "re_9", 60, "" },
		{ "{\"id\":\"evt_10\",\"type\":\"charge.dispute.created\",\"created\":1,\"data\":{\"object\":"
		  "{\"id\":\"du_10\",\"payment_intent\":\"pi_10\",\"amount\":1500,\"currency\":\"usd\","
		  "\"reason\":\"fraudulent\"}}}",
		  VAULT_EV_DISPUTE_CREATED, "pi_10", "du_10", 1500, "fraudulent" },
		{ "{\"id\":\"evt_11\",\"type\":\"customer.created\",\"created\":1,\"data\":{\"object\":"
		  "{\"id\":\"cus_1\"}}}",
		  VAULT_EV_OTHER, "", "", 0, "" },
		{ "{\"id\":\"evt_12\",\"type\":\"payment_intent.canceled\",\"created\":1,\"data\":{\"object\":"
		  "{\"id\":\"pi_12\"}}}",
		  VAULT_EV_CANCEL_SUCCEEDED, "pi_12", "", 0, "" },
	};
	struct vault_psp_event ev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(vault_stripe_webhook_parse(cases[i].json, strlen(cases[i].json), &ev), 0);
		assert_int_equal(ev.kind, cases[i].kind);
		assert_string_equal(ev.psp_reference, cases[i].psp_reference);
		assert_string_equal(ev.reference, cases[i].reference);
		assert_int_equal(ev.amount, cases[i].amount);
		assert_string_equal(ev.failure_code, cases[i].failure_code);
		assert_true(strncmp(ev.event_id, "evt_", 4) == 0);
	}
	assert_int_equal(vault_stripe_webhook_parse(BODY, strlen(BODY), &ev), 0);
	assert_string_equal(ev.currency, "usd");
	assert_int_equal(ev.created, T0);
	assert_string_equal(vault_psp_event_kind_str(VAULT_EV_DISPUTE_CREATED), "dispute.created");
}

static void test_parse_malformed(void **state)
{
	static const char *const bad[] = {
		"", "null", "[]", "{", "{\"id\":\"evt_1\"}",
		"{\"id\":\"evt_1\",\"type\":\"charge.captured\"}",
		"{\"type\":\"charge.captured\",\"data\":{\"object\":{\"payment_intent\":\"pi_1\"}}}",
		"{\"id\":\"ch_1\",\"type\":\"charge.captured\",\"data\":{\"object\":{\"payment_intent\":\"pi_1\"}}}",
		"{\"id\":\"evt_1\",\"type\":\"charge.captured\",\"data\":{\"object\":{}}}",
		"{\"id\":\"evt_1\",\"type\":\"charge.dispute.created\",\"data\":{\"object\":{\"payment_intent\":\"pi 1\"}}}",
		"{\"id\":\"evt_1\",\"id\":\"evt_2\",\"type\":\"x\",\"data\":{\"object\":{}}}",
		"{\"id\":\"evt_1\",\"type\":7,\"data\":{\"object\":{}}}",
	};
	struct vault_psp_event ev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(vault_stripe_webhook_parse(bad[i], strlen(bad[i]), &ev), -1);
	assert_int_equal(vault_stripe_webhook_parse(NULL, 0, &ev), -1);
}

static void test_account(void **state)
{
	char acct[64];

	(void)state;
	assert_int_equal(vault_stripe_webhook_account(NULL, BODY, strlen(BODY), acct, sizeof acct), 0);
	assert_string_equal(acct, "");
	{
		const char *b = "{\"id\":\"evt_1\",\"type\":\"x\",\"account\":\"acct_1Merchant\"}";

		assert_int_equal(vault_stripe_webhook_account(NULL, b, strlen(b), acct, sizeof acct), 0);
		assert_string_equal(acct, "acct_1Merchant");
	}
	{
		const char *b = "{\"id\":\"evt_1\",\"type\":\"x\",\"account\":null}";

		assert_int_equal(vault_stripe_webhook_account(NULL, b, strlen(b), acct, sizeof acct), 0);
		assert_string_equal(acct, "");
	}
	{
		static const char *const bad[] = {
			"nope", "{\"id\":\"evt_1\"}", "{\"type\":\"x\",\"account\":\"acct with space\"}",
			"{\"type\":\"x\",\"account\":5}",
		};
		size_t i;

		for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
			assert_int_equal(vault_stripe_webhook_account(NULL, bad[i], strlen(bad[i]), acct,
			                                              sizeof acct), -1);
	}
}

/* ADR 0107: the payment an unverified delivery names, read as the events hook reads it. */
static void test_payment_hook(void **state)
{
	char ref[64];

	(void)state;
	assert_int_equal(vault_stripe_webhook_payment(NULL, BODY, strlen(BODY), ref, sizeof ref), 0);
	assert_string_equal(ref, "pi_123abc");
	{
		const char *b = "{\"id\":\"evt_2\",\"type\":\"charge.dispute.created\",\"data\":{\"object\":"
		                "{\"id\":\"du_1\",\"payment_intent\":\"pi_disputed\"}}}";

		assert_int_equal(vault_stripe_webhook_payment(NULL, b, strlen(b), ref, sizeof ref), 0);
		assert_string_equal(ref, "pi_disputed");
	}
	/* Names none, or not an event: "" (the signature check refuses it later). */
	assert_int_equal(vault_stripe_webhook_payment(NULL, "nope", 4, ref, sizeof ref), 0);
	assert_string_equal(ref, "");
	assert_int_equal(vault_stripe_webhook_payment(NULL, NULL, 0, ref, sizeof ref), 0);
	assert_string_equal(ref, "");
	assert_int_equal(vault_stripe_webhook_payment(NULL, BODY, strlen(BODY), NULL, 0), -1);
}

static void test_events_hook(void **state)
{
	struct vault_psp_event ev[2];
	char err[256];
	char hdr[128];
	size_t n = 9;

	(void)state;
	/* The hook checks the tolerance against now: a header signed at T0 is stale now. */
	assert_int_equal(vault_stripe_webhook_events(NULL, SECRET, "t=1700000000,v1=" KAT_V1, BODY,
	                                             strlen(BODY), T0, ev, 2, &n, err, sizeof err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].kind, VAULT_EV_AUTHORIZATION_SUCCEEDED);
	assert_int_equal(vault_stripe_webhook_events(NULL, SECRET, "t=1700000000,v1=" KAT_V1, BODY,
	                                             strlen(BODY), T0 + 3600, ev, 2, &n, err,
	                                             sizeof err), -2);
	assert_int_equal(n, 0);
	/* No secret and no connector (no platform secret): refused. */
	assert_int_equal(vault_stripe_webhook_events(NULL, NULL, "t=1700000000,v1=" KAT_V1, BODY,
	                                             strlen(BODY), T0, ev, 2, &n, err, sizeof err), -1);
	/* A verified body that is not an event: malformed (-3). */
	{
		const char *b = "{\"hello\":1}";
		unsigned char mac[32];
		char hex[65];
		crypto_auth_hmacsha256_state st;
		size_t i;

		crypto_auth_hmacsha256_init(&st, (const unsigned char *)SECRET, strlen(SECRET));
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)"1700000000.", 11);
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)b, strlen(b));
		crypto_auth_hmacsha256_final(&st, mac);
		for (i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", mac[i]);
		snprintf(hdr, sizeof hdr, "t=1700000000,v1=%s", hex);
		assert_int_equal(vault_stripe_webhook_events(NULL, SECRET, hdr, b, strlen(b), T0, ev, 2,
		                                             &n, err, sizeof err), -3);
	}
}

/* Per-merchant credential shapes (vault/connectors/vault_psp_creds.c): what the vault accepts. */
static void test_creds_validation(void **state)
{
	char big[300];

	(void)state;
	assert_true(vault_psp_secret_ok("sk_test_12345678"));
	assert_true(vault_psp_secret_ok("whsec_abcdefgh"));
	assert_false(vault_psp_secret_ok(NULL));
	assert_false(vault_psp_secret_ok("short"));
	assert_false(vault_psp_secret_ok("has space inside"));
	assert_false(vault_psp_secret_ok("tab\tinside!"));
	assert_false(vault_psp_secret_ok("newline\ninside"));
	assert_false(vault_psp_secret_ok("caf\xc3\xa9-key-123"));
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_false(vault_psp_secret_ok(big));
	big[256] = '\0';
	assert_true(vault_psp_secret_ok(big));
	assert_true(vault_psp_account_ok("acct_1Merchant"));
	assert_true(vault_psp_account_ok("Strongroom.ECOM-1"));
	assert_false(vault_psp_account_ok("abc"));
	assert_false(vault_psp_account_ok("acct 1"));
	assert_false(vault_psp_account_ok("acct|1"));
	assert_false(vault_psp_account_ok(NULL));
	assert_true(vault_psp_connector_ok("stripe"));
	assert_true(vault_psp_connector_ok("adyen"));
	assert_false(vault_psp_connector_ok("Stripe"));
	assert_false(vault_psp_connector_ok("1stripe"));
	assert_false(vault_psp_connector_ok("str|pe"));
	assert_false(vault_psp_connector_ok(""));
	assert_false(vault_psp_connector_ok("abcdefghijabcdefghijabcdefghijabc"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_several_v1),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_parse_kinds),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_account),
		cmocka_unit_test(test_payment_hook),
		cmocka_unit_test(test_events_hook),
		cmocka_unit_test(test_creds_validation),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
