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

/* A client error: static strings only (nothing from the request). */
struct gw_error {
	unsigned status;        /* HTTP status, e.g. 400 */
	const char *type;       /* error type (README.md, APIs) */
	const char *code;
	const char *message;
	const char *param;      /* may be NULL */
};

/* A validated POST /v1/payments body (all strings copied). */
struct gw_payment_request {
	long long amount;               /* 1..99999999 minor units */
	char currency[4];               /* lowercase, in the allowlist */
	char payment_method[72];        /* "tok_" + 8..64 [A-Za-z0-9] */
	char capture_method[16];        /* "automatic" (default) | "manual" */
	char description[504];          /* "" when absent; <= 500 bytes */
	bool has_description;
};

#define GW_AMOUNT_MAX 99999999LL
#define GW_DESCRIPTION_MAX 500

/** Whether s is a vault token id: "tok_" + 8..64 chars of [A-Za-z0-9]. */
bool gw_token_shape_ok(const char *s);

/**
 * Validate a POST /v1/payments body into out. Checks in this order: body is an
 * object (parameter_invalid_type), no
 * unknown field (parameter_unknown), amount (parameter_missing /
 * parameter_invalid_type / amount_invalid), currency (currency_invalid),
 * payment_method (parameter_missing / parameter_invalid_type /
 * payment_method_invalid), capture_method (parameter_invalid_type /
 * capture_method_invalid), description (parameter_invalid_type /
 * description_too_long). All errors are 400 invalid_request_error. A card
 * number never reaches it: common/sr_http_screen.c refuses it at dispatch.
 * @return 0, or -1 with *err filled (static strings).
 */
int gw_payment_request_parse(const json_t *body, struct gw_payment_request *out,
                             struct gw_error *err);

#endif
