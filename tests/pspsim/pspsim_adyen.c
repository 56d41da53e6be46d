/*
 * pspsim_adyen: the simulator's Adyen dialect, a test double of Adyen's
 * Checkout API v71 (https://docs.adyen.com/api-explorer/Checkout/71/overview)
 * on pspsim's mutual-TLS listener. Test and demo only.
 *
 *   POST /v71/payments                          X-API-Key, Idempotency-Key
 *   POST /v71/paymentMethods {"merchantAccount"} -> 200, or 403 when the key
 *        may not act for that account (the vault's credentials proof)
 *   POST /v71/payments/{pspReference}/captures  -> 201 {"status":"received"}
 *   POST /v71/payments/{pspReference}/cancels   -> 201
 *   POST /v71/payments/{pspReference}/refunds   -> 201
 *   GET  /v71/payments/{pspReference}           simulator stand-in for Adyen's
 *        notification-driven status (Adyen has no such GET; ADR 0090):
 *        {"pspReference","resultCode","amount","captured",...}
 *   POST /v3/merchants/{merchantAccount}/webhooks/test  Management API "Test
 *        webhook", simplified (no webhook id): a TEST notification for that
 *        account, signed with the account's HMAC key, returned as
 *        data[0].requestSent and delivered (issue 15, ADR 0107)
 *   POST /_sim/adyen/payments/{pspReference}/3ds  the shopper completes 3-D Secure
 *   POST /_sim/adyen/webhook_hmac {"account","hmac_key"}  the account's owner
 *        configures its notification HMAC key (its Customer Area)
 *   POST /_sim/adyen/faults {"unavailable":N,"drop_next":N,"delay_ms":N}
 *        unavailable: the next N POST /v71/payments answer 503 before any
 *        processing (nothing created: the failover tests' "provably not
 *        accepted"); drop_next: the next N answers are dropped after their
 *        effect; delay_ms: each /payments waits that long first.
 *
 * Outcomes are the test cards of docs/development.md (the same as the Stripe dialect), in
 * Adyen's words: Authorised; Refused with refusalReasonCode 2 (Refused),
 * 12 (Not enough balance), 6 (Expired Card), 24 (CVC Declined); Error with
 * 4 (Acquirer Error); RedirectShopper for the 3-D Secure cards. An
 * Idempotency-Key with the same body replays the saved answer (no second
 * payment); with another body it is refused (422). Card numbers are kept
 * only as long as the request; only brand-free last4 is ever stored.
 *
 * Notifications (issue 5; tests/pspsim/pspsim_webhooks.c, when webhooks and
 * adyen_hmac_key_file are configured): Adyen's standard notifications, one
 * HMAC-signed item each, to the gateway's /v1/psp_webhooks/adyen:
 * AUTHORISATION when a 3-D Secure challenge completes (success true/false,
 * at once); CAPTURE, CANCELLATION, REFUND after the modification (200 ms
 * later, its own pspReference, originalReference = the payment's);
 * CHARGEBACK 1.5 s after the dispute test card 4000000000000259 is
 * captured (automatically or by a capture modification). An idempotent
 * replay of a request sends nothing again.
 *
 * Durable state (issue 16, tests/pspsim/pspsim_store.h): each payment, with
 * its modifications, is journaled as kind "adyen_payment" (pspReference ->
 * state), each saved answer as "adyen_idem" (Idempotency-Key -> {"hash",
 * "status","body"}), before the answer is sent; they are read back at start
 * by pspsim_adyen_state.c, which holds the dialect's state
 * (pspsim_adyen_sim.h) and its entry points (pspsim_adyen_init, stats,
 * audit, free).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/sr_log.h"
#include "common/sr_secret.h"
#include "common/sr_util.h"
#include "tests/pspsim/pspsim.h"
#include "tests/pspsim/pspsim_adyen_sim.h"
#include "tests/pspsim/pspsim_keys.h"
#include "tests/pspsim/pspsim_store.h"
#include "tests/pspsim/pspsim_webhooks.h"

#define ADYEN_AMOUNT_MAX 99999999LL

static void reply_adyen_error(struct sr_http_request *req, unsigned status, const char *code,
                              const char *message, const char *type)
{
	sr_http_reply_json(req, status, json_pack("{s:i, s:s, s:s, s:s}", "status", (int)status,
	                                          "errorCode", code, "message", message,
	                                          "errorType", type));
}

/* X-API-Key in constant time (hash first, so lengths don't leak): the
 * platform's key, or a merchant's own key registered by a test (POST
 * /_sim/api_keys, issue 15). acct[128] (may be NULL) receives the merchant
 * account the key may act for: the configured one for the platform's key,
 * the one registered with a merchant's key ("" when none). Lock held. */
static bool api_key_ok(struct sr_http_request *req, char *acct)
{
	const char *key = sr_http_header(req, "X-API-Key");
	char h[65];

	if (key == NULL) {
		reply_adyen_error(req, 401, "000", "HTTP Status Response - Unauthorized", "security");
		return false;
	}
	sr_sha256_hex(key, strlen(key), h);
	if (sr_ct_equal(h, g_adyen.key_hash, 64)) {
		if (acct != NULL)
			snprintf(acct, 128, "%s", g_adyen.merchant_account);
		return true;
	}
	if (psim_keys_check(key, acct, acct != NULL ? 128 : 0))
		return true;
	sr_log(SR_LOG_WARN, req->request_id, "pspsim.adyen.auth_failed", NULL);
	reply_adyen_error(req, 401, "000", "HTTP Status Response - Unauthorized", "security");
	return false;
}

