/*
 * formenc: application/x-www-form-urlencoded bodies built in a caller-owned
 * buffer (which may be libsodium guarded memory: the values can be a PAN).
 * Names and values are percent-encoded per RFC 3986 section 2.1: only the
 * unreserved set (ALPHA / DIGIT / "-" / "." / "_" / "~", section 2.3) is
 * kept; every other octet becomes %XX (uppercase hex).
 */
#ifndef VAULT_CONNECTORS_FORMENC_H
#define VAULT_CONNECTORS_FORMENC_H
#include <stddef.h>

/**
 * Append "name=value" (with a leading '&' when *len > 0) to buf.
 * @param buf  buffer of cap bytes, kept NUL-terminated.
 * @param len  in/out: current length (excluding the NUL).
 * @return 0, or -1 when it does not fit (buf is then left as it was, with the
 *         partially written tail wiped).
 */
int vault_form_append(char *buf, size_t cap, size_t *len, const char *name, const char *value);

/**
 * Percent-encode src (srclen bytes) into dst (cap bytes, NUL-terminated).
 * @return the encoded length, or -1 when dst is too small.
 */
long vault_pct_encode(char *dst, size_t cap, const char *src, size_t srclen);

#endif
