/*
 * vault_pkcache: publishable key hash -> merchant, short-lived (vault_pkcache.h).
 */
#include "vault/api/vault_pkcache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/tokens/vault_token.h"

struct entry {
	char hash[65];
	char mid[VAULT_MERCHANT_ID_MAX + 1];
	double expires;
};

struct vault_pkcache {
	pthread_mutex_t mu;
	size_t slots;
	struct entry *e;
};

struct vault_pkcache *vault_pkcache_new(size_t slots)
{
	struct vault_pkcache *c = NULL;

	if (slots == 0)
		return NULL;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->e = calloc(slots, sizeof *c->e);
	if (c->e == NULL) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->mu, NULL);
	c->slots = slots;
	return c;
}

void vault_pkcache_free(struct vault_pkcache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c->e);
	free(c);
}

/* The hash is already uniformly distributed: its first hex digits pick the slot. */
static size_t slot_of(const struct vault_pkcache *c, const char *hash)
{
	unsigned long v = strtoul((char[9]){ hash[0], hash[1], hash[2], hash[3], hash[4], hash[5],
	                                     hash[6], hash[7], '\0' }, NULL, 16);

	return (size_t)v % c->slots;
}

int vault_pkcache_get(struct vault_pkcache *c, const char *pk_sha256_hex, double now, char *mid,
                      size_t mid_cap)
{
	struct entry *e = NULL;
	int found = 0;

	if (c == NULL || pk_sha256_hex == NULL || strlen(pk_sha256_hex) != 64)
		return 0;
	pthread_mutex_lock(&c->mu);
	e = &c->e[slot_of(c, pk_sha256_hex)];
	if (e->expires > now && strcmp(e->hash, pk_sha256_hex) == 0) {
		snprintf(mid, mid_cap, "%s", e->mid);
		found = 1;
	}
	pthread_mutex_unlock(&c->mu);
	return found;
}

void vault_pkcache_put(struct vault_pkcache *c, const char *pk_sha256_hex, const char *mid,
                       double now)
{
	struct entry *e = NULL;

	if (c == NULL || pk_sha256_hex == NULL || strlen(pk_sha256_hex) != 64 || mid == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	e = &c->e[slot_of(c, pk_sha256_hex)];
	snprintf(e->hash, sizeof e->hash, "%s", pk_sha256_hex);
	snprintf(e->mid, sizeof e->mid, "%s", mid);
	e->expires = now + VAULT_PKCACHE_TTL;
	pthread_mutex_unlock(&c->mu);
}

void vault_pkcache_clear(struct vault_pkcache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	memset(c->e, 0, c->slots * sizeof *c->e);
	pthread_mutex_unlock(&c->mu);
}
