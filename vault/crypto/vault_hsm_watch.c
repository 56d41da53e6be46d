/*
 * vault_hsm_watch: every key exercised for readiness, and the watchdog that
 * re-opens the HSM (see vault_hsm_watch.h).
 */
#include "vault/crypto/vault_hsm_watch.h"
#include "vault/crypto/vault_keys.h"
#include "vault/vault_app.h"
#include "hsm/hsm.h"
#include "common/sr_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int vault_hsm_check(struct vault_app *app, char *why, size_t whylen)
{
	struct vault_key_labels labels;
	const char *need[4];
	uint8_t kcv[HSM_KCV_LEN];
	char err[256];
	size_t i, n = 0;

	if (vault_keys_current(app->keys, app->db, &labels, err, sizeof err) != 0) {
		snprintf(why, whylen, "key versions unreadable");
		return -2; /* the database, not the HSM */
	}
	need[n++] = labels.pan;
	need[n++] = labels.fp;
	if (labels.fp_prev[0] != '\0')
		need[n++] = labels.fp_prev;
	need[n++] = HSM_KEY_AUDIT_HMAC;
	for (i = 0; i < n; i++) {
		if (hsm_kcv(app->hsm, need[i], kcv, err, sizeof err) != 0) {
			snprintf(why, whylen, "key %s unusable", need[i]);
			return -1;
		}
	}
	return 0;
}

struct vault_hsm_watch {
	struct vault_app *app;
	long long interval_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
};

static void *watch_main(void *arg)
{
	struct vault_hsm_watch *w = arg;
	struct timespec until;
	bool down = false;
	int rc;
	char why[160];
	char err[256];

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)(w->interval_ms / 1000);
		until.tv_nsec += (long)(w->interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
			;
		if (w->stop)
			break;
		pthread_mutex_unlock(&w->mu);
		rc = vault_hsm_check(w->app, why, sizeof why);
		if (rc == -2) {
			/* The key versions are in the database: a database outage is
			 * no reason to reset the HSM (readiness reports it). */
		} else if (rc != 0) {
			if (!down)
				sr_log(SR_LOG_ERROR, NULL, "hsm.unusable", "{s:s}", "reason", why);
			down = true;
			/* The token may be back: start over with it (a reset while it
			 * is still gone costs one failed C_Initialize/find per tick). */
			if (hsm_recover(w->app->hsm, err, sizeof err) == 0 &&
			    vault_hsm_check(w->app, why, sizeof why) == 0) {
				sr_log(SR_LOG_WARN, NULL, "hsm.recovered", NULL);
				down = false;
			}
		} else if (down) {
			sr_log(SR_LOG_WARN, NULL, "hsm.recovered", NULL);
			down = false;
		}
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct vault_hsm_watch *vault_hsm_watch_start(struct vault_app *app, long long interval_ms)
{
	struct vault_hsm_watch *w = calloc(1, sizeof *w);

	if (w == NULL)
		return NULL;
	w->app = app;
	w->interval_ms = interval_ms > 0 ? interval_ms : 1000;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

void vault_hsm_watch_stop(struct vault_hsm_watch *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
