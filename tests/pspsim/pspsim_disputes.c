/*
 * pspsim_disputes: disputes in both dialects (issue 19 item 6, ADR 0132).
 * The dispute test card 4000000000000259 registers one here when its
 * dispute webhook is queued (Stripe's du_..., Adyen's CHARGEBACK
 * pspReference); the connectors' answers are checked against it:
 *   Stripe  POST /v1/disputes/{id} evidence[<field>]=..., submit=true|false
 *           (https://docs.stripe.com/api/disputes/update): 200 the dispute;
 *           submitted: under_review. POST /v1/disputes/{id}/close
 *           (https://docs.stripe.com/api/disputes/close): 200, status lost.
 *           Either on a dispute no longer needing a response: 400.
 *   Adyen   POST /ca/services/DisputeService/v30/supplyDefenseDocument,
 *           defendDispute (needs a document first), acceptDispute
 *           ({"disputeServiceResult":{"isSuccess":false,...}} when the
 *           dispute is no longer open).
 *   GET /_sim/disputes/{id}: {"provider","status","calls","evidence",
 *           "documents"}: what reached the simulator, for the tests.
 * Kept in memory only (not in the journal): a restart forgets them.
 * Test and demo only.
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <jansson.h>

#include "common/sr_http.h"
#include "common/sr_log.h"
#include "tests/pspsim/pspsim.h"
#include "tests/pspsim/pspsim_stripe.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *g_disputes;      /* id -> {"provider","payment","status","calls","evidence",
                                 * "documents"} */

void pspsim_dispute_register(const char *provider, const char *id, const char *payment)
{
	pthread_mutex_lock(&g_lock);
	if (g_disputes == NULL)
		g_disputes = json_object();
	if (g_disputes != NULL && id != NULL)
		json_object_set_new(g_disputes, id,
		                    json_pack("{s:s, s:s?, s:s, s:i, s:{}, s:i}", "provider", provider,
		                              "payment", payment, "status", "needs_response", "calls", 0,
		                              "evidence", "documents", 0));
	pthread_mutex_unlock(&g_lock);
}

/* The dispute id of provider, or NULL. Lock held. */
static json_t *find(const char *provider, const char *id)
{
	json_t *d = id != NULL && g_disputes != NULL ? json_object_get(g_disputes, id) : NULL;
	const char *p = json_string_value(json_object_get(d, "provider"));

	return p != NULL && strcmp(p, provider) == 0 ? d : NULL;
}

static bool open_(const json_t *d)
{
	const char *st = json_string_value(json_object_get(d, "status"));

	return st != NULL && strstr(st, "needs_response") != NULL;
}

static void count(json_t *d)
{
	json_object_set_new(d, "calls", json_integer(json_integer_value(json_object_get(d, "calls")) + 1));
}

static json_t *stripe_object(const char *id, const json_t *d)
{
	return json_pack("{s:s, s:s, s:O, s:O, s:O}", "id", id, "object", "dispute", "status",
	                 json_object_get(d, "status"), "payment_intent", json_object_get(d, "payment"),
	                 "evidence", json_object_get(d, "evidence"));
}

static void stripe_update(struct sr_http_request *req, bool close)
{
	static const char *const allowed[] = { "evidence[", "submit", NULL };
	const char *id = req->params[0];
	const char *unk = NULL, *key = NULL, *sub = NULL;
	json_t *d = NULL, *v = NULL;
	char field[64];

	if (!pspsim_authorized(req, req->app))
		return;
	pthread_mutex_lock(&g_lock);
	if ((unk = pspsim_unknown_param(req, close ? (const char *const[]){ NULL } : allowed)) != NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
		                    "Received unknown parameter.", unk);
		goto out;
	}
	d = find("stripe", id);
	if (d == NULL) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such dispute.", "dispute");
		goto out;
	}
	count(d);
	if (!open_(d)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "dispute_already_closed",
		                    "This dispute no longer accepts changes.", NULL);
		goto out;
	}
	if (close) {
		json_object_set_new(d, "status", json_string("lost"));
	} else {
		json_object_foreach(req->form, key, v) {
			if (strncmp(key, "evidence[", 9) == 0 && key[strlen(key) - 1] == ']' &&
			    strlen(key) - 10 < sizeof field) {
				memcpy(field, key + 9, strlen(key) - 10);
				field[strlen(key) - 10] = '\0';
				json_object_set(json_object_get(d, "evidence"), field, v);
			}
		}
		sub = pspsim_param(req, "submit");
		if (sub != NULL && strcmp(sub, "true") == 0)
			json_object_set_new(d, "status", json_string("under_review"));
	}
	sr_http_reply_json(req, 200, stripe_object(id, d));
