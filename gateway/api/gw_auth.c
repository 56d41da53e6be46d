/*
 * gw_auth: Bearer secret-key authentication.
 */
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_route.h"
#include "gateway/api/gw_source.h"
#include "gateway/gw_app.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/store/gw_store_keys.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/store/gw_store.h"
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_metrics.h"
#include "common/sr_util.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

bool gw_auth_secret_key_shape_ok(const char *key)
{
	size_t n, i;

	if (key == NULL || (strncmp(key, "sk_test_", 8) != 0 && strncmp(key, "sk_live_", 8) != 0))
		return false;
	n = strlen(key + 8);
	if (n < 20 || n > 64)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)key[8 + i];

		if (!isascii(c) || !isalnum(c))
			return false;
	}
	return true;
}

/* Whether ki may be used from the request's client address (gw_req_ctx's
 * source, ADR 0119); otherwise replies 403 api_key_source_not_allowed,
 * counts it, and names the address as the audit record's target. */
static bool source_allowed(struct sr_http_request *req, const struct gw_key_info *ki)
{
	static const char *const labels[] = { "reason", NULL };
	struct gw_req_ctx *ctx = gw_req_ctx();
	struct gw_cidr list[GW_CIDR_MAX];
	struct gw_cidr client;
	size_t n = 0, bad = 0;
	const char *reason = NULL;

	if (ki->sources[0] == '\0')
		return true;
	if (gw_cidr_list_parse(ki->sources, list, GW_CIDR_MAX, &n, &bad) != 0) {
		/* Written canonical by gatewayctl: refuse rather than guess. */
		sr_log(SR_LOG_ERROR, req->request_id, "auth.sources_invalid", "{s:I, s:I}", "key_id",
		       (json_int_t)ki->id, "entry", (json_int_t)bad);
		reason = "list_invalid";
	} else if (ctx->source[0] == '\0' || gw_addr_parse(ctx->source, &client) != 0) {
		reason = "source_unknown";
	} else if (gw_cidr_list_contains(list, n, &client)) {
		return true;
	} else {
		reason = "not_allowed";
	}
	sr_metrics_add(sr_metrics_counter("strongroom_api_key_source_refused_total",
	                                  "Requests refused: the API key may not be used from the "
	                                  "client's address (ADR 0119).", labels),
	               1, reason);
	sr_log(SR_LOG_WARN, req->request_id, "auth.source_refused", "{s:s, s:I, s:s, s:s, s:s}",
	       "merchant", ki->merchant_id, "key_id", (json_int_t)ki->id, "source",
	       ctx->source[0] != '\0' ? ctx->source : "unknown", "peer",
	       req->client[0] != '\0' ? req->client : "unknown", "reason", reason);
	snprintf(ctx->target, sizeof ctx->target, "source:%s",
	         ctx->source[0] != '\0' ? ctx->source : "unknown");
	sr_http_reply_error(req, 403, "authentication_error", "api_key_source_not_allowed",
	                    "This API key may not be used from this address.", NULL);
	return false;
}

int gw_auth_merchant(struct gw_app *app, struct sr_http_request *req, char *merchant_id,
                     size_t len)
{
	const char *key = sr_http_bearer(req);
	PGconn *conn = NULL;
	struct gw_req_ctx *ctx = gw_req_ctx();
	struct gw_key_info ki;
	char sha[65];
	int r;
	int rc = -1;

	if (!gw_auth_secret_key_shape_ok(key)) {
		/* PCI DSS v4.0 8.3.1: every access is authenticated. A pk_ key is
		 * refused here too: the merchant API needs the secret key. */
		sr_log(SR_LOG_INFO, req->request_id, "auth.refused", "{s:s}", "reason",
		       key == NULL ? "missing" : "malformed");
		sr_http_reply_error(req, 401, "authentication_error", "invalid_api_key",
		                    "Invalid API key provided: use your secret key (sk_...).", NULL);
		goto out;
	}
	sr_sha256_hex(key, strlen(key), sha);
	conn = sr_db_acquire(app->db);
	r = gw_store_key_lookup(conn, sha, &ki);
	sr_db_release(app->db, conn);
	if (r < 0) {
		sr_http_reply_error(req, 500, "api_error", "internal_error",
		                    "An internal error occurred.", NULL);
		goto out;
	}
	if (r == 1 || strcmp(ki.kind, "secret") != 0) {
		sr_log(SR_LOG_INFO, req->request_id, "auth.refused", "{s:s}", "reason", "unknown_key");
		sr_http_reply_error(req, 401, "authentication_error", "invalid_api_key",
		                    "Invalid API key provided: use your secret key (sk_...).", NULL);
		goto out;
	}
	gw_strlcpy(merchant_id, ki.merchant_id, len);
	{
		char key_id[24];

		snprintf(key_id, sizeof key_id, "%lld", (long long)ki.id);
		sr_http_set_principal(req, ki.merchant_id, key_id);
	}
	gw_strlcpy(ctx->merchant, ki.merchant_id, sizeof ctx->merchant);
	gw_strlcpy(ctx->role, ki.role, sizeof ctx->role);
	ctx->key_id = ki.id;
	/* A rolled key's overlap is over (by the database's clock, from its
	 * expiry instant on; ADR 0119). */
	if (ki.expired) {
		sr_log(SR_LOG_INFO, req->request_id, "auth.refused", "{s:s, s:I}", "reason", "expired",
		       "key_id", (json_int_t)ki.id);
		sr_http_reply_error(req, 401, "authentication_error", "api_key_expired",
		                    "This API key has expired: use the key that replaced it.", NULL);
		goto out;
	}
	/* Issue 28: before anything else is done for the key (merchant rate
	 * limit, role, body validation, idempotency), where it is used from. */
	if (!source_allowed(req, &ki))
		goto out;
	/* ADR 0109: the limit follows the merchant, whichever of its keys. */
	if (gw_route_rate_limit(req, app->ratelimit, "merchant", ki.merchant_id))
		goto out;
	/* Least privilege (PCI DSS v4.0 7.2.2): the key's role must grant what
	 * the route needs; the refusal is audited by gw_route. */
	if ((gw_role_perms(ki.role) & ctx->need) != ctx->need) {
		sr_log(SR_LOG_WARN, req->request_id, "auth.role_refused", "{s:s, s:I, s:s}", "merchant",
		       ki.merchant_id, "key_id", (json_int_t)ki.id, "role", ki.role);
		sr_http_reply_error(req, 403, "authentication_error", "insufficient_role",
		                    "This API key's role does not allow this request.", NULL);
		goto out;
	}
	/* Its last use, written at most once a minute per key (ADR 0119). */
	if (ki.touch_due) {
		conn = sr_db_acquire(app->db);
		if (gw_store_key_touch(conn, ki.id, ctx->source) < 0)
			sr_log(SR_LOG_WARN, req->request_id, "auth.last_used_failed", NULL);
		sr_db_release(app->db, conn);
	}
	rc = 0;
out:
	sodium_memzero(sha, sizeof sha);
	return rc;
}

int gw_auth_key_generate(const char *prefix, char *key, size_t keylen, char sha[65],
                         char display[16])
{
	if (sr_random_id(prefix, GW_KEY_RANDOM_BYTES, key, keylen) != 0)
		return -1;
	sr_sha256_hex(key, strlen(key), sha);
	gw_strlcpy(display, key, 13);
	return 0;
}
