/*
 * whsink: a merchant's webhook receiver for the integration tests (issue 5).
 * Test-only; never installed. HTTPS (sr_http) with a dev PKI server
 * certificate.
 *
 *   whsink --port N --cert FILE --key FILE
 *
 * Routes:
 *   POST /hook/{name}          a webhook delivery for receiver "name": the
 *                              Strongroom-Signature is verified (HMAC-SHA256
 *                              of "t.body" with the receiver's secret, t within
 *                              300 s), the delivery recorded; 200, or the
 *                              configured failure status while fail_next > 0,
 *                              or 401 when the signature does not verify;
 *                              while hold_next > 0, the answer is held
 *                              hold_ms after the request is recorded (a
 *                              delivery in flight, for fault tests).
 *   POST /_sink/receivers/{name} {"secret"?, "fail_next"?, "fail_status"?,
 *                              "hold_next"?, "hold_ms"?}
 *                              configure a receiver (the test gives it the
 *                              secret the gateway showed once).
 *   GET /_sink/stats           {"requests":[{"name","event","type","sig_ok",
 *                              "status","at_ms","signature","body"}],
 *                              "delivered":{"<name>":{"<evt_id>":count of 2xx}}}
 */
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_version.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define MAX_RECEIVERS 16
#define MAX_REQUESTS 2000

struct receiver {
	char name[64];
	char secret[128];
	int fail_next;
	int fail_status;
	int hold_next;
	int hold_ms;
};

static struct {
	pthread_mutex_t lock;
	struct receiver rx[MAX_RECEIVERS];
	int n_rx;
	json_t *requests;
	json_t *delivered;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct receiver *find_rx(const char *name, int create)
{
	int i;

	for (i = 0; i < g.n_rx; i++)
		if (strcmp(g.rx[i].name, name) == 0)
			return &g.rx[i];
	if (!create || g.n_rx == MAX_RECEIVERS || strlen(name) >= sizeof g.rx[0].name)
		return NULL;
	memset(&g.rx[g.n_rx], 0, sizeof g.rx[0]);
	snprintf(g.rx[g.n_rx].name, sizeof g.rx[0].name, "%s", name);
	g.rx[g.n_rx].fail_status = 500;
	return &g.rx[g.n_rx++];
}

/* Verify "t=<unix>,v1=<hex>[,v1=<hex>...]" over "t.body" (independently of
 * the gateway's code): any v1 that matches verifies, as Stripe's
 * constructEvent accepts a header carrying one v1 per secret during a roll. */
static int sig_ok(const char *secret, const char *header, const unsigned char *body, size_t len)
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[32], want[32];
	const char *v1 = NULL;
	char ts[24];
	long long t;
	size_t n, blen = 0;
	int ok = 0;

	if (secret == NULL || secret[0] == '\0' || header == NULL || strncmp(header, "t=", 2) != 0)
		return 0;
	n = strcspn(header + 2, ",");
	if (n == 0 || n >= sizeof ts)
		return 0;
	memcpy(ts, header + 2, n);
	ts[n] = '\0';
	t = strtoll(ts, NULL, 10);
	if (llabs((long long)time(NULL) - t) > 300)
		return 0; /* stale: replay protection */
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, n);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	for (v1 = strstr(header, ",v1="); v1 != NULL; v1 = strstr(v1 + 4, ",v1=")) {
		if (strcspn(v1 + 4, ",") == 64 &&
		    sodium_hex2bin(want, sizeof want, v1 + 4, 64, NULL, &blen, NULL) == 0 && blen == 32 &&
		    sodium_memcmp(mac, want, 32) == 0)
			ok = 1;
	}
	return ok;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void h_hook(struct sr_http_request *req)
{
	const char *sig = sr_http_header(req, "Strongroom-Signature");
	const char *event = json_string_value(json_object_get(req->json, "id"));
	const char *type = json_string_value(json_object_get(req->json, "type"));
	struct receiver *rx = NULL;
	json_t *per = NULL;
	unsigned status = 200;
	int hold_ms = 0;
	int ok;

	pthread_mutex_lock(&g.lock);
	rx = find_rx(req->params[0], 0);
	ok = rx != NULL && sig_ok(rx->secret, sig, req->body, req->body_len);
	if (!ok)
		status = 401;
	else if (rx->fail_next > 0) {
		rx->fail_next--;
		status = (unsigned)rx->fail_status;
	}
	if (ok && rx->hold_next > 0) {
		rx->hold_next--;
		hold_ms = rx->hold_ms;
	}
	if (json_array_size(g.requests) < MAX_REQUESTS)
		json_array_append_new(
		    g.requests,
		    json_pack("{s:s, s:s?, s:s?, s:b, s:i, s:I, s:s?, s:s%}", "name", req->params[0],
		              "event", event, "type", type, "sig_ok", ok, "status", (int)status, "at_ms",
		              (json_int_t)now_ms(), "signature", sig, "body",
		              req->body != NULL ? (const char *)req->body : "", req->body_len));
	if (status == 200 && event != NULL) {
		per = json_object_get(g.delivered, req->params[0]);
		if (per == NULL) {
			per = json_object();
			json_object_set_new(g.delivered, req->params[0], per);
		}
		json_object_set_new(per, event,
		                    json_integer(json_integer_value(json_object_get(per, event)) + 1));
	}
	pthread_mutex_unlock(&g.lock);
	if (hold_ms > 0)
		nanosleep(&(struct timespec){ hold_ms / 1000, (long)(hold_ms % 1000) * 1000000L }, NULL);
	if (status == 200)
		sr_http_reply_json(req, 200, json_pack("{s:b}", "received", 1));
	else
		sr_http_reply_error(req, status, "api_error", status == 401 ? "bad_signature" : "failing",
		                    "whsink refused this delivery.", NULL);
}

