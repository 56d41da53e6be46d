/*
 * Unit tests for common/sr_http: a throwaway PKI made with openssl in a
 * mkdtemp directory, two servers on 127.0.0.1 (kernel-chosen ports), one
 * TLS-only and one mutual TLS, exercised with libcurl.
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

#include "common/sr_http.h"

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

static const char PKI_SH[] =
	"set -e\n"
	"cd \"$1\"\n"
	"q() { \"$@\" >/dev/null 2>&1; }\n"
	"mkca() { q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
	" -keyout $1.key -out $1.crt -days 2 -subj \"/CN=$1\""
	" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign; }\n"
	"mkcert() {\n"
	"  q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $1.key"
	" -out $1.csr -subj \"/CN=$3\"\n"
	"  printf 'subjectAltName=DNS:%s\\nextendedKeyUsage=%s\\nbasicConstraints=CA:FALSE\\n"
	"keyUsage=digitalSignature\\n' \"$3\" \"$4\" > $1.ext\n"
	"  q openssl x509 -req -in $1.csr -CA $2.crt -CAkey $2.key -CAcreateserial -out $1.crt"
	" -days 2 -extfile $1.ext\n"
	"}\n"
	"mkca ca; mkca otherca\n"
	"mkcert server ca localhost serverAuth\n"
	"mkcert client ca client.test clientAuth\n"
	"mkcert wrongname ca other.test clientAuth\n"
	"mkcert foreign otherca client.test clientAuth\n"
	"mkcert srvpurpose ca client.test serverAuth\n"
	"mkcert server2 ca localhost serverAuth\n"
	"chmod 600 *.key\n"
	"chmod 644 ca.crt\n";

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
	char cmd[256];
	char err[256] = "";
	FILE *f = NULL;
	struct sr_http_config cfg;

	(void)state;
	snprintf(g_dir, sizeof g_dir, "/tmp/sr_http_test.XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		return -1;
	f = fopen(path_in("pki.sh"), "w");
	if (f == NULL)
		return -1;
	fputs(PKI_SH, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "sh %s/pki.sh %s", g_dir, g_dir);
	if (system(cmd) != 0) {
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
	g_tls = sr_http_start(&cfg, err, sizeof err);
	if (g_tls == NULL) {
		fprintf(stderr, "start: %s\n", err);
		return -1;
	}
	g_tls_port = sr_http_port(g_tls);

	cfg.client_ca_file = path_in("ca.crt");
	cfg.peer_name = "client.test";
	cfg.name = "test-mtls";
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
	char cmd[256];

	(void)state;
	sr_http_stop(g_tls);
	sr_http_stop(g_mtls);
	curl_global_cleanup();
	snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
	return system(cmd) == 0 ? 0 : -1;
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

static size_t on_data_discard(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return sz * n;
}

static int has_header(const struct resp *r, const char *line)
{
	return r->headers.data != NULL && strcasestr(r->headers.data, line) != NULL;
}

/* Asserts BRIEF.md's error shape and returns the error object. */
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

static void test_request_id(void **state)
{
	struct reqopt o = { .method = "GET", .path = "/v1/nope", .body_len = -1,
	                    .hdr1 = "X-Request-Id: req_abc_DEF-123" };
	struct resp r;
	json_t *e = NULL;
	static const char *const refused[] = {
		"X-Request-Id: 4242424242424242",          /* a card number */
		"X-Request-Id: req_4242-4242-4242-4242",   /* one split by separators */
		"X-Request-Id: abc_DEF-123",               /* not one of ours */
	};
	size_t i;

	(void)state;
	do_req(&o, &r);
	e = check_error(&r, 404, "invalid_request_error", "resource_missing");
	assert_string_equal(json_string_value(json_object_get(e, "request_id")), "req_abc_DEF-123");
	assert_true(has_header(&r, "X-Request-Id: req_abc_DEF-123"));
	assert_null(json_object_get(e, "param"));
	resp_free(&r);

	/* BRIEF invariant 1: an id that could carry a PAN is replaced. */
	for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		o.hdr1 = refused[i];
		do_req(&o, &r);
		e = check_error(&r, 404, "invalid_request_error", "resource_missing");
		assert_null(strstr(json_string_value(json_object_get(e, "request_id")), "4242"));
		assert_null(strstr(r.headers.data, refused[i] + strlen("X-Request-Id: ")));
		resp_free(&r);
	}

	/* An invalid id is replaced, never echoed. */
	o.hdr1 = "X-Request-Id: bad<id>";
	do_req(&o, &r);
	e = check_error(&r, 404, "invalid_request_error", "resource_missing");
	assert_int_equal(strncmp(json_string_value(json_object_get(e, "request_id")), "req_", 4), 0);
	assert_null(strstr(r.headers.data, "bad<id>"));
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

