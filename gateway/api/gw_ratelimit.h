/*
 * gw_ratelimit: per-key, per-endpoint token buckets (issue 4), in memory,
 * per gatewayd instance (behind a load balancer spreading over N instances
 * the effective limit is up to N times the configured one: see
 * docs/decisions/0021). Keys are identified by the SHA-256 of the presented
 * bearer token, never the token itself.
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
