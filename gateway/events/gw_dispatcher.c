/*
 * gw_dispatcher: the webhook dispatcher thread (see gw_dispatcher.h).
 */
#include "gateway/events/gw_dispatcher.h"
#include "gateway/gw_app.h"
#include "gateway/store/gw_store_webhooks.h"
#include "gateway/events/gw_webhook.h"
#include "common/sr_config.h"
#include "common/sr_db.h"
#include "common/sr_log.h"
#include "common/sr_metrics.h"
#include "common/sr_panscan.h"
#include "common/sr_secret.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#define FANOUT_BATCH 200
#define SEND_BATCH 8
#define RESPONSE_MAX 1024 /* issue 5: truncated response body, at most 1 KiB */

struct gw_dispatcher {
	struct gw_app *app;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
	CURL *curl;               /* one handle: connections are reused */
	long long base_ms, cap_ms, max_age_ms, timeout_ms, interval_ms;
	int allow_private;
	const char *ca_file;
	struct sr_metric *m_attempts, *m_latency, *m_pending;
};

struct response {
	char buf[RESPONSE_MAX + 1];
	size_t len;
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct response *r = arg;
	size_t len = sz * n;
	size_t take = len < RESPONSE_MAX - r->len ? len : RESPONSE_MAX - r->len;

	memcpy(r->buf + r->len, p, take);
	r->len += take;
	return len; /* the rest is read and dropped */
}

/* Server-side request forgery: never connect into loopback or private ranges
 * (the appliance zone) unless the operator allows it (dev stack only). */
static curl_socket_t on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct gw_dispatcher *d = arg;

	(void)purpose;
	if (!d->allow_private && gw_webhook_addr_blocked(&a->addr))
		return CURL_SOCKET_BAD;
	return socket(a->family, a->socktype, a->protocol);
}

/* Printable ASCII only: the stored text is valid UTF-8 without NULs. */
static void sanitize(struct response *r)
{
	size_t i;

	r->buf[r->len] = '\0';
	for (i = 0; i < r->len; i++)
		if ((unsigned char)r->buf[i] >= 0x7f ||
		    ((unsigned char)r->buf[i] < 0x20 && r->buf[i] != '\n' && r->buf[i] != '\t'))
			r->buf[i] = '?';
	/* invariant 1, docs/invariants.md: a response echoing a card number is not stored. */
	if (sr_panscan_buffer(r->buf, r->len, NULL, NULL) > 0) {
		snprintf(r->buf, sizeof r->buf, "[not stored: looked like a card number]");
		r->len = strlen(r->buf);
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* During a secret roll's overlap (ADR 0129), append the previous secret's
 * ",v1=<hex>" to sig ("t=<t>,v1=<hex>", capacity len), as Stripe's header
 * carries one v1 per secret: only while t is before its expiry (the claim
 * checked it too). @return 0 (appended, or nothing to append), -1. */
static int sign_previous(const struct gw_dispatcher *d, const struct gw_wh_job *job, long long t,
                         char *sig, size_t len)
{
	char sig2[GW_WEBHOOK_SIG_MAX];
	char *prev = NULL;
	const char *v1;
	int rc = -1;

	if (job->sealed_prev_len == 0 || t >= job->prev_expires)
		return 0;
	prev = gw_webhook_open(d->app->webhook_key, job->sealed_prev, job->sealed_prev_len,
	                       job->endpoint_id, job->merchant_id);
	if (prev == NULL)
		return 0; /* it does not open: only the current secret signs */
	if (gw_webhook_sign(prev, t, job->body, strlen(job->body), sig2, sizeof sig2) != 0)
		goto out;
	v1 = strstr(sig2, ",v1=");
	if (v1 == NULL || strlen(sig) + strlen(v1) >= len)
		goto out;
	memcpy(sig + strlen(sig), v1, strlen(v1) + 1);
	rc = 0;
out:
	sr_secret_free(prev);
	sodium_memzero(sig2, sizeof sig2);
	return rc;
}

/* One attempt for job; fills a (outcome, status, latency, response, error). */
static void send_one(struct gw_dispatcher *d, const struct gw_wh_job *job, struct response *resp,
                     struct gw_wh_attempt *a)
{
	char sig[GW_WEBHOOK_SIG_MAX];
	char hdr[GW_WEBHOOK_SIG_MAX + 32];
	char idhdr[96];
	struct curl_slist *headers = NULL;
	char *secret = NULL;
	long long t0 = now_ms();
	long long t = (long long)time(NULL);
	long code = 0;
	CURLcode cc;

	memset(resp, 0, sizeof *resp);
	a->status_code = 0;
	a->response = NULL;
	a->error = NULL;
	a->outcome = "network_error";
	secret = gw_webhook_open(d->app->webhook_key, job->sealed, job->sealed_len, job->endpoint_id,
	                         job->merchant_id);
	if (secret == NULL) {
		a->error = "signing secret could not be opened";
		goto out;
	}
	if (gw_webhook_sign(secret, t, job->body, strlen(job->body), sig, sizeof sig) != 0 ||
	    sign_previous(d, job, t, sig, sizeof sig) != 0) {
		a->error = "signing failed";
		goto out;
	}
	snprintf(hdr, sizeof hdr, "Strongroom-Signature: %s", sig);
	snprintf(idhdr, sizeof idhdr, "Strongroom-Event-Id: %s", job->event_id);
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (headers != NULL)
		headers = curl_slist_append(headers, "User-Agent: Strongroom-Webhooks/1.0");
	if (headers != NULL)
		headers = curl_slist_append(headers, "Expect:");
	if (headers != NULL)
		headers = curl_slist_append(headers, idhdr);
	if (headers != NULL)
		headers = curl_slist_append(headers, hdr);
	if (headers == NULL) {
		a->error = "out of memory";
		goto out;
	}
	curl_easy_setopt(d->curl, CURLOPT_URL, job->url);
	curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(d->curl, CURLOPT_POSTFIELDS, job->body);
	curl_easy_setopt(d->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(job->body));
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, resp);
	cc = curl_easy_perform(d->curl);
	if (cc != CURLE_OK) {
		a->error = curl_easy_strerror(cc); /* fixed texts: no URL, no secret */
		goto out;
	}
	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &code);
	a->status_code = code;
	a->outcome = code >= 200 && code < 300 ? "success" : "http_error";
	sanitize(resp);
	a->response = resp->len > 0 ? resp->buf : NULL;
out:
	a->latency_ms = now_ms() - t0;
	curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	sr_secret_free(secret);
	/* The signature is only valid with this body and time; wipe anyway. */
	memset(sig, 0, sizeof sig);
	memset(hdr, 0, sizeof hdr);
}

