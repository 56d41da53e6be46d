/*
 * adyen: the connector for Adyen's Checkout API v71 (JSON POST /v71/payments
 * with a paymentMethod of type "scheme", X-API-Key, Idempotency-Key;
 * modifications POST /v71/payments/{pspReference}/captures|cancels|refunds;
 * HMAC-SHA256-signed notification items), spoken to pspsim in development.
 * ADR 0090 records how the card fields are kept out of the ordinary heap and
 * which status lookup stands in for Adyen's notification-driven status.
 */
#ifndef VAULT_CONNECTOR_ADYEN_H
#define VAULT_CONNECTOR_ADYEN_H
#include <stddef.h>
#include "vault/connectors/connector.h"

struct json_t;

struct adyen_config {
	const char *host;             /* DNS name in the PSP's certificate and the allowlist */
	const char *addr;             /* IP to connect to, or NULL to resolve host */
	unsigned port;                /* e.g. 443 (checkout-test.adyen.com), pspsim's port in dev */
	const char *api_key;          /* X-API-Key (borrowed; copied into guarded memory) */
	const char *merchant_account; /* the platform's merchantAccount */
	const char *hmac_key;         /* notification HMAC key, hex (borrowed, copied); NULL: none */
	const char *return_url;       /* returnUrl sent with /payments (3-D Secure); NULL: default */
};

/** Fill *out (name "adyen", authorize, operate, webhook hooks). @return 0, or -1 with err. */
int vault_adyen_init(struct vault_connector *out, const struct adyen_config *cfg,
                     char *err, size_t errlen);
/** Wipe the keys and free what vault_adyen_init allocated. */
void vault_adyen_free(struct vault_connector *c);

/**
 * Map one answer of POST /v71/payments (HTTP status + JSON body) to a
 * normalized result, through the refusal-code table (Adyen's
 * refusalReasonCode, https://docs.adyen.com/development-resources/refusal-reasons).
 * capture: whether the request asked for immediate capture (Authorised then
 * means captured). Exposed for unit tests.
 * @return 0 when res is filled; -1 when the body is not an Adyen answer
 *         (res->status = VAULT_AUTH_UNKNOWN); -2 when the answer is a
 *         documented "not processed" refusal (HTTP 401/403: credentials;
 *         503: unavailable) — nothing was authorized, safe to retry or fail over.
 */
int vault_adyen_map_payment(int http_status, const char *body, int capture,
                            struct vault_auth_result *res);

/**
 * Normalized code for an Adyen refusalReasonCode ("2", "12", ...): one of
 * card_declined, insufficient_funds, expired_card, incorrect_cvc,
 * processing_error, incorrect_number. Unknown codes are card_declined.
 * Static string.
 */
const char *vault_adyen_refusal_code(const char *refusal_reason_code);

/**
 * Check Adyen's 200/201 answer (body, JSON) to the capture, cancel or refund
 * req and fill res (issue 15). Adyen accepts a modification asynchronously
 * (https://docs.adyen.com/online-payments/modify-payments): the answer must
 * be "status" received, "paymentPspReference" req->psp_reference, and for
 * captures and refunds echo "amount" {"value": req->amount, "currency":
 * req->currency in upper case}; "pspReference" (the modification's) an
 * identifier. All hold: VAULT_OP_SUCCEEDED (accepted; the final result is
 * the CAPTURE / CANCELLATION / REFUND notification), with amount and, for a
 * refund, reference; the first that does not: vault_op_result_mismatch with
 * that field ("status", "id", "amount", "currency"). cur is req->currency
 * in upper case ("" for a cancel). Exposed for unit tests.
 */
void vault_adyen_check_op(const struct vault_op_request *req, const char *cur, const char *body,
                          struct vault_op_result *res);

/**
 * The merchant's refund reason (vault_op_reason_ok) as Adyen's
 * merchantRefundReason: duplicate DUPLICATE, fraudulent FRAUD,
 * requested_by_customer "CUSTOMER REQUEST". NULL for none and for every
 * cancel: Adyen's /cancels take no reason (ADR 0108). Static.
 */
const char *vault_adyen_reason(enum vault_op_kind kind, const char *reason);

/**
 * Adyen's notification HMAC (https://docs.adyen.com/development-resources/
 * webhooks/verify-hmac-signatures): base64 of HMAC-SHA256 under the
 * hex-decoded key over "pspReference:originalReference:merchantAccountCode:
 * merchantReference:value:currency:eventCode:success" of one
 * NotificationRequestItem (a JSON object). out gets the base64 text.
 * @return 0, or -1 (bad key, missing fields, out too small).
 */
int vault_adyen_item_hmac(const char *hex_key, const struct json_t *item, char *out, size_t cap);

#endif
