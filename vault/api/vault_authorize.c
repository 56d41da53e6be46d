/*
 * POST /v1/authorizations (internal listener, mTLS peer = the gateway).
 * {"merchant","token","payment_id","amount","currency","capture","idempotency_key"},
 * optional "statement_descriptor(_suffix)", "return_url", "setup_future_usage",
 * "off_session" (stored credentials, ADR 0133: a card_ only; a merchant-
 * initiated payment carries the card's kept network transaction id and never
 * a CVC; the id a set-up payment returns is kept with the card, never
 * answered).
 *
 * Loads the token (it must belong to the merchant named: invariant 6, docs/invariants.md),
 * decrypts the PAN (and the CVC while still held) inside the HSM into
 * guarded memory, calls the PSP connector with the gateway's idempotency key,
 * wipes the plaintext, records the outcome under (merchant, idempotency_key),
 * and deletes the CVC once the PSP has given a definite answer (PCI DSS v4.0
 * 3.3.1.2, invariant 4, docs/invariants.md). A retry with the same key replays the recorded
 * outcome without decrypting anything or calling the PSP, unless that outcome
 * was `unknown`: then the PSP is asked again with the same key (and the CVC,
 * kept for exactly this until its TTL). The same key with another token,
 * amount, currency or capture is refused (400 idempotency_error).
 * 502 api_error psp_unavailable when nothing was sent to the PSP.
 *
 * Routing (issue 5, ADR 0091): the connector is the merchant's override, else
 * the card's issuing country's (BIN table, read in place from the decrypted
 * PAN), else the merchant's region's, else the default. A request that
 * provably did not reach it is retried with backoff (same key), then sent to
 * the merchant's secondary connector if it has one; a retry of an `unknown`
 * goes to the connector recorded on it, never elsewhere. The answer carries
 * "connector" and "route_reason" (country|region|override|default|failover).
 *
 * Token lifecycle (issue 3): token may be a single-use tok_ token, a
 * reusable card_ token, or a tok_ token's legacy (format-preserving) number.
 * A tok_ token is claimed by the first authorization's idempotency key; any
 * other key gets 409 invalid_request_error token_already_used (a retry with
 * the same key still replays or retries). Every PAN decryption is written to
 * the chained audit log (vault_audit.h) before the plaintext is used; when
 * that write fails nothing is sent (500), PCI DSS v4.0 10.2.1.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_metrics.h"
#include "common/sr_panscan.h"
#include "common/sr_secret.h"
#include "common/sr_util.h"
#include "vault/connectors/connector.h"
#include "vault/connectors/vault_psp_creds.h"
#include "vault/vault_app.h"
#include "vault/audit/vault_audit.h"
#include "vault/crypto/vault_crypto.h"
#include "vault/connectors/vault_route.h"
#include "vault/store/vault_store.h"
#include "vault/store/vault_store_route.h"
#include "vault/store/vault_store_stored_cred.h"
#include "vault/tokens/vault_token.h"

struct auth_body {
	const char *merchant;
	const char *token;
	const char *payment_id;
	long long amount;
	const char *currency;
	bool capture;
	const char *idempotency_key;
	const char *statement_descriptor;        /* NULL: none (issue 19) */
	const char *statement_descriptor_suffix; /* NULL: none */
	const char *return_url;                  /* NULL: none (issue 19 item 3) */
	const char *setup_future_usage;          /* NULL, "on_session", "off_session" (ADR 0133) */
	bool off_session;                        /* merchant-initiated: card_ only, never a CVC */
};

/* The gateway's return_url for the PSP (issue 19 item 3, ADR 0131), checked
 * again at the CDE's boundary: "https://" (or "http://", which only a
 * test-mode gateway sends, for the loopback host) and an authority, at most
 * 1100 bytes of the characters RFC 3986 allows, no card number (sr_panscan,
 * one level of percent-encoding; the gateway scanned deeper). The
 * connectors forward it as is (form- or JSON-encoded). */
static bool return_url_ok(const char *s, size_t len)
{
	size_t i, skip;

	if (len > 1100 || strlen(s) != len)
		return false;
	skip = strncmp(s, "https://", 8) == 0 ? 8 : strncmp(s, "http://", 7) == 0 ? 7 : 0;
	if (skip == 0 || len <= skip || s[skip] == '/')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      strchr("-._~:/?#[]@!$&'()*+,;=%", c) != NULL))
			return false;
	}
	return !sr_panscan_has_pan(s, len);
}

