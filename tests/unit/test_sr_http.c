/*
 * Unit tests for common/sr_http, the server: routing, keep-alive, mutual TLS,
 * TLS versions, the access log, process-wide setup, start errors,
 * certificate reload and drain. Fixture (PKI, servers, client):
 * tests/unit/http_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <gnutls/pkcs11.h>
#include <jansson.h>

#include "tests/unit/http_fixture.h"

/* ------------------------------------------------------------------ */
/* tests                                                               */

static void test_route_json(void **state)
{
	struct reqopt o = { .method = "GET", .path = "/v1/ping", .body_len = -1 };
	struct resp r;

	(void)state;
	do_req(&o, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_non_null(r.json);
	assert_true(json_is_true(json_object_get(r.json, "ok")));
	assert_string_equal(json_string_value(json_object_get(r.json, "app")), "appctx");
	assert_true(has_header(&r, "Content-Type: application/json"));
	assert_true(has_header(&r, "Cache-Control: no-store"));
	assert_true(has_header(&r, "X-Content-Type-Options: nosniff"));
	assert_true(has_header(&r, "X-Request-Id: req_"));
	resp_free(&r);
}

static void test_404_405(void **state)
{
	struct reqopt o = { .method = "GET", .path = "/v1/ping/extra", .body_len = -1 };
	struct resp r;

	(void)state;
	do_req(&o, &r);
	check_error(&r, 404, "invalid_request_error", "resource_missing");
	resp_free(&r);

	o.path = "/v1/ping/";
	do_req(&o, &r);
	check_error(&r, 404, "invalid_request_error", "resource_missing");
	resp_free(&r);

	o.method = "DELETE";
	o.path = "/v1/ping";
	do_req(&o, &r);
	check_error(&r, 405, "invalid_request_error", "method_not_allowed");
	resp_free(&r);

	o.method = "POST";
	o.body = "{}";
	o.ctype = "application/json";
	do_req(&o, &r);
	check_error(&r, 405, "invalid_request_error", "method_not_allowed");
	resp_free(&r);
}

static void test_params(void **state)
{
	struct reqopt o = { .method = "GET", .path = "/v1/items/tok_ABC-1/sub/x_9", .body_len = -1 };
	struct resp r;

	(void)state;
	do_req(&o, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "a")), "tok_ABC-1");
	assert_string_equal(json_string_value(json_object_get(r.json, "b")), "x_9");
	assert_true(json_is_true(json_object_get(r.json, "third_null")));
	resp_free(&r);

	/* A segment with characters outside [A-Za-z0-9_-] does not match. */
	o.path = "/v1/items/a.b/sub/c";
	do_req(&o, &r);
	check_error(&r, 404, "invalid_request_error", "resource_missing");
	resp_free(&r);

	o.path = "/v1/items//sub/c";
	do_req(&o, &r);
	check_error(&r, 404, "invalid_request_error", "resource_missing");
	resp_free(&r);
}

static void test_keepalive(void **state)
{
	CURL *c = curl_easy_init();
	struct reqopt o = { .method = "GET", .path = "/v1/ping", .body_len = -1, .reuse = c };
	struct resp r;
	long conns = -1;

	(void)state;
	do_req(&o, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	o.method = "POST";
	o.path = "/v1/echo";
	o.ctype = "application/json";
	o.body = "{\"k\":true}";
	do_req(&o, &r);
	assert_int_equal(r.status, 200);
	/* The second request reused the connection (docs/development.md pitfall: keep-alive). */
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
	assert_int_equal(conns, 0);
	resp_free(&r);
	curl_easy_cleanup(c);
}

static void test_mtls_accepts_client(void **state)
{
	struct reqopt o = { .method = "GET", .path = "/v1/whoami", .body_len = -1,
	                    .client = "client", .mtls = 1 };
	struct resp r;

	(void)state;
	do_req(&o, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "peer")), "client.test");
	resp_free(&r);

	/* And the TLS-only listener reports no peer even with a certificate. */
	o.mtls = 0;
	do_req(&o, &r);
	assert_int_equal(r.status, 200);
	assert_true(json_is_null(json_object_get(r.json, "peer")));
	resp_free(&r);
}

