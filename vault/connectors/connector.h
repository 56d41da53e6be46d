/*
 * connector: the interface every PSP connector in vault/connectors/ offers.
 * A connector is the only code that ever writes a PAN onto a network, and it
 * does so only through vault_egress (mbedTLS, mutual TLS, allowlisted peer,
 * appliance CA pinned).
 */
#ifndef VAULT_CONNECTOR_H
#define VAULT_CONNECTOR_H
#include <stdbool.h>
#include <stddef.h>

struct vault_egress;
struct vault_egress_response;

/* Card data for one PSP call. pan and cvc point into libsodium guarded
 * memory owned by the caller, who wipes it after the call returns. */
struct vault_card {
	const char *pan;        /* digits only, NUL-terminated */
	size_t pan_len;
	int exp_month;          /* 1..12 */
	int exp_year;           /* four digits */
	const char *cvc;        /* NULL when no CVC is held (any more) */
};

/*
 * A merchant's own credentials at one PSP (issue 5), decrypted for the length
 * of one call into libsodium guarded memory owned by the caller, who wipes it
 * after the call. Any member may be NULL: the connector then uses its own
 * configured (platform) value. Never logged, never returned.
 */
struct vault_psp_credentials {
	const char *api_key;          /* Stripe secret key; Adyen X-API-Key */
	const char *merchant_account; /* Adyen merchantAccount; Stripe account id (acct_...) */
	const char *webhook_secret;   /* Stripe endpoint secret (whsec_...); Adyen HMAC key (hex) */
};

struct vault_auth_request {
	const char *merchant_id;     /* "mer_..." */
	const char *payment_id;      /* gateway's "pay_..." (PSP metadata) */
	const char *token;           /* "tok_..." (PSP metadata, never the PAN) */
	long long amount;            /* minor units, > 0 */
	const char *currency;        /* ISO 4217, lowercase */
	bool capture;                /* true: capture_method automatic */
	const char *idempotency_key; /* PSP-side idempotency key, stable across retries */
	const struct vault_card *card;
	const char *request_id;      /* for logs / X-Request-Id toward the PSP */
	const struct vault_psp_credentials *creds; /* NULL: the connector's configured account */
	const char *country;         /* issuing country of the card (ISO 3166-1 alpha-2) or NULL */
	/* What the cardholder's statement shows (issue 19), NULL when none;
	 * checked by sr_statement_descriptor_ok. Stripe: statement_descriptor
	 * and statement_descriptor_suffix; Adyen: shopperStatement (the
	 * descriptor, else the suffix). */
	const char *statement_descriptor;
	const char *statement_descriptor_suffix;
	/* Where the PSP sends the cardholder's browser after 3-D Secure (issue
	 * 19 item 3), NULL: the connector's default. Stripe: return_url; Adyen:
	 * returnUrl. */
	const char *return_url;
	/* Stored credentials (issue 19 item 7, ADR 0133). setup_future_usage:
	 * NULL, "on_session" or "off_session": this customer-initiated payment
	 * sets the card up for later ones (Stripe: setup_future_usage; Adyen:
	 * recurringProcessingModel CardOnFile / UnscheduledCardOnFile with
	 * shopperInteraction Ecommerce). off_session: a merchant-initiated
	 * payment with a saved card (Stripe: off_session=true; Adyen:
	 * shopperInteraction ContAuth, recurringProcessingModel
	 * UnscheduledCardOnFile): a connector never sends a CVC with it, even
	 * when card->cvc is set (PCI DSS v4.0 3.3.1.2, invariant 4).
	 * network_tx_id: with off_session, the scheme's transaction id the
	 * first customer-initiated payment returned (Adyen:
	 * additionalData.networkTxReference), NULL when none is kept. */
	const char *setup_future_usage;
	bool off_session;
	const char *network_tx_id;
};

/* The longest network transaction id kept (Visa's is 15 characters,
 * Mastercard's trace id 13 to 15; Adyen passes them through). */
#define VAULT_NETWORK_TX_ID_MAX 63

enum vault_auth_status {
	VAULT_AUTH_CAPTURED,         /* authorized and captured */
	VAULT_AUTH_AUTHORIZED,       /* authorized, awaiting capture */
	VAULT_AUTH_REQUIRES_ACTION,  /* 3-D Secure: redirect_url set */
	VAULT_AUTH_FAILED,           /* declined or rejected: failure_code set */
	VAULT_AUTH_UNKNOWN,          /* request sent, answer lost: ask the PSP later */
	VAULT_AUTH_VOIDED,           /* RETRIEVE only: the authorization was canceled (issue 15) */
};

