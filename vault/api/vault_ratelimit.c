/*
 * vault_ratelimit: token buckets in a fixed, keyed-hash table (vault_ratelimit.h),
 * open-addressed over a window of PROBE slots.
 */
#include "vault/api/vault_ratelimit.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define PROBE 8

struct bucket {
	uint64_t tag;           /* keyed hash of the key; 0 = empty */
	double tokens;
	double last;            /* seconds */
};

struct vault_ratelimit {
	pthread_mutex_t mu;
	double rate;
	double burst;
	size_t slots;
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	struct bucket *b;
};

struct vault_ratelimit *vault_ratelimit_new(double per_second, double burst, size_t slots)
{
	struct vault_ratelimit *rl = NULL;

	if (sodium_init() < 0 || slots == 0)
		return NULL;
	rl = calloc(1, sizeof *rl);
	if (rl == NULL)
		return NULL;
	rl->b = calloc(slots, sizeof *rl->b);
	if (rl->b == NULL) {
		free(rl);
		return NULL;
	}
	pthread_mutex_init(&rl->mu, NULL);
	rl->rate = per_second > 0 ? per_second : 0;
	rl->burst = burst >= 1 ? burst : 1;
	rl->slots = slots;
	randombytes_buf(rl->hkey, sizeof rl->hkey);
	return rl;
}

void vault_ratelimit_free(struct vault_ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->mu);
	free(rl->b);
	free(rl);
}

/* Tokens of bk at now, refilled, capped at the burst. */
static double refilled(const struct vault_ratelimit *rl, const struct bucket *bk, double now)
{
	double t = bk->tokens + (now - bk->last) * rl->rate;

	return t > rl->burst ? rl->burst : t;
}

long vault_ratelimit_take(struct vault_ratelimit *rl, const char *key, double now)
{
	unsigned char h[crypto_shorthash_BYTES];
	struct bucket *bk = NULL;
	struct bucket *spare = NULL;
	uint64_t tag = 0;
	long wait = 0;
	size_t i, probe;

	if (rl == NULL || rl->rate <= 0 || key == NULL)
		return 0;
	crypto_shorthash(h, (const unsigned char *)key, strlen(key), rl->hkey);
	for (i = 0; i < sizeof tag; i++)
		tag = (tag << 8) | h[i];
	tag |= 1;       /* never 0 (empty) */
	probe = rl->slots < PROBE ? rl->slots : PROBE;
	pthread_mutex_lock(&rl->mu);
	for (i = 0; i < probe && bk == NULL; i++) {
		struct bucket *c = &rl->b[(tag + i) % rl->slots];

		if (c->tag == tag)
			bk = c;
		else if (spare == NULL && (c->tag == 0 || refilled(rl, c, now) >= rl->burst))
			spare = c; /* empty, or full again: forgetting it changes nothing */
	}
	if (bk == NULL) {
		if (spare == NULL) {
			/* Every bucket of the window is partly spent: keep them
			 * (a collision never hands their clients a fresh burst)
			 * and admit this key untracked, as a fresh bucket would. */
			pthread_mutex_unlock(&rl->mu);
			return 0;
		}
		bk = spare;
		bk->tag = tag;
		bk->tokens = rl->burst;
		bk->last = now;
	}
	bk->tokens = refilled(rl, bk, now);
	bk->last = now;
	if (bk->tokens >= 1.0) {
		bk->tokens -= 1.0;
	} else {
		/* rounded up: a client waiting this long is admitted */
		double w = (1.0 - bk->tokens) / rl->rate;

		wait = (long)w;
		if ((double)wait < w || wait < 1)
			wait++;
	}
	pthread_mutex_unlock(&rl->mu);
	return wait;
}
