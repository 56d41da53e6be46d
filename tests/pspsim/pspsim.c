/*
 * pspsim: a PSP simulator speaking Stripe's wire format (form-encoded
 * requests, JSON answers, Idempotency-Key) over mutual TLS. Test and demo
 * only: never shipped in production units (docs/development.md).
 *
 * Outcomes follow Stripe's published test cards (the table in docs/development.md,
 * https://docs.stripe.com/testing). State lives in memory behind one mutex
 * and, with state_dir, in a journal written before each answer
 * (pspsim_store.c, ADR 0115): a restart, even after kill -9, keeps every
 * answered intent, refund and idempotency record. A card number is only
 * read for its test outcome: never kept, logged or returned (brand, last4).
 *
 *   pspsim --config FILE
 *
 * Config keys: listen ("127.0.0.1"), port (8446; 0 lets the kernel choose),
 * tls_cert, tls_key, client_ca, peer_name ("vault-egress.strongroom.internal"),
 * api_key_file, threads (4), public_host, challenge_port, state_dir.
 *
 * challenge_port (issue 6): a second HTTPS listener, without client
 * certificates, for the cardholder's browser: GET /3ds/{pi} is the 3-D Secure
 * challenge page the redirect_to_url points at, POST /3ds/{pi}/complete its
 * button. When it is set, redirect URLs use this port.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "common/sr_config.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_secret.h"
#include "common/sr_util.h"
#include "common/sr_version.h"
#include "tests/pspsim/pspsim_keys.h"
#include "tests/pspsim/pspsim_sim.h"
#include "tests/pspsim/pspsim_store.h"
#include "tests/pspsim/pspsim_webhooks.h"
#include "tests/pspsim/pspsim.h"

#define SIM_AMOUNT_MAX 99999999LL
#define SIM_IDEM_KEY_MAX 255


/* ------------------------------------------------------------------ */
/* helpers                                                             */

static const char *param(const struct sr_http_request *req, const char *name)
{
	return json_string_value(json_object_get(req->form, name));
}

/* Strict decimal integer in [lo, hi]; -1 on error (callers use lo >= 0). */
static long long parse_int(const char *s, long long lo, long long hi)
{
	long long v = 0;

	if (!pspsim_all_digits(s) || strlen(s) > 12)
		return -1;
	for (; *s != '\0'; s++)
		v = v * 10 + (*s - '0');
	return (v < lo || v > hi) ? -1 : v;
}

/* First form key that is not allowed (exact names, or prefixes ending in '['). */
static const char *unknown_param(const struct sr_http_request *req, const char *const *allowed)
{
	const char *key = NULL;
	json_t *v = NULL;
	size_t i = 0;
	size_t n = 0;
	bool ok = false;

	json_object_foreach(req->form, key, v) {
		ok = false;
		for (i = 0; allowed[i] != NULL; i++) {
			n = strlen(allowed[i]);
			if (allowed[i][n - 1] == '[' ? strncmp(key, allowed[i], n) == 0
			                            : strcmp(key, allowed[i]) == 0) {
				ok = true;
				break;
			}
		}
		if (!ok)
			return key;
	}
	return NULL;
}

/* Check the Bearer key in constant time (hash first, so lengths don't leak). */
static bool authorized(struct sr_http_request *req, const struct sim *sim)
{
	const char *bearer = sr_http_bearer(req);
	char h[65];

	if (bearer == NULL) {
		sr_http_reply_error(req, 401, "authentication_error", "missing_api_key",
		                    "You did not provide an API key.", NULL);
		return false;
	}
	sr_sha256_hex(bearer, strlen(bearer), h);
	if (!sr_ct_equal(h, sim->key_hash, 64)) {
		/* Issue 5: a merchant's own key registered by a test. */
		if (psim_keys_check(bearer, NULL, 0))
			return true;
		sr_log(SR_LOG_WARN, req->request_id, "pspsim.auth_failed", NULL);
		sr_http_reply_error(req, 401, "authentication_error", "invalid_api_key",
		                    "Invalid API Key provided.", NULL);
		return false;
	}
	psim_keys_count_platform();
	return true;
}

/* Leave a handler's locked section: the request's changes become one journal
 * line, and the answer (sent when the handler returns) waits until it and
 * every line before it are durable (pspsim_store.h). */
static void unlock_durable(struct sim *sim)
{
	psim_store_commit();
	pthread_mutex_unlock(&sim->lock);
	psim_store_wait();
}

void pspsim_put_intent(struct sim *sim, const char *pi_id)
{
	json_t *v = json_pack("{s:O, s:O}", "intent", json_object_get(sim->intents, pi_id),
	                      "meta", json_object_get(sim->meta, pi_id));

	if (v != NULL)
		psim_store_put("pi", pi_id, v);
	json_decref(v);
}

/* The test outcome recorded for intent pi_id. Lock held. */
static enum outcome intent_outcome(const struct sim *sim, const char *pi_id)
{
	return (enum outcome)json_integer_value(json_object_get(json_object_get(sim->meta, pi_id),
	                                                        "outcome"));
}

/* ---- webhooks to the gateway (issue 5; tests/pspsim/pspsim_webhooks.c) ---- */

/* A Stripe dispute on intent (a charge.dispute.created event, 1.5 s later:
 * "succeeds, then a dispute arrives"). Lock held. */
static void send_dispute(const json_t *intent)
{
	char du[64];

	if (sr_random_id("du_", 12, du, sizeof du) != 0)
		return;
	(void)psim_wh_stripe_event("charge.dispute.created",
	    json_pack("{s:s, s:s, s:O, s:O, s:O, s:s, s:s, s:I}", "id", du, "object", "dispute",
	              "amount", json_object_get(intent, "amount_received"),
	              "currency", json_object_get(intent, "currency"),
	              "payment_intent", json_object_get(intent, "id"), "reason", "fraudulent",
	              "status", "needs_response", "created", (json_int_t)time(NULL)),
	    1500, NULL, 0);
}

/* The asynchronous result of 3-D Secure on intent (lock held). */
static void send_3ds_result(const json_t *intent)
{
	const char *st = json_string_value(json_object_get(intent, "status"));

	(void)psim_wh_stripe_event(strcmp(st, "succeeded") == 0 ? "payment_intent.succeeded"
	                           : strcmp(st, "requires_capture") == 0
	                           ? "payment_intent.amount_capturable_updated"
	                           : "payment_intent.payment_failed",
	                           json_deep_copy(intent), 0, NULL, 0);
}

/* A refund done on intent: charge.refunded with the refund (lock held). */
static void send_refunded(const json_t *intent, const char *re_id, long long amount,
                          long long refunded_total)
{
	char ch[64];
	const char *pi = json_string_value(json_object_get(intent, "id"));

	if (pi == NULL || strlen(pi) < 4)
		return;
	snprintf(ch, sizeof ch, "ch_%s", pi + 3);
	(void)psim_wh_stripe_event("charge.refunded",
	    json_pack("{s:s, s:s, s:s, s:O, s:I, s:I, s:O, s:b, s:{s:s, s:[{s:s, s:s, s:I, s:O, s:s, s:s}]}}",
	              "id", ch, "object", "charge", "payment_intent", pi,
	              "amount", json_object_get(intent, "amount_received"),
	              "amount_captured", json_integer_value(json_object_get(intent, "amount_received")),
	              "amount_refunded", (json_int_t)refunded_total,
	              "currency", json_object_get(intent, "currency"),
	              "refunded", refunded_total >= json_integer_value(json_object_get(intent,
	                                                               "amount_received")),
	              "refunds", "object", "list", "data", "id", re_id, "object", "refund",
	              "amount", (json_int_t)amount, "currency", json_object_get(intent, "currency"),
	              "payment_intent", pi, "status", "succeeded"),
	    200, NULL, 0);
}

