/*
 * pspsim_control: the simulator's own endpoints for the Stripe dialect
 * (mutual TLS only, no API key; /_sim/...): faults, counters, the webhooks
 * sent and their replay, merchants' own API keys; and the table of every
 * /_sim route of the Stripe dialect (3-D Secure in pspsim_3ds.c, audits in
 * pspsim_audit.c, contradicting answers in pspsim_answers.c). Test and
 * demo only.
 */
#include <pthread.h>

#include <jansson.h>

#include "common/sr_http.h"
#include "tests/pspsim/pspsim.h"
#include "tests/pspsim/pspsim_keys.h"
#include "tests/pspsim/pspsim_sim.h"
#include "tests/pspsim/pspsim_store.h"
#include "tests/pspsim/pspsim_stripe.h"
#include "tests/pspsim/pspsim_webhooks.h"

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

const struct sr_route pspsim_control_routes[] = {
	{ .method = "POST", .pattern = "/_sim/payment_intents/{}/3ds", .handler = pspsim_h_sim_3ds },
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
const size_t pspsim_control_n_routes = sizeof pspsim_control_routes / sizeof pspsim_control_routes[0];
