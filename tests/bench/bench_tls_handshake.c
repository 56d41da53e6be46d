/*
 * bench_tls_handshake: full TLS handshakes per second (make bench, not a
 * test) against two sr_http listeners in one process and one run: one
 * whose ECDSA P-256 key signs in the HSM through the vault's signer
 * (vault_tls_signer, ADR 0118), one with a P-256 key from a file. Clients
 * are GnuTLS threads in the same process, each opening a TCP connection,
 * completing a full handshake (no resumption: every one costs the server a
 * signature, RFC 8446 §4.4.3), closing. Rounds alternate the two listeners.
 *
 *   bench_tls_handshake MODULE TOKEN PIN_FILE HSM_CERT FILE_CERT FILE_KEY CA SECONDS THREADS ROUNDS
 * prints "tls_handshake key=hsm|file round=R per_s=N" lines, then the
 * medians "tls_handshakes_per_s hsm=N file=M".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "common/sr_http.h"
#include "common/sr_log.h"
#include "hsm/hsm.h"
#include "vault/crypto/vault_tls_key.h"

static void ok(struct sr_http_request *req)
{
	sr_http_reply_raw(req, 200, "application/json", "{}", 2);
}

static const struct sr_route routes[] = { { .method = "GET", .pattern = "/", .handler = ok } };

struct run {
	uint16_t port;
	gnutls_certificate_credentials_t cred;
	atomic_bool stop;
	atomic_long done, failed;
};

/* One full handshake on a new connection. 0, or -1. */
static int handshake(struct run *r)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(r->port) };
	gnutls_session_t s = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		goto out;
	if (gnutls_init(&s, GNUTLS_CLIENT) < 0)
		goto out;
	gnutls_set_default_priority(s);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, r->cred);
	gnutls_server_name_set(s, GNUTLS_NAME_DNS, "localhost", 9);
	gnutls_session_set_verify_cert(s, "localhost", 0);
	gnutls_transport_set_int(s, fd);
	do
		rc = gnutls_handshake(s);
	while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
	rc = rc < 0 ? -1 : 0;
out:
	if (s != NULL)
		gnutls_deinit(s);
	if (fd >= 0)
		close(fd);
	return rc;
}

static void *client(void *arg)
{
	struct run *r = arg;

	while (!atomic_load(&r->stop)) {
		if (handshake(r) == 0)
			atomic_fetch_add(&r->done, 1);
		else
			atomic_fetch_add(&r->failed, 1);
	}
	return NULL;
}

/* Handshakes per second against port for secs seconds with nthreads clients. */
static long measure(struct run *r, unsigned secs, unsigned nthreads)
{
	pthread_t t[64];
	struct timespec t0, t1;
	unsigned i, n = 0;
	double el;

	atomic_store(&r->stop, false);
	atomic_store(&r->done, 0);
	atomic_store(&r->failed, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nthreads && i < 64; i++)
		if (pthread_create(&t[i], NULL, client, r) == 0)
			n++;
	sleep(secs);
	atomic_store(&r->stop, true);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (atomic_load(&r->failed) > 0)
		fprintf(stderr, "bench_tls_handshake: %ld handshakes failed\n", atomic_load(&r->failed));
	return (long)((double)atomic_load(&r->done) / el);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct hsm *h = NULL;
	struct vault_tls_signer ts;
	struct sr_http_server *srv[2] = { NULL, NULL };
	static struct run run[2];
	long res[2][16];
	char err[256] = "";
	unsigned secs, threads, rounds, r, k;
	int ret = 1;

	if (argc != 11) {
		fprintf(stderr, "usage: bench_tls_handshake MODULE TOKEN PIN_FILE HSM_CERT FILE_CERT "
		        "FILE_KEY CA SECONDS THREADS ROUNDS\n");
		return 2;
	}
	secs = (unsigned)atoi(argv[8]);
	threads = (unsigned)atoi(argv[9]);
	rounds = (unsigned)atoi(argv[10]);
	if (secs < 1 || threads < 1 || rounds < 1 || rounds > 16) {
		fprintf(stderr, "bench_tls_handshake: SECONDS, THREADS >= 1, ROUNDS 1..16\n");
		return 2;
	}
	sr_log_init("bench_tls_handshake");
	if (hsm_open(argv[1], argv[2], argv[3], threads + 2, &h, err, sizeof err) != 0 ||
	    vault_tls_signer_init(&ts, h, "public") != 0) {
		fprintf(stderr, "bench_tls_handshake: hsm: %s\n", err);
		goto out;
	}
	for (k = 0; k < 2; k++) {
		struct sr_http_config c = {
			.bind_addr = "127.0.0.1",
			.cert_file = k == 0 ? argv[4] : argv[5],
			.key_file = k == 0 ? NULL : argv[6],
			.signer = k == 0 ? &ts.signer : NULL,
			.threads = 4,
			.routes = routes,
			.n_routes = 1,
			.name = k == 0 ? "bench-hsm" : "bench-file",
			.max_per_ip = 100000,
			.accept_rate = 1000000,
			.accept_burst = 1000000,
		};

		srv[k] = sr_http_start(&c, err, sizeof err);
		if (srv[k] == NULL || gnutls_certificate_allocate_credentials(&run[k].cred) < 0 ||
		    gnutls_certificate_set_x509_trust_file(run[k].cred, argv[7],
		                                           GNUTLS_X509_FMT_PEM) <= 0) {
			fprintf(stderr, "bench_tls_handshake: listener %u: %s\n", k, err);
			goto out;
		}
		run[k].port = sr_http_port(srv[k]);
	}
	for (r = 0; r < rounds; r++) {
		for (k = 0; k < 2; k++) {
			res[k][r] = measure(&run[k], secs, threads);
			printf("tls_handshake key=%s round=%u clients=%u per_s=%ld\n",
			       k == 0 ? "hsm" : "file", r + 1, threads, res[k][r]);
			fflush(stdout);
		}
	}
	qsort(res[0], rounds, sizeof(long), cmp_long);
	qsort(res[1], rounds, sizeof(long), cmp_long);
	printf("tls_handshakes_per_s hsm=%ld file=%ld\n", res[0][rounds / 2], res[1][rounds / 2]);
	ret = 0;
out:
	for (k = 0; k < 2; k++) {
		sr_http_stop(srv[k]);
		if (run[k].cred != NULL)
			gnutls_certificate_free_credentials(run[k].cred);
	}
	hsm_close(h);
	return ret;
}
