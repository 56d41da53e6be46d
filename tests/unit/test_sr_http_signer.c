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

/* The test signer: the key of server.key, its point, counters, a fault switch. */
struct fake {
	gnutls_privkey_t key;
	uint8_t point[65];
	int binds, releases, signs, fail_sign, refuse_bind;
};

static struct fake g_fake;

static int load_fake(struct fake *f, const char *key_file)
{
	gnutls_datum_t d = { NULL, 0 }, x = { NULL, 0 }, y = { NULL, 0 };
	gnutls_ecc_curve_t curve;
	int rc = -1;

	memset(f, 0, sizeof *f);
	if (gnutls_load_file(key_file, &d) < 0 || gnutls_privkey_init(&f->key) < 0 ||
	    gnutls_privkey_import_x509_raw(f->key, &d, GNUTLS_X509_FMT_PEM, NULL, 0) < 0 ||
	    gnutls_privkey_export_ecc_raw2(f->key, &curve, &x, &y, NULL, GNUTLS_EXPORT_FLAG_NO_LZ) < 0)
		goto out;
	f->point[0] = 0x04;
	memcpy(f->point + 1 + 32 - x.size, x.data, x.size);
	memcpy(f->point + 33 + 32 - y.size, y.data, y.size);
	rc = 0;
out:
	gnutls_free(d.data);
	gnutls_free(x.data);
	gnutls_free(y.data);
	return rc;
}

static void *fake_bind(void *ctx, const uint8_t point[65], char *err, size_t errlen)
{
	struct fake *f = ctx;

	f->binds++;
	if (f->refuse_bind || memcmp(point, f->point, 65) != 0) {
		snprintf(err, errlen, "fake: no key for that certificate");
		return NULL;
	}
	return f;
}

static int fake_sign(void *key, const uint8_t digest[32], uint8_t sig[64])
{
	struct fake *f = key;
	gnutls_datum_t h = { (unsigned char *)(uintptr_t)digest, 32 }, s = { NULL, 0 };
	gnutls_datum_t r = { NULL, 0 }, ss = { NULL, 0 };
	const unsigned char *rp, *sp;
	unsigned rn, sn;
	int rc = -1;

	f->signs++;
	if (f->fail_sign)
		return -1;
	if (gnutls_privkey_sign_hash2(f->key, GNUTLS_SIGN_ECDSA_SHA256, 0, &h, &s) < 0 ||
	    gnutls_decode_rs_value(&s, &r, &ss) < 0)
		goto out;
	/* r, s: big-endian integers, maybe with a leading zero, maybe shorter. */
	for (rp = r.data, rn = r.size; rn > 32 && rp[0] == 0; rp++, rn--)
		;
	for (sp = ss.data, sn = ss.size; sn > 32 && sp[0] == 0; sp++, sn--)
		;
	if (rn > 32 || sn > 32)
		goto out;
	memset(sig, 0, 64);
	memcpy(sig + 32 - rn, rp, rn);
	memcpy(sig + 64 - sn, sp, sn);
	rc = 0;
out:
	gnutls_free(s.data);
	gnutls_free(r.data);
	gnutls_free(ss.data);
	return rc;
}

static void fake_release(void *key)
{
	((struct fake *)key)->releases++;
}

static const struct sr_http_signer SIGNER = { fake_bind, fake_sign, fake_release, &g_fake };

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