bool pspsim_adyen_authorized(struct sr_http_request *req)
{
	bool ok;

	pthread_mutex_lock(&g_adyen.lock);
	ok = g_adyen.ready && api_key_ok(req, NULL);
	pthread_mutex_unlock(&g_adyen.lock);
	return ok;
}

/* Leave a handler's locked section: its changes become one journal line,
 * durable (with every line before it) before the answer is sent. */
static void unlock_durable(void)
{
	psim_store_commit();
	pthread_mutex_unlock(&g_adyen.lock);
	psim_store_wait();
}

/* Idempotency-Key: 1 when a reply was sent (replay, conflict), else 0 with
 * hash (keyed fingerprint of method, path and raw body) filled. Lock held. */
static int idem_begin(struct sr_http_request *req, const char **key, char hash[65])
{
	json_t *saved = NULL;
	const char *body = NULL;

	*key = sr_http_header(req, "Idempotency-Key");
	/* Keyed: the body carries the card number, and the hash is journaled. */
	psim_store_fingerprint(req->method, req->path, req->body, req->body_len, hash);
	if (*key == NULL)
		return 0;
	if (strlen(*key) == 0 || strlen(*key) > 255) {
		reply_adyen_error(req, 422, "702", "Idempotency-Key must be 1 to 255 characters", "validation");
		return 1;
	}
	saved = json_object_get(g_adyen.idem, *key);
	if (saved == NULL)
		return 0;
	if (!sr_ct_equal(json_string_value(json_object_get(saved, "hash")), hash, 64)) {
		reply_adyen_error(req, 422, "704", "Idempotency key was used with a different request",
		                  "validation");
		return 1;
	}
	g_adyen.n_replays++;
	body = json_string_value(json_object_get(saved, "body"));
	sr_http_add_header(req, "Idempotent-Replayed", "true");
	sr_http_reply_raw(req, (unsigned)json_integer_value(json_object_get(saved, "status")),
	                  "application/json", body, strlen(body));
	sr_log(SR_LOG_INFO, req->request_id, "pspsim.adyen.idempotent_replay", "{s:s}", "path", req->path);
	return 1;
}

/* Reply body (stolen); saved under the key for 200/201/422; dropped after the
 * effect when the drop_next fault is armed. Lock held. */
static void reply_save(struct sr_http_request *req, const char *key, const char *hash,
                       unsigned status, json_t *body)
{
	char *s = NULL;

	pspsim_answer_hook(req, status, body);
	s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (s == NULL) {
		reply_adyen_error(req, 500, "000", "Internal error", "internal");
		return;
	}
	if (key != NULL && (status == 200 || status == 201 || status == 422)) {
		json_object_set_new(g_adyen.idem, key, json_pack("{s:s, s:i, s:s}", "hash", hash, "status",
		                                                 (int)status, "body", s));
		psim_store_put("adyen_idem", key, json_object_get(g_adyen.idem, key));
	}
	if (g_adyen.drop_next > 0) {
		g_adyen.drop_next--;
		g_adyen.n_dropped++;
		sr_log(SR_LOG_WARN, req->request_id, "pspsim.adyen.answer_dropped", "{s:s}", "path", req->path);
		sr_http_reply_drop(req);
		free(s);
		return;
	}
	sr_http_reply_raw(req, status, "application/json", s, strlen(s));
	free(s);
}

static bool digits(const char *s, size_t min, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;
	size_t i = 0;

	if (n < min || n > max)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* A new pspReference: 16 characters of [A-Z0-9] as Adyen's current ones
 * (e.g_adyen. "V4HZ4RBFJGXXGN82"), always with letters: a 16-digit reference could
 * pass the Luhn check and look like a card number to the PAN scanners. */
static void new_psp_reference(char out[17])
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
	unsigned char r[16];
	size_t i = 0;

	randombytes_buf(r, sizeof r);
	for (i = 0; i < 16; i++)
		out[i] = alphabet[r[i] % (sizeof alphabet - 1)];
	out[0] = alphabet[r[0] % 24];          /* a letter first */
	out[8] = alphabet[r[8] % 24];          /* and one in the middle */
	out[16] = '\0';
}

