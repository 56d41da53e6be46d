/*
 * pspsim_3ds: 3-D Secure in the Stripe dialect (issue 6): the test hook
 * POST /_sim/payment_intents/{id}/3ds (mutual TLS, no API key), and the
 * browser-facing challenge listener (challenge_port; TLS without client
 * certificates): GET /3ds/{pi}, the page its redirect_to_url points at,
 * its script and style, POST /3ds/{pi}/complete; and Adyen's challenge
 * page on the same listener (pspsim_adyen.c). Test and demo only.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/sr_http.h"
#include "common/sr_log.h"
#include "tests/pspsim/pspsim.h"
#include "tests/pspsim/pspsim_sim.h"
#include "tests/pspsim/pspsim_stripe.h"

/* The cardholder completes 3-D Secure for intent params[0] (lock held):
 * the intent moves on by its card's outcome. Replies and returns NULL on
 * error, else the intent (borrowed). */
static json_t *complete_3ds(struct sr_http_request *req, struct sim *sim)
{
	json_t *intent = NULL;
	const char *status = NULL;
	enum outcome oc = OUT_SUCCEED;

	intent = pspsim_find_intent(req, sim);
	if (intent == NULL)
		return NULL;
	status = json_string_value(json_object_get(intent, "status"));
	if (strcmp(status, "requires_action") != 0) {
		pspsim_unexpected_state(req, status);
		return NULL;
	}
	oc = pspsim_intent_outcome(sim, req->params[0]);
	json_object_set_new(intent, "next_action", json_null());
	if (oc == OUT_3DS_THEN_DECLINE)
		pspsim_set_declined(intent, "card_declined", "generic_decline", "Your card was declined.");
	else
		pspsim_set_succeeded(intent);
	pspsim_put_intent(sim, req->params[0]);
	sr_log(SR_LOG_INFO, req->request_id, "pspsim.3ds_completed", "{s:s, s:s}", "id", req->params[0],
	       "status", json_string_value(json_object_get(intent, "status")));
	pspsim_send_3ds_result(intent);
	return intent;
}

void pspsim_h_sim_3ds(struct sr_http_request *req)
{
	struct sim *sim = req->app;
	json_t *intent = NULL;

	pthread_mutex_lock(&sim->lock);
	intent = complete_3ds(req, sim);
	if (intent != NULL)
		sr_http_reply_json(req, 200, json_deep_copy(intent));
	pspsim_unlock_durable(sim);
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
	"  if(parentOrigin&&window.parent!==window)window.parent.postMessage({sr3ds:'complete',status:st},parentOrigin);\n"
	"  else if(j.return_to&&/^https?:\\/\\//.test(j.return_to))location.assign(j.return_to);})\n"
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

/* Where the browser goes after the challenge of intent pi: its return_url
 * with Stripe's payment_intent and redirect_status appended to the query
 * (before any fragment), as Stripe sends the customer back
 * (https://docs.stripe.com/payments/3d-secure/authentication-flow).
 * A new string, or NULL when the intent has no return_url. */
static json_t *return_to(struct sim *sim, const char *pi, const char *status)
{
	const char *ru = json_string_value(json_object_get(json_object_get(sim->meta, pi), "return_url"));
	const char *frag = NULL;
	size_t base;

	if (ru == NULL)
		return NULL;
	frag = strchr(ru, '#');
	base = frag != NULL ? (size_t)(frag - ru) : strlen(ru);
	return json_sprintf("%.*s%cpayment_intent=%s&redirect_status=%s%s", (int)base, ru,
	                    memchr(ru, '?', base) != NULL ? '&' : '?', pi,
	                    strcmp(status, "succeeded") == 0 || strcmp(status, "requires_capture") == 0
	                    ? "succeeded" : "failed", frag != NULL ? frag : "");
}

/* POST /3ds/{pi}/complete [result=authenticate|fail]: the cardholder answered
 * (the page's script sends no result: authenticate). A form answer (result
 * given) of an intent with a return_url is sent there (303 See Other); the
 * script's gets it as "return_to" in its JSON. */
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
		intent = pspsim_find_intent(req, sim);
		if (intent != NULL) {
			const char *st = json_string_value(json_object_get(intent, "status"));
			if (strcmp(st, "requires_action") != 0) {
				pspsim_unexpected_state(req, st);
				intent = NULL;
			} else {
				json_object_set_new(intent, "next_action", json_null());
				pspsim_set_declined(intent, "authentication_required", "authentication_required",
				                    "The cardholder failed authentication.");
				pspsim_put_intent(sim, req->params[0]);
				sr_log(SR_LOG_INFO, req->request_id, "pspsim.3ds_completed", "{s:s, s:s}",
				       "id", req->params[0], "status", "failed_authentication");
			}
		}
	} else {
		intent = complete_3ds(req, sim);
	}
	if (intent != NULL) {
		const char *st = json_string_value(json_object_get(intent, "status"));
		json_t *to = return_to(sim, req->params[0], st);

		if (to != NULL && result != NULL) {
			sr_http_add_header(req, "Location", json_string_value(to));
			sr_http_reply_raw(req, 303, "text/plain; charset=utf-8", "", 0);
		} else {
			sr_http_reply_json(req, 200, json_pack("{s:s, s:O?, s:O?}", "status", st,
			                   "last_payment_error", json_object_get(intent, "last_payment_error"),
			                   "return_to", to));
		}
		json_decref(to);
	}
	pspsim_unlock_durable(sim);
}

const struct sr_route pspsim_challenge_routes[] = {
	{ .method = "GET", .pattern = "/3ds/challenge.js", .handler = h_challenge_js },
	{ .method = "GET", .pattern = "/3ds/challenge.css", .handler = h_challenge_css },
	{ .method = "GET", .pattern = "/3ds/{}", .handler = h_challenge_page },
	{ .method = "POST", .pattern = "/3ds/{}/complete", .handler = h_challenge_complete },
	/* Adyen's RedirectShopper action.url (tests/pspsim/pspsim_adyen.c) */
	{ .method = "GET", .pattern = "/adyen/3ds/{}", .handler = pspsim_adyen_challenge_page },
	{ .method = "POST", .pattern = "/adyen/3ds/{}/complete", .handler = pspsim_adyen_challenge_complete },
};
const size_t pspsim_challenge_n_routes = sizeof pspsim_challenge_routes / sizeof pspsim_challenge_routes[0];
