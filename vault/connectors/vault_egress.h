/*
 * vault_egress: outbound HTTPS from the CDE to PSPs over mutual TLS with
 * mbedTLS 2.28 (TLS 1.2 minimum), the appliance CA pinned, the server's DNS
 * name verified, and only allowlisted host:port pairs reachable.
 * HTTP/1.1 responses are parsed with http_parser (nodejs/http-parser).
 */
#ifndef VAULT_EGRESS_H
#define VAULT_EGRESS_H
#include <stddef.h>

struct sr_http_signer;

struct vault_egress;

struct vault_egress_config {
	const char *ca_file;        /* PEM: the only trusted CA */
	const char *cert_file;      /* client certificate (vault-egress) */
	const char *key_file;       /* client key, PEM; NULL with signer */
	const struct sr_http_signer *signer; /* non-NULL: the key is the signer's, in the HSM
	                             * (ADR 0118; vault_egress_key.h); borrowed, outlives eg */
	const char *const *allowlist; /* NULL-terminated "host:port" entries */
	unsigned timeout_ms;        /* connect/read timeout; 0 means 10000 */
	int pool_max;               /* idle keep-alive connections kept (all destinations);
	                             * 0 means 32, < 0 disables reuse ("Connection: close") */
	unsigned idle_ms;           /* idle connections older than this are closed; 0 means 10000 */
};

/** Load certificates and key. @return handle, or NULL with err filled. Thread-safe use afterwards. */
struct vault_egress *vault_egress_new(const struct vault_egress_config *cfg, char *err, size_t errlen);
void vault_egress_free(struct vault_egress *eg);

struct vault_egress_response {
	int status;                 /* HTTP status */
	char *body;                 /* malloc'd, NUL-terminated; caller frees */
	size_t body_len;
};

/**
 * One HTTP/1.1 request over mutual TLS: on an idle pooled connection to the
 * same host, address and port when one is alive (ADR 0080), else on a fresh
 * one (which goes back to the pool after a complete keep-alive exchange).
 * A request whose head could not be written completely on a reused
 * connection is sent once more on a fresh one (nothing could have been
 * processed); any other failure after writing began is -2, never retried.
 * @param host DNS name checked against the server certificate and the allowlist.
 * @param addr IP address to connect to (NULL: resolve host).
 * @param headers NULL-terminated "Name: value" lines (no CRLF), may be NULL.
 * @param body request body (may hold a PAN): wiped by this function as soon as
 *             it has been written to the TLS connection. body is not const for that reason.
 * @return 0 with resp filled; -1 when the request was not sent (refused,
 *         TLS failure, not allowlisted): *sent = 0; -2 when it was sent but
 *         no complete answer came back: *sent = 1. err filled on failure.
 */
int vault_egress_request(struct vault_egress *eg, const char *host, const char *addr,
                         unsigned port, const char *method, const char *path,
                         const char *const *headers, char *body, size_t body_len,
                         struct vault_egress_response *resp, int *sent,
                         char *err, size_t errlen);

/** TLS handshakes completed by eg so far (tests, metrics). Thread-safe. */
unsigned long vault_egress_handshakes(struct vault_egress *eg);

#endif
