/*
 * pspsim_stripe: the Stripe dialect's endpoints (Stripe's wire format:
 * form-encoded requests, JSON answers, Idempotency-Key; Bearer API key):
 * POST /v1/payment_methods, POST /v1/payment_intents, GET
 * /v1/payment_intents/{id}, POST /v1/payment_intents/{id}/capture|cancel,
 * POST /v1/refunds, GET /v1/account. What they share is in
 * pspsim_stripe_util.c, their state in pspsim_sim.h. Test and demo only.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_util.h"
#include "tests/pspsim/pspsim.h"
#include "tests/pspsim/pspsim_keys.h"
#include "tests/pspsim/pspsim_sim.h"
#include "tests/pspsim/pspsim_store.h"
#include "tests/pspsim/pspsim_stripe.h"

#define SIM_AMOUNT_MAX 99999999LL

/* ------------------------------------------------------------------ */
/* POST /v1/payment_methods                                            */

static void h_payment_methods(struct sr_http_request *req)
{
	static const char *const allowed[] = {
		"type", "card[number]", "card[exp_month]", "card[exp_year]", "card[cvc]",
		"billing_details[", "metadata[", NULL
	};
	struct sim *sim = req->app;
	struct pspsim_idem id;
	const char *type = NULL;
	const char *number = NULL;
	const char *cvc = NULL;
	const char *unk = NULL;
	const char *brand = NULL;
	json_t *pm = NULL;
	json_t *out = NULL;
	char pm_id[40];
	char last4[5];
	long long month = 0;
	long long year = 0;
	time_t now = time(NULL);
	struct tm tm;
	size_t len = 0;

	if (!pspsim_authorized(req, sim))
		return;
	pthread_mutex_lock(&sim->lock);
	if (pspsim_idem_begin(req, sim, &id) != 0)
		goto out;
	type = pspsim_param(req, "type");
	number = pspsim_param(req, "card[number]");
	cvc = pspsim_param(req, "card[cvc]");
	if ((unk = pspsim_unknown_param(req, allowed)) != NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
		                    "Received unknown parameter.", unk);
		goto out;
	}
	if (type == NULL) {
		pspsim_missing(req, "type");
		goto out;
	}
	if (strcmp(type, "card") != 0) {
		pspsim_invalid(req, "type", "parameter_invalid_string");
		goto out;
	}
	if (number == NULL) {
		pspsim_missing(req, "card[number]");
		goto out;
	}
	if (pspsim_param(req, "card[exp_month]") == NULL) {
		pspsim_missing(req, "card[exp_month]");
		goto out;
	}
	if (pspsim_param(req, "card[exp_year]") == NULL) {
		pspsim_missing(req, "card[exp_year]");
		goto out;
	}
	len = strlen(number);
	if (!pspsim_all_digits(number) || len < 12 || len > 19) {
		pspsim_reply_card_error(req, sim, &id, "invalid_number", "The card number is not a valid card number.",
		                        "card[number]");
		goto out;
	}
	if (!pspsim_luhn_ok(number)) {
		pspsim_reply_card_error(req, sim, &id, "incorrect_number", "Your card number is incorrect.",
		                        "card[number]");
		goto out;
	}
	month = pspsim_parse_int(pspsim_param(req, "card[exp_month]"), 1, 12);
	if (month < 0) {
		pspsim_reply_card_error(req, sim, &id, "invalid_expiry_month",
		                        "Your card's expiration month is invalid.", "card[exp_month]");
		goto out;
	}
	year = pspsim_parse_int(pspsim_param(req, "card[exp_year]"), 2000, 2199);
	gmtime_r(&now, &tm);
	if (year < 0 || year < tm.tm_year + 1900 || (year == tm.tm_year + 1900 && month < tm.tm_mon + 1)) {
		pspsim_reply_card_error(req, sim, &id, "invalid_expiry_year",
		                        "Your card's expiration year is invalid.", "card[exp_year]");
		goto out;
	}
	if (cvc != NULL && (!pspsim_all_digits(cvc) || strlen(cvc) < 3 || strlen(cvc) > 4)) {
		pspsim_reply_card_error(req, sim, &id, "invalid_cvc", "Your card's security code is invalid.",
		                        "card[cvc]");
		goto out;
	}
	brand = pspsim_brand_of(number);
	memcpy(last4, number + len - 4, 5);
	sr_random_id("pm_", 16, pm_id, sizeof pm_id);
	/* Only the card's test outcome is kept, never its number (it is journaled). */
	pm = json_pack("{s:s, s:s, s:I, s:I, s:I, s:i, s:b}", "brand", brand, "last4", last4,
	               "exp_month", (json_int_t)month, "exp_year", (json_int_t)year,
	               "created", (json_int_t)now, "outcome", (int)pspsim_outcome_of(number),
	               "cvc_received", cvc != NULL);
	out = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:I, s:I, s:s}, s:I, s:b}",
	                "id", pm_id, "object", "payment_method", "type", "card",
	                "card", "brand", brand, "last4", last4, "exp_month", (json_int_t)month,
	                "exp_year", (json_int_t)year, "funding", "credit",
	                "created", (json_int_t)now, "livemode", 0);
	if (pm == NULL || out == NULL || json_object_set_new(sim->pms, pm_id, pm) != 0) {
		pm = NULL;
		sr_http_reply_error(req, 500, "api_error", "internal", "Internal error.", NULL);
		goto out;
	}
	pm = NULL;
	psim_store_put("pm", pm_id, json_object_get(sim->pms, pm_id));
	sim->n_pm++;
	sr_log(SR_LOG_INFO, req->request_id, "pspsim.payment_method_created", "{s:s, s:s, s:s}",
	       "id", pm_id, "brand", brand, "last4", last4);
	pspsim_reply_save(req, sim, &id, 200, out);
	out = NULL;
