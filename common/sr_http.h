/*
 * sr_http: HTTPS server on libmicrohttpd (GnuTLS), shared by vaultd,
 * gatewayd and pspsim. Always TLS; optionally mutual TLS with the client
 * certificate required during the handshake and its identity checked again
 * before every handler runs (invariant 5, docs/invariants.md).
 *
 * A daemon declares a routing table of designated initializers:
 *   static const struct sr_route routes[] = {
 *     { .method = "POST", .pattern = "/v1/tokens", .handler = vault_handle_tokens_create },
 *     { .method = "GET",  .pattern = "/v1/tokens/{}", .handler = vault_handle_token_get },
 *   };
 * "{}" matches one non-empty path segment of [A-Za-z0-9_-], captured into
 * req->params[] in order (at most SR_HTTP_MAX_PARAMS).
 *
 * A handler must call exactly one sr_http_reply_* function. If it calls none,
 * a 500 api_error is sent. Requests for unknown paths get 404, known path with
 * another method 405, bodies larger than max_body 413, POST/PUT without
 * Content-Length 411, a JSON content type with invalid JSON 400, and on a
 * refuse_pan listener a card number anywhere in the request 400
 * pan_not_allowed (checked first, sr_http_screen.c) — all in the error shape of README.md (APIs)
 * shape, before any handler runs.
 */
#ifndef SR_HTTP_H
#define SR_HTTP_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define SR_HTTP_MAX_PARAMS 4

struct sr_http_request {
	const char *method;             /* "GET", "POST", ... */
	const char *path;               /* URL path, without query string */
	const char *params[SR_HTTP_MAX_PARAMS]; /* "{}" captures, NUL-terminated */
	const unsigned char *body;      /* raw body (NUL-terminated), may be NULL */
	size_t body_len;
	json_t *json;   /* parsed body when Content-Type is application/json and body non-empty; borrowed */
	json_t *form;   /* object of strings when Content-Type is application/x-www-form-urlencoded
	                 * and the listener accepts forms; borrowed */
	char request_id[40];            /* "req_..." generated, or taken from a valid X-Request-Id */
	const char *peer;  /* verified client identity (DNS SAN) on mTLS listeners, else NULL */
	char client[46];   /* the TCP peer's address (IPv4 or IPv6 text), "" when unknown */
	char merchant[72]; /* the authenticated merchant (sr_http_set_principal), else "" */
	char key_id[40];   /* the API key that authenticated it (sr_http_set_principal), else "" */
	void *app;                      /* sr_http_config.app */
	void *internal_;                /* private to sr_http */
};

typedef void (*sr_http_handler)(struct sr_http_request *req);

struct sr_route {
	const char *method;
	const char *pattern;
	sr_http_handler handler;
};

/*
 * A listener's private key held outside the process (the vault's HSM, ADR
 * 0118): sr_http asks the signer for every signature and never sees the key;
 * the daemon that owns the key injects it (sr_http loads no PKCS#11 module).
 * ECDSA P-256 with SHA-256 (RFC 8446 §4.2.3 ecdsa_secp256r1_sha256).
 */
struct sr_http_signer {
	/**
	 * At start and at each reload (sr_http_reload): find the key for the
	 * leaf certificate's public point 04||X||Y (65 bytes).
	 * @return an opaque key reference, kept with that generation of
	 *         credentials and given to release, or NULL with err filled.
	 */
	void *(*bind)(void *ctx, const uint8_t point[65], char *err, size_t errlen);
	/** ECDSA signature r||s (32+32 bytes, big endian) of a SHA-256 digest with
	 *  key (from bind); called from any handshake thread. 0, or -1. */
	int (*sign)(void *key, const uint8_t digest[32], uint8_t sig[64]);
	/** Forget key (its generation of credentials is freed); may be NULL. */
	void (*release)(void *key);
	void *ctx;
};

