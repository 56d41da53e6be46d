/*
 * pspsim_webhooks: signed webhook deliveries from the simulated PSP
 * (pspsim_webhooks.h). Test code.
 */
#include "tests/pspsim/pspsim_webhooks.h"
#include "tests/pspsim/pspsim_store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "common/sr_log.h"
#include "common/sr_secret.h"
#include "common/sr_util.h"

#define MAX_EVENTS 4096

struct wh_event {
	char id[72];
	char type[64];
	char path[128];
	char header[64];
	char *body;
	size_t len;
	psim_wh_signer signer;
	void *ctx;
	json_t *deliveries;       /* array of HTTP statuses */
};

struct wh_pending {
	size_t idx;
	long long due_ms;
	struct wh_pending *next;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static pthread_t g_thread;
static int g_running;
static int g_stop;
static char *g_base;
static char *g_resolve;       /* "host:port:addr" or NULL */
static char *g_ca;
static struct wh_event *g_events;
static size_t g_n;
static struct wh_pending *g_queue;
static char *g_stripe_secret; /* guarded memory */
static unsigned char *g_adyen_key; /* guarded memory: the decoded HMAC key */
static size_t g_adyen_key_len;

static long long real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * nmemb;
}

/* One delivery of event e (a copy: no lock held). @return HTTP status or 0. */
static long deliver(const struct wh_event *e)
{
	CURL *c = NULL;
	struct curl_slist *hdrs = NULL;
	struct curl_slist *res = NULL;
	char url[512];
	char hv[1024];
	char line[1200];
	long status = 0;

	/* No signer: the body is signed inside (Adyen's per-item HMAC). */
	if (e->signer != NULL && e->signer(e->body, e->len, hv, sizeof hv, e->ctx) != 0)
		return 0;
	snprintf(url, sizeof url, "%s%s", g_base, e->path);
	c = curl_easy_init();
	if (c == NULL)
		return 0;
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json; charset=utf-8");
	if (e->signer != NULL) {
		snprintf(line, sizeof line, "%s: %s", e->header, hv);
		hdrs = curl_slist_append(hdrs, line);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (g_resolve != NULL) {
		res = curl_slist_append(NULL, g_resolve);
		curl_easy_setopt(c, CURLOPT_RESOLVE, res);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, e->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)e->len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_CAINFO, g_ca);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	curl_slist_free_all(res);
	sr_log(SR_LOG_INFO, NULL, "pspsim.webhook_sent", "{s:s, s:s, s:I}", "event", e->id, "type",
	       e->type, "status", (json_int_t)status);
	return status;
}

/* Deliver event idx once and record the status. */
static long deliver_idx(size_t idx)
{
	struct wh_event copy;
	long st = 0;

	pthread_mutex_lock(&g_lock);
	if (idx >= g_n) {
		pthread_mutex_unlock(&g_lock);
		return 0;
	}
	copy = g_events[idx];
	copy.body = malloc(copy.len + 1);
	if (copy.body != NULL)
		memcpy(copy.body, g_events[idx].body, copy.len + 1);
	pthread_mutex_unlock(&g_lock);
	if (copy.body == NULL)
		return 0;
	st = deliver(&copy);
	free(copy.body);
	pthread_mutex_lock(&g_lock);
	json_array_append_new(g_events[idx].deliveries, json_integer(st));
	pthread_mutex_unlock(&g_lock);
	return st;
}

static void *sender(void *arg)
{
	struct wh_pending *p = NULL;
	struct timespec ts;
	long long now;

	(void)arg;
	pthread_mutex_lock(&g_lock);
	while (!g_stop) {
		if (g_queue == NULL) {
			pthread_cond_wait(&g_cond, &g_lock);
			continue;
		}
		now = real_ms();
		if (g_queue->due_ms > now) {
			ts.tv_sec = (time_t)(g_queue->due_ms / 1000);
			ts.tv_nsec = (long)(g_queue->due_ms % 1000) * 1000000L;
			pthread_cond_timedwait(&g_cond, &g_lock, &ts);
			continue;
		}
		p = g_queue;
		g_queue = p->next;
		pthread_mutex_unlock(&g_lock);
		/* Never tell of a change before its journal line is durable (issue 16). */
		psim_store_sync();
		deliver_idx(p->idx);
		free(p);
		pthread_mutex_lock(&g_lock);
	}
	pthread_mutex_unlock(&g_lock);
	return NULL;
}

