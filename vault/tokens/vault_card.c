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
	case VAULT_BRAND_MAESTRO: return "maestro";
	case VAULT_BRAND_MIR: return "mir";
	case VAULT_BRAND_ELO: return "elo";
	case VAULT_BRAND_HIPERCARD: return "hipercard";
	case VAULT_BRAND_TROY: return "troy";
	case VAULT_BRAND_VERVE: return "verve";
	case VAULT_BRAND_RUPAY: return "rupay";
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

/* Allowed lengths as a bit set: bit n set = n-digit numbers are issued. */
#define LEN(n) (1u << (n))
#define LENS(a, b) ((1u << ((b) + 1)) - (1u << (a)))

/*
 * The IIN table: each row a range of the first `digits` digits of the
 * number (lo..hi inclusive), the lengths the network issues there, and
 * whether the last digit is a Luhn check digit. The most specific row wins:
 * the matching row with the most prefix digits (Elo's 401178 over Visa's 4,
 * Hipercard's 384100 over Diners' 38); among rows of equal length the first.
 * There is no fallback: a number of a length its most specific row does not
 * issue is refused (an Elo IIN at 19 digits is not a Visa card).
 *
 * Source of every row: the range the network itself publishes, as
 * summarized in the public IIN references (the comment of each group names
 * the network and its overlaps); ranges a network shares with another one
 * (co-badged cards) say which brand they keep.
 */
