/*
 * Attack suite, issue 15 item 6: listeners survive hostile clients.
 *
 * An attacker opens TCP connections to an HTTPS listener and never sends a
 * TLS byte. Before ADR 0109 every such socket held a connection slot (and,
 * on a thread-per-connection listener such as the vault's public one, a
 * thread) for the 30 s idle timeout, re-armed by reconnecting, so a few
 * hundred sockets stopped every other client. Here, with the real sr_http
 * TLS stack in both threading models (ADR 0102), from 127.0.0.1:
 *  (a) the sockets beyond the per-address cap are closed at once;
 *  (b) the sockets that stay open but never complete the handshake are
 *      closed after the handshake deadline (5 s in this configuration);
 *  (c) meanwhile a client on another address (127.0.0.2) is served;
 *  (d) an address opening connections faster than the accept rate has the
 *      excess closed, and the refusals are counted in the metrics.
 * Every wait is bounded; nothing asserts a latency.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/sr_http.h"
#include "common/sr_metrics.h"
#include "tests/unit/fixture.h"

#define IDLE_N 1100             /* beyond the thread pool's 1,020 connection limit */
#define PER_IP 16
#define DEADLINE_S 5u

static char g_dir[64];

static void h_ping(struct sr_http_request *req)
{
	sr_http_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
}

static const struct sr_route routes[] = {
	{ .method = "GET", .pattern = "/v1/ping", .handler = h_ping },
};

static char *path_in(const char *name)
{
	static char buf[4][128];
	static int i = 0;
	char *p = buf[i++ % 4];

	snprintf(p, 128, "%s/%s", g_dir, name);
	return p;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A listener like the vault's public one (max_connections > 0: a thread per
 * connection) or like the gateway's (0: the thread pool). */
static struct sr_http_server *start(unsigned max_connections, double rate, double burst)
{
	struct sr_http_config cfg;
	char err[256] = "";
	struct sr_http_server *srv = NULL;

	memset(&cfg, 0, sizeof cfg);
	cfg.bind_addr = "127.0.0.1";
	cfg.cert_file = path_in("server.crt");
	cfg.key_file = path_in("server.key");
	cfg.threads = 2;
	cfg.max_connections = max_connections;
	cfg.routes = routes;
	cfg.n_routes = sizeof routes / sizeof routes[0];
	cfg.name = "attack6";
	cfg.max_per_ip = PER_IP;
	cfg.accept_rate = rate;
	cfg.accept_burst = burst;
	cfg.handshake_timeout_s = DEADLINE_S;
	srv = sr_http_start(&cfg, err, sizeof err);
	if (srv == NULL)
		fprintf(stderr, "start: %s\n", err);
	return srv;
}

/* Open n TCP connections from 127.0.0.1 that send one byte (a TLS record's
 * first) and then nothing: a handshake begun and never finished. (A socket
 * that sends nothing at all stays in the kernel, TCP_DEFER_ACCEPT, and
 * never reaches the listener: t_attack_6_silent_sockets_never_reach_the_daemon.) */
static int *open_idle(uint16_t port, size_t n)
{
	struct sockaddr_in sa;
	int *fds = calloc(n, sizeof *fds);
	size_t i;

	assert_non_null(fds);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(fds[i] >= 0);
		/* Loopback: the kernel completes the handshake from its backlog. */
		if (connect(fds[i], (struct sockaddr *)&sa, sizeof sa) != 0 ||
		    send(fds[i], "\x16", 1, MSG_NOSIGNAL) != 1) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	return fds;
}

/* Wait up to secs for the server to close the sockets (EOF or reset); closed
 * ones are closed here and set to -1. @return how many are still open. */
static size_t wait_closed(int *fds, size_t n, double secs)
{
	struct pollfd *p = calloc(n, sizeof *p);
	double end = now_s() + secs;
	size_t open_n = 0, i;
	char c;

	assert_non_null(p);
	for (;;) {
		open_n = 0;
		for (i = 0; i < n; i++) {
			p[i].fd = fds[i];
			p[i].events = POLLIN;
			p[i].revents = 0;
			open_n += fds[i] >= 0;
		}
		if (open_n == 0 || now_s() >= end)
			break;
		if (poll(p, n, 100) < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			if (fds[i] < 0 || p[i].revents == 0)
				continue;
			if (recv(fds[i], &c, 1, MSG_DONTWAIT) > 0)
				continue; /* the server spoke first: still open */
			close(fds[i]);
			fds[i] = -1;
		}
	}
	free(p);
	return open_n;
}

static void close_all(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
}

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return sz * n;
}

/* GET /v1/ping from 127.0.0.2, at most 5 s, on handle reuse (kept alive)
 * or a fresh one. @return the HTTP status, 0 on failure. */