/* Idempotency for one POST. */
struct idem {
	const char *key;        /* NULL: no Idempotency-Key header */
	char hash[65];          /* keyed fingerprint of method, path, sorted form params */
};

/*
 * Look up the request's Idempotency-Key. @return 1 when a reply was sent
 * (replay or conflict), 0 to proceed (idem filled). Caller holds sim->lock.
 */
static int idem_begin(struct sr_http_request *req, struct sim *sim, struct idem *id)
{
	json_t *saved = NULL;
	char *dump = NULL;
	size_t dlen = 0;
	const char *body = NULL;
	int ret = 0;

	memset(id, 0, sizeof *id);
	id->key = sr_http_header(req, "Idempotency-Key");
	if (id->key == NULL)
		return 0;
	if (strlen(id->key) == 0 || strlen(id->key) > SIM_IDEM_KEY_MAX) {
		sr_http_reply_error(req, 400, "invalid_request_error", "idempotency_key_invalid",
		                    "Idempotency-Key must be 1 to 255 characters.", NULL);
		return 1;
	}
	dump = req->form != NULL ? json_dumps(req->form, JSON_SORT_KEYS | JSON_COMPACT) : strdup("{}");
	if (dump == NULL) {
		sr_http_reply_error(req, 500, "api_error", "internal", "Internal error.", NULL);
		return 1;
	}
	dlen = strlen(dump);
	/* Keyed: the form may carry a card number, and the hash is journaled. */
	psim_store_fingerprint(req->method, req->path, dump, dlen, id->hash);

	saved = json_object_get(sim->idem, id->key);
	if (saved != NULL) {
		ret = 1;
		if (!sr_ct_equal(json_string_value(json_object_get(saved, "hash")), id->hash, 64)) {
			sr_http_reply_error(req, 400, "idempotency_error", "idempotency_key_in_use",
			                    "Keys for idempotent requests can only be used with the same "
			                    "parameters they were first used with.", NULL);
			goto out;
		}
		sim->n_replays++;
		body = json_string_value(json_object_get(saved, "body"));
		sr_http_add_header(req, "Idempotent-Replayed", "true");
		sr_http_reply_raw(req, (unsigned)json_integer_value(json_object_get(saved, "status")),
		                  "application/json", body, strlen(body));
		sr_log(SR_LOG_INFO, req->request_id, "pspsim.idempotent_replay", "{s:s}", "path", req->path);
	}
out:
	sodium_memzero(dump, dlen);   /* held the form, which may carry a PAN */
	free(dump);
	return ret;
}

/* Reply with body (stolen); save it under the Idempotency-Key for 200/402. */
static void reply_save(struct sr_http_request *req, struct sim *sim, const struct idem *id,
                       unsigned status, json_t *body)
{
	char *s = NULL;

	pspsim_answer_hook(req, status, body);
	s = json_dumps(body, JSON_COMPACT);

	if (s == NULL) {
		json_decref(body);
		sr_http_reply_error(req, 500, "api_error", "internal", "Internal error.", NULL);
		return;
	}
	if (id != NULL && id->key != NULL && (status == 200 || status == 402)) {
		json_object_set_new(sim->idem, id->key, json_pack("{s:s, s:i, s:s}", "hash", id->hash,
		                                                  "status", (int)status, "body", s));
		psim_store_put("stripe_idem", id->key, json_object_get(sim->idem, id->key));
	}
	if (sim->drop_next > 0 && strncmp(req->path, "/v1/payment_methods", 19) != 0) {
		/* Fault: the effect happened (and is replayable by its key), the
		 * answer is lost: the connection closes without a response. */
		sim->drop_next--;
		sim->n_dropped++;
		sr_log(SR_LOG_WARN, req->request_id, "pspsim.answer_dropped", "{s:s}", "path", req->path);
		sr_http_reply_drop(req);
		free(s);
		json_decref(body);
		return;
	}
	sr_http_reply_raw(req, status, "application/json", s, strlen(s));
	free(s);
	json_decref(body);
}

static void missing(struct sr_http_request *req, const char *name)
{
	sr_http_reply_error(req, 400, "invalid_request_error", "parameter_missing",
	                    "Missing required param.", name);
}

static void invalid(struct sr_http_request *req, const char *name, const char *code)
{
	sr_http_reply_error(req, 400, "invalid_request_error", code, "Invalid value for this param.", name);
}

/* {"error":{type card_error,...}} with an optional payment_intent. */
static json_t *card_error(const char *code, const char *decline, const char *message,
                          const char *param_name, const json_t *intent)
{
	json_t *e = json_pack("{s:s, s:s, s:s}", "type", "card_error", "code", code, "message", message);

	if (e == NULL)
		return NULL;
	if (decline != NULL)
		json_object_set_new(e, "decline_code", json_string(decline));
	if (param_name != NULL)
		json_object_set_new(e, "param", json_string(param_name));
	if (intent != NULL)
		json_object_set_new(e, "payment_intent", json_deep_copy(intent));
	return json_pack("{s:o}", "error", e);
}

static void reply_card_error(struct sr_http_request *req, struct sim *sim, const struct idem *id,
                             const char *code, const char *message, const char *param_name)
{
	json_t *b = card_error(code, NULL, message, param_name, NULL);

	if (b == NULL) {
		sr_http_reply_error(req, 500, "api_error", "internal", "Internal error.", NULL);
		return;
	}
	reply_save(req, sim, id, 402, b);
}

/* ------------------------------------------------------------------ */
/* POST /v1/payment_methods                                            */

