/*
 * pspsim_audit: the Stripe dialect's state from the journal at start, and
 * GET /_sim/intents, the PSP's side of an audit after a fault (issue 16;
 * pspsim_sim.h, ADR 0115). Test and demo only.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tests/pspsim/pspsim.h"
#include "tests/pspsim/pspsim_keys.h"
#include "tests/pspsim/pspsim_sim.h"
#include "tests/pspsim/pspsim_store.h"

static int load_pm(const char *id, json_t *v, void *arg)
{
	struct sim *sim = arg;

	if (!json_is_integer(json_object_get(v, "outcome")) ||
	    !json_is_string(json_object_get(v, "last4")))
		return -1;
	return json_object_set(sim->pms, id, v);
}

static int load_pi(const char *id, json_t *v, void *arg)
{
	struct sim *sim = arg;
	json_t *intent = json_object_get(v, "intent");
	json_t *meta = json_object_get(v, "meta");

	if (!json_is_string(json_object_get(intent, "status")) ||
	    !json_is_integer(json_object_get(intent, "amount")) ||
	    !json_is_integer(json_object_get(meta, "outcome")) ||
	    !json_is_array(json_object_get(meta, "refunds")))
		return -1;
	if (json_object_set(sim->intents, id, intent) != 0 || json_object_set(sim->meta, id, meta) != 0)
		return -1;
	return 0;
}

static int load_idem(const char *id, json_t *v, void *arg)
{
	struct sim *sim = arg;

	if (!json_is_string(json_object_get(v, "hash")) || !json_is_integer(json_object_get(v, "status")) ||
	    !json_is_string(json_object_get(v, "body")))
		return -1;
	return json_object_set(sim->idem, id, v);
}

static int load_key(const char *id, json_t *v, void *arg)
{
	(void)arg;
	return psim_keys_restore(id, json_string_value(json_object_get(v, "last4")),
	                         json_string_value(json_object_get(v, "account")));
}

int pspsim_load(struct sim *sim)
{
	if (psim_store_each("pm", load_pm, sim) != 0 || psim_store_each("pi", load_pi, sim) != 0 ||
	    psim_store_each("stripe_idem", load_idem, sim) != 0 ||
	    psim_store_each("api_key", load_key, NULL) != 0)
		return -1;
	return 0;
}

/* One intent as GET /_sim/intents lists it. */
static json_t *audit_row(const char *id, const json_t *intent, const json_t *meta)
{
	json_t *refunds = json_object_get(meta, "refunds");
	json_t *r = NULL;
	json_t *rows = json_array();
	json_int_t refunded = 0;
	size_t i = 0;

	json_array_foreach(refunds, i, r) {
		refunded += json_integer_value(json_object_get(r, "amount"));
		json_array_append_new(rows, json_pack("{s:O, s:O, s:O, s:O, s:O}", "id",
		                                      json_object_get(r, "id"), "amount",
		                                      json_object_get(r, "amount"), "reason",
		                                      json_object_get(r, "reason") != NULL
		                                      ? json_object_get(r, "reason") : json_null(),
		                                      "created", json_object_get(r, "created"),
		                                      "status", json_object_get(r, "status")));
	}
	return json_pack("{s:s, s:O, s:O, s:O, s:O, s:I, s:O, s:O, s:O, s:O, s:o, s:O?, s:O?, s:O?, s:O?}",
	                 "id", id, "amount", json_object_get(intent, "amount"),
	                 "currency", json_object_get(intent, "currency"),
	                 "amount_capturable", json_object_get(intent, "amount_capturable"),
	                 "amount_received", json_object_get(intent, "amount_received"),
	                 "amount_refunded", refunded,
	                 "status", json_object_get(intent, "status"),
	                 "capture_method", json_object_get(intent, "capture_method"),
	                 "created", json_object_get(intent, "created"),
	                 "idempotency_key", json_object_get(meta, "idempotency_key") != NULL
	                 ? json_object_get(meta, "idempotency_key") : json_null(),
	                 "refunds", rows,
	                 "statement_descriptor", json_object_get(intent, "statement_descriptor"),
	                 "statement_descriptor_suffix",
	                 json_object_get(intent, "statement_descriptor_suffix"),
	                 "setup_future_usage", json_object_get(intent, "setup_future_usage"),
	                 "received", json_object_get(intent, "sim_received"));
}

void pspsim_h_intents(struct sr_http_request *req)
{
	struct sim *sim = req->app;
	const char *q = sr_http_query(req, "created_gte");
	const char *id = NULL;
	json_t *intent = NULL;
	json_t *data = NULL;
	json_t *adyen = NULL;
	json_t *row = NULL;
	long long since = 0;
	size_t i = 0;

	if (q != NULL) {
		size_t n = strlen(q);

		if (n == 0 || n > 12 || strspn(q, "0123456789") != n) {
			sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid_integer",
			                    "created_gte must be a Unix time in seconds.", "created_gte");
			return;
		}
		for (i = 0; i < n; i++)
			since = since * 10 + (q[i] - '0');
	}
	data = json_array();
	pthread_mutex_lock(&sim->lock);
	json_object_foreach(sim->intents, id, intent) {
		if (json_integer_value(json_object_get(intent, "created")) < since)
			continue;
		row = audit_row(id, intent, json_object_get(sim->meta, id));
		if (row == NULL || json_array_append_new(data, row) != 0)
			break;
	}
	pthread_mutex_unlock(&sim->lock);
	adyen = pspsim_adyen_audit(since);
	/* What was read may include lines not yet durable: answer after them. */
	psim_store_commit();
	psim_store_wait();
	if (data == NULL || adyen == NULL) {
		json_decref(data);
		json_decref(adyen);
		sr_http_reply_error(req, 500, "api_error", "internal", "Internal error.", NULL);
		return;
	}
	sr_http_reply_json(req, 200, json_pack("{s:o, s:o}", "data", data, "adyen", adyen));
}
