/*
 * libFuzzer target: the parsers that read what a PSP sends (issue 5), on
 * arbitrary bytes. The first byte picks the parser:
 *   0  Stripe-Signature verification (vault_stripe_webhook_verify): the
 *      header is the input up to the first '\n', the body the rest
 *   1  Stripe event parsing (vault_stripe_webhook_parse, and the payment
 *      hook vault_stripe_webhook_payment)
 *   2  Adyen notifications (the connector's webhook_account,
 *      webhook_payment and webhook_events hooks: JSON, per-item HMAC,
 *      event mapping)
 *   3  Adyen's answer to POST /v71/payments (vault_adyen_map_payment); with
 *      bit 5 set, a capture / cancel / refund answer (bits 6-7) checked by
 *      vault_stripe_check_op or (bit 4) vault_adyen_check_op: success only
 *      with the amount asked, otherwise unknown naming a mismatch (issue 15)
 * Built with clang -fsanitize=fuzzer,address,undefined (make fuzz); run
 * briefly by make check from the seed corpus tests/fuzz/corpus/.
 *
 * Beyond "no crash, no leak, no UB" it checks the contracts callers rely
 * on: return values from the documented sets, every string field of an
 * event NUL-terminated inside its array, an event count never above max,
 * and a verified Stripe signature only for the known secret's HMAC.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "vault/connectors/connector.h"
#include "vault/connectors/adyen/adyen.h"
#include "vault/connectors/stripe/stripe.h"

#define STRIPE_SECRET "whsec_fuzz_0123456789abcdef"
#define ADYEN_HMAC "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
#define NOW 1700000000LL

static struct vault_connector g_adyen;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct adyen_config cfg = {
		.host = "psp.strongroom.test", .addr = "127.0.0.1", .port = 1,
		.api_key = "AQE_fuzz_key", .merchant_account = "FuzzECOM", .hmac_key = ADYEN_HMAC,
	};
	char err[256];

	(void)argc;
	(void)argv;
	if (sodium_init() < 0 || vault_adyen_init(&g_adyen, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_psp_webhook: setup: %s\n", err);
		abort();
	}
	return 0;
}

static void check_event(const struct vault_psp_event *ev)
{
	if (memchr(ev->event_id, '\0', sizeof ev->event_id) == NULL ||
	    memchr(ev->psp_reference, '\0', sizeof ev->psp_reference) == NULL ||
	    memchr(ev->reference, '\0', sizeof ev->reference) == NULL ||
	    memchr(ev->currency, '\0', sizeof ev->currency) == NULL ||
	    memchr(ev->failure_code, '\0', sizeof ev->failure_code) == NULL ||
	    (unsigned)ev->kind > (unsigned)VAULT_EV_OTHER)
		abort();
}

static void check_op_answer(uint8_t sel, const char *body)
{
	struct vault_op_request oq;
	struct vault_op_result r;

	memset(&oq, 0, sizeof oq);
	oq.kind = (enum vault_op_kind)((sel >> 6) % 3);    /* capture, cancel, refund */
	oq.psp_reference = "pi_fuzz";
	oq.amount = oq.kind == VAULT_OP_CANCEL ? 0 : 1000;
	oq.currency = "eur";
	oq.idempotency_key = "k";
	if (sel & 16)
		vault_adyen_check_op(&oq, oq.kind == VAULT_OP_CANCEL ? "" : "EUR", body, &r);
	else
		vault_stripe_check_op(&oq, body, &r);
	if ((r.outcome == VAULT_OP_SUCCEEDED ? (r.mismatch[0] != '\0' || r.amount != oq.amount)
	     : (r.outcome != VAULT_OP_UNKNOWN || r.mismatch[0] == '\0' || r.amount != 0))
	    || memchr(r.reference, '\0', sizeof r.reference) == NULL
	    || memchr(r.mismatch, '\0', sizeof r.mismatch) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vault_psp_event ev[4];
	struct vault_auth_result res;
	char account[128];
	char err[256];
	char *buf = NULL;
	char *nl = NULL;
	size_t len = 0;
	size_t n = 0;
	size_t i = 0;
	int rc = 0;

	if (size < 1)
		return 0;
	len = size - 1;
	buf = malloc(len + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, len);
	buf[len] = '\0';
	memset(ev, 0, sizeof ev);
	switch (data[0] % 4) {
	case 0:
		nl = memchr(buf, '\n', len);
		if (nl == NULL)
			break;
		*nl = '\0';
		rc = vault_stripe_webhook_verify(STRIPE_SECRET, buf, nl + 1, len - (size_t)(nl + 1 - buf),
		                                 NOW, 300, err, sizeof err);
		if (rc != 0 && rc != -1 && rc != -2 && rc != -3)
			abort();
		break;
	case 1:
		if (vault_stripe_webhook_payment(NULL, buf, len, account, sizeof account) != 0 ||
		    memchr(account, '\0', sizeof account) == NULL)
			abort();
		rc = vault_stripe_webhook_parse(buf, len, &ev[0]);
		if (rc == 0)
			check_event(&ev[0]);
		break;
	case 2:
		if (g_adyen.webhook_account(&g_adyen, buf, len, account, sizeof account) == 0 &&
		    memchr(account, '\0', sizeof account) == NULL)
			abort();
		/* ADR 0107: the payment an unverified delivery names. */
		if (g_adyen.webhook_payment(&g_adyen, buf, len, account, sizeof account) != 0 ||
		    memchr(account, '\0', sizeof account) == NULL)
			abort();
		rc = g_adyen.webhook_events(&g_adyen, (data[0] & 4) ? ADYEN_HMAC : NULL, NULL, buf, len,
		                            NOW, ev, sizeof ev / sizeof ev[0], &n, err, sizeof err);
		if (rc != 0 && rc != -1 && rc != -2 && rc != -3)
			abort();
		if (rc == 0) {
			if (n > sizeof ev / sizeof ev[0])
				abort();
			for (i = 0; i < n; i++)
				check_event(&ev[i]);
		}
		break;
	default:
		if (data[0] & 32) {
			check_op_answer(data[0], buf);
			break;
		}
		memset(&res, 0, sizeof res);
		vault_adyen_map_payment((data[0] & 8) ? 200 : 422, buf, (data[0] & 16) != 0, &res);
		if ((unsigned)res.status > (unsigned)VAULT_AUTH_UNKNOWN ||
		    memchr(res.failure_code, '\0', sizeof res.failure_code) == NULL ||
		    memchr(res.psp_reference, '\0', sizeof res.psp_reference) == NULL ||
		    memchr(res.redirect_url, '\0', sizeof res.redirect_url) == NULL)
			abort();
		break;
	}
	free(buf);
	return 0;
}
