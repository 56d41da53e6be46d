/*
 * http_fixture: what the sr_http unit tests share (test_sr_http.c, the
 * server; test_sr_http_request.c, reading requests and replies).
 * Header-only (static): a throwaway PKI (fx_pki, tests/unit/fixture.h) in a
 * scratch directory, two servers on 127.0.0.1 (kernel-chosen ports), one TLS-only
 * and one mutual TLS, as the cmocka group setup/teardown; the test handlers
 * and routes; a libcurl client (do_req) and the API's error-shape check.
 */
#ifndef HTTP_FIXTURE_H
#define HTTP_FIXTURE_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/sr_http.h"
#include "tests/unit/fixture.h"

static char g_dir[64];
static struct sr_http_server *g_tls = NULL;
static struct sr_http_server *g_mtls = NULL;
static uint16_t g_tls_port = 0;
static uint16_t g_mtls_port = 0;

/* ------------------------------------------------------------------ */
/* handlers                                                            */

static void h_ping(struct sr_http_request *req)
{
	sr_http_reply_json(req, 200, json_pack("{s:b, s:s}", "ok", 1, "app",
	                                       req->app != NULL ? (const char *)req->app : ""));
}

static void h_echo(struct sr_http_request *req)
{
	json_t *out = json_object();

	json_object_set(out, "json", req->json != NULL ? req->json : json_null());
	json_object_set(out, "form", req->form != NULL ? req->form : json_null());
	json_object_set_new(out, "body_len", json_integer((json_int_t)req->body_len));
	sr_http_reply_json(req, 200, out);
}

static void h_params(struct sr_http_request *req)
{
	sr_http_reply_json(req, 200, json_pack("{s:s, s:s, s:b}", "a", req->params[0], "b",
	                                       req->params[1], "third_null",
	                                       req->params[2] == NULL));
}

static void h_noreply(struct sr_http_request *req)
{
	(void)req;
}

static void h_whoami(struct sr_http_request *req)
{
	sr_http_reply_json(req, 200, json_pack("{s:s?}", "peer", req->peer));
}

static void h_misc(struct sr_http_request *req)
{
	sr_http_add_header(req, "X-Test", "yes");
	sr_http_add_header(req, "X-Bad", "a\r\nInjected: 1"); /* must be dropped */
	sr_http_reply_json(req, 201, json_pack("{s:s?, s:s?, s:s?}", "q", sr_http_query(req, "q"),
	                                       "bearer", sr_http_bearer(req), "hdr",
	                                       sr_http_header(req, "x-custom")));
}

static void h_raw(struct sr_http_request *req)
{
	sr_http_reply_raw(req, 200, "text/plain", "hello", 5);
}

static void h_err(struct sr_http_request *req)
{
	sr_http_reply_error(req, 402, "card_error", "incorrect_number", "Your card number is incorrect.",
	                    "card[number]");
	/* A second reply is a handler bug: ignored, the first one is sent. */
	sr_http_reply_json(req, 200, json_object());
}

/* A slow handler (ms from ?ms=), for the drain tests. */
static void h_slow(struct sr_http_request *req)
{
	const char *ms = sr_http_query(req, "ms");

	usleep((useconds_t)(ms != NULL ? atoi(ms) : 500) * 1000u);
	sr_http_reply_json(req, 200, json_pack("{s:s}", "slow", "done"));
}

static const struct sr_route routes[] = {
	{ .method = "GET", .pattern = "/v1/slow", .handler = h_slow },
	{ .method = "POST", .pattern = "/v1/err", .handler = h_err },
	{ .method = "GET", .pattern = "/v1/ping", .handler = h_ping },
	{ .method = "POST", .pattern = "/v1/echo", .handler = h_echo },
	{ .method = "GET", .pattern = "/v1/items/{}/sub/{}", .handler = h_params },
	{ .method = "GET", .pattern = "/v1/noreply", .handler = h_noreply },
	{ .method = "GET", .pattern = "/v1/whoami", .handler = h_whoami },
	{ .method = "GET", .pattern = "/v1/misc", .handler = h_misc },
	{ .method = "GET", .pattern = "/v1/raw", .handler = h_raw },
};

/* ------------------------------------------------------------------ */
/* PKI and servers                                                     */

static char *path_in(const char *name)
{
	static char buf[8][128];
	static int i = 0;
	char *p = buf[i++ % 8];

	snprintf(p, 128, "%s/%s", g_dir, name);
	return p;
}