out:
	pthread_mutex_unlock(&g_lock);
}

static void h_stripe_update(struct sr_http_request *req)
{
	stripe_update(req, false);
}

static void h_stripe_close(struct sr_http_request *req)
{
	stripe_update(req, true);
}

static void adyen_reply(struct sr_http_request *req, bool ok, const char *message)
{
	sr_http_reply_json(req, 200, json_pack("{s:{s:b, s:s?}}", "disputeServiceResult",
	                                       "isSuccess", ok, "errorMessage", message));
}

/* Adyen: the body's dispute (open), counted; NULL after replying. Lock held. */
static json_t *adyen_dispute_of(struct sr_http_request *req)
{
	json_t *d = find("adyen", json_string_value(json_object_get(req->json,
	                                                            "disputePspReference")));

	if (d == NULL || json_string_value(json_object_get(req->json, "merchantAccountCode")) == NULL) {
		adyen_reply(req, false, "Dispute not found");
		return NULL;
	}
	count(d);
	if (!open_(d)) {
		adyen_reply(req, false, "Dispute is not open");
		return NULL;
	}
	return d;
}

static void h_adyen_accept(struct sr_http_request *req)
{
	json_t *d = NULL;

	if (!pspsim_adyen_authorized(req))
		return;
	pthread_mutex_lock(&g_lock);
	d = adyen_dispute_of(req);
	if (d != NULL) {
		json_object_set_new(d, "status", json_string("lost"));
		adyen_reply(req, true, NULL);
	}
	pthread_mutex_unlock(&g_lock);
}

static void h_adyen_document(struct sr_http_request *req)
{
	const json_t *docs = json_object_get(req->json, "defenseDocuments");
	const char *content = json_string_value(json_object_get(json_array_get(docs, 0), "content"));
	json_t *d = NULL;

	if (!pspsim_adyen_authorized(req))
		return;
	pthread_mutex_lock(&g_lock);
	d = adyen_dispute_of(req);
	if (d != NULL) {
		if (content == NULL || content[0] == '\0' || json_array_size(docs) != 1) {
			adyen_reply(req, false, "defenseDocuments is invalid");
		} else {
			json_object_set_new(d, "documents",
			                    json_integer(json_integer_value(json_object_get(d, "documents")) + 1));
			adyen_reply(req, true, NULL);
		}
	}
	pthread_mutex_unlock(&g_lock);
}

static void h_adyen_defend(struct sr_http_request *req)
{
	json_t *d = NULL;

	if (!pspsim_adyen_authorized(req))
		return;
	pthread_mutex_lock(&g_lock);
	d = adyen_dispute_of(req);
	if (d != NULL) {
		if (json_integer_value(json_object_get(d, "documents")) < 1 ||
		    json_string_value(json_object_get(req->json, "defenseReasonCode")) == NULL) {
			adyen_reply(req, false, "No defense material supplied");
		} else {
			json_object_set_new(d, "status", json_string("under_review"));
			adyen_reply(req, true, NULL);
		}
	}
	pthread_mutex_unlock(&g_lock);
}

static void h_sim_dispute(struct sr_http_request *req)
{
	json_t *d = NULL;

	pthread_mutex_lock(&g_lock);
	d = g_disputes != NULL ? json_object_get(g_disputes, req->params[0]) : NULL;
	if (d == NULL)
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such dispute.", NULL);
	else
		sr_http_reply_json(req, 200, json_deep_copy(d));
	pthread_mutex_unlock(&g_lock);
}

const struct sr_route pspsim_dispute_routes[] = {
	{ .method = "POST", .pattern = "/v1/disputes/{}", .handler = h_stripe_update },
	{ .method = "POST", .pattern = "/v1/disputes/{}/close", .handler = h_stripe_close },
	{ .method = "POST", .pattern = "/ca/services/DisputeService/v30/acceptDispute",
	  .handler = h_adyen_accept },
	{ .method = "POST", .pattern = "/ca/services/DisputeService/v30/supplyDefenseDocument",
	  .handler = h_adyen_document },
	{ .method = "POST", .pattern = "/ca/services/DisputeService/v30/defendDispute",
	  .handler = h_adyen_defend },
	{ .method = "GET", .pattern = "/_sim/disputes/{}", .handler = h_sim_dispute },
};
const size_t pspsim_dispute_n_routes = sizeof pspsim_dispute_routes / sizeof pspsim_dispute_routes[0];

void pspsim_disputes_free(void)
{
	pthread_mutex_lock(&g_lock);
	json_decref(g_disputes);
	g_disputes = NULL;
	pthread_mutex_unlock(&g_lock);
}
