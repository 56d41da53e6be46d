/*
 * sr_http: HTTPS server on libmicrohttpd 0.9.75 + GnuTLS (see sr_http.h).
 *
 * Always TLS (PCI DSS v4.0 4.2.1: strong cryptography for data in transit,
 * TLS 1.2+ only). With client_ca_file set, mutual TLS (invariant 5, docs/invariants.md):
 * the client certificate is required and verified during the handshake
 * (chain to the appliance CA, EKU clientAuth, DNS name == peer_name) and
 * verified again before every request reaches a handler.
 *
 * Request flow in the access handler (keep-alive pitfall, docs/development.md):
 *   1st call: allocate the per-request state only (no response queued),
 *             except for requests refused without reading their body
 *             (declared body too large or without Content-Length, from a
 *             client waiting for 100 Continue or declaring more than
 *             SR_HTTP_DRAIN_MAX); other refused bodies are drained first;
 *   upload calls: accumulate up to max_body, discard beyond;
 *   final call: checks (mTLS identity, 413, 411, JSON/form parsing),
 *             routing (404/405), handler, reply.
 *
 * This file is the server: daemon, mutual TLS, access handler, routing,
 * drain. The TLS server credentials and their reload are in
 * sr_http_creds.c, reading requests in sr_http_request.c, replies (and the
 * access log line) in sr_http_reply.c.
 */
#include "common/sr_http_internal.h"
#include "common/sr_log.h"
#include "common/sr_secret.h"
#include "common/sr_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
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
/* ADR 0109: hostile clients. */
#define SR_HTTP_DEFAULT_PER_IP 64u
#define SR_HTTP_DEFAULT_ACCEPT_RATE 100.0
#define SR_HTTP_DEFAULT_ACCEPT_BURST 200.0
#define SR_HTTP_DEFAULT_HANDSHAKE_S 5u
#define SR_HTTP_IDLE_TIMEOUT_S 30u

/*
 * PCI DSS v4.0 4.2.1: TLS 1.3 and 1.2 only, AEAD ciphers, forward-secret
 * key exchange (no static RSA, no finite-field DHE). mbedTLS 2.28 clients
 * (vault egress) speak TLS 1.2 ECDHE-*-AES-GCM, which stays allowed.
 */
static const char SR_TLS_PRIORITIES[] =
	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"
	"-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:"
	"-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-RSA:+ECDHE-ECDSA";

static pthread_once_t g_init_once = PTHREAD_ONCE_INIT;
static int g_init_ok = 0;

void sr_http_seterr(char *err, size_t errlen, const char *fmt, ...)
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
	/* PCI DSS 3.3.1 / invariant 1, docs/invariants.md: card data does not linger in freed
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
	 * (invariant 1, docs/invariants.md) and the vault loads its HSM module itself. */
	if (gnutls_pkcs11_init(GNUTLS_PKCS11_FLAG_MANUAL, NULL) < 0)
		return;
	if (sodium_init() < 0)
		return;
	json_set_alloc_funcs(json_wipe_malloc, json_wipe_free);
	g_init_ok = 1;
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
		sr_http_metrics_in_flight(st->srv);
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

/* invariant 5, docs/invariants.md / PCI DSS 4.2.1, 8.3.1: require a client certificate in
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

static const struct sockaddr *conn_addr(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	return ci != NULL ? ci->client_addr : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	struct sr_http_server *srv = cls;
	gnutls_session_t s = NULL;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		sr_http_guard_closed(srv->guard, conn_addr(conn));
		free(*socket_context);
		*socket_context = NULL;
		return;
	}
	if (toe != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	/* ADR 0109: the handshake and the first request's headers get a short
	 * deadline (libmicrohttpd's timeout applies during the handshake);
	 * the first request restores the keep-alive timeout (on_request). */
	sr_http_guard_opened(srv->guard, conn_addr(conn));
	MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, srv->handshake_timeout_s);
	s = conn_session(conn);
	if (s == NULL)
		return; /* the per-request check refuses every request then */
	/* The certificate callback finds its server through the session; a
	 * returning client resumes without a signature (ADR 0118). */
	gnutls_session_set_ptr(s, srv);
	(void)sr_http_tickets_enable(srv->tickets, s);
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
			while (sr_http_id_char((unsigned char)*s))
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

/* 0: route found (st->route, params set); 404 or 405 otherwise. A 405
 * carries Allow with the path's methods (RFC 9110 section 15.5.6). */
