/*
 * gw_route: what runs around every merchant API handler (issue 4): the
 * request context (permission the route needs), the rate limits (429
 * rate_limit_error with Retry-After; RFC 6585 section 4): per client address
 * and endpoint before authentication, per merchant and endpoint after
 * (gw_auth_merchant; ADR 0109), and the audit record of every
 * state-changing request and every refusal (gw_audit).
 */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H
#include "common/sr_http.h"

struct gw_ratelimit;

/**
 * Run handler for req: need is the GW_PERM_* the route requires (checked by
 * gw_auth_merchant), action the route's name for the audit trail
 * ("POST /v1/payments/{}/capture").
 */
void gw_route_run(struct sr_http_request *req, sr_http_handler handler, unsigned need,
                  const char *action);

/**
 * Take one token of rl for (key, ctx action); when the bucket is empty,
 * reply 429 rate_limit_error with Retry-After (whole seconds) and log
 * ratelimit.refused with what ("address" or "merchant") and key (an
 * address or a merchant id: never a credential). NULL rl admits.
 * @return 0 admitted, 1 refused (the reply is made).
 */
int gw_route_rate_limit(struct sr_http_request *req, struct gw_ratelimit *rl, const char *what,
                        const char *key);

/* Declare a wrapped handler NAME_route for the routing table. */
#define GW_ROUTE(handler, need, action) \
	static void handler##_route(struct sr_http_request *req) \
	{ \
		gw_route_run(req, handler, need, action); \
	}

#endif
