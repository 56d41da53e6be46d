/*
 * vault_egress over real TLS: a throwaway PKI and the real pspsim (found via
 * PSPSIM_BIN; those cases are skipped without it), plus negatives that need
 * no server (allowlist, IP literal, closed port, bad key material).
 * PCI DSS v4.0 4.2.1 (trusted certificates, pinned CA, peer name checked),
 * 1.3.2 (outbound only to allowlisted destinations).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "tests/unit/fixture.h"
#include "vault/connectors/vault_egress.h"

static struct fx_psp g_h;
static int g_sim;       /* 0 running, 1 skipped, -1 failed */

static int group_setup(void **state)
{
	(void)state;
	if (fx_psp_pki(&g_h) != 0) {
		fprintf(stderr, "PKI generation failed\n");
		return -1;
	}
	g_sim = fx_psp_start(&g_h);
	if (g_sim < 0) {
		fprintf(stderr, "pspsim did not start\n");
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return fx_psp_stop(&g_h);
}

/* Egress with the given CA, client cert/key base name and allowlist. */
static struct vault_egress *mk(const char *ca, const char *client, const char *const *allow,
                               char *err, size_t errlen)
{
	char pca[128];
	char pcrt[128];
	char pkey[128];
	char n[64];
	struct vault_egress_config c;

	fx_psp_path(&g_h, ca, pca, sizeof pca);
	snprintf(n, sizeof n, "%s.crt", client);
	fx_psp_path(&g_h, n, pcrt, sizeof pcrt);
	snprintf(n, sizeof n, "%s.key", client);
	fx_psp_path(&g_h, n, pkey, sizeof pkey);
	memset(&c, 0, sizeof c);
	c.ca_file = pca;
	c.cert_file = pcrt;
	c.key_file = pkey;
	c.allowlist = allow;
	c.timeout_ms = 3000;
	return vault_egress_new(&c, err, errlen);
}

static unsigned closed_port(void)
{
	struct sockaddr_in a;
	socklen_t l = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port = 0;

	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0
	    && getsockname(fd, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	close(fd);   /* nobody listens there now */
	return port;
}

static void test_not_allowlisted(void **state)
{
	const char *allow[] = { "psp.test:1", NULL };
	struct vault_egress_response r;
	struct vault_egress *eg = NULL;
	char body[] = "card[number]=4242424242424242";
	char err[256] = "";
	int sent = 7;
	int rc = 0;

	(void)state;
	eg = mk("ca.crt", "client", allow, err, sizeof err);
	assert_non_null(eg);
	/* Same host, other port; other host, same port: both refused. */
	rc = vault_egress_request(eg, "psp.test", "127.0.0.1", 2, "POST", "/x", NULL, body,
	                          strlen(body), &r, &sent, err, sizeof err);
	assert_int_equal(rc, -1);
	assert_int_equal(sent, 0);
	assert_string_equal(err, "destination not allowlisted");
	/* The body (it may hold a PAN) is wiped even when nothing was sent. */
	assert_int_equal(body[0], 0);
	assert_null(strstr(err, "4242"));
	rc = vault_egress_request(eg, "evil.test", "127.0.0.1", 1, "GET", "/", NULL, NULL, 0, &r, &sent,
	                          err, sizeof err);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "destination not allowlisted");
	vault_egress_free(eg);
}

static void test_ip_literal_refused(void **state)
{
	const char *allow[] = { "127.0.0.1:443", NULL };
	struct vault_egress_response r;
	struct vault_egress *eg = NULL;
	char err[256] = "";
	int sent = 0;

	(void)state;
	eg = mk("ca.crt", "client", allow, err, sizeof err);
	assert_non_null(eg);
	assert_int_equal(vault_egress_request(eg, "127.0.0.1", NULL, 443, "GET", "/", NULL, NULL, 0, &r,
	                                      &sent, err, sizeof err), -1);
	assert_int_equal(sent, 0);
	assert_non_null(strstr(err, "DNS name"));
	vault_egress_free(eg);
}

static void test_closed_port(void **state)
{
	char allow_s[64];
	const char *allow[] = { allow_s, NULL };
	struct vault_egress_response r;
	struct vault_egress *eg = NULL;
	char err[256] = "";
	unsigned port = closed_port();
	int sent = 9;

	(void)state;
	assert_true(port != 0);
	snprintf(allow_s, sizeof allow_s, "psp.test:%u", port);
	eg = mk("ca.crt", "client", allow, err, sizeof err);
	assert_non_null(eg);
	assert_int_equal(vault_egress_request(eg, "psp.test", "127.0.0.1", port, "GET", "/", NULL, NULL, 0,
	                                      &r, &sent, err, sizeof err), -1);
	assert_int_equal(sent, 0);
	assert_non_null(strstr(err, "connect"));
	vault_egress_free(eg);
}

static void test_new_rejects_bad_material(void **state)
{
	const char *allow[] = { NULL };
	struct vault_egress_config c;
	char pca[128];
	char pcrt[128];
	char pkey[128];
	char err[256] = "";

	(void)state;
	/* Missing CA file. */
	assert_null(mk("nonexistent.crt", "client", allow, err, sizeof err));
	assert_non_null(strstr(err, "CA"));
	/* Key that does not belong to the certificate. */
	fx_psp_path(&g_h, "ca.crt", pca, sizeof pca);
	fx_psp_path(&g_h, "client.crt", pcrt, sizeof pcrt);
	fx_psp_path(&g_h, "client2.key", pkey, sizeof pkey);
	memset(&c, 0, sizeof c);
	c.ca_file = pca;
	c.cert_file = pcrt;
	c.key_file = pkey;
	c.allowlist = allow;
	err[0] = '\0';
	assert_null(vault_egress_new(&c, err, sizeof err));
	assert_non_null(strstr(err, "does not match"));
	assert_null(vault_egress_new(NULL, err, sizeof err));
}

/* One GET /_sim/stats; returns rc and fills r. */
static int get_stats(const char *ca, const char *client, const char *host, struct vault_egress_response *r,
                     int *sent, char *err, size_t errlen)
{
	char allow_s[64];
	const char *allow[] = { allow_s, NULL };
	struct vault_egress *eg = NULL;
	int rc = 0;

	snprintf(allow_s, sizeof allow_s, "%s:%u", host, g_h.port);
	eg = mk(ca, client, allow, err, errlen);
	if (eg == NULL)
		return -99;
	rc = vault_egress_request(eg, host, "127.0.0.1", g_h.port, "GET", "/_sim/stats", NULL, NULL, 0, r,
	                          sent, err, errlen);
	vault_egress_free(eg);
	return rc;
}

static void test_mtls_ok(void **state)
{
	struct vault_egress_response r;
	json_t *j = NULL;
	char err[256] = "";
	int sent = 0;

	(void)state;
	if (g_sim != 0)
		skip();
	assert_int_equal(get_stats("ca.crt", "client", "psp.test", &r, &sent, err, sizeof err), 0);
	assert_int_equal(sent, 1);
	assert_int_equal(r.status, 200);
	assert_non_null(r.body);
	assert_int_equal(strlen(r.body), r.body_len);
	j = json_loads(r.body, 0, NULL);
	assert_true(json_is_object(j));
	assert_true(json_is_integer(json_object_get(j, "payment_intents_created")));
	json_decref(j);
	free(r.body);
}

static void test_post_with_headers_and_404(void **state)
{
	char allow_s[64];
	const char *allow[] = { allow_s, NULL };
	const char *hdrs[] = { "Authorization: Bearer " FX_PSP_KEY, "Content-Type: application/x-www-form-urlencoded",
	                       NULL };
	const char *bad[] = { "X-Evil: a\r\nInjected: b", NULL };
	struct vault_egress_response r;
	struct vault_egress *eg = NULL;
	char body[] = "type=card&card%5Bnumber%5D=4242424242424241&card%5Bexp_month%5D=12&card%5Bexp_year%5D=2040";
	char err[256] = "";
	int sent = 0;

	(void)state;
	if (g_sim != 0)
		skip();
	snprintf(allow_s, sizeof allow_s, "psp.test:%u", g_h.port);
	eg = mk("ca.crt", "client", allow, err, sizeof err);
	assert_non_null(eg);
	/* A Luhn-invalid card: pspsim answers 402 incorrect_number; the body is wiped. */
	assert_int_equal(vault_egress_request(eg, "psp.test", "127.0.0.1", g_h.port, "POST", "/v1/payment_methods",
	                                      hdrs, body, strlen(body), &r, &sent, err, sizeof err), 0);
	assert_int_equal(r.status, 402);
	assert_non_null(strstr(r.body, "incorrect_number"));
	assert_null(strstr(r.body, "4242424242424241"));
	for (size_t i = 0; i < sizeof body - 1; i++)
		assert_int_equal(body[i], 0);
	free(r.body);
	/* Unknown path: a complete 404 answer is still a 0 return. */
	assert_int_equal(vault_egress_request(eg, "psp.test", "127.0.0.1", g_h.port, "GET", "/nope", NULL, NULL,
	                                      0, &r, &sent, err, sizeof err), 0);
	assert_int_equal(r.status, 404);
	free(r.body);
	/* Header injection is refused before connecting. */
	assert_int_equal(vault_egress_request(eg, "psp.test", "127.0.0.1", g_h.port, "GET", "/_sim/stats", bad,
	                                      NULL, 0, &r, &sent, err, sizeof err), -1);
	assert_int_equal(sent, 0);
	vault_egress_free(eg);
}

static void test_wrong_server_name(void **state)
{
	struct vault_egress_response r;
	char err[256] = "";
	int sent = 5;

	(void)state;
	if (g_sim != 0)
		skip();
	/* Allowlisted, reachable, but the server certificate is for psp.test. */
	assert_int_equal(get_stats("ca.crt", "client", "other.test", &r, &sent, err, sizeof err), -1);
	assert_int_equal(sent, 0);
	assert_null(r.body);
	assert_non_null(strstr(err, "handshake"));
}

static void test_wrong_ca(void **state)
{
	struct vault_egress_response r;
	char err[256] = "";
	int sent = 5;

	(void)state;
	if (g_sim != 0)
		skip();
	/* Pinned CA is ca2: the server's chain (ca) must be refused. */
	assert_int_equal(get_stats("ca2.crt", "client", "psp.test", &r, &sent, err, sizeof err), -1);
	assert_int_equal(sent, 0);
	assert_non_null(strstr(err, "handshake"));
}

static void test_client_cert_refused_by_server(void **state)
{
	struct vault_egress_response r;
	char err[256] = "";
	int sent = 5;

	(void)state;
	if (g_sim != 0)
		skip();
	/* Client certificate from another CA. */
	assert_int_equal(get_stats("ca.crt", "client2", "psp.test", &r, &sent, err, sizeof err), -1);
	assert_int_equal(sent, 0);
	/* Right CA, wrong identity. */
	assert_int_equal(get_stats("ca.crt", "client-wrongname", "psp.test", &r, &sent, err, sizeof err), -1);
	assert_int_equal(sent, 0);
}

/* ------------------------------------------------------------------ */
/* A misbehaving TLS peer (mbedTLS server in a thread) for "-2" cases:  */
/* the request is received, then the answer is lost.                   */

enum bad_mode { BAD_CLOSE, BAD_TRUNCATED, BAD_STALL, BAD_HUGE };

struct bad_server {
	enum bad_mode mode;
	mbedtls_net_context listen;
	unsigned port;
	int got_request;
	pthread_t th;
};

static void *bad_server_main(void *arg)
{
	struct bad_server *b = arg;
	mbedtls_net_context c;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt crt;
	mbedtls_x509_crt ca;
	mbedtls_pk_context key;
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	unsigned char buf[4096];
	char path[3][128];
	static unsigned char chunk[16384];
	size_t i = 0;
	size_t got = 0;
	int n = 0;

	mbedtls_net_init(&c);
	mbedtls_ssl_init(&ssl);
	mbedtls_ssl_config_init(&conf);
	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&ca);
	mbedtls_pk_init(&key);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	fx_psp_path(&g_h, "server.crt", path[0], sizeof path[0]);
	fx_psp_path(&g_h, "server.key", path[1], sizeof path[1]);
	fx_psp_path(&g_h, "ca.crt", path[2], sizeof path[2]);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0) != 0
	    || mbedtls_x509_crt_parse_file(&crt, path[0]) != 0 || mbedtls_pk_parse_keyfile(&key, path[1], NULL) != 0
	    || mbedtls_x509_crt_parse_file(&ca, path[2]) != 0
	    || mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
	                                   MBEDTLS_SSL_PRESET_DEFAULT) != 0)
		goto out;
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	if (mbedtls_ssl_conf_own_cert(&conf, &crt, &key) != 0 || mbedtls_ssl_setup(&ssl, &conf) != 0)
		goto out;
	if (mbedtls_net_accept(&b->listen, &c, NULL, 0, NULL) != 0)
		goto out;
	mbedtls_ssl_set_bio(&ssl, &c, mbedtls_net_send, mbedtls_net_recv, NULL);
	if (mbedtls_ssl_handshake(&ssl) != 0)
		goto out;
	/* Read the whole request (head and body arrive as separate records). */
	got = 0;
	while (got < sizeof buf - 1) {
		n = mbedtls_ssl_read(&ssl, buf + got, sizeof buf - 1 - got);
		if (n <= 0)
			goto out;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr((char *)buf, "\r\n\r\namount=100") != NULL)
			break;
	}
	b->got_request = 1;
	switch (b->mode) {
	case BAD_CLOSE:
		break;
	case BAD_TRUNCATED:
		mbedtls_ssl_write(&ssl, (const unsigned char *)"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"id\"", 45);
		break;
	case BAD_STALL:
		/* Say nothing; returns when the client gives up and closes. */
		while (mbedtls_ssl_read(&ssl, buf, sizeof buf) > 0)
			;
		break;
	case BAD_HUGE:
		mbedtls_ssl_write(&ssl, (const unsigned char *)"HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\n", 44);
		memset(chunk, 'a', sizeof chunk);
		for (i = 0; i < 3000000 / sizeof chunk; i++)
			if (mbedtls_ssl_write(&ssl, chunk, sizeof chunk) <= 0)
				break;
		break;
	}