static unsigned find_route(struct req_state *st)
{
	size_t i;
	size_t len = strlen(st->req.path);
	int path_matched = 0;
	const char *params[SR_HTTP_MAX_PARAMS];
	char allow[64] = "";

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
		if (strcmp(rt->method, st->req.method) != 0) {
			if (strstr(allow, rt->method) == NULL &&
			    strlen(allow) + strlen(rt->method) + 3 < sizeof allow)
				snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
				         allow[0] != '\0' ? ", " : "", rt->method);
			continue;
		}
		st->route = rt;
		for (k = 0; k < SR_HTTP_MAX_PARAMS; k++)
			st->req.params[k] = params[k];
		return 0;
	}
	if (!path_matched)
		return MHD_HTTP_NOT_FOUND;
	sr_http_add_header(&st->req, "Allow", allow);
	return MHD_HTTP_METHOD_NOT_ALLOWED;
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
	sr_http_metrics_in_flight(srv);
	pthread_mutex_unlock(&srv->mu);
	st->srv = srv;
	st->conn = conn;
	st->req.method = method;
	st->req.path = url; /* libmicrohttpd passes the path without the query */
	st->req.app = srv->app;
	st->req.internal_ = st;
	if (sr_http_client_ip(&st->req, st->req.client, sizeof st->req.client) != 0)
		st->req.client[0] = '\0';
	rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
	if (sr_http_valid_request_id(rid))
		snprintf(st->req.request_id, sizeof st->req.request_id, "%s", rid);
	else if (sr_random_id("req_", 16, st->req.request_id, sizeof st->req.request_id) != 0)
		snprintf(st->req.request_id, sizeof st->req.request_id, "req_unknown");
	return st;
}