static const struct iin_row {
	enum vault_brand brand;
	uint32_t lo, hi;
	uint8_t digits;
	uint32_t lengths;
	bool luhn;
} k_iin[] = {
	/* Visa: 4; 16 digits, 13 (older cards), 18 and 19. */
	{ VAULT_BRAND_VISA, 4, 4, 1, LEN(13) | LEN(16) | LEN(18) | LEN(19), true },
	/* Mastercard: 51-55 and the 2-series 2221-2720 (2017); 16 digits. */
	{ VAULT_BRAND_MASTERCARD, 51, 55, 2, LEN(16), true },
	{ VAULT_BRAND_MASTERCARD, 2221, 2720, 4, LEN(16), true },
	/* American Express: 34, 37; 15 digits. */
	{ VAULT_BRAND_AMEX, 34, 34, 2, LEN(15), true },
	{ VAULT_BRAND_AMEX, 37, 37, 2, LEN(15), true },
	/* Discover: 6011, 644-649, 65; 16-19. Its co-branded 622126-622925 is
	 * left to UnionPay, the issuing network (62 below). */
	{ VAULT_BRAND_DISCOVER, 6011, 6011, 4, LENS(16, 19), true },
	{ VAULT_BRAND_DISCOVER, 644, 649, 3, LENS(16, 19), true },
	{ VAULT_BRAND_DISCOVER, 65, 65, 2, LENS(16, 19), true },
	/* JCB: 3528-3589; 16-19 (RuPay-JCB co-badged 353, 356 stay JCB). */
	{ VAULT_BRAND_JCB, 3528, 3589, 4, LENS(16, 19), true },
	/* Diners Club International: 300-305, 3095, 36, 38-39; 14-19. */
	{ VAULT_BRAND_DINERS, 300, 305, 3, LENS(14, 19), true },
	{ VAULT_BRAND_DINERS, 3095, 3095, 4, LENS(14, 19), true },
	{ VAULT_BRAND_DINERS, 36, 36, 2, LENS(14, 19), true },
	{ VAULT_BRAND_DINERS, 38, 39, 2, LENS(14, 19), true },
	/* UnionPay: 62; 16-19. UnionPay does not require a Luhn check digit
	 * (some of its issuers' numbers carry none), so none is checked. */
	{ VAULT_BRAND_UNIONPAY, 62, 62, 2, LENS(16, 19), false },
	/* Maestro (Mastercard's debit brand): 5018, 5020, 5038, 5893, 6304,
	 * 6759 (incl. former Maestro UK 676770, 676774), 6761-6763; 12-19. */
	{ VAULT_BRAND_MAESTRO, 5018, 5018, 4, LENS(12, 19), true },
	{ VAULT_BRAND_MAESTRO, 5020, 5020, 4, LENS(12, 19), true },
	{ VAULT_BRAND_MAESTRO, 5038, 5038, 4, LENS(12, 19), true },
	{ VAULT_BRAND_MAESTRO, 5893, 5893, 4, LENS(12, 19), true },
	{ VAULT_BRAND_MAESTRO, 6304, 6304, 4, LENS(12, 19), true },
	{ VAULT_BRAND_MAESTRO, 6759, 6759, 4, LENS(12, 19), true },
	{ VAULT_BRAND_MAESTRO, 6761, 6763, 4, LENS(12, 19), true },
	/* Mir (Russia's NSPK): 2200-2204; 16-19. */
	{ VAULT_BRAND_MIR, 2200, 2204, 4, LENS(16, 19), true },
	/* Elo (Brazil): its own IINs, many inside Visa's 4, Maestro's 50 and
	 * Discover's 65 (those ranges are Elo's: the longer prefix wins); 16. */
	{ VAULT_BRAND_ELO, 401178, 401179, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 431274, 431274, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 438935, 438935, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 451416, 451416, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 457393, 457393, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 457631, 457632, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 504175, 504175, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 506699, 506778, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 509000, 509999, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 627780, 627780, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 636297, 636297, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 636368, 636368, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 650031, 650033, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 650035, 650051, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 650405, 650439, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 650485, 650538, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 650541, 650598, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 650700, 650718, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 650720, 650727, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 650901, 650978, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 651652, 651679, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 655000, 655019, 6, LEN(16), true },
	{ VAULT_BRAND_ELO, 655021, 655058, 6, LEN(16), true },
	/* Hipercard (Brazil): 606282, and 384100/384140/384160 inside
	 * Diners' 38; 16 and 19. */
	{ VAULT_BRAND_HIPERCARD, 606282, 606282, 6, LEN(16) | LEN(19), true },
	{ VAULT_BRAND_HIPERCARD, 384100, 384100, 6, LEN(16) | LEN(19), true },
	{ VAULT_BRAND_HIPERCARD, 384140, 384140, 6, LEN(16) | LEN(19), true },
	{ VAULT_BRAND_HIPERCARD, 384160, 384160, 6, LEN(16) | LEN(19), true },
	/* Troy (Turkey's BKM): 9792; 16. Troy cards co-badged in Discover's
	 * 65 stay Discover. */
	{ VAULT_BRAND_TROY, 9792, 9792, 4, LEN(16), true },
	/* Verve (Nigeria's Interswitch): 506099-506198, 507865-507964, and
	 * 650002-650027 inside Discover's 65; 16, 18, 19. */
	{ VAULT_BRAND_VERVE, 506099, 506198, 6, LEN(16) | LEN(18) | LEN(19), true },
	{ VAULT_BRAND_VERVE, 507865, 507964, 6, LEN(16) | LEN(18) | LEN(19), true },
	{ VAULT_BRAND_VERVE, 650002, 650027, 6, LEN(16) | LEN(18) | LEN(19), true },
	/* RuPay (India's NPCI): 60 (6011 stays Discover, 606282 Hipercard by
	 * the longer prefix), 508, 652150-653149 inside Discover's 65, 81-82
	 * (8100-8171 stay UnionPay's); 16. */
	{ VAULT_BRAND_RUPAY, 60, 60, 2, LEN(16), true },
	{ VAULT_BRAND_RUPAY, 508, 508, 3, LEN(16), true },
	{ VAULT_BRAND_RUPAY, 652150, 653149, 6, LEN(16), true },
	{ VAULT_BRAND_RUPAY, 81, 82, 2, LEN(16), true },
	{ VAULT_BRAND_UNIONPAY, 8100, 8171, 4, LENS(16, 19), false },
};

/* The most specific row whose prefix the number starts with, or NULL.
 * Numbers shorter than a row's prefix do not match it. */
