/*
 * vault_token: random token ids (invariant 3, docs/invariants.md) and id shape checks.
 */
#include "vault/tokens/vault_token.h"

#include <string.h>

#include <sodium.h>

#include "common/sr_panscan.h"
#include "common/sr_util.h"
#include "vault/tokens/vault_card.h"

int vault_token_new(char *out, size_t outlen)
{
	if (out == NULL || outlen < VAULT_TOKEN_LEN + 1)
		return -1;
	/* invariant 3, docs/invariants.md: 128 bits from the CSPRNG, independent of the PAN. */
	if (sr_random_id(VAULT_TOKEN_PREFIX, VAULT_TOKEN_RAND_BYTES, out, outlen) != 0)
		return -1;
	if (!vault_token_id_valid(out))
		return -1;
	return 0;
}

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool prefixed_alnum(const char *s, const char *prefix, size_t min, size_t max)
{
	size_t plen = strlen(prefix);
	size_t n;
	size_t i;

	if (s == NULL || strncmp(s, prefix, plen) != 0)
		return false;
	s += plen;
	n = strnlen(s, max + 1);
	if (n < min || n > max)
		return false;
	for (i = 0; i < n; i++) {
		if (!is_alnum(s[i]))
			return false;
	}
	return true;
}

bool vault_token_id_valid(const char *s)
{
	return prefixed_alnum(s, VAULT_TOKEN_PREFIX, VAULT_TOKEN_RAND_CHARS, VAULT_TOKEN_RAND_CHARS);
}

bool vault_merchant_id_valid(const char *s)
{
	return prefixed_alnum(s, "mer_", 1, VAULT_MERCHANT_ID_MAX - 4);
}

int vault_card_token_new(char *out, size_t outlen)
{
	if (out == NULL || outlen < VAULT_CARD_LEN + 1)
		return -1;
	/* invariant 3, docs/invariants.md: random, independent of the PAN. */
	if (sr_random_id(VAULT_CARD_PREFIX, VAULT_TOKEN_RAND_BYTES, out, outlen) != 0)
		return -1;
	return vault_card_token_id_valid(out) ? 0 : -1;
}

bool vault_card_token_id_valid(const char *s)
{
	return prefixed_alnum(s, VAULT_CARD_PREFIX, VAULT_TOKEN_RAND_CHARS,
	                      VAULT_TOKEN_RAND_CHARS);
}

bool vault_any_token_id_valid(const char *s)
{
	return vault_token_id_valid(s) || vault_card_token_id_valid(s);
}

bool vault_customer_id_valid(const char *s)
{
	size_t n;
	size_t i;

	if (s == NULL)
		return false;
	n = strnlen(s, VAULT_CUSTOMER_MAX + 1);
	if (n < 1 || n > VAULT_CUSTOMER_MAX)
		return false;
	for (i = 0; i < n; i++) {
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	}
	return !sr_panscan_has_pan(s, n);
}

size_t vault_pan_lead_shown(size_t pan_len)
{
	/* PCI DSS v4.0 3.3.1 and 3.4.1 (truncation formats, PCI SSC FAQ 1091):
	 * first six and last four at most, and never fewer than six digits
	 * hidden: a 13-digit PAN shows 3 + 4, a 15-digit one 5 + 4. */
	if (pan_len <= 10)
		return 0;
	return pan_len - 10 < 6 ? pan_len - 10 : 6;
}

int vault_legacy_number_new(const char *pan, size_t pan_len, char *out, size_t outlen)
{
	size_t n;
	size_t lead;
	size_t i;

	if (pan == NULL || out == NULL || pan_len < VAULT_PAN_MIN || pan_len > VAULT_PAN_MAX ||
	    outlen < VAULT_LEGACY_MAX + 1)
		return -1;
	for (i = 0; i < pan_len; i++) {
		if (pan[i] < '0' || pan[i] > '9')
			return -1;
	}
	n = pan_len < VAULT_LEGACY_MIN ? VAULT_LEGACY_MIN : pan_len;
	lead = vault_pan_lead_shown(pan_len);
	memcpy(out, pan, lead);
	for (i = lead; i < n - 4; i++)
		out[i] = (char)('0' + randombytes_uniform(10));
	memcpy(out + n - 4, pan + pan_len - 4, 4);
	out[n] = '\0';
	/* Changing one digit by one always changes the Luhn sum mod 10
	 * (each position's contribution is injective in the digit). */
	if (vault_luhn_valid(out, n))
		out[6] = (char)('0' + (out[6] - '0' + 1) % 10);
	return 0;
}

bool vault_legacy_number_valid(const char *s)
{
	size_t n;
	size_t i;

	if (s == NULL)
		return false;
	n = strnlen(s, VAULT_LEGACY_MAX + 1);
	if (n < VAULT_LEGACY_MIN || n > VAULT_LEGACY_MAX)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return !vault_luhn_valid(s, n);
}
