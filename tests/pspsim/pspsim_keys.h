/*
 * pspsim_keys: merchants' own API keys at the simulated PSP (issue 5), so a
 * test can prove which key authenticated a call. Only SHA-256 hashes and
 * last 4 characters are kept. Test code (pspsim only). Thread-safe.
 */
#ifndef PSPSIM_KEYS_H
#define PSPSIM_KEYS_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/**
 * Register key (8..256 visible ASCII) and the merchant account it may act
 * for (account: 1..127 of [A-Za-z0-9_.-], or NULL: none; issue 15: the
 * vault proves a merchant's registration with it). Registering a key again
 * sets its account. @return 0, or -1 when malformed/full.
 */
int psim_keys_register(const char *key, const char *account);

/**
 * Register a key read back from the journal (pspsim_store.h, kind
 * "api_key"): hash (64 hex, its SHA-256), last4, account ("" none). The
 * caller of psim_keys_register must psim_store_wait() before answering.
 * @return 0, or -1 when malformed/full.
 */
int psim_keys_restore(const char *hash, const char *last4, const char *account);

/**
 * Whether key is a registered key (constant-time on the hash); counts the
 * call. account (may be NULL) receives the account registered with it ("" when none).
 */
bool psim_keys_check(const char *key, char *account, size_t cap);

/** Count a call made with the platform key. */
void psim_keys_count_platform(void);

/**
 * Set the notification HMAC key (hex, 64..128 hex digits) the PSP signs
 * account's notifications with, as the account's owner configures it in
 * Adyen's Customer Area (issue 15, ADR 0107). Kept decoded in guarded memory.
 * @return 0, or -1 when malformed/full.
 */
int psim_keys_set_hmac(const char *account, const char *hex_key);

/**
 * Copy account's decoded HMAC key into key[cap] (*len set). @return 0, or -1
 * when none is configured for it (the caller wipes key).
 */
int psim_keys_hmac(const char *account, unsigned char *key, size_t cap, size_t *len);

/** {"platform": n, "<last4>": n, ...}: calls authenticated per key. New reference. */
json_t *psim_keys_stats(void);

#endif