static void refused(const char *client)
{
	struct reqopt o = { .method = "GET", .path = "/v1/whoami", .body_len = -1,
	                    .client = client, .mtls = 1 };
	struct resp r;

	do_req(&o, &r);
	/* Refused in the handshake: no HTTP response at all. */
	assert_int_not_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 0);
	assert_null(r.body.data);
	resp_free(&r);
}

static void test_mtls_no_cert(void **state)
{
	(void)state;
	refused(NULL);
}

static void test_mtls_other_ca(void **state)
{
	(void)state;
	refused("foreign");
}

static void test_mtls_wrong_name(void **state)
{
	(void)state;
	refused("wrongname");
}

static void test_mtls_server_purpose(void **state)
{
	(void)state;
	refused("srvpurpose");
}

/* The access log line: one per request, the query string never, a card
 * number in the path never (invariant 1, docs/invariants.md). */
static void test_access_log(void **state)
{
	struct reqopt o = { .method = "GET", .path = "/v1/items/4242424242424242/sub/x?card=5555555555554444",
	                    .body_len = -1, .hdr1 = "X-Request-Id: req_logtest_1" };
	struct resp r;
	char logpath[128];
	char buf[8192];
	int fd, saved;
	ssize_t n;
	json_t *j = NULL;

	(void)state;
	snprintf(logpath, sizeof logpath, "%s/stderr.log", g_dir);
	fd = open(logpath, O_CREAT | O_RDWR | O_TRUNC, 0600);
	assert_true(fd >= 0);
	saved = dup(2);
	dup2(fd, 2);
	do_req(&o, &r);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	n = pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_null(strstr(buf, "4242424242424242"));
	assert_null(strstr(buf, "5555555555554444"));
	assert_null(strstr(buf, "card="));
	assert_non_null(strstr(buf, "[redacted]"));
	j = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "event")), "http.request");
	assert_string_equal(json_string_value(json_object_get(j, "request_id")), "req_logtest_1");
	assert_string_equal(json_string_value(json_object_get(j, "listener")), "test-tls");
	assert_string_equal(json_string_value(json_object_get(j, "method")), "GET");
	assert_string_equal(json_string_value(json_object_get(j, "route")), "/v1/items/{}/sub/{}");
	assert_int_equal(json_integer_value(json_object_get(j, "status")), 200);
	assert_true(json_is_number(json_object_get(j, "duration_ms")));
	json_decref(j);

	/* A card number split by separators in a path segment is redacted too. */
	o.path = "/v1/items/4000-0000-0000-9995/sub/x";
	fd = open(logpath, O_CREAT | O_RDWR | O_TRUNC, 0600);
	assert_true(fd >= 0);
	saved = dup(2);
	dup2(fd, 2);
	do_req(&o, &r);
	dup2(saved, 2);
	close(saved);
	resp_free(&r);
	n = pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_null(strstr(buf, "0000-9995"));
	assert_non_null(strstr(buf, "[redacted]"));
}

/* PCI DSS 4.2.1: TLS 1.2 (what mbedTLS 2.28 egress speaks) and 1.3 only. */
static void test_tls_versions(void **state)
{
	struct reqopt o = { .method = "GET", .path = "/v1/ping", .body_len = -1,
	                    .sslversion = CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2 };
	struct resp r;

	(void)state;
	do_req(&o, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	resp_free(&r);

	o.sslversion = CURL_SSLVERSION_TLSv1_3;
	do_req(&o, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);

	/* mTLS over TLS 1.2 as well (vault egress -> pspsim). */
	o.sslversion = CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2;
	o.mtls = 1;
	o.client = "client";
	do_req(&o, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	o.client = "wrongname";
	do_req(&o, &r);
	assert_int_not_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 0);
	resp_free(&r);

	o.mtls = 0;
	o.client = NULL;
	o.sslversion = CURL_SSLVERSION_TLSv1_1 | CURL_SSLVERSION_MAX_TLSv1_1;
	do_req(&o, &r);
	assert_int_not_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 0);
	resp_free(&r);
}