/* Send one claimed job and record the attempt (conn: none held). */
static void deliver(struct gw_dispatcher *d, const struct gw_wh_job *job, struct response *resp)
{
	struct gw_wh_attempt a;
	PGconn *conn = NULL;
	long long retry;

	send_one(d, job, resp, &a);
	if (strcmp(a.outcome, "success") == 0) {
		a.new_status = "succeeded";
		a.retry_in_ms = 0;
	} else {
		/* Exponential backoff with jitter; give up once the next try
		 * would start after the maximum age (3 days by default). */
		retry = gw_webhook_backoff_ms_random(job->attempts + 1, d->base_ms, d->cap_ms);
		a.retry_in_ms = retry;
		a.new_status = job->age_s * 1000 + a.latency_ms + retry > d->max_age_ms ? "failed"
		                                                                         : "pending";
	}
	sr_metrics_add(d->m_attempts, 1, a.outcome);
	sr_metrics_observe(d->m_latency, (double)a.latency_ms / 1000.0, a.outcome);
	sr_log(strcmp(a.outcome, "success") == 0 ? SR_LOG_INFO : SR_LOG_WARN, NULL,
	       "webhook.attempt", "{s:I, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:s, s:s?}", "delivery",
	       (json_int_t)job->delivery_id, "event_id", job->event_id, "type", job->event_type,
	       "endpoint", job->endpoint_id, "outcome", a.outcome, "attempt", job->attempts + 1,
	       "status_code", (json_int_t)a.status_code, "latency_ms", (json_int_t)a.latency_ms,
	       "next", a.new_status, "error", a.error);
	if (strcmp(a.new_status, "failed") == 0)
		sr_log(SR_LOG_WARN, NULL, "webhook.delivery_failed", "{s:I, s:s, s:s, s:i}",
		       "delivery", (json_int_t)job->delivery_id, "event_id", job->event_id, "endpoint",
		       job->endpoint_id, "attempts", job->attempts + 1);
	conn = sr_db_acquire(d->app->db);
	if (conn == NULL || gw_store_webhook_attempt(conn, job, &a) < 0)
		sr_log(SR_LOG_ERROR, NULL, "webhook.attempt_not_recorded", "{s:I}", "delivery",
		       (json_int_t)job->delivery_id);
	sr_db_release(d->app->db, conn);
}

int gw_dispatcher_round(struct gw_dispatcher *d)
{
	struct gw_wh_job job;
	struct response *resp = NULL;
	PGconn *conn = NULL;
	const char *owner = d->app->instance_id[0] != '\0' ? d->app->instance_id : NULL;
	long long pending;
	int lease_s;
	int n = 0;
	int r;

	resp = malloc(sizeof *resp);
	if (resp == NULL)
		return -1;
	conn = sr_db_acquire(d->app->db);
	if (conn == NULL) {
		n = -1;
		goto out;
	}
	do
		r = gw_store_webhook_fanout(conn, FANOUT_BATCH);
	while (r == FANOUT_BATCH);
	/* ADR 0113: deliveries held by a dead instance (no heartbeat) are due
	 * again now, whatever their lease said. */
	r = gw_store_webhook_orphans(conn);
	if (r > 0)
		sr_log(SR_LOG_WARN, NULL, "webhook.orphans_reclaimed", "{s:i}", "deliveries", r);
	/* One delivery per claim: the lease covers the one attempt its owner
	 * makes next (the whole-request timeout, connect included, plus 2 s to
	 * record it), not a batch queued behind it. */
	lease_s = (int)((d->timeout_ms + 2000 + 999) / 1000);
	while (n < SEND_BATCH) {
		r = gw_store_webhook_claim(conn, lease_s, owner, &job, 1);
		if (r != 1)
			break;
		sr_db_release(d->app->db, conn);
		conn = NULL;
		deliver(d, &job, resp);
		gw_store_webhook_jobs_free(&job, 1);
		n++;
		conn = sr_db_acquire(d->app->db);
		if (conn == NULL)
			goto out;
	}
	pending = gw_store_webhook_pending(conn);
	if (pending >= 0)
		sr_metrics_set(d->m_pending, (double)pending);
out:
	sr_db_release(d->app->db, conn);
	free(resp);
	return n;
}