static void bad_request(struct sr_http_request *req, const char *code, const char *msg,
                        const char *param)
{
	sr_http_reply_error(req, 400, "invalid_request_error", code, msg, param);
}

static bool printable_id(const char *s, size_t max)
{
	size_t n;
	size_t i;

	if (s == NULL)
		return false;
	n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	}
	return true;
}

/* Validate the body; on error a 400 has been sent and 0 is returned. */
static int parse_body(struct sr_http_request *req, struct auth_body *b)
{
	static const char *const keys[] = {
		"merchant", "token", "payment_id", "amount", "currency", "capture",
		"idempotency_key", NULL,
	};
	/* Optional: what the cardholder's statement shows (issue 19). */
	static const char *const optional[] = {
		"statement_descriptor", "statement_descriptor_suffix", "return_url",
		"setup_future_usage", "off_session", NULL,
	};
	const char *key = NULL;
	json_t *val = NULL;
	const json_t *o = req->json;
	json_t *j = NULL;
	size_t i;

	memset(b, 0, sizeof *b);
	if (!json_is_object(o)) {
		bad_request(req, "parameter_missing", "A JSON object body is required.", NULL);
		return 0;
	}
	json_object_foreach((json_t *)o, key, val) {
		bool known = false;

		for (i = 0; keys[i] != NULL; i++)
			known = known || strcmp(key, keys[i]) == 0;
		for (i = 0; optional[i] != NULL; i++)
			known = known || strcmp(key, optional[i]) == 0;
		if (!known) {
			bad_request(req, "parameter_unknown",
			            "The request contains an unknown parameter.", NULL);
			return 0;
		}
	}
	for (i = 0; keys[i] != NULL; i++) {
		if (json_object_get(o, keys[i]) == NULL) {
			bad_request(req, "parameter_missing", "A required parameter is missing.",
			            keys[i]);
			return 0;
		}
	}
	b->merchant = json_string_value(json_object_get(o, "merchant"));
	if (!vault_merchant_id_valid(b->merchant)) {
		bad_request(req, "parameter_invalid_type", "merchant is not a merchant id.",
		            "merchant");
		return 0;
	}
	/* The gateway (the verified peer) acts for this merchant. */
	sr_http_set_principal(req, b->merchant, NULL);
	b->token = json_string_value(json_object_get(o, "token"));
	if (b->token == NULL) {
		bad_request(req, "parameter_invalid_type", "token must be a string.", "token");
		return 0;
	}
	b->payment_id = json_string_value(json_object_get(o, "payment_id"));
	if (!printable_id(b->payment_id, 80)) {
		bad_request(req, "parameter_invalid_type", "payment_id is malformed.", "payment_id");
		return 0;
	}
	j = json_object_get(o, "amount");
	if (!json_is_integer(j) || json_integer_value(j) <= 0 ||
	    json_integer_value(j) > 99999999999LL) {
		bad_request(req, "parameter_invalid_type", "amount must be a positive integer.",
		            "amount");
		return 0;
	}
	b->amount = json_integer_value(j);
	b->currency = json_string_value(json_object_get(o, "currency"));
	if (b->currency == NULL || strlen(b->currency) != 3 ||
	    strspn(b->currency, "abcdefghijklmnopqrstuvwxyz") != 3) {
		bad_request(req, "parameter_invalid_type",
		            "currency must be a lowercase ISO 4217 code.", "currency");
		return 0;
	}
	j = json_object_get(o, "capture");
	if (!json_is_boolean(j)) {
		bad_request(req, "parameter_invalid_type", "capture must be a boolean.", "capture");
		return 0;
	}
	b->capture = json_is_true(j);
	b->idempotency_key = json_string_value(json_object_get(o, "idempotency_key"));
	if (!printable_id(b->idempotency_key, 255)) {
		bad_request(req, "parameter_invalid_type", "idempotency_key is malformed.",
		            "idempotency_key");
		return 0;
	}
	/* Checked again here, at the CDE's boundary, by the rules the gateway
	 * applied (sr_statement_descriptor_ok): the connectors send them as is. */
	for (i = 0; i < 2; i++) {
		const char **dst = i == 0 ? &b->statement_descriptor : &b->statement_descriptor_suffix;

		j = json_object_get(o, optional[i]);
		if (j == NULL)
			continue;
		if (!json_is_string(j) ||
		    !sr_statement_descriptor_ok(json_string_value(j), json_string_length(j), i == 0 ? 5 : 1)) {
			bad_request(req, "statement_descriptor_invalid",
			            "A statement descriptor is malformed.", optional[i]);
			return 0;
		}
		*dst = json_string_value(j);
	}
	j = json_object_get(o, "return_url");
	if (j != NULL) {
		if (!json_is_string(j) || !return_url_ok(json_string_value(j), json_string_length(j))) {
			bad_request(req, "return_url_invalid", "return_url is malformed.", "return_url");
			return 0;
		}
		b->return_url = json_string_value(j);
	}
	/* Stored credentials (issue 19 item 7, ADR 0133), checked again here
	 * by the gateway's rules: a merchant-initiated payment needs a saved
	 * card (card_), never a single-use token, and sets nothing up. */
	j = json_object_get(o, "setup_future_usage");
	if (j != NULL) {
		b->setup_future_usage = json_string_value(j);
		if (b->setup_future_usage == NULL ||
		    (strcmp(b->setup_future_usage, "on_session") != 0 &&
		     strcmp(b->setup_future_usage, "off_session") != 0)) {
			bad_request(req, "parameter_invalid_string",
			            "setup_future_usage must be on_session or off_session.",
			            "setup_future_usage");
			return 0;
		}
	}
	j = json_object_get(o, "off_session");
	if (j != NULL && !json_is_boolean(j)) {
		bad_request(req, "parameter_invalid_type", "off_session must be a boolean.",
		            "off_session");
		return 0;
	}
	b->off_session = json_is_true(j);
	if ((b->off_session || b->setup_future_usage != NULL) &&
	    !vault_card_token_id_valid(b->token)) {
		bad_request(req, "saved_card_required",
		            "A merchant-initiated payment or one that sets the card up for later "
		            "needs a saved card (card_...).", "token");
		return 0;
	}
	if (b->off_session && b->setup_future_usage != NULL) {
		bad_request(req, "parameter_invalid_string",
		            "setup_future_usage cannot be used with off_session.",
		            "setup_future_usage");
		return 0;
	}
	return 1;
}

