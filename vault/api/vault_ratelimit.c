/*
 * vault_ratelimit: token buckets in a fixed, keyed-hash table (vault_ratelimit.h).
 */
#include "vault/api/vault_ratelimit.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

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

long vault_ratelimit_take(struct vault_ratelimit *rl, const char *key, double now)
{
	unsigned char h[crypto_shorthash_BYTES];
	struct bucket *bk = NULL;
	uint64_t tag = 0;
	long wait = 0;
	size_t i;

	if (rl == NULL || rl->rate <= 0 || key == NULL)
		return 0;
	crypto_shorthash(h, (const unsigned char *)key, strlen(key), rl->hkey);
	for (i = 0; i < sizeof tag; i++)
		tag = (tag << 8) | h[i];
	tag |= 1;       /* never 0 (empty) */
	pthread_mutex_lock(&rl->mu);
	bk = &rl->b[tag % rl->slots];
	if (bk->tag != tag) {
		bk->tag = tag;
		bk->tokens = rl->burst;
		bk->last = now;
	}
	bk->tokens += (now - bk->last) * rl->rate;
	if (bk->tokens > rl->burst)
		bk->tokens = rl->burst;
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
