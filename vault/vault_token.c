/*
 * vault_token: random token ids (BRIEF invariant 3) and id shape checks.
 */
#include "vault/vault_token.h"

#include <string.h>

#include "common/sr_util.h"

int vault_token_new(char *out, size_t outlen)
{
	if (out == NULL || outlen < VAULT_TOKEN_LEN + 1)
		return -1;
	/* BRIEF invariant 3: 128 bits from the CSPRNG, independent of the PAN. */
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
