/*
 * Adyen connector: /payments answer mapping through the refusal-code table
 * (every result code, malformed bodies), the notification HMAC (Adyen's
 * published known answer, computed independently with
 *   printf '%s' "7914073381342284::TestMerchant:TestPayment-1407325143704:1130:EUR:AUTHORISATION:true" |
 *   openssl dgst -sha256 -mac HMAC -macopt hexkey:44782DEF...A056 -binary | base64
 * ), webhook verification and parsing (tampered items refused), and (with
 * PSPSIM_BIN) authorize/operate against pspsim's Adyen dialect over mutual
 * TLS: outcomes, idempotent replays, modifications, refused key, 503 fault.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "common/sr_secret.h"
#include "tests/unit/fixture.h"
#include "vault/connectors/connector.h"
#include "vault/connectors/adyen/adyen.h"
#include "vault/connectors/vault_egress.h"
#include "vault/connectors/vault_route.h"

#define DOC_KEY "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"

/* ------------------------------------------------------------------ */
/* vault_adyen_map_payment                                             */

static void test_map_authorised(void **state)
{
	struct vault_auth_result r;

	(void)state;
	assert_int_equal(vault_adyen_map_payment(200, "{\"pspReference\":\"8815\",\"resultCode\":\"Authorised\"}",
	                                         1, &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_CAPTURED);
	assert_string_equal(r.psp_reference, "8815");
	assert_int_equal(vault_adyen_map_payment(200, "{\"pspReference\":\"8815\",\"resultCode\":\"Authorised\"}",
	                                         0, &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_AUTHORIZED);
	/* Authorised without a pspReference is not an answer we can use. */
	assert_int_equal(vault_adyen_map_payment(200, "{\"resultCode\":\"Authorised\"}", 0, &r), -1);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
}

static void expect_refusal(const char *code, const char *want)
{
	struct vault_auth_result r;
	char body[256];

	snprintf(body, sizeof body, "{\"pspReference\":\"1\",\"resultCode\":\"Refused\","
	         "\"refusalReason\":\"QZQ echo\",\"refusalReasonCode\":\"%s\"}", code);
	assert_int_equal(vault_adyen_map_payment(200, body, 1, &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_FAILED);
	assert_string_equal(r.failure_code, want);
	assert_string_equal(vault_adyen_refusal_code(code), want);
	/* The message is ours, never Adyen's refusalReason. */
	assert_null(strstr(r.failure_message, "QZQ"));
}

static void test_map_refusals(void **state)
{
	struct vault_auth_result r;

	(void)state;
	expect_refusal("2", "card_declined");
	expect_refusal("12", "insufficient_funds");
	expect_refusal("6", "expired_card");
	expect_refusal("24", "incorrect_cvc");
	expect_refusal("4", "processing_error");
	expect_refusal("8", "incorrect_number");
	expect_refusal("9", "processing_error");
	expect_refusal("28", "insufficient_funds");
	expect_refusal("999", "card_declined");   /* unknown: generic decline */
	assert_string_equal(vault_adyen_refusal_code(NULL), "card_declined");
	/* Refused without a code: generic decline. */
	assert_int_equal(vault_adyen_map_payment(200, "{\"resultCode\":\"Refused\"}", 1, &r), 0);
	assert_string_equal(r.failure_code, "card_declined");
	assert_int_equal(vault_adyen_map_payment(200, "{\"pspReference\":\"1\",\"resultCode\":\"Error\"}", 1, &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_FAILED);
	assert_string_equal(r.failure_code, "processing_error");
	assert_int_equal(vault_adyen_map_payment(200, "{\"pspReference\":\"1\",\"resultCode\":\"Cancelled\"}", 1, &r), 0);
	assert_string_equal(r.failure_code, "card_declined");
}

static void test_map_redirect(void **state)
{
	struct vault_auth_result r;

	(void)state;
	assert_int_equal(vault_adyen_map_payment(200, "{\"pspReference\":\"77\",\"resultCode\":\"RedirectShopper\","
	                 "\"action\":{\"type\":\"redirect\",\"url\":\"https://psp.test:1/adyen/3ds/77\"}}", 1, &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_REQUIRES_ACTION);
	assert_string_equal(r.redirect_url, "https://psp.test:1/adyen/3ds/77");
	/* No URL, a non-https URL, or one with markup: unknown, never handed on. */
	assert_int_equal(vault_adyen_map_payment(200, "{\"pspReference\":\"77\",\"resultCode\":\"RedirectShopper\"}",
	                                         1, &r), -1);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	assert_int_equal(vault_adyen_map_payment(200, "{\"pspReference\":\"77\",\"resultCode\":\"RedirectShopper\","
	                 "\"action\":{\"url\":\"http://psp.test/x\"}}", 1, &r), -1);
	assert_int_equal(vault_adyen_map_payment(200, "{\"pspReference\":\"77\",\"resultCode\":\"RedirectShopper\","
	                 "\"action\":{\"url\":\"https://psp.test/\\\"><script>\"}}", 1, &r), -1);
	assert_string_equal(r.redirect_url, "");
}

static void test_map_http_errors(void **state)
{
	struct vault_auth_result r;

	(void)state;
	/* Documented as not processed: -2 (safe to retry or fail over). */
	assert_int_equal(vault_adyen_map_payment(401, "{\"status\":401}", 1, &r), -2);
	assert_int_equal(vault_adyen_map_payment(403, NULL, 1, &r), -2);
	assert_int_equal(vault_adyen_map_payment(503, "{}", 1, &r), -2);
	assert_int_equal(vault_adyen_map_payment(429, "{}", 1, &r), -2);
	/* 500 / 502: may have been processed: unknown. */
	assert_int_equal(vault_adyen_map_payment(500, "{\"status\":500,\"errorCode\":\"000\"}", 1, &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	/* Validation errors: failed, mapped. */
	assert_int_equal(vault_adyen_map_payment(422, "{\"status\":422,\"errorCode\":\"101\",\"errorType\":\"validation\","
	                 "\"message\":\"Invalid card number\"}", 1, &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_FAILED);
	assert_string_equal(r.failure_code, "incorrect_number");
	assert_int_equal(vault_adyen_map_payment(422, "{\"errorCode\":\"103\",\"errorType\":\"validation\"}", 1, &r), 0);
	assert_string_equal(r.failure_code, "incorrect_cvc");
	assert_int_equal(vault_adyen_map_payment(422, "{\"errorCode\":\"702\",\"errorType\":\"validation\"}", 1, &r), 0);
	assert_string_equal(r.failure_code, "invalid_request");
	assert_int_equal(vault_adyen_map_payment(422, "{\"message\":\"no code\"}", 1, &r), -1);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
}

static void test_map_malformed(void **state)
{
	static const char *const bodies[] = {
		"", "{", "[]", "null", "\"Authorised\"", "{\"resultCode\":5}", "{\"pspReference\":\"1\"}",
		"{\"resultCode\":\"Authorised\",\"resultCode\":\"Refused\",\"pspReference\":\"1\"}",
		"{\"pspReference\":\"1 2\",\"resultCode\":\"Authorised\"}",
	};
	struct vault_auth_result r;
	size_t i;

	(void)state;
	assert_int_equal(vault_adyen_map_payment(200, NULL, 1, &r), -1);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	for (i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		assert_int_equal(vault_adyen_map_payment(200, bodies[i], 1, &r), -1);
		assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	}
	/* Pending / Received: a real answer, outcome later. */
	assert_int_equal(vault_adyen_map_payment(200, "{\"pspReference\":\"1\",\"resultCode\":\"Pending\"}", 1, &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	assert_int_equal(vault_adyen_map_payment(200, "{\"pspReference\":\"1\",\"resultCode\":\"Received\"}", 1, &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
}

/* ------------------------------------------------------------------ */
/* notification HMAC and webhooks                                       */

static void test_hmac_known_answer(void **state)
{
	json_t *item = json_pack("{s:s, s:s, s:s, s:{s:s, s:i}, s:s, s:s, s:s}",
	                         "pspReference", "7914073381342284", "merchantAccountCode", "TestMerchant",
	                         "merchantReference", "TestPayment-1407325143704",
	                         "amount", "currency", "EUR", "value", 1130, "eventCode", "AUTHORISATION",
	                         "success", "true", "originalReference", "");
	char out[64];

	(void)state;
	assert_non_null(item);
	assert_int_equal(vault_adyen_item_hmac(DOC_KEY, item, out, sizeof out), 0);
	assert_string_equal(out, "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0=");
	/* Lowercase hex is the same key. */
	assert_int_equal(vault_adyen_item_hmac("44782def547aaa06c910c43932b1eb0c71fc68d9d0c057550c48ec2acf6ba056",
	                                       item, out, sizeof out), 0);
	assert_string_equal(out, "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0=");
	/* Bad keys, bad items, short buffers. */
	assert_int_equal(vault_adyen_item_hmac("XYZ", item, out, sizeof out), -1);
	assert_int_equal(vault_adyen_item_hmac("", item, out, sizeof out), -1);
	assert_int_equal(vault_adyen_item_hmac(DOC_KEY, item, out, 10), -1);
	assert_int_equal(vault_adyen_item_hmac(DOC_KEY, NULL, out, sizeof out), -1);
	json_object_set_new(json_object_get(item, "amount"), "value", json_string("1130"));
	assert_int_equal(vault_adyen_item_hmac(DOC_KEY, item, out, sizeof out), -1);
	json_decref(item);
}

static char g_dir[64];
static struct vault_connector g_wh;

static int wh_setup(void **state)
{
	struct adyen_config ac;
	char err[256] = "";

	(void)state;
	if (fx_tmpdir(g_dir, sizeof g_dir, "adyen-unit-") != 0)
		return -1;
	memset(&ac, 0, sizeof ac);
	ac.host = "psp.test";
	ac.port = 1;
	ac.api_key = "AQE_unit_key";
	ac.merchant_account = "TestMerchant";
	ac.hmac_key = DOC_KEY;
	if (vault_adyen_init(&g_wh, &ac, err, sizeof err) != 0) {
		fprintf(stderr, "adyen init: %s\n", err);
		return -1;
	}
	return 0;
}

static int wh_teardown(void **state)
{
	(void)state;
	vault_adyen_free(&g_wh);
	return fx_rmtree(g_dir);
}

/* A notification item, signed with DOC_KEY unless sign is false. New reference. */
static json_t *item(const char *psp, const char *orig, const char *code, const char *success,
                    int value, const char *reason, bool sign)
{
	json_t *it = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:i}, s:s, s:s, s:s, s:s, s:{}}",
	                       "pspReference", psp, "originalReference", orig,
	                       "merchantAccountCode", "TestMerchant", "merchantReference", "pay_abc",
	                       "amount", "currency", "EUR", "value", value, "eventCode", code,
	                       "success", success, "eventDate", "2026-11-22T01:02:03+01:00",
	                       "reason", reason, "additionalData");
	char sig[64];

	assert_non_null(it);
	if (sign) {
		assert_int_equal(vault_adyen_item_hmac(DOC_KEY, it, sig, sizeof sig), 0);
		json_object_set_new(json_object_get(it, "additionalData"), "hmacSignature", json_string(sig));
	}
	return it;
}

/* {"live":"false","notificationItems":[{"NotificationRequestItem":it}...]} as text (steals items). */
static char *notification(json_t *a, json_t *b)
{
	json_t *items = json_array();
	json_t *root = NULL;
	char *s = NULL;

	json_array_append_new(items, json_pack("{s:o}", "NotificationRequestItem", a));
	if (b != NULL)
		json_array_append_new(items, json_pack("{s:o}", "NotificationRequestItem", b));
	root = json_pack("{s:s, s:o}", "live", "false", "notificationItems", items);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	assert_non_null(s);
	return s;
}

static int events(const char *body, const char *secret, struct vault_psp_event *ev, size_t max, size_t *n)
{
	char err[256] = "";

	return g_wh.webhook_events(&g_wh, secret, NULL, body, strlen(body), 0, ev, max, n, err, sizeof err);
}

static void test_webhook_events(void **state)
{
	struct vault_psp_event ev[4];
	char account[64];
	size_t n = 0;
	char *b = NULL;

	(void)state;
	b = notification(item("8815851093212191", "", "AUTHORISATION", "true", 1130, "", true),
	                 item("8815851093212192", "8815851093212191", "REFUND", "true", 500, "", true));
	assert_int_equal(g_wh.webhook_account(&g_wh, b, strlen(b), account, sizeof account), 0);
	assert_string_equal(account, "TestMerchant");
	/* ADR 0107: the first item's payment; the platform's account is reserved. */
	assert_int_equal(g_wh.webhook_payment(&g_wh, b, strlen(b), account, sizeof account), 0);
	assert_string_equal(account, "8815851093212191");
	assert_string_equal(g_wh.platform_account(&g_wh), "TestMerchant");
	free(b);
	b = notification(item("8815851093212192", "8815851093212191", "CHARGEBACK", "true", 500, "",
	                      true), NULL);
	assert_int_equal(g_wh.webhook_payment(&g_wh, b, strlen(b), account, sizeof account), 0);
	assert_string_equal(account, "8815851093212191");   /* originalReference: the payment */
	assert_int_equal(g_wh.webhook_payment(&g_wh, "{", 1, account, sizeof account), 0);
	assert_string_equal(account, "");
	free(b);
	b = notification(item("8815851093212191", "", "AUTHORISATION", "true", 1130, "", true),
	                 item("8815851093212192", "8815851093212191", "REFUND", "true", 500, "", true));
	assert_int_equal(events(b, NULL, ev, 4, &n), 0);   /* the configured key */
	assert_int_equal(n, 2);
	assert_int_equal(ev[0].kind, VAULT_EV_AUTHORIZATION_SUCCEEDED);
	assert_string_equal(ev[0].event_id, "AUTHORISATION:8815851093212191:true");
	assert_string_equal(ev[0].psp_reference, "8815851093212191");
	assert_int_equal(ev[0].amount, 1130);
	assert_string_equal(ev[0].currency, "eur");
	assert_int_equal(ev[0].created, 1795305723LL);     /* 2026-11-22T00:02:03Z */
	assert_int_equal(ev[1].kind, VAULT_EV_REFUND_SUCCEEDED);
	assert_string_equal(ev[1].psp_reference, "8815851093212191");   /* the payment */
	assert_string_equal(ev[1].reference, "8815851093212192");       /* the refund */
	/* The merchant's own key, given explicitly. */
	assert_int_equal(events(b, DOC_KEY, ev, 4, &n), 0);
	/* Another key: refused, nothing usable. */
	assert_int_equal(events(b, "00112233445566778899AABBCCDDEEFF", ev, 4, &n), -1);
	assert_int_equal(n, 0);
	/* More items than room: malformed. */
	assert_int_equal(events(b, NULL, ev, 1, &n), -3);
	free(b);

	b = notification(item("1", "", "AUTHORISATION", "false", 10, "Not enough balance", true), NULL);
	assert_int_equal(events(b, NULL, ev, 4, &n), 0);
	assert_int_equal(ev[0].kind, VAULT_EV_AUTHORIZATION_FAILED);
	assert_string_equal(ev[0].failure_code, "insufficient_funds");
	free(b);
	b = notification(item("2", "1", "CHARGEBACK", "true", 10, "", true),
	                 item("3", "1", "CAPTURE_FAILED", "true", 10, "", true));
	assert_int_equal(events(b, NULL, ev, 4, &n), 0);
	assert_int_equal(ev[0].kind, VAULT_EV_DISPUTE_CREATED);
	assert_string_equal(ev[0].psp_reference, "1");
	assert_int_equal(ev[1].kind, VAULT_EV_CAPTURE_FAILED);
	free(b);
	b = notification(item("4", "", "REPORT_AVAILABLE", "true", 0, "", true), NULL);
	assert_int_equal(events(b, NULL, ev, 4, &n), 0);
	assert_int_equal(ev[0].kind, VAULT_EV_OTHER);
	free(b);
}

static void test_webhook_tampered(void **state)
{
	struct vault_psp_event ev[4];
	json_t *it = NULL;
	size_t n = 7;
	char *b = NULL;

	(void)state;
	/* Signed, then the amount changed: refused. */
	it = item("5", "", "AUTHORISATION", "true", 100, "", true);
	json_object_set_new(json_object_get(it, "amount"), "value", json_integer(100000));
	b = notification(it, NULL);
	assert_int_equal(events(b, NULL, ev, 4, &n), -1);
	assert_int_equal(n, 0);
	free(b);
	/* success flipped */
	it = item("5", "", "AUTHORISATION", "false", 100, "", true);
	json_object_set_new(it, "success", json_string("true"));
	b = notification(it, NULL);
	assert_int_equal(events(b, NULL, ev, 4, &n), -1);
	free(b);
	/* One good item and one unsigned: the whole delivery is refused. */
	b = notification(item("6", "", "AUTHORISATION", "true", 1, "", true),
	                 item("7", "", "AUTHORISATION", "true", 1, "", false));
	assert_int_equal(events(b, NULL, ev, 4, &n), -1);
	free(b);
}

static void test_webhook_malformed(void **state)
{
	static const char *const bodies[] = {
		"", "{", "[]", "{}", "{\"notificationItems\":[]}", "{\"notificationItems\":{}}",
		"{\"notificationItems\":[{}]}", "{\"notificationItems\":[{\"NotificationRequestItem\":1}]}",
		"{\"notificationItems\":[{\"NotificationRequestItem\":{\"eventCode\":\"AUTHORISATION\"}}]}",
	};
	struct vault_psp_event ev[2];
	char account[32];
	size_t n = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
		assert_int_equal(events(bodies[i], NULL, ev, 2, &n), -3);
	assert_int_equal(g_wh.webhook_account(&g_wh, "{", 1, account, sizeof account), -1);
	assert_int_equal(g_wh.webhook_account(&g_wh, "{}", 2, account, sizeof account), -1);
	{
		static const char empty_item[] = "{\"notificationItems\":[{\"NotificationRequestItem\":{}}]}";

		assert_int_equal(g_wh.webhook_account(&g_wh, empty_item, strlen(empty_item), account,
		                                      sizeof account), 0);
	}
	assert_string_equal(account, "");
}

/* ------------------------------------------------------------------ */
/* routing: the BIN table                                              */

static void test_bin_country(void **state)
{
	char c[3];

	(void)state;
	assert_string_equal(vault_bin_country("4242424242424242", c), "US");
	assert_string_equal(vault_bin_country("5555555555554444", c), "US");
	assert_string_equal(vault_bin_country("378282246310005", c), "US");
	assert_string_equal(vault_bin_country("4000000000000002", c), "US");
	assert_string_equal(vault_bin_country("4000002760000016", c), "DE");   /* longest prefix wins */
	assert_string_equal(vault_bin_country("4000005280000002", c), "NL");
	assert_string_equal(vault_bin_country("5200005280000007", c), "NL");
	assert_string_equal(vault_bin_country("6011111111111117", c), "");
	assert_string_equal(vault_bin_country("4", c), "");
	assert_string_equal(vault_bin_country(NULL, c), "");
	assert_true(vault_region_valid("eu"));
	assert_false(vault_region_valid("EU"));
	assert_false(vault_region_valid("e"));
	assert_false(vault_region_valid("toolongname"));
}

/* ------------------------------------------------------------------ */
/* against pspsim's Adyen dialect                                      */

static struct fx_psp g_h;
static int g_sim = 1;
static struct vault_egress *g_eg;
static struct vault_connector g_conn;

static int sim_setup(void **state)
{
	char ca[128], crt[128], key[128], apikey[128], allow_s[64];
	const char *allow[] = { allow_s, NULL };
	struct vault_egress_config ec;
	struct adyen_config ac;
	char err[256] = "";

	(void)state;
	if (fx_psp_pki(&g_h) != 0)
		return -1;
	g_sim = fx_psp_start(&g_h);
	if (g_sim != 0)
		return g_sim < 0 ? -1 : 0;
	fx_psp_path(&g_h, "ca.crt", ca, sizeof ca);
	fx_psp_path(&g_h, "client.crt", crt, sizeof crt);
	fx_psp_path(&g_h, "client.key", key, sizeof key);
	fx_psp_path(&g_h, "apikey", apikey, sizeof apikey);
	snprintf(allow_s, sizeof allow_s, "psp.test:%u", g_h.port);
	memset(&ec, 0, sizeof ec);
	ec.ca_file = ca;
	ec.cert_file = crt;
	ec.key_file = key;
	ec.allowlist = allow;
	ec.timeout_ms = 5000;
	g_eg = vault_egress_new(&ec, err, sizeof err);
	if (g_eg == NULL)
		return -1;
	memset(&ac, 0, sizeof ac);
	ac.host = "psp.test";
	ac.addr = "127.0.0.1";
	ac.port = g_h.port;
	ac.api_key = sr_secret_read_file(apikey, NULL, err, sizeof err);
	ac.merchant_account = "TestMerchant";
	if (ac.api_key == NULL || vault_adyen_init(&g_conn, &ac, err, sizeof err) != 0) {
		fprintf(stderr, "adyen: %s\n", err);
		sr_secret_free((char *)ac.api_key);
		return -1;
	}
	sr_secret_free((char *)ac.api_key);
	return 0;
}

static int sim_teardown(void **state)
{
	(void)state;
	vault_adyen_free(&g_conn);
	vault_egress_free(g_eg);
	return fx_psp_stop(&g_h);
}

static int authorize(const char *pan, bool capture, const char *idem, struct vault_auth_result *res)
{
	struct vault_card card;
	struct vault_auth_request req;
	char *g = sodium_malloc(32);
	char err[256] = "";
	int rc = 0;

	assert_non_null(g);
	snprintf(g, 32, "%s", pan);
	memset(&card, 0, sizeof card);
	card.pan = g;
	card.pan_len = strlen(g);
	card.exp_month = 3;
	card.exp_year = 2034;
	card.cvc = "123";
	memset(&req, 0, sizeof req);
	req.merchant_id = "mer_test";
	req.payment_id = "pay_adyen1";
	req.token = "tok_adyen1";
	req.amount = 2500;
	req.currency = "eur";
	req.capture = capture;
	req.idempotency_key = idem;
	req.card = &card;
	req.request_id = "req_unitadyen";
	rc = g_conn.authorize(&g_conn, g_eg, &req, res, err, sizeof err);
	sodium_free(g);
	return rc;
}

static long long sim_stat(const char *name)
{
	struct vault_egress_response r;
	json_t *j = NULL;
	char err[256] = "";
	int sent = 0;
	long long v = -1;

	assert_int_equal(vault_egress_request(g_eg, "psp.test", "127.0.0.1", g_h.port, "GET", "/_sim/stats",
	                                      NULL, NULL, 0, &r, &sent, err, sizeof err), 0);
	j = json_loads(r.body, 0, NULL);
	free(r.body);
	v = json_integer_value(json_object_get(j, name));
	json_decref(j);
	return v;
}

static void sim_post(const char *path, const char *body)
{
	struct vault_egress_response r;
	const char *h[] = { "Content-Type: application/json", NULL };
	char err[256] = "";
	char *b = strdup(body);
	int sent = 0;

	assert_int_equal(vault_egress_request(g_eg, "psp.test", "127.0.0.1", g_h.port, "POST", path, h, b,
	                                      strlen(b), &r, &sent, err, sizeof err), 0);
	assert_int_equal(r.status, 200);
	free(r.body);
	free(b);
}

static void test_sim_outcomes(void **state)
{
	static const struct {
		const char *pan;
		enum vault_auth_status st;
		const char *code;
	} cases[] = {
		{ "4242424242424242", VAULT_AUTH_CAPTURED, "" },
		{ "4000000000000002", VAULT_AUTH_FAILED, "card_declined" },
		{ "4000000000009995", VAULT_AUTH_FAILED, "insufficient_funds" },
		{ "4000000000000069", VAULT_AUTH_FAILED, "expired_card" },
		{ "4000000000000127", VAULT_AUTH_FAILED, "incorrect_cvc" },
		{ "4000000000000119", VAULT_AUTH_FAILED, "processing_error" },
		{ "4000000000003220", VAULT_AUTH_REQUIRES_ACTION, "" },
		{ "4242424242424241", VAULT_AUTH_FAILED, "incorrect_number" },
	};
	struct vault_auth_result r;
	char idem[40];
	size_t i;

	(void)state;
	if (g_sim != 0)
		skip();
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(idem, sizeof idem, "adyen-outcome-%zu", i);
		assert_int_equal(authorize(cases[i].pan, true, idem, &r), 0);
		assert_int_equal(r.status, cases[i].st);
		assert_string_equal(r.failure_code, cases[i].code);
	}
}

static void test_sim_idempotent_and_modifications(void **state)
{
	struct vault_auth_result r1, r2;
	struct vault_op_request oq;
	struct vault_op_result res;
	char err[256] = "";
	long long n0;

	(void)state;
	if (g_sim != 0)
		skip();
	n0 = sim_stat("adyen_payments");
	assert_int_equal(authorize("5555555555554444", false, "adyen-idem-1", &r1), 0);
	assert_int_equal(r1.status, VAULT_AUTH_AUTHORIZED);
	/* Same key, same body: the saved answer, no second payment. */
	assert_int_equal(authorize("5555555555554444", false, "adyen-idem-1", &r2), 0);
	assert_string_equal(r1.psp_reference, r2.psp_reference);
	assert_int_equal(sim_stat("adyen_payments"), n0 + 1);
	assert_true(sim_stat("adyen_replays") >= 1);

	memset(&oq, 0, sizeof oq);
	oq.psp_reference = r1.psp_reference;
	oq.currency = "eur";
	oq.request_id = "req_unitadyen";
	oq.kind = VAULT_OP_RETRIEVE;
	assert_int_equal(g_conn.operate(&g_conn, g_eg, &oq, &res, err, sizeof err), 0);
	assert_int_equal(res.outcome, VAULT_OP_SUCCEEDED);
	assert_int_equal(res.intent.status, VAULT_AUTH_AUTHORIZED);
	/* Capture needs an amount (Adyen's modifications always carry one). */
	oq.kind = VAULT_OP_CAPTURE;
	oq.idempotency_key = "adyen-cap-1";
	assert_int_equal(g_conn.operate(&g_conn, g_eg, &oq, &res, err, sizeof err), -1);
	oq.amount = 2500;
	assert_int_equal(g_conn.operate(&g_conn, g_eg, &oq, &res, err, sizeof err), 0);
	assert_int_equal(res.outcome, VAULT_OP_SUCCEEDED);
	oq.kind = VAULT_OP_RETRIEVE;
	assert_int_equal(g_conn.operate(&g_conn, g_eg, &oq, &res, err, sizeof err), 0);
	assert_int_equal(res.intent.status, VAULT_AUTH_CAPTURED);
	/* Cancel after capture: refused by the PSP, nothing done. */
	oq.kind = VAULT_OP_CANCEL;
	oq.idempotency_key = "adyen-cancel-1";
	assert_int_equal(g_conn.operate(&g_conn, g_eg, &oq, &res, err, sizeof err), 0);
	assert_int_equal(res.outcome, VAULT_OP_REFUSED);
	oq.kind = VAULT_OP_REFUND;
	oq.idempotency_key = "adyen-refund-1";
	oq.amount = 1000;
	assert_int_equal(g_conn.operate(&g_conn, g_eg, &oq, &res, err, sizeof err), 0);
	assert_int_equal(res.outcome, VAULT_OP_SUCCEEDED);
	assert_true(strlen(res.reference) > 0);
	oq.idempotency_key = "adyen-refund-2";
	oq.amount = 2000;      /* more than is left */
	assert_int_equal(g_conn.operate(&g_conn, g_eg, &oq, &res, err, sizeof err), 0);
	assert_int_equal(res.outcome, VAULT_OP_REFUSED);
	/* Issue 15: an accepted refund whose answer echoes another amount is
	 * not a confirmation, and its replay under the same key is not either. */
	sim_post("/_sim/contradict", "{\"next\":1,\"field\":\"amount\"}");
	oq.idempotency_key = "adyen-refund-3";
	oq.amount = 500;
	oq.reason = "fraudulent";
	assert_int_equal(g_conn.operate(&g_conn, g_eg, &oq, &res, err, sizeof err), 0);
	assert_int_equal(res.outcome, VAULT_OP_UNKNOWN);
	assert_string_equal(res.mismatch, "amount");
	assert_int_equal(g_conn.operate(&g_conn, g_eg, &oq, &res, err, sizeof err), 0);
	assert_int_equal(res.outcome, VAULT_OP_UNKNOWN);
	oq.reason = "expired";  /* a cancel's reason only: refused before anything is sent */
	assert_int_equal(g_conn.operate(&g_conn, g_eg, &oq, &res, err, sizeof err), -1);
}

static void test_sim_not_processed(void **state)
{
	struct vault_auth_result r;
	long long n0;

	(void)state;
	if (g_sim != 0)
		skip();
	/* 503 before processing: -1 (nothing authorized), nothing created. */
	n0 = sim_stat("adyen_payments");
	sim_post("/_sim/adyen/faults", "{\"unavailable\":1}");
	assert_int_equal(authorize("4242424242424242", true, "adyen-503", &r), -1);
	assert_int_equal(sim_stat("adyen_payments"), n0);
	assert_int_equal(authorize("4242424242424242", true, "adyen-503", &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_CAPTURED);
	/* Answer lost after the effect: unknown (never "not sent"); the retry replays. */
	sim_post("/_sim/adyen/faults", "{\"drop_next\":1}");
	assert_int_equal(authorize("4242424242424242", true, "adyen-drop", &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	assert_int_equal(authorize("4242424242424242", true, "adyen-drop", &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_CAPTURED);
}

/* vault_adyen_check_op (issue 15): a modification answer must echo what was asked. */
static void expect_adyen(enum vault_op_kind kind, const char *body, enum vault_op_outcome want,
                         const char *mismatch)
{
	struct vault_op_request oq;
	struct vault_op_result res;

	memset(&oq, 0, sizeof oq);
	oq.kind = kind;
	oq.psp_reference = "8815000000000001";
	oq.amount = kind == VAULT_OP_CANCEL ? 0 : 2500;
	oq.currency = "eur";
	oq.idempotency_key = "k";
	memset(&res, 0x5a, sizeof res);
	vault_adyen_check_op(&oq, kind == VAULT_OP_CANCEL ? "" : "EUR", body, &res);
	assert_int_equal(res.outcome, want);
	assert_string_equal(res.mismatch, mismatch);
	if (want == VAULT_OP_SUCCEEDED) {
		assert_int_equal(res.amount, oq.amount);
		assert_string_equal(res.reference, kind == VAULT_OP_REFUND ? "8815000000000099" : "");
	} else {
		assert_int_equal(res.amount, 0);
		assert_string_equal(res.reference, "");
	}
}

#define ADYEN_MOD(ppr, status, value, cur) \
	"{\"merchantAccount\":\"M\",\"paymentPspReference\":\"" ppr "\",\"pspReference\":" \
	"\"8815000000000099\",\"reference\":\"k\",\"status\":\"" status "\",\"amount\":{\"value\":" \
	value ",\"currency\":\"" cur "\"}}"

static void test_check_modifications(void **state)
{
	(void)state;
	expect_adyen(VAULT_OP_CAPTURE, ADYEN_MOD("8815000000000001", "received", "2500", "EUR"),
	             VAULT_OP_SUCCEEDED, "");
	expect_adyen(VAULT_OP_REFUND, ADYEN_MOD("8815000000000001", "received", "2500", "EUR"),
	             VAULT_OP_SUCCEEDED, "");
	expect_adyen(VAULT_OP_CANCEL, "{\"paymentPspReference\":\"8815000000000001\",\"pspReference\":"
	             "\"8815000000000099\",\"status\":\"received\"}", VAULT_OP_SUCCEEDED, "");
	expect_adyen(VAULT_OP_CAPTURE, ADYEN_MOD("8815000000000001", "failed", "2500", "EUR"),
	             VAULT_OP_UNKNOWN, "status");
	expect_adyen(VAULT_OP_CAPTURE, ADYEN_MOD("8815000000000002", "received", "2500", "EUR"),
	             VAULT_OP_UNKNOWN, "id");
	expect_adyen(VAULT_OP_CAPTURE, ADYEN_MOD("8815000000000001", "received", "2499", "EUR"),
	             VAULT_OP_UNKNOWN, "amount");
	expect_adyen(VAULT_OP_REFUND, ADYEN_MOD("8815000000000001", "received", "\"2500\"", "EUR"),
	             VAULT_OP_UNKNOWN, "amount");
	expect_adyen(VAULT_OP_REFUND, ADYEN_MOD("8815000000000001", "received", "2500", "JPY"),
	             VAULT_OP_UNKNOWN, "currency");
	/* No echo at all: not a confirmation. */
	expect_adyen(VAULT_OP_REFUND, "{\"status\":\"received\",\"pspReference\":\"8815000000000099\"}",
	             VAULT_OP_UNKNOWN, "id");
	expect_adyen(VAULT_OP_REFUND, "{\"paymentPspReference\":\"8815000000000001\",\"pspReference\":"
	             "\"8815000000000099\",\"status\":\"received\"}", VAULT_OP_UNKNOWN, "amount");
	expect_adyen(VAULT_OP_CANCEL, "not json", VAULT_OP_UNKNOWN, "status");
}

static void test_reasons(void **state)
{
	(void)state;
	assert_string_equal(vault_adyen_reason(VAULT_OP_REFUND, "duplicate"), "DUPLICATE");
	assert_string_equal(vault_adyen_reason(VAULT_OP_REFUND, "fraudulent"), "FRAUD");
	assert_string_equal(vault_adyen_reason(VAULT_OP_REFUND, "requested_by_customer"),
	                    "CUSTOMER REQUEST");
	assert_null(vault_adyen_reason(VAULT_OP_REFUND, NULL));
	assert_null(vault_adyen_reason(VAULT_OP_CANCEL, "fraudulent"));   /* /cancels take none */
	assert_null(vault_adyen_reason(VAULT_OP_REFUND, "abandoned"));
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_map_authorised),
		cmocka_unit_test(test_map_refusals),
		cmocka_unit_test(test_map_redirect),
		cmocka_unit_test(test_map_http_errors),
		cmocka_unit_test(test_map_malformed),
		cmocka_unit_test(test_check_modifications),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_hmac_known_answer),
		cmocka_unit_test(test_bin_country),
	};
	const struct CMUnitTest wh[] = {
		cmocka_unit_test(test_webhook_events),
		cmocka_unit_test(test_webhook_tampered),
		cmocka_unit_test(test_webhook_malformed),
	};
	const struct CMUnitTest sim[] = {
		cmocka_unit_test(test_sim_outcomes),
		cmocka_unit_test(test_sim_idempotent_and_modifications),
		cmocka_unit_test(test_sim_not_processed),
	};
	int failed = 0;

	if (sodium_init() < 0)
		return 1;
	failed += cmocka_run_group_tests_name("adyen_map", pure, NULL, NULL);
	failed += cmocka_run_group_tests_name("adyen_webhooks", wh, wh_setup, wh_teardown);
	failed += cmocka_run_group_tests_name("adyen_pspsim", sim, sim_setup, sim_teardown);
	return failed;
}
