/*
 * formenc: RFC 3986 percent-encoding for form bodies (see formenc.h).
 */
#include "vault/connectors/formenc.h"

#include <string.h>

#include <sodium.h>

static int unreserved(unsigned char c)
{
	/* RFC 3986 section 2.3 */
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
	       || c == '-' || c == '.' || c == '_' || c == '~';
}

long vault_pct_encode(char *dst, size_t cap, const char *src, size_t srclen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	size_t i = 0;
	unsigned char c = 0;

	if (dst == NULL || cap == 0 || (src == NULL && srclen != 0))
		return -1;
	for (i = 0; i < srclen; i++) {
		c = (unsigned char)src[i];
		if (unreserved(c)) {
			if (o + 1 >= cap)
				goto full;
			dst[o++] = (char)c;
		} else {
			if (o + 3 >= cap)
				goto full;
			dst[o++] = '%';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0x0f];
		}
	}
	dst[o] = '\0';
	return (long)o;
full:
	sodium_memzero(dst, o);
	dst[0] = '\0';
	return -1;
}

int vault_form_append(char *buf, size_t cap, size_t *len, const char *name, const char *value)
{
	size_t start = 0;
	size_t o = 0;
	long n = 0;

	if (buf == NULL || len == NULL || name == NULL || value == NULL || *len >= cap)
		return -1;
	start = *len;
	o = start;
	if (o > 0) {
		if (o + 1 >= cap)
			goto full;
		buf[o++] = '&';
	}
	n = vault_pct_encode(buf + o, cap - o, name, strlen(name));
	if (n < 0)
		goto full;
	o += (size_t)n;
	if (o + 1 >= cap)
		goto full;
	buf[o++] = '=';
	n = vault_pct_encode(buf + o, cap - o, value, strlen(value));
	if (n < 0)
		goto full;
	o += (size_t)n;
	buf[o] = '\0';
	*len = o;
	return 0;
full:
	sodium_memzero(buf + start, cap - start);
	return -1;
}