static void h_payment_methods(struct sr_http_request *req)
{
	static const char *const allowed[] = {
		"type", "card[number]", "card[exp_month]", "card[exp_year]", "card[cvc]",
		"billing_details[", "metadata[", NULL
	};
	struct sim *sim = req->app;
	struct idem id;
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

	if (!authorized(req, sim))
		return;
	pthread_mutex_lock(&sim->lock);
	if (idem_begin(req, sim, &id) != 0)
		goto out;
	type = param(req, "type");
	number = param(req, "card[number]");
	cvc = param(req, "card[cvc]");
	if ((unk = unknown_param(req, allowed)) != NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
		                    "Received unknown parameter.", unk);
		goto out;
	}
	if (type == NULL) {
		missing(req, "type");
		goto out;
	}
	if (strcmp(type, "card") != 0) {
		invalid(req, "type", "parameter_invalid_string");
		goto out;
	}
	if (number == NULL) {
		missing(req, "card[number]");
		goto out;
	}
	if (param(req, "card[exp_month]") == NULL) {
		missing(req, "card[exp_month]");
		goto out;
	}
	if (param(req, "card[exp_year]") == NULL) {
		missing(req, "card[exp_year]");
		goto out;
	}
	len = strlen(number);
	if (!pspsim_all_digits(number) || len < 12 || len > 19) {
		reply_card_error(req, sim, &id, "invalid_number", "The card number is not a valid card number.",
		                 "card[number]");
		goto out;
	}
	if (!pspsim_luhn_ok(number)) {
		reply_card_error(req, sim, &id, "incorrect_number", "Your card number is incorrect.",
		                 "card[number]");
		goto out;
	}
	month = parse_int(param(req, "card[exp_month]"), 1, 12);
	if (month < 0) {
		reply_card_error(req, sim, &id, "invalid_expiry_month",
		                 "Your card's expiration month is invalid.", "card[exp_month]");
		goto out;
	}
	year = parse_int(param(req, "card[exp_year]"), 2000, 2199);
	gmtime_r(&now, &tm);
	if (year < 0 || year < tm.tm_year + 1900 || (year == tm.tm_year + 1900 && month < tm.tm_mon + 1)) {
		reply_card_error(req, sim, &id, "invalid_expiry_year",
		                 "Your card's expiration year is invalid.", "card[exp_year]");
		goto out;
	}
	if (cvc != NULL && (!pspsim_all_digits(cvc) || strlen(cvc) < 3 || strlen(cvc) > 4)) {
		reply_card_error(req, sim, &id, "invalid_cvc", "Your card's security code is invalid.",
		                 "card[cvc]");
		goto out;
	}
	brand = pspsim_brand_of(number);
	memcpy(last4, number + len - 4, 5);
	sr_random_id("pm_", 16, pm_id, sizeof pm_id);
	/* Only the card's test outcome is kept, never its number (it is journaled). */
	pm = json_pack("{s:s, s:s, s:I, s:I, s:I, s:i}", "brand", brand, "last4", last4,
	               "exp_month", (json_int_t)month, "exp_year", (json_int_t)year,
	               "created", (json_int_t)now, "outcome", (int)pspsim_outcome_of(number));
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
	reply_save(req, sim, &id, 200, out);
	out = NULL;
out:
	unlock_durable(sim);
	json_decref(pm);
	json_decref(out);
}

/* ------------------------------------------------------------------ */
/* payment intents                                                     */

static void set_declined(json_t *intent, const char *code, const char *decline, const char *message)
{
	json_object_set_new(intent, "status", json_string("requires_payment_method"));
	json_object_set_new(intent, "last_payment_error",
	                    json_pack("{s:s, s:s, s:s, s:s}", "type", "card_error", "code", code,
	                              "decline_code", decline, "message", message));
}

static void set_succeeded(json_t *intent)
{
	json_int_t amount = json_integer_value(json_object_get(intent, "amount"));
	const char *cm = json_string_value(json_object_get(intent, "capture_method"));

	json_object_set_new(intent, "next_action", json_null());
	if (cm != NULL && strcmp(cm, "manual") == 0) {
		json_object_set_new(intent, "status", json_string("requires_capture"));
		json_object_set_new(intent, "amount_capturable", json_integer(amount));
	} else {
		json_object_set_new(intent, "status", json_string("succeeded"));
		json_object_set_new(intent, "amount_received", json_integer(amount));
	}
}

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
		"metadata[", "statement_descriptor", "statement_descriptor_suffix", NULL
	};
	struct sim *sim = req->app;
	struct idem id;
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

	if (!authorized(req, sim))
		return;
	sim_delay(sim);
	pthread_mutex_lock(&sim->lock);
	if (idem_begin(req, sim, &id) != 0)
		goto out;
	if ((unk = unknown_param(req, allowed)) != NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
		                    "Received unknown parameter.", unk);
		goto out;
	}
	if (param(req, "amount") == NULL) {
		missing(req, "amount");
		goto out;
	}
	amount = parse_int(param(req, "amount"), 1, SIM_AMOUNT_MAX);
	if (amount < 0) {
		invalid(req, "amount", "parameter_invalid_integer");
		goto out;
	}
	currency = param(req, "currency");
	if (currency == NULL) {
		missing(req, "currency");
		goto out;
	}
	if (strlen(currency) != 3 || currency[0] < 'a' || currency[0] > 'z' || currency[1] < 'a'
	    || currency[1] > 'z' || currency[2] < 'a' || currency[2] > 'z') {
		invalid(req, "currency", "parameter_invalid_string");
		goto out;
	}
	pm_id = param(req, "payment_method");
	if (pm_id == NULL) {
		missing(req, "payment_method");
		goto out;
	}
	pm = json_object_get(sim->pms, pm_id);
	if (pm == NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "resource_missing",
		                    "No such PaymentMethod.", "payment_method");
		goto out;
	}
	confirm = param(req, "confirm");
	if (confirm == NULL) {
		missing(req, "confirm");
		goto out;
	}
	if (strcmp(confirm, "true") != 0) {
		/* pspsim models only create-and-confirm. */
		invalid(req, "confirm", "parameter_invalid_boolean");
		goto out;
	}
	cm = param(req, "capture_method");
	if (cm == NULL)
		cm = "automatic";
	if (strcmp(cm, "automatic") != 0 && strcmp(cm, "manual") != 0) {
		invalid(req, "capture_method", "parameter_invalid_string");
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
			const char *sd = param(req, name);

			json_object_set_new(intent, name, sd != NULL ? json_string(sd) : json_null());
		}
	if (intent == NULL) {
		sr_http_reply_error(req, 500, "api_error", "internal", "Internal error.", NULL);
		goto out;
	}
	oc = (enum outcome)json_integer_value(json_object_get(pm, "outcome"));
	switch (oc) {
	case OUT_SUCCEED:
	case OUT_SUCCEED_THEN_DISPUTE:
		set_succeeded(intent);
		break;
	case OUT_GENERIC_DECLINE:
		set_declined(intent, "card_declined", "generic_decline", "Your card was declined.");
		break;
	case OUT_INSUFFICIENT_FUNDS:
		set_declined(intent, "card_declined", "insufficient_funds", "Your card has insufficient funds.");
		break;
	case OUT_EXPIRED_CARD:
		set_declined(intent, "expired_card", "expired_card", "Your card has expired.");
		break;
	case OUT_INCORRECT_CVC:
		set_declined(intent, "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.");
		break;
	case OUT_PROCESSING_ERROR:
		set_declined(intent, "processing_error", "processing_error",
		             "An error occurred while processing your card. Try again in a little bit.");
		break;
	case OUT_3DS_THEN_SUCCEED:
	case OUT_3DS_THEN_DECLINE:
		snprintf(url, sizeof url, "https://%s:%u/3ds/%s", sim->public_host,
		         sim->challenge_port != 0 ? sim->challenge_port : sim->port, pi_id);
		json_object_set_new(intent, "status", json_string("requires_action"));
		json_object_set_new(intent, "next_action",
		                    json_pack("{s:s, s:{s:s, s:n}}", "type", "redirect_to_url",
		                              "redirect_to_url", "url", url, "return_url"));
		break;
	}
	if (json_object_set(sim->intents, pi_id, intent) != 0
	    || json_object_set_new(sim->meta, pi_id,
	                           json_pack("{s:i, s:s?, s:[]}", "outcome", (int)oc,
	                                     "idempotency_key", id.key, "refunds")) != 0) {
		json_object_del(sim->intents, pi_id);
		sr_http_reply_error(req, 500, "api_error", "internal", "Internal error.", NULL);
		goto out;
	}
	pspsim_put_intent(sim, pi_id);
	sim->n_pi++;
	if (oc == OUT_SUCCEED_THEN_DISPUTE &&
	    strcmp(json_string_value(json_object_get(intent, "status")), "succeeded") == 0)
		send_dispute(intent);
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
	reply_save(req, sim, &id, status, body);
	body = NULL;
