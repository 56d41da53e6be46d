/*
 * Unit tests for common/sr_http, reading requests and replies: the request
 * id, JSON and form bodies, body limits (413, 411), the error object, the
 * missing reply, headers, query string, bearer token and raw replies.
 * Fixture (PKI, servers, client): tests/unit/http_fixture.h.
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
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "tests/unit/http_fixture.h"

/* ------------------------------------------------------------------ */
/* tests                                                               */

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

	/* No PAN outside the CDE: an id that could carry a PAN is replaced. */
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

	/* Exactly max_body is fine (a JSON array of one string, 1,024 bytes). */
	big[0] = '[';
	big[1] = '"';
	big[1022] = '"';
	big[1023] = ']';
	big[1024] = '\0';
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

/* A client that uploads as a browser or an SDK does on a slow link: the
 * headers, then a body of body_len bytes in 4 KiB records 5 ms apart, and
 * only then reads the answer into out (NUL-terminated). @return bytes read;
 * -2 if the server stopped reading before the body was sent (a client such
 * as curl then fails with a send error and never sees the answer); -1 if no
 * answer arrived. */
static long post_then_read(uint16_t port, const char *hdrs, size_t body_len,
                           char *out, size_t out_len)
{
	gnutls_session_t s = NULL;
	gnutls_certificate_credentials_t x = NULL;
	struct sockaddr_in a;
	const struct timespec pause = { 0, 5 * 1000000L };
	char piece[4096];
	size_t off = 0, got = 0;
	int fd = -1, rc = 0, send_failed = 0;

	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(gnutls_certificate_allocate_credentials(&x), 0);
	assert_int_equal(gnutls_init(&s, GNUTLS_CLIENT), 0);
	assert_int_equal(gnutls_set_default_priority(s), 0);
	assert_int_equal(gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, x), 0);
	gnutls_transport_set_int(s, fd);
	do
		rc = gnutls_handshake(s);
	while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
	assert_int_equal(rc, 0);
	assert_int_equal(gnutls_record_send(s, hdrs, strlen(hdrs)), (ssize_t)strlen(hdrs));
	memset(piece, 'x', sizeof piece);
	while (off < body_len && !send_failed) {
		size_t len = body_len - off < sizeof piece ? body_len - off : sizeof piece;
		ssize_t n = 0;

		nanosleep(&pause, NULL);
		do
			n = gnutls_record_send(s, piece, len);
		while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
		if (n < 0)
			send_failed = 1;
		else
			off += (size_t)n;
	}
	while (!send_failed && got + 1 < out_len) {
		ssize_t n = gnutls_record_recv(s, out + got, out_len - 1 - got);

		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(x);
	close(fd);
	return send_failed ? -2 : got > 0 ? (long)got : -1;
}

/* Attack (RFC 9112 §9.6): a body over the limit, uploaded by a client that
 * reads the answer once its body is sent (no Expect: 100-continue), gets
 * its 413. A server that answers from the headers alone and stops reading
 * makes the client's next write fail (reset), and the merchant sees a
 * broken connection instead of request_too_large (seen in CI with curl). */
static void test_too_large_answer_survives(void **state)
{
	char hdrs[256];
	char out[4096];
	const size_t lens[] = { 2048, 66 * 1024 };
	size_t i;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		snprintf(hdrs, sizeof hdrs,
		         "POST /v1/echo HTTP/1.1\r\nHost: localhost\r\n"
		         "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", lens[i]);
		assert_int_not_equal(post_then_read(g_tls_port, hdrs, lens[i], out, sizeof out), -2);
		assert_non_null(strstr(out, "HTTP/1.1 413"));
		assert_non_null(strstr(out, "request_too_large"));
	}
	/* A client waiting for 100 Continue has sent no body: answered at once,
	 * and so is one declaring more than the server drains (1 MiB). */
	snprintf(hdrs, sizeof hdrs,
	         "POST /v1/echo HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
	         "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", 66 * 1024);
	assert_true(post_then_read(g_tls_port, hdrs, 0, out, sizeof out) > 0);
	assert_non_null(strstr(out, "HTTP/1.1 413"));
	assert_null(strstr(out, "100 Continue"));
	snprintf(hdrs, sizeof hdrs,
	         "POST /v1/echo HTTP/1.1\r\nHost: localhost\r\n"
	         "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", 2 << 20);
	assert_true(post_then_read(g_tls_port, hdrs, 0, out, sizeof out) > 0);
	assert_non_null(strstr(out, "HTTP/1.1 413"));
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
	cfg.accept_form = 1;
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

/* Attack (issue 15 item 5): a body that is not JSON never reaches a handler
 * as "no body" (to a capture or refund that means the full amount). The
 * fixture's TLS listener accepts forms, its mutual-TLS one does not. */
static void test_body_not_json_415(void **state)
{
	static const char *const ctypes[] = { "text/plain", "application/xml", "multipart/form-data",
	                                      "application/jsonx", "application/x-www-form-urlencodedx" };
	struct reqopt o = { .method = "POST", .path = "/v1/echo", .body = "{\"amount\":100}",
	                    .body_len = -1 };
	struct resp r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof ctypes / sizeof ctypes[0]; i++) {
		o.ctype = ctypes[i];
		do_req(&o, &r);
		check_error(&r, 415, "invalid_request_error", "unsupported_media_type");
		resp_free(&r);
	}
	/* A form where forms are not accepted (the mutual-TLS listener). */
	o.mtls = 1;
	o.client = "client";
	o.ctype = "application/x-www-form-urlencoded";
	o.body = "amount=100";
	do_req(&o, &r);
	check_error(&r, 415, "invalid_request_error", "unsupported_media_type");
	resp_free(&r);
	/* JSON with parameters, and an empty body of any type, still pass. */
	o.ctype = "application/json; charset=utf-8";
	o.body = "{\"amount\":100}";
	do_req(&o, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r.json, "json"), "amount")), 100);
	resp_free(&r);
	o.ctype = "text/plain";
	o.body = "";
	do_req(&o, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_id),
		cmocka_unit_test(test_json_body),
		cmocka_unit_test(test_invalid_json),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_too_large_answer_survives),
		cmocka_unit_test(test_length_required),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_form_large_value),
		cmocka_unit_test(test_body_not_json_415),
		cmocka_unit_test(test_noreply_500),
		cmocka_unit_test(test_error_param),
		cmocka_unit_test(test_misc),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