static const struct iin_row *iin_match(const char *digits, size_t len)
{
	const struct iin_row *best = NULL;
	size_t i;
	size_t k;

	for (i = 0; i < sizeof k_iin / sizeof k_iin[0]; i++) {
		uint32_t p = 0;

		if (len < k_iin[i].digits || (best != NULL && k_iin[i].digits <= best->digits))
			continue;
		for (k = 0; k < k_iin[i].digits; k++) {
			if (digits[k] < '0' || digits[k] > '9')
				break;
			p = p * 10 + (uint32_t)(digits[k] - '0');
		}
		if (k == k_iin[i].digits && p >= k_iin[i].lo && p <= k_iin[i].hi)
			best = &k_iin[i];
	}
	return best;
}

enum vault_brand vault_card_brand(const char *digits, size_t len)
{
	const struct iin_row *row;

	if (digits == NULL)
		return VAULT_BRAND_UNKNOWN;
	row = iin_match(digits, len);
	return row != NULL ? row->brand : VAULT_BRAND_UNKNOWN;
}

bool vault_card_length_ok(enum vault_brand b, size_t len)
{
	uint32_t lengths = 0;
	size_t i;

	if (len < VAULT_PAN_MIN || len > VAULT_PAN_MAX)
		return false;
	if (b == VAULT_BRAND_UNKNOWN)
		return len >= 13;
	for (i = 0; i < sizeof k_iin / sizeof k_iin[0]; i++) {
		if (k_iin[i].brand == b)
			lengths |= k_iin[i].lengths;
	}
	return (lengths & LEN(len)) != 0;
}

bool vault_card_number_ok(const char *pan, size_t len, enum vault_brand *brand_out)
{
	const struct iin_row *row;

	if (pan == NULL || len < VAULT_PAN_MIN || len > VAULT_PAN_MAX || !all_digits(pan, len))
		return false;
	row = iin_match(pan, len);
	if (row == NULL) {
		/* No network's range: ISO/IEC 7812-1 lengths, Luhn. */
		if (len < 13 || !vault_luhn_valid(pan, len))
			return false;
	} else if ((row->lengths & LEN(len)) == 0 || (row->luhn && !vault_luhn_valid(pan, len))) {
		return false;
	}
	if (brand_out != NULL)
		*brand_out = row != NULL ? row->brand : VAULT_BRAND_UNKNOWN;
	return true;
}

int vault_card_number_normalize(const char *in, size_t len, char *out, size_t cap, size_t *out_len)
{
	size_t i;
	size_t n = 0;

	if (in == NULL || out == NULL || out_len == NULL || cap < VAULT_PAN_MAX + 1)
		return -1;
	*out_len = 0;
	for (i = 0; i < len; i++) {
		if (in[i] >= '0' && in[i] <= '9') {
			if (n == VAULT_PAN_MAX)
				goto bad;
			out[n++] = in[i];
		} else if ((in[i] != ' ' && in[i] != '-') || i == 0 || i + 1 == len ||
		           in[i + 1] < '0' || in[i + 1] > '9') {
			/* A separator only between two digits, one at a time. */
			goto bad;
		}
	}
	out[n] = '\0';
	*out_len = n;
	return 0;
bad:
	sodium_memzero(out, cap);
	return -1;
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

	/* The digits, without the spaces or dashes people write between
	 * groups, go straight to guarded memory; then ISO/IEC 7812-1: the
	 * range's lengths and its check digit (vault_card_number_ok). */
	in.pan = sr_secret_alloc(VAULT_PAN_MAX + 1);
	if (in.pan == NULL)
		goto internal;
	if (vault_card_number_normalize(json_string_value(jnum), json_string_length(jnum), in.pan,
	                                VAULT_PAN_MAX + 1, &num_len) != 0 ||
	    !vault_card_number_ok(in.pan, num_len, &brand)) {
		c = "incorrect_number";
		p = "card[number]";
		goto out;
	}
	num = in.pan;
	in.pan_len = num_len;
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