out:
	mbedtls_ssl_free(&ssl);
	mbedtls_net_free(&c);
	mbedtls_ssl_config_free(&conf);
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ca);
	mbedtls_pk_free(&key);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return NULL;
}

static void run_bad(enum bad_mode mode, const char *expect_err)
{
	struct bad_server b;
	struct sockaddr_in a;
	socklen_t l = sizeof a;
	char allow_s[64];
	const char *allow[] = { allow_s, NULL };
	struct vault_egress_config c;
	struct vault_egress *eg = NULL;
	struct vault_egress_response r;
	char pca[128];
	char pcrt[128];
	char pkey[128];
	char body[] = "amount=100";
	char err[256] = "";
	int sent = 0;

	memset(&b, 0, sizeof b);
	b.mode = mode;
	mbedtls_net_init(&b.listen);
	assert_int_equal(mbedtls_net_bind(&b.listen, "127.0.0.1", "0", MBEDTLS_NET_PROTO_TCP), 0);
	assert_int_equal(getsockname(b.listen.fd, (struct sockaddr *)&a, &l), 0);
	b.port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&b.th, NULL, bad_server_main, &b), 0);

	snprintf(allow_s, sizeof allow_s, "psp.test:%u", b.port);
	fx_psp_path(&g_h, "ca.crt", pca, sizeof pca);
	fx_psp_path(&g_h, "client.crt", pcrt, sizeof pcrt);
	fx_psp_path(&g_h, "client.key", pkey, sizeof pkey);
	memset(&c, 0, sizeof c);
	c.ca_file = pca;
	c.cert_file = pcrt;
	c.key_file = pkey;
	c.allowlist = allow;
	c.timeout_ms = 700;
	eg = vault_egress_new(&c, err, sizeof err);
	assert_non_null(eg);
	assert_int_equal(vault_egress_request(eg, "psp.test", "127.0.0.1", b.port, "POST", "/v1/payment_intents",
	                                      NULL, body, strlen(body), &r, &sent, err, sizeof err), -2);
	assert_int_equal(sent, 1);
	assert_null(r.body);
	if (strstr(err, expect_err) == NULL)
		fprintf(stderr, "err: %s\n", err);
	assert_non_null(strstr(err, expect_err));
	vault_egress_free(eg);
	pthread_join(b.th, NULL);
	mbedtls_net_free(&b.listen);
	assert_int_equal(b.got_request, 1);
}

