/*
 * vault_token: token and merchant identifiers.
 *
 * A token id is "tok_" followed by 22 base62 characters encoding 16 bytes
 * from libsodium's CSPRNG (128 bits, never derived from the PAN:
 * invariant 3, docs/invariants.md, PCI DSS v4.0 3.5.1 "index tokens").
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
#define VAULT_CARD_PREFIX      "card_"
#define VAULT_CARD_LEN         (5 + VAULT_TOKEN_RAND_CHARS)   /* 27 */
#define VAULT_ANY_TOKEN_MAX    VAULT_CARD_LEN                 /* longest id of either kind */
#define VAULT_CUSTOMER_MAX     64
#define VAULT_LEGACY_MIN       16
#define VAULT_LEGACY_MAX       19

/**
 * Make a new token id into out (capacity outlen >= VAULT_TOKEN_LEN + 1).
 * @return 0, or -1 when outlen is too small.
 */
int vault_token_new(char *out, size_t outlen);

/** True when s is "tok_" + exactly 22 characters of [0-9A-Za-z]. NULL -> false. */
bool vault_token_id_valid(const char *s);

/**
 * Make a new reusable card token id, "card_" + 22 base62 characters of 16
 * CSPRNG bytes, into out (capacity >= VAULT_CARD_LEN + 1). 0 or -1.
 */
int vault_card_token_new(char *out, size_t outlen);

/** True when s is "card_" + exactly 22 characters of [0-9A-Za-z]. NULL -> false. */
bool vault_card_token_id_valid(const char *s);

/** vault_token_id_valid(s) || vault_card_token_id_valid(s). */
bool vault_any_token_id_valid(const char *s);

/** True when s is a customer reference: 1..64 characters of [0-9A-Za-z_-]
 * holding no card number in any shape (common/sr_panscan: it is kept in
 * clear in tokens.customer; ADR 0106). */
bool vault_customer_id_valid(const char *s);

/**
 * How many leading digits of a PAN of pan_len digits a masked or truncated
 * form may show (the last 4 are always shown): 6 for 16 digits and more,
 * pan_len - 10 below, so at least 6 digits always stay hidden (13 -> 3,
 * 14 -> 4, 15 -> 5). PCI DSS v4.0 3.3.1, 3.4.1; PCI SSC FAQ 1091.
 */
size_t vault_pan_lead_shown(size_t pan_len);

/**
 * Format-preserving token ("legacy number") for a PAN of pan_len digits:
 * max(16, pan_len) digits that keep the PAN's first vault_pan_lead_shown()
 * digits (the BIN for 16 digits and more) and last 4,
 * with CSPRNG digits in between, adjusted so that the whole FAILS the Luhn
 * check (ISO/IEC 7812-1 Annex B) and can never be mistaken for a PAN.
 * Callers retry on a collision (unique column).
 * @param pan digits (guarded memory, borrowed, not kept).
 * @param out capacity >= VAULT_LEGACY_MAX + 1.
 * @return 0, or -1 on bad input (pan_len outside VAULT_PAN_MIN..VAULT_PAN_MAX, 12..19; non-digits).
 */
int vault_legacy_number_new(const char *pan, size_t pan_len, char *out, size_t outlen);

/** True when s is 16..19 ASCII digits that fail the Luhn check. */
bool vault_legacy_number_valid(const char *s);

/**
 * True when s is "mer_" + 1..64 characters of [0-9A-Za-z] (the shape the
 * gateway issues). NULL -> false.
 */
bool vault_merchant_id_valid(const char *s);

#endif
