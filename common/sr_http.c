/*
 * sr_http: HTTPS server on libmicrohttpd 0.9.75 + GnuTLS (see sr_http.h).
 *
 * Always TLS (PCI DSS v4.0 4.2.1: strong cryptography for data in transit,
 * TLS 1.2+ only). With client_ca_file set, mutual TLS (BRIEF invariant 5):
 * the client certificate is required and verified during the handshake
 * (chain to the appliance CA, EKU clientAuth, DNS name == peer_name) and
 * verified again before every request reaches a handler.
 *
 * Request flow in the access handler (BRIEF "Pitfalls": keep-alive):
 *   1st call: allocate the per-request state only (no response queued),
 *             except for requests refused before reading their body
 *             (declared body too large, body without Content-Length);
 *   upload calls: accumulate up to max_body, discard beyond;
 *   final call: checks (mTLS identity, 413, 411, JSON/form parsing),
 *             routing (404/405), handler, reply.
 */
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_metrics.h"
#include "common/sr_secret.h"
#include "common/sr_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <strings.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/pkcs11.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <sodium.h>

#define SR_HTTP_DEFAULT_MAX_BODY (64u * 1024u)
#define SR_HTTP_DEFAULT_THREADS 4u
#define SR_HTTP_PEM_MAX (1024 * 1024)

/*
 * PCI DSS v4.0 4.2.1: TLS 1.3 and 1.2 only, AEAD ciphers, forward-secret
 * key exchange (no static RSA, no finite-field DHE). mbedTLS 2.28 clients
 * (vault egress) speak TLS 1.2 ECDHE-*-AES-GCM, which stays allowed.
 */
static const char SR_TLS_PRIORITIES[] =
	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"
	"-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:"
	"-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-RSA:+ECDHE-ECDSA";

/* One generation of server credentials (ADR 0052). Never freed while the
 * server runs: a handshake may still use an older generation after a
 * reload, so old generations stay on the list until sr_http_stop. */
struct tls_creds {
	gnutls_pcert_st pcerts[8];
	unsigned npcerts;
	gnutls_privkey_t key;
	struct tls_creds *older;
};

struct sr_http_server {
	struct MHD_Daemon *daemon;
	pthread_mutex_t mu;             /* creds, in_flight */
	pthread_cond_t cv;              /* in_flight reached 0 */
	struct tls_creds *creds;        /* current generation */
	char *cert_file;
	char *key_file;
	unsigned in_flight;             /* requests between first call and completion */
	int draining;                   /* 1 after sr_http_drain: replies close connections */
	int sync_init;                  /* mu and cv initialised */
	const struct sr_route *routes;
	size_t n_routes;
	size_t max_body;
	void *app;
	char *name;
	char *peer_name;                /* NULL: no mTLS */
	gnutls_typed_vdata_st vdata[2]; /* handshake + per-request checks */
	char *ca_pem;
};

struct hdr {
	char *name;
	char *value;
	struct hdr *next;
};

/* Per-request state, the req_cls of libmicrohttpd. */
struct req_state {
	struct sr_http_request req;     /* first member */
	struct sr_http_server *srv;
	struct MHD_Connection *conn;
	struct timespec t0;
	unsigned char *body;
	size_t body_len;
	size_t body_cap;
	int too_large;
	int got_body;                   /* any upload data arrived */
	char *path_copy;                /* storage for params[] */
	const struct sr_route *route;
	struct hdr *headers;
	struct MHD_Response *resp;      /* built by sr_http_reply_*, queued after the handler */
	unsigned status;
	int replied;
	int queued;
	int drop;                       /* sr_http_reply_drop: close without answering */
	char err_code[64];              /* code of sr_http_reply_error, for sr_http_reply_error_code */
	/* form parsing */
	int form_error;                 /* 0, or 1 duplicate key, 2 bad encoding */
	char *form_key;                 /* key of the value being accumulated */
};

static pthread_once_t g_init_once = PTHREAD_ONCE_INIT;
static int g_init_ok = 0;
static struct sr_metric *g_http_requests, *g_http_latency, *g_http_rate_limited, *g_http_in_flight;
static pthread_once_t g_metrics_once = PTHREAD_ONCE_INIT;

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* jansson memory: wipe on free (request bodies may carry PAN/CVC).     */

static void *json_wipe_malloc(size_t n)
{
	return malloc(n);
}

static void json_wipe_free(void *p)
{
	/* PCI DSS 3.3.1 / BRIEF rules: card data does not linger in freed
	 * heap. malloc_usable_size works for any malloc'd block, so this is
	 * safe for objects allocated before the hook was installed. */
	if (p != NULL) {
		sodium_memzero(p, malloc_usable_size(p));
		free(p);
	}
}