struct vault_auth_result {
	enum vault_auth_status status;
	char psp_reference[128];     /* e.g. Stripe's "pi_..." */
	char failure_code[64];       /* normalized: card_declined, insufficient_funds,
	                              * expired_card, incorrect_cvc, processing_error */
	char failure_message[256];   /* safe to show; never contains card data */
	char redirect_url[512];      /* with VAULT_AUTH_REQUIRES_ACTION */
	char network_tx_id[VAULT_NETWORK_TX_ID_MAX + 1]; /* the scheme's transaction id of an
	                              * authorized payment when the PSP returned one (Adyen
	                              * additionalData.networkTxReference, vault_network_tx_id_ok), or "" */
};

/**
 * Whether s is a network transaction id the vault keeps and forwards: 1 to
 * VAULT_NETWORK_TX_ID_MAX characters of [A-Za-z0-9_-] (the schemes' ids are
 * alphanumeric: Visa's 15 digits, Mastercard's trace id letters and digits).
 * Not cardholder data (PCI DSS v4.0 glossary), but kept in the vault only
 * and never logged (ADR 0133). NULL: false.
 */
bool vault_network_tx_id_ok(const char *s);

/* Operations on an existing PSP payment (issue 4): no card data involved. */
enum vault_op_kind {
	VAULT_OP_CAPTURE,            /* capture amount (0: all) of an authorized payment */
	VAULT_OP_CANCEL,             /* void an authorization */
	VAULT_OP_REFUND,             /* refund amount (0: what is left) of a captured payment */
	VAULT_OP_RETRIEVE,           /* read the payment's current status (3-D Secure, reconciliation) */
};

struct vault_op_request {
	enum vault_op_kind kind;
	const char *psp_reference;   /* the PSP's payment id (Stripe "pi_...") */
	long long amount;            /* minor units; 0: the whole (capture/refund) */
	const char *idempotency_key; /* PSP-side key, stable across retries (not for RETRIEVE) */
	const char *request_id;
	const struct vault_psp_credentials *creds; /* NULL: the connector's configured account */
	const char *currency;        /* ISO 4217 lowercase; needed by PSPs whose modifications carry it (Adyen) */
	const char *reason;          /* CANCEL/REFUND: the merchant's reason in Strongroom's words
	                              * (vault_op_reason_ok), mapped by each connector to its PSP's
	                              * vocabulary; NULL: none */
};

/**
 * Whether reason is one Strongroom forwards for kind: REFUND duplicate,
 * fraudulent, requested_by_customer; CANCEL those, abandoned and expired
 * (the auto-void). NULL (no reason) is fine for both; any reason for
 * CAPTURE or RETRIEVE is not. Mapping per PSP: ADR 0108.
 */
bool vault_op_reason_ok(enum vault_op_kind kind, const char *reason);

enum vault_op_outcome {
	VAULT_OP_SUCCEEDED,          /* the PSP did it (or, RETRIEVE: res->intent is filled) */
	VAULT_OP_REFUSED,            /* the PSP refused (state, amount): failure_code set, nothing done */
	VAULT_OP_UNKNOWN,            /* sent, answer lost, or answered without confirming what was
	                              * asked (mismatch set): ask the PSP again, never assume */
};

struct vault_op_result {
	enum vault_op_outcome outcome;
	long long amount;            /* captured / refunded amount reported by the PSP */
	char reference[128];         /* refund id ("re_...") for REFUND */
	char failure_code[64];       /* with REFUSED */
	struct vault_auth_result intent; /* RETRIEVE: the payment's status, mapped */
	char mismatch[32];           /* with UNKNOWN: the answer's field that contradicted the
	                              * request ("object", "id", "currency", "status", "amount"), or "" */
};

/**
 * The PSP answered a modification with a success status whose body does not
 * confirm it (issue 15): res becomes VAULT_OP_UNKNOWN with mismatch = field
 * (a fixed word, never a value from the answer) and amount and reference
 * emptied, so nothing from the contradicting answer is taken.
 */
void vault_op_result_mismatch(struct vault_op_result *res, const char *field);

