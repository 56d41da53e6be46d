/*
 * vault_app: the context vaultd passes to every handler as
 * sr_http_config.app (req->app), and the handlers' entry points
 * (one file per endpoint: vault/api/vault_*.c).
 */
#ifndef VAULT_APP_H
#define VAULT_APP_H
#include <stdbool.h>
#include <stddef.h>

#include "common/sr_http.h"

struct sr_db_pool;
struct hsm;
struct vault_egress;
struct vault_connector;
struct vault_ratelimit;
struct vault_pkcache;
struct vault_keys;
struct vault_routing;
struct vault_token_writer;

struct vault_app {
	struct sr_db_pool *db;                  /* vault database pool */
	struct hsm *hsm;                        /* PKCS#11 session pool */
	struct vault_keys *keys;                /* current key versions (ADR 0074) */
	struct vault_egress *egress;            /* mTLS egress to PSPs */
	const struct vault_connector *connector;/* the default PSP connector (stripe) */
	const struct vault_connector *connectors[4]; /* every configured connector, by name (issue 5) */
	size_t n_connectors;
	const char *gateway_peer;               /* identity required on the internal listener */
	long long cvc_ttl_seconds;              /* PCI DSS 3.3.1.2: CVC lifetime without authorization */
	struct vault_ratelimit *rl_ip;          /* public listener: per client address (may be NULL) */
	struct vault_ratelimit *rl_key;         /* public listener: per publishable key's merchant */
	struct vault_pkcache *pkcache;          /* publishable key hash -> merchant, 10 s (may be NULL) */
	struct vault_token_writer *tokens;      /* group commit of token inserts (ADR 0101) */
	/* issue 5 (routing, retries): */
	const struct vault_routing *routing;    /* country/region -> connector; NULL: app->connector */
	int psp_retry_max;                      /* retries of a request that provably did not reach the PSP */
	unsigned psp_retry_backoff_ms;          /* first retry's delay; doubled each time */
};

/**
 * The configured connector named name ("stripe", "adyen"), or NULL.
 * Borrowed from app; valid for the daemon's life.
 */
const struct vault_connector *vault_connector_find(const struct vault_app *app, const char *name);

/* Public listener (browser / merchant front end, pk_ auth). */
/** POST /v1/tokens: tokenize a card (201 token object). */
void vault_handle_tokens_create(struct sr_http_request *req);
/** OPTIONS /v1/tokens: CORS preflight for registered browser origins. */
void vault_handle_tokens_preflight(struct sr_http_request *req);
/** GET /v1/strongroom.js: the browser library (SRI-pinned, immutable). */
void vault_handle_strongroom_js(struct sr_http_request *req);
/** GET /v1/elements/card: the hosted card fields page (CSP frame-ancestors). */
void vault_handle_elements_card(struct sr_http_request *req);
/** GET /v1/elements/card.js, /v1/elements/card.css: the fields' assets. */
void vault_handle_elements_asset(struct sr_http_request *req);

/* Internal listener (mTLS, peer = gateway_peer only). */
/** GET /v1/tokens/{id} with Strongroom-Merchant: token metadata, never card data. */
void vault_handle_token_get(struct sr_http_request *req);
/** POST /v1/authorizations: decrypt in guarded memory, call the PSP connector. */
void vault_handle_authorize(struct sr_http_request *req);
/** POST /v1/payment_operations: capture / cancel / refund / retrieve a PSP payment (issue 4). */
void vault_handle_payment_ops(struct sr_http_request *req);
/** POST /v1/dispute_operations: evidence or acceptance of a dispute (vault_dispute_ops.c, ADR 0132). */
void vault_handle_dispute_ops(struct sr_http_request *req);
/** PUT /v1/routing with Strongroom-Merchant: set the merchant's region, primary and secondary connector. */
void vault_handle_routing_put(struct sr_http_request *req);
/** GET /v1/routing with Strongroom-Merchant: the merchant's routing and the connectors configured. */
void vault_handle_routing_get(struct sr_http_request *req);
/** PUT /v1/merchants/{id}: register a merchant's publishable key hash. */
void vault_handle_merchant_put(struct sr_http_request *req);
/** DELETE /v1/tokens/{id} with Strongroom-Merchant: delete a token and its ciphertext. */
void vault_handle_token_delete(struct sr_http_request *req);
/** POST /v1/cards: save a single-use token as a customer's reusable card_ token. */
void vault_handle_cards_create(struct sr_http_request *req);
/** GET /v1/cards/{id} with Strongroom-Merchant: a saved card's metadata. */
void vault_handle_card_get(struct sr_http_request *req);
/** DELETE /v1/cards/{id} with Strongroom-Merchant: delete a saved card and its ciphertext. */
void vault_handle_card_delete(struct sr_http_request *req);
/** GET /v1/customers/{customer}/cards with Strongroom-Merchant: a customer's saved cards. */
void vault_handle_customer_cards(struct sr_http_request *req);
/** DELETE /v1/customers/{customer} with Strongroom-Merchant: record the customer
 * as deleted and delete its saved cards with their ciphertext (ADR 0128). */
void vault_handle_customer_delete(struct sr_http_request *req);

/* PSP credentials and PSP webhooks (issue 5). */
/** PUT /v1/psp_credentials/{connector} with Strongroom-Merchant: store sealed under the HSM. */
void vault_handle_psp_credentials_put(struct sr_http_request *req);
/** GET /v1/psp_credentials with Strongroom-Merchant: connectors and last 4 characters only. */
void vault_handle_psp_credentials_list(struct sr_http_request *req);
/** DELETE /v1/psp_credentials/{connector} with Strongroom-Merchant. */
void vault_handle_psp_credentials_delete(struct sr_http_request *req);
/** POST /v1/psp_webhooks/{connector}: verify and parse a PSP delivery the gateway relays. */
void vault_handle_psp_webhook(struct sr_http_request *req);

struct vault_token_row;
/**
 * The merchant named by the Strongroom-Merchant header, checked for shape;
 * otherwise a 400 has been sent and NULL is returned.
 */
const char *vault_request_merchant(struct sr_http_request *req);
/**
 * The public JSON object of a token row: {"id","object" ("token"|"card"),
 * "customer"?, "card":{brand,last4,exp_month,exp_year,fingerprint},
 * "created", "expires_at"?, "used"? (tok_), "legacy_number"?}. Metadata
 * only, never card data. New reference or NULL.
 */
json_t *vault_token_json(const struct vault_token_row *row);

/**
 * Rate limit on the public listener: take one request from limiter rl for
 * key. When refused, 429 rate_limit_error rate_limited with Retry-After
 * (RFC 6585 section 4) has been sent, the refusal logged (what limited,
 * never the key itself), and 0 is returned; otherwise 1.
 * @param what "client_address" or "publishable_key" (for the log and the message).
 */
int vault_rate_admit(struct sr_http_request *req, struct vault_ratelimit *rl, const char *key,
                     const char *what);

/**
 * DELETE of req->params[0] (a tok_ id when card is false, a card_ id when
 * true) for the Strongroom-Merchant: the row and its ciphertext are gone
 * when 200 {"id","object","deleted":true} is sent; 404 for a missing or
 * foreign token (the latter logged as token.foreign_merchant).
 */
void vault_reply_delete(struct sr_http_request *req, bool card);

/**
 * Defence in depth on internal handlers (invariant 5, docs/invariants.md): true when the
 * request's verified peer identity equals app->gateway_peer; otherwise a 403
 * has been sent and the handler must return.
 */
int vault_require_gateway(struct sr_http_request *req);

#endif