static void test_answer_lost_close(void **state)
{
	(void)state;
	run_bad(BAD_CLOSE, "closed before the response was complete");
}

static void test_answer_lost_truncated(void **state)
{
	(void)state;
	run_bad(BAD_TRUNCATED, "closed before the response was complete");
}

static void test_answer_lost_timeout(void **state)
{
	(void)state;
	run_bad(BAD_STALL, "timed out");
}

static void test_answer_too_large(void **state)
{
	(void)state;
	run_bad(BAD_HUGE, "over 1 MiB");
}

/* Several threads share one handle (one DRBG behind a mutex, one config). */
static void *stats_thread(void *arg)
{
	struct vault_egress *eg = arg;
	struct vault_egress_response r;
	char err[256];
	int sent = 0;
	intptr_t ok = 0;
	int i = 0;

	for (i = 0; i < 5; i++) {
		if (vault_egress_request(eg, "psp.test", "127.0.0.1", g_h.port, "GET", "/_sim/stats", NULL, NULL, 0,
		                         &r, &sent, err, sizeof err) == 0 && r.status == 200)
			ok++;
		free(r.body);
	}
	return (void *)ok;
}

static void test_concurrent(void **state)
{
	char allow_s[64];
	const char *allow[] = { allow_s, NULL };
	struct vault_egress *eg = NULL;
	pthread_t th[4];
	void *ok = NULL;
	char err[256] = "";
	intptr_t total = 0;
	int i = 0;

	(void)state;
	if (g_sim != 0)
		skip();
	snprintf(allow_s, sizeof allow_s, "psp.test:%u", g_h.port);
	eg = mk("ca.crt", "client", allow, err, sizeof err);
	assert_non_null(eg);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, stats_thread, eg), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], &ok);
		total += (intptr_t)ok;
	}
	assert_int_equal(total, 20);
	vault_egress_free(eg);
}