static void sleep_ms(long long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Fill the /payments-shaped answer of a payment state into a new object. */
static json_t *payment_answer(const char *psp, const json_t *p, bool standin)
{
	json_t *a = json_pack("{s:s, s:s, s:O, s:s}", "pspReference", psp, "resultCode",
	                      json_string_value(json_object_get(p, "resultCode")),
	                      "amount", json_object_get(p, "amount"), "merchantReference",
	                      json_string_value(json_object_get(p, "reference")));
	const char *rc = json_string_value(json_object_get(p, "resultCode"));

	if (a == NULL)
		return NULL;
	if (strcmp(rc, "Refused") == 0 || strcmp(rc, "Error") == 0) {
		json_object_set(a, "refusalReason", json_object_get(p, "refusalReason"));
		json_object_set(a, "refusalReasonCode", json_object_get(p, "refusalReasonCode"));
	} else if (strcmp(rc, "RedirectShopper") == 0) {
		char url[300];

		snprintf(url, sizeof url, "https://%s:%u/adyen/3ds/%s", g_adyen.public_host, g_adyen.redirect_port, psp);
		json_object_set_new(a, "action", json_pack("{s:s, s:s, s:s, s:s}", "type", "redirect",
		                                           "method", "GET", "paymentMethodType", "scheme",
		                                           "url", url));
	}
	if (json_is_string(json_object_get(p, "networkTxReference")))
		json_object_set_new(a, "additionalData",
		                    json_pack("{s:O}", "networkTxReference",
		                              json_object_get(p, "networkTxReference")));
	if (standin)
		json_object_set(a, "captured", json_object_get(p, "captured"));
	return a;
}

/*
 * Queue one Adyen standard notification (docs.adyen.com, "Webhooks",
 * NotificationRequestItem): eventCode code about pspReference psp
 * (orig: the payment's pspReference for a modification or a dispute, else
 * NULL), merchantReference ref, amount {"value","currency"}, success, and
 * reason (NULL: none). extra (stolen, may be NULL) becomes additionalData.
 * Sent after delay_ms; a no-op when notifications are not configured.
 * Lock held.
 */
static void notify(const char *code, const char *psp, const char *orig, const char *ref,
                   const json_t *amount, bool success, const char *reason, json_t *extra,
                   long long delay_ms)
{
	json_t *item = NULL;
	struct tm tm;
	time_t now = time(NULL);
	char date[40];

	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
	item = json_pack("{s:O, s:s, s:s, s:s, s:s, s:s, s:s}", "amount", amount, "eventCode", code,
	                 "eventDate", date, "merchantAccountCode", g_adyen.merchant_account,
	                 "merchantReference", ref != NULL ? ref : "", "pspReference", psp,
	                 "success", success ? "true" : "false");
	if (item == NULL) {
		json_decref(extra);
		return;
	}
	if (orig != NULL)
		json_object_set_new(item, "originalReference", json_string(orig));
	if (reason != NULL)
		json_object_set_new(item, "reason", json_string(reason));
	if (extra != NULL)
		json_object_set_new(item, "additionalData", extra);
	if (psim_wh_adyen_notification(item, delay_ms, NULL, 0) != 0)
		sr_log(SR_LOG_WARN, NULL, "pspsim.adyen.notification_not_queued", "{s:s, s:s}",
		       "eventCode", code, "pspReference", psp);
}

/* The dispute test card's chargeback on payment psp (state p), 1.5 s later
 * ("succeeds, then a dispute arrives"). Lock held. */
static void notify_chargeback(const char *psp, const json_t *p)
{
	char cb[17];

	new_psp_reference(cb);
	pspsim_dispute_register("adyen", cb, psp);
	notify("CHARGEBACK", cb, psp, json_string_value(json_object_get(p, "reference")),
	       json_object_get(p, "amount"), true, "Other Fraud-Card Absent Environment",
	       json_pack("{s:s, s:s, s:s}", "chargebackReasonCode", "10.4", "chargebackSchemeCode",
	                 "visa", "disputeStatus", "Undefended"), 1500);
}

static void set_outcome(json_t *p, enum outcome oc, bool capture)
{
	const char *code = NULL;
	const char *reason = NULL;
	const char *rc = "Refused";

	switch (oc) {
	case OUT_SUCCEED:
	case OUT_SUCCEED_THEN_DISPUTE:
		json_object_set_new(p, "resultCode", json_string("Authorised"));
		json_object_set_new(p, "captured", json_boolean(capture));
		return;
	case OUT_3DS_THEN_SUCCEED:
	case OUT_3DS_THEN_DECLINE:
		json_object_set_new(p, "resultCode", json_string("RedirectShopper"));
		return;
	case OUT_GENERIC_DECLINE:
		code = "2", reason = "Refused";
		break;
	case OUT_INSUFFICIENT_FUNDS:
		code = "12", reason = "Not enough balance";
		break;
	case OUT_EXPIRED_CARD:
		code = "6", reason = "Expired Card";
		break;
	case OUT_INCORRECT_CVC:
		code = "24", reason = "CVC Declined";
		break;
	case OUT_PROCESSING_ERROR:
		code = "4", reason = "Acquirer Error", rc = "Error";
		break;
	}
	json_object_set_new(p, "resultCode", json_string(rc));
	json_object_set_new(p, "refusalReasonCode", json_string(code));
	json_object_set_new(p, "refusalReason", json_string(reason));
}

/* POST /v71/payments */
static void h_payments(struct sr_http_request *req)
{
	static const char *const allowed[] = {
		"amount", "reference", "merchantAccount", "paymentMethod", "returnUrl",
		"shopperInteraction", "captureDelayHours", "additionalData", "metadata", "shopperStatement",
		"recurringProcessingModel", NULL
	};
	const json_t *o = req->json;
	const json_t *amount = NULL;
	const json_t *pm = NULL;
	const json_t *value = NULL;
	const char *key = NULL;
	const char *k = NULL;
	const char *cur = NULL;
	const char *ref = NULL;
	const char *num = NULL;
	const char *em = NULL;
	const char *ey = NULL;
	const char *cvc = NULL;
	const char *ma = NULL;
	const char *si = NULL;
	const char *rpm = NULL;
	const char *nti = NULL;
	json_t *v = NULL;
	json_t *p = NULL;
	char acct[128] = "";
	char hash[65];
	char psp[17];
	long long delay = 0;
	size_t i = 0;
	bool capture = false;
	enum outcome oc = OUT_SUCCEED;

	pthread_mutex_lock(&g_adyen.lock);
	if (g_adyen.unavailable > 0) {
		/* Fault: refused before any processing (nothing created). */
		g_adyen.unavailable--;
		g_adyen.n_unavailable++;
		pthread_mutex_unlock(&g_adyen.lock);
		reply_adyen_error(req, 503, "000", "Service unavailable: the request was not processed",
		                  "internal");
		return;
	}
	delay = g_adyen.delay_ms;
	pthread_mutex_unlock(&g_adyen.lock);
	sleep_ms(delay);

	pthread_mutex_lock(&g_adyen.lock);
	if (!api_key_ok(req, acct) || idem_begin(req, &key, hash) != 0)
		goto out;
	if (!json_is_object(o)) {
		reply_save(req, key, hash, 422, json_pack("{s:i, s:s, s:s, s:s}", "status", 422, "errorCode",
		           "702", "message", "Structure of the request is invalid", "errorType", "validation"));
		goto out;
	}
	json_object_foreach((json_t *)o, k, v) {
		bool ok = false;

		for (i = 0; allowed[i] != NULL; i++)
			ok = ok || strcmp(k, allowed[i]) == 0;
		if (!ok) {
			reply_adyen_error(req, 422, "702", "Unknown field in the request", "validation");
			goto out;
		}
	}
	amount = json_object_get(o, "amount");
	value = json_object_get(amount, "value");
	cur = json_string_value(json_object_get(amount, "currency"));
	ref = json_string_value(json_object_get(o, "reference"));
	ma = json_string_value(json_object_get(o, "merchantAccount"));
	pm = json_object_get(o, "paymentMethod");
	num = json_string_value(json_object_get(pm, "number"));
	em = json_string_value(json_object_get(pm, "expiryMonth"));
	ey = json_string_value(json_object_get(pm, "expiryYear"));
	cvc = json_string_value(json_object_get(pm, "cvc"));
	if (!json_is_integer(value) || json_integer_value(value) <= 0
	    || json_integer_value(value) > ADYEN_AMOUNT_MAX) {
		reply_adyen_error(req, 422, "137", "Invalid amount specified", "validation");
		goto out;
	}
	if (cur == NULL || strlen(cur) != 3 || strspn(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3) {
		reply_adyen_error(req, 422, "138", "Invalid currency code", "validation");
		goto out;
	}
	if (ref == NULL || strlen(ref) == 0 || strlen(ref) > 80) {
		reply_adyen_error(req, 422, "130", "Reference Missing", "validation");
		goto out;
	}
	if (ma == NULL || strcmp(ma, acct) != 0) {
		reply_adyen_error(req, 403, "901", "Invalid Merchant Account", "security");
		goto out;
	}
	if (!json_is_object(pm) || strcmp(json_string_value(json_object_get(pm, "type")) != NULL
	                                  ? json_string_value(json_object_get(pm, "type")) : "", "scheme") != 0) {
		reply_adyen_error(req, 422, "905", "Payment details are not supported", "validation");
		goto out;
	}
	if (!digits(num, 12, 19) || !pspsim_luhn_ok(num)) {
		reply_save(req, key, hash, 422, json_pack("{s:i, s:s, s:s, s:s}", "status", 422, "errorCode",
		           "101", "message", "Invalid card number", "errorType", "validation"));
		goto out;
	}
	if (!digits(em, 2, 2) || atoi(em) < 1 || atoi(em) > 12) {
		reply_adyen_error(req, 422, "141", "Invalid expiryMonth", "validation");
		goto out;
	}
	if (!digits(ey, 4, 4)) {
		reply_adyen_error(req, 422, "140", "Invalid expiryYear", "validation");
		goto out;
	}
	if (cvc != NULL && !digits(cvc, 3, 4)) {
		reply_save(req, key, hash, 422, json_pack("{s:i, s:s, s:s, s:s}", "status", 422, "errorCode",
		           "103", "message", "CVC is not the right length", "errorType", "validation"));
		goto out;
	}
	/* Stored credentials (issue 19 item 7): Adyen's values only. */
	si = json_string_value(json_object_get(o, "shopperInteraction"));
	rpm = json_string_value(json_object_get(o, "recurringProcessingModel"));
	nti = json_string_value(json_object_get(json_object_get(o, "additionalData"), "networkTxReference"));
	if ((si != NULL && strcmp(si, "Ecommerce") != 0 && strcmp(si, "ContAuth") != 0)
	    || (json_object_get(o, "recurringProcessingModel") != NULL
	        && (rpm == NULL || (strcmp(rpm, "CardOnFile") != 0 && strcmp(rpm, "Subscription") != 0
	                            && strcmp(rpm, "UnscheduledCardOnFile") != 0)))
	    || (si != NULL && strcmp(si, "ContAuth") == 0 && rpm == NULL)) {
		reply_adyen_error(req, 422, "702", "Invalid shopperInteraction or recurringProcessingModel",
		                  "validation");
		goto out;
	}
	capture = json_is_integer(json_object_get(o, "captureDelayHours"))
	          && json_integer_value(json_object_get(o, "captureDelayHours")) == 0;
	oc = pspsim_outcome_of(num);
	new_psp_reference(psp);
	p = json_pack("{s:O, s:s, s:b, s:b, s:I, s:i, s:s, s:I, s:s?, s:[]}", "amount", amount,
	              "reference", ref, "capture", capture, "captured", 0, "refunded", (json_int_t)0,
	              "outcome", (int)oc, "last4", num + strlen(num) - 4,
	              "created", (json_int_t)time(NULL), "idempotency_key", key, "modifications");
	if (p == NULL) {
		reply_adyen_error(req, 500, "000", "Internal error", "internal");
		goto out;
	}
	set_outcome(p, oc, capture);
	/* A merchant-initiated payment (ContAuth) with card details needs the
	 * network transaction id of the card's first customer-initiated one:
	 * without it the scheme does not take it as a stored credential, and
	 * the issuer refuses (23 Transaction Not Permitted). */
	if (si != NULL && strcmp(si, "ContAuth") == 0 && nti == NULL) {
		json_object_set_new(p, "resultCode", json_string("Refused"));
		json_object_set_new(p, "refusalReasonCode", json_string("23"));
		json_object_set_new(p, "refusalReason", json_string("Transaction Not Permitted"));
	}
	/* The customer-initiated payment that sets the card up gets the
	 * scheme's id, returned in additionalData.networkTxReference. */
	if (si != NULL && strcmp(si, "Ecommerce") == 0 && rpm != NULL
	    && strcmp(json_string_value(json_object_get(p, "resultCode")), "Authorised") == 0) {
		char id[16];

		pspsim_network_tx_id(id);
		json_object_set_new(p, "networkTxReference", json_string(id));
	}
	/* What was received, for tests (GET /_sim/intents "adyen"). */
	json_object_set_new(p, "received", json_pack("{s:s?, s:s?, s:s?, s:b}", "shopperInteraction", si,
	                                             "recurringProcessingModel", rpm,
	                                             "networkTxReference", nti, "cvc", cvc != NULL));
	/* Kept as received (issue 19): audits and tests read it back. */
	if (json_is_string(json_object_get(o, "shopperStatement")))
		json_object_set(p, "shopperStatement", json_object_get(o, "shopperStatement"));
	json_object_set_new(g_adyen.payments, psp, p);
	psim_store_put("adyen_payment", psp, p);
	g_adyen.n_payments++;
	if (strcmp(json_string_value(json_object_get(p, "resultCode")), "Authorised") == 0)
		g_adyen.n_authorised++;
	if (oc == OUT_SUCCEED_THEN_DISPUTE && capture)
		notify_chargeback(psp, p);
	sr_log(SR_LOG_INFO, req->request_id, "pspsim.adyen.payment", "{s:s, s:s, s:s}", "pspReference",
	       psp, "resultCode", json_string_value(json_object_get(p, "resultCode")), "last4",
	       num + strlen(num) - 4);
	reply_save(req, key, hash, 200, payment_answer(psp, p, false));
out:
	unlock_durable();
}

/* The payment named by params[0], or NULL after a 422. Lock held. */
static json_t *find_payment(struct sr_http_request *req)
{
	json_t *p = json_object_get(g_adyen.payments, req->params[0]);

	if (p == NULL)
		reply_adyen_error(req, 422, "167", "Original pspReference required for this operation",
		                  "validation");
	return p;
}

/* POST /v71/payments/{psp}/captures|cancels|refunds */
static void modification(struct sr_http_request *req, int kind /* 0 capture 1 cancel 2 refund */)
{
	const json_t *o = req->json;
	json_t *amount = json_object_get(o, "amount");
	const char *key = NULL;
	const char *ma = json_string_value(json_object_get(o, "merchantAccount"));
	const char *rc = NULL;
	const char *mref = NULL;
	json_t *p = NULL;
	json_t *ans = NULL;
	char acct[128] = "";
	char hash[65];
	char mod[17];
	long long value = 0;
	long long auth = 0;
	long long refunded = 0;

	pthread_mutex_lock(&g_adyen.lock);
	if (!api_key_ok(req, acct) || idem_begin(req, &key, hash) != 0)
		goto out;
	if (!json_is_object(o) || ma == NULL || strcmp(ma, acct) != 0) {
		reply_adyen_error(req, 403, "901", "Invalid Merchant Account", "security");
		goto out;
	}
	p = find_payment(req);
	if (p == NULL)
		goto out;
	rc = json_string_value(json_object_get(p, "resultCode"));
	auth = (long long)json_integer_value(json_object_get(json_object_get(p, "amount"), "value"));
	refunded = (long long)json_integer_value(json_object_get(p, "refunded"));
	if (kind != 1) {
		value = (long long)json_integer_value(json_object_get(amount, "value"));
		if (!json_is_integer(json_object_get(amount, "value")) || value <= 0 || value > auth
		    || !json_equal(json_object_get(amount, "currency"),
		                   json_object_get(json_object_get(p, "amount"), "currency"))) {
			reply_adyen_error(req, 422, "137", "Invalid amount specified", "validation");
			goto out;
		}
	}
	if (strcmp(rc, "Authorised") != 0 || (kind == 0 && json_is_true(json_object_get(p, "captured")))
	    || (kind == 1 && json_is_true(json_object_get(p, "captured")))
	    || (kind == 2 && (!json_is_true(json_object_get(p, "captured")) || refunded + value > auth))) {
		reply_save(req, key, hash, 422, json_pack("{s:i, s:s, s:s, s:s}", "status", 422, "errorCode",
		           "167", "message", "Original pspReference required for this operation",
		           "errorType", "validation"));
		goto out;
	}
	new_psp_reference(mod);
	mref = json_string_value(json_object_get(o, "reference")) != NULL
	       ? json_string_value(json_object_get(o, "reference"))
	       : json_string_value(json_object_get(p, "reference"));
	if (kind == 0) {
		json_object_set_new(p, "captured", json_true());
		g_adyen.n_captures++;
		notify("CAPTURE", mod, req->params[0], mref, amount, true, NULL, NULL, 200);
		if (json_integer_value(json_object_get(p, "outcome")) == OUT_SUCCEED_THEN_DISPUTE)
			notify_chargeback(req->params[0], p);
	} else if (kind == 1) {
		json_object_set_new(p, "resultCode", json_string("Cancelled"));
		g_adyen.n_cancels++;
		notify("CANCELLATION", mod, req->params[0], mref, json_object_get(p, "amount"), true,
		       NULL, NULL, 200);
	} else {
		json_object_set_new(p, "refunded", json_integer(refunded + value));
		g_adyen.n_refunds++;
		notify("REFUND", mod, req->params[0], mref, amount, true, NULL, NULL, 200);
	}
	json_array_append_new(json_object_get(p, "modifications"),
	                      json_pack("{s:s, s:s, s:O?, s:s?, s:I, s:s?}", "kind",
	                                kind == 0 ? "capture" : kind == 1 ? "cancel" : "refund",
	                                "pspReference", mod, "amount", kind != 1 ? amount : NULL,
	                                "reference", json_string_value(json_object_get(o, "reference")),
	                                "created", (json_int_t)time(NULL), "idempotency_key", key));
	psim_store_put("adyen_payment", req->params[0], p);
	ans = json_pack("{s:s, s:s, s:s, s:s}", "merchantAccount", ma, "paymentPspReference",
	                req->params[0], "pspReference", mod, "status", "received");
	if (json_object_get(o, "reference") != NULL)
		json_object_set(ans, "reference", json_object_get(o, "reference"));
	if (kind != 1)
		json_object_set(ans, "amount", amount);
	reply_save(req, key, hash, 201, ans);
out:
	unlock_durable();
}

static void h_captures(struct sr_http_request *req) { modification(req, 0); }
static void h_cancels(struct sr_http_request *req) { modification(req, 1); }
static void h_refunds(struct sr_http_request *req) { modification(req, 2); }

/* GET /v71/payments/{psp}: the simulator's status stand-in (ADR 0090). */
static void h_payment_get(struct sr_http_request *req)
{
	json_t *p = NULL;

	pthread_mutex_lock(&g_adyen.lock);
	if (api_key_ok(req, NULL)) {
		p = json_object_get(g_adyen.payments, req->params[0]);
		if (p == NULL)
			reply_adyen_error(req, 404, "000", "Payment not found", "validation");
		else
			sr_http_reply_json(req, 200, payment_answer(req->params[0], p, true));
	}
	unlock_durable();       /* what it read may be a line not yet durable */
}

/* The shopper answered the challenge of payment params[0]: authenticated
 * (the card's outcome follows) or not (Refused, 11 "3D Not Authenticated").
 * Replies either way. */
static void complete_3ds(struct sr_http_request *req, bool authenticated)
{
	json_t *p = NULL;
	enum outcome oc = OUT_SUCCEED;

	pthread_mutex_lock(&g_adyen.lock);
	p = json_object_get(g_adyen.payments, req->params[0]);
	if (p == NULL || strcmp(json_string_value(json_object_get(p, "resultCode")), "RedirectShopper") != 0) {
		reply_adyen_error(req, 422, "000", "No 3-D Secure challenge pending", "validation");
		goto out;
	}
	oc = (enum outcome)json_integer_value(json_object_get(p, "outcome"));
	if (!authenticated) {
		json_object_set_new(p, "resultCode", json_string("Refused"));
		json_object_set_new(p, "refusalReasonCode", json_string("11"));
		json_object_set_new(p, "refusalReason", json_string("3D Not Authenticated"));
	} else {
		set_outcome(p, oc == OUT_3DS_THEN_DECLINE ? OUT_GENERIC_DECLINE : OUT_SUCCEED,
		            json_is_true(json_object_get(p, "capture")));
		if (oc != OUT_3DS_THEN_DECLINE)
			g_adyen.n_authorised++;
	}
	psim_store_put("adyen_payment", req->params[0], p);
	/* The asynchronous authorization result, as Adyen notifies it. */
	notify("AUTHORISATION", req->params[0], NULL, json_string_value(json_object_get(p, "reference")),
	       json_object_get(p, "amount"),
	       strcmp(json_string_value(json_object_get(p, "resultCode")), "Authorised") == 0,
	       json_string_value(json_object_get(p, "refusalReason")), NULL, 0);
	sr_log(SR_LOG_INFO, req->request_id, "pspsim.adyen.3ds_completed", "{s:s, s:s}", "pspReference",
	       req->params[0], "resultCode", json_string_value(json_object_get(p, "resultCode")));
	sr_http_reply_json(req, 200, payment_answer(req->params[0], p, true));
out:
	unlock_durable();
}

/* POST /_sim/adyen/payments/{psp}/3ds: the shopper completed 3-D Secure. */
static void h_sim_3ds(struct sr_http_request *req)
{
	complete_3ds(req, true);
}

/* The shopper's challenge page (browser listener, no client certificate). */
static const char k_page[] =
	"<!doctype html><html lang=en><meta charset=utf-8><title>3-D Secure test challenge</title>"
	"<main><h1>Test bank (Adyen): confirm this payment</h1>"
	"<form method=post action=\"/adyen/3ds/%s/complete\">"
	"<button name=result value=authenticate>Authenticate</button> "
	"<button name=result value=fail>Fail authentication</button></form></main></html>\n";

void pspsim_adyen_challenge_page(struct sr_http_request *req)
{
	char page[sizeof k_page + 32];
	const char *rc = NULL;
	int n = 0;

	pthread_mutex_lock(&g_adyen.lock);
	rc = g_adyen.ready ? json_string_value(json_object_get(json_object_get(g_adyen.payments, req->params[0]),
	                                                       "resultCode")) : NULL;
	pthread_mutex_unlock(&g_adyen.lock);
	sr_http_add_header(req, "Content-Security-Policy", "default-src 'none'; form-action 'self'");
	if (rc == NULL || strcmp(rc, "RedirectShopper") != 0) {
		static const char gone[] = "<!doctype html><meta charset=utf-8><title>Challenge</title>"
		                           "<p>There is nothing to authenticate.</p>\n";
		sr_http_reply_raw(req, 404, "text/html; charset=utf-8", gone, sizeof gone - 1);
		return;
	}
	/* params[0] is a payment we made: [A-Z0-9] only, safe in HTML. */
	n = snprintf(page, sizeof page, k_page, req->params[0]);
	sr_http_reply_raw(req, 200, "text/html; charset=utf-8", page,
	                  n > 0 && (size_t)n < sizeof page ? (size_t)n : 0);
}

void pspsim_adyen_challenge_complete(struct sr_http_request *req)
{
	const char *result = req->form != NULL ? json_string_value(json_object_get(req->form, "result"))
	                                       : NULL;

	if (!g_adyen.ready || (result != NULL && strcmp(result, "authenticate") != 0 && strcmp(result, "fail") != 0)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
		                    "result must be authenticate or fail.", "result");
		return;
	}
	complete_3ds(req, result == NULL || strcmp(result, "authenticate") == 0);
}

/* POST /_sim/adyen/faults {"unavailable","drop_next","delay_ms"}: absent keep their value. */
static void h_sim_faults(struct sr_http_request *req)
{
	const char *names[] = { "unavailable", "drop_next", "delay_ms" };
	long long *vals[] = { &g_adyen.unavailable, &g_adyen.drop_next, &g_adyen.delay_ms };
	const json_t *v = NULL;
	size_t i = 0;

	for (i = 0; i < 3; i++) {
		v = json_object_get(req->json, names[i]);
		if (!json_is_object(req->json) || (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0))) {
			sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
			                    "Expected {\"unavailable\":int,\"drop_next\":int,\"delay_ms\":int}.", NULL);
			return;
		}
	}
	pthread_mutex_lock(&g_adyen.lock);
	for (i = 0; i < 3; i++) {
		v = json_object_get(req->json, names[i]);
		if (v != NULL)
			*vals[i] = json_integer_value(v);
	}
	sr_http_reply_json(req, 200, json_pack("{s:I, s:I, s:I}", "unavailable", (json_int_t)g_adyen.unavailable,
	                                       "drop_next", (json_int_t)g_adyen.drop_next,
	                                       "delay_ms", (json_int_t)g_adyen.delay_ms));
	pthread_mutex_unlock(&g_adyen.lock);
}