static json_t *str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static void reply_result(struct sr_http_request *req, const struct vault_authorization_row *a,
                         const char *brand, const char *last4)
{
	sr_http_reply_json(req, 200,
	    json_pack("{s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:{s:s, s:s}}",
	              "status", a->status,
	              "psp_reference", str_or_null(a->psp_reference),
	              "failure_code", str_or_null(a->failure_code),
	              "failure_message", str_or_null(a->failure_message),
	              "redirect_url", str_or_null(a->redirect_url),
	              "connector", a->connector,
	              "route_reason", str_or_null(a->route_reason),
	              "card", "brand", brand, "last4", last4));
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * One connector's authorization, retried while it provably did not reach
 * the PSP (connect refused, TLS failure, an answer the PSP documents as not
 * processed: connector returns -1), at most app->psp_retry_max more times,
 * waiting psp_retry_backoff_ms, doubled each time (capped at 5 s). Every
 * attempt carries the same PSP idempotency key (areq->idempotency_key), so a
 * retry can never authorize twice; a request that was sent and whose answer
 * was lost (timeout) is never retried here: it comes back as
 * VAULT_AUTH_UNKNOWN with rc 0. @return the connector's last rc.
 */
static int authorize_with_retries(struct sr_http_request *req, struct vault_app *app,
                                  const struct vault_connector *conn,
                                  const struct vault_auth_request *areq,
                                  struct vault_auth_result *ares, char *err, size_t errlen)
{
	/* PSP latency and outcomes by connector; labels from closed sets
	 * (connector name, normalized status), never card data. */
	static const char *const lc[] = { "connector", NULL };
	static const char *const lo[] = { "connector", "outcome", NULL };
	struct timespec t0;
	unsigned delay = app->psp_retry_backoff_ms;
	int attempt = 0;
	int rc = -1;

	for (attempt = 0;; attempt++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = conn->authorize(conn, app->egress, areq, ares, err, errlen);
		sr_metrics_observe(sr_metrics_histogram("strongroom_psp_request_duration_seconds",
		                                        "PSP authorization call latency, seconds.",
		                                        lc, NULL, 0),
		                   sr_metrics_since(&t0), conn->name);
		sr_metrics_add(sr_metrics_counter("strongroom_psp_requests_total",
		                                  "PSP authorization calls by connector and outcome.", lo),
		               1, conn->name, rc != 0 ? "not_sent" : vault_auth_status_str(ares->status));
		if (rc == 0 || attempt >= app->psp_retry_max)
			break;
		sr_log(SR_LOG_WARN, req->request_id, "auth.psp_retry", "{s:s, s:i, s:i, s:s}",
		       "connector", conn->name, "attempt", attempt + 1, "delay_ms", (int)delay,
		       "error", err);
		sleep_ms(delay);
		delay = delay >= 2500 ? 5000 : delay * 2;
	}
	return rc;
}

/*
 * The merchant's own credentials at conn (issue 5, ADR 0095) into *creds
 * (released first: a failover loads the secondary's), areq->creds set or
 * NULL (the connector's platform account). 0, or -1 (logged).
 */
static int load_creds(struct sr_http_request *req, PGconn *db, const struct vault_token_row *row,
                      const struct vault_connector *conn, struct vault_psp_creds_held *creds,
                      struct vault_auth_request *areq)
{
	struct vault_app *app = req->app;
	char err[256];
	int rc;

	vault_psp_creds_release(creds);
	areq->creds = NULL;
	rc = vault_psp_creds_load(db, app->hsm, row->merchant_id, conn->name, creds, err, sizeof err);
	if (rc < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "psp_credentials.load_failed", "{s:s, s:s, s:s}",
		       "merchant", row->merchant_id, "connector", conn->name, "error", err);
		return -1;
	}
	areq->creds = rc == 1 ? &creds->creds : NULL;
	return 0;
}

