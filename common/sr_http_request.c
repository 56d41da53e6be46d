/*
 * sr_http_request: reading a request (see sr_http.h): the request id,
 * body accumulation and limits, content type, form parsing, header,
 * query-string and peer-address access.
 */
#include "common/sr_http_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <sodium.h>

int sr_http_id_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* Digits in s (any position): a card number split by separators still
 * counts as its digits. */
size_t sr_http_digit_count(const char *s, size_t n)
{
	size_t i, d = 0;

	for (i = 0; i < n && s[i] != '\0'; i++)
		d += isdigit((unsigned char)s[i]) != 0;
	return d;
}

/* X-Request-Id is reused only when it looks like one of ours:
 * ^req_[A-Za-z0-9_-]{1,35}$ with fewer than 12 digits in all, so that a
 * client can never smuggle a card number into our logs, responses or the
 * gateway's database through it (no PAN outside the CDE). Anything else is
 * replaced by a fresh id, never echoed. */
int sr_http_valid_request_id(const char *s)
{
	size_t i;

	if (s == NULL || strncmp(s, "req_", 4) != 0 || s[4] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= sizeof(((struct sr_http_request *)0)->request_id) - 1 ||
		    !sr_http_id_char((unsigned char)s[i]))
			return 0;
	}
	return sr_http_digit_count(s, i) < 12;
}

/* Media type of a Content-Type value equals want (case-insensitive,
 * parameters such as "; charset=utf-8" ignored). */
static int media_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static int method_has_body(const char *m)
{
	return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}



/* Grow the body buffer, wiping the old copy (it may hold card data). */
static int body_reserve(struct req_state *st, size_t need)
{
	unsigned char *nb = NULL;
	size_t cap = st->body_cap == 0 ? 1024 : st->body_cap;

	if (need + 1 <= st->body_cap)
		return 0;
	while (cap < need + 1)
		cap *= 2;
	if (cap > st->srv->max_body + 1)
		cap = st->srv->max_body + 1;
	nb = malloc(cap);
	if (nb == NULL)
		return -1;
	if (st->body != NULL) {
		memcpy(nb, st->body, st->body_len);
		sodium_memzero(st->body, st->body_cap);
		free(st->body);
	}
	st->body = nb;
	st->body_cap = cap;
	return 0;
}

/* ------------------------------------------------------------------ */
/* body parsing                                                        */

static enum MHD_Result form_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *filename, const char *content_type,
                                 const char *transfer_encoding, const char *data,
                                 uint64_t off, size_t size)
{
	struct req_state *st = cls;
	json_t *cur = NULL;

	(void)kind;
	(void)filename;
	(void)content_type;
	(void)transfer_encoding;
	if (st->form_error != 0 || key == NULL)
		return MHD_NO;
	if (off == 0) {
		/* A new key (values arriving in several pieces have off > 0). */
		if (json_object_get(st->req.form, key) != NULL) {
			st->form_error = 1;
			return MHD_NO;
		}
		cur = json_stringn(data != NULL ? data : "", data != NULL ? size : 0);
		if (cur == NULL || json_object_set_new(st->req.form, key, cur) != 0) {
			st->form_error = 2; /* not UTF-8 */
			return MHD_NO;
		}
		free(st->form_key);
		st->form_key = strdup(key);
		if (st->form_key == NULL) {
			st->form_error = 2;
			return MHD_NO;
		}
		return MHD_YES;
	}
	/* Continuation of the current value. */
	if (st->form_key == NULL || strcmp(st->form_key, key) != 0) {
		st->form_error = 2;
		return MHD_NO;
	}
	cur = json_object_get(st->req.form, key);
	if (!json_is_string(cur)) {
		st->form_error = 2;
		return MHD_NO;
	}
	{
		size_t old = json_string_length(cur);
		char *joined = malloc(old + size + 1);
		int ok = 0;

		if (joined == NULL) {
			st->form_error = 2;
			return MHD_NO;
		}
		memcpy(joined, json_string_value(cur), old);
		if (size > 0)
			memcpy(joined + old, data, size);
		ok = json_string_setn(cur, joined, old + size) == 0;
		sodium_memzero(joined, old + size);
		free(joined);
		if (!ok) {
			st->form_error = 2;
			return MHD_NO;
		}
	}
	return MHD_YES;
}

/* Parse an application/x-www-form-urlencoded body with libmicrohttpd's post
 * processor into req->form. 0, or -1 with the error reply set. */