/* The final call: every check, then the handler. */
static void dispatch(struct req_state *st)
{
	unsigned status = 0;

	/* invariant 5, docs/invariants.md: no handler runs without a verified peer. */
	if (st->srv->peer_name != NULL) {
		if (!peer_verified(st)) {
			sr_log(SR_LOG_WARN, st->req.request_id, "http.peer_rejected", "{s:s}",
			       "listener", st->srv->name);
			sr_http_reply_status_error(st, MHD_HTTP_UNAUTHORIZED);
			return;
		}
		st->req.peer = st->srv->peer_name;
	}
	/* No PAN outside the CDE: before routing, any handler, audit or store. */
	if (st->srv->refuse_pan && sr_http_screen_pan(st) != 0)
		return;
	status = sr_http_body_status(st);
	if (status == 0)
		status = find_route(st);
	if (status != 0) {
		sr_http_reply_status_error(st, status);
		return;
	}
	if (sr_http_parse_body(st) == 0)
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
		 * (keep-alive pitfall, docs/development.md) unless refusing outright. */
		st = new_state(srv, conn, url, method);
		if (st == NULL)
			return MHD_NO;
		if (srv->handshake_timeout_s != SR_HTTP_IDLE_TIMEOUT_S) {
			const union MHD_ConnectionInfo *ci =
				MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_TIMEOUT);

			if (ci != NULL && ci->connection_timeout == srv->handshake_timeout_s)
				MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
				                          SR_HTTP_IDLE_TIMEOUT_S);
		}
		*req_cls = st;
		status = sr_http_early_refusal(st);
		if (status != 0) {
			sr_http_reply_status_error(st, status);
			return sr_http_queue_reply(st);
		}
		return MHD_YES;
	}
	if (st->queued) {
		/* Already answered: discard whatever else arrives. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (sr_http_body_append(st, upload_data, *upload_data_size) != 0)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	dispatch(st);
	return sr_http_queue_reply(st);
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
	sr_http_creds_free(srv->creds);
	sr_http_guard_free(srv->guard);
	sr_http_tickets_free(srv->tickets);
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
	if (cfg == NULL || cfg->cert_file == NULL ||
	    (cfg->key_file == NULL) == (cfg->signer == NULL) || cfg->routes == NULL) {
		sr_http_seterr(err, errlen, "http: cert_file, one of key_file and signer, and routes are "
		               "required");
		goto out;
	}
	if (cfg->client_ca_file != NULL && (cfg->peer_name == NULL || cfg->peer_name[0] == '\0')) {
		sr_http_seterr(err, errlen, "http: client_ca_file needs peer_name");
		goto out;
	}
	for (i = 0; i < cfg->n_routes; i++) {
		if (cfg->routes[i].method == NULL || cfg->routes[i].pattern == NULL ||
		    cfg->routes[i].handler == NULL || cfg->routes[i].pattern[0] != '/') {
			sr_http_seterr(err, errlen, "http: route %zu is incomplete", i);
			goto out;
		}
	}
	pthread_once(&g_init_once, global_init);
	if (!g_init_ok) {
		sr_http_seterr(err, errlen, "http: GnuTLS/libsodium initialisation failed");
		goto out;
	}
	sr_http_metrics_init();
	srv = calloc(1, sizeof *srv);
	if (srv == NULL) {
		sr_http_seterr(err, errlen, "http: out of memory");
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
	srv->accept_form = cfg->accept_form;
	srv->refuse_pan = cfg->refuse_pan;
	srv->name = strdup(cfg->name != NULL ? cfg->name : "http");
	if (srv->name == NULL) {
		sr_http_seterr(err, errlen, "http: out of memory");
		goto out;
	}
	threads = cfg->threads != 0 ? cfg->threads : SR_HTTP_DEFAULT_THREADS;

	memset(&sin, 0, sizeof sin);
	memset(&sin6, 0, sizeof sin6);
	if (cfg->bind_addr != NULL && strchr(cfg->bind_addr, ':') != NULL) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(cfg->port);
		if (inet_pton(AF_INET6, cfg->bind_addr, &sin6.sin6_addr) != 1) {
			sr_http_seterr(err, errlen, "http: invalid bind address '%s'", cfg->bind_addr);
			goto out;
		}
		sa = (const struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	} else {
		sin.sin_family = AF_INET;
		sin.sin_port = htons(cfg->port);
		if (inet_pton(AF_INET, cfg->bind_addr != NULL ? cfg->bind_addr : "127.0.0.1",
		              &sin.sin_addr) != 1) {
			sr_http_seterr(err, errlen, "http: invalid bind address '%s'", cfg->bind_addr);
			goto out;
		}
		sa = (const struct sockaddr *)&sin;
	}

	/* Served through sr_http_cert_callback so that SIGHUP can swap them
	 * (sr_http_reload, ADR 0052). */
	srv->cert_file = strdup(cfg->cert_file);
	srv->key_file = cfg->key_file != NULL ? strdup(cfg->key_file) : NULL;
	srv->signer = cfg->signer;
	if (srv->cert_file == NULL || (cfg->key_file != NULL && srv->key_file == NULL)) {
		sr_http_seterr(err, errlen, "http: out of memory");
		goto out;
	}
	srv->creds = sr_http_creds_load(cfg->cert_file, cfg->key_file, cfg->signer, err, errlen);
	if (srv->creds == NULL)
		goto out;
	if (cfg->client_ca_file != NULL) {
		srv->ca_pem = sr_http_read_pem(cfg->client_ca_file, err, errlen);
		if (srv->ca_pem == NULL)
			goto out;
		srv->peer_name = strdup(cfg->peer_name);
		if (srv->peer_name == NULL) {
			sr_http_seterr(err, errlen, "http: out of memory");
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
	srv->handshake_timeout_s = cfg->handshake_timeout_s != 0 ? cfg->handshake_timeout_s
	                                                         : SR_HTTP_DEFAULT_HANDSHAKE_S;
	srv->guard = sr_http_guard_new(srv->name,
	                               cfg->max_per_ip != 0 ? cfg->max_per_ip : SR_HTTP_DEFAULT_PER_IP,
	                               cfg->accept_rate > 0 ? cfg->accept_rate : SR_HTTP_DEFAULT_ACCEPT_RATE,
	                               cfg->accept_burst > 0 ? cfg->accept_burst : SR_HTTP_DEFAULT_ACCEPT_BURST,
	                               conn_limit);
	srv->tickets = sr_http_tickets_new();
	if (srv->guard == NULL || srv->tickets == NULL) {
		sr_http_seterr(err, errlen, "http: out of memory (or accept_burst below 1)");
		goto out;
	}
	/* With mutual TLS the client CA is the last option; without, its place
	 * ends the list and the pair after it is never read. */
	srv->daemon = MHD_start_daemon(
		flags, 0, sr_http_guard_accept, srv->guard, on_request, srv,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, srv,
		MHD_OPTION_SOCK_ADDR, sa,
		MHD_OPTION_HTTPS_CERT_CALLBACK, sr_http_cert_callback,
		MHD_OPTION_HTTPS_PRIORITIES, SR_TLS_PRIORITIES,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_CONNECTION_LIMIT, conn_limit,
		MHD_OPTION_CONNECTION_TIMEOUT, SR_HTTP_IDLE_TIMEOUT_S,
		srv->ca_pem != NULL ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, srv->ca_pem,
		MHD_OPTION_END);
	if (srv->daemon == NULL) {
		sr_http_seterr(err, errlen, "http %s: cannot start on %s:%u (address in use, or bad certificate/key)",
		               srv->name, cfg->bind_addr != NULL ? cfg->bind_addr : "127.0.0.1",
		               (unsigned)cfg->port);
		goto out;
	}
	{
		const union MHD_DaemonInfo *li = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_LISTEN_FD);

		sr_http_guard_defer_accept(li != NULL ? li->listen_fd : -1, srv->handshake_timeout_s,
		                           srv->name);
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
