/*
 * gw_webhook: the pure parts of webhooks to merchants (issue 5), no I/O
 * except the key file: the merchant event names and the mapping from the
 * gateway's internal payment event types, the Strongroom-Signature header,
 * the retry schedule, endpoint URL checks, and sealing of the per-endpoint
 * signing secrets under the gateway's webhook key (ADR 0100).
 */
#ifndef GW_WEBHOOK_H
#define GW_WEBHOOK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

#define GW_WEBHOOK_KEY_BYTES 32          /* XChaCha20-Poly1305 key */
#define GW_WEBHOOK_SECRET_MAX 64         /* "whsec_" + 43 base62 characters + NUL fits */
#define GW_WEBHOOK_SIG_MAX 160           /* "t=<unix>,v1=<64 hex>[,v1=<64 hex>]" + NUL */
#define GW_WEBHOOK_SEALED_MAX (24 + GW_WEBHOOK_SECRET_MAX + 16)
#define GW_WEBHOOK_URL_MAX 2048
#define GW_WEBHOOK_MAX_FILTERS 16

/** The merchant event names (issue 5), NULL-terminated. */
extern const char *const GW_WEBHOOK_EVENTS[];

/** Internal payment event types and the merchant event each becomes (same length, NULL-terminated). */
extern const char *const GW_WEBHOOK_MAP_INTERNAL[];
extern const char *const GW_WEBHOOK_MAP_EXTERNAL[];

/**
 * The merchant event for an internal payment event type, e.g.
 * "payment.captured" -> "payment.captured", "payment.refunded" and
 * "payment.partially_refunded" -> "refund.succeeded", "payment.refund_failed"
 * -> "refund.failed", "payment.disputed" -> "dispute.created", the dispute
 * events (dispute.updated, dispute.closed, dispute.funds_withdrawn,
 * dispute.funds_reinstated: ADR 0132) -> themselves. NULL for
 * internal steps merchants are not told about (payment.created,
 * payment.processing).
 */
const char *gw_webhook_event_name(const char *internal_type);

/** Whether s is a merchant event name or "*" (every event). */
bool gw_webhook_filter_valid(const char *s);

/**
 * The Strongroom-Signature header value for body sent at unix time t:
 * "t=<t>,v1=<lowercase hex HMAC-SHA256(secret, "<t>.<body>")>" — the scheme
 * of Stripe's webhook signatures (the HMAC key is the secret string itself,
 * RFC 2104 HMAC with SHA-256). out needs GW_WEBHOOK_SIG_MAX bytes.
 * @return 0, or -1 on a bad argument.
 */
int gw_webhook_sign(const char *secret, long long t, const char *body, size_t body_len, char *out,
                    size_t outlen);

/**
 * Delay before retry number attempt (1 = after the first failure), in ms:
 * d = min(cap_ms, base_ms * 2^(attempt-1)), then jitter takes off up to a
 * quarter: d * (1 - u/4) with u in [0,1). So every delay lies in
 * [0.75 d, d]; while d is below the cap the next delay is at least 1.5 d,
 * more than this one: delays strictly grow until the cap. u is the jitter
 * source (gw_webhook_backoff_ms_random draws it from the CSPRNG).
 */
long long gw_webhook_backoff_ms(int attempt, long long base_ms, long long cap_ms, double u);

/** gw_webhook_backoff_ms with u drawn from libsodium's CSPRNG. */
long long gw_webhook_backoff_ms_random(int attempt, long long base_ms, long long cap_ms);

/**
 * Check an endpoint URL: at most GW_WEBHOOK_URL_MAX bytes, parsed by
 * libcurl's URL API (never by hand), scheme https, a host, no user:password,
 * no fragment. Unless allow_private, the host must not be "localhost" nor a
 * literal loopback, private, link-local (cloud metadata 169.254.169.254),
 * unspecified or multicast address (the dispatcher checks resolved addresses
 * again: gw_webhook_addr_blocked). @return 0 ok, -1 refused (why: a fixed
 * message that never contains the URL).
 */
int gw_webhook_url_check(const char *url, bool allow_private, const char **why);

/**
 * Whether a connection to sa (AF_INET/AF_INET6) must be refused because it
 * is loopback, private (RFC 1918, RFC 4193), link-local, CGNAT, unspecified
 * or multicast (server-side request forgery into the appliance zone).
 */
bool gw_webhook_addr_blocked(const struct sockaddr *sa);

/**
 * Seal secret (NUL-terminated) with XChaCha20-Poly1305-IETF (libsodium) under
 * key, AAD = endpoint_id "\n" merchant_id: out = nonce(24) || ciphertext || tag(16).
 * out needs GW_WEBHOOK_SEALED_MAX bytes. @return 0, -1.
 */
int gw_webhook_seal(const uint8_t key[GW_WEBHOOK_KEY_BYTES], const char *secret,
                    const char *endpoint_id, const char *merchant_id, uint8_t *out, size_t *outlen);

/**
 * Open a sealed secret (same AAD) into guarded memory (sr_secret_alloc;
 * free with sr_secret_free, which wipes). NULL when the tag does not verify
 * (wrong key, other row, altered) or on a bad argument.
 */
char *gw_webhook_open(const uint8_t key[GW_WEBHOOK_KEY_BYTES], const uint8_t *sealed, size_t len,
                      const char *endpoint_id, const char *merchant_id);

/**
 * Read the webhook key file (64 hex characters, mode 0600, resolved against
 * $CREDENTIALS_DIRECTORY: invariant 10, docs/invariants.md) into guarded memory
 * (sr_secret_free). NULL + err (naming the path, never the content).
 */
uint8_t *gw_webhook_key_load(const char *path, char *err, size_t errlen);

#endif
