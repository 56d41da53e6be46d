/*
 * bench_tls_handshake: TLS handshakes per second (make bench, not a
 * test) against two sr_http listeners in one process and one run: one
 * whose ECDSA P-256 key signs in the HSM through the vault's signer
 * (vault_tls_signer, ADR 0118), one with a P-256 key from a file. Clients
 * are GnuTLS threads in the same process, each opening a TCP connection,
 * completing a handshake, closing. Three kinds of rounds, alternating:
 * full handshakes with the HSM key and with the file key (each costs the
 * server a signature, RFC 8446 §4.4.3), and handshakes with the HSM key
 * resumed from a session ticket (RFC 8446 §2.2; each client takes one
 * ticket first), which cost none: the signatures the HSM made during each
 * round are counted and printed.
 *
 *   bench_tls_handshake MODULE TOKEN PIN_FILE HSM_CERT FILE_CERT FILE_KEY CA SECONDS THREADS ROUNDS
 * prints "tls_handshake key=hsm|file|hsm-resumed round=R per_s=N hsm_signatures=S"
 * lines, then the medians "tls_handshakes_per_s hsm=N file=M hsm_resumed=R".
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
	int resume;                     /* 1: resume from each client's ticket */
	atomic_bool stop;
	atomic_long done, failed;
};

/* The HSM signer, counted: every signature the HSM makes for a handshake. */
static const struct sr_http_signer *g_hsm;
static atomic_long g_signatures;

static void *counted_bind(void *ctx, const uint8_t point[65], char *err, size_t errlen)
{
	(void)ctx;
	return g_hsm->bind(g_hsm->ctx, point, err, errlen);
}

static int counted_sign(void *key, const uint8_t digest[32], uint8_t sig[64])
{
	atomic_fetch_add(&g_signatures, 1);
	return g_hsm->sign(key, digest, sig);
}

static void counted_release(void *key)
{
	if (g_hsm->release != NULL)
		g_hsm->release(key);
}

/* A ticket to resume from: one full handshake and a request, read to the
 * end (the TLS 1.3 ticket follows the handshake). 0 with *t, or -1. */
static int ticket(struct run *r, gnutls_datum_t *t);

/* One handshake on a new connection, resumed from t when t is non-NULL
 * (and then only a resumed one counts). 0, or -1. */
static int handshake(struct run *r, const gnutls_datum_t *t)
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
	if (t != NULL && gnutls_session_set_data(s, t->data, t->size) < 0)
		goto out;
	gnutls_transport_set_int(s, fd);
	do
		rc = gnutls_handshake(s);
	while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
	rc = rc < 0 || (t != NULL && !gnutls_session_is_resumed(s)) ? -1 : 0;
out:
	if (s != NULL)
		gnutls_deinit(s);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int ticket(struct run *r, gnutls_datum_t *t)
{
	static const char rq[] = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(r->port) };
	gnutls_session_t s = NULL;
	char buf[1024];
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc = -1;
	ssize_t n;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    gnutls_init(&s, GNUTLS_CLIENT) < 0)
		goto out;
	gnutls_set_default_priority(s);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, r->cred);
	gnutls_server_name_set(s, GNUTLS_NAME_DNS, "localhost", 9);
	gnutls_session_set_verify_cert(s, "localhost", 0);
	gnutls_transport_set_int(s, fd);
	do
		rc = gnutls_handshake(s);
	while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
	if (rc < 0 || gnutls_record_send(s, rq, sizeof rq - 1) < 0) {
		rc = -1;
		goto out;
	}
	do
		n = gnutls_record_recv(s, buf, sizeof buf);
	while (n > 0 || n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	rc = gnutls_session_get_data2(s, t) < 0 ? -1 : 0;
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
	gnutls_datum_t t = { NULL, 0 };

	if (r->resume && ticket(r, &t) != 0) {
		atomic_fetch_add(&r->failed, 1);
		return NULL;
	}
	while (!atomic_load(&r->stop)) {
		if (handshake(r, r->resume ? &t : NULL) == 0)
			atomic_fetch_add(&r->done, 1);
		else
			atomic_fetch_add(&r->failed, 1);
	}
	gnutls_free(t.data);
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
	atomic_store(&g_signatures, 0);
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
	struct sr_http_signer counted = { counted_bind, counted_sign, counted_release, NULL };
	static const char *kind[3] = { "hsm", "file", "hsm-resumed" };
	struct sr_http_server *srv[2] = { NULL, NULL };
	static struct run run[3];
	long res[3][16];
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
	g_hsm = &ts.signer;
	for (k = 0; k < 2; k++) {
		struct sr_http_config c = {
			.bind_addr = "127.0.0.1",
			.cert_file = k == 0 ? argv[4] : argv[5],
			.key_file = k == 0 ? NULL : argv[6],
			.signer = k == 0 ? &counted : NULL,
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
	run[2].port = run[0].port;      /* the HSM listener, resumed */
	run[2].cred = run[0].cred;
	run[2].resume = 1;
	for (r = 0; r < rounds; r++) {
		for (k = 0; k < 3; k++) {
			res[k][r] = measure(&run[k], secs, threads);
			printf("tls_handshake key=%s round=%u clients=%u per_s=%ld hsm_signatures=%ld\n",
			       kind[k], r + 1, threads, res[k][r], atomic_load(&g_signatures));
			fflush(stdout);
		}
	}
	for (k = 0; k < 3; k++)
		qsort(res[k], rounds, sizeof(long), cmp_long);
	printf("tls_handshakes_per_s hsm=%ld file=%ld hsm_resumed=%ld\n", res[0][rounds / 2],
	       res[1][rounds / 2], res[2][rounds / 2]);
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
