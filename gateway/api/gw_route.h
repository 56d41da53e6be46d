/*
 * gw_route: what runs around every merchant API handler (issue 4): the
 * request context (permission the route needs), the per-key, per-endpoint
 * rate limit (429 rate_limit_error with Retry-After), and the audit record of
 * every state-changing request and every refusal (gw_audit).
 */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H
#include "common/sr_http.h"

/**
 * Run handler for req: need is the GW_PERM_* the route requires (checked by
 * gw_auth_merchant), action the route's name for the audit trail
 * ("POST /v1/payments/{}/capture").
 */
void gw_route_run(struct sr_http_request *req, sr_http_handler handler, unsigned need,
                  const char *action);

/* Declare a wrapped handler NAME_route for the routing table. */
#define GW_ROUTE(handler, need, action) \
	static void handler##_route(struct sr_http_request *req) \
	{ \
		gw_route_run(req, handler, need, action); \
	}

#endif