out:
	pspsim_unlock_durable(sim);
	json_decref(pm);
	json_decref(out);
}

/* ------------------------------------------------------------------ */
/* payment intents                                                     */

/* Fault: sleep delay_ms (outside the lock) before answering. */
static void sim_delay(struct sim *sim)
{
	long long ms = 0;
	struct timespec ts;

	pthread_mutex_lock(&sim->lock);
	ms = sim->delay_ms;
	pthread_mutex_unlock(&sim->lock);
	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void h_intent_create(struct sr_http_request *req)
{
	static const char *const allowed[] = {
		"amount", "currency", "payment_method", "confirm", "capture_method", "description",
		"metadata[", "statement_descriptor", "statement_descriptor_suffix", "return_url",
		"off_session", "setup_future_usage", NULL
	};
	struct sim *sim = req->app;
	struct pspsim_idem id;
	const char *unk = NULL;
	const char *currency = NULL;
	const char *pm_id = NULL;
	const char *confirm = NULL;
	const char *cm = NULL;
	const char *key = NULL;
	json_t *v = NULL;
	json_t *pm = NULL;
	json_t *intent = NULL;
	json_t *meta = NULL;
	json_t *body = NULL;
	char pi_id[40];
	char url[256];
	long long amount = 0;
	enum outcome oc = OUT_SUCCEED;
	unsigned status = 200;
	size_t i = 0;

	if (!pspsim_authorized(req, sim))
		return;
	sim_delay(sim);
	pthread_mutex_lock(&sim->lock);
	if (pspsim_idem_begin(req, sim, &id) != 0)
		goto out;
	if ((unk = pspsim_unknown_param(req, allowed)) != NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
		                    "Received unknown parameter.", unk);
		goto out;
	}
	if (pspsim_param(req, "amount") == NULL) {
		pspsim_missing(req, "amount");
		goto out;
	}
	amount = pspsim_parse_int(pspsim_param(req, "amount"), 1, SIM_AMOUNT_MAX);
	if (amount < 0) {
		pspsim_invalid(req, "amount", "parameter_invalid_integer");
		goto out;
	}
	currency = pspsim_param(req, "currency");
	if (currency == NULL) {
		pspsim_missing(req, "currency");
		goto out;
	}
	if (strlen(currency) != 3 || currency[0] < 'a' || currency[0] > 'z' || currency[1] < 'a'
	    || currency[1] > 'z' || currency[2] < 'a' || currency[2] > 'z') {
		pspsim_invalid(req, "currency", "parameter_invalid_string");
		goto out;
	}
	pm_id = pspsim_param(req, "payment_method");
	if (pm_id == NULL) {
		pspsim_missing(req, "payment_method");
		goto out;
	}
	pm = json_object_get(sim->pms, pm_id);
	if (pm == NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "resource_missing",
		                    "No such PaymentMethod.", "payment_method");
		goto out;
	}
	confirm = pspsim_param(req, "confirm");
	if (confirm == NULL) {
		pspsim_missing(req, "confirm");
		goto out;
	}
	if (strcmp(confirm, "true") != 0) {
		/* pspsim models only create-and-confirm. */
		pspsim_invalid(req, "confirm", "parameter_invalid_boolean");
		goto out;
	}
	/* Stripe takes an absolute URL; pspsim wants http(s), as the gateway sends. */
	if (pspsim_param(req, "return_url") != NULL
	    && strncmp(pspsim_param(req, "return_url"), "https://", 8) != 0
	    && strncmp(pspsim_param(req, "return_url"), "http://", 7) != 0) {
		pspsim_invalid(req, "return_url", "url_invalid");
		goto out;
	}
	/* Stored credentials (issue 19 item 7), Stripe's rules. */
	if (pspsim_param(req, "off_session") != NULL
	    && strcmp(pspsim_param(req, "off_session"), "true") != 0
	    && strcmp(pspsim_param(req, "off_session"), "false") != 0) {
		pspsim_invalid(req, "off_session", "parameter_invalid_boolean");
		goto out;
	}
	if (pspsim_param(req, "setup_future_usage") != NULL
	    && strcmp(pspsim_param(req, "setup_future_usage"), "on_session") != 0
	    && strcmp(pspsim_param(req, "setup_future_usage"), "off_session") != 0) {
		pspsim_invalid(req, "setup_future_usage", "parameter_invalid_string");
		goto out;
	}
	cm = pspsim_param(req, "capture_method");
	if (cm == NULL)
		cm = "automatic";
	if (strcmp(cm, "automatic") != 0 && strcmp(cm, "manual") != 0) {
		pspsim_invalid(req, "capture_method", "parameter_invalid_string");
		goto out;
	}
	meta = json_object();
	/* metadata[k]=v -> metadata {"k": v} */
	json_object_foreach(req->form, key, v) {
		i = strlen(key);
		if (strncmp(key, "metadata[", 9) == 0 && i > 10 && key[i - 1] == ']') {
			char mk[128];

			if (i - 10 >= sizeof mk)
				continue;
			memcpy(mk, key + 9, i - 10);
			mk[i - 10] = '\0';
			json_object_set(meta, mk, v);
		}
	}

	sr_random_id("pi_", 16, pi_id, sizeof pi_id);
	intent = json_pack("{s:s, s:s, s:I, s:i, s:i, s:s, s:s, s:s, s:s, s:o, s:n, s:n, s:I, s:b, s:n}",
	                   "id", pi_id, "object", "payment_intent", "amount", (json_int_t)amount,
	                   "amount_capturable", 0, "amount_received", 0, "currency", currency,
	                   "capture_method", cm, "confirmation_method", "automatic",
	                   "payment_method", pm_id, "metadata", meta, "next_action", "last_payment_error",
	                   "created", (json_int_t)time(NULL), "livemode", 0, "canceled_at");
	meta = NULL;
	/* Kept as received, as Stripe shows them on the intent (issue 19). */
	if (intent != NULL)
		for (i = 0; i < 2; i++) {
			const char *name = i == 0 ? "statement_descriptor" : "statement_descriptor_suffix";
			const char *sd = pspsim_param(req, name);

			json_object_set_new(intent, name, sd != NULL ? json_string(sd) : json_null());
		}
	if (intent == NULL) {
		sr_http_reply_error(req, 500, "api_error", "internal", "Internal error.", NULL);
		goto out;
	}
	/* What was received, for tests (GET /_sim/intents): the flags, and
	 * whether the payment method carried a CVC. */
	json_object_set_new(intent, "setup_future_usage",
	                    pspsim_param(req, "setup_future_usage") != NULL
	                    ? json_string(pspsim_param(req, "setup_future_usage")) : json_null());
	json_object_set_new(intent, "sim_received",
	                    json_pack("{s:b, s:b}", "off_session",
	                              pspsim_param(req, "off_session") != NULL
	                              && strcmp(pspsim_param(req, "off_session"), "true") == 0,
	                              "cvc", json_is_true(json_object_get(pm, "cvc_received"))));
	oc = (enum outcome)json_integer_value(json_object_get(pm, "outcome"));
	switch (oc) {
	case OUT_SUCCEED:
	case OUT_SUCCEED_THEN_DISPUTE:
		pspsim_set_succeeded(intent);
		if (pspsim_param(req, "setup_future_usage") != NULL) {
			/* Stripe keeps the scheme's id behind the payment method
			 * and shows it on the charge. */
			char nti[16];

			pspsim_network_tx_id(nti);
			json_object_set_new(intent, "latest_charge",
			                    json_pack("{s:s, s:{s:{s:s}}}", "object", "charge",
			                              "payment_method_details", "card",
			                              "network_transaction_id", nti));
		}
		break;
	case OUT_GENERIC_DECLINE:
		pspsim_set_declined(intent, "card_declined", "generic_decline", "Your card was declined.");
		break;
	case OUT_INSUFFICIENT_FUNDS:
		pspsim_set_declined(intent, "card_declined", "insufficient_funds", "Your card has insufficient funds.");
		break;
	case OUT_EXPIRED_CARD:
		pspsim_set_declined(intent, "expired_card", "expired_card", "Your card has expired.");
		break;
	case OUT_INCORRECT_CVC:
		pspsim_set_declined(intent, "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.");
		break;
	case OUT_PROCESSING_ERROR:
		pspsim_set_declined(intent, "processing_error", "processing_error",
		                    "An error occurred while processing your card. Try again in a little bit.");
		break;
	case OUT_3DS_THEN_SUCCEED:
	case OUT_3DS_THEN_DECLINE:
		snprintf(url, sizeof url, "https://%s:%u/3ds/%s", sim->public_host,
		         sim->challenge_port != 0 ? sim->challenge_port : sim->port, pi_id);
		json_object_set_new(intent, "status", json_string("requires_action"));
		json_object_set_new(intent, "next_action",
		                    json_pack("{s:s, s:{s:s, s:s?}}", "type", "redirect_to_url",
		                              "redirect_to_url", "url", url, "return_url",
		                              pspsim_param(req, "return_url")));
		break;
	}
	if (json_object_set(sim->intents, pi_id, intent) != 0
	    || json_object_set_new(sim->meta, pi_id,
	                           json_pack("{s:i, s:s?, s:[], s:s?}", "outcome", (int)oc,
	                                     "idempotency_key", id.key, "refunds",
	                                     "return_url", pspsim_param(req, "return_url"))) != 0) {
		json_object_del(sim->intents, pi_id);
		sr_http_reply_error(req, 500, "api_error", "internal", "Internal error.", NULL);
		goto out;
	}
	pspsim_put_intent(sim, pi_id);
	sim->n_pi++;
	if (oc == OUT_SUCCEED_THEN_DISPUTE &&
	    strcmp(json_string_value(json_object_get(intent, "status")), "succeeded") == 0)
		pspsim_send_dispute(intent);
	v = json_object_get(intent, "last_payment_error");
	if (json_is_object(v)) {
		/* Stripe answers a failed confirmation with 402 and the intent inside. */
		json_t *e = json_deep_copy(v);

		json_object_set_new(e, "payment_intent", json_deep_copy(intent));
		body = json_pack("{s:o}", "error", e);
		status = 402;
	} else {
		body = json_incref(intent);
	}
	sr_log(SR_LOG_INFO, req->request_id, "pspsim.payment_intent_created", "{s:s, s:s, s:s, s:I}",
	       "id", pi_id, "status", json_string_value(json_object_get(intent, "status")),
	       "last4", json_string_value(json_object_get(pm, "last4")), "amount", (json_int_t)amount);
	pspsim_reply_save(req, sim, &id, status, body);
	body = NULL;
