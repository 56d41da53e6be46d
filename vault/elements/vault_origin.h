/*
 * vault_origin: the browser origins a merchant registered (issue 6), their
 * syntax, their storage (table merchant_origins, migration 0010) and the CORS
 * rules of the public listener.
 *
 * An origin is the serialization of RFC 6454 section 6.2 that browsers send in
 * the Origin header: "https://host" or "https://host:port", lowercase host,
 * no default port, no path, no trailing slash. Registered origins are kept in
 * exactly that form so that a check is one exact string comparison.
 *
 * Used for (PCI DSS v4.0 6.4.3, SAQ A eligibility):
 *   - Content-Security-Policy frame-ancestors of the hosted card fields,
 *   - Access-Control-Allow-Origin on POST /v1/tokens (Fetch standard, CORS
 *     protocol), echoed exactly, never "*".
 */
#ifndef VAULT_ORIGIN_H
#define VAULT_ORIGIN_H
#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>

#include "common/sr_http.h"

/** Longest origin accepted (scheme + 253-byte host + ":65535"). */
#define VAULT_ORIGIN_MAX 270
/** Most origins one merchant may register. */
#define VAULT_ORIGINS_PER_MERCHANT 16

/**
 * True when s is a canonical serialized origin we accept for registration:
 * "https://" + host [":" port], or "http://" only for the loopback hosts
 * localhost and 127.0.0.1 (development); host is lowercase DNS labels
 * (a-z, 0-9, '-', 1..63 bytes, no leading/trailing '-') or a dotted IPv4
 * address; port 1..65535 without leading zeros and not the scheme's default
 * (443/80, which browsers omit). NULL is false.
 */
bool vault_origin_valid(const char *s);

/**
 * Replace the registered origins of merchant_id with origins[0..n-1]
 * (each already vault_origin_valid, no duplicates) in the caller's
 * transaction. n = 0 removes them all. @return 0 or -1 (err filled).
 */
int vault_store_origins_replace(PGconn *db, const char *merchant_id,
                                const char *const *origins, size_t n, char *err, size_t errlen);

/**
 * Is origin registered for merchant_id? @return 1 yes, 0 no, -1 error.
 */
int vault_store_origin_allowed(PGconn *db, const char *merchant_id, const char *origin,
                               char *err, size_t errlen);

/**
 * Is origin registered by any merchant (CORS preflights carry no key)?
 * @return 1 yes, 0 no, -1 error.
 */
int vault_store_origin_known(PGconn *db, const char *origin, char *err, size_t errlen);

/**
 * The merchant owning the publishable key whose SHA-256 hex is pk_sha256_hex,
 * and whether origin is registered for it, in one query.
 * @param mid_out capacity >= VAULT_MERCHANT_ID_MAX + 1, "" when not found.
 * @return 1 merchant found and origin registered, 0 merchant found but origin
 *         not registered, -2 no such key, -1 database error.
 */
int vault_store_merchant_origin_by_pk(PGconn *db, const char *pk_sha256_hex, const char *origin,
                                      char *mid_out, size_t mid_cap, char *err, size_t errlen);

/**
 * True when the request is a cross-origin browser request: it carries an
 * Origin header that is not the vault's own origin ("https://" + Host).
 * Same-origin requests (the hosted fields' iframe) and non-browser clients
 * (no Origin header) are not subject to CORS. *origin_out is the header or NULL.
 */
bool vault_cors_cross_origin(const struct sr_http_request *req, const char **origin_out);

/**
 * Add the CORS response headers for an allowed origin to the reply about to
 * be sent: Access-Control-Allow-Origin (exact echo), Vary: Origin.
 */
void vault_cors_allow(struct sr_http_request *req, const char *origin);

#endif
