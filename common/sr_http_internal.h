/*
 * sr_http_internal: what the parts of sr_http share (private to
 * common/sr_http*.c; daemons use sr_http.h). sr_http.c is the server
 * (daemon, TLS and mutual TLS, access handler, routing, drain),
 * sr_http_creds.c its TLS credentials and their reload, sr_http_request.c
 * reads requests, sr_http_reply.c builds and sends replies.
 */
#ifndef SR_HTTP_INTERNAL_H
#define SR_HTTP_INTERNAL_H
#include "common/sr_http.h"

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include <sys/socket.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

struct tls_creds;
struct sr_http_guard;
struct sr_http_signer;
struct sr_http_tickets;

struct sr_http_server {
	struct MHD_Daemon *daemon;
	pthread_mutex_t mu;             /* creds, in_flight */
	pthread_cond_t cv;              /* in_flight reached 0 */
	struct tls_creds *creds;        /* current generation */
	char *cert_file;
	char *key_file;                 /* NULL: the key is signer's */
	const struct sr_http_signer *signer;
	unsigned in_flight;             /* requests between first call and completion */
	int draining;                   /* 1 after sr_http_drain: replies close connections */
	int sync_init;                  /* mu and cv initialised */
	const struct sr_route *routes;
	size_t n_routes;
	size_t max_body;
	int accept_form;                /* sr_http_config.accept_form */
	int refuse_pan;                 /* sr_http_config.refuse_pan */
	void *app;
	char *name;
	char *peer_name;                /* NULL: no mTLS */
	gnutls_typed_vdata_st vdata[2]; /* handshake + per-request checks */
	char *ca_pem;
	struct sr_http_guard *guard;    /* per-address limits (sr_http_guard.c) */
	unsigned handshake_timeout_s;   /* until the first request's headers */
	struct sr_http_tickets *tickets; /* session resumption (sr_http_tickets.c) */
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
	unsigned refusal;               /* 413/411 decided from the headers, answered once the body is read */
	size_t drained;                 /* bytes of a refused body read and discarded */
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
	int pan_refused;                /* sr_http_screen_pan refused it: nothing of it is logged */
};

/* ---- sr_http.c ---- */

/**
 * printf-style message into err (errlen bytes, truncated, NUL-terminated);
 * nothing when err is NULL or errlen is 0.
 */
void sr_http_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- sr_http_creds.c (ADR 0052) ---- */

/**
 * The contents of the PEM file at path, NUL-terminated (caller frees): a
 * regular file of at most 1 MiB. @return NULL with err on failure (cannot
 * open, not a regular file, too large, read error, out of memory).
 */
char *sr_http_read_pem(const char *path, char *err, size_t errlen);

/**
 * One generation of server credentials: the certificate chain (PEM, at
 * most 8 certificates) of cert_file and the private key of key_file (read
 * as a secret, sr_secret_read_file), or, with signer (key_file NULL), the
 * signer's key for the leaf certificate (ADR 0118); the key must sign for
 * the certificate. @return the generation (free with sr_http_creds_free),
 * or NULL with err.
 */
struct tls_creds *sr_http_creds_load(const char *cert_file, const char *key_file,
                                     const struct sr_http_signer *signer, char *err,
                                     size_t errlen);

/** Free a generation and every older one on its list (NULL ok). */
void sr_http_creds_free(struct tls_creds *c);

/**
 * GnuTLS's certificate callback (gnutls_certificate_retrieve_function2,
 * given to libmicrohttpd as MHD_OPTION_HTTPS_CERT_CALLBACK): serves the
 * current generation of the server set with gnutls_session_set_ptr
 * (srv->creds, read under srv->mu); GnuTLS does not take ownership.
 * @return 0, or -1 when the session has no server or no credentials.
 */
int sr_http_cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                          const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                          gnutls_pcert_st **pcert, unsigned int *pcert_length,
                          gnutls_privkey_t *pkey);

/* ---- sr_http_request.c ---- */

/** 1 for [A-Za-z0-9_-] (ids, "{}" route captures), else 0. */
int sr_http_id_char(int c);

/**
 * Digits among the first n characters of s (up to its NUL), in any
 * position: a card number split by separators still counts as its digits.
 */
size_t sr_http_digit_count(const char *s, size_t n);

