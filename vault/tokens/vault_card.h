/*
 * vault_card: validation of card data submitted for tokenization, and the
 * parser of POST /v1/tokens bodies. Pure functions (no I/O, no logging);
 * the PAN and CVC are copied into libsodium guarded memory (sr_secret_alloc)
 * owned by struct vault_card_input and wiped by vault_card_input_free.
 *
 * Standards: ISO/IEC 7812-1 (PAN structure, Luhn check digit, IIN ranges);
 * PCI DSS v4.0 3.3.1.2 (CVC is sensitive authentication data).
 */
#ifndef VAULT_CARD_H
#define VAULT_CARD_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <jansson.h>

#define VAULT_PAN_MIN 13
#define VAULT_PAN_MAX 19

enum vault_brand {
	VAULT_BRAND_UNKNOWN = 0,
	VAULT_BRAND_VISA,
	VAULT_BRAND_MASTERCARD,
	VAULT_BRAND_AMEX,
	VAULT_BRAND_DISCOVER,
	VAULT_BRAND_JCB,
	VAULT_BRAND_DINERS,
	VAULT_BRAND_UNIONPAY,
};

/** Wire name: "visa", "mastercard", "amex", "discover", "jcb", "diners", "unionpay", "unknown". */
const char *vault_brand_str(enum vault_brand b);

/**
 * Luhn (ISO/IEC 7812-1 Annex B) over len ASCII digits.
 * @return true when every byte is a digit, len > 0 and the check digit holds.
 */
bool vault_luhn_valid(const char *digits, size_t len);

/**
 * Brand from the leading digits (IIN/BIN ranges): visa 4; mastercard 51-55
 * and 2221-2720; amex 34, 37; discover 6011, 644-649, 65; jcb 3528-3589;
 * diners 300-305, 36, 38-39; unionpay 62 (after discover). Needs len >= 6
 * digits for a full answer; shorter input matches what it can.
 */
enum vault_brand vault_card_brand(const char *digits, size_t len);

/** Whether len is an allowed PAN length for brand (unknown: 13..19). */
bool vault_card_length_ok(enum vault_brand b, size_t len);

/**
 * Full PAN check: digits only, 13..19, brand length, Luhn.
 * @param brand_out may be NULL.
 */
bool vault_card_number_ok(const char *pan, size_t len, enum vault_brand *brand_out);

enum vault_expiry_check {
	VAULT_EXPIRY_OK = 0,
	VAULT_EXPIRY_BAD_MONTH,     /* month outside 1..12 */
	VAULT_EXPIRY_BAD_YEAR,      /* year < 2000 or > current year + 50 */
	VAULT_EXPIRY_EXPIRED,       /* the end of the month is before now (UTC) */
};

/**
 * Expiry check. A card is valid through the last second of its expiry
 * month, UTC. @param now UNIX seconds.
 */
enum vault_expiry_check vault_card_check_expiry(long long month, long long year, time_t now);

/** CVC: exactly 3 ASCII digits, 4 for amex. */
bool vault_card_cvc_ok(enum vault_brand b, const char *cvc, size_t len);

/** A parsed, validated tokenization request. */
struct vault_card_input {
	char *pan;              /* guarded memory (sr_secret_alloc), NUL-terminated digits */
	size_t pan_len;
	char *cvc;              /* guarded memory or NULL when none was given */
	size_t cvc_len;
	int exp_month;          /* 1..12 */
	int exp_year;           /* four digits */
	enum vault_brand brand;
	char last4[5];
	bool format_preserving; /* "token_format": "format_preserving" */
	long long expires_at;   /* "expires_at" UNIX seconds, 0 = none */
	char err_param[48];     /* storage for the param named in an error */
};

/** Longest lifetime a token may ask for with expires_at: ten years. */
#define VAULT_TOKEN_MAX_LIFETIME (10LL * 366 * 24 * 3600)

/**
 * Parse and validate {"card":{"number","exp_month","exp_year","cvc"?},
 * "token_format"?, "expires_at"?}.
 * token_format: "standard" (default) or "format_preserving" (also return a
 * legacy number, vault_token.h); expires_at: JSON integer, UNIX seconds,
 * after now and at most VAULT_TOKEN_MAX_LIFETIME ahead.
 * number: JSON string of 13..19 ASCII digits passing brand length and Luhn;
 * exp_month, exp_year: JSON integers; cvc: optional JSON string (null = absent).
 * Unknown keys at either level are refused.
 *
 * @param body the request JSON (borrowed); may be NULL.
 * @param now  UNIX seconds for the expiry check.
 * @param out  zeroed and filled on success; on failure it owns nothing.
 * @param code set on failure to one of parameter_missing,
 *        parameter_invalid_type, parameter_unknown, incorrect_number,
 *        invalid_expiry_month, invalid_expiry_year, expired_card, invalid_cvc;
 *        or api_error when guarded memory could not be allocated.
 * @param param set on failure to the offending parameter ("card[number]") or
 *        NULL; points to a static string or into out->err_param. Never holds
 *        a submitted value (unknown keys are named only when they are short
 *        lowercase identifiers).
 * @return 0 on success, -1 on a client error, -2 on an internal error.
 */
int vault_parse_token_request_at(const json_t *body, time_t now, struct vault_card_input *out,
                                 const char **code, const char **param);

/** vault_parse_token_request_at with now = time(NULL). */
int vault_parse_token_request(const json_t *body, struct vault_card_input *out,
                              const char **code, const char **param);

/** Wipe and free the guarded buffers in in; in is left zeroed. NULL ok. */
void vault_card_input_free(struct vault_card_input *in);

/** Error type for a parser code: "card_error" for card data codes, else "invalid_request_error". */
const char *vault_card_error_type(const char *code);

/** A fixed, human-readable message for a parser code (never echoes input). */
const char *vault_card_error_message(const char *code);

#endif