out:
	unlock_durable(sim);
	json_decref(meta);
	json_decref(intent);
	json_decref(body);
}

static json_t *find_intent(struct sr_http_request *req, struct sim *sim)
{
	json_t *intent = json_object_get(sim->intents, req->params[0]);

	if (intent == NULL)
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such payment_intent.", "intent");
	return intent;
}

static void h_intent_get(struct sr_http_request *req)
{
	struct sim *sim = req->app;
	json_t *intent = NULL;

	if (!authorized(req, sim))
		return;
	pthread_mutex_lock(&sim->lock);
	intent = find_intent(req, sim);
	if (intent != NULL)
		sr_http_reply_json(req, 200, json_deep_copy(intent));
	unlock_durable(sim);    /* what it read may be a line not yet durable */
}

static void unexpected_state(struct sr_http_request *req, const char *status)
{
	char msg[160];

	snprintf(msg, sizeof msg, "This PaymentIntent's status is %s, which does not allow this operation.",
	         status);
	sr_http_reply_error(req, 400, "invalid_request_error", "payment_intent_unexpected_state", msg, NULL);
}

static void h_intent_capture(struct sr_http_request *req)
{
	static const char *const allowed[] = { "amount_to_capture", "metadata[", NULL };
	struct sim *sim = req->app;
	struct idem id;
	json_t *intent = NULL;
	const char *status = NULL;
	const char *unk = NULL;
	json_int_t capturable = 0;
	long long amount = 0;

	if (!authorized(req, sim))
		return;
	pthread_mutex_lock(&sim->lock);
	if (idem_begin(req, sim, &id) != 0)
		goto out;
	if ((unk = unknown_param(req, allowed)) != NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
		                    "Received unknown parameter.", unk);
		goto out;
	}
	intent = find_intent(req, sim);
	if (intent == NULL)
		goto out;
	status = json_string_value(json_object_get(intent, "status"));
	if (strcmp(status, "requires_capture") != 0) {
		unexpected_state(req, status);
		goto out;
	}
	capturable = json_integer_value(json_object_get(intent, "amount_capturable"));
	amount = capturable;
	if (param(req, "amount_to_capture") != NULL) {
		amount = parse_int(param(req, "amount_to_capture"), 1, capturable);
		if (amount < 0) {
			invalid(req, "amount_to_capture", "parameter_invalid_integer");
			goto out;
		}
	}
	json_object_set_new(intent, "status", json_string("succeeded"));
	json_object_set_new(intent, "amount_received", json_integer(amount));
	json_object_set_new(intent, "amount_capturable", json_integer(0));
	pspsim_put_intent(sim, req->params[0]);
	sim->n_captures++;
	if (intent_outcome(sim, req->params[0]) == OUT_SUCCEED_THEN_DISPUTE)
		send_dispute(intent);
	sr_log(SR_LOG_INFO, req->request_id, "pspsim.payment_intent_captured", "{s:s, s:I}",
	       "id", req->params[0], "amount", (json_int_t)amount);
	reply_save(req, sim, &id, 200, json_deep_copy(intent));
out:
	unlock_durable(sim);
}

static void h_intent_cancel(struct sr_http_request *req)
{
	static const char *const allowed[] = { "cancellation_reason", NULL };
	static const char *const cancellable[] = {
		"requires_payment_method", "requires_capture", "requires_confirmation",
		"requires_action", "processing", NULL
	};
	struct sim *sim = req->app;
	struct idem id;
	json_t *intent = NULL;
	const char *status = NULL;
	const char *unk = NULL;
	const char *reason = NULL;
	size_t i = 0;
	bool ok = false;

	if (!authorized(req, sim))
		return;
	pthread_mutex_lock(&sim->lock);
	if (idem_begin(req, sim, &id) != 0)
		goto out;
	if ((unk = unknown_param(req, allowed)) != NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
		                    "Received unknown parameter.", unk);
		goto out;
	}
	intent = find_intent(req, sim);
	if (intent == NULL)
		goto out;
	status = json_string_value(json_object_get(intent, "status"));
	for (i = 0; cancellable[i] != NULL; i++)
		if (strcmp(status, cancellable[i]) == 0)
			ok = true;
	if (!ok) {
		unexpected_state(req, status);
		goto out;
	}
	reason = param(req, "cancellation_reason");
	json_object_set_new(intent, "status", json_string("canceled"));
	json_object_set_new(intent, "amount_capturable", json_integer(0));
	json_object_set_new(intent, "next_action", json_null());
	json_object_set_new(intent, "canceled_at", json_integer(time(NULL)));
	json_object_set_new(intent, "cancellation_reason", reason != NULL ? json_string(reason) : json_null());
	pspsim_put_intent(sim, req->params[0]);
	sim->n_cancels++;
	sr_log(SR_LOG_INFO, req->request_id, "pspsim.payment_intent_canceled", "{s:s}", "id", req->params[0]);
	reply_save(req, sim, &id, 200, json_deep_copy(intent));
out:
	unlock_durable(sim);
}

/* POST /v1/refunds: payment_intent, amount (default: what is left), reason. */
static void h_refund_create(struct sr_http_request *req)
{
	static const char *const allowed[] = { "payment_intent", "amount", "reason", "metadata[", NULL };
	struct sim *sim = req->app;
	struct idem id;
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

	if (!authorized(req, sim))
		return;
	pthread_mutex_lock(&sim->lock);
	if (idem_begin(req, sim, &id) != 0)
		goto out;
	if ((unk = unknown_param(req, allowed)) != NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
		                    "Received unknown parameter.", unk);
		goto out;
	}
	pi = param(req, "payment_intent");
	if (pi == NULL) {
		missing(req, "payment_intent");
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
		unexpected_state(req, status);
		goto out;
	}
	received = json_integer_value(json_object_get(intent, "amount_received"));
	refunds = json_object_get(json_object_get(sim->meta, pi), "refunds");
	json_array_foreach(refunds, i, r)
		done += json_integer_value(json_object_get(r, "amount"));
	amount = received - done;
	if (param(req, "amount") != NULL)
		amount = parse_int(param(req, "amount"), 1, SIM_AMOUNT_MAX);
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
	              "payment_intent", pi, "reason", param(req, "reason"),
	              "created", (json_int_t)time(NULL), "status", "succeeded");
	if (r == NULL || json_array_append_new(refunds, r) != 0) {
		sr_http_reply_error(req, 500, "api_error", "internal", "Internal error.", NULL);
		goto out;
	}
	pspsim_put_intent(sim, pi);
	sim->n_refunds++;
	send_refunded(intent, re_id, amount, done + amount);
	sr_log(SR_LOG_INFO, req->request_id, "pspsim.refund_created", "{s:s, s:s, s:I}", "id", re_id,
	       "payment_intent", pi, "amount", (json_int_t)amount);
	reply_save(req, sim, &id, 200, json_deep_copy(r));   /* the answer hook may rewrite it */
