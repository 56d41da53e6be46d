/*
 * POST /v1/test_helpers/payments/{id}/3ds {"outcome":"succeed"|"fail"}
 * (issue 19 item 3, ADR 0131): a script completes or fails the 3-D Secure
 * challenge of its own payment, as Stripe's test helpers let a test drive
 * what a customer would do. Only a gateway in test mode ("mode": "test",
 * the dev stack; "live" by default) has this route at all: gatewayd leaves it out of
 * its routing table otherwise, so it answers 404 like any unknown URL, and
 * the handler refuses again.
 *
 * The gateway does what the cardholder's browser would: it answers the
 * challenge page the PSP named in next_action (POST {url}/complete,
 * result=authenticate|fail; pspsim's challenge listener, Stripe and Adyen
 * dialects), with certificate checks (challenge_ca, else the system's
 * trust store), no redirect followed, https only, the challenge host
 * reached at challenge_addr when set. The payment then reaches its
 * final state by the same path a returning shopper's does:
 * gw_lifecycle_reconcile reads the PSP's outcome under the payment's row
 * lock (requires_action -> processing -> captured | authorized | failed).
 *
 * Refusals: 404 resource_missing (no such payment of this merchant,
 * audited like every refusal); 400 on the body (parameter_unknown,
 * parameter_missing, outcome must be succeed or fail); 409
 * payment_unexpected_state (nothing awaits authentication: a challenge
 * completed once is never completed again); 502 api_error when the
 * challenge could not be answered.
 */
#include "gateway/gw_app.h"
#include "gateway/gw_config.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_request.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/payments/gw_lifecycle.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/store/gw_store.h"
#include "common/sr_config.h"
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

static size_t discard(char *ptr, size_t size, size_t n, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * n;
}

/* "host:port:addr" for CURLOPT_RESOLVE from an https URL's authority. */
static int resolve_entry(const char *url, const char *addr, char *out, size_t outlen)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	int rc = -1, n;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		n = snprintf(out, outlen, "%s:%s:%s", host, port, addr);
		rc = n > 0 && (size_t)n < outlen ? 0 : -1;
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

/* Answer the challenge at redirect_url as the cardholder: 0 when the PSP
 * took the answer or had it already (2xx, 303; 400 or, in Adyen's dialect,
 * 422 for a challenge no longer pending), -1 when it could not be reached. */
static int answer_challenge(struct gw_app *app, const char *request_id, const char *redirect_url,
                            bool succeed)
{
	const char *ca = sr_config_str(app->cfg, "challenge_ca", NULL);
	const char *addr = sr_config_str(app->cfg, "challenge_addr", NULL);
	struct curl_slist *resolve = NULL;
	char url[600], entry[400];
	long status = 0;
	CURL *c = NULL;
	CURLcode cc;
	int n;

	n = snprintf(url, sizeof url, "%s/complete", redirect_url);
	if (n < 0 || (size_t)n >= sizeof url || strncmp(url, "https://", 8) != 0)
		return -1;
	if (addr != NULL && addr[0] != '\0') {
		if (resolve_entry(url, addr, entry, sizeof entry) != 0 ||
		    (resolve = curl_slist_append(NULL, entry)) == NULL)
			return -1;
	}
	c = curl_easy_init();
	if (c == NULL) {
		curl_slist_free_all(resolve);
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, succeed ? "result=authenticate" : "result=fail");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (ca != NULL && ca[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	if (resolve != NULL)
		curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(resolve);
	sr_log(cc == CURLE_OK ? SR_LOG_INFO : SR_LOG_WARN, request_id, "test_helper.3ds_answered",
	       "{s:s, s:i, s:s}", "outcome", succeed ? "succeed" : "fail", "status", (int)status,
	       "curl", curl_easy_strerror(cc));
	return cc == CURLE_OK && ((status >= 200 && status < 300) || status == 303 || status == 400 ||
	                        status == 422)
	       ? 0 : -1;
}

/* The body: {"outcome":"succeed"|"fail"}. 1 succeed, 0 fail, -1 replied. */
static int parse_outcome(struct sr_http_request *req)
{
	const char *key = NULL;
	json_t *v = NULL;
	const char *s = NULL;

	if (!json_is_object(req->json)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_missing",
		                    "The body must be a JSON object with outcome.", "outcome");
		return -1;
	}
	json_object_foreach(req->json, key, v) {
		if (strcmp(key, "outcome") != 0) {
			sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
			                    "The request contains an unknown parameter.", NULL);
			return -1;
		}
	}
	s = json_string_value(json_object_get(req->json, "outcome"));
	if (s == NULL || (strcmp(s, "succeed") != 0 && strcmp(s, "fail") != 0)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
		                    "outcome must be succeed or fail.", "outcome");
		return -1;
	}
	return strcmp(s, "succeed") == 0;
}

void gw_handle_test_helper_3ds(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_payment p;
	char merchant[72];
	PGconn *conn = NULL;
	int outcome, r;

	if (!gw_config_test_mode(app->cfg)) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "Unrecognized request URL.", NULL);
		return;
	}
	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (!gw_id_shape_ok(req->params[0], "pay_")) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such payment.", "id");
		return;
	}
	outcome = parse_outcome(req);
	if (outcome < 0)
		return;
	conn = sr_db_acquire(app->db);
	r = gw_store_payment_get(conn, req->params[0], merchant, 0, &p);
	sr_db_release(app->db, conn);
	if (r == 1) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such payment.", "id");
		return;
	}
	if (r != 0)
		goto internal;
	if (p.status != GW_ST_REQUIRES_ACTION || p.redirect_url[0] == '\0') {
		sr_http_reply_error(req, 409, "invalid_request_error", "payment_unexpected_state",
		                    "This payment is not awaiting 3-D Secure authentication.", NULL);
		return;
	}
	if (answer_challenge(app, req->request_id, p.redirect_url, outcome == 1) != 0) {
		sr_http_reply_error(req, 502, "api_error", "challenge_unavailable",
		                    "The 3-D Secure challenge could not be answered; retry.", NULL);
		return;
	}
	if (gw_lifecycle_reconcile(app, req->request_id, merchant, p.id, 0, &p) != GW_LC_OK)
		goto internal;
	sr_http_reply_json(req, 200, gw_payment_to_json(&p));
	return;
internal:
	sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
	                    NULL);
}