/* Without pspsim_adyen_init (no Adyen keys configured) the dialect answers 404. */
static void guard(struct sr_http_request *req, void (*h)(struct sr_http_request *))
{
	if (!g_adyen.ready) {
		sr_http_reply_error(req, 404, "invalid_request_error", "not_configured",
		                    "The Adyen dialect is not configured.", NULL);
		return;
	}
	h(req);
}

static void r_payments(struct sr_http_request *req) { guard(req, h_payments); }
static void r_captures(struct sr_http_request *req) { guard(req, h_captures); }
static void r_cancels(struct sr_http_request *req) { guard(req, h_cancels); }
static void r_refunds(struct sr_http_request *req) { guard(req, h_refunds); }
static void r_payment_get(struct sr_http_request *req) { guard(req, h_payment_get); }
static void r_sim_3ds(struct sr_http_request *req) { guard(req, h_sim_3ds); }

/*
 * POST /v71/paymentMethods {"merchantAccount"} (Checkout API v71): the
 * payment methods of that merchant account; 403 "901 Invalid Merchant
 * Account" when the X-API-Key may not act for it. The vault's proof that a
 * merchant's key is its account's (issue 15). Answers only "scheme" here.
 */
static void r_payment_methods(struct sr_http_request *req)
{
	const char *ma = json_string_value(json_object_get(req->json, "merchantAccount"));
	char acct[128] = "";

	pthread_mutex_lock(&g_adyen.lock);
	if (!api_key_ok(req, acct))
		goto out;
	if (ma == NULL || acct[0] == '\0' || strcmp(ma, acct) != 0) {
		reply_adyen_error(req, 403, "901", "Invalid Merchant Account", "security");
		goto out;
	}
	sr_http_reply_json(req, 200, json_pack("{s:[{s:s, s:s}]}", "paymentMethods", "name", "Cards",
	                                       "type", "scheme"));
out:
	pthread_mutex_unlock(&g_adyen.lock);
}

