/*
 * sr_util: random identifiers, hashes, hex, constant-time compare.
 * Randomness: libsodium randombytes_buf (OS CSPRNG, getrandom(2)).
 */
#include "common/sr_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

static pthread_once_t g_sodium_once = PTHREAD_ONCE_INIT;
static int g_sodium_ok = 0;

static void sodium_once(void)
{
	g_sodium_ok = sodium_init() >= 0;
}

/* Idempotent, thread-safe libsodium initialisation; aborts if the CSPRNG
 * cannot be initialised (never fall back to a weak generator). */
static void ensure_sodium(void)
{
	pthread_once(&g_sodium_once, sodium_once);
	if (!g_sodium_ok)
		abort();
}

static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Number of base62 digits needed for nbytes bytes: ceil(8*n / log2(62)). */
static size_t b62_len(size_t nbytes)
{
	/* log2(62) = 5.95419...; dividing by 5.954 (a little less) rounds up
	 * safely, so 62^digits >= 256^nbytes always holds. 16 -> 22. */
	return (nbytes * 8 * 1000 + 5953) / 5954;
}

int sr_random_id(const char *prefix, size_t nbytes, char *out, size_t outlen)
{
	uint8_t buf[64];
	size_t plen = prefix != NULL ? strlen(prefix) : 0;
	size_t dlen = b62_len(nbytes);
	size_t i;
	int rc = -1;

	if (out == NULL || nbytes == 0 || nbytes > sizeof buf || plen + dlen + 1 > outlen)
		goto out;
	ensure_sodium();
	/* invariant 3, docs/invariants.md: identifiers are CSPRNG output, never derived data. */
	randombytes_buf(buf, nbytes);
	memcpy(out, prefix != NULL ? prefix : "", plen);
	/* Big-number conversion to base 62 with a constant number of digits
	 * (leading zeros kept), so the mapping bytes -> string is injective and
	 * every id has the same length. */
	for (i = 0; i < dlen; i++) {
		unsigned rem = 0;
		size_t j;
		for (j = 0; j < nbytes; j++) {
			unsigned cur = (rem << 8) | buf[j];
			buf[j] = (uint8_t)(cur / 62);
			rem = cur % 62;
		}
		out[plen + dlen - 1 - i] = B62[rem];
	}
	out[plen + dlen] = '\0';
	rc = 0;
out:
	sodium_memzero(buf, sizeof buf);
	return rc;
}

void sr_hex(const uint8_t *in, size_t len, char *out)
{
	static const char H[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = H[in[i] >> 4];
		out[2 * i + 1] = H[in[i] & 15];
	}
	out[2 * len] = '\0';
}

void sr_sha256_hex(const void *data, size_t len, char out[65])
{
	uint8_t digest[crypto_hash_sha256_BYTES];

	ensure_sodium();
	crypto_hash_sha256(digest, data, len); /* FIPS 180-4 SHA-256 */
	sr_hex(digest, sizeof digest, out);
}

int sr_ct_equal(const void *a, const void *b, size_t len)
{
	ensure_sodium();
	return sodium_memcmp(a, b, len) == 0 ? 1 : 0;
}

long long sr_now(void)
{
	return (long long)time(NULL);
}

bool sr_statement_descriptor_ok(const char *s, size_t len, size_t min_len)
{
	bool letter = false;
	size_t i;

	if (s == NULL || len < min_len || len > SR_STATEMENT_DESCRIPTOR_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
			letter = true;
		else if (c == '\0' || (!(c >= '0' && c <= '9') && strchr(" .,_-?+/", c) == NULL))
			return false;
	}
	return letter;
}