out:
	pspsim_unlock_durable(sim);
	json_decref(meta);
	json_decref(intent);
	json_decref(body);
}

static void h_intent_get(struct sr_http_request *req)
{
	struct sim *sim = req->app;
	json_t *intent = NULL;

	if (!pspsim_authorized(req, sim))
		return;
	pthread_mutex_lock(&sim->lock);
	intent = pspsim_find_intent(req, sim);
	if (intent != NULL)
		sr_http_reply_json(req, 200, json_deep_copy(intent));
	pspsim_unlock_durable(sim);    /* what it read may be a line not yet durable */
}

static void h_intent_capture(struct sr_http_request *req)
{
	static const char *const allowed[] = { "amount_to_capture", "metadata[", NULL };
	struct sim *sim = req->app;
	struct pspsim_idem id;
	json_t *intent = NULL;
	const char *status = NULL;
	const char *unk = NULL;
	json_int_t capturable = 0;
	long long amount = 0;

	if (!pspsim_authorized(req, sim))
		return;
	pthread_mutex_lock(&sim->lock);
	if (pspsim_idem_begin(req, sim, &id) != 0)
		goto out;
	if ((unk = pspsim_unknown_param(req, allowed)) != NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
		                    "Received unknown parameter.", unk);
		goto out;
	}
	intent = pspsim_find_intent(req, sim);
	if (intent == NULL)
		goto out;
	status = json_string_value(json_object_get(intent, "status"));
	if (strcmp(status, "requires_capture") != 0) {
		pspsim_unexpected_state(req, status);
		goto out;
	}
	capturable = json_integer_value(json_object_get(intent, "amount_capturable"));
	amount = capturable;
	if (pspsim_param(req, "amount_to_capture") != NULL) {
		amount = pspsim_parse_int(pspsim_param(req, "amount_to_capture"), 1, capturable);
		if (amount < 0) {
			pspsim_invalid(req, "amount_to_capture", "parameter_invalid_integer");
			goto out;
		}
	}
	json_object_set_new(intent, "status", json_string("succeeded"));
	json_object_set_new(intent, "amount_received", json_integer(amount));
	json_object_set_new(intent, "amount_capturable", json_integer(0));
	pspsim_put_intent(sim, req->params[0]);
	sim->n_captures++;
	if (pspsim_intent_outcome(sim, req->params[0]) == OUT_SUCCEED_THEN_DISPUTE)
		pspsim_send_dispute(intent);
	sr_log(SR_LOG_INFO, req->request_id, "pspsim.payment_intent_captured", "{s:s, s:I}",
	       "id", req->params[0], "amount", (json_int_t)amount);
	pspsim_reply_save(req, sim, &id, 200, json_deep_copy(intent));