/* ------------------------------------------------------------------ */
/* Keep-alive pool (ADR 0080).                                          */

/* Egress toward the harness pspsim with the given pool settings. */
static struct vault_egress *mk_pool(unsigned port, int pool_max, unsigned idle_ms, unsigned timeout_ms,
                                    char *allow_s, size_t alen)
{
	const char *allow[] = { allow_s, NULL };
	struct vault_egress_config c;
	char pca[128];
	char pcrt[128];
	char pkey[128];
	char err[256] = "";

	snprintf(allow_s, alen, "psp.test:%u", port);
	fx_psp_path(&g_h, "ca.crt", pca, sizeof pca);
	fx_psp_path(&g_h, "client.crt", pcrt, sizeof pcrt);
	fx_psp_path(&g_h, "client.key", pkey, sizeof pkey);
	memset(&c, 0, sizeof c);
	c.ca_file = pca;
	c.cert_file = pcrt;
	c.key_file = pkey;
	c.allowlist = allow;
	c.timeout_ms = timeout_ms;
	c.pool_max = pool_max;
	c.idle_ms = idle_ms;
	return vault_egress_new(&c, err, sizeof err);
}

static int stats_once(struct vault_egress *eg, unsigned port, char *err, size_t errlen)
{
	struct vault_egress_response r;
	int sent = 0;
	int rc = 0;

	rc = vault_egress_request(eg, "psp.test", "127.0.0.1", port, "GET", "/_sim/stats", NULL, NULL, 0, &r,
	                          &sent, err, errlen);
	if (rc == 0 && r.status != 200)
		rc = -100;
	free(r.body);
	return rc;
}