out:
	unlock_durable(sim);
}

/* POST /_sim/faults {"drop_next": N, "delay_ms": N}: inject PSP faults.
 * drop_next: the next N answers of payment_intents/refunds are dropped after
 * their effect (connection closed, no response); delay_ms: every payment
 * intent creation waits that long first. Both absent fields keep their value. */
static void h_sim_faults(struct sr_http_request *req)
{
	struct sim *sim = req->app;
	json_t *d = json_object_get(req->json, "drop_next");
	json_t *w = json_object_get(req->json, "delay_ms");

	if (!json_is_object(req->json) || (d != NULL && !json_is_integer(d)) ||
	    (w != NULL && !json_is_integer(w))) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
		                    "Expected {\"drop_next\":int,\"delay_ms\":int}.", NULL);
		return;
	}
	pthread_mutex_lock(&sim->lock);
	if (d != NULL)
		sim->drop_next = json_integer_value(d);
	if (w != NULL)
		sim->delay_ms = json_integer_value(w);
	sr_http_reply_json(req, 200, json_pack("{s:I, s:I}", "drop_next", (json_int_t)sim->drop_next,
	                                       "delay_ms", (json_int_t)sim->delay_ms));
	pthread_mutex_unlock(&sim->lock);
}

/* ------------------------------------------------------------------ */
/* test hooks (mTLS only, no API key): /_sim/...                        */

/* The cardholder completes 3-D Secure for intent params[0] (lock held):
 * the intent moves on by its card's outcome. Replies and returns NULL on
 * error, else the intent (borrowed). */
static json_t *complete_3ds(struct sr_http_request *req, struct sim *sim)
{
	json_t *intent = NULL;
	const char *status = NULL;
	enum outcome oc = OUT_SUCCEED;

	intent = find_intent(req, sim);
	if (intent == NULL)
		return NULL;
	status = json_string_value(json_object_get(intent, "status"));
	if (strcmp(status, "requires_action") != 0) {
		unexpected_state(req, status);
		return NULL;
	}
	oc = intent_outcome(sim, req->params[0]);
	json_object_set_new(intent, "next_action", json_null());
	if (oc == OUT_3DS_THEN_DECLINE)
		set_declined(intent, "card_declined", "generic_decline", "Your card was declined.");
	else
		set_succeeded(intent);
	pspsim_put_intent(sim, req->params[0]);
	sr_log(SR_LOG_INFO, req->request_id, "pspsim.3ds_completed", "{s:s, s:s}", "id", req->params[0],
	       "status", json_string_value(json_object_get(intent, "status")));
	send_3ds_result(intent);
	return intent;
}

/* POST /_sim/payment_intents/{id}/3ds: the cardholder completes 3-D Secure. */
static void h_sim_3ds(struct sr_http_request *req)
{
	struct sim *sim = req->app;
	json_t *intent = NULL;

	pthread_mutex_lock(&sim->lock);
	intent = complete_3ds(req, sim);
	if (intent != NULL)
		sr_http_reply_json(req, 200, json_deep_copy(intent));
	unlock_durable(sim);
}

/* ---- the browser-facing challenge listener (challenge_port) ---- */

static const char k_challenge_html[] =
	"<!doctype html><html lang=en><meta charset=utf-8><title>3-D Secure test challenge</title>"
	"<link rel=stylesheet href=/3ds/challenge.css>"
	"<main><h1>Test bank: confirm this payment</h1>"
	"<p>This is the PSP simulator's 3-D Secure challenge. A real issuer would ask for a "
	"one-time code here.</p>"
	"<button id=complete type=button>Complete authentication</button>"
	"<p id=result role=status></p>"
	"<noscript><form method=post action=\"/3ds/%s/complete\">"
	"<button name=result value=authenticate>Authenticate</button> "
	"<button name=result value=fail>Fail authentication</button></form></noscript></main>"
	"<script src=/3ds/challenge.js></script></html>\n";

static const char k_challenge_css[] =
	"body{font:15px system-ui,sans-serif;margin:16px;color:#222}"
	"h1{font-size:17px}button{font:inherit;padding:8px 14px;border-radius:5px;"
	"border:1px solid #2b4acb;background:#3b5bdb;color:#fff;cursor:pointer}\n";

/* The page's parent origin comes in the fragment (#origin=...), put there by
 * strongroom.js; the result is posted to exactly that origin. */
static const char k_challenge_js[] =
	"(function(){'use strict';\n"
	"var m=/[#&]origin=([^&]+)/.exec(location.hash);var parentOrigin=m?decodeURIComponent(m[1]):null;\n"
	"var b=document.getElementById('complete'),out=document.getElementById('result');\n"
	"b.addEventListener('click',function(){b.disabled=true;\n"
	" fetch(location.pathname+'/complete',{method:'POST'}).then(function(r){return r.json();})\n"
	" .then(function(j){var st=j.status||'error';out.textContent='Authentication '+(j.error?'failed':'complete')+'.';\n"
	"  if(parentOrigin&&window.parent!==window)window.parent.postMessage({sr3ds:'complete',status:st},parentOrigin);})\n"
	" .catch(function(){out.textContent='Authentication failed.';b.disabled=false;});});\n"
	"})();\n";

static void challenge_headers(struct sr_http_request *req)
{
	sr_http_add_header(req, "Content-Security-Policy",
	                   "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
	                   "base-uri 'none'; form-action 'none'");
}

/* GET /3ds/{pi}: the challenge page (only for an intent awaiting 3-D Secure). */
static void h_challenge_page(struct sr_http_request *req)
{
	struct sim *sim = req->app;
	json_t *intent = NULL;
	const char *status = NULL;

	pthread_mutex_lock(&sim->lock);
	intent = json_object_get(sim->intents, req->params[0]);
	status = intent != NULL ? json_string_value(json_object_get(intent, "status")) : NULL;
	pthread_mutex_unlock(&sim->lock);
	challenge_headers(req);
	if (status == NULL || strcmp(status, "requires_action") != 0) {
		static const char gone[] = "<!doctype html><meta charset=utf-8><title>Challenge</title>"
		                           "<p>There is nothing to authenticate.</p>\n";
		sr_http_reply_raw(req, 404, "text/html; charset=utf-8", gone, sizeof gone - 1);
		return;
	}
	{
		char page[sizeof k_challenge_html + 64];
		/* params[0] matched [A-Za-z0-9_-] in routing: safe in HTML */
		int n = snprintf(page, sizeof page, k_challenge_html, req->params[0]);

		sr_http_reply_raw(req, 200, "text/html; charset=utf-8", page,
		                  n > 0 && (size_t)n < sizeof page ? (size_t)n : 0);
	}
}

static void h_challenge_js(struct sr_http_request *req)
{
	sr_http_reply_raw(req, 200, "text/javascript; charset=utf-8", k_challenge_js,
	                  sizeof k_challenge_js - 1);
}

static void h_challenge_css(struct sr_http_request *req)
{
	sr_http_reply_raw(req, 200, "text/css; charset=utf-8", k_challenge_css,
	                  sizeof k_challenge_css - 1);
}