static void test_json_body(void **state)
{
	struct reqopt o = { .method = "POST", .path = "/v1/echo", .ctype = "application/json; charset=utf-8",
	                    .body = "{\"a\":1,\"b\":\"x\"}", .body_len = -1 };
	struct resp r;
	json_t *j = NULL;

	(void)state;
	do_req(&o, &r);
	assert_int_equal(r.status, 200);
	j = json_object_get(r.json, "json");
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "b")), "x");
	assert_true(json_is_null(json_object_get(r.json, "form")));
	resp_free(&r);
}

static void test_invalid_json(void **state)
{
	struct reqopt o = { .method = "POST", .path = "/v1/echo", .ctype = "application/json",
	                    .body = "{\"card\":{\"number\":\"4242424242424242\",", .body_len = -1 };
	struct resp r;

	(void)state;
	do_req(&o, &r);
	check_error(&r, 400, "invalid_request_error", "invalid_json");
	/* Never echo the body (it may hold a card number). */
	assert_null(strstr(r.body.data, "4242"));
	resp_free(&r);

	/* Duplicate keys are invalid JSON for us (JSON_REJECT_DUPLICATES). */
	o.body = "{\"number\":\"4242424242424242\",\"number\":\"1\"}";
	do_req(&o, &r);
	check_error(&r, 400, "invalid_request_error", "invalid_json");
	assert_null(strstr(r.body.data, "4242"));
	assert_null(strstr(r.body.data, "number"));
	resp_free(&r);
}

static void test_too_large(void **state)
{
	char big[2048];
	struct reqopt o = { .method = "POST", .path = "/v1/echo", .ctype = "application/json",
	                    .body = big, .body_len = -1 };
	struct resp r;

	(void)state;
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	do_req(&o, &r);
	check_error(&r, 413, "invalid_request_error", "request_too_large");
	resp_free(&r);

	/* Exactly max_body is fine. */
	big[1024] = '\0';
	o.ctype = "text/plain";
	do_req(&o, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "body_len")), 1024);
	resp_free(&r);

	/* Chunked (no Content-Length) beyond max_body: 411 before reading. */
	big[1024] = 'a';
	o.hdr1 = "Transfer-Encoding: chunked";
	do_req(&o, &r);
	assert_int_not_equal(r.status, 200);
	assert_true(r.status == 411 || r.status == 413);
	resp_free(&r);
}

static void test_length_required(void **state)
{
	struct reqopt o = { .method = "POST", .path = "/v1/echo", .ctype = "application/json",
	                    .body = "{\"a\":1}", .body_len = -1,
	                    .hdr1 = "Transfer-Encoding: chunked" };
	struct resp r;

	(void)state;
	do_req(&o, &r);
	check_error(&r, 411, "invalid_request_error", "length_required");
	resp_free(&r);
}

static void test_form(void **state)
{
	struct reqopt o = { .method = "POST", .path = "/v1/echo",
	                    .ctype = "application/x-www-form-urlencoded",
	                    .body = "type=card&card%5Bnumber%5D=4242424242424242&card[cvc]=123&"
	                            "metadata[payment_id]=pay_1&msg=a+b%21&empty=",
	                    .body_len = -1 };
	struct resp r;
	json_t *f = NULL;

	(void)state;
	do_req(&o, &r);
	assert_int_equal(r.status, 200);
	f = json_object_get(r.json, "form");
	assert_true(json_is_object(f));
	assert_string_equal(json_string_value(json_object_get(f, "type")), "card");
	assert_string_equal(json_string_value(json_object_get(f, "card[number]")), "4242424242424242");
	assert_string_equal(json_string_value(json_object_get(f, "card[cvc]")), "123");
	assert_string_equal(json_string_value(json_object_get(f, "metadata[payment_id]")), "pay_1");
	assert_string_equal(json_string_value(json_object_get(f, "msg")), "a b!");
	assert_string_equal(json_string_value(json_object_get(f, "empty")), "");
	assert_true(json_is_null(json_object_get(r.json, "json")));
	resp_free(&r);

	o.body = "amount=100&currency=usd&amount=1";
	do_req(&o, &r);
	check_error(&r, 400, "invalid_request_error", "duplicate_parameter");
	resp_free(&r);
}