static void test_pool_reuses_connection(void **state)
{
	const char *hdrs[] = { "Authorization: Bearer " FX_PSP_KEY, "Content-Type: application/x-www-form-urlencoded",
	                       NULL };
	struct vault_egress_response r;
	struct vault_egress *eg = NULL;
	char body[] = "type=card&card%5Bnumber%5D=4242424242424241&card%5Bexp_month%5D=12&card%5Bexp_year%5D=2040";
	char allow_s[64];
	char err[256] = "";
	int sent = 0;

	(void)state;
	if (g_sim != 0)
		skip();
	eg = mk_pool(g_h.port, 0, 0, 3000, allow_s, sizeof allow_s);
	assert_non_null(eg);
	assert_int_equal(vault_egress_handshakes(eg), 0);
	assert_int_equal(stats_once(eg, g_h.port, err, sizeof err), 0);
	assert_int_equal(vault_egress_handshakes(eg), 1);
	/* Second and third requests, one with a (wiped) body: same connection. */
	assert_int_equal(vault_egress_request(eg, "psp.test", "127.0.0.1", g_h.port, "POST", "/v1/payment_methods",
	                                      hdrs, body, strlen(body), &r, &sent, err, sizeof err), 0);
	assert_int_equal(r.status, 402);
	for (size_t i = 0; i < sizeof body - 1; i++)
		assert_int_equal(body[i], 0);
	free(r.body);
	assert_int_equal(stats_once(eg, g_h.port, err, sizeof err), 0);
	assert_int_equal(vault_egress_handshakes(eg), 1);
	vault_egress_free(eg);
}