int psim_wh_init(const char *base_url, const char *addr, const char *ca_file, char *err,
                 size_t errlen)
{
	CURLU *u = NULL;
	char *host = NULL;
	char *port = NULL;
	char buf[512];
	int rc = -1;

	if (base_url == NULL || ca_file == NULL || strncmp(base_url, "https://", 8) != 0) {
		snprintf(err, errlen, "webhook_url must be https:// and webhook_ca is required");
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	g_base = strdup(base_url);
	g_ca = strdup(ca_file);
	if (g_base == NULL || g_ca == NULL)
		goto out;
	if (g_base[strlen(g_base) - 1] == '/')
		g_base[strlen(g_base) - 1] = '\0';
	if (addr != NULL && addr[0] != '\0') {
		u = curl_url();
		if (u == NULL || curl_url_set(u, CURLUPART_URL, base_url, 0) != CURLUE_OK ||
		    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
		    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
			snprintf(err, errlen, "webhook_url cannot be parsed");
			goto out;
		}
		snprintf(buf, sizeof buf, "%s:%s:%s", host, port, addr);
		g_resolve = strdup(buf);
		if (g_resolve == NULL)
			goto out;
	}
	g_events = calloc(MAX_EVENTS, sizeof *g_events);
	if (g_events == NULL)
		goto out;
	if (pthread_create(&g_thread, NULL, sender, NULL) != 0) {
		snprintf(err, errlen, "cannot start the webhook sender");
		goto out;
	}
	g_running = 1;
	rc = 0;
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

int psim_wh_enabled(void)
{
	return g_running;
}

void psim_wh_stop(void)
{
	struct wh_pending *p = NULL;
	size_t i;

	if (g_running) {
		pthread_mutex_lock(&g_lock);
		g_stop = 1;
		pthread_cond_broadcast(&g_cond);
		pthread_mutex_unlock(&g_lock);
		pthread_join(g_thread, NULL);
		g_running = 0;
	}
	while (g_queue != NULL) {
		p = g_queue;
		g_queue = p->next;
		free(p);
	}
	for (i = 0; i < g_n; i++) {
		free(g_events[i].body);
		json_decref(g_events[i].deliveries);
	}
	free(g_events);
	g_events = NULL;
	g_n = 0;
	free(g_base);
	free(g_ca);
	free(g_resolve);
	g_base = g_ca = g_resolve = NULL;
	sr_secret_free(g_stripe_secret);
	g_stripe_secret = NULL;
	sr_secret_free(g_adyen_key);
	g_adyen_key = NULL;
	g_adyen_key_len = 0;
}

int psim_wh_queue(const char *event_id, const char *type, const char *path, const char *body,
                  const char *header_name, psim_wh_signer signer, void *ctx, long long delay_ms)
{
	struct wh_pending *p = NULL;
	struct wh_pending **pp = NULL;
	struct wh_event *e = NULL;
	int rc = -1;

	if (!g_running || event_id == NULL || type == NULL || path == NULL || body == NULL ||
	    (signer != NULL && header_name == NULL))
		return -1;
	p = calloc(1, sizeof *p);
	if (p == NULL)
		return -1;
	pthread_mutex_lock(&g_lock);
	if (g_n >= MAX_EVENTS)
		goto out;
	e = &g_events[g_n];
	snprintf(e->id, sizeof e->id, "%s", event_id);
	snprintf(e->type, sizeof e->type, "%s", type);
	snprintf(e->path, sizeof e->path, "%s", path);
	snprintf(e->header, sizeof e->header, "%s", header_name != NULL ? header_name : "");
	e->len = strlen(body);
	e->body = strdup(body);
	e->signer = signer;
	e->ctx = ctx;
	e->deliveries = json_array();
	if (e->body == NULL || e->deliveries == NULL) {
		free(e->body);
		json_decref(e->deliveries);
		memset(e, 0, sizeof *e);
		goto out;
	}
	p->idx = g_n++;
	p->due_ms = real_ms() + (delay_ms > 0 ? delay_ms : 0);
	/* Keep the queue ordered by due time. */
	for (pp = &g_queue; *pp != NULL && (*pp)->due_ms <= p->due_ms; pp = &(*pp)->next)
		;
	p->next = *pp;
	*pp = p;
	p = NULL;
	pthread_cond_broadcast(&g_cond);
	rc = 0;
out:
	pthread_mutex_unlock(&g_lock);
	free(p);
	return rc;
}

json_t *psim_wh_replay(const char *event_id, int times)
{
	json_t *out = NULL;
	size_t idx = 0;
	size_t i;
	int found = 0;
	int k;

	if (event_id == NULL || times < 1)
		return NULL;
	pthread_mutex_lock(&g_lock);
	for (i = 0; i < g_n && !found; i++)
		if (strcmp(g_events[i].id, event_id) == 0) {
			idx = i;
			found = 1;
		}
	pthread_mutex_unlock(&g_lock);
	if (!found)
		return NULL;
	out = json_array();
	for (k = 0; out != NULL && k < times; k++)
		json_array_append_new(out, json_integer(deliver_idx(idx)));
	return out;
}

json_t *psim_wh_list(void)
{
	json_t *arr = json_array();
	size_t i;

	pthread_mutex_lock(&g_lock);
	for (i = 0; arr != NULL && i < g_n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:O}", "id", g_events[i].id,
		                                     "type", g_events[i].type, "path", g_events[i].path,
		                                     "deliveries", g_events[i].deliveries));
	pthread_mutex_unlock(&g_lock);
	return arr;
}