/* Disputes (issue 19 item 6, ADR 0132): the merchant's answer to a
 * chargeback. No card data is involved: the evidence is text the gateway
 * screened for card numbers. */
enum vault_dispute_op {
	VAULT_DISPUTE_EVIDENCE,      /* send evidence; submit it when req->submit */
	VAULT_DISPUTE_ACCEPT,        /* concede the dispute */
};

struct vault_dispute_request {
	enum vault_dispute_op op;
	const char *psp_reference;   /* the disputed payment at the PSP */
	const char *dispute;         /* the PSP's dispute id (Stripe "du_...", Adyen the
	                              * chargeback's pspReference); vault_psp_ident_copy's shape */
	const char *const *evidence_keys;   /* Stripe's evidence field names, n_evidence of them */
	const char *const *evidence_values; /* their text */
	size_t n_evidence;
	bool submit;                 /* EVIDENCE: submit it (Stripe submit=true; Adyen defends) */
	const char *idempotency_key; /* PSP-side key, stable across this call's retries */
	const char *request_id;
	const struct vault_psp_credentials *creds; /* NULL: the connector's configured account */
};

struct vault_dispute_result {
	enum vault_op_outcome outcome; /* SUCCEEDED, REFUSED (failure_code) or UNKNOWN */
	char failure_code[64];
	bool sent;                   /* false: nothing needed sending (Adyen keeps no draft) */
};

/* Webhooks from PSPs (issue 5): what a verified notification means, normalized. */
enum vault_psp_event_kind {
	VAULT_EV_AUTHORIZATION_SUCCEEDED, /* async authorization result (3-D Secure done) */
	VAULT_EV_AUTHORIZATION_FAILED,    /* failure_code set */
	VAULT_EV_CAPTURE_SUCCEEDED,
	VAULT_EV_CAPTURE_FAILED,
	VAULT_EV_CANCEL_SUCCEEDED,
	VAULT_EV_REFUND_SUCCEEDED,        /* reference = refund id */
	VAULT_EV_REFUND_FAILED,
	VAULT_EV_DISPUTE_CREATED,         /* reference = dispute id (chargeback) */
	VAULT_EV_OTHER,                   /* verified but of no interest: acknowledged, no effect */
};

struct vault_psp_event {
	char event_id[128];          /* unique per PSP: Stripe "evt_..."; Adyen: derived from the item
	                              * (eventCode:pspReference:success), stable across redeliveries */
	enum vault_psp_event_kind kind;
	char psp_reference[128];     /* the payment at the PSP (Stripe "pi_...", Adyen pspReference
	                              * of the payment, i.e. originalReference for modifications) */
	char reference[128];         /* refund / dispute id, or "" */
	long long amount;            /* minor units, or 0 when absent */
	char currency[4];            /* ISO 4217 lowercase, or "" */
	char failure_code[64];       /* normalized, with *_FAILED */
	long long created;           /* unix seconds, per the PSP */
};

