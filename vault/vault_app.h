/*
 * vault_app: the context vaultd passes to every handler as
 * sr_http_config.app (req->app), and the handlers' entry points
 * (one file per endpoint: vault/vault_h_*.c).
 */
#ifndef VAULT_APP_H
#define VAULT_APP_H
#include <stddef.h>

#include "common/sr_http.h"

struct sr_db_pool;
struct hsm;
struct vault_egress;
struct vault_connector;

struct vault_app {
	struct sr_db_pool *db;                  /* vault database pool */
	struct hsm *hsm;                        /* PKCS#11 session pool */
	struct vault_egress *egress;            /* mTLS egress to PSPs */
	const struct vault_connector *connector;/* the PSP connector (stripe) */
	const char *gateway_peer;               /* identity required on the internal listener */
	long long cvc_ttl_seconds;              /* PCI DSS 3.3.1.2: CVC lifetime without authorization */
};

/* Public listener (browser / merchant front end, pk_ auth). */
/** POST /v1/tokens: tokenize a card (201 token object). */
void vault_handle_tokens_create(struct sr_http_request *req);

/* Internal listener (mTLS, peer = gateway_peer only). */
/** GET /v1/tokens/{id} with Strongroom-Merchant: token metadata, never card data. */
void vault_handle_token_get(struct sr_http_request *req);
/** POST /v1/authorizations: decrypt in guarded memory, call the PSP connector. */
void vault_handle_authorize(struct sr_http_request *req);
/** POST /v1/payment_operations: capture / cancel / refund / retrieve a PSP payment (issue 4). */
void vault_handle_payment_ops(struct sr_http_request *req);
/** PUT /v1/merchants/{id}: register a merchant's publishable key hash. */
void vault_handle_merchant_put(struct sr_http_request *req);

/**
 * Defence in depth on internal handlers (BRIEF invariant 5): true when the
 * request's verified peer identity equals app->gateway_peer; otherwise a 403
 * has been sent and the handler must return.
 */
int vault_require_gateway(struct sr_http_request *req);

#endif