/* GnuTLS must not auto-load p11-kit registered PKCS#11 modules (SoftHSM2,
 * OpenSC) into a daemon using sr_http (invariant 1, docs/invariants.md for the gateway). */
static void test_no_pkcs11_modules(void **state)
{
	char *url = NULL;
	char line[512];
	FILE *f = NULL;

	(void)state;
	/* Without GNUTLS_PKCS11_FLAG_MANUAL this call loads every registered module. */
	assert_true(gnutls_pkcs11_token_get_url(0, GNUTLS_PKCS11_URL_GENERIC, &url) < 0);
	assert_null(url);
	f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	while (fgets(line, sizeof line, f) != NULL) {
		assert_null(strstr(line, "softhsm"));
		assert_null(strstr(line, "opensc"));
		assert_null(strstr(line, "p11-kit-proxy"));
	}
	fclose(f);
}

/* A client that closes its socket never kills the daemon with SIGPIPE. */
static void test_sigpipe_ignored(void **state)
{
	struct sigaction sa;

	(void)state;
	assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
	assert_ptr_equal(sa.sa_handler, SIG_IGN);
}

/* ---- SIGHUP reload (ADR 0052) and SIGTERM drain (ADR 0051) ---- */

/* The serial number the server at port presents, via libcurl's certinfo;
 * "" when the handshake fails. With client: mutual TLS as "client". */
static void served_serial(uint16_t port, int client, char *out, size_t outlen)
{
	CURL *c = curl_easy_init();
	struct curl_certinfo *ci = NULL;
	struct curl_slist *resolve = NULL;
	struct curl_slist *l = NULL;
	char url[128], res[64];

	out[0] = '\0';
	snprintf(url, sizeof url, "https://localhost:%u/v1/ping", (unsigned)port);
	snprintf(res, sizeof res, "localhost:%u:127.0.0.1", (unsigned)port);
	resolve = curl_slist_append(resolve, res);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(c, CURLOPT_CAINFO, path_in("ca.crt"));
	curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (client) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, path_in("client.crt"));
		curl_easy_setopt(c, CURLOPT_SSLKEY, path_in("client.key"));
	}
	if (curl_easy_perform(c) == CURLE_OK &&
	    curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) == CURLE_OK && ci != NULL &&
	    ci->num_of_certs > 0) {
		for (l = ci->certinfo[0]; l != NULL; l = l->next)
			if (strncmp(l->data, "Serial Number:", 14) == 0)
				snprintf(out, outlen, "%s", l->data + 14);
	}
	curl_slist_free_all(resolve);
	curl_easy_cleanup(c);
}