static void global_init(void)
{
	struct sigaction sa;

	/* A peer closing its socket must never kill a daemon: writes to it then
	 * fail with EPIPE instead of raising SIGPIPE (libmicrohttpd uses
	 * MSG_NOSIGNAL itself; this also covers other sockets of the process,
	 * such as vault egress over mbedTLS). */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		return;
	/* Never let GnuTLS auto-load p11-kit registered PKCS#11 modules (e.g.
	 * SoftHSM2) into a daemon: the gateway must hold no PKCS#11 module
	 * (BRIEF invariant 1) and the vault loads its HSM module itself. */
	if (gnutls_pkcs11_init(GNUTLS_PKCS11_FLAG_MANUAL, NULL) < 0)
		return;
	if (sodium_init() < 0)
		return;
	json_set_alloc_funcs(json_wipe_malloc, json_wipe_free);
	g_init_ok = 1;
}

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static char *read_pem(const char *path, char *err, size_t errlen)
{
	FILE *f = NULL;
	char *buf = NULL;
	char *ret = NULL;
	size_t n = 0;
	struct stat st;

	f = fopen(path, "rbe");
	if (f == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > SR_HTTP_PEM_MAX) {
		seterr(err, errlen, "%s: not a regular file of at most %d bytes", path, SR_HTTP_PEM_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		seterr(err, errlen, "%s: out of memory", path);
		goto out;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		seterr(err, errlen, "%s: read error", path);
		goto out;
	}
	buf[n] = '\0';
	ret = buf;
	buf = NULL;
out:
	free(buf);
	if (f != NULL)
		fclose(f);
	return ret;
}

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1000.0 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int id_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* Digits in s (any position): a card number split by separators still
 * counts as its digits. */
static size_t digit_count(const char *s, size_t n)
{
	size_t i, d = 0;

	for (i = 0; i < n && s[i] != '\0'; i++)
		d += isdigit((unsigned char)s[i]) != 0;
	return d;
}

/* X-Request-Id is reused only when it looks like one of ours:
 * ^req_[A-Za-z0-9_-]{1,35}$ with fewer than 12 digits in all, so that a
 * client can never smuggle a card number into our logs, responses or the
 * gateway's database through it (BRIEF invariant 1). Anything else is
 * replaced by a fresh id, never echoed. */
static int valid_request_id(const char *s)
{
	size_t i;

	if (s == NULL || strncmp(s, "req_", 4) != 0 || s[4] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= sizeof(((struct sr_http_request *)0)->request_id) - 1 ||
		    !id_char((unsigned char)s[i]))
			return 0;
	}
	return digit_count(s, i) < 12;
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

/* Copy path for logging with every segment that holds 12 or more digits
 * (however separated: "4242-4242-4242-4242") replaced: a path never
 * legitimately carries a card number, and a client that puts one there must
 * not get it into our logs (BRIEF invariant 1, PCI DSS 3.4.1). */
static void redact_path(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = in;

	if (outlen == 0)
		return;
	while (*p != '\0' && o + 1 < outlen) {
		size_t seg = strcspn(p, "/");

		if (digit_count(p, seg) >= 12) {
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
/* per-request state                                                   */

static void free_state(struct req_state *st)
{
	struct hdr *h = NULL;

	if (st == NULL)
		return;
	if (st->body != NULL) {
		sodium_memzero(st->body, st->body_cap);
		free(st->body);
	}
	json_decref(st->req.json);
	json_decref(st->req.form);
	free(st->path_copy);
	free(st->form_key);
	while (st->headers != NULL) {
		h = st->headers;
		st->headers = h->next;
		free(h->name);
		free(h->value);
		free(h);
	}
	if (st->resp != NULL)
		MHD_destroy_response(st->resp);
	if (st->srv != NULL) {
		pthread_mutex_lock(&st->srv->mu);
		if (st->srv->in_flight > 0 && --st->srv->in_flight == 0)
			pthread_cond_broadcast(&st->srv->cv);
		sr_metrics_set(g_http_in_flight, (double)st->srv->in_flight, st->srv->name);
		pthread_mutex_unlock(&st->srv->mu);
	}
	free(st);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	free_state(*req_cls);
	*req_cls = NULL;
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
static enum MHD_Result queue_reply(struct req_state *st)
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
		sr_http_reply_error(&st->req, MHD_HTTP_INTERNAL_SERVER_ERROR, "api_error",
		                    "internal_error", "Internal error.", NULL);
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
	if (st->srv->draining)
		MHD_add_response_header(st->resp, MHD_HTTP_HEADER_CONNECTION, "close");

	r = MHD_queue_response(st->conn, st->status, st->resp);
	MHD_destroy_response(st->resp);
	st->resp = NULL;
	st->queued = 1;

	redact_path(st->req.path != NULL ? st->req.path : "", path, sizeof path);
	/* PCI DSS 10.2.1, 10.2.2: who (peer), what (method, route), when, outcome. */
	sr_log(st->status >= 500 ? SR_LOG_ERROR : SR_LOG_INFO, st->req.request_id, "http.request",
	       "{s:s, s:s, s:s, s:s?, s:i, s:f, s:s?}",
	       "listener", st->srv->name, "method", st->req.method, "path", path,
	       "route", st->route != NULL ? st->route->pattern : NULL,
	       "status", (int)st->status, "duration_ms", elapsed_ms(&st->t0),
	       "peer", st->req.peer);
	observe_request(st);
	return r;
}

/* ------------------------------------------------------------------ */
/* mutual TLS                                                          */

static gnutls_session_t conn_session(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = NULL;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL)
		return NULL;
	return (gnutls_session_t)ci->tls_session;
}

/* BRIEF invariant 5 / PCI DSS 4.2.1, 8.3.1: require a client certificate in
 * the handshake and verify chain, purpose (clientAuth) and name there, so an
 * unauthenticated client never gets an HTTP exchange at all. */
/* The last successful per-request verification on one mTLS connection
 * (ADR 0085): the SHA-256 of the peer's certificate chain as presented, and
 * when it was verified. The socket context of libmicrohttpd; a connection is
 * served by one thread at a time. */
struct peer_memo {
	unsigned char chain_sha256[crypto_hash_sha256_BYTES];
	struct timespec at;     /* CLOCK_MONOTONIC of the full verification */
	int ok;
};

/* A full verification is reused for at most this long on its connection. */
#define PEER_MEMO_TTL_S 30

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	struct sr_http_server *srv = cls;
	gnutls_session_t s = NULL;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		free(*socket_context);
		*socket_context = NULL;
		return;
	}
	if (toe != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	s = conn_session(conn);
	if (s == NULL)
		return; /* the per-request check refuses every request then */
	/* The certificate callback finds its server through the session. */
	gnutls_session_set_ptr(s, srv);
	if (srv->peer_name == NULL)
		return;
	gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	gnutls_session_set_verify_cert2(s, srv->vdata, 2, 0);
	*socket_context = calloc(1, sizeof(struct peer_memo)); /* NULL: verify every time */
}

/* SHA-256 over the peer's chain, each certificate's DER length-prefixed. */
static void chain_digest(const gnutls_datum_t *certs, unsigned n,
                         unsigned char out[crypto_hash_sha256_BYTES])
{
	crypto_hash_sha256_state h;
	unsigned char len[4];
	unsigned i;

	crypto_hash_sha256_init(&h);
	for (i = 0; i < n; i++) {
		len[0] = (unsigned char)(certs[i].size >> 24);
		len[1] = (unsigned char)(certs[i].size >> 16);
		len[2] = (unsigned char)(certs[i].size >> 8);
		len[3] = (unsigned char)certs[i].size;
		crypto_hash_sha256_update(&h, len, sizeof len);
		crypto_hash_sha256_update(&h, certs[i].data, certs[i].size);
	}
	crypto_hash_sha256_final(&h, out);
}

/* Defence in depth: verify the peer again for each request (invariant 5).
 * The handshake already required and verified the certificate; a full
 * re-verification (ASN.1 parsing, ECDSA over the chain) is ~a quarter of
 * vaultd's CPU per payment, so on a connection whose peer presents exactly
 * the chain that passed a full verification less than PEER_MEMO_TTL_S ago,
 * that result is reused. Any other chain (a renegotiation with another
 * certificate), an older result or a failure means a full verification.
 * The trust list and vdata never change while the server runs.
 * @return 1 when the client certificate chains to the CA, is for clientAuth
 * and carries peer_name. */
static int peer_verified(struct req_state *st)
{
	gnutls_session_t s = conn_session(st->conn);
	const union MHD_ConnectionInfo *ci = NULL;
	const gnutls_datum_t *certs = NULL;
	struct peer_memo *memo = NULL;
	unsigned char digest[crypto_hash_sha256_BYTES];
	struct timespec now;
	unsigned status = 0;
	unsigned n = 0;

	if (s == NULL)
		return 0;
	if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509)
		return 0;
	certs = gnutls_certificate_get_peers(s, &n);
	if (certs == NULL || n == 0)
		return 0;
	ci = MHD_get_connection_info(st->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	memo = ci != NULL ? ci->socket_context : NULL;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (memo != NULL) {
		chain_digest(certs, n, digest);
		if (memo->ok && now.tv_sec - memo->at.tv_sec < PEER_MEMO_TTL_S &&
		    memcmp(memo->chain_sha256, digest, sizeof digest) == 0)
			return 1;
		memo->ok = 0;
	}
	if (gnutls_certificate_verify_peers(s, st->srv->vdata, 2, &status) != GNUTLS_E_SUCCESS ||
	    status != 0)
		return 0;
	if (memo != NULL) {
		memcpy(memo->chain_sha256, digest, sizeof digest);
		memo->at = now;
		memo->ok = 1;
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* routing                                                             */

/* Match path against pattern; captures go into params (pointing into buf,
 * a writable copy of path). 1 on match. */
static int route_match(const char *pattern, char *buf, const char **params)
{
	const char *p = pattern;
	char *s = buf;
	size_t np = 0;

	for (;;) {
		if (*p == '\0' || *s == '\0')
			return *p == '\0' && *s == '\0' ? 1 : 0;
		if (p[0] == '{' && p[1] == '}') {
			char *start = s;
			while (id_char((unsigned char)*s))
				s++;
			if (s == start || (*s != '/' && *s != '\0') || np >= SR_HTTP_MAX_PARAMS)
				return 0;
			params[np++] = start;
			p += 2;
			if (*s == '/') {
				if (*p != '/')
					return 0;
				*s = '\0';
				s++;
				p++;
			}
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
}

/* 0: route found (st->route, params set); 404 or 405 otherwise. */
static unsigned find_route(struct req_state *st)
{
	size_t i;
	size_t len = strlen(st->req.path);
	int path_matched = 0;
	const char *params[SR_HTTP_MAX_PARAMS];

	/* One writable copy of the path, refreshed for each candidate route
	 * (route_match cuts it into segments); params[] point into it. */
	st->path_copy = malloc(len + 1);
	if (st->path_copy == NULL)
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	for (i = 0; i < st->srv->n_routes; i++) {
		const struct sr_route *rt = &st->srv->routes[i];
		size_t k;

		memcpy(st->path_copy, st->req.path, len + 1);
		memset(params, 0, sizeof params);
		if (!route_match(rt->pattern, st->path_copy, params))
			continue;
		path_matched = 1;
		if (strcmp(rt->method, st->req.method) != 0)
			continue;
		st->route = rt;
		for (k = 0; k < SR_HTTP_MAX_PARAMS; k++)
			st->req.params[k] = params[k];
		return 0;
	}
	return path_matched ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND;
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

/* ------------------------------------------------------------------ */
/* access handler                                                      */

static struct req_state *new_state(struct sr_http_server *srv, struct MHD_Connection *conn,
                                   const char *url, const char *method)
{
	struct req_state *st = NULL;
	const char *rid = NULL;

	st = calloc(1, sizeof *st);
	if (st == NULL)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &st->t0);
	pthread_mutex_lock(&srv->mu);
	srv->in_flight++;
	sr_metrics_set(g_http_in_flight, (double)srv->in_flight, srv->name);
	pthread_mutex_unlock(&srv->mu);
	st->srv = srv;
	st->conn = conn;
	st->req.method = method;
	st->req.path = url; /* libmicrohttpd passes the path without the query */
	st->req.app = srv->app;
	st->req.internal_ = st;
	rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
	if (valid_request_id(rid))
		snprintf(st->req.request_id, sizeof st->req.request_id, "%s", rid);
	else if (sr_random_id("req_", 16, st->req.request_id, sizeof st->req.request_id) != 0)
		snprintf(st->req.request_id, sizeof st->req.request_id, "req_unknown");
	return st;
}

/* Refusals decided from the headers alone, before any body is read. The
 * response is queued on the first call on purpose: the connection is closed
 * after it instead of reading a body we will not accept. 0 if none. */
static unsigned early_refusal(struct req_state *st)
{
	const char *cl = MHD_lookup_connection_value(st->conn, MHD_HEADER_KIND,
	                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(st->conn, MHD_HEADER_KIND,
	                                             MHD_HTTP_HEADER_TRANSFER_ENCODING);

	if (cl != NULL) {
		char *end = NULL;
		unsigned long long n = 0;

		errno = 0;
		n = strtoull(cl, &end, 10);
		if (errno == 0 && end != cl && n > st->srv->max_body)
			return MHD_HTTP_CONTENT_TOO_LARGE;
		if (errno == 0 && end != cl && n > 0 && body_reserve(st, (size_t)n) != 0)
			return MHD_HTTP_INTERNAL_SERVER_ERROR;
	} else if (te != NULL && method_has_body(st->req.method)) {
		return MHD_HTTP_LENGTH_REQUIRED;
	}
	return 0;
}

static void reply_status_error(struct req_state *st, unsigned status)
{
	switch (status) {
	case MHD_HTTP_NOT_FOUND:
		sr_http_reply_error(&st->req, status, "invalid_request_error", "resource_missing",
		                    "Unrecognized request URL.", NULL);
		break;
	case MHD_HTTP_METHOD_NOT_ALLOWED:
		sr_http_reply_error(&st->req, status, "invalid_request_error", "method_not_allowed",
		                    "This method is not allowed for this URL.", NULL);
		break;
	case MHD_HTTP_CONTENT_TOO_LARGE:
		sr_http_reply_error(&st->req, status, "invalid_request_error", "request_too_large",
		                    "The request body is too large.", NULL);
		break;
	case MHD_HTTP_LENGTH_REQUIRED:
		sr_http_reply_error(&st->req, status, "invalid_request_error", "length_required",
		                    "A Content-Length header is required.", NULL);
		break;
	case MHD_HTTP_UNAUTHORIZED:
		sr_http_reply_error(&st->req, status, "authentication_error",
		                    "client_certificate_required",
		                    "A valid client certificate is required.", NULL);
		break;
	default:
		sr_http_reply_error(&st->req, MHD_HTTP_INTERNAL_SERVER_ERROR, "api_error",
		                    "internal_error", "Internal error.", NULL);
		break;
	}
}

/* The final call: every check, then the handler. */
static void dispatch(struct req_state *st)
{
	const char *ct = NULL;
	unsigned status = 0;

	/* BRIEF invariant 5: no handler runs without a verified peer. */
	if (st->srv->peer_name != NULL) {
		if (!peer_verified(st)) {
			sr_log(SR_LOG_WARN, st->req.request_id, "http.peer_rejected", "{s:s}",
			       "listener", st->srv->name);
			reply_status_error(st, MHD_HTTP_UNAUTHORIZED);
			return;
		}
		st->req.peer = st->srv->peer_name;
	}
	if (st->too_large) {
		reply_status_error(st, MHD_HTTP_CONTENT_TOO_LARGE);
		return;
	}
	if (st->got_body && method_has_body(st->req.method) &&
	    MHD_lookup_connection_value(st->conn, MHD_HEADER_KIND,
	                                MHD_HTTP_HEADER_CONTENT_LENGTH) == NULL) {
		reply_status_error(st, MHD_HTTP_LENGTH_REQUIRED);
		return;
	}
	status = find_route(st);
	if (status != 0) {
		reply_status_error(st, status);
		return;
	}
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
			return;
		}
	} else if (media_type_is(ct, "application/x-www-form-urlencoded")) {
		if (parse_form(st) != 0)
			return;
	}
	st->route->handler(&st->req);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
	struct sr_http_server *srv = cls;
	struct req_state *st = *req_cls;
	unsigned status = 0;

	(void)version;
	if (st == NULL) {
		/* First call: headers only. Allocate the state, queue nothing
		 * (keep-alive pitfall, BRIEF.md) unless refusing outright. */
		st = new_state(srv, conn, url, method);
		if (st == NULL)
			return MHD_NO;
		*req_cls = st;
		status = early_refusal(st);
		if (status != 0) {
			reply_status_error(st, status);
			return queue_reply(st);
		}
		return MHD_YES;
	}
	if (st->queued) {
		/* Already answered: discard whatever else arrives. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		st->got_body = 1;
		if (!st->too_large) {
			if (st->body_len + n > srv->max_body) {
				/* Discard the rest; 413 on the final call. */
				st->too_large = 1;
				if (st->body != NULL)
					sodium_memzero(st->body, st->body_cap);
				st->body_len = 0;
			} else if (body_reserve(st, st->body_len + n) != 0) {
				return MHD_NO;
			} else {
				memcpy(st->body + st->body_len, upload_data, n);
				st->body_len += n;
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	dispatch(st);
	return queue_reply(st);
}

static void mhd_logger(void *cls, const char *fm, va_list ap)
{
	struct sr_http_server *srv = cls;
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof msg, fm, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	sr_log(SR_LOG_WARN, NULL, "http.mhd", "{s:s, s:s}", "listener",
	       srv != NULL && srv->name != NULL ? srv->name : "http", "message", msg);
}

/* ------------------------------------------------------------------ */
/* server credentials, reloadable (ADR 0052)                           */

static void creds_free(struct tls_creds *c)
{
	unsigned i;

	while (c != NULL) {
		struct tls_creds *older = c->older;

		for (i = 0; i < c->npcerts; i++)
			gnutls_pcert_deinit(&c->pcerts[i]);
		/* GnuTLS wipes the key material on deinit. */
		if (c->key != NULL)
			gnutls_privkey_deinit(c->key);
		free(c);
		c = older;
	}
}

/* Load the certificate chain and key from their files, and prove the key
 * signs for the certificate. NULL with err on failure. */
static struct tls_creds *creds_load(const char *cert_file, const char *key_file, char *err,
                                    size_t errlen)
{
	static const unsigned char probe[] = "strongroom sr_http key/certificate pair check";
	struct tls_creds *c = NULL;
	struct tls_creds *ret = NULL;
	char *cert_pem = NULL;
	char *key_pem = NULL;
	size_t key_len = 0;
	gnutls_datum_t d, sig = { NULL, 0 };
	gnutls_datum_t pd = { (unsigned char *)(uintptr_t)probe, sizeof probe - 1 };
	int rc;
	int algo;

	c = calloc(1, sizeof *c);
	if (c == NULL) {
		seterr(err, errlen, "http: out of memory");
		goto out;
	}
	cert_pem = read_pem(cert_file, err, errlen);
	if (cert_pem == NULL)
		goto out;
	/* PCI DSS 3.6.1: the TLS key is a secret: 0600 file, guarded memory. */
	key_pem = sr_secret_read_file(key_file, &key_len, err, errlen);
	if (key_pem == NULL)
		goto out;
	d.data = (unsigned char *)cert_pem;
	d.size = (unsigned)strlen(cert_pem);
	c->npcerts = sizeof c->pcerts / sizeof c->pcerts[0];
	rc = gnutls_pcert_list_import_x509_raw(c->pcerts, &c->npcerts, &d, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || c->npcerts == 0) {
		c->npcerts = 0;
		seterr(err, errlen, "%s: not a PEM certificate chain (%s)", cert_file,
		       gnutls_strerror(rc));
		goto out;
	}
	d.data = (unsigned char *)key_pem;
	d.size = (unsigned)key_len;
	if (gnutls_privkey_init(&c->key) < 0 ||
	    gnutls_privkey_import_x509_raw(c->key, &d, GNUTLS_X509_FMT_PEM, NULL, 0) < 0) {
		seterr(err, errlen, "%s: not a PEM private key", key_file);
		goto out;
	}
	/* The pair must match, or every handshake would fail after a reload. */
	algo = gnutls_pubkey_get_pk_algorithm(c->pcerts[0].pubkey, NULL);
	if (gnutls_privkey_sign_data(c->key, GNUTLS_DIG_SHA256, 0, &pd, &sig) < 0 ||
	    gnutls_pubkey_verify_data2(c->pcerts[0].pubkey,
	                               gnutls_pk_to_sign(algo, GNUTLS_DIG_SHA256), 0, &pd,
	                               &sig) < 0) {
		seterr(err, errlen, "%s does not match the certificate in %s", key_file, cert_file);
		goto out;
	}
	ret = c;
	c = NULL;
out:
	gnutls_free(sig.data);
	free(cert_pem);
	sr_secret_free(key_pem);
	creds_free(c);
	return ret;
}

/* gnutls_certificate_retrieve_function2: serve the current generation.
 * GnuTLS does not take ownership (the generation outlives the handshake). */
static int cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                         const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                         gnutls_pcert_st **pcert, unsigned int *pcert_length,
                         gnutls_privkey_t *pkey)
{
	struct sr_http_server *srv = gnutls_session_get_ptr(session);
	struct tls_creds *c = NULL;

	(void)req_ca_dn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	if (srv == NULL)
		return -1;
	pthread_mutex_lock(&srv->mu);
	c = srv->creds;
	pthread_mutex_unlock(&srv->mu);
	if (c == NULL)
		return -1;
	*pcert = c->pcerts;
	*pcert_length = c->npcerts;
	*pkey = c->key;
	return 0;
}

/* Serial number of a generation's leaf certificate, hex, for logs. */
static void creds_serial(const struct tls_creds *c, char *out, size_t outlen)
{
	gnutls_x509_crt_t crt = NULL;
	unsigned char serial[40];
	size_t n = sizeof serial, i;

	out[0] = '\0';
	if (gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, &c->pcerts[0].cert, GNUTLS_X509_FMT_DER) >= 0 &&
	    gnutls_x509_crt_get_serial(crt, serial, &n) >= 0) {
		for (i = 0; i < n && 2 * i + 2 < outlen; i++)
			snprintf(out + 2 * i, outlen - 2 * i, "%02x", serial[i]);
	}
	gnutls_x509_crt_deinit(crt);
}

int sr_http_reload(struct sr_http_server *srv, char *err, size_t errlen)
{
	struct tls_creds *c = NULL;
	char serial[81];

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (srv == NULL)
		return -1;
	c = creds_load(srv->cert_file, srv->key_file, err, errlen);
	if (c == NULL) {
		/* Keep serving the current credentials. */
		sr_log(SR_LOG_ERROR, NULL, "http.tls_reload_failed", "{s:s, s:s}", "listener",
		       srv->name, "error", err != NULL ? err : "");
		return -1;
	}
	creds_serial(c, serial, sizeof serial);
	pthread_mutex_lock(&srv->mu);
	c->older = srv->creds;
	srv->creds = c;
	pthread_mutex_unlock(&srv->mu);
	sr_log(SR_LOG_INFO, NULL, "http.tls_reloaded", "{s:s, s:s}", "listener", srv->name,
	       "serial", serial);
	return 0;
}

unsigned sr_http_drain(struct sr_http_server *srv, unsigned grace_ms)
{
	struct timespec deadline;
	MHD_socket fd;
	unsigned left;
	unsigned settle;
	int quiesce;

	if (srv == NULL || srv->daemon == NULL)
		return 0;
	pthread_mutex_lock(&srv->mu);
	quiesce = !srv->draining;
	srv->draining = 1;
	pthread_mutex_unlock(&srv->mu);
	/* Stop accepting: new connections are refused from here on, while
	 * the connections already open are still served. Once only. */
	if (quiesce) {
		fd = MHD_quiesce_daemon(srv->daemon);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += grace_ms / 1000;
	deadline.tv_nsec += (long)(grace_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	/* Wait for the requests in flight; then let connections accepted just
	 * before the quiesce (still in their TLS handshake, no request yet)
	 * settle for up to 1 s, so that they are answered rather than reset.
	 * Idle keep-alive connections do not hold the drain beyond that. */
	for (settle = 0;; settle++) {
		const union MHD_DaemonInfo *di = NULL;
		struct timespec now;

		pthread_mutex_lock(&srv->mu);
		while (srv->in_flight > 0 &&
		       pthread_cond_timedwait(&srv->cv, &srv->mu, &deadline) != ETIMEDOUT)
			;
		left = srv->in_flight;
		pthread_mutex_unlock(&srv->mu);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (left > 0 || settle >= 20 || now.tv_sec > deadline.tv_sec ||
		    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
			break;
		di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (di == NULL || di->num_connections == 0)
			break;
		usleep(50 * 1000);
	}
	sr_log(left == 0 ? SR_LOG_INFO : SR_LOG_WARN, NULL, "http.drained", "{s:s, s:i}",
	       "listener", srv->name, "abandoned", (int)left);
	return left;
}

/* ------------------------------------------------------------------ */
/* start / stop                                                        */

static void server_free(struct sr_http_server *srv)
{
	if (srv == NULL)
		return;
	free(srv->name);
	free(srv->peer_name);
	free(srv->ca_pem);
	free(srv->cert_file);
	free(srv->key_file);
	creds_free(srv->creds);
	if (srv->sync_init) {
		pthread_cond_destroy(&srv->cv);
		pthread_mutex_destroy(&srv->mu);
	}
	free(srv);
}

struct sr_http_server *sr_http_start(const struct sr_http_config *cfg, char *err, size_t errlen)
{
	struct sr_http_server *srv = NULL;
	struct sr_http_server *ret = NULL;
	pthread_condattr_t ca;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const struct sockaddr *sa = NULL;
	/* MHD_USE_ITC: required by MHD_quiesce_daemon (sr_http_drain). */
	unsigned flags = MHD_USE_TLS | MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	unsigned threads = 0;
	unsigned conn_limit = FD_SETSIZE - 4;   /* MHD's own default */
	size_t i;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (cfg == NULL || cfg->cert_file == NULL || cfg->key_file == NULL || cfg->routes == NULL) {
		seterr(err, errlen, "http: cert_file, key_file and routes are required");
		goto out;
	}
	if (cfg->client_ca_file != NULL && (cfg->peer_name == NULL || cfg->peer_name[0] == '\0')) {
		seterr(err, errlen, "http: client_ca_file needs peer_name");
		goto out;
	}
	for (i = 0; i < cfg->n_routes; i++) {
		if (cfg->routes[i].method == NULL || cfg->routes[i].pattern == NULL ||
		    cfg->routes[i].handler == NULL || cfg->routes[i].pattern[0] != '/') {
			seterr(err, errlen, "http: route %zu is incomplete", i);
			goto out;
		}
	}
	pthread_once(&g_init_once, global_init);
	if (!g_init_ok) {
		seterr(err, errlen, "http: GnuTLS/libsodium initialisation failed");
		goto out;
	}
	pthread_once(&g_metrics_once, metrics_init);
	srv = calloc(1, sizeof *srv);
	if (srv == NULL) {
		seterr(err, errlen, "http: out of memory");
		goto out;
	}
	pthread_mutex_init(&srv->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->cv, &ca);
	pthread_condattr_destroy(&ca);
	srv->sync_init = 1;
	srv->routes = cfg->routes;
	srv->n_routes = cfg->n_routes;
	srv->app = cfg->app;
	srv->max_body = cfg->max_body != 0 ? cfg->max_body : SR_HTTP_DEFAULT_MAX_BODY;
	srv->name = strdup(cfg->name != NULL ? cfg->name : "http");
	if (srv->name == NULL) {
		seterr(err, errlen, "http: out of memory");
		goto out;
	}
	threads = cfg->threads != 0 ? cfg->threads : SR_HTTP_DEFAULT_THREADS;

	memset(&sin, 0, sizeof sin);
	memset(&sin6, 0, sizeof sin6);
	if (cfg->bind_addr != NULL && strchr(cfg->bind_addr, ':') != NULL) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(cfg->port);
		if (inet_pton(AF_INET6, cfg->bind_addr, &sin6.sin6_addr) != 1) {
			seterr(err, errlen, "http: invalid bind address '%s'", cfg->bind_addr);
			goto out;
		}
		sa = (const struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	} else {
		sin.sin_family = AF_INET;
		sin.sin_port = htons(cfg->port);
		if (inet_pton(AF_INET, cfg->bind_addr != NULL ? cfg->bind_addr : "127.0.0.1",
		              &sin.sin_addr) != 1) {
			seterr(err, errlen, "http: invalid bind address '%s'", cfg->bind_addr);
			goto out;
		}
		sa = (const struct sockaddr *)&sin;
	}

	/* Served through cert_callback so that SIGHUP can swap them
	 * (sr_http_reload, ADR 0052). */
	srv->cert_file = strdup(cfg->cert_file);
	srv->key_file = strdup(cfg->key_file);
	if (srv->cert_file == NULL || srv->key_file == NULL) {
		seterr(err, errlen, "http: out of memory");
		goto out;
	}
	srv->creds = creds_load(cfg->cert_file, cfg->key_file, err, errlen);
	if (srv->creds == NULL)
		goto out;
	if (cfg->client_ca_file != NULL) {
		srv->ca_pem = read_pem(cfg->client_ca_file, err, errlen);
		if (srv->ca_pem == NULL)
			goto out;
		srv->peer_name = strdup(cfg->peer_name);
		if (srv->peer_name == NULL) {
			seterr(err, errlen, "http: out of memory");
			goto out;
		}
		srv->vdata[0].type = GNUTLS_DT_KEY_PURPOSE_OID;
		srv->vdata[0].data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT;
		srv->vdata[0].size = 0;
		srv->vdata[1].type = GNUTLS_DT_DNS_HOSTNAME;
		srv->vdata[1].data = (unsigned char *)srv->peer_name;
		srv->vdata[1].size = 0;
	}

	if (cfg->max_connections > 0) {
		/* ADR 0102: a thread of its own per connection. In the pool, a
		 * thread serves its connections one request at a time, so a
		 * request waits for every request ahead of it on the same
		 * thread (head-of-line blocking behind database, HSM or PSP
		 * waits); per connection, the kernel schedules requests fairly. */
		flags |= MHD_USE_THREAD_PER_CONNECTION;
		threads = 1;
		conn_limit = cfg->max_connections;
	}
	if (srv->ca_pem != NULL) {
		srv->daemon = MHD_start_daemon(
			flags, 0, NULL, NULL, on_request, srv,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, srv,
			MHD_OPTION_SOCK_ADDR, sa,
			MHD_OPTION_HTTPS_CERT_CALLBACK, cert_callback,
			MHD_OPTION_HTTPS_PRIORITIES, SR_TLS_PRIORITIES,
			MHD_OPTION_HTTPS_MEM_TRUST, srv->ca_pem,
			MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
			MHD_OPTION_THREAD_POOL_SIZE, threads,
			MHD_OPTION_CONNECTION_LIMIT, conn_limit,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
			MHD_OPTION_END);
	} else {
		srv->daemon = MHD_start_daemon(
			flags, 0, NULL, NULL, on_request, srv,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, srv,
			MHD_OPTION_SOCK_ADDR, sa,
			MHD_OPTION_HTTPS_CERT_CALLBACK, cert_callback,
			MHD_OPTION_HTTPS_PRIORITIES, SR_TLS_PRIORITIES,
			MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
			MHD_OPTION_THREAD_POOL_SIZE, threads,
			MHD_OPTION_CONNECTION_LIMIT, conn_limit,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
			MHD_OPTION_END);
	}
	if (srv->daemon == NULL) {
		seterr(err, errlen, "http %s: cannot start on %s:%u (address in use, or bad certificate/key)",
		       srv->name, cfg->bind_addr != NULL ? cfg->bind_addr : "127.0.0.1",
		       (unsigned)cfg->port);
		goto out;
	}
	sr_log(SR_LOG_INFO, NULL, "http.listening", "{s:s, s:s, s:i, s:b}", "listener", srv->name,
	       "addr", cfg->bind_addr != NULL ? cfg->bind_addr : "127.0.0.1",
	       "port", (int)sr_http_port(srv), "mtls", srv->peer_name != NULL);
	ret = srv;
	srv = NULL;
out:
	server_free(srv);
	return ret;
}

uint16_t sr_http_port(const struct sr_http_server *srv)
{
	const union MHD_DaemonInfo *di = NULL;

	if (srv == NULL || srv->daemon == NULL)
		return 0;
	di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	return di != NULL ? di->port : 0;
}

void sr_http_stop(struct sr_http_server *srv)
{
	if (srv == NULL)
		return;
	if (srv->daemon != NULL)
		MHD_stop_daemon(srv->daemon); /* joins the worker threads */
	server_free(srv);
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

const char *sr_http_query(const struct sr_http_request *req, const char *name)
{
	const struct req_state *st = (const struct req_state *)req;

	if (req == NULL || name == NULL)
		return NULL;
	return MHD_lookup_connection_value(st->conn, MHD_GET_ARGUMENT_KIND, name);
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
