/*
 * gw_payment: the payment model, its state machine (docs/architecture.md "Payment
 * machine") as a transition table, and the Stripe-like JSON rendering.
 * The gateway holds tokens and last4 only, never a PAN (invariant 1, docs/invariants.md).
 */
#ifndef GW_PAYMENT_H
#define GW_PAYMENT_H
#include <stdbool.h>
#include <jansson.h>

enum gw_status {
	GW_ST_PROCESSING = 0,
	GW_ST_REQUIRES_ACTION,
	GW_ST_AUTHORIZED,
	GW_ST_CAPTURED,
	GW_ST_PARTIALLY_REFUNDED,
	GW_ST_REFUNDED,
	GW_ST_VOIDED,
	GW_ST_FAILED,
	GW_ST_DISPUTED,
	GW_ST_UNKNOWN,
	GW_ST_CANCELED,              /* never sent: nothing reached the PSP (issue 16) */
	GW_ST__COUNT
};

/* The stored metadata's JSON text at most (ADR 0124): 50 pairs of a
 * 40-character key and a 500-character value fit in it as ASCII. */
#define GW_METADATA_JSON_MAX 32768

/* A payment row. Empty strings stand for SQL NULL. */
struct gw_payment {
	char id[72];                 /* "pay_..." */
	char merchant_id[72];        /* "mer_..." */
	long long amount;            /* minor units, > 0 */
	char currency[4];            /* ISO 4217 alpha, lowercase */
	enum gw_status status;
	char capture_method[16];     /* "automatic" | "manual" */
	char payment_method[72];     /* "tok_..." */
	char description[504];       /* optional, <= 500 bytes */
	char card_brand[32];
	char card_last4[5];
	long long amount_captured;
	long long amount_refunded;   /* succeeded refunds, <= amount_captured */
	char failure_code[64];
	char failure_message[256];
	char psp_reference[128];
	char connector[32];
	char route_reason[16];       /* country|region|override|default|failover, "" (issue 5) */
	char redirect_url[512];      /* 3-D Secure next_action URL while requires_action */
	int version;                 /* row version (optimistic concurrency) */
	long long created;           /* UNIX seconds */
	long long updated;
	char metadata[GW_METADATA_JSON_MAX + 1]; /* compact JSON object text; "" = {} (issue 19) */
	char statement_descriptor[24];        /* sent to the PSP; "" none (issue 19) */
	char statement_descriptor_suffix[24];
	char return_url[1025];       /* the merchant's, "" none (gw_return_url, issue 19 item 3) */
};

/** Status as its wire string ("processing", ...); "unknown" for out-of-range. Static. */
const char *gw_status_str(enum gw_status st);

/** Parse a wire status string. @return 0 and *out, or -1 when not a status. */
int gw_status_parse(const char *s, enum gw_status *out);

/**
 * Whether from -> to is a legal transition of the state machine (docs/architecture.md):
 * processing -> requires_action|authorized|captured|failed|unknown|canceled;
 * requires_action -> processing|failed; authorized -> captured|voided|unknown;
 * captured -> partially_refunded|refunded|disputed; partially_refunded ->
 * refunded|disputed; unknown -> the outcomes the PSP can report. failed,
 * voided, refunded, disputed, canceled are terminal (table in gw_payment.c).
 * A state never transitions to itself. Pure function, thread-safe.
 */
bool gw_payment_transition_allowed(enum gw_status from, enum gw_status to);

/**
 * Render p as the public payment object:
 * {"id","object":"payment","amount","currency","status","capture_method",
 *  "payment_method","description","card":{"brand","last4"}|null,"amount_captured",
 *  "amount_refunded","failure_code","failure_message","psp_reference","connector",
 *  "next_action":{"type":"redirect_to_url","redirect_to_url":{"url","return_url"}}|null
 *  (Stripe's shape; return_url null when the payment has none),
 *  "metadata":{...},"statement_descriptor","statement_descriptor_suffix",
 *  "created","livemode":false}. Empty strings render as null. @return new reference or NULL (OOM).
 */
json_t *gw_payment_to_json(const struct gw_payment *p);

/** Copy src into dst[dstlen] truncating, always NUL-terminated; NULL src -> "". */
void gw_strlcpy(char *dst, const char *src, size_t dstlen);

#endif