/* Issue 16: the PSP has answered, and its outcome is reported only once it
 * is recorded. The authorization, the CVC's deletion (PCI DSS 3.3.1.2: in
 * the same step) and the token's touch are one transaction (one WAL flush,
 * ADR 0081), each write idempotent; if it fails it is retried on the same
 * connection, reconnected when the server dropped it (a restart or a
 * terminated backend heals within about a second). @return 0 recorded,
 * -1 not recorded after every attempt (err set): report `unknown`, which the
 * gateway reconciles (the PSP replays the same idempotency key). */
static int record_outcome(struct sr_http_request *req, PGconn *db, const struct auth_body *b,
                          const struct vault_token_row *row,
                          const struct vault_authorization_row *rec, bool del_cvc,
                          const char *nti, char *err, size_t errlen)
{
	static const unsigned backoff_ms[] = { 0, 100, 300, 1000 };
	size_t i;

	for (i = 0; i < sizeof backoff_ms / sizeof backoff_ms[0]; i++) {
		sleep_ms(backoff_ms[i]);
		if (PQstatus(db) != CONNECTION_OK)
			PQreset(db);
		if (sr_db_exec(db, "BEGIN") == 0 &&
		    vault_store_authorization_put(db, b->merchant, b->idempotency_key, b->payment_id,
		                                  req->peer, rec, err, errlen) == 0 &&
		    (!del_cvc || vault_store_cvc_delete(db, row->id, err, errlen) == 0) &&
		    (nti == NULL ||
		     vault_store_network_tx_put(db, row->id, nti, rec->connector, err, errlen) == 0) &&
		    vault_store_token_touch(db, row->id, err, errlen) == 0 &&
		    sr_db_exec(db, "COMMIT") == 0 && PQtransactionStatus(db) == PQTRANS_IDLE)
			return 0;
		if (PQstatus(db) == CONNECTION_OK && PQtransactionStatus(db) != PQTRANS_IDLE)
			(void)sr_db_exec(db, "ROLLBACK");
		sr_log(SR_LOG_ERROR, req->request_id, "auth.record_failed", "{s:s, s:s, s:i, s:s}",
		       "token", row->id, "payment_id", b->payment_id, "attempt", (int)i + 1, "error",
		       PQstatus(db) == CONNECTION_OK ? err : "connection lost");
	}
	return -1;
}

