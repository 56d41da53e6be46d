/*
 * adyen_internal: what the adyen connector's two files share (private to
 * vault/connectors/adyen/): adyen.c sends requests, adyen_webhook.c reads
 * notifications.
 */
#ifndef ADYEN_INTERNAL_H
#define ADYEN_INTERNAL_H
#include <stddef.h>

#include "vault/connectors/connector.h"

/* The connector's configuration (vault_connector.cfg). */
struct adyen_state {
	struct vault_psp_endpoint ep;
	char *merchant_account;
	char *hmac_key;         /* guarded memory, hex; NULL: none configured */
	size_t hmac_key_len;
	char *return_url;
};

/** Adyen's refusalReason text -> normalized failure code (card_declined when unknown). */
const char *adyen_refusal_by_reason(const char *reason);

/** The webhook_account hook (connector.h): the merchantAccountCode of item 0. */
int adyen_webhook_account(const struct vault_connector *self, const char *body, size_t len,
                          char *account, size_t cap);

/** The webhook_payment hook (connector.h): the payment item 0 names. */
int adyen_webhook_payment(const struct vault_connector *self, const char *body, size_t len,
                          char *ref, size_t cap);

/**
 * The webhook_events hook (connector.h): every item verified with its HMAC
 * signature under secret (hex), then mapped to events.
 */
int adyen_webhook_events(const struct vault_connector *self, const char *secret,
                         const char *signature, const char *body, size_t len, long long now,
                         struct vault_psp_event *ev, size_t max, size_t *n, char *err,
                         size_t errlen);

/**
 * The dispute hook (connector.h; adyen_dispute.c, ADR 0132): Adyen's
 * Disputes API v30 acceptDispute, or supplyDefenseDocument then
 * defendDispute when the evidence is submitted.
 */
int adyen_dispute(const struct vault_connector *self, struct vault_egress *eg,
                  const struct vault_dispute_request *req, struct vault_dispute_result *res,
                  char *err, size_t errlen);

#endif
