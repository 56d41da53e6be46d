/*
 * vault_pkcache: a short-lived in-process cache of publishable key ->
 * merchant (by the key's SHA-256, never the key), so that tokenization does
 * not query the database twice per request (make bench). Only successful
 * lookups are cached, for VAULT_PKCACHE_TTL seconds; PUT /v1/merchants/{id}
 * clears the cache of the vaultd that served it, so a replaced key stops
 * working at once there and within VAULT_PKCACHE_TTL in any other process.
 * Fixed size, thread-safe (one mutex).
 */
#ifndef VAULT_PKCACHE_H
#define VAULT_PKCACHE_H
#include <stddef.h>

#define VAULT_PKCACHE_TTL 10.0   /* seconds */

struct vault_pkcache;

/** @return a cache of slots entries, or NULL. */
struct vault_pkcache *vault_pkcache_new(size_t slots);
void vault_pkcache_free(struct vault_pkcache *c);

/**
 * Look up pk_sha256_hex (64 hex chars) at time now (monotonic seconds).
 * @return 1 and the merchant id in mid (capacity mid_cap), or 0. NULL c: 0.
 */
int vault_pkcache_get(struct vault_pkcache *c, const char *pk_sha256_hex, double now, char *mid,
                      size_t mid_cap);

/** Remember pk_sha256_hex -> mid from now on (for VAULT_PKCACHE_TTL). NULL c: no-op. */
void vault_pkcache_put(struct vault_pkcache *c, const char *pk_sha256_hex, const char *mid,
                       double now);

/** Forget every entry (a merchant's key changed in this process). NULL c: no-op. */
void vault_pkcache_clear(struct vault_pkcache *c);

#endif
