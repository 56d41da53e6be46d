/*
 * sr_http_reply: replies (see sr_http.h): JSON, error objects and raw
 * bodies, response headers, the standard headers, the access log line and
 * the request metrics.
 */
#include "common/sr_http_internal.h"
#include "common/sr_log.h"
#include "common/sr_metrics.h"
#include "common/sr_panscan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct sr_metric *g_http_requests, *g_http_latency, *g_http_rate_limited, *g_http_in_flight;
static pthread_once_t g_metrics_once = PTHREAD_ONCE_INIT;

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1000.0 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Copy path for logging with every segment that holds 12 or more digits
 * (however separated: "4242-4242-4242-4242") replaced: a path never
 * legitimately carries a card number, and a client that puts one there must
 * not get it into our logs (no PAN outside the CDE, PCI DSS 3.4.1). */
static void redact_path(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = in;

	if (outlen == 0)
		return;
	while (*p != '\0' && o + 1 < outlen) {
		size_t seg = strcspn(p, "/");

		if (sr_http_digit_count(p, seg) >= 12) {
			const char *r = "[redacted]";
			while (*r != '\0' && o + 1 < outlen)
				out[o++] = *r++;
		} else {
			size_t k;
			for (k = 0; k < seg && o + 1 < outlen; k++)
				out[o++] = p[k];
		}
		p += seg;
		if (*p == '/' && o + 1 < outlen)
			out[o++] = *p++;
	}
	out[o] = '\0';
}

/* ------------------------------------------------------------------ */
/* replies                                                             */

static void set_reply(struct req_state *st, unsigned status, struct MHD_Response *resp,
                      const char *content_type)
{
	if (st->replied) {
		/* A handler bug: keep the first reply. */
		sr_log(SR_LOG_ERROR, st->req.request_id, "http.double_reply", NULL);
		if (resp != NULL)
			MHD_destroy_response(resp);
		return;
	}
	st->replied = 1;
	st->status = status;
	st->resp = resp;
	if (resp != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
}

void sr_http_reply_reset(struct sr_http_request *req)
{
	struct req_state *st = (struct req_state *)req;
	struct hdr *h = NULL;

	if (st->resp != NULL)
		MHD_destroy_response(st->resp);
	st->resp = NULL;
	while ((h = st->headers) != NULL) {
		st->headers = h->next;
		free(h->name);
		free(h->value);
		free(h);
	}
	st->replied = 0;
	st->drop = 0;
	st->status = 0;
	st->err_code[0] = '\0';
}

void sr_http_reply_drop(struct sr_http_request *req)
{
	struct req_state *st = (struct req_state *)req;

	st->replied = 1;
	st->drop = 1;
}

void sr_http_reply_raw(struct sr_http_request *req, unsigned status, const char *content_type,
                       const void *data, size_t len)
{
	struct req_state *st = (struct req_state *)req;
	struct MHD_Response *resp = NULL;

	if (data == NULL || len == 0)
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	else
		resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)data,
		                                       MHD_RESPMEM_MUST_COPY);
	set_reply(st, status, resp, content_type != NULL ? content_type : "application/octet-stream");
}

void sr_http_reply_json(struct sr_http_request *req, unsigned status, json_t *body)
{
	struct req_state *st = (struct req_state *)req;
	struct MHD_Response *resp = NULL;
	char *text = NULL;

	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (text == NULL) {
			sr_log(SR_LOG_ERROR, req->request_id, "http.json_dump_failed", NULL);
			status = MHD_HTTP_INTERNAL_SERVER_ERROR;
			text = strdup("{\"error\":{\"type\":\"api_error\",\"code\":\"internal_error\","
			              "\"message\":\"Internal error.\"}}");
		}
	}
	if (text != NULL) {
		resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
		if (resp == NULL)
			free(text);
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	set_reply(st, status, resp, "application/json");
}

void sr_http_reply_error(struct sr_http_request *req, unsigned status, const char *type,
                         const char *code, const char *message, const char *param)
{
	json_t *err = NULL;

	err = json_pack("{s:s, s:s, s:s, s:s}", "type", type != NULL ? type : "api_error",
	                "code", code != NULL ? code : "internal_error",
	                "message", message != NULL ? message : "",
	                "request_id", req->request_id);
	if (err != NULL && param != NULL)
		json_object_set_new(err, "param", json_string(param));
	if (!((struct req_state *)req)->replied)
		snprintf(((struct req_state *)req)->err_code, sizeof ((struct req_state *)req)->err_code,
		         "%s", code != NULL ? code : "internal_error");
	sr_http_reply_json(req, status, err != NULL ? json_pack("{s:o}", "error", err) : NULL);
}

