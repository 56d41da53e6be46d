/*
 * bench_idle: a benchmark, not a test (make bench, ADR 0109). A legitimate
 * client tokenizes from 127.0.0.2, a new HTTPS connection per request (a
 * browser's), 50 requests a second, first alone, then while IDLE TCP connections from 127.0.0.1
 * stay open without sending a byte (the attacker reopens the ones the
 * server closed, up to IDLE a second, spread evenly). Prints the client's p50 and p99 in both phases and the
 * ratio of the p99s.
 *
 *   bench_idle PORT CA_FILE PUBLISHABLE_KEY_ENV IDLE REQUESTS
 * PUBLISHABLE_KEY_ENV names the environment variable holding the key (a
 * key never goes on a command line).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

struct flood {
	uint16_t port;
	int *fds;
	size_t n;
	volatile int stop;
	unsigned long reopened;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int idle_open(uint16_t port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Keep f->n idle sockets open: reopen the ones the server closed, at most
 * f->n a second, spread over the second (a steady reconnecting attacker). */
static void *flood_main(void *arg)
{
	struct flood *f = arg;
	struct pollfd *p = calloc(f->n, sizeof *p);
	double last = now_s(), budget = 0;
	size_t i;
	char c;

	if (p == NULL)
		return NULL;
	while (!f->stop) {
		double t = now_s();

		budget += (t - last) * (double)f->n;
		if (budget > (double)f->n / 10.0)
			budget = (double)f->n / 10.0;
		last = t;
		for (i = 0; i < f->n; i++) {
			if (f->fds[i] < 0 && budget >= 1.0) {
				f->fds[i] = idle_open(f->port);
				f->reopened++;
				budget -= 1.0;
			}
			p[i].fd = f->fds[i];
			p[i].events = POLLIN;
			p[i].revents = 0;
		}
		if (poll(p, f->n, 10) <= 0)
			continue;
		for (i = 0; i < f->n; i++) {
			if (f->fds[i] >= 0 && p[i].revents != 0 &&
			    recv(f->fds[i], &c, 1, MSG_DONTWAIT) <= 0) {
				close(f->fds[i]);
				f->fds[i] = -1;
			}
		}
	}
	free(p);
	return NULL;
}

static size_t discard(char *d, size_t sz, size_t n, void *ud)
{
	(void)d;
	(void)ud;
	return sz * n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* n tokenize requests, one new connection each; latencies (ms) sorted into
 * lat. @return the number of failed requests. */
static unsigned run(uint16_t port, const char *ca, const char *pk, size_t n, double *lat)
{
	static const char body[] =
		"{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":2031}}";
	char url[96], res[64], auth[512];
	struct curl_slist *hdr = NULL, *resolve = NULL;
	unsigned failed = 0;
	double start = now_s();
	size_t i;

	snprintf(url, sizeof url, "https://localhost:%u/v1/tokens", (unsigned)port);
	snprintf(res, sizeof res, "localhost:%u:127.0.0.1", (unsigned)port);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", pk);
	resolve = curl_slist_append(resolve, res);
	hdr = curl_slist_append(hdr, auth);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	for (i = 0; i < n; i++) {
		CURL *c = curl_easy_init();
		long status = 0;
		double t0 = now_s();

		/* Paced at 50 a second: one address opening connections faster
		 * than accept_per_second_per_ip (100) would be refused. */
		if (i > 0 && t0 < start + (double)i * 0.02)
			usleep((useconds_t)((start + (double)i * 0.02 - t0) * 1e6));

		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
		curl_easy_setopt(c, CURLOPT_INTERFACE, "host!127.0.0.2");
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		t0 = now_s();
		if (curl_easy_perform(c) != CURLE_OK)
			failed++;
		else if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
		         status != 201)
			failed++;
		lat[i] = (now_s() - t0) * 1000.0;
		curl_easy_cleanup(c);
	}
	curl_slist_free_all(hdr);
	curl_slist_free_all(resolve);
	qsort(lat, n, sizeof *lat, cmp_double);
	return failed;
}

int main(int argc, char **argv)
{
	struct flood f;
	struct rlimit rl;
	pthread_t th;
	const char *pk = NULL;
	double *lat = NULL, u50, u99, l50, l99;
	unsigned ufail, lfail;
	size_t n, i, open_n = 0;

	if (argc != 6 || (pk = getenv(argv[3])) == NULL || atoi(argv[1]) <= 0 ||
	    atoi(argv[4]) <= 0 || atoi(argv[5]) < 100) {
		fprintf(stderr, "usage: bench_idle PORT CA_FILE PK_ENV IDLE REQUESTS(>=100)\n");
		return 2;
	}
	memset(&f, 0, sizeof f);
	f.port = (uint16_t)atoi(argv[1]);
	f.n = (size_t)atoi(argv[4]);
	n = (size_t)atoi(argv[5]);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	f.fds = malloc(f.n * sizeof *f.fds);
	lat = malloc(n * sizeof *lat);
	if (f.fds == NULL || lat == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	ufail = run(f.port, argv[2], pk, n, lat);
	u50 = lat[n / 2];
	u99 = lat[(n * 99) / 100];
	for (i = 0; i < f.n; i++)
		f.fds[i] = idle_open(f.port);
	if (pthread_create(&th, NULL, flood_main, &f) != 0)
		return 1;
	sleep(1);
	lfail = run(f.port, argv[2], pk, n, lat);
	l50 = lat[n / 2];
	l99 = lat[(n * 99) / 100];
	for (i = 0; i < f.n; i++)
		open_n += f.fds[i] >= 0;
	f.stop = 1;
	pthread_join(th, NULL);
	printf("  idle_flood idle_sockets=%zu (from 127.0.0.1, %zu open at the end, %lu reopened) "
	       "client=127.0.0.2 requests=%zu at 50/s, a new connection each\n",
	       f.n, open_n, f.reopened, n);
	printf("  idle_flood unloaded p50_ms=%.2f p99_ms=%.2f failed=%u\n", u50, u99, ufail);
	printf("  idle_flood loaded   p50_ms=%.2f p99_ms=%.2f failed=%u\n", l50, l99, lfail);
	if (ufail + lfail > 0)
		printf("  idle_flood p99 loaded/unloaded = n/a: %u of %zu requests failed (target: none, "
		       "ratio <= 2)\n", ufail + lfail, 2 * n);
	else
		printf("  idle_flood p99 loaded/unloaded = %.2f (target <= 2)\n", l99 / u99);
	for (i = 0; i < f.n; i++)
		if (f.fds[i] >= 0)
			close(f.fds[i]);
	free(f.fds);
	free(lat);
	curl_global_cleanup();
	return 0;
}