static void h_receiver(struct sr_http_request *req)
{
	struct receiver *rx = NULL;
	json_t *v = NULL;

	pthread_mutex_lock(&g.lock);
	rx = find_rx(req->params[0], 1);
	if (rx != NULL && json_is_object(req->json)) {
		v = json_object_get(req->json, "secret");
		if (json_is_string(v))
			snprintf(rx->secret, sizeof rx->secret, "%s", json_string_value(v));
		v = json_object_get(req->json, "fail_next");
		if (json_is_integer(v))
			rx->fail_next = (int)json_integer_value(v);
		v = json_object_get(req->json, "fail_status");
		if (json_is_integer(v))
			rx->fail_status = (int)json_integer_value(v);
		v = json_object_get(req->json, "hold_next");
		if (json_is_integer(v))
			rx->hold_next = (int)json_integer_value(v);
		v = json_object_get(req->json, "hold_ms");
		if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 60000)
			rx->hold_ms = (int)json_integer_value(v);
	}
	pthread_mutex_unlock(&g.lock);
	if (rx == NULL)
		sr_http_reply_error(req, 400, "invalid_request_error", "bad_receiver", "Bad receiver.",
		                    NULL);
	else
		sr_http_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
}

static void h_stats(struct sr_http_request *req)
{
	json_t *body = NULL;

	pthread_mutex_lock(&g.lock);
	body = json_pack("{s:O, s:O}", "requests", g.requests, "delivered", g.delivered);
	body = body != NULL ? json_deep_copy(body) : NULL;
	pthread_mutex_unlock(&g.lock);
	sr_http_reply_json(req, 200, body);
}

static const struct sr_route ROUTES[] = {
	{ .method = "POST", .pattern = "/hook/{}", .handler = h_hook },
	{ .method = "POST", .pattern = "/_sink/receivers/{}", .handler = h_receiver },
	{ .method = "GET", .pattern = "/_sink/stats", .handler = h_stats },
};

int main(int argc, char **argv)
{
	static const struct option LONGOPTS[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "version", no_argument, NULL, SR_OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct sr_http_config hc;
	struct sr_http_server *srv = NULL;
	sigset_t sigs;
	char err[512];
	int port = 0;
	int opt, sig;

	memset(&hc, 0, sizeof hc);
	sr_log_init("whsink");
	while ((opt = getopt_long(argc, argv, "p:c:k:", LONGOPTS, NULL)) != -1) {
		if (opt == 'p')
			port = atoi(optarg);
		else if (opt == 'c')
			hc.cert_file = optarg;
		else if (opt == 'k')
			hc.key_file = optarg;
		else if (opt == SR_OPT_VERSION)
			return sr_version_print("whsink");
		else
			return 2;
	}
	if (port <= 0 || port > 65535 || hc.cert_file == NULL || hc.key_file == NULL) {
		fprintf(stderr, "usage: whsink --port N --cert FILE --key FILE\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	g.requests = json_array();
	g.delivered = json_object();
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	hc.bind_addr = "127.0.0.1";
	hc.port = (uint16_t)port;
	hc.threads = 2;
	hc.max_connections = 64; /* a held answer (hold_ms) blocks no other request */
	hc.routes = ROUTES;
	hc.n_routes = sizeof ROUTES / sizeof ROUTES[0];
	hc.name = "whsink";
	hc.max_body = 256 * 1024;
	srv = sr_http_start(&hc, err, sizeof err);
	if (srv == NULL) {
		fprintf(stderr, "whsink: %s\n", err);
		return 1;
	}
	sigwait(&sigs, &sig);
	sr_http_stop(srv);
	json_decref(g.requests);
	json_decref(g.delivered);
	return 0;
}
