/*
 * stripe_webhook: verification and parsing of Stripe webhook deliveries
 * (https://docs.stripe.com/webhooks#verify-manually), the stripe
 * connector's webhook_account / webhook_events hooks (vault/connectors/connector.h).
 *
 *   Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=...]
 *   v1 = hex(HMAC-SHA256(key = endpoint secret as bytes, "<t>.<raw body>"))
 *
 * Any v1 that matches (constant-time compare) verifies the delivery (Stripe
 * sends several while a secret is being rolled); v0 and unknown schemes are
 * ignored. The timestamp must be within the 300 s tolerance Stripe's own
 * libraries use (DEFAULT_TOLERANCE), checked after the signature so a
 * forged delivery is always "bad signature". We also refuse timestamps more
 * than the tolerance in the future (Stripe's libraries only check the past).
 *
 * Nothing in the body is trusted or parsed for effects before the signature
 * verified; the account and payment hooks only read the "account" member
 * and the payment intent to choose the secret (ADR 0107). Errors never contain body bytes or secrets.
 */
#include "vault/connectors/stripe/stripe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "common/sr_util.h"

#define SIG_HEADER_MAX 2048
#define MAX_V1         8

/* Copy an identifier of [A-Za-z0-9_.-] shorter than cap; else leave "". */
static void copy_ident(char *dst, size_t cap, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;
	size_t i;

	dst[0] = '\0';
	if (n == 0 || n >= cap)
		return;
	for (i = 0; i < n; i++) {
		char c = src[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return;
	}
	memcpy(dst, src, n + 1);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int vault_stripe_webhook_verify(const char *secret, const char *header, const char *body,
                                size_t len, long long now, long long tolerance,
                                char *err, size_t errlen)
{
	uint8_t v1[MAX_V1][32];
	uint8_t mac[32];
	char tbuf[24];
	crypto_auth_hmacsha256_state st;
	const char *p = NULL;
	const char *end = NULL;
	long long t = -1;
	size_t nv1 = 0;
	size_t hlen = 0;
	size_t i = 0;
	int matched = 0;
	int ret = -1;

	if (secret == NULL || secret[0] == '\0') {
		vault_connector_seterr(err, errlen, "no webhook secret configured");
		return -1;
	}
	if (header == NULL || body == NULL) {
		vault_connector_seterr(err, errlen, "Stripe-Signature header missing");
		return -1;
	}
	hlen = strnlen(header, SIG_HEADER_MAX + 1);
	if (hlen == 0 || hlen > SIG_HEADER_MAX) {
		vault_connector_seterr(err, errlen, "Stripe-Signature header malformed");
		return -1;
	}
	/* Items "k=v" separated by ','. */
	p = header;
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		const char *eq = NULL;
		size_t ilen = 0;

		end = comma != NULL ? comma : p + strlen(p);
		ilen = (size_t)(end - p);
		eq = memchr(p, '=', ilen);
		if (eq == NULL || eq == p) {
			vault_connector_seterr(err, errlen, "Stripe-Signature header malformed");
			goto out;
		}
		if (eq - p == 1 && p[0] == 't') {
			const char *d = eq + 1;

			if (t >= 0 || end - d < 1 || end - d > 12) {
				vault_connector_seterr(err, errlen, "Stripe-Signature header malformed");
				goto out;
			}
			t = 0;
			for (; d < end; d++) {
				if (*d < '0' || *d > '9') {
					vault_connector_seterr(err, errlen, "Stripe-Signature header malformed");
					goto out;
				}
				t = t * 10 + (*d - '0');
			}
		} else if (eq - p == 2 && p[0] == 'v' && p[1] == '1') {
			const char *d = eq + 1;

			/* A v1 that is not 64 hex digits can never match: skip it. */
			if (end - d == 64 && nv1 < MAX_V1) {
				int ok = 1;

				for (i = 0; i < 32; i++) {
					int hi = hexval(d[2 * i]);
					int lo = hexval(d[2 * i + 1]);

					if (hi < 0 || lo < 0) {
						ok = 0;
						break;
					}
					v1[nv1][i] = (uint8_t)(hi << 4 | lo);
				}
				if (ok)
					nv1++;
			}
		}
		/* Other schemes (v0, ...) are ignored, as Stripe's libraries do. */
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (t < 0 || nv1 == 0) {
		vault_connector_seterr(err, errlen,
		                       "Stripe-Signature header has no timestamp or no v1 signature");
		goto out;
	}
	snprintf(tbuf, sizeof tbuf, "%lld.", t);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)tbuf, strlen(tbuf));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	/* Constant-time compare against every v1 (no early exit on a match). */
	for (i = 0; i < nv1; i++)
		matched |= sr_ct_equal(mac, v1[i], sizeof mac);
	if (!matched) {
		vault_connector_seterr(err, errlen, "no v1 signature matches");
		goto out;
	}
	if (t < now - tolerance || t > now + tolerance) {
		vault_connector_seterr(err, errlen, "timestamp outside the %lld s tolerance", tolerance);
		ret = -2;
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(&st, sizeof st);
	sodium_memzero(mac, sizeof mac);
	return ret;
}

/* Normalized failure code of a Stripe last_payment_error (ADR 0095's table
 * follows the connector's: https://docs.stripe.com/declines/codes). */
static void map_failure(const json_t *error, char *out, size_t cap)
{
	static const char *const SAME[] = {
		"expired_card", "incorrect_cvc", "processing_error", "insufficient_funds",
		"incorrect_number", NULL
	};
	const char *code = json_string_value(json_object_get(error, "code"));
	const char *decline = json_string_value(json_object_get(error, "decline_code"));
	size_t i;

	snprintf(out, cap, "card_declined");
	if (decline != NULL && strcmp(decline, "insufficient_funds") == 0) {
		snprintf(out, cap, "insufficient_funds");
		return;
	}
	if (code != NULL && strcmp(code, "authentication_required") == 0) {
		snprintf(out, cap, "authentication_failed");
		return;
	}
	for (i = 0; code != NULL && SAME[i] != NULL; i++)
		if (strcmp(code, SAME[i]) == 0)
			snprintf(out, cap, "%s", SAME[i]);
}

static long long int_of(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_integer(v) && json_integer_value(v) >= 0 ? (long long)json_integer_value(v) : 0;
}

static void currency_of(const json_t *o, char out[4])
{
	const char *c = json_string_value(json_object_get(o, "currency"));
	size_t i;

	out[0] = '\0';
	if (c == NULL || strlen(c) != 3)
		return;
	for (i = 0; i < 3; i++) {
		if (c[i] < 'a' || c[i] > 'z')
			return;
		out[i] = c[i];
	}
	out[3] = '\0';
}

int vault_stripe_webhook_parse(const char *body, size_t len, struct vault_psp_event *ev)
{
	json_t *root = NULL;
	const json_t *obj = NULL;
	const json_t *refunds = NULL;
	const char *type = NULL;
	const char *s = NULL;
	int ret = -1;

	if (body == NULL || ev == NULL)
		return -1;
	memset(ev, 0, sizeof *ev);
	ev->kind = VAULT_EV_OTHER;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root))
		goto out;
	type = json_string_value(json_object_get(root, "type"));
	obj = json_object_get(json_object_get(root, "data"), "object");
	copy_ident(ev->event_id, sizeof ev->event_id, json_string_value(json_object_get(root, "id")));
	if (type == NULL || !json_is_object(obj) || strncmp(ev->event_id, "evt_", 4) != 0)
		goto out;
	ev->created = int_of(root, "created");
	currency_of(obj, ev->currency);
	if (strncmp(type, "payment_intent.", 15) == 0) {
		copy_ident(ev->psp_reference, sizeof ev->psp_reference,
		           json_string_value(json_object_get(obj, "id")));
		if (strcmp(type, "payment_intent.succeeded") == 0) {
			ev->kind = VAULT_EV_AUTHORIZATION_SUCCEEDED;
			ev->amount = int_of(obj, "amount_received");
		} else if (strcmp(type, "payment_intent.amount_capturable_updated") == 0) {
			ev->kind = VAULT_EV_AUTHORIZATION_SUCCEEDED;
			ev->amount = int_of(obj, "amount_capturable");
		} else if (strcmp(type, "payment_intent.payment_failed") == 0) {
			ev->kind = VAULT_EV_AUTHORIZATION_FAILED;
			ev->amount = int_of(obj, "amount");
			map_failure(json_object_get(obj, "last_payment_error"), ev->failure_code,
			            sizeof ev->failure_code);
		} else if (strcmp(type, "payment_intent.canceled") == 0) {
			ev->kind = VAULT_EV_CANCEL_SUCCEEDED;
		}
	} else if (strcmp(type, "charge.captured") == 0) {
		ev->kind = VAULT_EV_CAPTURE_SUCCEEDED;
		copy_ident(ev->psp_reference, sizeof ev->psp_reference,
		           json_string_value(json_object_get(obj, "payment_intent")));
		ev->amount = int_of(obj, "amount_captured");
	} else if (strcmp(type, "charge.refunded") == 0) {
		/* The charge; its newest refund (first in the list) is the one done. */
		ev->kind = VAULT_EV_REFUND_SUCCEEDED;
		copy_ident(ev->psp_reference, sizeof ev->psp_reference,
		           json_string_value(json_object_get(obj, "payment_intent")));
		refunds = json_array_get(json_object_get(json_object_get(obj, "refunds"), "data"), 0);
		if (json_is_object(refunds)) {
			copy_ident(ev->reference, sizeof ev->reference,
			           json_string_value(json_object_get(refunds, "id")));
			ev->amount = int_of(refunds, "amount");
		} else {
			ev->amount = int_of(obj, "amount_refunded");
		}
	} else if (strcmp(type, "refund.updated") == 0 || strcmp(type, "charge.refund.updated") == 0 ||
	           strcmp(type, "refund.failed") == 0) {
		copy_ident(ev->psp_reference, sizeof ev->psp_reference,
		           json_string_value(json_object_get(obj, "payment_intent")));
		copy_ident(ev->reference, sizeof ev->reference,
		           json_string_value(json_object_get(obj, "id")));
		ev->amount = int_of(obj, "amount");
		s = json_string_value(json_object_get(obj, "status"));
		if (s != NULL && strcmp(s, "succeeded") == 0) {
			ev->kind = VAULT_EV_REFUND_SUCCEEDED;
		} else if (s != NULL && (strcmp(s, "failed") == 0 || strcmp(s, "canceled") == 0)) {
			ev->kind = VAULT_EV_REFUND_FAILED;
			copy_ident(ev->failure_code, sizeof ev->failure_code,
			           json_string_value(json_object_get(obj, "failure_reason")));
			if (ev->failure_code[0] == '\0')
				snprintf(ev->failure_code, sizeof ev->failure_code, "refund_failed");
		}
	} else if (strcmp(type, "charge.dispute.created") == 0) {
		/* failure_code carries the dispute's reason (e.g. "fraudulent"). */
		ev->kind = VAULT_EV_DISPUTE_CREATED;
		copy_ident(ev->psp_reference, sizeof ev->psp_reference,
		           json_string_value(json_object_get(obj, "payment_intent")));
		copy_ident(ev->reference, sizeof ev->reference,
		           json_string_value(json_object_get(obj, "id")));
		copy_ident(ev->failure_code, sizeof ev->failure_code,
		           json_string_value(json_object_get(obj, "reason")));
		ev->amount = int_of(obj, "amount");
	}
	/* An event of interest must name its payment; else it is malformed. */
	if (ev->kind != VAULT_EV_OTHER && ev->psp_reference[0] == '\0')
		goto out;
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int vault_stripe_webhook_account(const struct vault_connector *self, const char *body, size_t len,
                                 char *account, size_t cap)
{
	json_t *root = NULL;
	const json_t *a = NULL;
	int ret = -1;

	(void)self;
	if (account == NULL || cap == 0 || body == NULL)
		return -1;
	account[0] = '\0';
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root) || !json_is_string(json_object_get(root, "type")))
		goto out;
	a = json_object_get(root, "account");
	if (a != NULL && !json_is_null(a)) {
		copy_ident(account, cap, json_string_value(a));
		if (account[0] == '\0')
			goto out;       /* not an account id: not Stripe's shape */
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int vault_stripe_webhook_payment(const struct vault_connector *self, const char *body, size_t len,
                                 char *ref, size_t cap)
{
	struct vault_psp_event ev;

	(void)self;
	if (ref == NULL || cap == 0)
		return -1;
	ref[0] = '\0';
	/* Read as vault_stripe_webhook_events will, once verified. */
	if (body != NULL && vault_stripe_webhook_parse(body, len, &ev) == 0)
		snprintf(ref, cap, "%s", ev.psp_reference);
	return 0;
}

int vault_stripe_webhook_events(const struct vault_connector *self, const char *secret,
                                const char *signature, const char *body, size_t len, long long now,
                                struct vault_psp_event *ev, size_t max, size_t *n,
                                char *err, size_t errlen)
{
	int rc;

	if (n != NULL)
		*n = 0;
	if (ev == NULL || max == 0 || n == NULL || body == NULL) {
		vault_connector_seterr(err, errlen, "stripe webhook: bad arguments");
		return -3;
	}
	if (secret == NULL)
		secret = vault_stripe_platform_webhook_secret(self);
	rc = vault_stripe_webhook_verify(secret, signature, body, len, now,
	                                 VAULT_STRIPE_WEBHOOK_TOLERANCE, err, errlen);
	if (rc != 0)
		return rc;
	if (vault_stripe_webhook_parse(body, len, &ev[0]) != 0) {
		vault_connector_seterr(err, errlen, "stripe webhook: not an event object");
		memset(&ev[0], 0, sizeof ev[0]);
		return -3;
	}
	*n = 1;                 /* Stripe delivers one event per request */
	return 0;
}
