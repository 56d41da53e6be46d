/*
 * Attack suite, issue 28 item 3 (ADR 0118): sessions are resumed so that
 * handshakes, and their HSM signatures, stay rare, without resumption
 * becoming a way around mutual TLS (invariant 5, docs/invariants.md).
 *
 * Two sr_http listeners whose key is held by a counting signer
 * (tests/unit/signer_fixture.h): "public" (TLS only) and "internal"
 * (mutual TLS, peer client.test). The client is GnuTLS, so that the test
 * holds the session data (the ticket, RFC 8446 §4.6.1 / RFC 5077) itself:
 *  - a resumed handshake, TLS 1.3 and 1.2, on either listener, makes no
 *    signature (the full one makes one), and a reload (SIGHUP) ends every
 *    ticket issued before it;
 *  - a ticket of the public listener (no client certificate in it) does
 *    not resume on the internal one, with no certificate or with another
 *    identity's;
 *  - a ticket that outlives its client certificate resumes, but the
 *    per-request peer check refuses every request on it (401): the
 *    identity in a ticket is verified again on each connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common/sr_http.h"
#include "tests/unit/fixture.h"
#include "tests/unit/signer_fixture.h"

static const char TLS13[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3";
static const char TLS12[] = "NORMAL:-VERS-ALL:+VERS-TLS1.2";

static char g_dir[64];
static struct sr_http_server *g_pub = NULL, *g_int = NULL;

static void h_whoami(struct sr_http_request *req)
{
	sr_http_reply_json(req, 200, json_pack("{s:s?}", "peer", req->peer));
}

static const struct sr_route routes[] = {
	{ .method = "GET", .pattern = "/v1/whoami", .handler = h_whoami },
};

static const char *in_dir(const char *name)
{
	static char buf[4][128];
	static int i = 0;
	char *p = buf[i++ % 4];

	snprintf(p, 128, "%s/%s", g_dir, name);
	return p;
}

static struct sr_http_server *start(int mtls)
{
	struct sr_http_config c;
	char err[256] = "";
	struct sr_http_server *s = NULL;

	memset(&c, 0, sizeof c);
	c.bind_addr = "127.0.0.1";
	c.cert_file = in_dir("server.crt");
	c.signer = &SIGNER;
	c.threads = 2;
	c.routes = routes;
	c.n_routes = 1;
	c.name = mtls ? "a28-internal" : "a28-public";
	if (mtls) {
		c.client_ca_file = in_dir("ca.crt");
		c.peer_name = "client.test";
	}
	s = sr_http_start(&c, err, sizeof err);
	if (s == NULL)
		fprintf(stderr, "start: %s\n", err);
	return s;
}

static int setup(void **state)
{
	(void)state;
	if (fx_tmpdir(g_dir, sizeof g_dir, "sr_a28_resume.") != 0 ||
	    fx_pki(g_dir, "ca ca\n"
	                  "leaf server ca serverAuth localhost\n"
	                  "leaf client ca clientAuth client.test\n"
	                  "leaf wrongname ca clientAuth other.test\n") != 0 ||
	    load_fake(&g_fake, in_dir("server.key")) != 0)
		return -1;
	g_pub = start(0);
	g_int = start(1);
	return g_pub != NULL && g_int != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sr_http_stop(g_pub);
	sr_http_stop(g_int);
	gnutls_privkey_deinit(g_fake.key);
	return fx_rmtree(g_dir);
}

/* Client credentials trusting the test CA, with the certificate pair
 * NAME.crt/NAME.key of the PKI (NULL: none). */
static gnutls_certificate_credentials_t creds(const char *name)
{
	gnutls_certificate_credentials_t c = NULL;
	char crt[32], key[32];

	assert_true(gnutls_certificate_allocate_credentials(&c) >= 0);
	assert_true(gnutls_certificate_set_x509_trust_file(c, in_dir("ca.crt"),
	                                                   GNUTLS_X509_FMT_PEM) > 0);
	if (name != NULL) {
		snprintf(crt, sizeof crt, "%s.crt", name);
		snprintf(key, sizeof key, "%s.key", name);
		assert_true(gnutls_certificate_set_x509_key_file(c, in_dir(crt), in_dir(key),
		                                                 GNUTLS_X509_FMT_PEM) >= 0);
	}
	return c;
}

/*
 * One connection to srv: a handshake with priorities prio, resuming from
 * *in when it holds session data, then GET /v1/whoami (Connection: close).
 * *resumed: gnutls_session_is_resumed; *out (if non-NULL): the session data
 * to resume from next time (empty when the server issued no ticket).
 * @return the HTTP status, or 0 when the handshake or exchange failed.
 */
