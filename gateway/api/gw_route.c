/*
 * gw_route: context, rate limit and audit around handlers (gw_route.h).
 */
#include "gateway/api/gw_route.h"
#include "gateway/gw_app.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/store/gw_store.h"
#include "gateway/api/gw_ratelimit.h"
#include "gateway/api/gw_request.h"
#include "gateway/api/gw_source.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/payments/gw_idempotency.h"
#include "common/sr_db.h"
#include "common/sr_log.h"
#include "common/sr_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The client address of req into source[46] ("" unknown): the TCP peer
 * sr_http read once for the request, or, from a trusted proxy, what its
 * X-Forwarded-For says (ADR 0119). */
static void client_source(const struct gw_app *app, struct sr_http_request *req,
                          char *source, size_t len)
{
	char xff[4097];
	struct gw_cidr c;
	int lines = 0;

	source[0] = '\0';
	if (app->n_trusted_proxies > 0)
		lines = sr_http_header_all(req, "X-Forwarded-For", xff, sizeof xff);
	if (lines < 0 ||
	    gw_source_client(req->client, lines > 0 ? xff : NULL, app->trusted_proxies,
	                     app->n_trusted_proxies, &c) != 0 ||
	    gw_cidr_format(&c, true, source, len) != 0)
		source[0] = '\0';
}

/* The client address a pre-authentication limit is keyed on: the client
 * address (the TCP peer when unknown), an IPv6 address cut to its /64 (one
 * host's usual allocation). */
static void client_key(const struct sr_http_request *req, const char *source, char *out,
                       size_t outlen)
{
	struct in6_addr a6;
	const char *addr = source[0] != '\0' ? source : req->client;

	snprintf(out, outlen, "%s", addr[0] != '\0' ? addr : "unknown");
	if (addr[0] == '\0')
		return;
	if (inet_pton(AF_INET6, out, &a6) == 1 && !IN6_IS_ADDR_V4MAPPED(&a6)) {
		memset(&a6.s6_addr[8], 0, 8);
		inet_ntop(AF_INET6, &a6, out, (socklen_t)outlen);
	}
}

/* The query parameters each route reads (issue 19): any other one is
 * refused like an unknown body parameter (400 parameter_unknown), so a
 * mistyped filter never silently widens a list. A route not listed here
 * takes none. */
#define Q_PAGE "limit", "starting_after", "ending_before", "created[gte]", "created[lte]"
static const char *const Q_PAYMENTS_LIST[] = { Q_PAGE, "status", NULL };
static const char *const Q_REFUNDS_LIST[] = { Q_PAGE, "payment", NULL };
static const char *const Q_EVENTS_LIST[] = { Q_PAGE, "type", NULL };
static const char *const Q_CUSTOMERS_LIST[] = { Q_PAGE, "email", NULL };
static const char *const Q_LIST[] = { Q_PAGE, NULL };
static const char *const Q_LIMIT[] = { "limit", NULL };
static const struct {
	const char *action;
	const char *const *names;
} ROUTE_QUERY[] = {
	{ "GET /v1/payments", Q_PAYMENTS_LIST },
	{ "GET /v1/refunds", Q_REFUNDS_LIST },
	{ "GET /v1/disputes", Q_REFUNDS_LIST },
	{ "GET /v1/payments/{}/refunds", Q_LIST },
	{ "GET /v1/events", Q_EVENTS_LIST },
	{ "GET /v1/customers", Q_CUSTOMERS_LIST },
	{ "GET /v1/webhook_endpoints/{}/deliveries", Q_LIMIT },
};

static const char *const *route_query(const char *action)
{
	size_t i;

	for (i = 0; action != NULL && i < sizeof ROUTE_QUERY / sizeof ROUTE_QUERY[0]; i++) {
		if (strcmp(ROUTE_QUERY[i].action, action) == 0)
			return ROUTE_QUERY[i].names;
	}
	return NULL;
}

int gw_route_rate_limit(struct sr_http_request *req, struct gw_ratelimit *rl, const char *what,
                        const char *key)
{
	struct gw_req_ctx *ctx = gw_req_ctx();
	const char *action = ctx->action != NULL ? ctx->action : req->path;
	char retry[16];
	int wait;

	if (rl == NULL)
		return 0;
	wait = gw_ratelimit_take(rl, key, action);
	if (wait <= 0)
		return 0;
	snprintf(retry, sizeof retry, "%d", wait);
	sr_log(SR_LOG_WARN, req->request_id, "ratelimit.refused", "{s:s, s:s, s:s}", "endpoint",
	       action, "limit", what, what, key);
	sr_http_add_header(req, "Retry-After", retry);
	sr_http_reply_error(req, 429, "rate_limit_error", "rate_limited",
	                    "Too many requests on this endpoint; retry after the delay in "
	                    "Retry-After.", NULL);
	return 1;
}