/* POST /3ds/{pi}/complete [result=authenticate|fail]: the cardholder answered
 * (the page's script sends no result: authenticate). */
static void h_challenge_complete(struct sr_http_request *req)
{
	struct sim *sim = req->app;
	json_t *intent = NULL;
	const char *result = req->form != NULL ? json_string_value(json_object_get(req->form, "result"))
	                                       : NULL;

	if (result != NULL && strcmp(result, "authenticate") != 0 && strcmp(result, "fail") != 0) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
		                    "result must be authenticate or fail.", "result");
		return;
	}
	pthread_mutex_lock(&sim->lock);
	if (result != NULL && strcmp(result, "fail") == 0) {
		intent = find_intent(req, sim);
		if (intent != NULL) {
			const char *st = json_string_value(json_object_get(intent, "status"));
			if (strcmp(st, "requires_action") != 0) {
				unexpected_state(req, st);
				intent = NULL;
			} else {
				json_object_set_new(intent, "next_action", json_null());
				set_declined(intent, "authentication_required", "authentication_required",
				             "The cardholder failed authentication.");
				pspsim_put_intent(sim, req->params[0]);
				sr_log(SR_LOG_INFO, req->request_id, "pspsim.3ds_completed", "{s:s, s:s}",
				       "id", req->params[0], "status", "failed_authentication");
			}
		}
	} else {
		intent = complete_3ds(req, sim);
	}
	if (intent != NULL)
		sr_http_reply_json(req, 200, json_pack("{s:s, s:O?}", "status",
		                   json_string_value(json_object_get(intent, "status")),
		                   "last_payment_error", json_object_get(intent, "last_payment_error")));
	unlock_durable(sim);
}

static const struct sr_route k_challenge_routes[] = {
	{ .method = "GET", .pattern = "/3ds/challenge.js", .handler = h_challenge_js },
	{ .method = "GET", .pattern = "/3ds/challenge.css", .handler = h_challenge_css },
	{ .method = "GET", .pattern = "/3ds/{}", .handler = h_challenge_page },
	{ .method = "POST", .pattern = "/3ds/{}/complete", .handler = h_challenge_complete },
	/* Adyen's RedirectShopper action.url (tests/pspsim/pspsim_adyen.c) */
	{ .method = "GET", .pattern = "/adyen/3ds/{}", .handler = pspsim_adyen_challenge_page },
	{ .method = "POST", .pattern = "/adyen/3ds/{}/complete", .handler = pspsim_adyen_challenge_complete },
};

static void h_sim_stats(struct sr_http_request *req)
{
	struct sim *sim = req->app;
	json_t *b = NULL;
	json_t *adyen = NULL;

	pthread_mutex_lock(&sim->lock);
	b = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
	              "payment_methods_created", (json_int_t)sim->n_pm,
	              "payment_intents_created", (json_int_t)sim->n_pi,
	              "idempotent_replays", (json_int_t)sim->n_replays,
	              "captures", (json_int_t)sim->n_captures,
	              "cancels", (json_int_t)sim->n_cancels,
	              "refunds", (json_int_t)sim->n_refunds,
	              "dropped", (json_int_t)sim->n_dropped,
	              "calls_by_key", psim_keys_stats());
	pthread_mutex_unlock(&sim->lock);
	adyen = pspsim_adyen_stats();
	if (b != NULL && adyen != NULL)
		json_object_update(b, adyen);
	json_decref(adyen);
	adyen = psim_store_stats();
	if (b != NULL && adyen != NULL)
		json_object_update(b, adyen);
	json_decref(adyen);
	sr_http_reply_json(req, 200, b);
}

/* GET /_sim/webhooks: every webhook sent, with its deliveries' statuses. */
static void h_sim_webhooks(struct sr_http_request *req)
{
	sr_http_reply_json(req, 200, json_pack("{s:b, s:o}", "enabled", psim_wh_enabled(), "data",
	                                       psim_wh_list()));
}

/* POST /_sim/webhooks/replay {"event":"evt_...","times":N}: deliver it again
 * N times (1..100) now, each freshly signed; answers the statuses. */
static void h_sim_webhooks_replay(struct sr_http_request *req)
{
	const char *ev = json_string_value(json_object_get(req->json, "event"));
	json_t *t = json_object_get(req->json, "times");
	json_t *st = NULL;

	if (ev == NULL || (t != NULL && (!json_is_integer(t) || json_integer_value(t) < 1 ||
	                                 json_integer_value(t) > 100))) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
		                    "Expected {\"event\":\"evt_...\",\"times\":1..100}.", NULL);
		return;
	}
	st = psim_wh_replay(ev, t != NULL ? (int)json_integer_value(t) : 1);
	if (st == NULL) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such event.", "event");
		return;
	}
	sr_http_reply_json(req, 200, json_pack("{s:s, s:o}", "event", ev, "statuses", st));
}

/* POST /_sim/api_keys {"key":"...","account"?:"..."}: accept a merchant's
 * own API key too (issue 5), for that merchant account (issue 15: what
 * GET /v1/account and Adyen's /v71/paymentMethods prove); GET /_sim/stats
 * then counts calls per key's last 4. */
static void h_sim_api_keys(struct sr_http_request *req)
{
	const json_t *acct = json_object_get(req->json, "account");

	if ((acct != NULL && !json_is_string(acct)) ||
	    psim_keys_register(json_string_value(json_object_get(req->json, "key")),
	                       json_string_value(acct)) != 0) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
		                    "Expected {\"key\": 8..256 visible ASCII characters, \"account\"?: "
		                    "an account id}.", "key");
		return;
	}
	psim_store_wait();      /* the registration is journaled before it is confirmed */
	sr_http_reply_json(req, 200, json_pack("{s:b}", "registered", 1));
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

static const struct sr_route k_routes[] = {
	{ .method = "GET", .pattern = "/v1/account", .handler = h_account },
	{ .method = "POST", .pattern = "/v1/payment_methods", .handler = h_payment_methods },
	{ .method = "POST", .pattern = "/v1/payment_intents", .handler = h_intent_create },
	{ .method = "GET", .pattern = "/v1/payment_intents/{}", .handler = h_intent_get },
	{ .method = "POST", .pattern = "/v1/payment_intents/{}/capture", .handler = h_intent_capture },
	{ .method = "POST", .pattern = "/v1/payment_intents/{}/cancel", .handler = h_intent_cancel },
	{ .method = "POST", .pattern = "/v1/refunds", .handler = h_refund_create },
	{ .method = "POST", .pattern = "/_sim/payment_intents/{}/3ds", .handler = h_sim_3ds },
	{ .method = "POST", .pattern = "/_sim/faults", .handler = h_sim_faults },
	{ .method = "GET", .pattern = "/_sim/stats", .handler = h_sim_stats },
	/* issue 16: the durable records, for audits after a fault (pspsim_audit.c) */
	{ .method = "GET", .pattern = "/_sim/intents", .handler = pspsim_h_intents },
	/* issue 5: webhooks sent to the gateway, merchants' own API keys */
	{ .method = "GET", .pattern = "/_sim/webhooks", .handler = h_sim_webhooks },
	{ .method = "POST", .pattern = "/_sim/webhooks/replay", .handler = h_sim_webhooks_replay },
	{ .method = "POST", .pattern = "/_sim/api_keys", .handler = h_sim_api_keys },
	/* issue 15: contradicting answers, the reasons received (pspsim_answers.c) */
	{ .method = "POST", .pattern = "/_sim/contradict", .handler = pspsim_h_contradict },
	{ .method = "GET", .pattern = "/_sim/received", .handler = pspsim_h_received },
};