struct vault_connector {
	const char *name;            /* "stripe" */
	/**
	 * Authorize (and capture when req->capture) at the PSP.
	 * @return 0 when res is filled (any status, including FAILED/UNKNOWN);
	 *         -1 when nothing was sent (connection refused, TLS failure before
	 *         the request was written, bad configuration), with err filled.
	 */
	int (*authorize)(const struct vault_connector *self, struct vault_egress *eg,
	                 const struct vault_auth_request *req, struct vault_auth_result *res,
	                 char *err, size_t errlen);
	void *cfg;                   /* connector's own configuration */
	/**
	 * Capture, cancel, refund or retrieve an existing PSP payment (issue 4).
	 * @return 0 when res is filled (any outcome); -1 when nothing was sent,
	 *         with err filled. May be NULL for a connector without them.
	 */
	int (*operate)(const struct vault_connector *self, struct vault_egress *eg,
	               const struct vault_op_request *req, struct vault_op_result *res,
	               char *err, size_t errlen);
	/**
	 * From an UNVERIFIED webhook body: the PSP account it claims to be for
	 * (Stripe "account", Adyen merchantAccountCode), so the vault can find
	 * whose webhook secret verifies it. Nothing in the body is trusted yet.
	 * @return 0 with account filled ("" when the body names none), -1 when
	 *         the body is not this PSP's webhook shape. May be NULL.
	 */
	int (*webhook_account)(const struct vault_connector *self, const char *body, size_t len,
	                       char *account, size_t cap);
	/**
	 * Verify and parse one webhook delivery. secret is the merchant's webhook
	 * secret (or the connector's configured one when NULL); signature is the
	 * PSP's signature header (Stripe "Stripe-Signature"; NULL for Adyen, whose
	 * HMAC is inside each notification item); now is unix seconds (Stripe's
	 * 300 s tolerance). Up to max events are written to ev, *n set.
	 * @return 0 when every event verified; -1 bad signature (nothing parsed
	 *         may be used), -2 stale timestamp, -3 malformed body; err filled.
	 *         May be NULL.
	 */
	int (*webhook_events)(const struct vault_connector *self, const char *secret,
	                      const char *signature, const char *body, size_t len, long long now,
	                      struct vault_psp_event *ev, size_t max, size_t *n,
	                      char *err, size_t errlen);
	/**
	 * From an UNVERIFIED webhook body: the PSP reference of the payment its
	 * (first) event names, read as webhook_events would (Stripe: the
	 * payment intent; Adyen: originalReference, else pspReference), so the
	 * vault verifies it with the secret of that payment's merchant account
	 * (issue 15, ADR 0107). Nothing in the body is trusted yet.
	 * @return 0 with ref filled ("" when the body names none). May be NULL.
	 */
	int (*webhook_payment)(const struct vault_connector *self, const char *body, size_t len,
	                       char *ref, size_t cap);
	/**
	 * Prove with one read-only call to the PSP, authenticated by
	 * creds->api_key (required), that the PSP accepts the key and that it may
	 * act for creds->merchant_account (issue 15, ADR 0107). Stripe: GET
	 * /v1/account (https://docs.stripe.com/api/accounts/retrieve), whose
	 * "id" must equal the account when one is given. Adyen: POST
	 * /v71/paymentMethods {"merchantAccount"} (Checkout API v71), 403 when
	 * the key's user may not act for that account. Nothing is created at the
	 * PSP; the key is sent only to the connector's allowlisted host.
	 * @return 0 proven; 1 refused (the key is not accepted, or not for that
	 *         account); 2 this PSP needs creds->merchant_account; -1 the PSP
	 *         could not be asked or answered unexpectedly (err, never a
	 *         value). May be NULL: the connector takes no merchant credentials.
	 */
	int (*prove_credentials)(const struct vault_connector *self, struct vault_egress *eg,
	                         const struct vault_psp_credentials *creds, char *err, size_t errlen);
	/**
	 * Ask the PSP, authenticated by creds->api_key (already proven for
	 * creds->merchant_account, both required), to send a test notification
	 * for that account, and return the notification the PSP reports it
	 * sent, signed with the webhook secret the PSP holds for the account
	 * (issue 15, ADR 0107). Adyen: Management API v3 "Test webhook"
	 * (https://docs.adyen.com/api-explorer/Management/3/post/merchants/
	 * (merchantId)/webhooks/(webhookId)/test), data[0].requestSent.
	 * *body is malloc'd (caller frees), *len its length.
	 * @return 0 with *body; 1 the PSP sent none (refused, or no webhook for
	 *         the account); -1 the PSP could not be asked (err, never a
	 *         value). May be NULL: the PSP offers no such call (Stripe).
	 */
	int (*test_webhook)(const struct vault_connector *self, struct vault_egress *eg,
	                    const struct vault_psp_credentials *creds, char **body, size_t *len,
	                    char *err, size_t errlen);
	/**
	 * The platform's own account at this PSP, from the vault's configuration
	 * (Adyen: psp_adyen_merchant_account), or NULL when none is configured.
	 * Reserved: no merchant may register it (ADR 0107). May be NULL.
	 */
	const char *(*platform_account)(const struct vault_connector *self);
	/**
	 * Answer a dispute (issue 19 item 6, ADR 0132). Stripe: POST
	 * /v1/disputes/{id} with evidence[...] and submit
	 * (https://docs.stripe.com/api/disputes/update), POST
	 * /v1/disputes/{id}/close (https://docs.stripe.com/api/disputes/close).
	 * Adyen Disputes API v30: supplyDefenseDocument then defendDispute when
	 * submitted (nothing is sent before), acceptDispute
	 * (https://docs.adyen.com/risk-management/disputes-api).
	 * @return 0 when res is filled (any outcome); -1 when nothing was sent,
	 *         with err filled. May be NULL: the PSP answers no disputes here.
	 */
	int (*dispute)(const struct vault_connector *self, struct vault_egress *eg,
	               const struct vault_dispute_request *req, struct vault_dispute_result *res,
	               char *err, size_t errlen);
};