static int parse_form(struct req_state *st)
{
	struct MHD_PostProcessor *pp = NULL;
	enum MHD_Result r = MHD_YES;
	int rc = -1;

	st->req.form = json_object();
	if (st->req.form == NULL)
		goto out;
	if (st->body_len == 0) {
		rc = 0;
		goto out;
	}
	pp = MHD_create_post_processor(st->conn, 4096, form_iter, st);
	if (pp == NULL)
		goto bad;
	r = MHD_post_process(pp, (const char *)st->body, st->body_len);
	/* The last value is delivered when the processor is destroyed. */
	if (MHD_destroy_post_processor(pp) != MHD_YES)
		r = MHD_NO;
	pp = NULL;
	if (st->form_error == 1) {
		sr_http_reply_error(&st->req, MHD_HTTP_BAD_REQUEST, "invalid_request_error",
		                    "duplicate_parameter", "A parameter was given more than once.",
		                    NULL);
		goto out;
	}
	if (r != MHD_YES || st->form_error != 0)
		goto bad;
	rc = 0;
	goto out;
bad:
	sr_http_reply_error(&st->req, MHD_HTTP_BAD_REQUEST, "invalid_request_error",
	                    "invalid_form", "The form-encoded body could not be parsed.", NULL);
out:
	if (pp != NULL)
		MHD_destroy_post_processor(pp);
	return rc;
}

/* A client that sent "Expect: 100-continue" waits for our go-ahead before
 * sending its body: it can be answered at once (RFC 9110 §10.1.1). */
static int expects_continue(const struct req_state *st)
{
	const char *e = MHD_lookup_connection_value(st->conn, MHD_HEADER_KIND,
	                                            MHD_HTTP_HEADER_EXPECT);

	return e != NULL && strcasecmp(e, "100-continue") == 0;
}

/* A refusal decided from the headers: answered at once (and the connection
 * closed without reading the body) only when no body is on its way or too
 * much is; otherwise recorded, the body drained, and answered after it. */
static unsigned refuse(struct req_state *st, unsigned status, unsigned long long declared)
{
	if (expects_continue(st) || declared > SR_HTTP_DRAIN_MAX)
		return status;
	st->refusal = status;
	return 0;
}

static enum MHD_Result count_cl(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
	(void)kind;
	(void)value;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		(*(unsigned *)cls)++;
	return MHD_YES;
}

