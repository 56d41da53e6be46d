/*
 * pspsim_stripe: what the Stripe dialect's files share. pspsim_stripe_util.c
 * holds these helpers; pspsim_stripe.c the /v1 endpoints, pspsim_3ds.c
 * 3-D Secure (the test hook and the challenge listener), pspsim_control.c
 * the /_sim endpoints; pspsim.c (main) serves their route tables. The
 * state is struct sim (pspsim_sim.h). Test and demo only.
 */
#ifndef PSPSIM_STRIPE_H
#define PSPSIM_STRIPE_H
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/sr_http.h"
#include "tests/pspsim/pspsim.h"
#include "tests/pspsim/pspsim_sim.h"

/* ---- request parameters and the API key ---- */

/** The form parameter name of req, or NULL (borrowed from req->form). */
const char *pspsim_param(const struct sr_http_request *req, const char *name);

/* Strict decimal integer in [lo, hi]; -1 on error (callers use lo >= 0). */
long long pspsim_parse_int(const char *s, long long lo, long long hi);

/* First form key that is not allowed (exact names, or prefixes ending in '['). */
const char *pspsim_unknown_param(const struct sr_http_request *req, const char *const *allowed);

/* Check the Bearer key in constant time (hash first, so lengths don't leak). */
bool pspsim_authorized(struct sr_http_request *req, const struct sim *sim);

/* Leave a handler's locked section: the request's changes become one journal
 * line, and the answer (sent when the handler returns) waits until it and
 * every line before it are durable (pspsim_store.h). */
void pspsim_unlock_durable(struct sim *sim);

/* The test outcome recorded for intent pi_id. Lock held. */
enum outcome pspsim_intent_outcome(const struct sim *sim, const char *pi_id);

/* ---- webhooks to the gateway (issue 5; tests/pspsim/pspsim_webhooks.c) ---- */

/* A Stripe dispute on intent (a charge.dispute.created event, 1.5 s later:
 * "succeeds, then a dispute arrives"). Lock held. */
void pspsim_send_dispute(const json_t *intent);

/* The asynchronous result of 3-D Secure on intent (lock held). */
void pspsim_send_3ds_result(const json_t *intent);

/* A refund done on intent: charge.refunded with the refund (lock held). */
void pspsim_send_refunded(const json_t *intent, const char *re_id, long long amount,
                          long long refunded_total);

/* ---- idempotency and answers ---- */

/* Idempotency for one POST. */
struct pspsim_idem {
	const char *key;        /* NULL: no Idempotency-Key header */
	char hash[65];          /* keyed fingerprint of method, path, sorted form params */
};

/*
 * Look up the request's Idempotency-Key. @return 1 when a reply was sent
 * (replay or conflict), 0 to proceed (idem filled). Caller holds sim->lock.
 */
int pspsim_idem_begin(struct sr_http_request *req, struct sim *sim, struct pspsim_idem *id);

/* Reply with body (stolen); save it under the Idempotency-Key for 200/402. */
void pspsim_reply_save(struct sr_http_request *req, struct sim *sim, const struct pspsim_idem *id,
                       unsigned status, json_t *body);

/** 400 invalid_request_error parameter_missing naming parameter name. */
void pspsim_missing(struct sr_http_request *req, const char *name);

/** 400 invalid_request_error with code (e.g. parameter_invalid_integer) naming parameter name. */
void pspsim_invalid(struct sr_http_request *req, const char *name, const char *code);

/**
 * 402 {"error":{"type":"card_error","code","message","param"}} (param_name
 * may be NULL), saved under the Idempotency-Key like any 402 (500 out of
 * memory). Lock held.
 */
void pspsim_reply_card_error(struct sr_http_request *req, struct sim *sim,
                             const struct pspsim_idem *id, const char *code, const char *message,
                             const char *param_name);

/* ---- a payment intent's state ---- */

/**
 * Decline intent: status requires_payment_method, last_payment_error
 * {"type":"card_error","code","decline_code","message"}.
 */
void pspsim_set_declined(json_t *intent, const char *code, const char *decline,
                         const char *message);

/**
 * Authorize intent for its amount: requires_capture with amount_capturable
 * (capture_method manual), else succeeded with amount_received; next_action
 * cleared.
 */
void pspsim_set_succeeded(json_t *intent);

/**
 * The intent named by the route's capture (req->params[0]), borrowed from
 * sim->intents; NULL after replying 404 resource_missing. Lock held.
 */
json_t *pspsim_find_intent(struct sr_http_request *req, struct sim *sim);

/** 400 payment_intent_unexpected_state: the intent's status does not allow the operation. */
void pspsim_unexpected_state(struct sr_http_request *req, const char *status);

/* ---- handlers and routes ---- */

/* POST /_sim/payment_intents/{id}/3ds: the cardholder completes 3-D Secure. */
void pspsim_h_sim_3ds(struct sr_http_request *req);

/** The Stripe API's routes (/v1/..., pspsim_stripe.c), served on the mutual-TLS listener. */
extern const struct sr_route pspsim_stripe_routes[];
extern const size_t pspsim_stripe_n_routes;

/** The Stripe dialect's simulator routes (/_sim/..., pspsim_control.c), on the same listener. */
extern const struct sr_route pspsim_control_routes[];
extern const size_t pspsim_control_n_routes;

/**
 * The challenge listener's routes (challenge_port, pspsim_3ds.c): Stripe's
 * /3ds/... and Adyen's /adyen/3ds/....
 */
extern const struct sr_route pspsim_challenge_routes[];
extern const size_t pspsim_challenge_n_routes;

#endif