void vault_handle_authorize(struct sr_http_request *req)
{
	struct vault_app *app = req->app;
	struct auth_body b;
	struct vault_token_row row;
	struct vault_card card;
	struct vault_auth_request areq;
	struct vault_auth_result ares;
	struct vault_authorization_row rec;
	struct vault_psp_creds_held creds;
	struct vault_merchant_routing mroute;
	struct vault_route route;
	const struct vault_connector *conn = NULL;
	const char *route_reason = NULL;
	char recorded_reason[sizeof rec.route_reason] = "";
	char *pan = NULL;
	size_t pan_len = 0;
	char *cvc = NULL;
	size_t cvc_len = 0;
	char err[256];
	char nti[VAULT_NETWORK_TX_ID_MAX + 1] = "";
	PGconn *db = NULL;
	bool cvc_used = false;
	bool locked = false;
	bool retry_of_unknown = false;
	bool claimed = false;
	bool del_cvc = false;
	const char *keep_nti = NULL;
	int rc;

	memset(&row, 0, sizeof row);
	memset(&card, 0, sizeof card);
	memset(&areq, 0, sizeof areq);
	memset(&ares, 0, sizeof ares);
	memset(&rec, 0, sizeof rec);
	memset(&creds, 0, sizeof creds);
	memset(&mroute, 0, sizeof mroute);
	memset(&route, 0, sizeof route);

	if (!vault_require_gateway(req))
		goto out;
	if (!parse_body(req, &b))
		goto out;
	if (!vault_any_token_id_valid(b.token) && !vault_legacy_number_valid(b.token)) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such token.", "token");
		goto out;
	}

	/* One connection for the whole request: it also holds the advisory
	 * lock that serializes authorizations sharing an idempotency key. */
	db = sr_db_acquire(app->db);
	rc = vault_store_token_get(db, b.token, &row, err, sizeof err);
	if (rc < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s, s:s}", "token", b.token,
		       "error", err);
		goto internal;
	}
	if (rc == 0) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such token.", "token");
		goto out;
	}
	if (strcmp(row.merchant_id, b.merchant) != 0) {
		/* invariant 6, docs/invariants.md: another merchant's token is refused and audited. */
		sr_log(SR_LOG_WARN, req->request_id, "token.foreign_merchant",
		       "{s:s, s:s, s:s, s:s, s:s}", "token", row.id, "merchant", b.merchant,
		       "owner", row.merchant_id, "operation", "authorize",
		       "payment_id", b.payment_id);
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such token.", "token");
		goto out;
	}

	/* invariant 8, docs/invariants.md: a retry replays the recorded outcome; concurrent
	 * requests with one key wait for each other, so the PSP is asked once. */
	if (vault_store_authorization_lock(db, b.merchant, b.idempotency_key, err, sizeof err) != 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s, s:s}", "token", b.token,
		       "error", err);
		goto internal;
	}
	locked = true;
	rc = vault_store_authorization_get(db, b.merchant, b.idempotency_key, &rec, err, sizeof err);
	if (rc < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s, s:s}", "token", b.token,
		       "error", err);
		goto internal;
	}
	if (rc == 1) {
		if (strcmp(rec.token_id, row.id) != 0 || rec.amount != b.amount ||
		    strcmp(rec.currency, b.currency) != 0 || rec.capture != b.capture) {
			sr_http_reply_error(req, 400, "idempotency_error", "idempotency_key_reused",
			                    "This idempotency key was used with other parameters.",
			                    "idempotency_key");
			goto out;
		}
		retry_of_unknown = true;
		if (strcmp(rec.status, vault_auth_status_str(VAULT_AUTH_UNKNOWN)) != 0) {
			static const char *const lrep[] = { "scope", NULL };

			sr_metrics_add(sr_metrics_counter("strongroom_idempotency_replays_total",
			                                  "Requests answered from a saved result (no second execution).",
			                                  lrep),
			               1, "vault_authorizations");
			sr_log(SR_LOG_INFO, req->request_id, "auth.replayed", "{s:s, s:s, s:s}",
			       "token", row.id, "payment_id", b.payment_id, "status", rec.status);
			reply_result(req, &rec, row.brand, row.last4);
			goto out;
		}
	}

	if (retry_of_unknown) {
		/* Reconciled against the SAME connector, never another (issue 5). */
		conn = vault_connector_find(app, rec.connector);
		/* rec is reused for the new record below: keep a copy. */
		snprintf(recorded_reason, sizeof recorded_reason, "%s", rec.route_reason);
		route_reason = recorded_reason[0] != '\0' ? recorded_reason : NULL;
		if (conn == NULL) {
			sr_log(SR_LOG_ERROR, req->request_id, "auth.connector_gone", "{s:s, s:s}",
			       "payment_id", b.payment_id, "connector", rec.connector);
			goto internal;
		}
	} else if (vault_store_merchant_routing_get(db, b.merchant, &mroute, err, sizeof err) < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s, s:s}", "token", b.token,
		       "error", err);
		goto internal;
	}

	/* Single-use tokens (as Stripe's): the first authorization's key
	 * claims the token; the same key may retry, another key is refused. */
	if (vault_token_id_valid(row.id)) {
		rc = vault_store_token_claim(db, row.id, b.idempotency_key, err, sizeof err);
		if (rc < 0) {
			sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s, s:s}", "token",
			       row.id, "error", err);
			goto internal;
		}
		if (rc == 0) {
			sr_log(SR_LOG_WARN, req->request_id, "token.reuse_refused",
			       "{s:s, s:s, s:s}", "token", row.id, "merchant", b.merchant,
			       "payment_id", b.payment_id);
			sr_http_reply_error(req, 409, "invalid_request_error", "token_already_used",
			                    "This single-use token was already used; tokenize the "
			                    "card again or save it as a reusable card.", "token");
			goto out;
		}
		claimed = true;
	}

	/* Plaintext only in guarded memory, only for the PSP call. */
	rc = vault_crypto_decrypt_pan(app->hsm, row.key_version, row.id, row.merchant_id,
	                              row.pan_iv, row.pan_ct, row.pan_ct_len, &pan, &pan_len,
	                              err, sizeof err);
	if (rc == 0 && conn == NULL) {
		/* Route (ADR 0091): the issuing country from the BIN table reads
		 * the leading digits in place; nothing of the PAN is copied. */
		char country[3];

		if (vault_route_choose(app, app->routing, vault_bin_country(pan, country), &mroute,
		                       &route) != 0)
			route.primary = app->connector;
		conn = route.primary;
		route_reason = route.reason;
		if ((mroute.primary[0] != '\0' && vault_connector_find(app, mroute.primary) == NULL) ||
		    (mroute.secondary[0] != '\0' && vault_connector_find(app, mroute.secondary) == NULL))
			sr_log(SR_LOG_WARN, req->request_id, "route.merchant_connector_missing",
			       "{s:s, s:s, s:s}", "merchant", b.merchant, "primary", mroute.primary,
			       "secondary", mroute.secondary);
	}
	{
		/* PCI DSS v4.0 10.2.1 / 10.2.2: every decryption audited, before use. */
		struct vault_audit_event ev = {
			.token_id = row.id, .merchant_id = row.merchant_id, .purpose = "authorize",
			.payment_id = b.payment_id,
			.connector = conn != NULL ? conn->name : app->connector->name,
			.peer = req->peer, .result = rc == 0 ? "decrypted" : "decrypt_failed",
		};
		char aerr[256];

		if (vault_audit_append(db, app->hsm, &ev, aerr, sizeof aerr) < 0) {
			sr_log(SR_LOG_ERROR, req->request_id, "audit.append_failed", "{s:s, s:s}",
			       "token", row.id, "error", aerr);
			goto internal;
		}
	}
	if (rc != 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "pan.decrypt_failed", "{s:s, s:s}",
		       "token", row.id, "error", err);
		goto internal;
	}
	/* PCI DSS 3.3.1.2: the CVC only while held and within its TTL, and
	 * never for a merchant-initiated payment (ADR 0133). */
	if (row.has_cvc && row.cvc_expires_at > sr_now() && !b.off_session) {
		if (vault_crypto_decrypt_cvc(app->hsm, row.key_version, row.id, row.merchant_id,
		                             row.cvc_iv, row.cvc_ct, row.cvc_ct_len, &cvc,
		                             &cvc_len, err, sizeof err) != 0) {
			/* Proceed without it; a CVC that cannot be opened is useless. */
			sr_log(SR_LOG_WARN, req->request_id, "cvc.decrypt_failed", "{s:s, s:s}",
			       "token", row.id, "error", err);
			cvc = NULL;
		}
	}

	card.pan = pan;
	card.pan_len = pan_len;
	card.exp_month = row.exp_month;
	card.exp_year = row.exp_year;
	card.cvc = cvc;
	areq.merchant_id = row.merchant_id;
	areq.payment_id = b.payment_id;
	areq.token = row.id;
	areq.amount = b.amount;
	areq.currency = b.currency;
	areq.capture = b.capture;
	areq.idempotency_key = b.idempotency_key; /* PSP idempotency = the gateway's key */
	areq.statement_descriptor = b.statement_descriptor;
	areq.statement_descriptor_suffix = b.statement_descriptor_suffix;
	areq.return_url = b.return_url;
	areq.setup_future_usage = b.setup_future_usage;
	areq.off_session = b.off_session;
	/* The card's network transaction id, for a merchant-initiated payment
	 * (ADR 0133): kept in the vault only. */
	if (b.off_session) {
		rc = vault_store_network_tx_get(db, row.id, nti, sizeof nti, err, sizeof err);
		if (rc < 0) {
			sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s, s:s}", "token", row.id,
			       "error", err);
			goto internal;
		}
		areq.network_tx_id = rc == 1 && vault_network_tx_id_ok(nti) ? nti : NULL;
	}
	areq.card = &card;
	areq.request_id = req->request_id;
	areq.country = route.country[0] != '\0' ? route.country : NULL;
	/* Issue 5: the merchant's own credentials at the routed connector, when
	 * registered, in guarded memory for this call only. */
	if (load_creds(req, db, &row, conn, &creds, &areq) != 0)
		goto internal;

	rc = authorize_with_retries(req, app, conn, &areq, &ares, err, sizeof err);
	if (rc != 0 && !retry_of_unknown && route.secondary != NULL) {
		/* Issue 5: fail over only because the primary provably did not
		 * accept the request (rc -1: nothing sent, or a documented "not
		 * processed" answer). Never after a lost answer (that is
		 * `unknown`, rc 0) and never on the retry of an unknown. */
		static const char *const lf[] = { "from", "to", NULL };

		sr_log(SR_LOG_WARN, req->request_id, "auth.failover", "{s:s, s:s, s:s, s:s}",
		       "payment_id", b.payment_id, "from", conn->name, "to", route.secondary->name,
		       "error", err);
		sr_metrics_add(sr_metrics_counter("strongroom_psp_failovers_total",
		                                  "Authorizations sent to the secondary connector after the "
		                                  "primary provably refused them.", lf),
		               1, conn->name, route.secondary->name);
		conn = route.secondary;
		route_reason = "failover";
		memset(&ares, 0, sizeof ares);
		if (load_creds(req, db, &row, conn, &creds, &areq) != 0)
			goto internal;
		rc = authorize_with_retries(req, app, conn, &areq, &ares, err, sizeof err);
	}
	cvc_used = cvc != NULL;
	/* Wipe the plaintext as soon as the connector returns. */
	sr_secret_free(pan);
	pan = NULL;
	sr_secret_free(cvc);
	cvc = NULL;
	sodium_memzero(&card, sizeof card);
	vault_psp_creds_release(&creds);
	areq.creds = NULL;

	if (rc != 0 && retry_of_unknown) {
		/* Nothing was sent this time, but an earlier attempt with this key
		 * reached the PSP: the outcome is still unknown, never "not charged". */
		sr_log(SR_LOG_WARN, req->request_id, "auth.retry_not_sent", "{s:s, s:s, s:s}",
		       "token", row.id, "payment_id", b.payment_id, "error", err);
		memset(&ares, 0, sizeof ares);
		ares.status = VAULT_AUTH_UNKNOWN;
	} else if (rc != 0) {
		/* Nothing reached the PSP: keep the CVC for the retry, and give
		 * the single-use token back (no authorization happened). */
		if (claimed) {
			if (vault_store_token_unclaim(db, row.id, b.idempotency_key, err,
			                              sizeof err) != 0)
				sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s, s:s}",
				       "token", row.id, "error", err);
			claimed = false;
		}
		sr_log(SR_LOG_WARN, req->request_id, "auth.psp_unavailable", "{s:s, s:s, s:s, s:s}",
		       "token", row.id, "payment_id", b.payment_id, "connector",
		       conn->name, "error", err);
		sr_http_reply_error(req, 502, "api_error", "psp_unavailable",
		                    "The payment processor could not be reached.", NULL);
		goto out;
	}

	memset(&rec, 0, sizeof rec);
	snprintf(rec.token_id, sizeof rec.token_id, "%s", row.id);
	rec.amount = b.amount;
	snprintf(rec.currency, sizeof rec.currency, "%s", b.currency);
	rec.capture = b.capture;
	snprintf(rec.status, sizeof rec.status, "%s", vault_auth_status_str(ares.status));
	snprintf(rec.psp_reference, sizeof rec.psp_reference, "%s", ares.psp_reference);
	snprintf(rec.failure_code, sizeof rec.failure_code, "%s", ares.failure_code);
	snprintf(rec.failure_message, sizeof rec.failure_message, "%s", ares.failure_message);
	snprintf(rec.redirect_url, sizeof rec.redirect_url, "%s", ares.redirect_url);
	snprintf(rec.connector, sizeof rec.connector, "%s", conn->name);
	snprintf(rec.route_reason, sizeof rec.route_reason, "%s", route_reason != NULL ? route_reason : "");

	/* PCI DSS 3.3.1.2 / invariant 4, docs/invariants.md: the PSP has answered, so the
	 * CVC is deleted now. After a lost answer it is kept (until its TTL at
	 * most) so that the retry sends the same request. */
	del_cvc = row.has_cvc && ares.status != VAULT_AUTH_UNKNOWN;
	/* Stored credentials (ADR 0133): the network transaction id of the
	 * card's set-up payment is kept with the card, in the same step. */
	if (b.setup_future_usage != NULL && vault_card_token_id_valid(row.id) &&
	    (ares.status == VAULT_AUTH_CAPTURED || ares.status == VAULT_AUTH_AUTHORIZED) &&
	    vault_network_tx_id_ok(ares.network_tx_id))
		keep_nti = ares.network_tx_id;
	if (record_outcome(req, db, &b, &row, &rec, del_cvc, keep_nti, err, sizeof err) != 0) {
		/* Never report an outcome that is not recorded: the gateway marks
		 * the payment unknown and reconciles it through this endpoint. */
		ares.status = VAULT_AUTH_UNKNOWN;
		snprintf(rec.status, sizeof rec.status, "%s", vault_auth_status_str(ares.status));
		rec.psp_reference[0] = rec.failure_code[0] = rec.failure_message[0] = '\0';
		rec.redirect_url[0] = '\0';
	}

	sr_log(ares.status == VAULT_AUTH_UNKNOWN ? SR_LOG_WARN : SR_LOG_INFO, req->request_id,
	       "auth.result", "{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:I, s:s, s:s?, s:b, s:s?}",
	       "token", row.id, "merchant", row.merchant_id, "payment_id", b.payment_id,
	       "last4", row.last4, "status", vault_auth_status_str(ares.status),
	       "failure_code", ares.failure_code[0] != '\0' ? ares.failure_code : NULL,
	       "psp_reference", ares.psp_reference[0] != '\0' ? ares.psp_reference : NULL,
	       "amount", (json_int_t)b.amount, "connector", conn->name,
	       "route_reason", route_reason,
	       "cvc_sent", cvc_used, "peer", req->peer);
	if (b.off_session || b.setup_future_usage != NULL)
		/* Which stored-credential flags went out; never the id itself. */
		sr_log(SR_LOG_INFO, req->request_id, "auth.stored_credential", "{s:s, s:s, s:b, s:s?, s:b, s:b}",
		       "token", row.id, "payment_id", b.payment_id, "off_session", b.off_session,
		       "setup_future_usage", b.setup_future_usage, "network_tx_id_sent",
		       areq.network_tx_id != NULL, "network_tx_id_kept", keep_nti != NULL);
	reply_result(req, &rec, row.brand, row.last4);
	goto out;

internal:
	if (claimed && db != NULL) {
		/* Nothing was sent: the token is not used up. */
		(void)vault_store_token_unclaim(db, row.id, b.idempotency_key, err, sizeof err);
	}
	sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
	                    NULL);
out:
	if (db != NULL) {
		if (locked)
			vault_store_authorization_unlock(db, b.merchant, b.idempotency_key);
		sr_db_release(app->db, db);
	}
	sr_secret_free(pan);
	sr_secret_free(cvc);
	sodium_memzero(&card, sizeof card);
	vault_psp_creds_release(&creds);
	vault_token_row_clear(&row);
}