/* ------------------------------------------------------------------ */
/* main                                                                */

static void usage(FILE *f)
{
	fprintf(f,
	        "NAME\n"
	        "    pspsim - PSP simulator (Stripe wire format) over mutual TLS; test/demo only\n"
	        "\n"
	        "SYNOPSIS\n"
	        "    pspsim --config FILE [--check-config]\n"
	        "    pspsim --help\n"
	        "\n"
	        "DESCRIPTION\n"
	        "    Answers the vault's connector like the PSP would, with outcomes chosen by\n"
	        "    the test card number. Logs JSON lines on stderr, each with the caller's\n"
	        "    X-Request-Id as request_id (correlation across gateway, vault, PSP).\n"
	        "    --check-config validates the configuration and exits 0 or 1.\n"
	        "    SIGTERM/SIGINT stop it. Exit status: 0 ok, 1 failure, 2 usage.\n"
	        "\n"
	        "Config (JSON object; unknown keys are errors):\n"
	        "  listen        bind address (default \"127.0.0.1\")\n"
	        "  port          TCP port (default 8446; 0: kernel chooses, logged)\n"
	        "  tls_cert      server certificate chain, PEM (required)\n"
	        "  tls_key       server key, PEM (required)\n"
	        "  client_ca     CA the client certificate must chain to (required)\n"
	        "  peer_name     DNS name the client certificate must carry\n"
	        "                (default \"vault-egress.strongroom.internal\")\n"
	        "  api_key_file  file holding the Bearer API key, mode 0600 (required)\n"
	        "  threads       worker threads (default 4)\n"
	        "  public_host   host name used in 3-D Secure redirect URLs\n"
	        "  challenge_port  port of the cardholder's 3-D Secure page (TLS, no client\n"
	        "                certificate: GET /3ds/{id}, POST /3ds/{id}/complete); 0: off\n"
	        "                (default \"psp.strongroom.test\")\n"
	        "  challenge_port  port of a second listener without client certificates\n"
	        "                for browsers: GET /3ds/{id} challenge page (default: none)\n"
	        "  webhook_url   base URL of the gateway's PSP webhook ingress, e.g.\n"
	        "                https://gateway.strongroom.test:8443 (issue 5; default: none,\n"
	        "                no webhooks are sent)\n"
	        "  webhook_addr  address to connect to for webhook_url's host (default: DNS)\n"
	        "  webhook_ca    CA the gateway's certificate must chain to\n"
	        "  webhook_secret_file  the Stripe endpoint secret (whsec_...), mode 0600\n"
	        "  adyen_api_key_file      the Adyen dialect's X-API-Key, mode 0600 (optional:\n"
	        "                without it the Adyen routes answer 404)\n"
	        "  adyen_merchant_account  the only merchantAccount the Adyen dialect accepts\n"
	        "  adyen_hmac_key_file     the Adyen notification HMAC key (hex), mode 0600:\n"
	        "                with webhook_url, Adyen notifications are sent too\n"
	        "  state_dir     directory (created, mode 0700) of the journal: every change\n"
	        "                is written and fdatasync'd before its answer, replayed at\n"
	        "                start, so a restart (even kill -9) keeps what was answered;\n"
	        "                one pspsim per directory (default: none, memory only)\n"
	        "\n"
	        "Endpoints: POST /v1/payment_methods, POST /v1/payment_intents,\n"
	        "GET /v1/payment_intents/{id}, POST /v1/payment_intents/{id}/capture|cancel,\n"
	        "POST /v1/refunds, GET /v1/account, GET /_sim/stats, POST /_sim/payment_intents/{id}/3ds\n"
	        "(complete 3-D Secure), POST /_sim/faults {\"drop_next\",\"delay_ms\"},\n"
	        "GET /_sim/webhooks (sent), POST /_sim/webhooks/replay {\"event\",\"times\"},\n"
	        "POST /_sim/api_keys {\"key\"} (accept a merchant's own key),\n"
	        "POST /_sim/contradict {\"next\",\"field\"}, GET /_sim/received (issue 15),\n"
	        "GET /_sim/intents[?created_gte=unix] (every intent and Adyen payment with its\n"
	        "amounts, status, idempotency key, refunds; issue 16).\n"
	        "Webhooks sent (signed, Stripe-Signature): 3-D Secure results\n"
	        "(payment_intent.succeeded | amount_capturable_updated | payment_failed),\n"
	        "charge.refunded, and charge.dispute.created 1.5 s after a 4000000000000259\n"
	        "payment succeeds.\n"
	        "Adyen (tests/pspsim/pspsim_adyen.c): POST /v71/payments,\n"
	        "POST /v71/payments/{psp}/captures|cancels|refunds, GET /v71/payments/{psp}\n"
	        "(simulator stand-in), POST /_sim/adyen/payments/{psp}/3ds,\n"
	        "POST /_sim/adyen/faults {\"unavailable\",\"drop_next\",\"delay_ms\"}.\n"
	        "Adyen notifications sent (HMAC-signed items): AUTHORISATION after 3-D Secure,\n"
	        "CAPTURE, CANCELLATION, REFUND after the modification, CHARGEBACK 1.5 s after\n"
	        "a 4000000000000259 payment is captured; listed and replayed as\n"
	        "\"<eventCode>:<pspReference>:<success>\".\n");
}