out:
	pspsim_unlock_durable(sim);
}

static void h_intent_cancel(struct sr_http_request *req)
{
	static const char *const allowed[] = { "cancellation_reason", NULL };
	static const char *const cancellable[] = {
		"requires_payment_method", "requires_capture", "requires_confirmation",
		"requires_action", "processing", NULL
	};
	struct sim *sim = req->app;
	struct pspsim_idem id;
	json_t *intent = NULL;
	const char *status = NULL;
	const char *unk = NULL;
	const char *reason = NULL;
	size_t i = 0;
	bool ok = false;

	if (!pspsim_authorized(req, sim))
		return;
	pthread_mutex_lock(&sim->lock);
	if (pspsim_idem_begin(req, sim, &id) != 0)
		goto out;
	if ((unk = pspsim_unknown_param(req, allowed)) != NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
		                    "Received unknown parameter.", unk);
		goto out;
	}
	intent = pspsim_find_intent(req, sim);
	if (intent == NULL)
		goto out;
	status = json_string_value(json_object_get(intent, "status"));
	for (i = 0; cancellable[i] != NULL; i++)
		if (strcmp(status, cancellable[i]) == 0)
			ok = true;
	if (!ok) {
		pspsim_unexpected_state(req, status);
		goto out;
	}
	reason = pspsim_param(req, "cancellation_reason");
	json_object_set_new(intent, "status", json_string("canceled"));
	json_object_set_new(intent, "amount_capturable", json_integer(0));
	json_object_set_new(intent, "next_action", json_null());
	json_object_set_new(intent, "canceled_at", json_integer(time(NULL)));
	json_object_set_new(intent, "cancellation_reason", reason != NULL ? json_string(reason) : json_null());
	pspsim_put_intent(sim, req->params[0]);
	sim->n_cancels++;
	sr_log(SR_LOG_INFO, req->request_id, "pspsim.payment_intent_canceled", "{s:s}", "id", req->params[0]);
	pspsim_reply_save(req, sim, &id, 200, json_deep_copy(intent));
