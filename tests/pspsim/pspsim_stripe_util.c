/*
 * pspsim_stripe_util: what the Stripe dialect's endpoints share
 * (pspsim_stripe.h): form parameters, the API key, the request's journal
 * line, idempotency and saved answers, Stripe's error objects, a payment
 * intent's state changes, and the webhooks they send (issue 5,
 * tests/pspsim/pspsim_webhooks.c). Test and demo only.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_util.h"
#include "tests/pspsim/pspsim.h"
#include "tests/pspsim/pspsim_keys.h"
#include "tests/pspsim/pspsim_sim.h"
#include "tests/pspsim/pspsim_store.h"
#include "tests/pspsim/pspsim_stripe.h"
#include "tests/pspsim/pspsim_webhooks.h"

#define SIM_IDEM_KEY_MAX 255

/* ------------------------------------------------------------------ */
/* helpers                                                             */

const char *pspsim_param(const struct sr_http_request *req, const char *name)
{
	return json_string_value(json_object_get(req->form, name));
}

long long pspsim_parse_int(const char *s, long long lo, long long hi)
{
	long long v = 0;

	if (!pspsim_all_digits(s) || strlen(s) > 12)
		return -1;
	for (; *s != '\0'; s++)
		v = v * 10 + (*s - '0');
	return (v < lo || v > hi) ? -1 : v;
}

const char *pspsim_unknown_param(const struct sr_http_request *req, const char *const *allowed)
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

bool pspsim_authorized(struct sr_http_request *req, const struct sim *sim)
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

void pspsim_unlock_durable(struct sim *sim)
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

enum outcome pspsim_intent_outcome(const struct sim *sim, const char *pi_id)
{
	return (enum outcome)json_integer_value(json_object_get(json_object_get(sim->meta, pi_id),
	                                                        "outcome"));
}

/* ---- webhooks to the gateway (issue 5; tests/pspsim/pspsim_webhooks.c) ---- */

void pspsim_send_dispute(const json_t *intent)
{
	char du[64];

	if (sr_random_id("du_", 12, du, sizeof du) != 0)
		return;
	pspsim_dispute_register("stripe", du, json_string_value(json_object_get(intent, "id")));
	(void)psim_wh_stripe_event("charge.dispute.created",
	    json_pack("{s:s, s:s, s:O, s:O, s:O, s:s, s:s, s:I}", "id", du, "object", "dispute",
	              "amount", json_object_get(intent, "amount_received"),
	              "currency", json_object_get(intent, "currency"),
	              "payment_intent", json_object_get(intent, "id"), "reason", "fraudulent",
	              "status", "needs_response", "created", (json_int_t)time(NULL)),
	    1500, NULL, 0);
}

void pspsim_send_3ds_result(const json_t *intent)
{
	const char *st = json_string_value(json_object_get(intent, "status"));

	(void)psim_wh_stripe_event(strcmp(st, "succeeded") == 0 ? "payment_intent.succeeded"
	                           : strcmp(st, "requires_capture") == 0
	                           ? "payment_intent.amount_capturable_updated"
	                           : "payment_intent.payment_failed",
	                           json_deep_copy(intent), 0, NULL, 0);
}

void pspsim_send_refunded(const json_t *intent, const char *re_id, long long amount,
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

int pspsim_idem_begin(struct sr_http_request *req, struct sim *sim, struct pspsim_idem *id)
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

void pspsim_reply_save(struct sr_http_request *req, struct sim *sim, const struct pspsim_idem *id,
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

void pspsim_missing(struct sr_http_request *req, const char *name)
{
	sr_http_reply_error(req, 400, "invalid_request_error", "parameter_missing",
	                    "Missing required param.", name);
}

void pspsim_invalid(struct sr_http_request *req, const char *name, const char *code)
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

void pspsim_reply_card_error(struct sr_http_request *req, struct sim *sim, const struct pspsim_idem *id,
                             const char *code, const char *message, const char *param_name)
{
	json_t *b = card_error(code, NULL, message, param_name, NULL);

	if (b == NULL) {
		sr_http_reply_error(req, 500, "api_error", "internal", "Internal error.", NULL);
		return;
	}
	pspsim_reply_save(req, sim, id, 402, b);
}

/* ------------------------------------------------------------------ */
/* payment intents                                                     */

void pspsim_set_declined(json_t *intent, const char *code, const char *decline, const char *message)
{
	json_object_set_new(intent, "status", json_string("requires_payment_method"));
	json_object_set_new(intent, "last_payment_error",
	                    json_pack("{s:s, s:s, s:s, s:s}", "type", "card_error", "code", code,
	                              "decline_code", decline, "message", message));
}

void pspsim_set_succeeded(json_t *intent)
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

json_t *pspsim_find_intent(struct sr_http_request *req, struct sim *sim)
{
	json_t *intent = json_object_get(sim->intents, req->params[0]);

	if (intent == NULL)
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such payment_intent.", "intent");
	return intent;
}

void pspsim_unexpected_state(struct sr_http_request *req, const char *status)
{
	char msg[160];

	snprintf(msg, sizeof msg, "This PaymentIntent's status is %s, which does not allow this operation.",
	         status);
	sr_http_reply_error(req, 400, "invalid_request_error", "payment_intent_unexpected_state", msg, NULL);
}
