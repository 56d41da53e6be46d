/*
 * pspsim_sim: the Stripe dialect's state (made in pspsim.c's main, used by
 * pspsim_stripe*.c, pspsim_3ds.c and pspsim_control.c), shared with
 * pspsim_audit.c, which loads it from the journal at start and lists it
 * for audits (GET /_sim/intents). Test and demo only.
 */
#ifndef PSPSIM_SIM_H
#define PSPSIM_SIM_H
#include <pthread.h>

#include <jansson.h>

#include "common/sr_http.h"

struct sim {
	pthread_mutex_t lock;
	json_t *pms;            /* pm id -> {"brand","last4","exp_month","exp_year","created","outcome"}:
	                         * the card's test outcome, never its number */
	json_t *intents;        /* pi id -> public intent object */
	json_t *meta;           /* pi id -> {"outcome": enum outcome, "idempotency_key": the
	                         * creating request's or null, "refunds": [refund objects]} */
	json_t *idem;           /* Idempotency-Key -> {"hash","status","body"} */
	long long n_pm;
	long long n_pi;
	long long n_replays;
	long long n_captures;
	long long n_cancels;
	long long n_refunds;
	long long n_dropped;
	long long drop_next;    /* fault: answers to drop (connection closed after the effect) */
	long long delay_ms;     /* fault: delay before creating a payment intent */
	char key_hash[65];      /* SHA-256 of the API key: compared in constant time */
	char public_host[128];  /* for next_action URLs */
	unsigned port;
	unsigned challenge_port; /* browser-facing 3-D Secure listener; 0 none */
};

/*
 * Journal kinds (tests/pspsim/pspsim_store.h) of the Stripe dialect:
 *   "pm"           pm id -> the sim->pms entry
 *   "pi"           pi id -> {"intent": sim->intents entry, "meta": sim->meta entry}
 *   "stripe_idem"  Idempotency-Key -> the sim->idem entry
 */

/** Note intent pi_id (and its meta) changed: a "pi" put. Lock held. */
void pspsim_put_intent(struct sim *sim, const char *pi_id);

/**
 * Fill sim's maps (created empty) from the journal read at start
 * (psim_store_open), and the registered merchant keys.
 * @return 0, or -1 (a malformed record).
 */
int pspsim_load(struct sim *sim);

/**
 * GET /_sim/intents[?created_gte=<unix seconds>]: the PSP's records for an
 * audit after a fault (mutual TLS, no API key, like every /_sim route):
 * {"data":[{"id","amount","currency","amount_capturable","amount_received",
 * "amount_refunded","status","capture_method","created","idempotency_key",
 * "refunds":[{"id","amount","reason","created","status"}]}],
 * "adyen":[{"pspReference","amount":{"value","currency"},"resultCode",
 * "captured","refunded","idempotency_key","modifications":[...]}]},
 * oldest first. 400 on a malformed created_gte.
 */
void pspsim_h_intents(struct sr_http_request *req);

#endif
