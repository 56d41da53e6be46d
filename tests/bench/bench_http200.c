/*
 * bench_http200: the HTTPS "return 200" limit (make bench, not a test).
 * An sr_http server (the same libmicrohttpd + GnuTLS stack and keep-alive
 * handling as vaultd's listeners) whose one route answers 200 {} without
 * any work. Runs until SIGTERM/SIGINT. THREADS N: a pool of N threads (the
 * internal listener's model); THREADS conn:N: one thread per connection, at
 * most N connections (the public listener's model, ADR 0102).
 *
 *   bench_http200 PORT CERT KEY THREADS
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sr_http.h"
#include "common/sr_log.h"

static void ok(struct sr_http_request *req)
{
	sr_http_reply_raw(req, 200, "application/json", "{}", 2);
}

static const struct sr_route routes[] = {
	{ .method = "GET", .pattern = "/", .handler = ok },
	{ .method = "POST", .pattern = "/", .handler = ok },
};

int main(int argc, char **argv)
{
	struct sr_http_server *srv = NULL;
	char err[256];
	sigset_t sigs;
	int sig = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: bench_http200 PORT CERT KEY THREADS\n");
		return 2;
	}
	sr_log_init("bench_http200");
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	{
		struct sr_http_config c = {
			.bind_addr = "127.0.0.1",
			.port = (uint16_t)atoi(argv[1]),
			.cert_file = argv[2],
			.key_file = argv[3],
			.threads = strncmp(argv[4], "conn:", 5) != 0 ? (unsigned)atoi(argv[4]) : 0,
			.max_connections = strncmp(argv[4], "conn:", 5) == 0 ? (unsigned)atoi(argv[4] + 5) : 0,
			.routes = routes,
			.n_routes = sizeof routes / sizeof routes[0],
			.name = "bench",
		};

		srv = sr_http_start(&c, err, sizeof err);
	}
	if (srv == NULL) {
		fprintf(stderr, "bench_http200: %s\n", err);
		return 1;
	}
	sigwait(&sigs, &sig);
	sr_http_stop(srv);
	return 0;
}