struct sr_http_config {
	const char *bind_addr;          /* e.g. "127.0.0.1" */
	uint16_t port;
	const char *cert_file;          /* server certificate chain, PEM */
	const char *key_file;           /* server key, PEM (read, used, wiped); NULL with signer */
	const struct sr_http_signer *signer; /* non-NULL: the key is the signer's (key_file NULL);
	                                 * borrowed, must outlive the server */
	const char *client_ca_file;     /* non-NULL: mutual TLS, client cert from this CA required */
	const char *peer_name;          /* with client_ca_file: the DNS name the client cert must carry */
	size_t max_body;                /* bytes; 0 means 64 KiB */
	unsigned threads;               /* thread pool size; 0 means 4 (unused with max_connections) */
	unsigned max_connections;       /* > 0: one thread per connection, at most this many
	                                 * connections at once (ADR 0102); 0: the thread pool */
	const struct sr_route *routes;
	size_t n_routes;
	void *app;                      /* passed to handlers as req->app */
	const char *name;               /* listener name for logs, e.g. "vault-internal" */
	int accept_form;                /* 1: application/x-www-form-urlencoded bodies are parsed
	                                 * into req->form (pspsim: Stripe's wire format); 0: such a
	                                 * body is refused with 415 like any non-JSON body */
	int refuse_pan;                 /* 1: a card number anywhere in a request (path, query,
	                                 * header, body of any type) is refused with 400
	                                 * pan_not_allowed before routing (sr_http_screen.c; the
	                                 * gateway: no PAN outside the CDE, ADR 0106) */
	/* Hostile clients (ADR 0109): checked when a connection is accepted,
	 * before it gets a thread or a TLS session; a refused connection is
	 * closed at once, logged (at most one line a second) and counted in
	 * strongroom_http_connections_refused_total. An address is an IPv4
	 * address, or an IPv6 /64 (one host's usual allocation). */
	unsigned max_per_ip;            /* connections open at once from one address; 0 means 64 */
	double accept_rate;             /* new connections per second from one address, refilled
	                                 * continuously; 0 means 100 */
	double accept_burst;            /* new connections one address may open at once; 0 means 200 */
	unsigned handshake_timeout_s;   /* seconds a new connection has, without activity, to
	                                 * finish its TLS handshake and send its first request's
	                                 * headers; 0 means 5. Afterwards, 30 s idle keep-alive. */
};

struct sr_http_server;

/* The configuration keys sr_http_config_limits reads, for a daemon's list
 * of allowed keys. */
#define SR_HTTP_LIMIT_KEYS "max_connections_per_ip", "accept_per_second_per_ip", \
	"accept_burst_per_ip", "handshake_timeout_seconds"

/**
 * Read a daemon's listener limits (ADR 0109) from its configuration object
 * into hc's max_per_ip, accept_rate, accept_burst and handshake_timeout_s:
 * max_connections_per_ip (1..100000, default per_ip_default: the daemon's
 * choice, browsers or servers behind an address), accept_per_second_per_ip
 * (1..1000000, default 100), accept_burst_per_ip (1..1000000, default 200),
 * handshake_timeout_seconds (1..30, default 5); all integers. path names
 * the file in messages. @return 0, or -1 with msg naming the key (never
 * quoting its value).
 */
int sr_http_config_limits(const json_t *cfg, const char *path, unsigned per_ip_default,
                          struct sr_http_config *hc, char *msg, size_t msglen);

/**
 * Start listening. The first call also sets process-wide state: SIGPIPE is
 * ignored (a peer closing a socket never kills the daemon), GnuTLS PKCS#11
 * is initialised in manual mode (no p11-kit module is ever auto-loaded), and
 * jansson's allocator wipes freed memory (request bodies may hold card data).
 * @return server, or NULL with err filled.
 */
struct sr_http_server *sr_http_start(const struct sr_http_config *cfg, char *err, size_t errlen);

/**
 * The TCP port the server listens on (useful with cfg->port == 0, which
 * lets the kernel choose; tests use that). 0 for NULL.
 */
uint16_t sr_http_port(const struct sr_http_server *srv);

/**
 * Graceful drain (SIGTERM, ADR 0051): stop accepting connections (the
 * listening socket is closed: new clients get "connection refused"), let
 * requests already received finish, answer them with "Connection: close",
 * and wait at most grace_ms for the last one.
 * @return the number of requests still running at the deadline (0 = clean).
 * Call sr_http_stop afterwards.
 */
unsigned sr_http_drain(struct sr_http_server *srv, unsigned grace_ms);

/**
 * Reload the server certificate chain and key from the files given at
 * start, or the chain and the signer's key for it (bind) (SIGHUP, ADR 0052). New handshakes use the new pair; connections
 * already established keep theirs. A pair that cannot be read, parsed, or
 * whose key does not sign for the certificate is refused and the current
 * one kept. A successful reload also replaces the listener's session ticket
 * key (ADR 0118): no ticket issued before it resumes a session.
 * @return 0, or -1 with err.
 */
