/*
 * gw_route: context, rate limit and audit around handlers (gw_route.h).
 */
#include "gateway/api/gw_route.h"
#include "gateway/gw_app.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/api/gw_ratelimit.h"
#include "common/sr_db.h"
#include "common/sr_log.h"
#include "common/sr_util.h"

#include <stdio.h>
#include <string.h>

void gw_route_run(struct sr_http_request *req, sr_http_handler handler, unsigned need,
                  const char *action)
{
	struct gw_app *app = req->app;
	struct gw_req_ctx *ctx = gw_req_ctx();
	struct gw_audit_record rec;
	const char *bearer = NULL;
	char keyhash[65];
	char retry[16];
	PGconn *conn = NULL;
	unsigned status;
	int is_write = strcmp(req->method, "GET") != 0;
	int wait;

	memset(ctx, 0, sizeof *ctx);
	ctx->need = need;
	if (app->ratelimit != NULL) {
		bearer = sr_http_bearer(req);
		sr_sha256_hex(bearer != NULL ? bearer : "", bearer != NULL ? strlen(bearer) : 0, keyhash);
		wait = gw_ratelimit_take(app->ratelimit, keyhash, action);
		if (wait > 0) {
			snprintf(retry, sizeof retry, "%d", wait);
			sr_log(SR_LOG_WARN, req->request_id, "ratelimit.refused", "{s:s, s:s}", "endpoint", action,
			       "key", keyhash);
			sr_http_add_header(req, "Retry-After", retry);
			sr_http_reply_error(req, 429, "rate_limit_error", "rate_limited",
			                    "Too many requests with this key on this endpoint; retry after the "
			                    "delay in Retry-After.", NULL);
			goto audit;
		}
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
	rec.target = ctx->target[0] != '\0' ? ctx->target
	             : (req->params[0] != NULL && strlen(req->params[0]) < 72 &&
	                (strncmp(req->params[0], "pay_", 4) == 0 || strncmp(req->params[0], "re_", 3) == 0))
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
	}
	sr_db_release(app->db, conn);
out:
	memset(ctx, 0, sizeof *ctx);
}
