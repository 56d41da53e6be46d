/*
 * gw_vault_client: the gateway's client for the vault's internal listener
 * (invariant 5, docs/invariants.md: mutual TLS against the appliance CA). libcurl (OpenSSL
 * flavour); the vault's DNS name from vault_url is verified while connecting
 * to vault_addr (CURLOPT_RESOLVE). One CURL easy handle per call: thread-safe
 * after curl_global_init() (which the caller does before starting threads).
 * The gateway never sends or receives a PAN on this link: tokens, last4 only.
 */
#ifndef GW_VAULT_CLIENT_H
#define GW_VAULT_CLIENT_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct gw_vault_config {
	const char *url;          /* "https://vault-internal.strongroom.test:8445" */
	const char *addr;         /* IP to connect to, e.g. "127.0.0.1"; NULL: DNS */
	const char *ca_file;      /* appliance CA only (PEM) */
	const char *cert_file;    /* gateway-client certificate (PEM) */
	const char *key_file;     /* its private key (PEM) */
	long connect_timeout_ms;  /* 0: 5000 */
	long timeout_ms;          /* 0: 30000 */
};

struct gw_vault_client;

/** Outcome of a call. */
enum gw_vault_rc {
	GW_VAULT_OK = 0,          /* the vault answered 2xx; result filled */
	GW_VAULT_NOT_FOUND,       /* 404 resource_missing (absent or another merchant's) */
	GW_VAULT_NOT_SENT,        /* no connection/TLS session established: nothing reached the vault;
	                             or the vault answered 502 psp_unavailable (nothing reached the PSP) */
	GW_VAULT_LOST,            /* the request may have been processed, the answer was lost */
	GW_VAULT_REJECTED,        /* the vault answered another 4xx */
	GW_VAULT_ERROR,           /* the vault answered 5xx or an unparseable body */
};

/** Card metadata the vault may show the app zone (never more than last4). */
struct gw_vault_card {
	char brand[32];
	char last4[5];
	bool used;                   /* a single-use tok_ token already used (issue 3) */
};

struct gw_vault_auth_request {
	const char *merchant;        /* "mer_..." */
	const char *token;           /* "tok_..." */
	const char *payment_id;      /* "pay_..." */
	long long amount;            /* minor units */
	const char *currency;        /* lowercase ISO 4217 */
	int capture;                 /* 1: capture_method automatic */
	const char *idempotency_key; /* stable across retries (the payment id) */
	const char *statement_descriptor;        /* NULL or "": none (issue 19) */
	const char *statement_descriptor_suffix; /* NULL or "": none */
	const char *return_url;      /* NULL or "": none; where the PSP sends the browser after
	                              * 3-D Secure (gw_return_url_for_psp, issue 19 item 3) */
	const char *setup_future_usage; /* NULL or "": none; on_session|off_session (ADR 0133) */
	bool off_session;            /* merchant-initiated payment with a saved card */
};

struct gw_vault_auth_result {
	char status[32];             /* captured|authorized|requires_action|failed|unknown */
	char psp_reference[128];     /* "" when null */
	char failure_code[64];
	char failure_message[256];
	char redirect_url[512];
	char connector[32];
	char route_reason[16];       /* why this connector (issue 5), "" when the vault says none */
	struct gw_vault_card card;
};

/**
 * Create a client. Copies the configuration; checks that url is https:// with
 * a host and a port. @return client, or NULL with err filled.
 */
struct gw_vault_client *gw_vault_client_new(const struct gw_vault_config *cfg, char *err,
                                            size_t errlen);

void gw_vault_client_free(struct gw_vault_client *vc);

/** Human-readable name of rc for logs. Static. */
const char *gw_vault_rc_str(enum gw_vault_rc rc);

/**
 * PUT /v1/merchants/{id} {"publishable_key_sha256": pk_sha256} (upsert).
 * request_id may be NULL (sent as X-Request-Id when given).
 */
enum gw_vault_rc gw_vault_put_merchant(struct gw_vault_client *vc, const char *request_id,
                                       const char *merchant_id, const char *pk_sha256);

/**
 * GET /v1/tokens/{token} with Strongroom-Merchant: merchant (invariant 6, docs/invariants.md:
 * another merchant's token is GW_VAULT_NOT_FOUND). card may be NULL.
 */