/* ---- Stripe ---- */

/* "t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>" (Stripe's scheme). */
static int stripe_sign(const char *body, size_t len, char *value, size_t cap, void *ctx)
{
	const char *secret = ctx;
	crypto_auth_hmacsha256_state st;
	unsigned char mac[32];
	char hex[65];
	char t[24];

	if (secret == NULL)
		return -1;
	snprintf(t, sizeof t, "%lld", (long long)time(NULL));
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)t, strlen(t));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sr_hex(mac, 32, hex);
	hex[64] = '\0';
	snprintf(value, cap, "t=%s,v1=%s", t, hex);
	sodium_memzero(&st, sizeof st);
	return 0;
}

int psim_wh_stripe_init(const char *secret_file, char *err, size_t errlen)
{
	size_t len = 0;

	g_stripe_secret = sr_secret_read_file(secret_file, &len, err, errlen);
	if (g_stripe_secret == NULL)
		return -1;
	if (len == 0 || strpbrk(g_stripe_secret, "\r\n") != NULL) {
		snprintf(err, errlen, "webhook secret file is empty or has more than one line");
		return -1;
	}
	return 0;
}

int psim_wh_stripe_event(const char *type, json_t *object, long long delay_ms, char *id_out,
                         size_t cap)
{
	json_t *ev = NULL;
	char *body = NULL;
	char id[64];
	int rc = -1;

	if (!g_running || g_stripe_secret == NULL) {
		json_decref(object);
		return 0;
	}
	if (sr_random_id("evt_", 12, id, sizeof id) != 0)
		goto out;
	ev = json_pack("{s:s, s:s, s:s, s:I, s:s, s:b, s:{s:o}, s:i}", "id", id, "object", "event",
	               "type", type, "created", (json_int_t)time(NULL), "api_version", "2024-06-20",
	               "livemode", 0, "data", "object", object, "pending_webhooks", 1);
	object = NULL;
	if (ev == NULL)
		goto out;
	body = json_dumps(ev, JSON_COMPACT);
	if (body == NULL)
		goto out;
	if (psim_wh_queue(id, type, "/v1/psp_webhooks/stripe", body, "Stripe-Signature", stripe_sign,
	                  g_stripe_secret, delay_ms) != 0)
		goto out;
	if (id_out != NULL && cap > 0)
		snprintf(id_out, cap, "%s", id);
	rc = 0;
out:
	json_decref(object);
	json_decref(ev);
	free(body);
	return rc;
}

/* ---- Adyen ---- */

