/*
 * vault_ratelimit: token-bucket rate limits for the public listener
 * (issue 3: per publishable key and per client address; 429 with
 * Retry-After, RFC 6585 section 4 and RFC 9110 section 10.2.3).
 *
 * Each limiter holds a fixed table of buckets (no allocation per request,
 * memory bounded whatever the number of clients); a key maps to a slot by
 * a keyed hash (libsodium crypto_shorthash with a random key, so clients
 * cannot aim collisions at a victim's bucket), then the first free slot of
 * a window of 8. A slot is reused only when empty or when its bucket has
 * refilled to the burst (forgetting it changes nothing): a collision never
 * hands a limited client a fresh burst (ADR 0109). When the whole window is
 * partly spent buckets, a new key is admitted untracked, as a fresh bucket
 * would admit it. Memory is bounded whatever the number of clients.
 * Thread-safe (one mutex per limiter).
 */
#ifndef VAULT_RATELIMIT_H
#define VAULT_RATELIMIT_H
#include <stddef.h>

struct vault_ratelimit;

/**
 * @param per_second refill rate, requests/s; 0 disables the limiter
 *        (vault_ratelimit_take then always admits).
 * @param burst bucket capacity (>= 1 when enabled).
 * @param slots table size (e.g. 4096).
 * @return limiter, or NULL on allocation failure.
 */
struct vault_ratelimit *vault_ratelimit_new(double per_second, double burst, size_t slots);
void vault_ratelimit_free(struct vault_ratelimit *rl);

/**
 * Take one request for key at time now (seconds, monotonic).
 * @return 0 admitted; otherwise the whole seconds (>= 1) after which a
 *         retry will be admitted, for Retry-After. NULL rl admits.
 */
long vault_ratelimit_take(struct vault_ratelimit *rl, const char *key, double now);

#endif