void gw_route_run(struct sr_http_request *req, sr_http_handler handler, unsigned need,
                  const char *action)
{
	struct gw_app *app = req->app;
	struct gw_req_ctx *ctx = gw_req_ctx();
	struct gw_audit_record rec;
	char client[INET6_ADDRSTRLEN];
	PGconn *conn = NULL;
	unsigned status;
	int is_write = strcmp(req->method, "GET") != 0;
	struct gw_error qerr;
	const char *unknown = NULL;
	const char *idem = NULL;

	memset(ctx, 0, sizeof *ctx);
	ctx->need = need;
	ctx->action = action;
	gw_strlcpy(ctx->request_id, req->request_id, sizeof ctx->request_id);
	idem = sr_http_header(req, "Idempotency-Key");
	if (idem != NULL && gw_idem_key_check(idem, &qerr) == 0)
		gw_strlcpy(ctx->request_idem_key, idem, sizeof ctx->request_idem_key);
	/* Before authentication, per client address (PSP webhooks, which carry
	 * no API key, too: per sender); per merchant in gw_auth_merchant. */
	client_source(app, req, ctx->source, sizeof ctx->source);
	client_key(req, ctx->source, client, sizeof client);
	if (gw_route_rate_limit(req, app->ratelimit_ip, "address", client))
		goto audit;
	unknown = sr_http_query_unknown(req, route_query(action));
	if (unknown != NULL) {
		gw_error_unknown_param(&qerr, unknown);
		sr_http_reply_error(req, qerr.status, qerr.type, qerr.code, qerr.message, qerr.param);
		goto audit;
	}
	handler(req);
audit:
	status = sr_http_reply_status(req);
	/* Every state-changing request and every refusal (PCI DSS v4.0 10.2.1). */
	if (!is_write && status < 400)
		goto out;
	memset(&rec, 0, sizeof rec);
	rec.merchant_id = ctx->merchant;
	rec.key_id = ctx->key_id;
	rec.role = ctx->role;
	rec.request_id = req->request_id;
	rec.action = action;
	/* A path id is audited only when it is exactly one of our ids (its
	 * alphabet and length), never as the client wrote it. */
	rec.target = ctx->target[0] != '\0' ? ctx->target
	             : gw_id_shape_ok(req->params[0], "pay_") || gw_id_shape_ok(req->params[0], "re_")
	             ? req->params[0] : NULL;
	rec.provider = ctx->provider;
	rec.status = (int)status;
	rec.result = status >= 200 && status < 300 ? "success" : status >= 500 || status == 0 ? "error"
	             : "refused";
	rec.reason = sr_http_reply_error_code(req);
	conn = sr_db_acquire(app->db);
	if (gw_audit_append(conn, &rec) != 0) {
		/* Neither in the chain nor spooled (issue 16): the record's fields
		 * go to the log, and the request is not reported done. */
		sr_log(SR_LOG_ERROR, req->request_id, "audit.append_failed",
		       "{s:s, s:s?, s:s?, s:s, s:i, s:s?}", "action", action, "merchant",
		       rec.merchant_id, "target", rec.target, "result", rec.result, "status",
		       rec.status, "reason", rec.reason);
		sr_http_reply_reset(req);
		sr_http_add_header(req, "Retry-After", "5");
		sr_http_reply_error(req, 503, "api_error", "audit_unavailable",
		                    "The request could not be recorded in the audit trail. It may have "
		                    "taken effect: retry with the same Idempotency-Key to get its outcome.",
		                    NULL);
		/* The answer is not the truth for the key: no save; a claim with a
		 * payment ends its lease, one without is released. */
		if (ctx->idem_body != NULL &&
		    gw_store_idem_release(conn, ctx->idem_merchant, ctx->idem_key) != 0)
			sr_log(SR_LOG_ERROR, req->request_id, "idempotency.release_failed", NULL);
	} else if (ctx->idem_body != NULL &&
	           gw_store_idem_complete(conn, ctx->idem_merchant, ctx->idem_key, ctx->idem_status,
	                                  ctx->idem_body) != 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "idempotency.save_failed", NULL);
	}
	sr_db_release(app->db, conn);
out:
	if (ctx->idem_body != NULL && conn == NULL) {
		/* A read that saves a response (none today): saved without an audit record. */
		conn = sr_db_acquire(app->db);
		if (gw_store_idem_complete(conn, ctx->idem_merchant, ctx->idem_key, ctx->idem_status,
		                           ctx->idem_body) != 0)
			sr_log(SR_LOG_ERROR, req->request_id, "idempotency.save_failed", NULL);
		sr_db_release(app->db, conn);
	}
	free(ctx->idem_body);
	memset(ctx, 0, sizeof *ctx);
}
