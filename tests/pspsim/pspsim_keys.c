/*
 * pspsim_keys: registered merchant API keys (pspsim_keys.h). Journaled as
 * kind "api_key": SHA-256 of the key -> {"last4","account"} (never the key).
 */
#include "tests/pspsim/pspsim_keys.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "common/sr_secret.h"
#include "common/sr_util.h"
#include "tests/pspsim/pspsim_store.h"

#define MAX_KEYS 64

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char hash[65];
	char last4[5];
	char account[128];
	long long calls;
} g_keys[MAX_KEYS];
static size_t g_n;
/* Per-account notification HMAC keys (ADR 0107), decoded, guarded memory. */
static struct {
	char account[128];
	unsigned char *key;
	size_t len;
} g_hmac[MAX_KEYS];
static size_t g_nhmac;
static long long g_platform;

static bool account_ok(const char *a)
{
	size_t n = strlen(a);

	return n > 0 && n < sizeof g_keys[0].account &&
	       strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* Journal entry i (lock held). */
static void put_key(size_t i)
{
	json_t *v = json_pack("{s:s, s:s}", "last4", g_keys[i].last4, "account", g_keys[i].account);

	if (v != NULL)
		psim_store_put("api_key", g_keys[i].hash, v);
	json_decref(v);
}

int psim_keys_restore(const char *hash, const char *last4, const char *account)
{
	int rc = -1;

	if (hash == NULL || strlen(hash) != 64 || strspn(hash, "0123456789abcdef") != 64 ||
	    last4 == NULL || strlen(last4) != 4 || account == NULL ||
	    (account[0] != '\0' && !account_ok(account)))
		return -1;
	pthread_mutex_lock(&g_lock);
	if (g_n < MAX_KEYS) {
		memcpy(g_keys[g_n].hash, hash, 65);
		memcpy(g_keys[g_n].last4, last4, 5);
		snprintf(g_keys[g_n].account, sizeof g_keys[g_n].account, "%s", account);
		g_keys[g_n].calls = 0;
		g_n++;
		rc = 0;
	}
	pthread_mutex_unlock(&g_lock);
	return rc;
}

int psim_keys_register(const char *key, const char *account)
{
	size_t n = key != NULL ? strlen(key) : 0;
	size_t i;
	char h[65];
	int rc = -1;

	if (n < 8 || n > 256 || (account != NULL && !account_ok(account)))
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x21 || (unsigned char)key[i] > 0x7e)
			return -1;
	sr_sha256_hex(key, n, h);
	pthread_mutex_lock(&g_lock);
	for (i = 0; i < g_n; i++)
		if (strcmp(g_keys[i].hash, h) == 0) {
			snprintf(g_keys[i].account, sizeof g_keys[i].account, "%s",
			         account != NULL ? account : "");
			put_key(i);
			rc = 0;
			goto out;
		}
	if (g_n < MAX_KEYS) {
		snprintf(g_keys[g_n].account, sizeof g_keys[g_n].account, "%s",
		         account != NULL ? account : "");
		memcpy(g_keys[g_n].hash, h, sizeof h);
		memcpy(g_keys[g_n].last4, key + n - 4, 4);
		g_keys[g_n].last4[4] = '\0';
		g_keys[g_n].calls = 0;
		put_key(g_n);
		g_n++;
		rc = 0;
	}
out:
	psim_store_commit();
	pthread_mutex_unlock(&g_lock);
	return rc;
}

bool psim_keys_check(const char *key, char *account, size_t cap)
{
	char h[65];
	size_t i;
	bool ok = false;

	if (account != NULL && cap > 0)
		account[0] = '\0';
	if (key == NULL)
		return false;
	sr_sha256_hex(key, strlen(key), h);
	pthread_mutex_lock(&g_lock);
	for (i = 0; i < g_n && !ok; i++) {
		if (sr_ct_equal(h, g_keys[i].hash, 64)) {
			g_keys[i].calls++;
			if (account != NULL && cap > 0)
				snprintf(account, cap, "%s", g_keys[i].account);
			ok = true;
		}
	}
	pthread_mutex_unlock(&g_lock);
	return ok;
}

void psim_keys_count_platform(void)
{
	pthread_mutex_lock(&g_lock);
	g_platform++;
	pthread_mutex_unlock(&g_lock);
}

json_t *psim_keys_stats(void)
{
	json_t *o = json_object();
	size_t i;

	pthread_mutex_lock(&g_lock);
	json_object_set_new(o, "platform", json_integer(g_platform));
	for (i = 0; i < g_n; i++)
		json_object_set_new(o, g_keys[i].last4, json_integer(g_keys[i].calls));
	pthread_mutex_unlock(&g_lock);
	return o;
}

int psim_keys_set_hmac(const char *account, const char *hex_key)
{
	size_t hl = hex_key != NULL ? strlen(hex_key) : 0;
	unsigned char *key = NULL;
	size_t len = 0;
	size_t i;
	int rc = -1;

	if (account == NULL || !account_ok(account) || hl < 64 || hl > 128 || hl % 2 != 0)
		return -1;
	key = sr_secret_alloc(hl / 2);
	if (key == NULL || sodium_hex2bin(key, hl / 2, hex_key, hl, NULL, &len, NULL) != 0 ||
	    len != hl / 2) {
		sr_secret_free(key);
		return -1;
	}
	pthread_mutex_lock(&g_lock);
	for (i = 0; i < g_nhmac && strcmp(g_hmac[i].account, account) != 0; i++)
		;
	if (i < MAX_KEYS) {
		if (i == g_nhmac) {
			snprintf(g_hmac[i].account, sizeof g_hmac[i].account, "%s", account);
			g_nhmac++;
		}
		sr_secret_free(g_hmac[i].key);
		g_hmac[i].key = key;
		g_hmac[i].len = len;
		key = NULL;
		rc = 0;
	}
	pthread_mutex_unlock(&g_lock);
	sr_secret_free(key);
	return rc;
}

int psim_keys_hmac(const char *account, unsigned char *key, size_t cap, size_t *len)
{
	size_t i;
	int rc = -1;

	pthread_mutex_lock(&g_lock);
	for (i = 0; account != NULL && i < g_nhmac; i++)
		if (strcmp(g_hmac[i].account, account) == 0 && g_hmac[i].len <= cap) {
			memcpy(key, g_hmac[i].key, g_hmac[i].len);
			*len = g_hmac[i].len;
			rc = 0;
		}
	pthread_mutex_unlock(&g_lock);
	return rc;
}