/**
 * 1 when s (NULL ok) may be reused as our request id: ^req_[A-Za-z0-9_-]+$,
 * at most 39 characters, fewer than 12 digits in all (no PAN outside the CDE).
 */
int sr_http_valid_request_id(const char *s);

/**
 * Most bytes of a refused body read and discarded before the 413 or 411 is
 * sent (1 MiB). Answering from the headers and closing with the body unread
 * resets the connection under a client still uploading, which then never
 * reads the answer (RFC 9112 §9.6): a refused body up to this size is read
 * and dropped, never stored; a larger one ends the connection.
 */
#define SR_HTTP_DRAIN_MAX ((size_t)1 << 20)

/**
 * Refusal decided from the headers alone on the first call: 400 at once,
 * with "Connection: close" (both Content-Length and Transfer-Encoding, or
 * Content-Length twice: ambiguous framing, RFC 9112 sections 6.1 and 6.3), 413 (declared
 * Content-Length over max_body), 411 (POST/PUT/PATCH with
 * Transfer-Encoding and no Content-Length), 500 (no memory for the declared
 * body), else 0. A 413 or 411 is answered at once only when the client
 * waits for "100 Continue" (it has sent no body) or declares more than
 * SR_HTTP_DRAIN_MAX; otherwise it is recorded in st->refusal, 0 is
 * returned, and the body is drained (sr_http_body_append) before the
 * answer (sr_http_body_status).
 */
unsigned sr_http_early_refusal(struct req_state *st);

/**
 * Take one piece of upload data (n bytes, copied): appended to st->body,
 * or, once the total would pass max_body, the body is wiped and the rest
 * discarded (413 on the final call). A body refused from its headers is
 * discarded as it arrives. @return 0, or -1 out of memory or more than
 * SR_HTTP_DRAIN_MAX bytes discarded (the connection is then closed).
 */
int sr_http_body_append(struct req_state *st, const char *data, size_t n);

/**
 * Refusal of the body on the final call, before routing: the refusal
 * decided from the headers (st->refusal), 413 (more than max_body
 * arrived), 411 (POST/PUT/PATCH body without Content-Length), else 0.
 */
unsigned sr_http_body_status(const struct req_state *st);

/**
 * Expose the body as req->body (NUL-terminated) and parse it by Content-Type:
 * application/json (non-empty, duplicate keys refused) into req->json,
 * application/x-www-form-urlencoded into req->form on listeners that accept
 * forms. Any other non-empty body (another or no Content-Type, or a form
 * where forms are not accepted) is refused, never passed on as "no body":
 * to a capture or refund, no body means the full amount. @return 0, or -1
 * with the error reply set: 400 (invalid_json, duplicate_parameter,
 * invalid_form) or 415 (unsupported_media_type; RFC 9110 section 15.5.16).
 */
int sr_http_parse_body(struct req_state *st);

/* ---- sr_http_screen.c ---- */

/**
 * The card number check of a refuse_pan listener: the path, every query
 * argument and header (names and values) and the raw body, through
 * common/sr_panscan. @return 0 when none holds one; -1 with the reply set
 * (400 invalid_request_error pan_not_allowed, param "path", "query:NAME",
 * "header:NAME", a JSON field path or "body", never the value), one
 * "http.pan_refused" log line, and st->pan_refused set.
 */
int sr_http_screen_pan(struct req_state *st);

/* ---- sr_http_reply.c ---- */

/** Register the request metrics (once per process; thread-safe). */
void sr_http_metrics_init(void);

/** Publish srv->in_flight to the in-flight gauge. Caller holds srv->mu. */
void sr_http_metrics_in_flight(const struct sr_http_server *srv);

/**
 * Reply with the API's error object for an HTTP status sr_http decides
 * itself (404, 405, 413, 411, 401 mTLS); any other status: 500 api_error.
 */
void sr_http_reply_status_error(struct req_state *st, unsigned status);

/**
 * Queue the reply the handler made (or a 500 if none), with the standard
 * headers (X-Request-Id, Cache-Control: no-store unless the handler set
 * one, nosniff, Connection: close while draining); write the access log
 * line and the request metrics. @return libmicrohttpd's result (MHD_NO
 * closes the connection: sr_http_reply_drop, or no response possible).
 */