static void test_reload_certificate(void **state)
{
	struct sr_http_config cfg;
	struct sr_http_server *srv = NULL;
	char err[256] = "";
	char cmd[512];
	char s0[128], s1[128], s2[128], s3[128];
	uint16_t port;

	(void)state;
	snprintf(cmd, sizeof cmd, "cd %s && cp -p server.crt cur.crt && cp -p server.key cur.key", g_dir);
	assert_int_equal(system(cmd), 0);
	memset(&cfg, 0, sizeof cfg);
	cfg.bind_addr = "127.0.0.1";
	cfg.cert_file = path_in("cur.crt");
	cfg.key_file = path_in("cur.key");
	cfg.client_ca_file = path_in("ca.crt");  /* mutual TLS survives reloads */
	cfg.peer_name = "client.test";
	cfg.routes = routes;
	cfg.n_routes = sizeof routes / sizeof routes[0];
	cfg.name = "test-reload";
	srv = sr_http_start(&cfg, err, sizeof err);
	assert_non_null(srv);
	port = sr_http_port(srv);
	served_serial(port, 1, s0, sizeof s0);
	assert_true(strlen(s0) > 0);

	/* Same files: reloads fine, same certificate. */
	assert_int_equal(sr_http_reload(srv, err, sizeof err), 0);
	served_serial(port, 1, s1, sizeof s1);
	assert_string_equal(s1, s0);

	/* New certificate, old key: refused, the current pair stays. */
	snprintf(cmd, sizeof cmd, "cd %s && cp server2.crt cur.crt", g_dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sr_http_reload(srv, err, sizeof err), -1);
	assert_non_null(strstr(err, "does not match"));
	served_serial(port, 1, s1, sizeof s1);
	assert_string_equal(s1, s0);

	/* A group-readable key: refused. */
	snprintf(cmd, sizeof cmd, "cd %s && cp server2.key cur.key && chmod 640 cur.key", g_dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sr_http_reload(srv, err, sizeof err), -1);
	assert_non_null(strstr(err, "group or others"));

	/* The renewed pair: served from the next handshake on. */
	snprintf(cmd, sizeof cmd, "chmod 600 %s/cur.key", g_dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sr_http_reload(srv, err, sizeof err), 0);
	served_serial(port, 1, s2, sizeof s2);
	assert_true(strlen(s2) > 0);
	assert_string_not_equal(s2, s0);
	/* Still mutual TLS: no client certificate, no handshake. */
	served_serial(port, 0, s3, sizeof s3);
	assert_string_equal(s3, "");

	/* Garbage: refused. */
	snprintf(cmd, sizeof cmd, "echo garbage > %s/cur.crt", g_dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sr_http_reload(srv, err, sizeof err), -1);
	served_serial(port, 1, s3, sizeof s3);
	assert_string_equal(s3, s2);
	assert_int_equal(sr_http_reload(NULL, err, sizeof err), -1);
	sr_http_stop(srv);
}

static size_t on_data_discard(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return sz * n;
}

struct slow_req {
	uint16_t port;
	int ms;
	long status;
	CURLcode rc;
	char headers[2048];
};

static size_t on_hdr(char *p, size_t sz, size_t n, void *ud)
{
	struct slow_req *r = ud;
	size_t have = strlen(r->headers);

	if (have + sz * n < sizeof r->headers)
		memcpy(r->headers + have, p, sz * n);
	return sz * n;
}

static void *slow_client(void *arg)
{
	struct slow_req *r = arg;
	CURL *c = curl_easy_init();
	struct curl_slist *resolve = NULL;
	char url[128], res[64];

	snprintf(url, sizeof url, "https://localhost:%u/v1/slow?ms=%d", (unsigned)r->port, r->ms);
	snprintf(res, sizeof res, "localhost:%u:127.0.0.1", (unsigned)r->port);
	resolve = curl_slist_append(resolve, res);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(c, CURLOPT_CAINFO, path_in("ca.crt"));
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_hdr);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data_discard);
	r->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(resolve);
	curl_easy_cleanup(c);
	return NULL;
}

static struct sr_http_server *start_plain(const char *name)
{
	struct sr_http_config cfg;
	char err[256] = "";