unsigned sr_http_early_refusal(struct req_state *st)
{
	const char *cl = MHD_lookup_connection_value(st->conn, MHD_HEADER_KIND,
	                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(st->conn, MHD_HEADER_KIND,
	                                             MHD_HTTP_HEADER_TRANSFER_ENCODING);
	unsigned ncl = 0;

	/* RFC 9112 6.1, 6.3: both framings, or two lengths, are ambiguous (a
	 * proxy in front may frame the bytes the other way: request smuggling).
	 * 400 at once, body unread, and the connection closed after it. */
	(void)MHD_get_connection_values(st->conn, MHD_HEADER_KIND, count_cl, &ncl);
	if (ncl > 1 || (cl != NULL && te != NULL)) {
		sr_http_add_header(&st->req, MHD_HTTP_HEADER_CONNECTION, "close");
		return MHD_HTTP_BAD_REQUEST;
	}
	if (cl != NULL) {
		char *end = NULL;
		unsigned long long n = 0;

		errno = 0;
		n = strtoull(cl, &end, 10);
		if (errno == 0 && end != cl && n > st->srv->max_body)
			return refuse(st, MHD_HTTP_CONTENT_TOO_LARGE, n);
		if (errno == 0 && end != cl && n > 0 && body_reserve(st, (size_t)n) != 0)
			return MHD_HTTP_INTERNAL_SERVER_ERROR;
	} else if (te != NULL && method_has_body(st->req.method)) {
		return refuse(st, MHD_HTTP_LENGTH_REQUIRED, 0);
	}
	return 0;
}

int sr_http_body_append(struct req_state *st, const char *data, size_t n)
{
	st->got_body = 1;
	if (st->refusal != 0 || st->too_large) {
		st->drained += n;
		return st->drained > SR_HTTP_DRAIN_MAX ? -1 : 0;
	}
	if (st->body_len + n > st->srv->max_body) {
		/* Discard the rest; 413 on the final call. */
		st->too_large = 1;
		if (st->body != NULL)
			sodium_memzero(st->body, st->body_cap);
		st->body_len = 0;
		return 0;
	}
	if (body_reserve(st, st->body_len + n) != 0)
		return -1;
	memcpy(st->body + st->body_len, data, n);
	st->body_len += n;
	return 0;
}

unsigned sr_http_body_status(const struct req_state *st)
{
	if (st->refusal != 0)
		return st->refusal;
	if (st->too_large)
		return MHD_HTTP_CONTENT_TOO_LARGE;
	if (st->got_body && method_has_body(st->req.method) &&
	    MHD_lookup_connection_value(st->conn, MHD_HEADER_KIND,
	                                MHD_HTTP_HEADER_CONTENT_LENGTH) == NULL)
		return MHD_HTTP_LENGTH_REQUIRED;
	return 0;
}

int sr_http_parse_body(struct req_state *st)
{
	const char *ct = NULL;

	if (st->body != NULL) {
		st->body[st->body_len] = '\0';
		st->req.body = st->body;
		st->req.body_len = st->body_len;
	}
	ct = MHD_lookup_connection_value(st->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (st->body_len > 0 && media_type_is(ct, "application/json")) {
		json_error_t jerr;

		st->req.json = json_loadb((const char *)st->body, st->body_len,
		                          JSON_REJECT_DUPLICATES, &jerr);
		/* jansson's message can quote the input: never returned or logged. */
		sodium_memzero(&jerr, sizeof jerr);
		if (st->req.json == NULL) {
			sr_http_reply_error(&st->req, MHD_HTTP_BAD_REQUEST, "invalid_request_error",
			                    "invalid_json", "The request body is not valid JSON.", NULL);
			return -1;
		}
	} else if (st->srv->accept_form && media_type_is(ct, "application/x-www-form-urlencoded")) {
		return parse_form(st);
	} else if (st->body_len > 0) {
		/* A body no handler can read must never reach one as "no body"
		 * (a capture or refund without a body moves the full amount). */
		sr_http_reply_error(&st->req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "invalid_request_error",
		                    "unsupported_media_type",
		                    "The request body must be JSON (Content-Type: application/json).", NULL);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* request accessors                                                   */

const char *sr_http_header(const struct sr_http_request *req, const char *name)
{
	const struct req_state *st = (const struct req_state *)req;

	if (req == NULL || name == NULL)
		return NULL;
	return MHD_lookup_connection_value(st->conn, MHD_HEADER_KIND, name);
}

struct header_join {
	const char *name;
	char *out;
	size_t outlen, used;
	int lines;
	int overflow;
};

static enum MHD_Result header_join_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
	struct header_join *hj = cls;
	size_t n;

	(void)kind;
	if (key == NULL || strcasecmp(key, hj->name) != 0)
		return MHD_YES;
	n = value != NULL ? strlen(value) : 0;
	if (hj->used + n + (hj->lines > 0 ? 1 : 0) >= hj->outlen) {
		hj->overflow = 1;
		return MHD_NO;
	}
	if (hj->lines > 0)
		hj->out[hj->used++] = ',';
	memcpy(hj->out + hj->used, value != NULL ? value : "", n);
	hj->used += n;
	hj->out[hj->used] = '\0';
	hj->lines++;
	return MHD_YES;
}

int sr_http_header_all(const struct sr_http_request *req, const char *name, char *out,
                       size_t outlen)
{
	const struct req_state *st = (const struct req_state *)req;
	struct header_join hj = { name, out, outlen, 0, 0, 0 };

	if (req == NULL || name == NULL || out == NULL || outlen == 0)
		return -1;
	out[0] = '\0';
	MHD_get_connection_values(st->conn, MHD_HEADER_KIND, header_join_cb, &hj);
	if (hj.overflow) {
		out[0] = '\0';
		return -1;
	}
	return hj.lines;
}

const char *sr_http_query(const struct sr_http_request *req, const char *name)
{
	const struct req_state *st = (const struct req_state *)req;

	if (req == NULL || name == NULL)
		return NULL;
	return MHD_lookup_connection_value(st->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct query_check {
	const char *const *allowed;
	const char *unknown;
};

static enum MHD_Result query_check_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
	struct query_check *qc = cls;
	const char *const *a;

	(void)kind;
	(void)value;
	for (a = qc->allowed; a != NULL && *a != NULL; a++) {
		if (key != NULL && strcmp(*a, key) == 0)
			return MHD_YES;
	}
	qc->unknown = key != NULL ? key : "";
	return MHD_NO;
}

const char *sr_http_query_unknown(const struct sr_http_request *req, const char *const *allowed)
{
	const struct req_state *st = (const struct req_state *)req;
	struct query_check qc = { allowed, NULL };

	if (req == NULL)
		return NULL;
	MHD_get_connection_values(st->conn, MHD_GET_ARGUMENT_KIND, query_check_cb, &qc);
	return qc.unknown;
}

const char *sr_http_bearer(const struct sr_http_request *req)
{
	const char *v = sr_http_header(req, MHD_HTTP_HEADER_AUTHORIZATION);

	/* RFC 6750 section 2.1: "Bearer" is case-insensitive, then one space. */
	if (v == NULL || strncasecmp(v, "Bearer ", 7) != 0)
		return NULL;
	v += 7;
	while (*v == ' ')
		v++;
	return *v != '\0' ? v : NULL;
}

void sr_http_set_principal(struct sr_http_request *req, const char *merchant, const char *key_id)
{
	if (req == NULL)
		return;
	if (merchant != NULL)
		snprintf(req->merchant, sizeof req->merchant, "%s", merchant);
	if (key_id != NULL)
		snprintf(req->key_id, sizeof req->key_id, "%s", key_id);
}

int sr_http_client_ip(const struct sr_http_request *req, char *out, size_t outlen)
{
	const struct req_state *st = (const struct req_state *)req;
	const union MHD_ConnectionInfo *ci = NULL;
	const struct sockaddr *sa = NULL;

	if (req == NULL || out == NULL || outlen < INET6_ADDRSTRLEN)
		return -1;
	ci = MHD_get_connection_info(st->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return -1;
	sa = ci->client_addr;
	if (sa->sa_family == AF_INET &&
	    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
	              (socklen_t)outlen) != NULL)
		return 0;
	if (sa->sa_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
	              (socklen_t)outlen) != NULL)
		return 0;
	return -1;
}