int psim_wh_adyen_init(const char *hex_key_file, char *err, size_t errlen)
{
	char *hex = NULL;
	size_t len = 0;
	int rc = -1;

	hex = sr_secret_read_file(hex_key_file, &len, err, errlen);
	if (hex == NULL)
		return -1;
	g_adyen_key = sr_secret_alloc(len / 2 + 1);
	if (g_adyen_key == NULL)
		goto out;
	/* Adyen shows the key as hex (upper case); an odd length or a non-hex
	 * character is refused (sodium_hex2bin stops there). */
	if (len < 2 || len % 2 != 0 ||
	    sodium_hex2bin(g_adyen_key, len / 2 + 1, hex, len, NULL, &g_adyen_key_len, NULL) != 0 ||
	    g_adyen_key_len != len / 2) {
		snprintf(err, errlen, "adyen_hmac_key_file must hold one line of hex");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		sr_secret_free(g_adyen_key);
		g_adyen_key = NULL;
		g_adyen_key_len = 0;
	}
	sr_secret_free(hex);
	return rc;
}

/* A notification item's string field, "" when absent. */
static const char *adyen_str(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s != NULL ? s : "";
}

/*
 * Adyen's notification HMAC (docs.adyen.com, "Verify HMAC signatures"):
 * base64(HMAC-SHA256(hex-decoded key, pspReference:originalReference:
 * merchantAccountCode:merchantReference:value:currency:eventCode:success)).
 * Computed with libsodium here, independently of the vault's mbedTLS code.
 */
static int adyen_item_sign(const json_t *item, const unsigned char *key, size_t klen, char *out,
                           size_t cap)
{
	const json_t *amount = json_object_get(item, "amount");
	crypto_auth_hmacsha256_state st;
	unsigned char mac[32];
	char value[32] = "";
	char *msg = NULL;
	int n = 0;

	if (cap < sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_ORIGINAL))
		return -1;
	if (json_is_integer(json_object_get(amount, "value")))
		snprintf(value, sizeof value, "%lld",
		         (long long)json_integer_value(json_object_get(amount, "value")));
	n = asprintf(&msg, "%s:%s:%s:%s:%s:%s:%s:%s", adyen_str(item, "pspReference"),
	             adyen_str(item, "originalReference"), adyen_str(item, "merchantAccountCode"),
	             adyen_str(item, "merchantReference"), value, adyen_str(amount, "currency"),
	             adyen_str(item, "eventCode"), adyen_str(item, "success"));
	if (n < 0)
		return -1;
	crypto_auth_hmacsha256_init(&st, key, klen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, (size_t)n);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2base64(out, cap, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(&st, sizeof st);
	free(msg);
	return 0;
}

int psim_wh_adyen_sign(json_t *item, const unsigned char *key, size_t klen)
{
	json_t *ad = NULL;
	char sig[64];

	if (!json_is_object(item) || key == NULL || klen == 0 ||
	    adyen_item_sign(item, key, klen, sig, sizeof sig) != 0)
		return -1;
	ad = json_object_get(item, "additionalData");
	if (ad == NULL) {
		ad = json_object();
		if (json_object_set_new(item, "additionalData", ad) != 0)
			return -1;
	}
	return json_object_set_new(ad, "hmacSignature", json_string(sig)) != 0 ? -1 : 0;
}

int psim_wh_adyen_notification(json_t *item, long long delay_ms, char *id_out, size_t cap)
{
	json_t *n = NULL;
	char *body = NULL;
	char id[128];
	int rc = -1;

	if (!g_running || g_adyen_key == NULL) {
		json_decref(item);
		return 0;
	}
	if (psim_wh_adyen_sign(item, g_adyen_key, g_adyen_key_len) != 0)
		goto out;
	/* The id the vault derives (adyen.c): Adyen's notifications have none. */
	snprintf(id, sizeof id, "%s:%s:%s", adyen_str(item, "eventCode"),
	         adyen_str(item, "pspReference"), adyen_str(item, "success"));
	n = json_pack("{s:s, s:[{s:O}]}", "live", "false", "notificationItems",
	              "NotificationRequestItem", item);
	if (n == NULL)
		goto out;
	body = json_dumps(n, JSON_COMPACT);
	if (body == NULL)
		goto out;
	/* No signature header: each item carries its own HMAC. */
	if (psim_wh_queue(id, adyen_str(item, "eventCode"), "/v1/psp_webhooks/adyen", body, NULL,
	                  NULL, NULL, delay_ms) != 0)
		goto out;
	if (id_out != NULL && cap > 0)
		snprintf(id_out, cap, "%s", id);
	rc = 0;
out:
	json_decref(item);
	json_decref(n);
	free(body);
	return rc;
}