unsigned sr_http_reply_status(const struct sr_http_request *req)
{
	const struct req_state *st = (const struct req_state *)req;

	return st->replied && !st->drop ? st->status : 0;
}

const char *sr_http_reply_error_code(const struct sr_http_request *req)
{
	const struct req_state *st = (const struct req_state *)req;

	return st->err_code[0] != '\0' ? st->err_code : NULL;
}

void sr_http_add_header(struct sr_http_request *req, const char *name, const char *value)
{
	struct req_state *st = (struct req_state *)req;
	struct hdr *h = NULL;

	if (name == NULL || value == NULL)
		return;
	/* No header injection: CR/LF never reach the wire. */
	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL) {
		sr_log(SR_LOG_ERROR, req->request_id, "http.bad_header", "{s:s}", "name", "(invalid)");
		return;
	}
	h = calloc(1, sizeof *h);
	if (h == NULL)
		return;
	h->name = strdup(name);
	h->value = strdup(value);
	if (h->name == NULL || h->value == NULL) {
		free(h->name);
		free(h->value);
		free(h);
		return;
	}
	h->next = st->headers;
	st->headers = h;
}

/* Request metrics (PCI DSS 10.7 / operations): labelled by the route
 * pattern, never the path (a path may carry an id or, from a careless
 * client, a card number). */

static void metrics_init(void)
{
	static const char *const lreq[] = { "listener", "method", "route", "status", NULL };
	static const char *const llat[] = { "listener", "route", NULL };
	static const char *const llis[] = { "listener", NULL };

	g_http_requests = sr_metrics_counter("strongroom_http_requests_total",
	                                     "HTTP requests answered, by listener, method, route pattern and status.",
	                                     lreq);
	g_http_latency = sr_metrics_histogram("strongroom_http_request_duration_seconds",
	                                      "Time from request headers to response queued, seconds.",
	                                      llat, NULL, 0);
	g_http_rate_limited = sr_metrics_counter("strongroom_rate_limit_refusals_total",
	                                         "Requests refused with 429 Too Many Requests.", llis);
	g_http_in_flight = sr_metrics_gauge("strongroom_http_in_flight_requests",
	                                    "Requests being processed, by listener.", llis);
}

void sr_http_metrics_init(void)
{
	pthread_once(&g_metrics_once, metrics_init);
}

void sr_http_metrics_in_flight(const struct sr_http_server *srv)
{
	sr_metrics_set(g_http_in_flight, (double)srv->in_flight, srv->name);
}

static void observe_request(const struct req_state *st)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD",
	                                       "OPTIONS", NULL };
	const char *route = st->route != NULL ? st->route->pattern : "unmatched";
	const char *method = "other";
	char status[12];
	size_t i;

	for (i = 0; methods[i] != NULL; i++)
		if (strcmp(st->req.method, methods[i]) == 0)
			method = methods[i];
	snprintf(status, sizeof status, "%u", st->status);
	sr_metrics_add(g_http_requests, 1, st->srv->name, method, route, status);
	sr_metrics_observe(g_http_latency, sr_metrics_since(&st->t0), st->srv->name, route);
	if (st->status == MHD_HTTP_TOO_MANY_REQUESTS)
		sr_metrics_add(g_http_rate_limited, 1, st->srv->name);
}

/* Queue the reply built by the handler (or a 500), add the standard headers,
 * write the access log line. */
enum MHD_Result sr_http_queue_reply(struct req_state *st)
{
	struct hdr *h = NULL;
	enum MHD_Result r = MHD_NO;
	char path[256];
	int own_cache = 0;