static int get(struct sr_http_server *srv, const char *prio, gnutls_certificate_credentials_t c,
               const gnutls_datum_t *in, gnutls_datum_t *out, int *resumed)
{
	static const char rq[] = "GET /v1/whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(sr_http_port(srv)) };
	struct timeval tv = { .tv_sec = 5 };
	gnutls_session_t s = NULL;
	char resp[4096];
	size_t got = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc, status = 0;
	ssize_t n;

	*resumed = 0;
	if (out != NULL)
		*out = (gnutls_datum_t){ NULL, 0 };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    gnutls_init(&s, GNUTLS_CLIENT) < 0)
		goto done;
	if (gnutls_priority_set_direct(s, prio, NULL) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, c) < 0)
		goto done;
	gnutls_server_name_set(s, GNUTLS_NAME_DNS, "localhost", 9);
	gnutls_session_set_verify_cert(s, "localhost", 0);
	if (in != NULL && in->size > 0 && gnutls_session_set_data(s, in->data, in->size) < 0)
		goto done;
	gnutls_transport_set_int(s, fd);
	do
		rc = gnutls_handshake(s);
	while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
	if (rc < 0)
		goto done;
	*resumed = gnutls_session_is_resumed(s) != 0;
	if (gnutls_record_send(s, rq, sizeof rq - 1) != (ssize_t)(sizeof rq - 1))
		goto done;
	/* Read to the end: the TLS 1.3 ticket arrives after the handshake. */
	for (;;) {
		n = gnutls_record_recv(s, resp + got, sizeof resp - 1 - got);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0 || (got += (size_t)n) >= sizeof resp - 1)
			break;
	}
	resp[got] = '\0';
	if (strncmp(resp, "HTTP/1.1 ", 9) == 0)
		status = atoi(resp + 9);
	if (status == 200 && srv == g_int && strstr(resp, "client.test") == NULL)
		status = -1;   /* an internal reply without the peer */
	if (out != NULL && gnutls_session_get_data2(s, out) < 0)
		*out = (gnutls_datum_t){ NULL, 0 };
done:
	if (s != NULL)
		gnutls_deinit(s);
	if (fd >= 0)
		close(fd);
	return status;
}

static void test_resumed_handshakes_make_no_signature(void **state)
{
	const char *prios[2] = { TLS13, TLS12 };
	struct sr_http_server *srvs[2] = { g_pub, g_int };
	gnutls_certificate_credentials_t c = creds("client");
	gnutls_datum_t t = { NULL, 0 }, t2 = { NULL, 0 };
	char err[256] = "";
	int p, k, resumed, signs;

	(void)state;
	for (p = 0; p < 2; p++) {
		for (k = 0; k < 2; k++) {
			signs = g_fake.signs;
			assert_int_equal(get(srvs[k], prios[p], c, NULL, &t, &resumed), 200);
			assert_false(resumed);
			assert_int_equal(g_fake.signs, signs + 1);   /* a full handshake signs */
			assert_true(t.size > 0);                     /* and issues a ticket */
			signs = g_fake.signs;
			assert_int_equal(get(srvs[k], prios[p], c, &t, &t2, &resumed), 200);
			assert_true(resumed);
			assert_int_equal(g_fake.signs, signs);       /* a resumed one does not */
			gnutls_free(t2.data);
			/* A reload (SIGHUP) replaces the ticket key: the old ticket
			 * no longer resumes, the handshake is a full one. */
			assert_int_equal(sr_http_reload(srvs[k], err, sizeof err), 0);
			signs = g_fake.signs;
			assert_int_equal(get(srvs[k], prios[p], c, &t, NULL, &resumed), 200);
			assert_false(resumed);
			assert_int_equal(g_fake.signs, signs + 1);
			gnutls_free(t.data);
			t = (gnutls_datum_t){ NULL, 0 };
		}
	}
	gnutls_certificate_free_credentials(c);
}

static void test_public_ticket_does_not_open_the_internal_listener(void **state)
{
	const char *prios[2] = { TLS13, TLS12 };
	gnutls_certificate_credentials_t none = creds(NULL), other = creds("wrongname");
	gnutls_datum_t t = { NULL, 0 };
	int p, resumed;

	(void)state;
	for (p = 0; p < 2; p++) {
		assert_int_equal(get(g_pub, prios[p], none, NULL, &t, &resumed), 200);
		assert_true(t.size > 0);
		assert_int_equal(get(g_pub, prios[p], none, &t, NULL, &resumed), 200);
		assert_true(resumed);   /* the ticket is good where it was issued */
		/* On the internal listener: no resumption, so a full handshake,
		 * which needs the client certificate of the peer's name. */
		assert_int_equal(get(g_int, prios[p], none, &t, NULL, &resumed), 0);
		assert_false(resumed);
		assert_int_equal(get(g_int, prios[p], other, &t, NULL, &resumed), 0);
		assert_false(resumed);
		gnutls_free(t.data);
		t = (gnutls_datum_t){ NULL, 0 };
	}
	gnutls_certificate_free_credentials(none);
	gnutls_certificate_free_credentials(other);
}

