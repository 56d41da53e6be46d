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

#define VAULT_PAN_MIN 12 /* Maestro issues 12-digit numbers; the others 13 and more */
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
	VAULT_BRAND_MAESTRO,
	VAULT_BRAND_MIR,
	VAULT_BRAND_ELO,
	VAULT_BRAND_HIPERCARD,
	VAULT_BRAND_TROY,
	VAULT_BRAND_VERVE,
	VAULT_BRAND_RUPAY,
};

/**
 * Wire name (the API's card.brand, lower case as Stripe spells them):
 * "visa", "mastercard", "amex", "discover", "jcb", "diners", "unionpay",
 * "maestro", "mir", "elo", "hipercard", "troy", "verve", "rupay", "unknown".
 * A static string.
 */
const char *vault_brand_str(enum vault_brand b);

/**
 * Luhn (ISO/IEC 7812-1 Annex B) over len ASCII digits.
 * @return true when every byte is a digit, len > 0 and the check digit holds.
 */
bool vault_luhn_valid(const char *digits, size_t len);

/**
 * Brand from the leading digits, by the IIN table in vault_card.c (one row
 * per network range: prefix range, lengths, Luhn or not; the networks'
 * published ranges). The most specific range wins: Elo's 401178 is elo, not
 * visa; Hipercard's 384100 is hipercard, not diners. Looks only at the
 * prefix (not the length); a number shorter than a range's prefix does not
 * match it. @return VAULT_BRAND_UNKNOWN when no range matches or digits is NULL.
 */
enum vault_brand vault_card_brand(const char *digits, size_t len);

/**
 * Whether len is a length brand issues in any of its ranges (maestro 12..19,
 * visa 13, 16, 18, 19, ...; unknown: 13..19). Always false outside
 * VAULT_PAN_MIN..VAULT_PAN_MAX.
 */
bool vault_card_length_ok(enum vault_brand b, size_t len);

/**
 * Full PAN check (ISO/IEC 7812-1): digits only, VAULT_PAN_MIN..VAULT_PAN_MAX,
 * a length the matching range issues, and the Luhn check digit where the
 * network requires one (all but UnionPay). A number of no network's range
 * needs 13..19 digits and Luhn.
 * @param brand_out set on success; may be NULL.
 */
bool vault_card_number_ok(const char *pan, size_t len, enum vault_brand *brand_out);

/**
 * Normalize a card number as people write it: digits in groups separated
 * by one space or one dash ("4242 4242 4242 4242", "4242-4242-4242-4242");
 * no separator first, last or twice in a row, nothing else. Length and
 * brand are not checked here (vault_card_number_ok does).
 * @param in   len bytes (not necessarily NUL-terminated).
 * @param out  at least VAULT_PAN_MAX + 1 bytes (guarded memory: it receives
 *             the PAN's digits), NUL-terminated on success, wiped on failure.
 * @return 0 with *out_len digits (1..VAULT_PAN_MAX; 0 for empty input), or
 *         -1 on any other character or more than VAULT_PAN_MAX digits.
 */
int vault_card_number_normalize(const char *in, size_t len, char *out, size_t cap, size_t *out_len);

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
 * number: JSON string of VAULT_PAN_MIN..VAULT_PAN_MAX ASCII digits, in
 * groups separated by single spaces or dashes (vault_card_number_normalize;
 * out->pan holds the digits only), passing vault_card_number_ok;
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