	if (st->drop) {
		/* sr_http_reply_drop: the connection is closed, nothing is sent. */
		sr_log(SR_LOG_WARN, st->req.request_id, "http.reply_dropped", NULL);
		return MHD_NO;
	}
	if (!st->replied || st->resp == NULL) {
		if (!st->replied)
			sr_log(SR_LOG_ERROR, st->req.request_id, "http.no_reply", NULL);
		if (st->resp != NULL) {
			MHD_destroy_response(st->resp);
			st->resp = NULL;
		}
		st->replied = 0;
		sr_http_reply_status_error(st, MHD_HTTP_INTERNAL_SERVER_ERROR);
		if (st->resp == NULL)
			return MHD_NO;
	}
	/* Response headers are added in reverse order of the calls; order of
	 * distinct headers does not matter. */
	for (h = st->headers; h != NULL; h = h->next) {
		MHD_add_response_header(st->resp, h->name, h->value);
		if (strcasecmp(h->name, MHD_HTTP_HEADER_CACHE_CONTROL) == 0)
			own_cache = 1;
	}
	MHD_add_response_header(st->resp, "X-Request-Id", st->req.request_id);
	/* PCI DSS 3.4/6.2.4: never let responses (tokens, card metadata) be cached,
	 * unless the handler chose a policy itself (public static files). */
	if (!own_cache)
		MHD_add_response_header(st->resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(st->resp, "X-Content-Type-Options", "nosniff");
	/* Every listener is HTTPS only: browsers must never fall back to plain
	 * HTTP for the card fields, strongroom.js or the API (RFC 6797; PCI DSS
	 * v4.0 4.2.1). Two years, the preload lists' minimum is one. */
	MHD_add_response_header(st->resp, "Strict-Transport-Security", "max-age=63072000");
	if (st->srv->draining)
		MHD_add_response_header(st->resp, MHD_HTTP_HEADER_CONNECTION, "close");

	r = MHD_queue_response(st->conn, st->status, st->resp);
	MHD_destroy_response(st->resp);
	st->resp = NULL;
	st->queued = 1;

	redact_path(st->req.path != NULL ? st->req.path : "", path, sizeof path);
	if (st->pan_refused || sr_panscan_has_pan(path, strlen(path)))
		snprintf(path, sizeof path, "[redacted]"); /* a card number, in any shape */
	/* PCI DSS 10.2.1, 10.2.2: who (the verified peer, or the merchant and
	 * key a handler authenticated) and from where (the client address),
	 * what (method, route), when, outcome. */
	sr_log(st->status >= 500 ? SR_LOG_ERROR : SR_LOG_INFO, st->req.request_id, "http.request",
	       "{s:s, s:s, s:s, s:s?, s:i, s:f, s:s?, s:s?, s:s?, s:s?}",
	       "listener", st->srv->name, "method", st->req.method, "path", path,
	       "route", st->route != NULL ? st->route->pattern : NULL,
	       "status", (int)st->status, "duration_ms", elapsed_ms(&st->t0),
	       "peer", st->req.peer, "client", st->req.client[0] != '\0' ? st->req.client : NULL,
	       "merchant", st->req.merchant[0] != '\0' ? st->req.merchant : NULL,
	       "key_id", st->req.key_id[0] != '\0' ? st->req.key_id : NULL);
	observe_request(st);
	return r;
}

void sr_http_reply_status_error(struct req_state *st, unsigned status)
{
	static const struct {
		unsigned status;
		const char *type, *code, *message;
	} errs[] = {
		{ MHD_HTTP_NOT_FOUND, "invalid_request_error", "resource_missing",
		  "Unrecognized request URL." },
		{ MHD_HTTP_METHOD_NOT_ALLOWED, "invalid_request_error", "method_not_allowed",
		  "This method is not allowed for this URL." },
		{ MHD_HTTP_CONTENT_TOO_LARGE, "invalid_request_error", "request_too_large",
		  "The request body is too large." },
		{ MHD_HTTP_LENGTH_REQUIRED, "invalid_request_error", "length_required",
		  "A Content-Length header is required." },
		{ MHD_HTTP_BAD_REQUEST, "invalid_request_error", "request_framing_invalid",
		  "A request must not carry both Content-Length and Transfer-Encoding, nor "
		  "Content-Length twice." },
		{ MHD_HTTP_UNAUTHORIZED, "authentication_error", "client_certificate_required",
		  "A valid client certificate is required." },
		{ MHD_HTTP_INTERNAL_SERVER_ERROR, "api_error", "internal_error", "Internal error." },
	};
	size_t i = 0;

	/* Any other status: the last entry, 500. */
	while (i + 1 < sizeof errs / sizeof errs[0] && errs[i].status != status)
		i++;
	sr_http_reply_error(&st->req, errs[i].status, errs[i].type, errs[i].code, errs[i].message,
	                    NULL);
}