/*
 * POST /v3/merchants/{merchantAccount}/webhooks/test (Management API v3,
 * "Test webhook", without the webhook id: pspsim has one webhook per
 * account): one TEST notification for the account the X-API-Key may act
 * for, signed with the HMAC key its owner configured (POST
 * /_sim/adyen/webhook_hmac; unsigned when none), answered as
 * {"data":[{"merchantId","requestSent","status"}]} and delivered to the
 * gateway when webhooks are configured. 403 for another account.
 */
static void r_webhook_test(struct sr_http_request *req)
{
	const char *ma = req->params[0];
	unsigned char key[64];
	size_t klen = 0;
	char acct[128] = "";
	char psp[24];
	char date[40];
	unsigned char rnd[8];
	struct tm tm;
	time_t now = time(NULL);
	json_t *item = NULL;
	json_t *n = NULL;
	char *body = NULL;
	int ok;

	pthread_mutex_lock(&g_adyen.lock);
	ok = api_key_ok(req, acct);
	pthread_mutex_unlock(&g_adyen.lock);
	if (!ok)
		return;
	if (ma == NULL || acct[0] == '\0' || strcmp(ma, acct) != 0) {
		reply_adyen_error(req, 403, "901", "Invalid Merchant Account", "security");
		return;
	}
	randombytes_buf(rnd, sizeof rnd);
	snprintf(psp, sizeof psp, "TEST");
	sr_hex(rnd, sizeof rnd, psp + 4);
	psp[4 + 2 * sizeof rnd] = '\0';
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
	item = json_pack("{s:{s:s, s:i}, s:s, s:s, s:s, s:s, s:s, s:s}", "amount", "currency", "EUR",
	                 "value", 0, "eventCode", "TEST", "eventDate", date,
	                 "merchantAccountCode", acct, "merchantReference", "testMerchantRef1",
	                 "pspReference", psp, "success", "true");
	if (item != NULL && psim_keys_hmac(acct, key, sizeof key, &klen) == 0)
		(void)psim_wh_adyen_sign(item, key, klen);
	sodium_memzero(key, sizeof key);
	n = item != NULL ? json_pack("{s:s, s:[{s:O}]}", "live", "false", "notificationItems",
	                             "NotificationRequestItem", item) : NULL;
	body = n != NULL ? json_dumps(n, JSON_COMPACT) : NULL;
	if (body == NULL) {
		reply_adyen_error(req, 500, "000", "Internal error", "internal");
		goto out;
	}
	if (psim_wh_enabled())
		(void)psim_wh_queue(psp, "TEST", "/v1/psp_webhooks/adyen", body, NULL, NULL, NULL, 0);
	sr_http_reply_json(req, 200, json_pack("{s:[{s:s, s:s, s:s}]}", "data", "merchantId", acct,
	                                       "requestSent", body, "status", "success"));
out:
	json_decref(item);
	json_decref(n);
	free(body);
}

