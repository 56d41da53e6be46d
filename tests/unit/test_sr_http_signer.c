/*
 * Unit tests for common/sr_http_signer (ADR 0118): a listener whose private
 * key is held by a signer, not a file. The test's signer keeps a software
 * key (the fixture's server.key) and counts its calls; vaultd's signer does
 * the same through the HSM (vault/crypto/vault_tls_key.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tests/unit/http_fixture.h"
#include "tests/unit/signer_fixture.h"

static struct sr_http_server *start_signed(const char *cert, const char *key_file, char *err,
                                           size_t errlen)
{
	struct sr_http_config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.bind_addr = "127.0.0.1";
	cfg.cert_file = path_in(cert);
	cfg.key_file = key_file;
	cfg.signer = &SIGNER;
	cfg.threads = 2;
	cfg.routes = routes;
	cfg.n_routes = sizeof routes / sizeof routes[0];
	cfg.name = "test-signer";
	return sr_http_start(&cfg, err, errlen);
}

/* GET /v1/ping on port with TLS version v: the HTTP status (0: no TLS). */
static long ping(uint16_t port, long v)
{
	struct reqopt o = { .method = "GET", .path = "/v1/ping", .body_len = -1, .sslversion = v };
	struct resp r;
	uint16_t saved = g_tls_port;
	long st;

	g_tls_port = port;
	do_req(&o, &r);
	g_tls_port = saved;
	st = r.status;
	resp_free(&r);
	return st;
}

static void test_handshakes_sign_through_the_signer(void **state)
{
	struct sr_http_server *srv = NULL;
	char err[256] = "";
	int before;

	(void)state;
	assert_int_equal(load_fake(&g_fake, path_in("server.key")), 0);
	srv = start_signed("server.crt", NULL, err, sizeof err);
	assert_non_null(srv);
	assert_int_equal(g_fake.binds, 1);
	assert_int_equal(g_fake.signs, 1);   /* the key/certificate probe */
	before = g_fake.signs;
	assert_int_equal(ping(sr_http_port(srv), CURL_SSLVERSION_TLSv1_3), 200);
	assert_int_equal(ping(sr_http_port(srv),
	                      CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2), 200);
	assert_int_equal(g_fake.signs, before + 2);   /* one signature per full handshake */
	/* The signer fails: the handshake fails, the server stays up. */
	g_fake.fail_sign = 1;
	assert_int_equal(ping(sr_http_port(srv), CURL_SSLVERSION_TLSv1_3), 0);
	g_fake.fail_sign = 0;
	assert_int_equal(ping(sr_http_port(srv), CURL_SSLVERSION_TLSv1_3), 200);
	/* SIGHUP: bound again; another certificate with no key of the signer's: refused, kept. */
	assert_int_equal(sr_http_reload(srv, err, sizeof err), 0);
	assert_int_equal(g_fake.binds, 2);
	sr_http_stop(srv);
	assert_int_equal(g_fake.releases, 2);   /* every generation's key given back */
	gnutls_privkey_deinit(g_fake.key);
}

static void test_start_refusals(void **state)
{
	char err[256] = "";

	(void)state;
	assert_int_equal(load_fake(&g_fake, path_in("server.key")), 0);
	/* A certificate whose key the signer does not hold. */
	assert_null(start_signed("server2.crt", NULL, err, sizeof err));
	assert_non_null(strstr(err, "fake: no key for that certificate"));
	/* A signer whose signature does not verify with the certificate. */
	g_fake.fail_sign = 1;
	assert_null(start_signed("server.crt", NULL, err, sizeof err));
	g_fake.fail_sign = 0;
	/* Both a key file and a signer: refused. */
	assert_null(start_signed("server.crt", path_in("server.key"), err, sizeof err));
	assert_non_null(strstr(err, "one of key_file and signer"));
	assert_int_equal(g_fake.releases, g_fake.binds - 1);   /* the one refused bind held nothing */
	gnutls_privkey_deinit(g_fake.key);
}

int main(void)
{
	/* The fixture's helpers this file does not use. */
	(void)check_error;
	(void)has_header;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshakes_sign_through_the_signer),
		cmocka_unit_test(test_start_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
