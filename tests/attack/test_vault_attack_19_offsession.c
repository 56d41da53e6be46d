/*
 * Attack (issue 19 item 7, ADR 0133): a CVC sent with a merchant-initiated
 * payment. Invariant 4 (docs/invariants.md) deletes the CVC after the first
 * authorization, and the vault does not decrypt it for an off-session
 * payment; this test holds each connector to it on its own: handed a card
 * that still has a CVC and off_session set, neither Stripe's nor Adyen's
 * request may carry it (pspsim records what it received, GET
 * /_sim/intents). Also: what each connector sends for stored credentials
 * (Stripe off_session / setup_future_usage; Adyen shopperInteraction,
 * recurringProcessingModel, additionalData.networkTxReference) and the
 * network transaction id Adyen's answer carries. Needs PSPSIM_BIN.
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
#include "vault/connectors/adyen/adyen.h"
#include "vault/connectors/stripe/stripe.h"
#include "vault/connectors/vault_egress.h"

static struct fx_psp g_h;
static int g_sim = 1;
static struct vault_egress *g_eg;
static struct vault_connector g_stripe;
static struct vault_connector g_adyen;

static int sim_setup(void **state)
{
	char ca[128], crt[128], key[128], apikey[128], allow_s[64];
	const char *allow[] = { allow_s, NULL };
	struct vault_egress_config ec;
	struct adyen_config ac;
	struct stripe_config sc;
	char err[256] = "";
	char *k = NULL;
	int rc = -1;

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
	k = sr_secret_read_file(apikey, NULL, err, sizeof err);
	if (g_eg == NULL || k == NULL)
		goto out;
	memset(&ac, 0, sizeof ac);
	ac.host = "psp.test";
	ac.addr = "127.0.0.1";
	ac.port = g_h.port;
	ac.api_key = k;
	ac.merchant_account = "TestMerchant";
	memset(&sc, 0, sizeof sc);
	sc.host = "psp.test";
	sc.addr = "127.0.0.1";
	sc.port = g_h.port;
	sc.api_key = k;
	if (vault_adyen_init(&g_adyen, &ac, err, sizeof err) != 0 ||
	    vault_stripe_init(&g_stripe, &sc, err, sizeof err) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "setup: %s\n", err);
	sr_secret_free(k);
	return rc;
}

static int sim_teardown(void **state)
{
	(void)state;
	vault_adyen_free(&g_adyen);
	vault_stripe_free(&g_stripe);
	vault_egress_free(g_eg);
	return fx_psp_stop(&g_h);
}

/* One authorization of a Visa test card that still holds a CVC. */
static int authorize(const struct vault_connector *c, const char *idem, bool off_session,
                     const char *sfu, const char *nti, struct vault_auth_result *res)
{
	struct vault_card card;
	struct vault_auth_request req;
	char *pan = sodium_malloc(32);
	char *cvc = sodium_malloc(8);
	char err[256] = "";
	int rc = 0;

	assert_non_null(pan);
	assert_non_null(cvc);
	snprintf(pan, 32, "4242424242424242");
	snprintf(cvc, 8, "123");
	memset(&card, 0, sizeof card);
	card.pan = pan;
	card.pan_len = strlen(pan);
	card.exp_month = 3;
	card.exp_year = 2034;
	card.cvc = cvc;
	memset(&req, 0, sizeof req);
	req.merchant_id = "mer_test";
	req.payment_id = idem;
	req.token = "card_attack19";
	req.amount = 1800;
	req.currency = "eur";
	req.capture = true;
	req.idempotency_key = idem;
	req.card = &card;
	req.request_id = "req_attack19";
	req.off_session = off_session;
	req.setup_future_usage = sfu;
	req.network_tx_id = nti;
	rc = c->authorize(c, g_eg, &req, res, err, sizeof err);
	sodium_free(pan);
	sodium_free(cvc);
	return rc;
}

/* What pspsim recorded for the payment whose idempotency key starts with
 * idem, in dialect ("data": Stripe, "adyen"): a new reference. */
static json_t *received(const char *dialect, const char *idem)
{
	struct vault_egress_response r;
	json_t *j = NULL;
	json_t *row = NULL;
	json_t *found = NULL;
	char err[256] = "";
	size_t i = 0;
	int sent = 0;

	assert_int_equal(vault_egress_request(g_eg, "psp.test", "127.0.0.1", g_h.port, "GET",
	                                      "/_sim/intents", NULL, NULL, 0, &r, &sent, err,
	                                      sizeof err), 0);
	j = json_loads(r.body, 0, NULL);
	free(r.body);
	json_array_foreach(json_object_get(j, dialect), i, row) {
		const char *k = json_string_value(json_object_get(row, "idempotency_key"));

		if (k != NULL && strncmp(k, idem, strlen(idem)) == 0)
			found = json_incref(row);
	}
	json_decref(j);
	assert_non_null(found);
	return found;
}

static const char *rx(const json_t *row, const char *name)
{
	const json_t *v = json_object_get(json_object_get(row, "received"), name);

	return json_is_true(v) ? "true" : json_is_false(v) ? "false"
	       : json_is_string(v) ? json_string_value(v) : "null";
}