int sr_http_reload(struct sr_http_server *srv, char *err, size_t errlen);

/** Stop accepting, close connections, join the threads, free. NULL ok. */
void sr_http_stop(struct sr_http_server *srv);

/** Request header value (case-insensitive name) or NULL. */
const char *sr_http_header(const struct sr_http_request *req, const char *name);

/**
 * Every field line named name (case-insensitive), joined with "," in the
 * order received (RFC 9110 section 5.3), into out[outlen]. A header a
 * client may repeat (X-Forwarded-For) must be read this way: the first
 * line alone can be the client's own. @return the number of lines (0: none,
 * out ""), or -1 (does not fit in outlen; out "").
 */
int sr_http_header_all(const struct sr_http_request *req, const char *name, char *out,
                       size_t outlen);

/** Query-string argument or NULL. */
const char *sr_http_query(const struct sr_http_request *req, const char *name);

/**
 * The name of the first query argument (RFC 3986 section 3.4, as
 * libmicrohttpd decoded it) not in allowed, a NULL-terminated list (NULL:
 * none is allowed); NULL when every one is. The name is libmicrohttpd's,
 * valid for the request; it is caller input (name it only when it is safe).
 */
const char *sr_http_query_unknown(const struct sr_http_request *req, const char *const *allowed);

/** The token of "Authorization: Bearer <token>", or NULL. */
const char *sr_http_bearer(const struct sr_http_request *req);

/**
 * Record who made the request, once a handler has authenticated it: the
 * merchant id and the id of the key used (never the key itself). Both are
 * copied (truncated to the fields' sizes); NULL leaves a field as it is.
 * Every request line (event "http.request") then carries them beside the
 * client address (PCI DSS v4.0 10.2.2: user identification, origination).
 */
void sr_http_set_principal(struct sr_http_request *req, const char *merchant, const char *key_id);

/** Reply with a JSON body (reference stolen, may be NULL for an empty body). */
void sr_http_reply_json(struct sr_http_request *req, unsigned status, json_t *body);

/**
 * Reply {"error":{"type","code","message","param"?,"request_id"}} (README.md, APIs).
 * type: invalid_request_error, authentication_error, card_error,
 * idempotency_error, rate_limit_error, api_error. param may be NULL.
 * message must never echo a submitted value.
 */
void sr_http_reply_error(struct sr_http_request *req, unsigned status, const char *type,
                         const char *code, const char *message, const char *param);

/** Reply with raw bytes (copied) and the given Content-Type. */
void sr_http_reply_raw(struct sr_http_request *req, unsigned status, const char *content_type,
                       const void *data, size_t len);

/**
 * Forget the reply built so far (its body, status, error code and added
 * headers) so that another can be set: for a wrapper that finds, after the
 * handler, that the request must not be reported done (the gateway when its
 * audit record can be neither written nor spooled, PCI DSS v4.0 10.2.1).
 */
void sr_http_reply_reset(struct sr_http_request *req);

/**
 * Send nothing and close the connection (the peer sees EOF). Test doubles
 * only (pspsim's "answer lost" fault); counts as the handler's reply.
 */
void sr_http_reply_drop(struct sr_http_request *req);

/** Status of the reply the handler made so far (0: none yet, or dropped). */
unsigned sr_http_reply_status(const struct sr_http_request *req);

/** The code of the sr_http_reply_error reply made, or NULL (not an error reply). */
const char *sr_http_reply_error_code(const struct sr_http_request *req);

/**
 * Add a response header to the reply about to be sent (call before reply).
 * Every reply gets "Cache-Control: no-store" unless the handler adds its own
 * Cache-Control (public static files only).
 */
void sr_http_add_header(struct sr_http_request *req, const char *name, const char *value);

/**
 * The client's IP address (the TCP peer, not any forwarded header) as text,
 * e.g. "127.0.0.1" or "::1". outlen >= INET6_ADDRSTRLEN (46).
 * @return 0, or -1 when unknown. (Added for the vault's per-address rate limit.)
 */
int sr_http_client_ip(const struct sr_http_request *req, char *out, size_t outlen);

#endif