enum MHD_Result sr_http_queue_reply(struct req_state *st);

/* ---- sr_http_guard.c (ADR 0109) ---- */

/**
 * Per-address limits of one listener: at most max_per_ip connections open
 * at once from one address (an IPv4 address, or an IPv6 /64), and new
 * connections from one address admitted by a token bucket of rate per
 * second and burst capacity. max_connections: the listener's connection
 * limit, which sizes the table. @return the guard, or NULL (bad argument,
 * out of memory). listener is copied.
 */
struct sr_http_guard *sr_http_guard_new(const char *listener, unsigned max_per_ip, double rate,
                                        double burst, unsigned max_connections);

/** Free a guard (NULL ok), after the daemon using it has stopped. */
void sr_http_guard_free(struct sr_http_guard *g);

/**
 * libmicrohttpd's accept policy (MHD_OPTION_APPLY_POLICY, cls: the guard),
 * called as each connection is accepted, before it gets a thread or a TLS
 * session. MHD_NO (the socket is closed at once) when the address already
 * has max_per_ip connections open, its bucket is empty, or the table has
 * no room; each refusal is counted in
 * strongroom_http_connections_refused_total{listener,reason} and logged at
 * most once a second. Non-IP sockets are admitted. Thread-safe.
 */
enum MHD_Result sr_http_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);

/** A connection from addr started (MHD_CONNECTION_NOTIFY_STARTED). NULL g ok. */
void sr_http_guard_opened(struct sr_http_guard *g, const struct sockaddr *addr);

/** A connection from addr closed (MHD_CONNECTION_NOTIFY_CLOSED). NULL g ok. */
void sr_http_guard_closed(struct sr_http_guard *g, const struct sockaddr *addr);

/*
 * sr_http_guard_defer_accept - keep connections that have sent no byte in
 * the kernel for secs seconds (TCP_DEFER_ACCEPT, tcp(7)), so silent sockets
 * never reach accept() (ADR 0109). listen_fd is the listener's socket;
 * listener names it in the warning logged when the option cannot be set
 * (not fatal: the per-address cap and handshake deadline still hold).
 */
void sr_http_guard_defer_accept(int listen_fd, unsigned secs, const char *listener);
/**
 * (sr_http_signer.c) A GnuTLS private key for the certificate key pub whose
 * signatures signer makes (signer->bind is called once with pub's P-256
 * point; gnutls_privkey_deinit releases what it bound).
 * @return 0 with *out set, or -1 with err (not a P-256 certificate, no key
 *         bound for it).
 */
int sr_http_signer_key(const struct sr_http_signer *signer, gnutls_pubkey_t pub,
                       gnutls_privkey_t *out, char *err, size_t errlen);

/* ---- sr_http_tickets.c (ADR 0118: resumed sessions sign nothing) ---- */

/* The ticket lifetime announced to clients (RFC 8446 §4.6.1
 * ticket_lifetime; RFC 5077 in TLS 1.2), seconds. GnuTLS derives a new
 * ticket encryption key from the master every 3 x this. */
#define SR_HTTP_TICKET_LIFETIME_S 3600
/* A ticket master key is replaced after this long (seconds). */
#define SR_HTTP_TICKET_MASTER_S (6 * 3600)

/**
 * One listener's session tickets: a fresh random 64-byte master key
 * (gnutls_session_ticket_key_generate). @return it, or NULL (no memory, no
 * randomness). Free with sr_http_tickets_free.
 */
struct sr_http_tickets *sr_http_tickets_new(void);

/**
 * Let server session s issue and accept t's tickets (before its handshake:
 * MHD_CONNECTION_NOTIFY_STARTED); replaces t's master first when it is
 * older than SR_HTTP_TICKET_MASTER_S. Thread-safe. @return 0, or -1 (s
 * then does full handshakes only).
 */
int sr_http_tickets_enable(struct sr_http_tickets *t, gnutls_session_t s);

/**
 * A new master key now (sr_http_reload, SIGHUP): every ticket issued
 * before no longer resumes. Thread-safe. @return 0, or -1 (old one kept).
 */
int sr_http_tickets_rotate(struct sr_http_tickets *t);

/** Wipe and free t (NULL ok), after the daemon using it has stopped. */
void sr_http_tickets_free(struct sr_http_tickets *t);

#endif