	memset(&cfg, 0, sizeof cfg);
	cfg.bind_addr = "127.0.0.1";
	cfg.cert_file = path_in("server.crt");
	cfg.key_file = path_in("server.key");
	cfg.threads = 2;
	cfg.routes = routes;
	cfg.n_routes = sizeof routes / sizeof routes[0];
	cfg.name = name;
	return sr_http_start(&cfg, err, sizeof err);
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static void test_drain(void **state)
{
	struct sr_http_server *srv = start_plain("test-drain");
	struct slow_req r;
	pthread_t th;
	struct resp after;
	struct reqopt o = { .method = "GET", .path = "/v1/ping", .body_len = -1 };
	uint16_t saved = g_tls_port;
	double t0;

	(void)state;
	assert_non_null(srv);
	memset(&r, 0, sizeof r);
	r.port = sr_http_port(srv);
	r.ms = 800;
	assert_int_equal(pthread_create(&th, NULL, slow_client, &r), 0);
	usleep(300 * 1000);  /* the request is in its handler now */
	t0 = now_ms();
	assert_int_equal(sr_http_drain(srv, 5000), 0);
	/* It waited for the request, not for the grace period. */
	assert_true(now_ms() - t0 >= 300.0);
	assert_true(now_ms() - t0 < 3000.0);
	/* New connections are refused at once. */
	g_tls_port = r.port;
	do_req(&o, &after);
	g_tls_port = saved;
	assert_int_equal(after.rc, CURLE_COULDNT_CONNECT);
	resp_free(&after);
	pthread_join(th, NULL);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_non_null(strcasestr(r.headers, "Connection: close"));
	assert_int_equal(sr_http_drain(srv, 100), 0); /* twice is harmless */
	sr_http_stop(srv);

	/* The grace period bounds the wait: a request still running is
	 * reported as abandoned. */
	srv = start_plain("test-drain-2");
	assert_non_null(srv);
	memset(&r, 0, sizeof r);
	r.port = sr_http_port(srv);
	r.ms = 1500;
	assert_int_equal(pthread_create(&th, NULL, slow_client, &r), 0);
	usleep(300 * 1000);
	t0 = now_ms();
	assert_int_equal(sr_http_drain(srv, 200), 1);
	assert_true(now_ms() - t0 < 1000.0);
	sr_http_stop(srv);
	pthread_join(th, NULL);
	assert_int_equal(sr_http_drain(NULL, 10), 0);
}

static void test_start_errors(void **state)
{
	struct sr_http_config cfg;
	char err[256] = "";
	char cmd[256];

	(void)state;
	memset(&cfg, 0, sizeof cfg);
	cfg.bind_addr = "127.0.0.1";
	cfg.cert_file = path_in("server.crt");
	cfg.key_file = path_in("missing.key");
	cfg.routes = routes;
	cfg.n_routes = 1;
	assert_null(sr_http_start(&cfg, err, sizeof err));
	assert_non_null(strstr(err, "missing.key"));

	/* A key readable by others is refused (PCI DSS 3.6.1). */
	snprintf(cmd, sizeof cmd, "cp %s/server.key %s/loose.key && chmod 644 %s/loose.key", g_dir,
	         g_dir, g_dir);
	assert_int_equal(system(cmd), 0);
	cfg.key_file = path_in("loose.key");
	err[0] = '\0';
	assert_null(sr_http_start(&cfg, err, sizeof err));
	assert_non_null(strstr(err, "loose.key"));

	/* mTLS without a peer name is a configuration error. */
	cfg.key_file = path_in("server.key");
	cfg.client_ca_file = path_in("ca.crt");
	assert_null(sr_http_start(&cfg, err, sizeof err));

	/* Port already in use. */
	cfg.client_ca_file = NULL;
	cfg.port = g_tls_port;
	assert_null(sr_http_start(&cfg, err, sizeof err));
	assert_true(strlen(err) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_json),
		cmocka_unit_test(test_404_405),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_mtls_accepts_client),
		cmocka_unit_test(test_mtls_no_cert),
		cmocka_unit_test(test_mtls_other_ca),
		cmocka_unit_test(test_mtls_wrong_name),
		cmocka_unit_test(test_mtls_server_purpose),
		cmocka_unit_test(test_access_log),
		cmocka_unit_test(test_tls_versions),
		cmocka_unit_test(test_no_pkcs11_modules),
		cmocka_unit_test(test_sigpipe_ignored),
		cmocka_unit_test(test_start_errors),
		cmocka_unit_test(test_reload_certificate),
		cmocka_unit_test(test_drain),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