/* POST /_sim/adyen/webhook_hmac {"account","hmac_key"}: the account's owner
 * configures the HMAC key the PSP signs its notifications with. */
static void r_sim_webhook_hmac(struct sr_http_request *req)
{
	if (psim_keys_set_hmac(json_string_value(json_object_get(req->json, "account")),
	                       json_string_value(json_object_get(req->json, "hmac_key"))) != 0) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
		                    "Expected {\"account\": an account id, \"hmac_key\": 64..128 hex "
		                    "digits}.", "hmac_key");
		return;
	}
	sr_http_reply_json(req, 200, json_pack("{s:b}", "configured", 1));
}

const struct sr_route pspsim_adyen_routes[] = {
	{ .method = "POST", .pattern = "/v3/merchants/{}/webhooks/test", .handler = r_webhook_test },
	{ .method = "POST", .pattern = "/_sim/adyen/webhook_hmac", .handler = r_sim_webhook_hmac },
	{ .method = "POST", .pattern = "/v71/paymentMethods", .handler = r_payment_methods },
	{ .method = "POST", .pattern = "/v71/payments", .handler = r_payments },
	{ .method = "GET", .pattern = "/v71/payments/{}", .handler = r_payment_get },
	{ .method = "POST", .pattern = "/v71/payments/{}/captures", .handler = r_captures },
	{ .method = "POST", .pattern = "/v71/payments/{}/cancels", .handler = r_cancels },
	{ .method = "POST", .pattern = "/v71/payments/{}/refunds", .handler = r_refunds },
	{ .method = "POST", .pattern = "/_sim/adyen/payments/{}/3ds", .handler = r_sim_3ds },
	{ .method = "POST", .pattern = "/_sim/adyen/faults", .handler = h_sim_faults },
};
const size_t pspsim_adyen_n_routes = sizeof pspsim_adyen_routes / sizeof pspsim_adyen_routes[0];