/* A value larger than the post processor's buffer arrives in pieces. */
static void test_form_large_value(void **state)
{
	struct sr_http_config cfg;
	struct sr_http_server *srv = NULL;
	char err[256] = "";
	uint16_t saved_port = g_tls_port;
	static char body[12100];
	struct reqopt o = { .method = "POST", .path = "/v1/echo",
	                    .ctype = "application/x-www-form-urlencoded", .body = body,
	                    .body_len = -1 };
	struct resp r;
	const char *v = NULL;
	size_t i;

	(void)state;
	memset(&cfg, 0, sizeof cfg);
	cfg.bind_addr = "127.0.0.1";
	cfg.cert_file = path_in("server.crt");
	cfg.key_file = path_in("server.key");
	cfg.routes = routes;
	cfg.n_routes = sizeof routes / sizeof routes[0];
	cfg.max_body = 0; /* default 64 KiB */
	cfg.threads = 1;
	srv = sr_http_start(&cfg, err, sizeof err);
	assert_non_null(srv);
	g_tls_port = sr_http_port(srv);

	strcpy(body, "a=1&big=");
	for (i = 0; i < 12000; i++)
		body[8 + i] = (char)('a' + i % 26);
	strcpy(body + 8 + 12000, "&z=2");
	do_req(&o, &r);
	assert_int_equal(r.status, 200);
	v = json_string_value(json_object_get(json_object_get(r.json, "form"), "big"));
	assert_non_null(v);
	assert_int_equal(strlen(v), 12000);
	assert_memory_equal(v, body + 8, 12000);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "form"), "z")), "2");
	resp_free(&r);

	/* 65 KiB: over the default limit. */
	{
		char *huge = malloc(66 * 1024 + 1);
		assert_non_null(huge);
		memset(huge, 'x', 66 * 1024);
		huge[66 * 1024] = '\0';
		o.body = huge;
		do_req(&o, &r);
		check_error(&r, 413, "invalid_request_error", "request_too_large");
		resp_free(&r);
		free(huge);
	}
	g_tls_port = saved_port;
	sr_http_stop(srv);
}

static void test_noreply_500(void **state)
{
	struct reqopt o = { .method = "GET", .path = "/v1/noreply", .body_len = -1 };
	struct resp r;

	(void)state;
	do_req(&o, &r);
	check_error(&r, 500, "api_error", "internal_error");
	resp_free(&r);
}

static void test_error_param(void **state)
{
	struct reqopt o = { .method = "POST", .path = "/v1/err", .body = "", .body_len = 0 };
	struct resp r;
	json_t *e = NULL;

	(void)state;
	do_req(&o, &r);
	e = check_error(&r, 402, "card_error", "incorrect_number");
	assert_string_equal(json_string_value(json_object_get(e, "param")), "card[number]");
	assert_string_equal(json_string_value(json_object_get(e, "message")),
	                    "Your card number is incorrect.");
	resp_free(&r);
}

static void test_misc(void **state)
{
	struct reqopt o = { .method = "GET", .path = "/v1/misc?q=hello&x=1", .body_len = -1,
	                    .hdr1 = "Authorization: Bearer sk_test_123",
	                    .hdr2 = "X-Custom: value" };
	struct resp r;

	(void)state;
	do_req(&o, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(json_string_value(json_object_get(r.json, "q")), "hello");
	assert_string_equal(json_string_value(json_object_get(r.json, "bearer")), "sk_test_123");
	assert_string_equal(json_string_value(json_object_get(r.json, "hdr")), "value");
	assert_true(has_header(&r, "X-Test: yes"));
	assert_null(strstr(r.headers.data, "Injected"));
	resp_free(&r);

	o.hdr1 = "Authorization: Basic abc";
	o.path = "/v1/misc";
	do_req(&o, &r);
	assert_int_equal(r.status, 201);
	assert_true(json_is_null(json_object_get(r.json, "bearer")));
	assert_true(json_is_null(json_object_get(r.json, "q")));
	resp_free(&r);

	o.path = "/v1/raw";
	do_req(&o, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "hello");
	assert_true(has_header(&r, "Content-Type: text/plain"));
	assert_true(has_header(&r, "Cache-Control: no-store"));
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
	/* The second request reused the connection (BRIEF pitfall: keep-alive). */
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
 * number in the path never (BRIEF invariant 1). */
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
 * OpenSC) into a daemon using sr_http (BRIEF invariant 1 for the gateway). */
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
		cmocka_unit_test(test_request_id),
		cmocka_unit_test(test_404_405),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_json_body),
		cmocka_unit_test(test_invalid_json),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_length_required),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_form_large_value),
		cmocka_unit_test(test_noreply_500),
		cmocka_unit_test(test_error_param),
		cmocka_unit_test(test_misc),
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
