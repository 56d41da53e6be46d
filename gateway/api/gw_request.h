/*
 * gw_request: validation of merchant API request bodies, before anything is
 * stored or hashed. Error replies never echo a submitted value (a rejected
 * field may hold a card number).
 */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "gateway/payments/gw_payment.h"

/* A client error: static strings only (nothing from the request). */
struct gw_error {
	unsigned status;        /* HTTP status, e.g. 400 */
	const char *type;       /* error type (README.md, APIs) */
	const char *code;
	const char *message;
	const char *param;      /* may be NULL; may point into param_buf */
	char param_buf[56];     /* storage for a param naming a request key ("metadata[order]") */
	char message_buf[112];  /* storage for a message naming it */
};

/* Stripe's metadata limits (https://docs.stripe.com/api/metadata): keys,
 * characters per key, characters per value (GW_METADATA_JSON_MAX, the bound
 * of the stored JSON text, is in gw_payment.h). */
#define GW_METADATA_KEYS_MAX 50
#define GW_METADATA_KEY_MAX 40
#define GW_METADATA_VALUE_MAX 500

/* A validated POST /v1/payments body (all strings copied). */
struct gw_payment_request {
	long long amount;               /* 1..99999999 minor units */
	char currency[4];               /* lowercase, in the allowlist */
	char payment_method[72];        /* "tok_" + 8..64 [A-Za-z0-9] */
	char capture_method[16];        /* "automatic" (default) | "manual" */
	char description[504];          /* "" when absent; <= 500 bytes */
	bool has_description;
	char metadata[GW_METADATA_JSON_MAX + 1]; /* compact JSON object text, "" when absent */
	char statement_descriptor[24];          /* "" when absent (sr_statement_descriptor_ok, 5..22) */
	char statement_descriptor_suffix[24];   /* "" when absent (1..22) */
	const char *return_url;         /* borrowed from body, NULL when absent; checked by
	                                 * gw_return_url_check (issue 19 item 3) */
	size_t return_url_len;
	char setup_future_usage[16];    /* "" | "on_session" | "off_session" (ADR 0133) */
	bool off_session;               /* merchant-initiated; card_ only */
};

#define GW_AMOUNT_MAX 99999999LL
#define GW_DESCRIPTION_MAX 500

/** Whether s is a vault token id: "tok_" + 8..64 chars of [A-Za-z0-9]. */
bool gw_token_shape_ok(const char *s);

/**
 * Validate a metadata parameter (Stripe's metadata: an object of string
 * values) into out as compact JSON object text. At most GW_METADATA_KEYS_MAX
 * keys of 1..GW_METADATA_KEY_MAX characters without '[' or ']', string
 * values of at most GW_METADATA_VALUE_MAX characters (Unicode code points);
 * a null or "" value leaves the key out, as Stripe's unset does. Every key
 * and value is screened for card numbers (common/sr_panscan.h, the check
 * common/sr_http_screen.c runs on the whole request): found, the error is
 * pan_not_allowed. Codes (400 invalid_request_error): parameter_invalid_type
 * (not an object, a value not a string), metadata_too_many_keys,
 * metadata_key_invalid, metadata_key_too_long, metadata_value_too_long,
 * metadata_too_large (the JSON text over GW_METADATA_JSON_MAX bytes),
 * pan_not_allowed. param is "metadata[KEY]" for a value's error when KEY is
 * a short identifier ([A-Za-z0-9_.-], at most GW_METADATA_KEY_MAX), else
 * "metadata"; a value is never echoed.
 * @param v   the parameter (borrowed); NULL or JSON null give "".
 * @param out capacity at least GW_METADATA_JSON_MAX + 1.
 * @return 0, or -1 with *err filled.
 */
int gw_metadata_parse(const json_t *v, char *out, size_t cap, struct gw_error *err);

/**
 * Name an unknown request parameter: err becomes 400 parameter_unknown with
 * param and message naming key when it is a short identifier (letters,
 * digits, '_', '.', '-', '[', ']', at most 40), else unnamed (it may be
 * anything, even card data refused elsewhere).
 */
void gw_error_unknown_param(struct gw_error *err, const char *key);

/**
 * Validate a POST /v1/payments body into out. Checks in this order: body is an
 * object (parameter_invalid_type), no
 * unknown field (parameter_unknown), amount (parameter_missing /
 * parameter_invalid_type / amount_invalid), currency (currency_invalid),
 * payment_method (parameter_missing / parameter_invalid_type /
 * payment_method_invalid), capture_method (parameter_invalid_type /
 * capture_method_invalid), description (parameter_invalid_type /
 * description_too_long), statement_descriptor and statement_descriptor_suffix
 * (parameter_invalid_type / statement_descriptor_invalid: Stripe's rules,
 * sr_statement_descriptor_ok), return_url (parameter_invalid_type; its
 * content is gw_return_url_check's), metadata (gw_metadata_parse). All errors are 400 invalid_request_error. A card
 * number never reaches it: common/sr_http_screen.c refuses it at dispatch.
 * @return 0, or -1 with *err filled (static strings).
 */
int gw_payment_request_parse(const json_t *body, struct gw_payment_request *out,
                             struct gw_error *err);

#endif
