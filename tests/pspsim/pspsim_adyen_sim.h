/*
 * pspsim_adyen_sim: the Adyen dialect's state, one per process, shared by
 * pspsim_adyen.c (the endpoints) and pspsim_adyen_state.c (set up from the
 * configuration and the journal at start, counters, audit listing, freed at
 * exit; the entry points in pspsim.h). Test and demo only.
 */
#ifndef PSPSIM_ADYEN_SIM_H
#define PSPSIM_ADYEN_SIM_H
#include <pthread.h>
#include <stdbool.h>

#include <jansson.h>

struct adyen_sim {
	pthread_mutex_t lock;
	bool ready;
	char key_hash[65];
	char merchant_account[128];
	char public_host[128];
	unsigned redirect_port;
	json_t *payments;      /* pspReference -> state: {"amount","reference","capture","captured",
	                        * "refunded","outcome","last4","resultCode",..., "created",
	                        * "idempotency_key","modifications":[...]} */
	json_t *idem;          /* Idempotency-Key -> {"hash","status","body"} */
	long long n_payments, n_authorised, n_unavailable, n_replays, n_captures, n_cancels, n_refunds,
	          n_dropped;
	long long unavailable, drop_next, delay_ms;   /* faults */
};

/*
 * The dialect's state (defined in pspsim_adyen_state.c). lock guards the
 * maps, counters and faults; ready, key_hash, merchant_account and
 * public_host are set by pspsim_adyen_init before the listener starts,
 * redirect_port by pspsim_adyen_set_redirect_port.
 */
extern struct adyen_sim g_adyen;

#endif
