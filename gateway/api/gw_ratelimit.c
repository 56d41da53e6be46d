/*
 * gw_ratelimit: token buckets in a fixed open-addressed table (gw_ratelimit.h),
 * a window of PROBE slots per key.
 */
#include "gateway/api/gw_ratelimit.h"
#include "common/sr_util.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 4096
#define PROBE 16

struct bucket {
	char id[65];             /* SHA-256 hex of key "\n" endpoint; "" = free */
	double tokens;
	double last;             /* monotonic seconds */
};

struct gw_ratelimit {
	pthread_mutex_t lock;
	double rate, burst;
	struct bucket slots[SLOTS];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct gw_ratelimit *gw_ratelimit_new(double rate_per_s, double burst)
{
	struct gw_ratelimit *rl = NULL;

	if (rate_per_s <= 0 || burst < 1)
		return NULL;
	rl = calloc(1, sizeof *rl);
	if (rl == NULL)
		return NULL;
	pthread_mutex_init(&rl->lock, NULL);
	rl->rate = rate_per_s;
	rl->burst = burst;
	return rl;
}

void gw_ratelimit_free(struct gw_ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

int gw_ratelimit_take(struct gw_ratelimit *rl, const char *key, const char *endpoint)
{
	char buf[512];
	char id[65];
	struct bucket *b = NULL;
	struct bucket *spare = NULL;
	unsigned long h = 0;
	double t;
	size_t i;
	int wait = 0;

	if (rl == NULL)
		return 0;
	snprintf(buf, sizeof buf, "%s\n%s", key != NULL ? key : "", endpoint != NULL ? endpoint : "");
	sr_sha256_hex(buf, strlen(buf), id);
	for (i = 0; i < 8; i++)
		h = h * 16 + (unsigned long)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10);
	t = now_s();
	pthread_mutex_lock(&rl->lock);
	for (i = 0; i < PROBE; i++) {
		struct bucket *c = &rl->slots[(h + i) % SLOTS];

		if (strcmp(c->id, id) == 0) {
			b = c;
			break;
		}
		/* Reused only when free or refilled to the burst: forgetting a
		 * full bucket changes nothing, so a collision never hands a
		 * limited client a fresh burst (ADR 0109). */
		if (spare == NULL &&
		    (c->id[0] == '\0' || c->tokens + (t - c->last) * rl->rate >= rl->burst))
			spare = c;
	}
	if (b == NULL) {
		if (spare == NULL) {
			/* A window of partly spent buckets: keep them, admit this
			 * one untracked (as a fresh bucket would). */
			pthread_mutex_unlock(&rl->lock);
			return 0;
		}
		b = spare;
		memcpy(b->id, id, sizeof b->id);
		b->tokens = rl->burst;
		b->last = t;
	}
	b->tokens = fmin(rl->burst, b->tokens + (t - b->last) * rl->rate);
	b->last = t;
	if (b->tokens >= 1.0)
		b->tokens -= 1.0;
	else
		wait = (int)ceil((1.0 - b->tokens) / rl->rate);
	pthread_mutex_unlock(&rl->lock);
	return wait > 0 ? wait : (b->tokens < 0 ? 1 : 0);
}
