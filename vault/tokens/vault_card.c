/*
 * vault_card: card data validation (ISO/IEC 7812-1) and the POST /v1/tokens
 * request parser. No logging here: callers log tokens and last4 only.
 */
#include "vault/tokens/vault_card.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "common/sr_secret.h"

const char *vault_brand_str(enum vault_brand b)
{
	switch (b) {
	case VAULT_BRAND_VISA: return "visa";
	case VAULT_BRAND_MASTERCARD: return "mastercard";
	case VAULT_BRAND_AMEX: return "amex";
	case VAULT_BRAND_DISCOVER: return "discover";
	case VAULT_BRAND_JCB: return "jcb";
	case VAULT_BRAND_DINERS: return "diners";
	case VAULT_BRAND_UNIONPAY: return "unionpay";
	case VAULT_BRAND_UNKNOWN: break;
	}
	return "unknown";
}

static bool all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

bool vault_luhn_valid(const char *digits, size_t len)
{
	unsigned sum = 0;
	size_t i;

	if (digits == NULL || len == 0 || !all_digits(digits, len))
		return false;
	/* ISO/IEC 7812-1 Annex B: from the rightmost digit (the check digit),
	 * double every second digit, subtract 9 when the product exceeds 9. */
	for (i = 0; i < len; i++) {
		unsigned d = (unsigned)(digits[len - 1 - i] - '0');

		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

/* The first n digits as a number, or -1 when fewer than n digits exist. */
static long prefix(const char *digits, size_t len, size_t n)
{
	long v = 0;
	size_t i;

	if (len < n)
		return -1;
	for (i = 0; i < n; i++) {
		if (digits[i] < '0' || digits[i] > '9')
			return -1;
		v = v * 10 + (digits[i] - '0');
	}
	return v;
}

static bool in_range(long v, long lo, long hi)
{
	return v >= lo && v <= hi;
}

enum vault_brand vault_card_brand(const char *digits, size_t len)
{
	long p1, p2, p3, p4;

	if (digits == NULL)
		return VAULT_BRAND_UNKNOWN;
	p1 = prefix(digits, len, 1);
	p2 = prefix(digits, len, 2);
	p3 = prefix(digits, len, 3);
	p4 = prefix(digits, len, 4);
	if (p1 == 4)
		return VAULT_BRAND_VISA;
	if (p2 == 34 || p2 == 37)
		return VAULT_BRAND_AMEX;
	if (in_range(p2, 51, 55) || in_range(p4, 2221, 2720))
		return VAULT_BRAND_MASTERCARD;
	if (in_range(p4, 3528, 3589))
		return VAULT_BRAND_JCB;
	if (in_range(p3, 300, 305) || p2 == 36 || p2 == 38 || p2 == 39)
		return VAULT_BRAND_DINERS;
	if (p4 == 6011 || in_range(p3, 644, 649) || p2 == 65)
		return VAULT_BRAND_DISCOVER;
	/* UnionPay after Discover: 62 (Discover's co-branded 622126-622925
	 * range is left to UnionPay, the issuer's own network). */
	if (p2 == 62)
		return VAULT_BRAND_UNIONPAY;
	return VAULT_BRAND_UNKNOWN;
}

bool vault_card_length_ok(enum vault_brand b, size_t len)
{
	switch (b) {
	case VAULT_BRAND_VISA:
		return len == 13 || len == 16 || len == 19;
	case VAULT_BRAND_MASTERCARD:
		return len == 16;
	case VAULT_BRAND_AMEX:
		return len == 15;
	case VAULT_BRAND_DISCOVER:
	case VAULT_BRAND_JCB:
	case VAULT_BRAND_UNIONPAY:
		return len >= 16 && len <= 19;
	case VAULT_BRAND_DINERS:
		return len >= 14 && len <= 19;
	case VAULT_BRAND_UNKNOWN:
		break;
	}
	return len >= VAULT_PAN_MIN && len <= VAULT_PAN_MAX;
}

bool vault_card_number_ok(const char *pan, size_t len, enum vault_brand *brand_out)
{
	enum vault_brand b;

	if (pan == NULL || len < VAULT_PAN_MIN || len > VAULT_PAN_MAX || !all_digits(pan, len))
		return false;
	b = vault_card_brand(pan, len);
	if (!vault_card_length_ok(b, len) || !vault_luhn_valid(pan, len))
		return false;
	if (brand_out != NULL)
		*brand_out = b;
	return true;
}

enum vault_expiry_check vault_card_check_expiry(long long month, long long year, time_t now)
{
	struct tm tm_now;
	struct tm tm_end;
	time_t end;

	if (month < 1 || month > 12)
		return VAULT_EXPIRY_BAD_MONTH;
	if (gmtime_r(&now, &tm_now) == NULL)
		return VAULT_EXPIRY_BAD_YEAR;
	if (year < 2000 || year > (long long)tm_now.tm_year + 1900 + 50)
		return VAULT_EXPIRY_BAD_YEAR;
	/* Valid through the last second of the month: the card has expired
	 * once the first second of the next month (UTC) has been reached. */
	memset(&tm_end, 0, sizeof tm_end);
	tm_end.tm_year = (int)(month == 12 ? year + 1 : year) - 1900;
	tm_end.tm_mon = month == 12 ? 0 : (int)month; /* tm_mon is 0-based: month == next */
	tm_end.tm_mday = 1;
	end = timegm(&tm_end);
	if (end == (time_t)-1 || end <= now)
		return VAULT_EXPIRY_EXPIRED;
	return VAULT_EXPIRY_OK;
}

bool vault_card_cvc_ok(enum vault_brand b, const char *cvc, size_t len)
{
	size_t want = b == VAULT_BRAND_AMEX ? 4 : 3;

	return cvc != NULL && len == want && all_digits(cvc, len);
}

/* An unknown key may be named in an error only when it cannot be card data:
 * a short identifier of lowercase letters and underscores. */
static bool safe_key(const char *k)
{
	size_t i;
	size_t n = strlen(k);

	if (n == 0 || n > 24)
		return false;
	for (i = 0; i < n; i++) {
		if (!((k[i] >= 'a' && k[i] <= 'z') || k[i] == '_'))
			return false;
	}
	return true;
}

static bool is_one_of(const char *k, const char *const *set)
{
	for (; *set != NULL; set++) {
		if (strcmp(k, *set) == 0)
			return true;
	}
	return false;
}

/* Copy len bytes into a fresh NUL-terminated guarded buffer. */
static char *guarded_copy(const char *s, size_t len)
{
	char *p = sr_secret_alloc(len + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

int vault_parse_token_request_at(const json_t *body, time_t now, struct vault_card_input *out,
                                 const char **code, const char **param)
{
	static const char *const top_keys[] = { "card", "token_format", "expires_at", NULL };
	static const char *const card_keys[] = { "number", "exp_month", "exp_year", "cvc", NULL };
	struct vault_card_input in;
	const char *key = NULL;
	json_t *val = NULL;
	json_t *card = NULL;
	json_t *jnum = NULL;
	json_t *jmon = NULL;
	json_t *jyear = NULL;
	json_t *jcvc = NULL;
	const char *num = NULL;
	size_t num_len = 0;
	const char *cvc = NULL;
	size_t cvc_len = 0;
	enum vault_brand brand = VAULT_BRAND_UNKNOWN;
	const char *c = NULL;
	const char *p = NULL;
	int rc = -1;

	memset(&in, 0, sizeof in);
	if (out == NULL)
		return -2;
	memset(out, 0, sizeof *out);

	if (body == NULL) {
		c = "parameter_missing";
		p = "card";
		goto out;
	}
	if (!json_is_object(body)) {
		c = "parameter_invalid_type";
		goto out;
	}
	json_object_foreach((json_t *)body, key, val) {
		if (!is_one_of(key, top_keys)) {
			c = "parameter_unknown";
			if (safe_key(key)) {
				snprintf(out->err_param, sizeof out->err_param, "%s", key);
				p = out->err_param;
			}
			goto out;
		}
	}
	val = json_object_get(body, "token_format");
	if (val != NULL) {
		if (!json_is_string(val)) {
			c = "parameter_invalid_type";
			p = "token_format";
			goto out;
		}
		if (strcmp(json_string_value(val), "format_preserving") == 0) {
			in.format_preserving = true;
		} else if (strcmp(json_string_value(val), "standard") != 0) {
			c = "invalid_token_format";
			p = "token_format";
			goto out;
		}
	}
	val = json_object_get(body, "expires_at");
	if (val != NULL) {
		if (!json_is_integer(val)) {
			c = "parameter_invalid_type";
			p = "expires_at";
			goto out;
		}
		if (json_integer_value(val) <= (json_int_t)now ||
		    json_integer_value(val) > (json_int_t)now + VAULT_TOKEN_MAX_LIFETIME) {
			c = "invalid_expires_at";
			p = "expires_at";
			goto out;
		}
		in.expires_at = (long long)json_integer_value(val);
	}
	card = json_object_get(body, "card");
	if (card == NULL) {
		c = "parameter_missing";
		p = "card";
		goto out;
	}
	if (!json_is_object(card)) {
		c = "parameter_invalid_type";
		p = "card";
		goto out;
	}
	json_object_foreach(card, key, val) {
		if (!is_one_of(key, card_keys)) {
			c = "parameter_unknown";
			if (safe_key(key)) {
				snprintf(out->err_param, sizeof out->err_param, "card[%s]", key);
				p = out->err_param;
			} else {
				p = "card";
			}
			goto out;
		}
	}
	jnum = json_object_get(card, "number");
	jmon = json_object_get(card, "exp_month");
	jyear = json_object_get(card, "exp_year");
	jcvc = json_object_get(card, "cvc");
	if (jnum == NULL) {
		c = "parameter_missing";
		p = "card[number]";
		goto out;
	}
	if (jmon == NULL) {
		c = "parameter_missing";
		p = "card[exp_month]";
		goto out;
	}
	if (jyear == NULL) {
		c = "parameter_missing";
		p = "card[exp_year]";
		goto out;
	}
	if (!json_is_string(jnum)) {
		c = "parameter_invalid_type";
		p = "card[number]";
		goto out;
	}
	if (!json_is_integer(jmon)) {
		c = "parameter_invalid_type";
		p = "card[exp_month]";
		goto out;
	}
	if (!json_is_integer(jyear)) {
		c = "parameter_invalid_type";
		p = "card[exp_year]";
		goto out;
	}
	if (jcvc != NULL && !json_is_null(jcvc) && !json_is_string(jcvc)) {
		c = "parameter_invalid_type";
		p = "card[cvc]";
		goto out;
	}

	num = json_string_value(jnum);
	num_len = json_string_length(jnum);
	/* ISO/IEC 7812-1: digits only (no spaces or separators), 13..19,
	 * the brand's lengths, Luhn check digit. */
	if (!vault_card_number_ok(num, num_len, &brand)) {
		c = "incorrect_number";
		p = "card[number]";
		goto out;
	}
	switch (vault_card_check_expiry(json_integer_value(jmon), json_integer_value(jyear), now)) {
	case VAULT_EXPIRY_OK:
		break;
	case VAULT_EXPIRY_BAD_MONTH:
		c = "invalid_expiry_month";
		p = "card[exp_month]";
		goto out;
	case VAULT_EXPIRY_BAD_YEAR:
		c = "invalid_expiry_year";
		p = "card[exp_year]";
		goto out;
	case VAULT_EXPIRY_EXPIRED:
		c = "expired_card";
		p = "card[exp_year]";
		goto out;
	}
	if (jcvc != NULL && json_is_string(jcvc)) {
		cvc = json_string_value(jcvc);
		cvc_len = json_string_length(jcvc);
		if (!vault_card_cvc_ok(brand, cvc, cvc_len)) {
			c = "invalid_cvc";
			p = "card[cvc]";
			goto out;
		}
	}

	in.pan = guarded_copy(num, num_len);
	if (in.pan == NULL)
		goto internal;
	in.pan_len = num_len;
	if (cvc != NULL) {
		in.cvc = guarded_copy(cvc, cvc_len);
		if (in.cvc == NULL)
			goto internal;
		in.cvc_len = cvc_len;
	}
	in.exp_month = (int)json_integer_value(jmon);
	in.exp_year = (int)json_integer_value(jyear);
	in.brand = brand;
	memcpy(in.last4, num + num_len - 4, 4);
	in.last4[4] = '\0';
	*out = in;
	memset(&in, 0, sizeof in);
	rc = 0;
	goto out;

internal:
	c = "api_error";
	p = NULL;
	rc = -2;
out:
	/* On failure out owns nothing (only err_param, which p may name). */
	vault_card_input_free(&in);
	if (code != NULL)
		*code = rc == 0 ? NULL : c;
	if (param != NULL)
		*param = rc == 0 ? NULL : p;
	return rc;
}

int vault_parse_token_request(const json_t *body, struct vault_card_input *out,
                              const char **code, const char **param)
{
	return vault_parse_token_request_at(body, time(NULL), out, code, param);
}

void vault_card_input_free(struct vault_card_input *in)
{
	if (in == NULL)
		return;
	sr_secret_free(in->pan);  /* sodium_free wipes before unmapping */
	sr_secret_free(in->cvc);
	sodium_memzero(in, sizeof *in);
}

const char *vault_card_error_type(const char *code)
{
	static const char *const card_codes[] = {
		"incorrect_number", "invalid_expiry_month", "invalid_expiry_year",
		"expired_card", "invalid_cvc", NULL,
	};

	if (code == NULL)
		return "api_error";
	if (strcmp(code, "api_error") == 0)
		return "api_error";
	return is_one_of(code, card_codes) ? "card_error" : "invalid_request_error";
}

const char *vault_card_error_message(const char *code)
{
	static const struct {
		const char *code;
		const char *msg;
	} msgs[] = {
		{ "parameter_missing", "A required parameter is missing." },
		{ "parameter_invalid_type", "A parameter has the wrong type." },
		{ "parameter_unknown", "The request contains an unknown parameter." },
		{ "incorrect_number", "The card number is incorrect." },
		{ "invalid_expiry_month", "The card's expiration month is invalid." },
		{ "invalid_expiry_year", "The card's expiration year is invalid." },
		{ "expired_card", "The card has expired." },
		{ "invalid_cvc", "The card's security code is invalid." },
		{ "invalid_token_format", "token_format must be standard or format_preserving." },
		{ "invalid_expires_at", "expires_at must be a future time within ten years." },
		{ "api_error", "An internal error occurred." },
	};
	size_t i;

	for (i = 0; code != NULL && i < sizeof msgs / sizeof msgs[0]; i++) {
		if (strcmp(code, msgs[i].code) == 0)
			return msgs[i].msg;
	}
	return "The request is invalid.";
}