static long ping_on(CURL *reuse, uint16_t port)
{
	CURL *c = reuse != NULL ? reuse : curl_easy_init();
	struct curl_slist *resolve = NULL;
	char url[96], res[64];
	long status = 0;
	CURLcode rc;

	assert_non_null(c);
	snprintf(url, sizeof url, "https://localhost:%u/v1/ping", (unsigned)port);
	snprintf(res, sizeof res, "localhost:%u:127.0.0.1", (unsigned)port);
	resolve = curl_slist_append(resolve, res);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(c, CURLOPT_INTERFACE, "host!127.0.0.2");
	curl_easy_setopt(c, CURLOPT_CAINFO, path_in("ca.crt"));
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		fprintf(stderr, "  ping from 127.0.0.2: %s\n", curl_easy_strerror(rc));
	curl_slist_free_all(resolve);
	if (reuse == NULL)
		curl_easy_cleanup(c);
	return status;
}

static long ping_from_other_address(uint16_t port)
{
	return ping_on(NULL, port);
}

/* The idle flood against one listener: (a), (b) and (c). */
static void idle_flood(unsigned max_connections, const char *model)
{
	struct sr_http_server *srv = start(max_connections, 10000, 10000);
	uint16_t port;
	int *fds = NULL;
	size_t left;
	long status;
	double t0, cap_by;

	assert_non_null(srv);
	port = sr_http_port(srv);
	t0 = now_s();
	fds = open_idle(port, IDLE_N);
	/* (a) all but PER_IP are closed by the per-address cap, before the
	 * handshake deadline of the first one accepted could have closed any:
	 * by DEADLINE_S - 0.5 s after the first connect (a fixed 1 s after the
	 * last one was too short once on a busy CI machine). */
	cap_by = t0 + DEADLINE_S - 0.5;
	left = wait_closed(fds, IDLE_N, cap_by - now_s() > 0.5 ? cap_by - now_s() : 0.5);
	fprintf(stderr, "  %s: %d idle sockets from 127.0.0.1, %zu still open %.1f s after the first (cap %d)\n",
	        model, IDLE_N, left, now_s() - t0, PER_IP);
	/* (c) another address is served while the idle sockets are open. */
	status = ping_from_other_address(port);
	fprintf(stderr, "  %s: GET /v1/ping from 127.0.0.2 during the flood: %ld\n", model, status);
	assert_int_equal(status, 200);
	assert_true(left <= PER_IP);
	/* (b) the rest never finish a handshake: closed after the deadline. */
	left = wait_closed(fds, IDLE_N, DEADLINE_S + 4.0);
	fprintf(stderr, "  %s: still open %u s after the deadline: %zu\n", model, DEADLINE_S + 4,
	        left);
	assert_int_equal(left, 0);
	close_all(fds, IDLE_N);
	sr_http_stop(srv);
}

static void test_idle_flood_thread_per_connection(void **state)
{
	(void)state;
	/* The vault's public listener: a thread per connection, 256 at most. */
	idle_flood(256, "thread per connection");
}

static void test_idle_flood_thread_pool(void **state)
{
	(void)state;
	/* The gateway's listener and the vault's internal one: a thread pool. */
	idle_flood(0, "thread pool");
}

/* (d) 12 connections at once against a burst of 4 and 1 per second. */
static void test_accept_rate(void **state)
{
	struct sr_http_server *srv = start(64, 1, 4);
	size_t len = 0, left;
	char *text = NULL;
	int *fds = NULL;

	(void)state;
	assert_non_null(srv);
	fds = open_idle(sr_http_port(srv), 12);
	left = wait_closed(fds, 12, 1.0);
	fprintf(stderr, "  12 connections at once, burst 4: %zu still open after 1 s\n", left);
	assert_true(left <= 5);
	assert_int_equal(ping_from_other_address(sr_http_port(srv)), 200);
	text = sr_metrics_render(&len);
	assert_non_null(text);
	assert_non_null(strstr(text, "strongroom_http_connections_refused_total{listener=\"attack6\","
	                             "reason=\"accept_rate\"}"));
	free(text);
	close_all(fds, 12);
	sr_http_stop(srv);
}

/* The deadline is the handshake's and the first request's: a connection
 * kept alive after a request keeps the 30 s idle timeout. */
static void test_keepalive_outlives_deadline(void **state)
{
	struct sr_http_server *srv = start(64, 100, 200);
	CURL *c = curl_easy_init();
	long reused = -1;

	(void)state;
	assert_non_null(srv);
	assert_non_null(c);
	assert_int_equal(ping_on(c, sr_http_port(srv)), 200);
	sleep(DEADLINE_S + 2);
	assert_int_equal(ping_on(c, sr_http_port(srv)), 200);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &reused);
	fprintf(stderr, "  new connections for the second request, %u s later: %ld\n",
	        DEADLINE_S + 2, reused);
	assert_int_equal(reused, 0);
	curl_easy_cleanup(c);
	sr_http_stop(srv);
}

static int setup(void **state)
{
	struct rlimit rl;

	(void)state;
	/* IDLE_N client sockets plus the server's ends in this one process. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (fx_tmpdir(g_dir, sizeof g_dir, "sr_attack6.") != 0 ||
	    fx_pki(g_dir, "ca ca\nleaf server ca serverAuth localhost\n") != 0)
		return -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	curl_global_cleanup();
	return fx_rmtree(g_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_flood_thread_per_connection),
		cmocka_unit_test(test_idle_flood_thread_pool),
		cmocka_unit_test(test_accept_rate),
		cmocka_unit_test(test_keepalive_outlives_deadline),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