static void *run(void *arg)
{
	struct gw_dispatcher *d = arg;
	struct timespec until;
	int stop = 0;
	int n;

	while (!stop) {
		n = gw_dispatcher_round(d);
		clock_gettime(CLOCK_REALTIME, &until);
		/* A full batch: more may be due, go again at once. */
		if (n < SEND_BATCH) {
			until.tv_sec += (time_t)(d->interval_ms / 1000);
			until.tv_nsec += (long)(d->interval_ms % 1000) * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
		}
		pthread_mutex_lock(&d->lock);
		while (!d->stop && n < SEND_BATCH &&
		       pthread_cond_timedwait(&d->cond, &d->lock, &until) != ETIMEDOUT)
			;
		stop = d->stop;
		pthread_mutex_unlock(&d->lock);
	}
	return NULL;
}

static int curl_setup(struct gw_dispatcher *d)
{
	d->curl = curl_easy_init();
	if (d->curl == NULL)
		return -1;
	curl_easy_setopt(d->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(d->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(d->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(d->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(d->curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(d->curl, CURLOPT_TIMEOUT_MS, (long)d->timeout_ms);
	curl_easy_setopt(d->curl, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)(d->timeout_ms < 5000 ? d->timeout_ms : 5000));
	curl_easy_setopt(d->curl, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(d->curl, CURLOPT_OPENSOCKETDATA, d);
	if (d->ca_file != NULL && d->ca_file[0] != '\0')
		curl_easy_setopt(d->curl, CURLOPT_CAINFO, d->ca_file);
	return 0;
}

struct gw_dispatcher *gw_dispatcher_start(struct gw_app *app)
{
	static const char *const outcome[] = { "outcome", NULL };
	static const char *const none[] = { NULL };
	static const double buckets[] = { 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };
	struct gw_dispatcher *d = NULL;

	if (app == NULL || app->webhook_key == NULL)
		return NULL;
	d = calloc(1, sizeof *d);
	if (d == NULL)
		return NULL;
	d->app = app;
	d->interval_ms = sr_config_int(app->cfg, "webhook_interval_ms", 1000);
	d->base_ms = sr_config_int(app->cfg, "webhook_backoff_base_ms", 60000);
	d->cap_ms = sr_config_int(app->cfg, "webhook_backoff_cap_ms", 3600000);
	d->max_age_ms = sr_config_int(app->cfg, "webhook_max_age_s", 3LL * 86400) * 1000;
	d->timeout_ms = sr_config_int(app->cfg, "webhook_timeout_ms", 10000);
	d->allow_private = sr_config_int(app->cfg, "webhook_allow_private", 0) != 0;
	d->ca_file = sr_config_str(app->cfg, "webhook_ca", NULL);
	d->m_attempts = sr_metrics_counter("strongroom_webhook_delivery_attempts_total",
	                                   "Webhook delivery attempts to merchant endpoints.", outcome);
	d->m_latency = sr_metrics_histogram("strongroom_webhook_delivery_duration_seconds",
	                                    "Duration of webhook delivery attempts.", outcome, buckets,
	                                    sizeof buckets / sizeof buckets[0]);
	d->m_pending = sr_metrics_gauge("strongroom_webhook_deliveries_pending",
	                                "Webhook deliveries waiting for a (next) attempt.", none);
	/* The series exist from the start (a counter at 0 is a fact too). */
	sr_metrics_add(d->m_attempts, 0, "success");
	sr_metrics_add(d->m_attempts, 0, "http_error");
	sr_metrics_add(d->m_attempts, 0, "network_error");
	if (curl_setup(d) != 0)
		goto fail;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	if (pthread_create(&d->thread, NULL, run, d) != 0) {
		pthread_mutex_destroy(&d->lock);
		pthread_cond_destroy(&d->cond);
		goto fail;
	}
	sr_log(SR_LOG_INFO, NULL, "webhook.dispatcher_started", "{s:I, s:I, s:I, s:I}", "interval_ms",
	       (json_int_t)d->interval_ms, "backoff_base_ms", (json_int_t)d->base_ms, "backoff_cap_ms",
	       (json_int_t)d->cap_ms, "max_age_s", (json_int_t)(d->max_age_ms / 1000));
	return d;
fail:
	if (d->curl != NULL)
		curl_easy_cleanup(d->curl);
	free(d);
	return NULL;
}

void gw_dispatcher_stop(struct gw_dispatcher *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = 1;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	curl_easy_cleanup(d->curl);
	free(d);
}