static int setup(void **state)
{
	char err[256] = "";
	struct sr_http_config cfg;

	(void)state;
	if (fx_tmpdir(g_dir, sizeof g_dir, "sr_http_test.") != 0 ||
	    fx_pki(g_dir, "ca ca; ca otherca\n"
	                  "leaf server ca serverAuth localhost\n"
	                  "leaf client ca clientAuth client.test\n"
	                  "leaf wrongname ca clientAuth other.test\n"
	                  "leaf foreign otherca clientAuth client.test\n"
	                  "leaf srvpurpose ca serverAuth client.test\n"
	                  "leaf server2 ca serverAuth localhost\n") != 0) {
		fprintf(stderr, "PKI generation failed\n");
		return -1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);

	memset(&cfg, 0, sizeof cfg);
	cfg.bind_addr = "127.0.0.1";
	cfg.port = 0;
	cfg.cert_file = path_in("server.crt");
	cfg.key_file = path_in("server.key");
	cfg.max_body = 1024;
	cfg.threads = 2;
	cfg.routes = routes;
	cfg.n_routes = sizeof routes / sizeof routes[0];
	cfg.app = (void *)"appctx";
	cfg.name = "test-tls";
	cfg.accept_form = 1;
	g_tls = sr_http_start(&cfg, err, sizeof err);
	if (g_tls == NULL) {
		fprintf(stderr, "start: %s\n", err);
		return -1;
	}
	g_tls_port = sr_http_port(g_tls);

	cfg.client_ca_file = path_in("ca.crt");
	cfg.peer_name = "client.test";
	cfg.name = "test-mtls";
	cfg.accept_form = 0;
	g_mtls = sr_http_start(&cfg, err, sizeof err);
	if (g_mtls == NULL) {
		fprintf(stderr, "start mtls: %s\n", err);
		return -1;
	}
	g_mtls_port = sr_http_port(g_mtls);
	return g_tls_port != 0 && g_mtls_port != 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sr_http_stop(g_tls);
	sr_http_stop(g_mtls);
	curl_global_cleanup();
	return fx_rmtree(g_dir);
}

/* ------------------------------------------------------------------ */
/* client                                                              */

struct buf {
	char *data;
	size_t len;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	struct buf *b = ud;
	char *nd = realloc(b->data, b->len + sz * n + 1);

	if (nd == NULL)
		return 0;
	b->data = nd;
	memcpy(b->data + b->len, p, sz * n);
	b->len += sz * n;
	b->data[b->len] = '\0';
	return sz * n;
}

struct resp {
	CURLcode rc;
	long status;
	struct buf body;
	struct buf headers;
	json_t *json;
};

struct reqopt {
	const char *method;
	const char *path;
	const char *ctype;
	const char *body;
	long body_len;          /* -1: strlen(body) */
	const char *hdr1;
	const char *hdr2;
	const char *client;     /* basename of the client cert/key, or NULL */
	long sslversion;        /* CURLOPT_SSLVERSION, 0 for the default */
	int mtls;
	CURL *reuse;            /* optional handle to reuse (keep-alive) */
};

static void do_req(const struct reqopt *o, struct resp *r)
{
	CURL *c = o->reuse != NULL ? o->reuse : curl_easy_init();
	struct curl_slist *hl = NULL;
	struct curl_slist *resolve = NULL;
	char url[256];
	char res[64];
	char ct[128];
	uint16_t port = o->mtls ? g_mtls_port : g_tls_port;

	memset(r, 0, sizeof *r);
	snprintf(url, sizeof url, "https://localhost:%u%s", (unsigned)port, o->path);
	snprintf(res, sizeof res, "localhost:%u:127.0.0.1", (unsigned)port);
	resolve = curl_slist_append(resolve, res);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(c, CURLOPT_CAINFO, path_in("ca.crt"));
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
	if (o->client != NULL) {
		char crt[64], key[64];
		snprintf(crt, sizeof crt, "%s.crt", o->client);
		snprintf(key, sizeof key, "%s.key", o->client);
		curl_easy_setopt(c, CURLOPT_SSLCERT, path_in(crt));
		curl_easy_setopt(c, CURLOPT_SSLKEY, path_in(key));
	}
	if (o->ctype != NULL) {
		snprintf(ct, sizeof ct, "Content-Type: %s", o->ctype);
		hl = curl_slist_append(hl, ct);
	}
	if (o->hdr1 != NULL)
		hl = curl_slist_append(hl, o->hdr1);
	if (o->hdr2 != NULL)
		hl = curl_slist_append(hl, o->hdr2);
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (o->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
		                 o->body_len >= 0 ? o->body_len : (long)strlen(o->body));
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, o->method);
	if (o->sslversion != 0)
		curl_easy_setopt(c, CURLOPT_SSLVERSION, o->sslversion);
	r->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body.data != NULL)
		r->json = json_loads(r->body.data, 0, NULL);
	curl_slist_free_all(hl);
	curl_slist_free_all(resolve);
	if (o->reuse == NULL)
		curl_easy_cleanup(c);
}

static void resp_free(struct resp *r)
{
	free(r->body.data);
	free(r->headers.data);
	json_decref(r->json);
}

static int has_header(const struct resp *r, const char *line)
{
	return r->headers.data != NULL && strcasestr(r->headers.data, line) != NULL;
}

/* Asserts the API's error shape and returns the error object. */
static json_t *check_error(const struct resp *r, long status, const char *type, const char *code)
{
	json_t *e = NULL;

	assert_int_equal(r->rc, CURLE_OK);
	assert_int_equal(r->status, status);
	assert_non_null(r->json);
	e = json_object_get(r->json, "error");
	assert_true(json_is_object(e));
	assert_string_equal(json_string_value(json_object_get(e, "type")), type);
	assert_string_equal(json_string_value(json_object_get(e, "code")), code);
	assert_true(json_is_string(json_object_get(e, "message")));
	assert_true(json_is_string(json_object_get(e, "request_id")));
	assert_true(has_header(r, "X-Request-Id: "));
	assert_true(has_header(r, "Cache-Control: no-store"));
	assert_true(has_header(r, "X-Content-Type-Options: nosniff"));
	assert_true(has_header(r, "Content-Type: application/json"));
	return e;
}

#endif