enum gw_vault_rc gw_vault_get_token(struct gw_vault_client *vc, const char *request_id,
                                    const char *merchant, const char *token,
                                    struct gw_vault_card *card);

/**
 * One request to the vault's internal API, for endpoints the gateway only
 * relays (saved cards, issue 3): method and path as given, Strongroom-Merchant
 * set to merchant when non-NULL, body (borrowed) as JSON when non-NULL.
 * On GW_VAULT_OK, *status is the vault's HTTP status and *resp its JSON
 * (new reference, may be NULL); otherwise nothing was completed.
 */
enum gw_vault_rc gw_vault_request(struct gw_vault_client *vc, const char *request_id,
                                  const char *method, const char *path, const char *merchant,
                                  json_t *body, long *status, json_t **resp);

/**
 * POST /v1/authorizations. On GW_VAULT_OK, out is filled from the vault's
 * answer. GW_VAULT_NOT_SENT: nothing reached the PSP; safe to retry with the
 * same key, or to record the payment as never sent (canceled, not_sent). GW_VAULT_LOST / GW_VAULT_ERROR: the PSP may have acted;
 * the payment must become 'unknown', never a guess.
 */
enum gw_vault_rc gw_vault_authorize(struct gw_vault_client *vc, const char *request_id,
                                    const struct gw_vault_auth_request *rq,
                                    struct gw_vault_auth_result *out);

/**
 * PUT /v1/merchants/{id} {"publishable_key_sha256", "allowed_origins": origins}:
 * as gw_vault_put_merchant, and replace the merchant's registered browser
 * origins (issue 6: hosted fields' frame-ancestors, CORS on POST /v1/tokens).
 * origins is a borrowed JSON array of strings (the vault validates them:
 * GW_VAULT_REJECTED when one is malformed).
 */
enum gw_vault_rc gw_vault_put_merchant_origins(struct gw_vault_client *vc, const char *request_id,
                                               const char *merchant_id, const char *pk_sha256,
                                               json_t *origins);

/* Operations on an existing PSP payment (issue 4). */
struct gw_vault_op_result {
	char outcome[16];            /* "succeeded" | "refused" | "unknown" */
	long long amount;            /* captured / refunded amount reported by the PSP */
	char reference[128];         /* refund id at the PSP */
	char failure_code[64];       /* with "refused" */
	char status[32];             /* retrieve: the payment's normalized status at the PSP */
	char psp_failure_code[64];   /* retrieve: the decline code when status is failed */
	char redirect_url[512];      /* retrieve: 3-D Secure URL when requires_action */
	char mismatch[32];           /* with "unknown": the field of the PSP's answer that
	                              * contradicted the request (issue 15), or "" */
};

/**
 * POST /v1/payment_operations {"merchant","operation","psp_reference",
 * "amount","idempotency_key","reason"}: operation "capture" | "cancel" |
 * "refund" | "retrieve"; amount 0 = the whole; idempotency_key NULL for
 * retrieve; reason NULL or "" for none (cancel: duplicate, fraudulent,
 * requested_by_customer, abandoned, expired; refund: the first three), the
 * same on every retry of one key (the PSP compares the bodies).
 * GW_VAULT_OK: out filled (outcome may be "unknown": retry with the same key).
 * GW_VAULT_NOT_SENT: nothing reached the PSP. GW_VAULT_NOT_FOUND: not this
 * merchant's PSP payment. GW_VAULT_LOST / ERROR: may or may not have happened.
 */
enum gw_vault_rc gw_vault_operate(struct gw_vault_client *vc, const char *request_id,
                                  const char *merchant, const char *operation,
                                  const char *psp_reference, long long amount,
                                  const char *idempotency_key, const char *reason,
                                  struct gw_vault_op_result *out);

/**
 * POST /v1/psp_webhooks/{connector} (issue 5): relay a PSP's webhook body
 * (len bytes, verbatim: the signature covers them) and its signature header
 * value (NULL: none) as Strongroom-PSP-Signature. On GW_VAULT_OK, *status is
 * the vault's HTTP status and *resp its JSON (new reference or NULL):
 * 200 {"merchant","events":[...]} or a 4xx error; otherwise nothing completed.
 */
enum gw_vault_rc gw_vault_psp_webhook(struct gw_vault_client *vc, const char *request_id,
                                      const char *connector, const char *body, size_t len,
                                      const char *signature, long *status, json_t **resp);

#endif