/** Kind as the wire string: "authorization.succeeded", ..., "dispute.created", "other". */
const char *vault_psp_event_kind_str(enum vault_psp_event_kind k);

/**
 * Mark res failed with a normalized failure code (card_declined,
 * insufficient_funds, expired_card, incorrect_cvc, processing_error,
 * incorrect_number, invalid_expiry_month, invalid_expiry_year,
 * invalid_request) and that code's fixed, safe message: never the PSP's own
 * text, which could echo submitted data. An unknown code becomes
 * card_declined (fail safe).
 */
void vault_auth_result_fail(struct vault_auth_result *res, const char *code);

/** Zero res with status VAULT_AUTH_UNKNOWN (nothing known yet). */
void vault_auth_result_reset(struct vault_auth_result *res);

/**
 * Copy a PSP identifier ("pi_...", an Adyen pspReference) into dst (cap
 * bytes) when it is non-empty, shorter than cap and only [A-Za-z0-9_-].
 * @return 0, or -1 (dst untouched).
 */
int vault_psp_ident_copy(char *dst, size_t cap, const char *src);

/** Milliseconds on the monotonic clock (CLOCK_MONOTONIC): for durations. */
long long vault_connector_now_ms(void);

/**
 * The closing log lines of a connector's authorize call: "connector.psp_error"
 * (WARN) when stage_err is non-empty, then "connector.authorize" with token,
 * last4 (may be NULL), status ("not_sent" unless ret == 0 and sent), failure
 * code, PSP reference, duration since t0_ms and, when ret != 0, err.
 * Never card data: the caller passes last4 only. req or res NULL: nothing.
 */
void vault_connector_log_authorize(const char *connector, const struct vault_auth_request *req,
                                   const struct vault_auth_result *res, const char *last4,
                                   int ret, bool sent, long long t0_ms, const char *err,
                                   const char *stage_err);

/** The operation as a word: "capture", "cancel", "refund", "retrieve" ("unknown" otherwise). */
const char *vault_op_kind_str(enum vault_op_kind k);

/**
 * The closing log line of a connector's operate call: "connector.operate"
 * with operation, PSP reference, amount, outcome ("not_sent" when ret != 0),
 * failure code and, for an answer that contradicted the request, the
 * mismatched field's name (WARN). req NULL or of an unknown kind: nothing.
 */
void vault_connector_log_operate(const char *connector, const struct vault_op_request *req,
                                 const struct vault_op_result *res, int ret);

/** Status as the wire string: "captured", "authorized", "requires_action", "failed", "unknown",
 *  "voided". */
const char *vault_auth_status_str(enum vault_auth_status st);

/* ---- request/answer plumbing shared by the connectors' implementations ---- */

/** printf into err (errlen bytes) unless err is NULL. */
void vault_connector_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Where a PSP is reached, and the platform's API key for it. */
struct vault_psp_endpoint {
	char *host;             /* DNS name in the PSP's certificate and the allowlist */
	char *addr;             /* IP to connect to, or NULL to resolve host */
	unsigned port;
	char *api_key;          /* guarded memory (vault_psp_secret_dup), one line */
	size_t api_key_len;
};

/**
 * A copy of the platform secret value (NUL-terminated, borrowed) in guarded
 * memory (free with sr_secret_free, which wipes); *len_out its length (may be
 * NULL). The platform's secrets reach the connectors only this way, opened
 * from their sealed form by vaultd (ADR 0120; PCI DSS v4.0 8.6.3).
 * @return the copy, or NULL with err "<name>: <what> is missing, empty or
 * has more than one line" (never the value) or out of memory.
 */
char *vault_psp_secret_dup(const char *name, const char *what, const char *value,
                           size_t *len_out, char *err, size_t errlen);

/**
 * Copy host and addr (may be NULL) into ep, and the platform's API key
 * (api_key, borrowed; one line) into guarded memory (vault_psp_secret_dup).
 * name prefixes the messages. @return 0, or -1 with err filled; either way
 * ep is freed with vault_psp_endpoint_free.
 */
