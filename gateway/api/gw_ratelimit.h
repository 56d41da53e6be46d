/*
 * gw_ratelimit: per-key, per-endpoint token buckets (issue 4), in memory,
 * per gatewayd instance (behind a load balancer spreading over N instances
 * the effective limit is up to N times the configured one: see
 * docs/decisions/0021). gw_route keys them on the client address before
 * authentication and on the merchant after (ADR 0109); the table holds the
 * SHA-256 of key and endpoint. A slot is reused only when free or refilled
 * to the burst; when a key's window holds only partly spent buckets, the
 * key is admitted untracked rather than evicting one.
 */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H

struct gw_ratelimit;

/** rate_per_s tokens per second, burst capacity (>= 1). NULL on OOM. */
struct gw_ratelimit *gw_ratelimit_new(double rate_per_s, double burst);
void gw_ratelimit_free(struct gw_ratelimit *rl);

/**
 * Take one token for (key, endpoint). Thread-safe.
 * @return 0 allowed; otherwise the whole seconds (>= 1) to wait (Retry-After).
 */
int gw_ratelimit_take(struct gw_ratelimit *rl, const char *key, const char *endpoint);

#endif
