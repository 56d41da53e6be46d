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
};

enum vault_auth_status {
	VAULT_AUTH_CAPTURED,         /* authorized and captured */
	VAULT_AUTH_AUTHORIZED,       /* authorized, awaiting capture */
	VAULT_AUTH_REQUIRES_ACTION,  /* 3-D Secure: redirect_url set */
	VAULT_AUTH_FAILED,           /* declined or rejected: failure_code set */
	VAULT_AUTH_UNKNOWN,          /* request sent, answer lost: ask the PSP later */
};

struct vault_auth_result {
	enum vault_auth_status status;
	char psp_reference[128];     /* e.g. Stripe's "pi_..." */
	char failure_code[64];       /* normalized: card_declined, insufficient_funds,
	                              * expired_card, incorrect_cvc, processing_error */
	char failure_message[256];   /* safe to show; never contains card data */
	char redirect_url[512];      /* with VAULT_AUTH_REQUIRES_ACTION */
};

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
};

enum vault_op_outcome {
	VAULT_OP_SUCCEEDED,          /* the PSP did it (or, RETRIEVE: res->intent is filled) */
	VAULT_OP_REFUSED,            /* the PSP refused (state, amount): failure_code set, nothing done */
	VAULT_OP_UNKNOWN,            /* sent, answer lost: retry with the same key */
};

struct vault_op_result {
	enum vault_op_outcome outcome;
	long long amount;            /* captured / refunded amount reported by the PSP */
	char reference[128];         /* refund id ("re_...") for REFUND */
	char failure_code[64];       /* with REFUSED */
	struct vault_auth_result intent; /* RETRIEVE: the payment's status, mapped */
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
 * with operation, PSP reference, amount, outcome ("not_sent" when ret != 0)
 * and failure code. req NULL or of an unknown kind: nothing.
 */
void vault_connector_log_operate(const char *connector, const struct vault_op_request *req,
                                 const struct vault_op_result *res, int ret);

/** Status as the wire string: "captured", "authorized", "requires_action", "failed", "unknown". */
const char *vault_auth_status_str(enum vault_auth_status st);

#endif