static void test_stripe_no_cvc_on_mit(void **state)
{
	struct vault_auth_result res;
	json_t *row = NULL;

	(void)state;
	if (g_sim != 0)
		skip();
	/* Control: an on-session payment sends the CVC it has. */
	assert_int_equal(authorize(&g_stripe, "a19-stripe-cit", false, "off_session", NULL, &res), 0);
	assert_int_equal(res.status, VAULT_AUTH_CAPTURED);
	row = received("data", "a19-stripe-cit");
	assert_string_equal(rx(row, "cvc"), "true");
	assert_string_equal(rx(row, "off_session"), "false");
	assert_string_equal(json_string_value(json_object_get(row, "setup_future_usage")), "off_session");
	json_decref(row);
	/* The attack: a card still holding a CVC, charged off-session. */
	assert_int_equal(authorize(&g_stripe, "a19-stripe-mit", true, NULL, "NTIIGNOREDBYSTRIPE", &res), 0);
	assert_int_equal(res.status, VAULT_AUTH_CAPTURED);
	row = received("data", "a19-stripe-mit");
	assert_string_equal(rx(row, "cvc"), "false");
	assert_string_equal(rx(row, "off_session"), "true");
	json_decref(row);
}

static void test_adyen_no_cvc_on_mit(void **state)
{
	struct vault_auth_result res;
	char nti[VAULT_NETWORK_TX_ID_MAX + 1];
	json_t *row = NULL;

	(void)state;
	if (g_sim != 0)
		skip();
	/* The customer-initiated set-up payment: Ecommerce, with its CVC; the
	 * answer's additionalData.networkTxReference comes back in res. */
	assert_int_equal(authorize(&g_adyen, "a19-adyen-cit", false, "off_session", NULL, &res), 0);
	assert_int_equal(res.status, VAULT_AUTH_CAPTURED);
	assert_true(vault_network_tx_id_ok(res.network_tx_id));
	snprintf(nti, sizeof nti, "%s", res.network_tx_id);
	row = received("adyen", "a19-adyen-cit");
	assert_string_equal(rx(row, "shopperInteraction"), "Ecommerce");
	assert_string_equal(rx(row, "recurringProcessingModel"), "UnscheduledCardOnFile");
	assert_string_equal(rx(row, "cvc"), "true");
	json_decref(row);
	/* The attack: merchant-initiated with a card still holding a CVC. */
	assert_int_equal(authorize(&g_adyen, "a19-adyen-mit", true, NULL, nti, &res), 0);
	assert_int_equal(res.status, VAULT_AUTH_CAPTURED);
	row = received("adyen", "a19-adyen-mit");
	assert_string_equal(rx(row, "cvc"), "false");
	assert_string_equal(rx(row, "shopperInteraction"), "ContAuth");
	assert_string_equal(rx(row, "recurringProcessingModel"), "UnscheduledCardOnFile");
	assert_string_equal(rx(row, "networkTxReference"), nti);
	json_decref(row);
	/* Without the id the issuer refuses (pspsim's refusal 23). */
	assert_int_equal(authorize(&g_adyen, "a19-adyen-mit-noid", true, NULL, NULL, &res), 0);
	assert_int_equal(res.status, VAULT_AUTH_FAILED);
	assert_string_equal(res.failure_code, "card_declined");
	/* A malformed id is never sent: the request is refused before it is built. */
	assert_int_equal(authorize(&g_adyen, "a19-adyen-mit-bad", true, NULL, "NTI\",\"cvc\":\"1", &res), -1);
	/* on_session set-up: CardOnFile. */
	assert_int_equal(authorize(&g_adyen, "a19-adyen-cof", false, "on_session", NULL, &res), 0);
	row = received("adyen", "a19-adyen-cof");
	assert_string_equal(rx(row, "recurringProcessingModel"), "CardOnFile");
	json_decref(row);
}

static void test_adyen_map_network_tx_id(void **state)
{
	struct vault_auth_result r;

	(void)state;
	assert_int_equal(vault_adyen_map_payment(200, "{\"pspReference\":\"8815\",\"resultCode\":\"Authorised\","
	                 "\"additionalData\":{\"networkTxReference\":\"MCC123456789\"}}", 1, &r), 0);
	assert_string_equal(r.network_tx_id, "MCC123456789");
	/* Not an identifier: not kept. */
	assert_int_equal(vault_adyen_map_payment(200, "{\"pspReference\":\"8815\",\"resultCode\":\"Authorised\","
	                 "\"additionalData\":{\"networkTxReference\":\"a b\"}}", 1, &r), 0);
	assert_string_equal(r.network_tx_id, "");
	/* A refusal never sets one up. */
	assert_int_equal(vault_adyen_map_payment(200, "{\"pspReference\":\"8815\",\"resultCode\":\"Refused\","
	                 "\"additionalData\":{\"networkTxReference\":\"MCC1\"}}", 1, &r), 0);
	assert_string_equal(r.network_tx_id, "");
	assert_false(vault_network_tx_id_ok(NULL));
	assert_false(vault_network_tx_id_ok(""));
	assert_false(vault_network_tx_id_ok("0123456789012345678901234567890123456789012345678901234567890123"));
	assert_true(vault_network_tx_id_ok("483297487231504"));
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_adyen_map_network_tx_id),
	};
	const struct CMUnitTest sim[] = {
		cmocka_unit_test(test_stripe_no_cvc_on_mit),
		cmocka_unit_test(test_adyen_no_cvc_on_mit),
	};
	int failed = 0;

	if (sodium_init() < 0)
		return 1;
	failed += cmocka_run_group_tests_name("attack_19_offsession_map", pure, NULL, NULL);
	failed += cmocka_run_group_tests_name("attack_19_offsession_pspsim", sim, sim_setup, sim_teardown);
	return failed;
}
