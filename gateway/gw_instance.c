/*
 * gw_instance: the process's instance id and heartbeat (see gw_instance.h).
 */
#include "gateway/gw_instance.h"
#include "gateway/gw_config.h"
#include "gateway/store/gw_store_instances.h"
#include "common/sr_db.h"
#include "common/sr_log.h"
#include "common/sr_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gw_instance {
	char id[GW_INSTANCE_ID_MAX];
	struct sr_db_pool *db; /* one connection, only for the heartbeat */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
};

static int beat(struct gw_instance *in)
{
	PGconn *c = sr_db_acquire(in->db);
	int rc = c != NULL ? gw_store_instance_beat(c, in->id) : -1;

	sr_db_release(in->db, c);
	return rc;
}

static void *run(void *arg)
{
	struct gw_instance *in = arg;
	struct timespec next, ok, now;
	int lost = 0;

	clock_gettime(CLOCK_MONOTONIC, &ok);
	pthread_mutex_lock(&in->lock);
	while (!in->stop) {
		clock_gettime(CLOCK_MONOTONIC, &next);
		next.tv_nsec += (long)GW_INSTANCE_BEAT_MS % 1000 * 1000000L;
		next.tv_sec += GW_INSTANCE_BEAT_MS / 1000 + next.tv_nsec / 1000000000L;
		next.tv_nsec %= 1000000000L;
		while (!in->stop && pthread_cond_timedwait(&in->cond, &in->lock, &next) != ETIMEDOUT)
			;
		if (in->stop)
			break;
		pthread_mutex_unlock(&in->lock);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (beat(in) == 0) {
			if (lost)
				sr_log(SR_LOG_WARN, NULL, "instance.heartbeat_restored", "{s:s}", "instance",
				       in->id);
			lost = 0;
			ok = now;
		} else if (!lost && now.tv_sec - ok.tv_sec >= GW_INSTANCE_DEAD_S) {
			/* Other instances may now take over this process's claims;
			 * the PSP idempotency key keeps that safe (ADR 0113). */
			sr_log(SR_LOG_ERROR, NULL, "instance.heartbeat_lost", "{s:s}", "instance", in->id);
			lost = 1;
		}
		pthread_mutex_lock(&in->lock);
	}
	pthread_mutex_unlock(&in->lock);
	return NULL;
}

struct gw_instance *gw_instance_start(const json_t *cfg, char *id_out, size_t id_len, char *err,
                                      size_t errlen)
{
	struct gw_instance *in = calloc(1, sizeof *in);

	if (in == NULL || id_len < sizeof in->id) {
		snprintf(err, errlen, "out of memory");
		free(in);
		return NULL;
	}
	if (sr_random_id("gwi_", 16, in->id, sizeof in->id) != 0) {
		snprintf(err, errlen, "no random instance id");
		free(in);
		return NULL;
	}
	in->db = gw_config_db(cfg, 1, err, errlen);
	if (in->db == NULL) {
		free(in);
		return NULL;
	}
	if (beat(in) != 0) {
		snprintf(err, errlen, "the instance could not be registered");
		goto fail;
	}
	pthread_mutex_init(&in->lock, NULL);
	pthread_cond_init(&in->cond, NULL);
	if (pthread_create(&in->thread, NULL, run, in) != 0) {
		pthread_mutex_destroy(&in->lock);
		pthread_cond_destroy(&in->cond);
		snprintf(err, errlen, "no heartbeat thread");
		goto fail;
	}
	memcpy(id_out, in->id, sizeof in->id);
	sr_log(SR_LOG_INFO, NULL, "instance.started", "{s:s}", "instance", in->id);
	return in;
fail:
	sr_db_pool_free(in->db);
	free(in);
	return NULL;
}

void gw_instance_stop(struct gw_instance *in)
{
	PGconn *c = NULL;

	if (in == NULL)
		return;
	pthread_mutex_lock(&in->lock);
	in->stop = 1;
	pthread_cond_signal(&in->cond);
	pthread_mutex_unlock(&in->lock);
	pthread_join(in->thread, NULL);
	pthread_mutex_destroy(&in->lock);
	pthread_cond_destroy(&in->cond);
	c = sr_db_acquire(in->db);
	if (c == NULL || gw_store_instance_remove(c, in->id) != 0)
		sr_log(SR_LOG_WARN, NULL, "instance.deregister_failed", "{s:s}", "instance", in->id);
	sr_db_release(in->db, c);
	sr_db_pool_free(in->db);
	free(in);
}
