/*
 * vault_token: token and merchant identifiers.
 *
 * A token id is "tok_" followed by 22 base62 characters encoding 16 bytes
 * from libsodium's CSPRNG (128 bits, never derived from the PAN:
 * BRIEF invariant 3, PCI DSS v4.0 3.5.1 "index tokens").
 * Shapes are checked before any database lookup.
 */
#ifndef VAULT_TOKEN_H
#define VAULT_TOKEN_H
#include <stdbool.h>
#include <stddef.h>

#define VAULT_TOKEN_PREFIX     "tok_"
#define VAULT_TOKEN_RAND_BYTES 16
#define VAULT_TOKEN_RAND_CHARS 22
#define VAULT_TOKEN_LEN        (4 + VAULT_TOKEN_RAND_CHARS)   /* 26 */
#define VAULT_MERCHANT_ID_MAX  68                             /* "mer_" + up to 64 */

/**
 * Make a new token id into out (capacity outlen >= VAULT_TOKEN_LEN + 1).
 * @return 0, or -1 when outlen is too small.
 */
int vault_token_new(char *out, size_t outlen);

/** True when s is "tok_" + exactly 22 characters of [0-9A-Za-z]. NULL -> false. */
bool vault_token_id_valid(const char *s);

/**
 * True when s is "mer_" + 1..64 characters of [0-9A-Za-z] (the shape the
 * gateway issues). NULL -> false.
 */
bool vault_merchant_id_valid(const char *s);

#endif
