/*
 * gw_idempotency: Idempotency-Key handling (invariant 8, docs/invariants.md).
 */
#include "gateway/payments/gw_idempotency.h"
#include "gateway/gw_app.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/store/gw_store.h"
#include "gateway/store/gw_store_lifecycle.h"
#include "common/sr_config.h"
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_metrics.h"
#include "common/sr_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

int gw_idem_key_check(const char *key, struct gw_error *err)
{
	size_t n, i;

	if (err != NULL) {
		err->status = 400;
		err->type = "invalid_request_error";
		err->param = NULL;
	}
	n = key != NULL ? strlen(key) : 0;
	if (n > GW_IDEM_KEY_MAX) {
		if (err != NULL) {
			err->code = "idempotency_key_too_long";
			err->message = "Idempotency-Key must be at most 255 characters.";
		}
		return -1;
	}
	for (i = 0; i < n; i++)
		if (key[i] < 0x20 || key[i] > 0x7e)
			break;
	if (n == 0 || i != n) {
		if (err != NULL) {
			err->code = "idempotency_key_invalid";
			err->message = "Idempotency-Key must be 1 to 255 printable ASCII characters.";
		}
		return -1;
	}
	return 0;
}

int gw_idem_fingerprint(const char *method, const char *path, const json_t *body, char out[65])
{
	char *canon = NULL;
	char *buf = NULL;
	size_t n;
	int rc = -1;

	if (method == NULL || path == NULL)
		goto out;
	if (body != NULL) {
		canon = json_dumps(body, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
		if (canon == NULL)
			goto out;
	}
	n = strlen(method) + strlen(path) + (canon != NULL ? strlen(canon) : 0) + 3;
	buf = malloc(n);
	if (buf == NULL)
		goto out;
	snprintf(buf, n, "%s\n%s\n%s", method, path, canon != NULL ? canon : "");
	sr_sha256_hex(buf, strlen(buf), out);
	rc = 0;
out:
	free(canon);
	free(buf);
	return rc;
}

static json_t *error_body(const struct sr_http_request *req, const char *type, const char *code,
                          const char *message, const char *param)
{
	json_t *err = json_pack("{s:s, s:s, s:s, s:s}", "type", type, "code", code,
	                        "message", message, "request_id", req->request_id);

	if (err != NULL && param != NULL)
		json_object_set_new(err, "param", json_string(param));
	return err != NULL ? json_pack("{s:o}", "error", err) : NULL;
}

bool gw_idem_begin(struct gw_app *app, struct sr_http_request *req, const char *merchant_id,
                   struct gw_idem *st)
{
	const char *key = sr_http_header(req, "Idempotency-Key");
	struct gw_error err;
	PGconn *conn = NULL;
	char fp[65];
	char saved_fp[65];
	int saved_status = 0;
	char *saved_body = NULL;
	const char *owner;
	bool proceed = false;
	bool claimed = false;
	int attempt;
	int lease;
	int r;

	memset(st, 0, sizeof *st);
	if (key == NULL)
		return true; /* no key, no idempotency */
	if (gw_idem_key_check(key, &err) != 0) {
		sr_http_reply_error(req, err.status, err.type, err.code, err.message, err.param);
		return false;
	}
	if (gw_idem_fingerprint(req->method, req->path, req->json, fp) != 0) {
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return false;
	}
	lease = (int)sr_config_int(app->cfg, "idempotency_lease_s", GW_IDEM_LEASE_S);
	owner = app->instance_id[0] != '\0' ? app->instance_id : NULL;
	conn = sr_db_acquire(app->db);
	/* A key released between our claim and our read (its request provably
	 * did nothing and gave up) is free: claim again rather than answer
	 * "in use" for a request that no longer runs. Bounded: each round
	 * needs another request to claim and release the key meanwhile. */
	for (attempt = 0; attempt < 3; attempt++) {
		r = gw_store_idem_claim_lease(conn, merchant_id, key, fp, req->method, req->path, lease,
		                              owner);
		claimed = r == 0;
		if (r != 1)
			break;
		r = gw_store_idem_get(conn, merchant_id, key, saved_fp, &saved_status, &saved_body);
		if (r != 1)
			break;
	}
	if (claimed) {
		st->active = true;
		gw_strlcpy(st->merchant_id, merchant_id, sizeof st->merchant_id);
		gw_strlcpy(st->key, key, sizeof st->key);
		proceed = true;
		goto out;
	}
	if (r != 0) {
		/* -1, or the key kept vanishing between claim and read. */
		sr_http_reply_error(req, r == 1 ? 409 : 500, r == 1 ? "idempotency_error" : "api_error",
		                    r == 1 ? "idempotency_key_in_use" : "internal_error",
		                    r == 1 ? "A request with this Idempotency-Key is being processed; retry later."
		                           : "An internal error occurred.", NULL);
		goto out;
	}
	if (!sr_ct_equal(saved_fp, fp, 64)) {
		/* Never echo the key or the previous request. */
		sr_log(SR_LOG_WARN, req->request_id, "idempotency.key_reused", NULL);
		sr_http_reply_error(req, 400, "idempotency_error", "idempotency_key_reused",
		                    "This Idempotency-Key was already used with different request parameters.",
		                    NULL);
		goto out;
	}
	if ((saved_status == 0 || saved_body == NULL) &&
	    gw_store_idem_takeover(conn, merchant_id, key, lease, owner, st->payment_id) == 0) {
		/* The first attempt's gatewayd died (its owner has no heartbeat,
		 * ADR 0113) or overran its lease: this retry resolves the key;
		 * exactly one retry wins the takeover. */
		sr_log(SR_LOG_WARN, req->request_id, "idempotency.taken_over", "{s:s}", "payment",
		       st->payment_id);
		st->active = true;
		st->recovered = true;
		gw_strlcpy(st->merchant_id, merchant_id, sizeof st->merchant_id);
		gw_strlcpy(st->key, key, sizeof st->key);
		proceed = true;
		goto out;
	}
	if (saved_status == 0 || saved_body == NULL) {
		sr_http_reply_error(req, 409, "idempotency_error", "idempotency_key_in_use",
		                    "A request with this Idempotency-Key is being processed; retry later.",
		                    NULL);
		goto out;
	}
	/* Replay: the saved response, no re-execution (no vault/PSP call). */
	sr_log(SR_LOG_INFO, req->request_id, "idempotency.replayed", "{s:i}", "status", saved_status);
	{
		static const char *const lrep[] = { "scope", NULL };

		sr_metrics_add(sr_metrics_counter("strongroom_idempotency_replays_total",
		                                  "Requests answered from a saved result (no second execution).",
		                                  lrep),
		               1, "gateway_payments");
	}
	sr_http_add_header(req, "Idempotent-Replayed", "true");
	sr_http_reply_raw(req, (unsigned)saved_status, "application/json", saved_body,
	                  strlen(saved_body));
out:
	sr_db_release(app->db, conn);
	free(saved_body);
	return proceed;
}

void gw_idem_finish(struct gw_app *app, struct sr_http_request *req, struct gw_idem *st,
                    unsigned status, json_t *body)
{
	PGconn *conn = NULL;
	char *txt = NULL;

	if (st != NULL && st->active) {
		struct gw_req_ctx *ctx = gw_req_ctx();

		txt = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
		if (txt != NULL && ctx->action != NULL && ctx->idem_body == NULL) {
			/* Under gw_route: saved after the audit record is written, so
			 * that no answer a retry replays lacks its record (a crash in
			 * between leaves the key to be taken over and answered again). */
			ctx->idem_body = txt;
			ctx->idem_status = (int)status;
			gw_strlcpy(ctx->idem_merchant, st->merchant_id, sizeof ctx->idem_merchant);
			gw_strlcpy(ctx->idem_key, st->key, sizeof ctx->idem_key);
			txt = NULL;
		} else {
			conn = sr_db_acquire(app->db);
			if (txt == NULL ||
			    gw_store_idem_complete(conn, st->merchant_id, st->key, (int)status, txt) != 0)
				sr_log(SR_LOG_ERROR, req->request_id, "idempotency.save_failed", NULL);
			sr_db_release(app->db, conn);
		}
		st->active = false;
	}
	free(txt);
	sr_http_reply_json(req, status, body);
}

void gw_idem_fail(struct gw_app *app, struct sr_http_request *req, struct gw_idem *st,
                  unsigned status, const char *type, const char *code, const char *message,
                  const char *param)
{
	json_t *body = NULL;

	if (st == NULL || !st->active) {
		sr_http_reply_error(req, status, type, code, message, param);
		return;
	}
	body = error_body(req, type, code, message, param);
	if (body == NULL) {
		gw_idem_abort(app, req, st, 500, "api_error", "internal_error",
		              "An internal error occurred.", NULL);
		return;
	}
	gw_idem_finish(app, req, st, status, body);
}

/* Releases the database could not take when the request gave up: kept in
 * memory and retried by the worker every round (gw_idem_retry_releases),
 * so that a key is not held for its whole lease by a live owner that will
 * never finish it (issue 16). Bounded; a release that does not fit waits
 * for the lease, as before. */
#define PENDING_MAX 1024
static struct {
	char merchant_id[72];
	char key[GW_IDEM_KEY_MAX + 1];
} g_pending[PENDING_MAX];
static size_t g_npending;
static pthread_mutex_t g_pending_lock = PTHREAD_MUTEX_INITIALIZER;

static void defer_release(const struct gw_idem *st)
{
	pthread_mutex_lock(&g_pending_lock);
	if (g_npending < PENDING_MAX) {
		gw_strlcpy(g_pending[g_npending].merchant_id, st->merchant_id,
		           sizeof g_pending[g_npending].merchant_id);
		gw_strlcpy(g_pending[g_npending].key, st->key, sizeof g_pending[g_npending].key);
		g_npending++;
	}
	pthread_mutex_unlock(&g_pending_lock);
}

void gw_idem_retry_releases(struct gw_app *app)
{
	PGconn *conn = NULL;
	size_t i = 0;

	pthread_mutex_lock(&g_pending_lock);
	if (g_npending > 0) {
		conn = sr_db_acquire(app->db);
		while (i < g_npending) {
			if (gw_store_idem_release(conn, g_pending[i].merchant_id, g_pending[i].key) != 0) {
				i++;   /* the database is still away: next round */
				continue;
			}
			sr_log(SR_LOG_INFO, NULL, "idempotency.released_late", NULL);
			g_pending[i] = g_pending[--g_npending];
		}
		sr_db_release(app->db, conn);
	}
	pthread_mutex_unlock(&g_pending_lock);
}

void gw_idem_abort(struct gw_app *app, struct sr_http_request *req, struct gw_idem *st,
                   unsigned status, const char *type, const char *code, const char *message,
                   const char *param)
{
	PGconn *conn = NULL;

	if (st != NULL && st->active) {
		int tries, r = -1;

		/* Released before the answer, or the key stays held for its lease:
		 * a second try on a reconnected connection, since what made the
		 * request give up is often that its connection died (issue 16). */
		for (tries = 0; tries < 2 && r != 0; tries++) {
			conn = sr_db_acquire(app->db);
			if (tries > 0 && PQstatus(conn) == CONNECTION_OK && sr_db_exec(conn, "SELECT 1") != 0)
				PQreset(conn);
			r = gw_store_idem_release(conn, st->merchant_id, st->key);
			sr_db_release(app->db, conn);
		}
		if (r != 0) {
			sr_log(SR_LOG_ERROR, req->request_id, "idempotency.release_failed", NULL);
			defer_release(st);
		}
		st->active = false;
	}
	sr_http_reply_error(req, status, type, code, message, param);
}