static void test_pool_disabled(void **state)
{
	struct vault_egress *eg = NULL;
	char allow_s[64];
	char err[256] = "";

	(void)state;
	if (g_sim != 0)
		skip();
	eg = mk_pool(g_h.port, -1, 0, 3000, allow_s, sizeof allow_s);
	assert_non_null(eg);
	assert_int_equal(stats_once(eg, g_h.port, err, sizeof err), 0);
	assert_int_equal(stats_once(eg, g_h.port, err, sizeof err), 0);
	assert_int_equal(vault_egress_handshakes(eg), 2);
	vault_egress_free(eg);
}

static void test_pool_idle_expiry(void **state)
{
	struct vault_egress *eg = NULL;
	char allow_s[64];
	char err[256] = "";

	(void)state;
	if (g_sim != 0)
		skip();
	eg = mk_pool(g_h.port, 0, 100, 3000, allow_s, sizeof allow_s);
	assert_non_null(eg);
	assert_int_equal(stats_once(eg, g_h.port, err, sizeof err), 0);
	usleep(300 * 1000);
	/* Older than idle_ms: closed, a fresh connection is made. */
	assert_int_equal(stats_once(eg, g_h.port, err, sizeof err), 0);
	assert_int_equal(vault_egress_handshakes(eg), 2);
	vault_egress_free(eg);
}

/* A keep-alive TLS server in a thread (mbedTLS), one scripted behaviour. */
enum ka_mode {
	KA_CLOSE_IDLE,   /* answer on connection 1, then close it while idle; answer on connection 2 */
	KA_DROP_SECOND,  /* answer request 1, read request 2 on the same connection, close unanswered */
};

struct ka_server {
	enum ka_mode mode;
	mbedtls_net_context listen;
	unsigned port;
	int conns;       /* connections accepted */
	int requests;    /* requests read */
	pthread_t th;
};

static const char KA_OK[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";

/* Read one request head (no body: the tests send GETs). 0 when one arrived. */
static int ka_read_request(mbedtls_ssl_context *ssl)
{
	unsigned char buf[4096];
	size_t got = 0;
	int n = 0;

	while (got < sizeof buf - 1) {
		n = mbedtls_ssl_read(ssl, buf + got, sizeof buf - 1 - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr((char *)buf, "\r\n\r\n") != NULL)
			return 0;
	}
	return -1;
}

static void *ka_server_main(void *arg)
{
	struct ka_server *b = arg;
	mbedtls_net_context c;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt crt;
	mbedtls_x509_crt ca;
	mbedtls_pk_context key;
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	char path[3][128];
	int k = 0;

	mbedtls_ssl_config_init(&conf);
	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&ca);
	mbedtls_pk_init(&key);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	fx_psp_path(&g_h, "server.crt", path[0], sizeof path[0]);
	fx_psp_path(&g_h, "server.key", path[1], sizeof path[1]);
	fx_psp_path(&g_h, "ca.crt", path[2], sizeof path[2]);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0) != 0
	    || mbedtls_x509_crt_parse_file(&crt, path[0]) != 0 || mbedtls_pk_parse_keyfile(&key, path[1], NULL) != 0
	    || mbedtls_x509_crt_parse_file(&ca, path[2]) != 0
	    || mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
	                                   MBEDTLS_SSL_PRESET_DEFAULT) != 0)
		goto done;
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	if (mbedtls_ssl_conf_own_cert(&conf, &crt, &key) != 0)
		goto done;
	for (k = 0; k < (b->mode == KA_CLOSE_IDLE ? 2 : 1); k++) {
		mbedtls_net_init(&c);
		mbedtls_ssl_init(&ssl);
		if (mbedtls_ssl_setup(&ssl, &conf) != 0 || mbedtls_net_accept(&b->listen, &c, NULL, 0, NULL) != 0)
			goto next;
		b->conns++;
		mbedtls_ssl_set_bio(&ssl, &c, mbedtls_net_send, mbedtls_net_recv, NULL);
		if (mbedtls_ssl_handshake(&ssl) != 0 || ka_read_request(&ssl) != 0)
			goto next;
		b->requests++;
		mbedtls_ssl_write(&ssl, (const unsigned char *)KA_OK, sizeof KA_OK - 1);
		if (b->mode == KA_DROP_SECOND && ka_read_request(&ssl) == 0)
			b->requests++;   /* ... and close without answering */
		/* KA_CLOSE_IDLE: the idle close the pool must notice before reusing. */
		mbedtls_ssl_close_notify(&ssl);
next:
		mbedtls_ssl_free(&ssl);
		mbedtls_net_free(&c);
	}