int main(int argc, char **argv)
{
	static const char *const keys[] = {
		"listen", "port", "tls_cert", "tls_key", "client_ca", "peer_name", "api_key_file",
		"threads", "public_host", "challenge_port",
		"webhook_url", "webhook_addr", "webhook_ca", "webhook_secret_file",
		"adyen_api_key_file", "adyen_merchant_account", "adyen_hmac_key_file", "state_dir", NULL
	};
	struct sim sim;
	struct sr_http_config hc;
	struct sr_http_server *srv = NULL;
	struct sr_http_server *chal = NULL;
	struct sr_route *all_routes = NULL;
	long long chal_port = 0;
	json_t *cfg = NULL;
	char *key = NULL;
	const char *path = NULL;
	char err[512] = "";
	size_t key_len = 0;
	long long port = 0;
	long long threads = 0;
	sigset_t sigs;
	int sig = 0;
	int i = 0;
	int ret = 1;
	bool lock_ok = false;
	bool check_only = false;

	memset(&sim, 0, sizeof sim);
	sr_log_init("pspsim");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			return sr_version_print("pspsim");
		} else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--check-config") == 0) {
			check_only = true;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.sodium_init_failed", NULL);
		goto out;
	}
	cfg = sr_config_load(path, keys, err, sizeof err);
	if (cfg == NULL) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.config_error", "{s:s}", "error", err);
		goto out;
	}
	port = sr_config_int(cfg, "port", 8446);
	threads = sr_config_int(cfg, "threads", 4);
	if (port < 0 || port > 65535 || threads < 1 || threads > 256) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.config_error", "{s:s}", "error", "port or threads out of range");
		goto out;
	}
	if (sr_config_str(cfg, "tls_cert", NULL) == NULL || sr_config_str(cfg, "tls_key", NULL) == NULL
	    || sr_config_str(cfg, "client_ca", NULL) == NULL || sr_config_str(cfg, "api_key_file", NULL) == NULL) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.config_error", "{s:s}", "error",
		       "tls_cert, tls_key, client_ca and api_key_file are required");
		goto out;
	}
	key = sr_secret_read_file(sr_config_str(cfg, "api_key_file", NULL), &key_len, err, sizeof err);
	if (key == NULL) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.config_error", "{s:s}", "error", err);
		goto out;
	}
	sr_sha256_hex(key, key_len, sim.key_hash);
	psim_store_fingerprint_key(key, key_len);
	sr_secret_free(key);
	key = NULL;
	/* Issue 5: signed Stripe webhooks to the gateway, when configured. */
	if (sr_config_str(cfg, "webhook_url", NULL) != NULL && !check_only) {
		if (sr_config_str(cfg, "webhook_secret_file", NULL) == NULL ||
		    psim_wh_stripe_init(sr_config_str(cfg, "webhook_secret_file", NULL), err,
		                        sizeof err) != 0 ||
		    psim_wh_init(sr_config_str(cfg, "webhook_url", NULL),
		                 sr_config_str(cfg, "webhook_addr", NULL),
		                 sr_config_str(cfg, "webhook_ca", NULL), err, sizeof err) != 0) {
			sr_log(SR_LOG_ERROR, NULL, "pspsim.config_error", "{s:s}", "error",
			       err[0] != '\0' ? err : "webhook_secret_file is required with webhook_url");
			goto out;
		}
		/* Adyen notifications too, when the HMAC key is configured. */
		if (sr_config_str(cfg, "adyen_hmac_key_file", NULL) != NULL &&
		    psim_wh_adyen_init(sr_config_str(cfg, "adyen_hmac_key_file", NULL), err,
		                       sizeof err) != 0) {
			sr_log(SR_LOG_ERROR, NULL, "pspsim.config_error", "{s:s}", "error", err);
			goto out;
		}
	}
	if (check_only) {
		printf("pspsim: %s: configuration OK\n", path);
		ret = 0;
		goto out;
	}
	snprintf(sim.public_host, sizeof sim.public_host, "%s",
	         sr_config_str(cfg, "public_host", "psp.strongroom.test"));
	/* Issue 16: the journal (state_dir) is replayed before any state is used. */
	if (psim_store_open(sr_config_str(cfg, "state_dir", NULL), err, sizeof err) != 0) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.state_error", "{s:s}", "error", err);
		goto out;
	}
	if (sr_config_str(cfg, "adyen_api_key_file", NULL) != NULL &&
	    pspsim_adyen_init(sr_config_str(cfg, "adyen_api_key_file", NULL),
	                      sr_config_str(cfg, "adyen_merchant_account", NULL), sim.public_host,
	                      err, sizeof err) != 0) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.config_error", "{s:s}", "error", err);
		goto out;
	}
	if (pthread_mutex_init(&sim.lock, NULL) != 0)
		goto out;
	lock_ok = true;
	sim.pms = json_object();
	sim.intents = json_object();
	sim.meta = json_object();
	sim.idem = json_object();
	if (sim.pms == NULL || sim.intents == NULL || sim.meta == NULL || sim.idem == NULL)
		goto out;
	if (pspsim_load(&sim) != 0) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.state_error", "{s:s}", "error",
		       "a journal record of the Stripe dialect or a key is malformed");
		goto out;
	}
	psim_store_loaded_free();

	/* Signals are taken by sigwait below, in this thread only. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	memset(&hc, 0, sizeof hc);
	hc.bind_addr = sr_config_str(cfg, "listen", "127.0.0.1");
	hc.port = (uint16_t)port;
	hc.cert_file = sr_config_str(cfg, "tls_cert", NULL);
	hc.key_file = sr_config_str(cfg, "tls_key", NULL);
	hc.client_ca_file = sr_config_str(cfg, "client_ca", NULL);
	hc.peer_name = sr_config_str(cfg, "peer_name", "vault-egress.strongroom.internal");
	hc.threads = (unsigned)threads;
	/* Both dialects on the one mTLS listener: Stripe's routes, then Adyen's. */
	all_routes = calloc(sizeof k_routes / sizeof k_routes[0] + pspsim_adyen_n_routes, sizeof *all_routes);
	if (all_routes == NULL)
		goto out;
	memcpy(all_routes, k_routes, sizeof k_routes);
	memcpy(all_routes + sizeof k_routes / sizeof k_routes[0], pspsim_adyen_routes,
	       pspsim_adyen_n_routes * sizeof *all_routes);
	hc.routes = all_routes;
	hc.n_routes = sizeof k_routes / sizeof k_routes[0] + pspsim_adyen_n_routes;
	hc.app = &sim;
	hc.name = "pspsim";
	hc.accept_form = 1;   /* Stripe's API is form-encoded; the 3-D Secure page posts a form */
	srv = sr_http_start(&hc, err, sizeof err);
	if (srv == NULL) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.listen_failed", "{s:s}", "error", err);
		goto out;
	}
	sim.port = sr_http_port(srv);
	chal_port = sr_config_int(cfg, "challenge_port", -1);
	if (chal_port >= 0) {
		struct sr_http_config cc = hc;

		if (chal_port > 65535)
			goto out;
		cc.port = (uint16_t)chal_port;
		cc.client_ca_file = NULL;
		cc.peer_name = NULL;
		cc.routes = k_challenge_routes;
		cc.n_routes = sizeof k_challenge_routes / sizeof k_challenge_routes[0];
		cc.name = "pspsim-challenge";
		chal = sr_http_start(&cc, err, sizeof err);
		if (chal == NULL) {
			sr_log(SR_LOG_ERROR, NULL, "pspsim.listen_failed", "{s:s}", "error", err);
			goto out;
		}
		sim.challenge_port = sr_http_port(chal);
	}
	pspsim_adyen_set_redirect_port(sim.challenge_port != 0 ? sim.challenge_port : sim.port);
	sr_log(SR_LOG_INFO, NULL, "pspsim.listening", "{s:s, s:i, s:s}", "listen", hc.bind_addr,
	       "port", (int)sim.port, "peer_name", hc.peer_name);
	do {
		if (sigwait(&sigs, &sig) != 0)
			break;
	} while (sig != SIGINT && sig != SIGTERM);
	sr_log(SR_LOG_INFO, NULL, "pspsim.stopping", "{s:i}", "signal", sig);
	ret = 0;
out:
	sr_http_stop(chal);
	sr_http_stop(srv);
	psim_wh_stop();
	psim_store_close();
	free(all_routes);
	pspsim_adyen_free();
	sr_secret_free(key);
	json_decref(sim.pms);
	json_decref(sim.intents);
	json_decref(sim.meta);
	json_decref(sim.idem);
	pspsim_answers_free();
	json_decref(cfg);
	if (lock_ok)
		pthread_mutex_destroy(&sim.lock);
	return ret;
}