out:
	pspsim_unlock_durable(sim);
}

/* POST /v1/refunds: payment_intent, amount (default: what is left), reason. */
static void h_refund_create(struct sr_http_request *req)
{
	static const char *const allowed[] = { "payment_intent", "amount", "reason", "metadata[", NULL };
	struct sim *sim = req->app;
	struct pspsim_idem id;
	json_t *intent = NULL;
	const char *pi = NULL;
	const char *status = NULL;
	const char *unk = NULL;
	char re_id[64];
	json_int_t received = 0;
	json_int_t done = 0;
	json_t *refunds = NULL;
	json_t *r = NULL;
	long long amount = 0;
	size_t i = 0;

	if (!pspsim_authorized(req, sim))
		return;
	pthread_mutex_lock(&sim->lock);
	if (pspsim_idem_begin(req, sim, &id) != 0)
		goto out;
	if ((unk = pspsim_unknown_param(req, allowed)) != NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
		                    "Received unknown parameter.", unk);
		goto out;
	}
	pi = pspsim_param(req, "payment_intent");
	if (pi == NULL) {
		pspsim_missing(req, "payment_intent");
		goto out;
	}
	intent = json_object_get(sim->intents, pi);
	if (intent == NULL) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such payment_intent.", "payment_intent");
		goto out;
	}
	status = json_string_value(json_object_get(intent, "status"));
	if (strcmp(status, "succeeded") != 0) {
		pspsim_unexpected_state(req, status);
		goto out;
	}
	received = json_integer_value(json_object_get(intent, "amount_received"));
	refunds = json_object_get(json_object_get(sim->meta, pi), "refunds");
	json_array_foreach(refunds, i, r)
		done += json_integer_value(json_object_get(r, "amount"));
	amount = received - done;
	if (pspsim_param(req, "amount") != NULL)
		amount = pspsim_parse_int(pspsim_param(req, "amount"), 1, SIM_AMOUNT_MAX);
	if (amount <= 0 || amount > received - done) {
		sr_http_reply_error(req, 400, "invalid_request_error", "charge_already_refunded",
		                    "The amount exceeds what is left to refund.", "amount");
		goto out;
	}
	if (sr_random_id("re_", 12, re_id, sizeof re_id) != 0) {
		sr_http_reply_error(req, 500, "api_error", "internal", "Internal error.", NULL);
		goto out;
	}
	r = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s?, s:I, s:s}", "id", re_id, "object", "refund",
	              "amount", (json_int_t)amount, "currency",
	              json_string_value(json_object_get(intent, "currency")),
	              "payment_intent", pi, "reason", pspsim_param(req, "reason"),
	              "created", (json_int_t)time(NULL), "status", "succeeded");
	if (r == NULL || json_array_append_new(refunds, r) != 0) {
		sr_http_reply_error(req, 500, "api_error", "internal", "Internal error.", NULL);
		goto out;
	}
	pspsim_put_intent(sim, pi);
	sim->n_refunds++;
	pspsim_send_refunded(intent, re_id, amount, done + amount);
	sr_log(SR_LOG_INFO, req->request_id, "pspsim.refund_created", "{s:s, s:s, s:I}", "id", re_id,
	       "payment_intent", pi, "amount", (json_int_t)amount);
	pspsim_reply_save(req, sim, &id, 200, json_deep_copy(r));   /* the answer hook may rewrite it */
