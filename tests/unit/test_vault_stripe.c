/*
 * Stripe connector: response mapping (every shape, malformed input), the
 * RFC 3986 form encoder, and (with PSPSIM_BIN) the whole authorize() flow
 * against the real pspsim over mutual TLS: test-card outcomes, idempotent
 * retries (invariant 8, docs/invariants.md), wrong API key, unreachable PSP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "common/sr_secret.h"
#include "tests/unit/fixture.h"
#include "vault/connectors/connector.h"
#include "vault/connectors/formenc.h"
#include "vault/connectors/stripe/stripe.h"
#include "vault/connectors/vault_egress.h"

/* ------------------------------------------------------------------ */
/* vault_stripe_check_op (issue 15: the answer is checked, not assumed) */

static struct vault_op_request op_req(enum vault_op_kind kind, long long amount)
{
	struct vault_op_request oq;

	memset(&oq, 0, sizeof oq);
	oq.kind = kind;
	oq.psp_reference = "pi_ok";
	oq.amount = amount;
	oq.currency = "usd";
	oq.idempotency_key = "k";
	return oq;
}

/* The answer body with one member replaced (or added): name=value (JSON). */
static char *answer_with(const char *base, const char *name, const char *value)
{
	json_t *j = json_loads(base, 0, NULL);
	char *s = NULL;

	assert_non_null(j);
	if (name != NULL)
		json_object_set_new(j, name, json_loads(value, JSON_DECODE_ANY, NULL));
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static void expect_op_check(const struct vault_op_request *oq, const char *base, const char *name,
                         const char *value, enum vault_op_outcome want, const char *mismatch)
{
	struct vault_op_result res;
	char *body = answer_with(base, name, value);

	memset(&res, 0x5a, sizeof res);
	vault_stripe_check_op(oq, body, &res);
	free(body);
	assert_int_equal(res.outcome, want);
	assert_string_equal(res.mismatch, mismatch);
	if (want != VAULT_OP_SUCCEEDED) {
		assert_int_equal(res.amount, 0);        /* nothing taken from a contradicting answer */
		assert_string_equal(res.reference, "");
	}
}

static const char k_captured[] = "{\"id\":\"pi_ok\",\"object\":\"payment_intent\",\"status\":\"succeeded\","
                                 "\"amount\":1500,\"amount_received\":1000,\"currency\":\"usd\"}";
static const char k_canceled[] = "{\"id\":\"pi_ok\",\"object\":\"payment_intent\",\"status\":\"canceled\","
                                 "\"amount\":1500,\"amount_received\":0,\"currency\":\"usd\"}";
static const char k_refund[] = "{\"id\":\"re_1\",\"object\":\"refund\",\"payment_intent\":\"pi_ok\","
                               "\"status\":\"succeeded\",\"amount\":500,\"currency\":\"usd\"}";

static void test_check_capture(void **state)
{
	struct vault_op_request oq = op_req(VAULT_OP_CAPTURE, 1000);
	struct vault_op_result res;

	(void)state;
	vault_stripe_check_op(&oq, k_captured, &res);
	assert_int_equal(res.outcome, VAULT_OP_SUCCEEDED);
	assert_int_equal(res.amount, 1000);
	expect_op_check(&oq, k_captured, "status", "\"requires_payment_method\"", VAULT_OP_UNKNOWN, "status");
	expect_op_check(&oq, k_captured, "status", "\"requires_capture\"", VAULT_OP_UNKNOWN, "status");
	expect_op_check(&oq, k_captured, "amount_received", "0", VAULT_OP_UNKNOWN, "amount");
	expect_op_check(&oq, k_captured, "amount_received", "999", VAULT_OP_UNKNOWN, "amount");
	expect_op_check(&oq, k_captured, "amount_received", "\"1000\"", VAULT_OP_UNKNOWN, "amount");
	expect_op_check(&oq, k_captured, "id", "\"pi_other\"", VAULT_OP_UNKNOWN, "id");
	expect_op_check(&oq, k_captured, "currency", "\"eur\"", VAULT_OP_UNKNOWN, "currency");
	expect_op_check(&oq, k_captured, "object", "\"refund\"", VAULT_OP_UNKNOWN, "object");
	/* Amount 0 ("the whole"): any positive amount received confirms it. */
	oq.amount = 0;
	expect_op_check(&oq, k_captured, NULL, NULL, VAULT_OP_SUCCEEDED, "");
	expect_op_check(&oq, k_captured, "amount_received", "0", VAULT_OP_UNKNOWN, "amount");
}

static void test_check_cancel(void **state)
{
	struct vault_op_request oq = op_req(VAULT_OP_CANCEL, 0);

	(void)state;
	expect_op_check(&oq, k_canceled, NULL, NULL, VAULT_OP_SUCCEEDED, "");
	expect_op_check(&oq, k_canceled, "status", "\"requires_capture\"", VAULT_OP_UNKNOWN, "status");
	expect_op_check(&oq, k_canceled, "id", "\"pi_other\"", VAULT_OP_UNKNOWN, "id");
	expect_op_check(&oq, k_canceled, "currency", "\"jpy\"", VAULT_OP_UNKNOWN, "currency");
}

static void test_check_refund(void **state)
{
	struct vault_op_request oq = op_req(VAULT_OP_REFUND, 500);
	struct vault_op_result res;

	(void)state;
	vault_stripe_check_op(&oq, k_refund, &res);
	assert_int_equal(res.outcome, VAULT_OP_SUCCEEDED);
	assert_int_equal(res.amount, 500);
	assert_string_equal(res.reference, "re_1");
	expect_op_check(&oq, k_refund, "amount", "499", VAULT_OP_UNKNOWN, "amount");
	expect_op_check(&oq, k_refund, "status", "\"pending\"", VAULT_OP_UNKNOWN, "status");
	expect_op_check(&oq, k_refund, "status", "\"failed\"", VAULT_OP_UNKNOWN, "status");
	expect_op_check(&oq, k_refund, "payment_intent", "\"pi_other\"", VAULT_OP_UNKNOWN, "id");
	expect_op_check(&oq, k_refund, "id", "\"re 1\"", VAULT_OP_UNKNOWN, "id");
	expect_op_check(&oq, k_refund, "currency", "\"eur\"", VAULT_OP_UNKNOWN, "currency");
	expect_op_check(&oq, k_refund, "object", "\"payment_intent\"", VAULT_OP_UNKNOWN, "object");
	/* Not JSON at all: unknown, never success. */
	vault_stripe_check_op(&oq, "<html>OK</html>", &res);
	assert_int_equal(res.outcome, VAULT_OP_UNKNOWN);
	vault_stripe_check_op(&oq, NULL, &res);
	assert_int_equal(res.outcome, VAULT_OP_UNKNOWN);
}

static void test_reasons(void **state)
{
	(void)state;
	assert_string_equal(vault_stripe_reason(VAULT_OP_CANCEL, "fraudulent"), "fraudulent");
	assert_string_equal(vault_stripe_reason(VAULT_OP_CANCEL, "abandoned"), "abandoned");
	assert_string_equal(vault_stripe_reason(VAULT_OP_CANCEL, "expired"), "abandoned");
	assert_string_equal(vault_stripe_reason(VAULT_OP_REFUND, "requested_by_customer"),
	                    "requested_by_customer");
	assert_string_equal(vault_stripe_reason(VAULT_OP_REFUND, "duplicate"), "duplicate");
	assert_null(vault_stripe_reason(VAULT_OP_REFUND, "abandoned"));
	assert_null(vault_stripe_reason(VAULT_OP_REFUND, NULL));
	assert_null(vault_stripe_reason(VAULT_OP_CAPTURE, "duplicate"));
	/* What the vault accepts at all. */
	assert_true(vault_op_reason_ok(VAULT_OP_CANCEL, "expired"));
	assert_true(vault_op_reason_ok(VAULT_OP_REFUND, NULL));
	assert_false(vault_op_reason_ok(VAULT_OP_REFUND, "expired"));
	assert_false(vault_op_reason_ok(VAULT_OP_REFUND, "Duplicate"));
	assert_false(vault_op_reason_ok(VAULT_OP_CAPTURE, "duplicate"));
	assert_false(vault_op_reason_ok(VAULT_OP_CANCEL, ""));
}

/* ------------------------------------------------------------------ */
/* vault_stripe_map_intent                                             */

static void test_map_succeeded(void **state)
{
	struct vault_auth_result r;

	(void)state;
	assert_int_equal(vault_stripe_map_intent(200, "{\"id\":\"pi_123\",\"object\":\"payment_intent\","
	                                          "\"status\":\"succeeded\"}", &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_CAPTURED);
	assert_string_equal(r.psp_reference, "pi_123");
	assert_string_equal(r.failure_code, "");
	assert_string_equal(vault_auth_status_str(r.status), "captured");
}

static void test_map_requires_capture(void **state)
{
	struct vault_auth_result r;

	(void)state;
	assert_int_equal(vault_stripe_map_intent(200, "{\"id\":\"pi_9\",\"status\":\"requires_capture\"}", &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_AUTHORIZED);
	assert_string_equal(vault_auth_status_str(r.status), "authorized");
}

static void test_map_requires_action(void **state)
{
	struct vault_auth_result r;

	(void)state;
	assert_int_equal(vault_stripe_map_intent(200, "{\"id\":\"pi_3\",\"status\":\"requires_action\","
	                 "\"next_action\":{\"type\":\"redirect_to_url\",\"redirect_to_url\":"
	                 "{\"url\":\"https://psp.strongroom.test:8446/3ds/pi_3\"}}}", &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_REQUIRES_ACTION);
	assert_string_equal(r.redirect_url, "https://psp.strongroom.test:8446/3ds/pi_3");
	assert_string_equal(vault_auth_status_str(r.status), "requires_action");
	/* No URL, or a non-https one: not usable, so unknown. */
	assert_int_equal(vault_stripe_map_intent(200, "{\"id\":\"pi_3\",\"status\":\"requires_action\"}", &r), -1);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	assert_int_equal(vault_stripe_map_intent(200, "{\"id\":\"pi_3\",\"status\":\"requires_action\","
	                 "\"next_action\":{\"redirect_to_url\":{\"url\":\"javascript:alert(1)\"}}}", &r), -1);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	assert_string_equal(r.redirect_url, "");
}

static void test_map_processing_unknown(void **state)
{
	struct vault_auth_result r;

	(void)state;
	assert_int_equal(vault_stripe_map_intent(200, "{\"id\":\"pi_4\",\"status\":\"processing\"}", &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	assert_string_equal(r.psp_reference, "pi_4");
	assert_string_equal(vault_auth_status_str(r.status), "unknown");
}

static void expect_decline(const char *body, const char *code, const char *ref)
{
	struct vault_auth_result r;

	assert_int_equal(vault_stripe_map_intent(402, body, &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_FAILED);
	assert_string_equal(r.failure_code, code);
	assert_true(strlen(r.failure_message) > 0);
	assert_string_equal(r.psp_reference, ref);
	assert_string_equal(vault_auth_status_str(r.status), "failed");
}

static void test_map_declines(void **state)
{
	(void)state;
	expect_decline("{\"error\":{\"type\":\"card_error\",\"code\":\"card_declined\",\"decline_code\":"
	               "\"generic_decline\",\"message\":\"x\",\"payment_intent\":{\"id\":\"pi_d1\","
	               "\"status\":\"requires_payment_method\"}}}", "card_declined", "pi_d1");
	expect_decline("{\"error\":{\"type\":\"card_error\",\"code\":\"card_declined\",\"decline_code\":"
	               "\"insufficient_funds\",\"payment_intent\":{\"id\":\"pi_d2\"}}}", "insufficient_funds",
	               "pi_d2");
	expect_decline("{\"error\":{\"type\":\"card_error\",\"code\":\"card_declined\",\"decline_code\":"
	               "\"lost_card\"}}", "card_declined", "");
	expect_decline("{\"error\":{\"type\":\"card_error\",\"code\":\"expired_card\"}}", "expired_card", "");
	expect_decline("{\"error\":{\"type\":\"card_error\",\"code\":\"incorrect_cvc\"}}", "incorrect_cvc", "");
	expect_decline("{\"error\":{\"type\":\"card_error\",\"code\":\"processing_error\"}}", "processing_error", "");
	expect_decline("{\"error\":{\"type\":\"card_error\",\"code\":\"incorrect_number\"}}", "incorrect_number", "");
}

static void test_map_never_echoes_psp_message(void **state)
{
	struct vault_auth_result r;

	(void)state;
	assert_int_equal(vault_stripe_map_intent(402, "{\"error\":{\"type\":\"card_error\",\"code\":"
	                 "\"card_declined\",\"message\":\"card 4242424242424242 declined\"}}", &r), 0);
	assert_null(strstr(r.failure_message, "4242"));
	assert_string_equal(r.failure_message, "The card was declined.");
}

static void test_map_5xx_and_other_errors(void **state)
{
	struct vault_auth_result r;

	(void)state;
	assert_int_equal(vault_stripe_map_intent(500, "{\"error\":{\"type\":\"api_error\",\"message\":\"x\"}}", &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	assert_int_equal(vault_stripe_map_intent(503, "<html>down</html>", &r), -1);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	assert_int_equal(vault_stripe_map_intent(400, "{\"error\":{\"type\":\"idempotency_error\"}}", &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	assert_int_equal(vault_stripe_map_intent(429, "{\"error\":{\"type\":\"rate_limit_error\"}}", &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	/* The PSP refused the request itself: definitely not charged. */
	assert_int_equal(vault_stripe_map_intent(400, "{\"error\":{\"type\":\"invalid_request_error\","
	                 "\"code\":\"parameter_missing\"}}", &r), 0);
	assert_int_equal(r.status, VAULT_AUTH_FAILED);
}

static void test_map_malformed(void **state)
{
	static const char *const bodies[] = {
		"", "{", "not json", "[]", "42", "null", "\"succeeded\"",
		"{\"status\":\"succeeded\"}",                         /* no id */
		"{\"id\":\"pi_1\"}",                                  /* no status */
		"{\"id\":42,\"status\":\"succeeded\"}",               /* id not a string */
		"{\"id\":\"pi 1<script>\",\"status\":\"succeeded\"}", /* id with odd characters */
		"{\"id\":\"pi_1\",\"status\":\"succeeded\",\"id\":\"pi_2\"}", /* duplicate keys */
	};
	struct vault_auth_result r;
	size_t i = 0;

	(void)state;
	for (i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		memset(&r, 0x5a, sizeof r);
		assert_int_equal(vault_stripe_map_intent(200, bodies[i], &r), -1);
		assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
		assert_string_equal(r.psp_reference, "");
		assert_string_equal(r.failure_code, "");
	}
	assert_int_equal(vault_stripe_map_intent(200, NULL, &r), -1);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	/* 402 without an error object, or a non-object error. */
	assert_int_equal(vault_stripe_map_intent(402, "{}", &r), -1);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	assert_int_equal(vault_stripe_map_intent(402, "{\"error\":\"declined\"}", &r), -1);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	assert_int_equal(vault_stripe_map_intent(402, "{\"error\":{\"code\":\"card_declined\"}}", &r), -1);
	assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	/* A too-long reference is not copied truncated. */
	{
		char big[400];
		char body[512];

		memset(big, 'a', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		snprintf(body, sizeof body, "{\"id\":\"%s\",\"status\":\"succeeded\"}", big);
		assert_int_equal(vault_stripe_map_intent(200, body, &r), -1);
		assert_int_equal(r.status, VAULT_AUTH_UNKNOWN);
	}
}

static void test_status_str(void **state)
{
	(void)state;
	assert_string_equal(vault_auth_status_str(VAULT_AUTH_CAPTURED), "captured");
	assert_string_equal(vault_auth_status_str(VAULT_AUTH_FAILED), "failed");
	assert_string_equal(vault_auth_status_str((enum vault_auth_status)99), "unknown");
}

/* ------------------------------------------------------------------ */
/* form encoder                                                        */

static void test_pct_encode(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(vault_pct_encode(out, sizeof out, "aZ09-._~", 8), 8);
	assert_string_equal(out, "aZ09-._~");
	assert_int_equal(vault_pct_encode(out, sizeof out, "card[number]", 12), 16);
	assert_string_equal(out, "card%5Bnumber%5D");
	assert_int_equal(vault_pct_encode(out, sizeof out, "a b&c=d+e/\xc3\xa9", 12), 26);
	assert_string_equal(out, "a%20b%26c%3Dd%2Be%2F%C3%A9");
	assert_int_equal(vault_pct_encode(out, 3, "[", 1), -1);   /* "%5B" needs 4 bytes incl. NUL */
	assert_string_equal(out, "");
	assert_int_equal(vault_pct_encode(out, 4, "[", 1), 3);
	assert_string_equal(out, "%5B");
	assert_int_equal(vault_pct_encode(out, 4, "a[", 2), -1);
	assert_string_equal(out, "");
	assert_int_equal(vault_pct_encode(out, 4, "abc", 3), 3);
	assert_int_equal(vault_pct_encode(out, 3, "abc", 3), -1);
}

static void test_form_append(void **state)
{
	char buf[48];
	size_t len = 0;

	(void)state;
	memset(buf, 0, sizeof buf);
	assert_int_equal(vault_form_append(buf, sizeof buf, &len, "type", "card"), 0);
	assert_int_equal(vault_form_append(buf, sizeof buf, &len, "card[cvc]", "1 3"), 0);
	assert_string_equal(buf, "type=card&card%5Bcvc%5D=1%203");
	assert_int_equal(len, strlen(buf));
	/* Overflow: refused, the buffer keeps its previous content. */
	assert_int_equal(vault_form_append(buf, sizeof buf, &len, "metadata[x]", "yyyyyyyyyyyyyyyyyyyy"), -1);
	assert_string_equal(buf, "type=card&card%5Bcvc%5D=1%203");
	assert_int_equal(len, strlen(buf));
}

/* ------------------------------------------------------------------ */
/* authorize() against pspsim                                          */

static struct fx_psp g_h;
static int g_sim = 1;
static struct vault_egress *g_eg;
static struct vault_connector g_conn;

static int group_setup(void **state)
{
	char ca[128];
	char crt[128];
	char key[128];
	char apikey[128];
	char allow_s[64];
	const char *allow[] = { allow_s, NULL };
	struct vault_egress_config ec;
	struct stripe_config sc;
	char err[256] = "";

	(void)state;
	if (sodium_init() < 0)
		return -1;
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
	if (g_eg == NULL) {
		fprintf(stderr, "egress: %s\n", err);
		return -1;
	}
	memset(&sc, 0, sizeof sc);
	sc.host = "psp.test";
	sc.addr = "127.0.0.1";
	sc.port = g_h.port;
	/* vaultd opens the platform's key from its sealed form (ADR 0120);
	 * here it is pspsim's file. */
	sc.api_key = sr_secret_read_file(apikey, NULL, err, sizeof err);
	if (sc.api_key == NULL || vault_stripe_init(&g_conn, &sc, err, sizeof err) != 0) {
		fprintf(stderr, "stripe: %s\n", err);
		sr_secret_free((char *)sc.api_key);
		return -1;
	}
	sr_secret_free((char *)sc.api_key);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	vault_stripe_free(&g_conn);
	vault_egress_free(g_eg);
	return fx_psp_stop(&g_h);
}

/* One authorization with a PAN in guarded memory. @return authorize()'s rc. */
static int authorize(const struct vault_connector *c, const char *pan, bool capture, const char *idem,
                     struct vault_auth_result *res, char *err, size_t errlen)
{
	struct vault_card card;
	struct vault_auth_request req;
	char *g = sodium_malloc(32);
	int rc = 0;

	assert_non_null(g);
	snprintf(g, 32, "%s", pan);
	memset(&card, 0, sizeof card);
	card.pan = g;
	card.pan_len = strlen(g);
	card.exp_month = 12;
	card.exp_year = 2034;
	card.cvc = "123";
	memset(&req, 0, sizeof req);
	req.merchant_id = "mer_test";
	req.payment_id = "pay_test1";
	req.token = "tok_test1";
	req.amount = 1999;
	req.currency = "usd";
	req.capture = capture;
	req.idempotency_key = idem;
	req.card = &card;
	req.request_id = "req_unittest";
	rc = c->authorize(c, g_eg, &req, res, err, errlen);
	sodium_free(g);
	return rc;
}

static json_t *stats(void)
{
	struct vault_egress_response r;
	json_t *j = NULL;
	char err[256] = "";
	int sent = 0;

	assert_int_equal(vault_egress_request(g_eg, "psp.test", "127.0.0.1", g_h.port, "GET", "/_sim/stats",
	                                      NULL, NULL, 0, &r, &sent, err, sizeof err), 0);
	j = json_loads(r.body, 0, NULL);
	free(r.body);
	assert_true(json_is_object(j));
	return j;
}

static void idem_key(char *out, size_t len)
{
	unsigned char b[8];

	randombytes_buf(b, sizeof b);
	snprintf(out, len, "idem_%02x%02x%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
}

static void expect_outcome(const char *pan, bool capture, enum vault_auth_status st, const char *code)
{
	struct vault_auth_result r;
	char err[256] = "";
	char idem[40];

	idem_key(idem, sizeof idem);
	assert_int_equal(authorize(&g_conn, pan, capture, idem, &r, err, sizeof err), 0);
	if (r.status != st)
		fprintf(stderr, "card ...%s: status %s\n", pan + strlen(pan) - 4, vault_auth_status_str(r.status));
	assert_int_equal(r.status, st);
	assert_string_equal(r.failure_code, code);
	assert_null(strstr(r.failure_message, pan));
	if (st != VAULT_AUTH_FAILED || strcmp(code, "incorrect_number") != 0)
		assert_memory_equal(r.psp_reference, "pi_", 3);
}

static void test_e2e_outcomes(void **state)
{
	(void)state;
	if (g_sim != 0)
		skip();
	expect_outcome("4242424242424242", true, VAULT_AUTH_CAPTURED, "");
	expect_outcome("5555555555554444", true, VAULT_AUTH_CAPTURED, "");
	expect_outcome("378282246310005", true, VAULT_AUTH_CAPTURED, "");
	expect_outcome("4000000000000259", true, VAULT_AUTH_CAPTURED, "");
	expect_outcome("6011111111111117", true, VAULT_AUTH_CAPTURED, "");   /* other Luhn-valid card */
	expect_outcome("4242424242424242", false, VAULT_AUTH_AUTHORIZED, "");
	expect_outcome("4000000000000002", true, VAULT_AUTH_FAILED, "card_declined");
	expect_outcome("4000000000009995", true, VAULT_AUTH_FAILED, "insufficient_funds");
	expect_outcome("4000000000000069", true, VAULT_AUTH_FAILED, "expired_card");
	expect_outcome("4000000000000127", true, VAULT_AUTH_FAILED, "incorrect_cvc");
	expect_outcome("4000000000000119", true, VAULT_AUTH_FAILED, "processing_error");
	expect_outcome("4242424242424241", true, VAULT_AUTH_FAILED, "incorrect_number");
}

static void test_e2e_3ds(void **state)
{
	struct vault_auth_result r;
	char err[256] = "";
	char idem[40];
	char want[256];

	(void)state;
	if (g_sim != 0)
		skip();
	idem_key(idem, sizeof idem);
	assert_int_equal(authorize(&g_conn, "4000000000003220", true, idem, &r, err, sizeof err), 0);
	assert_int_equal(r.status, VAULT_AUTH_REQUIRES_ACTION);
	snprintf(want, sizeof want, "https://psp.test:%u/3ds/%s", g_h.port, r.psp_reference);
	assert_string_equal(r.redirect_url, want);
	idem_key(idem, sizeof idem);
	assert_int_equal(authorize(&g_conn, "4000008400001629", true, idem, &r, err, sizeof err), 0);
	assert_int_equal(r.status, VAULT_AUTH_REQUIRES_ACTION);
}

/* invariant 8, docs/invariants.md: a retry with the same key replays, no second intent. */
static void test_e2e_idempotent_retry(void **state)
{
	struct vault_auth_result r1;
	struct vault_auth_result r2;
	json_t *s0 = NULL;
	json_t *s1 = NULL;
	char err[256] = "";
	char idem[40];

	(void)state;
	if (g_sim != 0)
		skip();
	idem_key(idem, sizeof idem);
	s0 = stats();
	assert_int_equal(authorize(&g_conn, "4242424242424242", true, idem, &r1, err, sizeof err), 0);
	assert_int_equal(authorize(&g_conn, "4242424242424242", true, idem, &r2, err, sizeof err), 0);
	s1 = stats();
	assert_int_equal(r1.status, VAULT_AUTH_CAPTURED);
	assert_int_equal(r2.status, VAULT_AUTH_CAPTURED);
	assert_string_equal(r1.psp_reference, r2.psp_reference);
	assert_int_equal(json_integer_value(json_object_get(s1, "payment_intents_created")),
	                 json_integer_value(json_object_get(s0, "payment_intents_created")) + 1);
	assert_int_equal(json_integer_value(json_object_get(s1, "payment_methods_created")),
	                 json_integer_value(json_object_get(s0, "payment_methods_created")) + 1);
	/* Same key, different card: the PSP refuses (idempotency_error) -> not a new charge. */
	assert_int_equal(authorize(&g_conn, "5555555555554444", true, idem, &r2, err, sizeof err), -1);
	json_decref(s0);
	json_decref(s1);
	s1 = stats();
	json_decref(s1);
}

static void test_e2e_wrong_key(void **state)
{
	struct vault_connector c;
	struct stripe_config sc;
	struct vault_auth_result r;
	char apikey[128];
	char err[256] = "";
	char idem[40];

	(void)state;
	if (g_sim != 0)
		skip();
	fx_psp_path(&g_h, "apikey-wrong", apikey, sizeof apikey);
	memset(&sc, 0, sizeof sc);
	sc.host = "psp.test";
	sc.addr = "127.0.0.1";
	sc.port = g_h.port;
	sc.api_key = sr_secret_read_file(apikey, NULL, err, sizeof err);
	assert_non_null(sc.api_key);
	assert_int_equal(vault_stripe_init(&c, &sc, err, sizeof err), 0);
	sr_secret_free((char *)sc.api_key);
	idem_key(idem, sizeof idem);
	/* 401 on payment_methods: nothing created or charged -> -1 (psp_unavailable). */
	assert_int_equal(authorize(&c, "4242424242424242", true, idem, &r, err, sizeof err), -1);
	assert_non_null(strstr(err, "401"));
	assert_null(strstr(err, "sk_test"));
	vault_stripe_free(&c);
}

static void test_e2e_unreachable(void **state)
{
	struct vault_connector c;
	struct stripe_config sc;
	struct vault_auth_result r;
	char apikey[128];
	char err[256] = "";

	(void)state;
	if (g_sim != 0)
		skip();
	fx_psp_path(&g_h, "apikey", apikey, sizeof apikey);
	memset(&sc, 0, sizeof sc);
	sc.host = "psp.test";
	sc.addr = "127.0.0.1";
	sc.port = g_h.port + 1;       /* not in the allowlist */
	sc.api_key = sr_secret_read_file(apikey, NULL, err, sizeof err);
	assert_non_null(sc.api_key);
	assert_int_equal(vault_stripe_init(&c, &sc, err, sizeof err), 0);
	sr_secret_free((char *)sc.api_key);
	assert_int_equal(authorize(&c, "4242424242424242", true, "idem_unreach", &r, err, sizeof err), -1);
	assert_string_equal(err, "destination not allowlisted");
	vault_stripe_free(&c);
}

/* pspsim is a PSP double that holds card numbers, but must never log them. */
static void test_e2e_no_pan_in_logs(void **state)
{
	char log[128];
	char line[8192];
	FILE *f = NULL;
	size_t i = 0;
	size_t run = 0;
	int lines = 0;

	(void)state;
	if (g_sim != 0)
		skip();
	fx_psp_path(&g_h, "pspsim.log", log, sizeof log);
	f = fopen(log, "r");
	assert_non_null(f);
	while (fgets(line, sizeof line, f) != NULL) {
		lines++;
		run = 0;
		for (i = 0; line[i] != '\0'; i++) {
			run = (line[i] >= '0' && line[i] <= '9') ? run + 1 : 0;
			assert_true(run < 13);
		}
	}
	fclose(f);
	assert_true(lines > 10);
}

static void test_init_errors(void **state)
{
	struct vault_connector c;
	struct stripe_config sc;
	char err[256] = "";

	(void)state;
	memset(&sc, 0, sizeof sc);
	sc.host = "psp.test";
	sc.port = 8446;
	sc.api_key = NULL;      /* not loaded */
	assert_int_equal(vault_stripe_init(&c, &sc, err, sizeof err), -1);
	assert_true(strlen(err) > 0);
	sc.api_key = "sk_test_one\nsk_test_two";
	assert_int_equal(vault_stripe_init(&c, &sc, err, sizeof err), -1);
	assert_null(strstr(err, "sk_test"));
	sc.api_key = "";
	assert_int_equal(vault_stripe_init(&c, &sc, err, sizeof err), -1);
	assert_int_equal(vault_stripe_init(&c, NULL, err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_succeeded),
		cmocka_unit_test(test_map_requires_capture),
		cmocka_unit_test(test_map_requires_action),
		cmocka_unit_test(test_map_processing_unknown),
		cmocka_unit_test(test_map_declines),
		cmocka_unit_test(test_map_never_echoes_psp_message),
		cmocka_unit_test(test_map_5xx_and_other_errors),
		cmocka_unit_test(test_map_malformed),
		cmocka_unit_test(test_status_str),
		cmocka_unit_test(test_check_capture),
		cmocka_unit_test(test_check_cancel),
		cmocka_unit_test(test_check_refund),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_pct_encode),
		cmocka_unit_test(test_form_append),
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_e2e_outcomes),
		cmocka_unit_test(test_e2e_3ds),
		cmocka_unit_test(test_e2e_idempotent_retry),
		cmocka_unit_test(test_e2e_wrong_key),
		cmocka_unit_test(test_e2e_unreachable),
		cmocka_unit_test(test_e2e_no_pan_in_logs),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