/* Credentials with a fresh client certificate for client.test, issued by
 * the test CA, valid from a minute ago until not_after. */
static gnutls_certificate_credentials_t short_lived(time_t not_after)
{
	gnutls_certificate_credentials_t c = creds(NULL);
	gnutls_x509_crt_t ca = NULL, crt = NULL;
	gnutls_x509_privkey_t cakey = NULL, key = NULL;
	gnutls_datum_t d = { NULL, 0 };
	unsigned char serial[8];
	time_t now = time(NULL);

	assert_true(gnutls_load_file(in_dir("ca.crt"), &d) >= 0);
	assert_true(gnutls_x509_crt_init(&ca) >= 0 &&
	            gnutls_x509_crt_import(ca, &d, GNUTLS_X509_FMT_PEM) >= 0);
	gnutls_free(d.data);
	assert_true(gnutls_load_file(in_dir("ca.key"), &d) >= 0);
	assert_true(gnutls_x509_privkey_init(&cakey) >= 0 &&
	            gnutls_x509_privkey_import(cakey, &d, GNUTLS_X509_FMT_PEM) >= 0);
	gnutls_free(d.data);
	assert_true(gnutls_x509_privkey_init(&key) >= 0 &&
	            gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
	                                         GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
	                                         0) >= 0);
	assert_true(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial) >= 0);
	serial[0] &= 0x7f;
	assert_true(gnutls_x509_crt_init(&crt) >= 0);
	assert_true(gnutls_x509_crt_set_version(crt, 3) >= 0 &&
	            gnutls_x509_crt_set_serial(crt, serial, sizeof serial) >= 0 &&
	            gnutls_x509_crt_set_key(crt, key) >= 0 &&
	            gnutls_x509_crt_set_dn(crt, "CN=client.test", NULL) >= 0 &&
	            gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "client.test", 11,
	                                                 GNUTLS_FSAN_SET) >= 0 &&
	            gnutls_x509_crt_set_basic_constraints(crt, 0, -1) >= 0 &&
	            gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE) >= 0 &&
	            gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0) >= 0 &&
	            gnutls_x509_crt_set_activation_time(crt, now - 60) >= 0 &&
	            gnutls_x509_crt_set_expiration_time(crt, not_after) >= 0 &&
	            gnutls_x509_crt_sign2(crt, ca, cakey, GNUTLS_DIG_SHA256, 0) >= 0);
	assert_true(gnutls_certificate_set_x509_key(c, &crt, 1, key) >= 0);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_privkey_deinit(key);
	gnutls_x509_privkey_deinit(cakey);
	return c;
}

static void test_ticket_outliving_its_certificate_is_refused(void **state)
{
	const char *prios[2] = { TLS13, TLS12 };
	time_t expiry = time(NULL) + 3;
	gnutls_certificate_credentials_t c = short_lived(expiry);
	gnutls_datum_t t[2] = { { NULL, 0 }, { NULL, 0 } };
	int p, resumed;

	(void)state;
	for (p = 0; p < 2; p++) {
		assert_int_equal(get(g_int, prios[p], c, NULL, &t[p], &resumed), 200);
		assert_true(t[p].size > 0);
	}
	while (time(NULL) <= expiry + 1)
		sleep(1);
	for (p = 0; p < 2; p++) {
		/* The ticket still resumes the session (its lifetime is an
		 * hour), but the certificate inside has expired: no request
		 * passes the per-request peer check. */
		assert_int_equal(get(g_int, prios[p], c, &t[p], NULL, &resumed), 401);
		assert_true(resumed);
		/* A full handshake with the expired certificate fails. */
		assert_int_equal(get(g_int, prios[p], c, NULL, NULL, &resumed), 0);
		gnutls_free(t[p].data);
	}
	gnutls_certificate_free_credentials(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resumed_handshakes_make_no_signature),
		cmocka_unit_test(test_public_ticket_does_not_open_the_internal_listener),
		cmocka_unit_test(test_ticket_outliving_its_certificate_is_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