done:
	mbedtls_ssl_config_free(&conf);
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ca);
	mbedtls_pk_free(&key);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return NULL;
}

static void ka_start(struct ka_server *b, enum ka_mode mode)
{
	struct sockaddr_in a;
	socklen_t l = sizeof a;

	memset(b, 0, sizeof *b);
	b->mode = mode;
	mbedtls_net_init(&b->listen);
	assert_int_equal(mbedtls_net_bind(&b->listen, "127.0.0.1", "0", MBEDTLS_NET_PROTO_TCP), 0);
	assert_int_equal(getsockname(b->listen.fd, (struct sockaddr *)&a, &l), 0);
	b->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&b->th, NULL, ka_server_main, b), 0);
}

static void ka_stop(struct ka_server *b)
{
	shutdown(b->listen.fd, SHUT_RDWR);   /* wakes an accept that will not be answered */
	pthread_join(b->th, NULL);
	mbedtls_net_free(&b->listen);
}

static void test_pool_server_closed_idle(void **state)
{
	struct ka_server b;
	struct vault_egress *eg = NULL;
	char allow_s[64];
	char err[256] = "";
	int rc = 0;

	(void)state;
	ka_start(&b, KA_CLOSE_IDLE);
	eg = mk_pool(b.port, 0, 0, 2000, allow_s, sizeof allow_s);
	assert_non_null(eg);
	assert_int_equal(stats_once(eg, b.port, err, sizeof err), 0);
	usleep(200 * 1000);   /* the server's close_notify and FIN arrive */
	/* The dead pooled connection is noticed before writing: a clean new one. */
	rc = stats_once(eg, b.port, err, sizeof err);
	if (rc != 0)
		fprintf(stderr, "err: %s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(vault_egress_handshakes(eg), 2);
	vault_egress_free(eg);
	ka_stop(&b);
	assert_int_equal(b.conns, 2);
	assert_int_equal(b.requests, 2);
}

static void test_pool_answer_lost_not_retried(void **state)
{
	struct ka_server b;
	struct vault_egress_response r;
	struct vault_egress *eg = NULL;
	char allow_s[64];
	char err[256] = "";
	int sent = 0;

	(void)state;
	ka_start(&b, KA_DROP_SECOND);
	eg = mk_pool(b.port, 0, 0, 2000, allow_s, sizeof allow_s);
	assert_non_null(eg);
	assert_int_equal(stats_once(eg, b.port, err, sizeof err), 0);
	/* Written on the reused connection, then no answer: "sent, answer lost",
	 * and no second attempt (the server saw exactly one more request). */
	assert_int_equal(vault_egress_request(eg, "psp.test", "127.0.0.1", b.port, "GET", "/_sim/stats", NULL, NULL,
	                                      0, &r, &sent, err, sizeof err), -2);
	assert_int_equal(sent, 1);
	assert_null(r.body);
	assert_non_null(strstr(err, "closed before the response was complete"));
	assert_int_equal(vault_egress_handshakes(eg), 1);
	vault_egress_free(eg);
	ka_stop(&b);
	assert_int_equal(b.conns, 1);
	assert_int_equal(b.requests, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_allowlisted),
		cmocka_unit_test(test_ip_literal_refused),
		cmocka_unit_test(test_closed_port),
		cmocka_unit_test(test_new_rejects_bad_material),
		cmocka_unit_test(test_mtls_ok),
		cmocka_unit_test(test_post_with_headers_and_404),
		cmocka_unit_test(test_wrong_server_name),
		cmocka_unit_test(test_wrong_ca),
		cmocka_unit_test(test_client_cert_refused_by_server),
		cmocka_unit_test(test_answer_lost_close),
		cmocka_unit_test(test_answer_lost_truncated),
		cmocka_unit_test(test_answer_lost_timeout),
		cmocka_unit_test(test_answer_too_large),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_pool_reuses_connection),
		cmocka_unit_test(test_pool_disabled),
		cmocka_unit_test(test_pool_idle_expiry),
		cmocka_unit_test(test_pool_server_closed_idle),
		cmocka_unit_test(test_pool_answer_lost_not_retried),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