out:
	pspsim_unlock_durable(sim);
}

/* GET /v1/account (https://docs.stripe.com/api/accounts/retrieve): the
 * account the Bearer key belongs to, {"id","object":"account"}; the vault's
 * proof that a merchant's key is its account's (issue 15). The platform key
 * is "acct_platform_sim"; a merchant key's is the account registered with
 * it (POST /_sim/api_keys), or one derived from nothing: "acct_unbound". */
static void h_account(struct sr_http_request *req)
{
	const struct sim *sim = req->app;
	const char *bearer = sr_http_bearer(req);
	char acct[128] = "";
	char h[65];

	if (bearer == NULL) {
		sr_http_reply_error(req, 401, "authentication_error", "missing_api_key",
		                    "You did not provide an API key.", NULL);
		return;
	}
	sr_sha256_hex(bearer, strlen(bearer), h);
	if (sr_ct_equal(h, sim->key_hash, 64)) {
		snprintf(acct, sizeof acct, "acct_platform_sim");
	} else if (!psim_keys_check(bearer, acct, sizeof acct)) {
		sr_http_reply_error(req, 401, "authentication_error", "invalid_api_key",
		                    "Invalid API Key provided.", NULL);
		return;
	}
	sr_http_reply_json(req, 200, json_pack("{s:s, s:s}", "id", acct[0] != '\0' ? acct : "acct_unbound",
	                                       "object", "account"));
}

const struct sr_route pspsim_stripe_routes[] = {
	{ .method = "GET", .pattern = "/v1/account", .handler = h_account },
	{ .method = "POST", .pattern = "/v1/payment_methods", .handler = h_payment_methods },
	{ .method = "POST", .pattern = "/v1/payment_intents", .handler = h_intent_create },
	{ .method = "GET", .pattern = "/v1/payment_intents/{}", .handler = h_intent_get },
	{ .method = "POST", .pattern = "/v1/payment_intents/{}/capture", .handler = h_intent_capture },
	{ .method = "POST", .pattern = "/v1/payment_intents/{}/cancel", .handler = h_intent_cancel },
	{ .method = "POST", .pattern = "/v1/refunds", .handler = h_refund_create },
};
const size_t pspsim_stripe_n_routes = sizeof pspsim_stripe_routes / sizeof pspsim_stripe_routes[0];
