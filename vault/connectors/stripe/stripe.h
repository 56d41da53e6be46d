/*
 * stripe: the connector for Stripe's published API (form-encoded
 * POST /v1/payment_methods, then POST /v1/payment_intents with confirm=true
 * and an Idempotency-Key), spoken to pspsim in development.
 */
#ifndef VAULT_CONNECTOR_STRIPE_H
#define VAULT_CONNECTOR_STRIPE_H
#include <stddef.h>
#include "vault/connectors/connector.h"

struct stripe_config {
	const char *host;          /* DNS name in the PSP's certificate and the allowlist, e.g. "psp.strongroom.test" */
	const char *addr;          /* IP to connect to, or NULL to resolve host */
	unsigned port;             /* e.g. 8446 */
	const char *api_key;       /* the platform's secret key (borrowed; copied into guarded memory) */
	const char *webhook_secret; /* the platform's endpoint secret whsec_... (borrowed, copied) or NULL */
};

/** Fill *out (name "stripe", authorize, cfg). @return 0, or -1 with err. */
int vault_stripe_init(struct vault_connector *out, const struct stripe_config *cfg,
                      char *err, size_t errlen);
/** Wipe the key and free what vault_stripe_init allocated. */
void vault_stripe_free(struct vault_connector *c);

/**
 * Map one Stripe response (HTTP status + JSON body of POST /v1/payment_intents)
 * to a normalized result. Exposed for unit tests. @return 0, or -1 when the
 * body is not a Stripe answer (then res->status = VAULT_AUTH_UNKNOWN).
 */
int vault_stripe_map_intent(int http_status, const char *body, struct vault_auth_result *res);

/**
 * Check Stripe's HTTP 200 answer (body, JSON) to the capture, cancel or
 * refund req and fill res (issue 15: the answer is checked, not assumed).
 * https://docs.stripe.com/api/payment_intents/capture and /cancel answer the
 * PaymentIntent: "object" payment_intent, "id" req->psp_reference,
 * "currency" req->currency, "status" succeeded (capture; "amount_received"
 * req->amount, or > 0 when req->amount is 0) or canceled (cancel).
 * https://docs.stripe.com/api/refunds/create answers the Refund: "object"
 * refund, "payment_intent" req->psp_reference, "currency", "amount"
 * req->amount (> 0 when 0), "status" succeeded (pending, requires_action,
 * failed or canceled are not a confirmation), "id" an identifier. All hold:
 * VAULT_OP_SUCCEEDED with amount (and reference); the first that does not:
 * vault_op_result_mismatch with that field ("object", "id", "currency",
 * "status", "amount"). Exposed for unit tests. req and res non-NULL.
 */
void vault_stripe_check_op(const struct vault_op_request *req, const char *body,
                           struct vault_op_result *res);

/**
 * The merchant's reason (vault_op_reason_ok) in Stripe's words: cancel
 * "cancellation_reason" duplicate, fraudulent, requested_by_customer,
 * abandoned ("expired", the auto-void, is abandoned); refund "reason"
 * duplicate, fraudulent, requested_by_customer. NULL: none sent. Static.
 */
const char *vault_stripe_reason(enum vault_op_kind kind, const char *reason);

/* ---- webhooks from Stripe (issue 5; vault/connectors/stripe/stripe_webhook.c) ---- */

/** Stripe's signature tolerance, seconds (its libraries' DEFAULT_TOLERANCE). */
#define VAULT_STRIPE_WEBHOOK_TOLERANCE 300

/**
 * The platform's configured webhook endpoint secret (guarded memory, owned
 * by the connector), or NULL when none is configured.
 */
const char *vault_stripe_platform_webhook_secret(const struct vault_connector *c);

/**
 * Verify a Stripe-Signature header ("t=<unix>,v1=<hex>[,v1=...]") over body
 * with secret: HMAC-SHA256 of "<t>.<body>" compared in constant time with
 * every v1; then |now - t| <= tolerance seconds.
 * @return 0 verified; -1 bad signature or header (err filled); -2 stale.
 */
int vault_stripe_webhook_verify(const char *secret, const char *header, const char *body,
                                size_t len, long long now, long long tolerance,
                                char *err, size_t errlen);

/**
 * Parse a verified Stripe event into ev (payment_intent.succeeded /
 * amount_capturable_updated -> authorization.succeeded, payment_failed ->
 * authorization.failed, payment_intent.canceled -> cancel.succeeded,
 * charge.captured -> capture.succeeded, charge.refunded and refund.updated /
 * charge.refund.updated succeeded|failed -> refund.*, charge.dispute.created
 * -> dispute.created with failure_code = the dispute reason; others -> other).
 * @return 0, or -1 when the body is not an event (or names no payment).
 */
int vault_stripe_webhook_parse(const char *body, size_t len, struct vault_psp_event *ev);

/** The connector's webhook_account hook: the event's "account" or "". */
int vault_stripe_webhook_account(const struct vault_connector *self, const char *body, size_t len,
                                 char *account, size_t cap);

/** The connector's webhook_payment hook: the payment intent the event names, or "". */
int vault_stripe_webhook_payment(const struct vault_connector *self, const char *body, size_t len,
                                 char *ref, size_t cap);

/** The connector's webhook_events hook (vault/connectors/connector.h). */
int vault_stripe_webhook_events(const struct vault_connector *self, const char *secret,
                                const char *signature, const char *body, size_t len, long long now,
                                struct vault_psp_event *ev, size_t max, size_t *n,
                                char *err, size_t errlen);

#endif
