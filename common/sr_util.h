/*
 * sr_util: small helpers that touch no secret: random identifiers, hashes,
 * hex, constant-time compare. Random bytes come from libsodium's CSPRNG.
 */
#ifndef SR_UTIL_H
#define SR_UTIL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Write prefix + base62(nbytes random bytes) into out (NUL-terminated).
 * 16 bytes give 22 base62 characters (>= 128 bits, invariant 3, docs/invariants.md).
 * @return 0, or -1 when outlen is too small.
 */
int sr_random_id(const char *prefix, size_t nbytes, char *out, size_t outlen);

/** Lowercase hex of len bytes into out (needs 2*len+1). */
void sr_hex(const uint8_t *in, size_t len, char *out);

/** SHA-256 of data as 64 lowercase hex chars + NUL into out[65]. */
void sr_sha256_hex(const void *data, size_t len, char out[65]);

/** Constant-time equality of two equal-length buffers (sodium_memcmp). 1 if equal. */
int sr_ct_equal(const void *a, const void *b, size_t len);

/** Current UNIX time in seconds. */
long long sr_now(void);

/* What a card statement shows (issue 19): Stripe's limit, and Adyen's
 * recommended maximum for shopperStatement. */
#define SR_STATEMENT_DESCRIPTOR_MAX 22

/**
 * Whether s (len bytes) may be sent as a statement descriptor to both PSPs:
 * min_len..SR_STATEMENT_DESCRIPTOR_MAX characters, at least one letter, and
 * only letters, digits, space and . , _ - ? + / (Stripe's rules: no < > \ '
 * " *, at least one letter, https://docs.stripe.com/get-started/account/statement-descriptors;
 * Adyen's shopperStatement characters, https://docs.adyen.com/api-explorer/Checkout/71/post/payments).
 * No NUL. Pure function.
 */
bool sr_statement_descriptor_ok(const char *s, size_t len, size_t min_len);

#endif