int vault_psp_endpoint_init(struct vault_psp_endpoint *ep, const char *name, const char *host,
                            const char *addr, unsigned port, const char *api_key,
                            char *err, size_t errlen);

/** Wipe the key and free what vault_psp_endpoint_init allocated (ep may be partly set). */
void vault_psp_endpoint_free(struct vault_psp_endpoint *ep);

/** The API key for one call: the merchant's own (issue 5) when creds holds one, else ep's. */
const char *vault_psp_api_key(const struct vault_psp_endpoint *ep,
                              const struct vault_psp_credentials *creds);

/** "<prefix><value>" in guarded memory (free with sr_secret_free, which wipes); NULL: no memory. */
char *vault_psp_secret_header(const char *prefix, const char *value);

/* The header lines of one request (line[], NULL-terminated) and the storage
 * of those built from the caller's values. */
struct vault_psp_headers {
	const char *line[7];
	char idem[320];         /* "Idempotency-Key: ..." */
	char rid[128];          /* "X-Request-Id: ..." */
};

/**
 * An authorization's headers, in this order: auth, "Idempotency-Key:
 * <idem_key><idem_suffix>" (suffix may be NULL), content_type, extra (unless
 * NULL), "X-Request-Id: <request_id>" (left out when NULL or unusable).
 * @return 0, or -1 when idem_key is NULL, holds CR/LF or is too long.
 */
int vault_psp_headers_authorize(struct vault_psp_headers *h, const char *auth, const char *idem_key,
                                const char *idem_suffix, const char *content_type,
                                const char *extra, const char *request_id);

/**
 * An operation's headers (issue 4), in this order: auth, extra (unless
 * NULL), "X-Request-Id" (as above), then unless req->kind is
 * VAULT_OP_RETRIEVE "Idempotency-Key: <req->idempotency_key>" and
 * content_type. @return 0, or -1 when that key holds CR/LF or is too long.
 */
int vault_psp_headers_operate(struct vault_psp_headers *h, const char *auth, const char *extra,
                              const struct vault_op_request *req, const char *content_type);

/**
 * vault_egress_request to ep: GET path when body is NULL, else POST body
 * (wiped by vault_egress once written). @return as vault_egress_request:
 * 0 with resp filled (caller frees resp->body), -1 not sent, -2 answer lost.
 */
int vault_psp_send(struct vault_egress *eg, const struct vault_psp_endpoint *ep, const char *path,
                   const struct vault_psp_headers *h, char *body, size_t body_len,
                   struct vault_egress_response *resp, char *err, size_t errlen);

/**
 * Whether req is well-formed for any PSP: a known kind, amount >= 0,
 * psp_reference an identifier (vault_psp_ident_copy) under 256 bytes, and an
 * idempotency key unless VAULT_OP_RETRIEVE, a reason vault_op_reason_ok
 * accepts. NULL: false.
 */
bool vault_op_request_ok(const struct vault_op_request *req);

/* One authorize call, for its closing log lines (vault_connector_log_authorize). */
struct vault_auth_call {
	const char *connector;  /* "stripe" */
	long long t0_ms;        /* vault_connector_now_ms() at the start */
	char last4[5];          /* "" until the card was checked (PCI DSS 3.4.1: may be shown) */
	char stage_err[256];    /* why res is UNKNOWN (connector.psp_error) */
	bool sent;              /* res holds what the PSP answered, or that the answer was lost */
};

/** Start an authorize call: call zeroed and timed, err emptied, res reset (NULL ok). */
void vault_auth_call_begin(struct vault_auth_call *call, const char *connector,
                           struct vault_auth_result *res, char *err, size_t errlen);

/**
 * After vault_psp_send returned rc: when the answer was lost (-2), res is
 * VAULT_AUTH_UNKNOWN, call->sent true and err (the transport's words) the
 * stage error. @return whether it was lost.
 */
bool vault_auth_call_lost(struct vault_auth_call *call, int rc, struct vault_auth_result *res,
                          const char *err);

/** End an authorize call: err emptied when ret == 0, then the closing log lines. */
void vault_auth_call_end(const struct vault_auth_call *call, const struct vault_auth_request *req,
                         const struct vault_auth_result *res, int ret, char *err, size_t errlen);

#endif
