/*
 * bench_http200: the HTTPS "return 200" limit (make bench, not a test).
 * An sr_http server (the same libmicrohttpd + GnuTLS stack, thread pool and
 * keep-alive handling as vaultd's public listener) whose one route answers
 * 200 {} without any work. Runs until SIGTERM/SIGINT.
 *
 *   bench_http200 PORT CERT KEY THREADS
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

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
			.threads = (unsigned)atoi(argv[4]),
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
