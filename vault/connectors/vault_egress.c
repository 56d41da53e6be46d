/*
 * vault_egress: outbound mutual-TLS HTTP/1.1 from the CDE to allowlisted PSPs.
 *
 * mbedTLS 2.28, TLS 1.2 minimum (RFC 5246; 1.0/1.1 are compiled into Debian's
 * build and refused here), server certificate verified against the appliance
 * CA only (pinned trust anchor) and its DNS name (RFC 6125), our own client
 * certificate presented. Connections are kept alive (RFC 9112 §9.3) in a small
 * pool of idle mutual-TLS sessions per destination, so a payment's two PSP
 * requests cost no handshake in the steady state (ADR 0080); the response is
 * parsed by http_parser, never by hand.
 *
 * PCI DSS v4.0 4.2.1: strong cryptography with trusted certificates for PAN
 * sent over open, public networks; 1.4.1/1.3.2: outbound traffic from the
 * CDE restricted to what is necessary (the allowlist below, enforced before
 * any connection is made).
 */
#include "vault/connectors/vault_egress.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "common/sr_secret.h"
#include "vault/connectors/vault_egress_key.h"

/* The suites offered toward PSPs (mbedTLS 2.28 identifiers), zero-terminated. */
static const int EGRESS_SUITES[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	0,
};

#define EGRESS_BODY_MAX (1024u * 1024u) /* response body cap: 1 MiB */
#define EGRESS_DEFAULT_TIMEOUT_MS 10000u
#define EGRESS_HEAD_MAX 8192u           /* request line + headers */
#define EGRESS_DEFAULT_POOL_MAX 32u     /* idle connections kept, all destinations */
#define EGRESS_DEFAULT_IDLE_MS 10000u   /* below common server keep-alive timeouts (MHD: 30 s) */

struct vault_egress {
	mbedtls_x509_crt ca;            /* the only trust anchor */
	mbedtls_x509_crt cert;          /* our client certificate */
	mbedtls_pk_context key;         /* our client key */
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;  /* shared; every use under drbg_lock */
	pthread_mutex_t drbg_lock;
	bool lock_ok;
	mbedtls_ssl_config conf;        /* read-only after vault_egress_new: shared by threads */
	char **allowlist;               /* "host:port", NULL-terminated copy */
	unsigned timeout_ms;
	/* Keep-alive pool (ADR 0080): idle connections, newest first, under pool_lock. */
	pthread_mutex_t pool_lock;
	bool pool_lock_ok;
	struct egress_conn *idle;
	size_t n_idle;
	size_t pool_max;                /* 0: pooling off ("Connection: close") */
	unsigned idle_ms;               /* an idle connection older than this is closed */
	unsigned long handshakes;       /* completed TLS handshakes, under pool_lock */
};

/* One mutual-TLS connection; heap-allocated so the BIO pointer (&net) stays valid in the pool. */
struct egress_conn {
	mbedtls_net_context net;
	mbedtls_ssl_context ssl;
	char key[320];                  /* "host|addr|port": what it may be reused for */
	struct timespec idle_since;     /* CLOCK_MONOTONIC, when it went back to the pool */
	struct egress_conn *next;
};

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

/* mbedTLS error code to its library message (never contains data). */
static void tls_err(char *err, size_t errlen, const char *what, int ret)
{
	char buf[160];

	mbedtls_strerror(ret, buf, sizeof buf);
	seterr(err, errlen, "%s: %s (-0x%04x)", what, buf, (unsigned)-ret);
}

/* RNG callback for the SSL config: the shared CTR_DRBG behind a mutex, so
 * concurrent handshakes from several daemon threads are safe. */
static int locked_drbg(void *ctx, unsigned char *out, size_t len)
{
	struct vault_egress *eg = ctx;
	int ret = 0;

	pthread_mutex_lock(&eg->drbg_lock);
	ret = mbedtls_ctr_drbg_random(&eg->drbg, out, len);
	pthread_mutex_unlock(&eg->drbg_lock);
	return ret;
}

/* Close and free one connection; notify: send close_notify first (best effort). */
static void conn_close(struct egress_conn *c, bool notify)
{
	if (c == NULL)
		return;
	if (notify)
		(void)mbedtls_ssl_close_notify(&c->ssl);
	mbedtls_ssl_free(&c->ssl);      /* zeroizes its record buffers */
	mbedtls_net_free(&c->net);
	free(c);
}

void vault_egress_free(struct vault_egress *eg)
{
	size_t i = 0;

	if (eg == NULL)
		return;
	while (eg->idle != NULL) {
		struct egress_conn *c = eg->idle;

		eg->idle = c->next;
		conn_close(c, true);
	}
	if (eg->pool_lock_ok)
		pthread_mutex_destroy(&eg->pool_lock);
	mbedtls_ssl_config_free(&eg->conf);
	mbedtls_ctr_drbg_free(&eg->drbg);
	mbedtls_entropy_free(&eg->entropy);
	mbedtls_pk_free(&eg->key);      /* zeroizes the key material */
	mbedtls_x509_crt_free(&eg->cert);
	mbedtls_x509_crt_free(&eg->ca);
	if (eg->allowlist != NULL) {
		for (i = 0; eg->allowlist[i] != NULL; i++)
			free(eg->allowlist[i]);
		free(eg->allowlist);
	}
	if (eg->lock_ok)
		pthread_mutex_destroy(&eg->drbg_lock);
	free(eg);
}

struct vault_egress *vault_egress_new(const struct vault_egress_config *cfg, char *err, size_t errlen)
{
	static const unsigned char pers[] = "strongroom-vault-egress";
	struct vault_egress *eg = NULL;
	struct vault_egress *ret = NULL;
	char *key_pem = NULL;
	size_t key_len = 0;
	size_t n = 0;
	size_t i = 0;
	int rc = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (cfg == NULL || cfg->ca_file == NULL || cfg->cert_file == NULL ||
	    (cfg->key_file == NULL) == (cfg->signer == NULL)) {
		seterr(err, errlen, "egress: ca_file, cert_file and one of key_file and signer are "
		       "required");
		goto out;
	}
	eg = calloc(1, sizeof *eg);
	if (eg == NULL) {
		seterr(err, errlen, "egress: out of memory");
		goto out;
	}
	mbedtls_x509_crt_init(&eg->ca);
	mbedtls_x509_crt_init(&eg->cert);
	mbedtls_pk_init(&eg->key);
	mbedtls_entropy_init(&eg->entropy);
	mbedtls_ctr_drbg_init(&eg->drbg);
	mbedtls_ssl_config_init(&eg->conf);
	if (pthread_mutex_init(&eg->drbg_lock, NULL) != 0) {
		seterr(err, errlen, "egress: mutex init failed");
		goto out;
	}
	eg->lock_ok = true;
	if (pthread_mutex_init(&eg->pool_lock, NULL) != 0) {
		seterr(err, errlen, "egress: mutex init failed");
		goto out;
	}
	eg->pool_lock_ok = true;
	eg->pool_max = cfg->pool_max < 0 ? 0 : cfg->pool_max == 0 ? EGRESS_DEFAULT_POOL_MAX : (size_t)cfg->pool_max;
	eg->idle_ms = cfg->idle_ms != 0 ? cfg->idle_ms : EGRESS_DEFAULT_IDLE_MS;
	eg->timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : EGRESS_DEFAULT_TIMEOUT_MS;

	if (cfg->allowlist != NULL)
		while (cfg->allowlist[n] != NULL)
			n++;
	eg->allowlist = calloc(n + 1, sizeof *eg->allowlist);
	if (eg->allowlist == NULL) {
		seterr(err, errlen, "egress: out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		eg->allowlist[i] = strdup(cfg->allowlist[i]);
		if (eg->allowlist[i] == NULL) {
			seterr(err, errlen, "egress: out of memory");
			goto out;
		}
	}

	rc = mbedtls_ctr_drbg_seed(&eg->drbg, mbedtls_entropy_func, &eg->entropy, pers, sizeof pers - 1);
	if (rc != 0) {
		tls_err(err, errlen, "egress: seeding the DRBG", rc);
		goto out;
	}
	/* The appliance CA is the only trust anchor (pinned): no system store. */
	rc = mbedtls_x509_crt_parse_file(&eg->ca, cfg->ca_file);
	if (rc != 0) {
		tls_err(err, errlen, "egress: loading the CA file", rc);
		goto out;
	}
	rc = mbedtls_x509_crt_parse_file(&eg->cert, cfg->cert_file);
	if (rc != 0) {
		tls_err(err, errlen, "egress: loading the client certificate", rc);
		goto out;
	}
	/* ADR 0118: the key in the HSM, used through the signer. */
	if (cfg->signer != NULL) {
		if (vault_egress_key_setup(&eg->key, &eg->cert.pk, cfg->signer, err, errlen) != 0)
			goto out;
		goto key_ready;
	}
	/* PCI DSS 3.6.1: the key file goes through sr_secret_read_file (mode
	 * 0600 enforced, $CREDENTIALS_DIRECTORY, guarded memory, wiped). */
	key_pem = sr_secret_read_file(cfg->key_file, &key_len, err, errlen);
	if (key_pem == NULL)
		goto out;
	rc = mbedtls_pk_parse_key(&eg->key, (const unsigned char *)key_pem, key_len + 1, NULL, 0);
	sr_secret_free(key_pem);
	key_pem = NULL;
	if (rc != 0) {
		tls_err(err, errlen, "egress: loading the client key", rc);
		goto out;
	}
	rc = mbedtls_pk_check_pair(&eg->cert.pk, &eg->key);
	if (rc != 0) {
		tls_err(err, errlen, "egress: client key does not match the certificate", rc);
		goto out;
	}
key_ready:

	rc = mbedtls_ssl_config_defaults(&eg->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
	                                 MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc != 0) {
		tls_err(err, errlen, "egress: SSL config", rc);
		goto out;
	}
	/* RFC 5246 / PCI DSS 4.2.1: TLS 1.2 minimum; the peer must verify. */
	mbedtls_ssl_conf_min_version(&eg->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_authmode(&eg->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&eg->conf, &eg->ca, NULL);
	rc = mbedtls_ssl_conf_own_cert(&eg->conf, &eg->cert, &eg->key);
	if (rc != 0) {
		tls_err(err, errlen, "egress: client certificate", rc);
		goto out;
	}
	mbedtls_ssl_conf_rng(&eg->conf, locked_drbg, eg);
	mbedtls_ssl_conf_read_timeout(&eg->conf, eg->timeout_ms);
	mbedtls_ssl_conf_renegotiation(&eg->conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	/* PCI DSS 4.2.1 (strong cryptography), RFC 7525 §4.2: forward-secret
	 * ECDHE with AEAD suites only; no static RSA, no CBC. */
	mbedtls_ssl_conf_ciphersuites(&eg->conf, EGRESS_SUITES);

	ret = eg;
	eg = NULL;
out:
	sr_secret_free(key_pem);
	vault_egress_free(eg);
	return ret;
}

/* 1 if "host:port" is allowlisted (host compared case-insensitively, RFC 4343). */
static int allowlisted(const struct vault_egress *eg, const char *host, unsigned port)
{
	char want[300];
	size_t i = 0;
	int n = 0;

	n = snprintf(want, sizeof want, "%s:%u", host, port);
	if (n < 0 || (size_t)n >= sizeof want)
		return 0;
	for (i = 0; eg->allowlist[i] != NULL; i++)
		if (strcasecmp(eg->allowlist[i], want) == 0)
			return 1;
	return 0;
}

/*
 * TCP connect with a timeout (mbedtls_net_connect blocks without one).
 * @return connected blocking fd with SO_SNDTIMEO set, or -1 with err.
 */
static int connect_timeout(const char *target, unsigned port, unsigned timeout_ms, bool numeric,
                           char *err, size_t errlen)
{
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	struct addrinfo *ai = NULL;
	struct pollfd pfd;
	struct timeval tv;
	char portstr[16];
	int fd = -1;
	int ret = -1;
	int rc = 0;
	int soerr = 0;
	int flags = 0;
	int one = 1;
	socklen_t sl = sizeof soerr;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = numeric ? AI_NUMERICHOST : 0;
	snprintf(portstr, sizeof portstr, "%u", port);
	rc = getaddrinfo(target, portstr, &hints, &res);
	if (rc != 0) {
		seterr(err, errlen, "egress: resolving the destination: %s", gai_strerror(rc));
		goto out;
	}
	seterr(err, errlen, "egress: connect failed");
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		flags = fcntl(fd, F_GETFL);
		if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
			goto next;
		rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (rc != 0 && errno != EINPROGRESS) {
			seterr(err, errlen, "egress: connect: %s", strerror(errno));
			goto next;
		}
		if (rc != 0) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			pfd.revents = 0;
			do
				rc = poll(&pfd, 1, (int)timeout_ms);
			while (rc < 0 && errno == EINTR);
			if (rc == 0) {
				seterr(err, errlen, "egress: connect: timed out");
				goto next;
			}
			soerr = 0;
			sl = sizeof soerr;
			if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
				seterr(err, errlen, "egress: connect: %s", strerror(soerr != 0 ? soerr : errno));
				goto next;
			}
		}
		if (fcntl(fd, F_SETFL, flags) < 0)
			goto next;
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		/* Head and body go out as separate records: avoid Nagle + delayed-ACK stalls. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		ret = fd;
		fd = -1;
		break;
next:
		close(fd);
		fd = -1;
	}
out:
	if (res != NULL)
		freeaddrinfo(res);
	return ret;
}

/*
 * BIO send callback: mbedtls_net_send with MSG_NOSIGNAL, so a peer that drops
 * the connection (e.g. refusing our certificate) gives an error, not SIGPIPE.
 * The socket is blocking with SO_SNDTIMEO: EAGAIN means the send timed out.
 */
static int egress_send(void *ctx, const unsigned char *buf, size_t len)
{
	mbedtls_net_context *net = ctx;
	ssize_t n = 0;

	do
		n = send(net->fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return (int)n;
	if (errno == EPIPE || errno == ECONNRESET)
		return MBEDTLS_ERR_NET_CONN_RESET;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

/* http_parser state for one response. */
struct resp_state {
	char *body;
	size_t len;
	size_t cap;
	bool complete;
	bool too_large;
	bool oom;
};

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct resp_state *st = p->data;
	size_t need = 0;
	size_t ncap = 0;
	char *nb = NULL;

	if (len > EGRESS_BODY_MAX - st->len) {
		st->too_large = true;
		return 1;
	}
	need = st->len + len + 1;
	if (need > st->cap) {
		ncap = st->cap == 0 ? 4096 : st->cap;
		while (ncap < need)
			ncap *= 2;
		nb = realloc(st->body, ncap);
		if (nb == NULL) {
			st->oom = true;
			return 1;
		}
		st->body = nb;
		st->cap = ncap;
	}
	memcpy(st->body + st->len, at, len);
	st->len += len;
	st->body[st->len] = '\0';
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct resp_state *st = p->data;

	st->complete = true;
	/* Stop here: one response per connection. */
	return 0;
}

/* Write all of buf; @return bytes written, with *rc the error if short. */
static size_t ssl_write_all(mbedtls_ssl_context *ssl, const unsigned char *buf, size_t len, int *rc)
{
	size_t off = 0;
	int r = 0;

	*rc = 0;
	while (off < len) {
		r = mbedtls_ssl_write(ssl, buf + off, len - off);
		if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (r <= 0) {
			*rc = r == 0 ? MBEDTLS_ERR_NET_SEND_FAILED : r;
			break;
		}
		off += (size_t)r;
	}
	return off;
}

static long elapsed_ms(const struct timespec *since, const struct timespec *now)
{
	return (long)(now->tv_sec - since->tv_sec) * 1000L + (now->tv_nsec - since->tv_nsec) / 1000000L;
}

/*
 * 1 if an idle pooled connection can carry a new request: nothing buffered
 * in mbedTLS and nothing readable on the socket. A readable idle socket
 * means EOF, a reset, a close_notify or stray bytes: all disqualify it, and
 * detecting them here (before writing) keeps a server-side idle close from
 * turning into a spurious "sent, answer lost".
 */
static int conn_alive(struct egress_conn *c)
{
	struct pollfd pfd;
	int rc = 0;

	if (mbedtls_ssl_get_bytes_avail(&c->ssl) != 0 || mbedtls_ssl_check_pending(&c->ssl) != 0)
		return 0;
	pfd.fd = c->net.fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	do
		rc = poll(&pfd, 1, 0);
	while (rc < 0 && errno == EINTR);
	return rc == 0;
}

/* Take an idle connection for key (newest first), or NULL. Expired and dead
 * connections met on the way are closed (outside the lock). */
static struct egress_conn *pool_take(struct vault_egress *eg, const char *key)
{
	struct egress_conn **pp = NULL;
	struct egress_conn *c = NULL;
	struct egress_conn *dead = NULL;
	struct egress_conn *found = NULL;
	struct timespec now;

	if (eg->pool_max == 0)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&eg->pool_lock);
	pp = &eg->idle;
	while (*pp != NULL) {
		c = *pp;
		if (elapsed_ms(&c->idle_since, &now) >= (long)eg->idle_ms || !conn_alive(c)) {
			*pp = c->next;
			eg->n_idle--;
			c->next = dead;
			dead = c;
			continue;
		}
		if (found == NULL && strcmp(c->key, key) == 0) {
			*pp = c->next;
			eg->n_idle--;
			c->next = NULL;
			found = c;
			continue;
		}
		pp = &c->next;
	}
	pthread_mutex_unlock(&eg->pool_lock);
	while (dead != NULL) {
		c = dead;
		dead = c->next;
		conn_close(c, false);
	}
	return found;
}

/* Return a connection that finished a complete exchange to the pool (closes it when full). */
static void pool_put(struct vault_egress *eg, struct egress_conn *c)
{
	struct egress_conn **pp = NULL;
	struct egress_conn *evict = NULL;

	clock_gettime(CLOCK_MONOTONIC, &c->idle_since);
	pthread_mutex_lock(&eg->pool_lock);
	if (eg->n_idle >= eg->pool_max) {
		/* Full: drop the oldest (the list's tail). */
		pp = &eg->idle;
		while (*pp != NULL && (*pp)->next != NULL)
			pp = &(*pp)->next;
		evict = *pp;
		*pp = NULL;
		if (evict != NULL)
			eg->n_idle--;
	}
	c->next = eg->idle;
	eg->idle = c;
	eg->n_idle++;
	pthread_mutex_unlock(&eg->pool_lock);
	conn_close(evict, true);
}

unsigned long vault_egress_handshakes(struct vault_egress *eg)
{
	unsigned long n = 0;

	if (eg == NULL)
		return 0;
	pthread_mutex_lock(&eg->pool_lock);
	n = eg->handshakes;
	pthread_mutex_unlock(&eg->pool_lock);
	return n;
}

/* A fresh connection: TCP connect with a timeout, then the mutual-TLS handshake. */
static struct egress_conn *conn_open(struct vault_egress *eg, const char *host, const char *addr,
                                     unsigned port, const char *key, char *err, size_t errlen)
{
	struct egress_conn *c = NULL;
	struct egress_conn *ret = NULL;
	int fd = -1;
	int rc = 0;

	c = calloc(1, sizeof *c);
	if (c == NULL) {
		seterr(err, errlen, "egress: out of memory");
		goto out;
	}
	mbedtls_net_init(&c->net);
	mbedtls_ssl_init(&c->ssl);
	snprintf(c->key, sizeof c->key, "%s", key);
	fd = connect_timeout(addr != NULL ? addr : host, port, eg->timeout_ms, addr != NULL, err, errlen);
	if (fd < 0)
		goto out;
	c->net.fd = fd;
	rc = mbedtls_ssl_setup(&c->ssl, &eg->conf);
	if (rc != 0) {
		tls_err(err, errlen, "egress: SSL setup", rc);
		goto out;
	}
	/* RFC 6125: the server certificate must carry this DNS name; also SNI. */
	rc = mbedtls_ssl_set_hostname(&c->ssl, host);
	if (rc != 0) {
		tls_err(err, errlen, "egress: set hostname", rc);
		goto out;
	}
	mbedtls_ssl_set_bio(&c->ssl, &c->net, egress_send, NULL, mbedtls_net_recv_timeout);
	do
		rc = mbedtls_ssl_handshake(&c->ssl);
	while (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (rc != 0) {
		if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED)
			seterr(err, errlen, "egress: TLS handshake: server certificate not trusted or "
			       "wrong name (verify flags 0x%x)", (unsigned)mbedtls_ssl_get_verify_result(&c->ssl));
		else
			tls_err(err, errlen, "egress: TLS handshake", rc);
		goto out;
	}
	pthread_mutex_lock(&eg->pool_lock);
	eg->handshakes++;
	pthread_mutex_unlock(&eg->pool_lock);
	ret = c;
	c = NULL;
out:
	conn_close(c, false);
	return ret;
}

int vault_egress_request(struct vault_egress *eg, const char *host, const char *addr,
                         unsigned port, const char *method, const char *path,
                         const char *const *headers, char *body, size_t body_len,
                         struct vault_egress_response *resp, int *sent,
                         char *err, size_t errlen)
{
	struct egress_conn *c = NULL;
	http_parser parser;
	http_parser_settings settings;
	struct resp_state st;
	struct in6_addr a6;
	unsigned char rbuf[4096];
	char key[320];
	char *head = NULL;
	size_t hlen = 0;
	size_t i = 0;
	size_t wrote = 0;
	size_t parsed = 0;
	int n = 0;
	int rc = 0;
	int ret = -1;
	bool eof = false;
	bool reused = false;
	bool reusable = false;

	memset(&st, 0, sizeof st);
	if (sent != NULL)
		*sent = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (resp != NULL) {
		resp->status = 0;
		resp->body = NULL;
		resp->body_len = 0;
	}
	if (eg == NULL || host == NULL || method == NULL || path == NULL || resp == NULL || sent == NULL
	    || (body == NULL && body_len != 0) || port == 0 || port > 65535) {
		seterr(err, errlen, "egress: invalid arguments");
		goto out;
	}
	/* PCI DSS 1.3.2 / 1.4.1: only allowlisted PSP endpoints leave the CDE. */
	if (!allowlisted(eg, host, port)) {
		seterr(err, errlen, "destination not allowlisted");
		goto out;
	}
	/* mbedTLS 2.28 matches DNS SANs only (docs/development.md, pitfalls): refuse IP literals. */
	if (inet_pton(AF_INET, host, &a6) == 1 || inet_pton(AF_INET6, host, &a6) == 1) {
		seterr(err, errlen, "egress: host must be a DNS name, not an IP address");
		goto out;
	}
	/* A pooled connection is reused only for the same name, address and port. */
	n = snprintf(key, sizeof key, "%s|%s|%u", host, addr != NULL ? addr : "", port);
	if (n < 0 || (size_t)n >= sizeof key) {
		seterr(err, errlen, "egress: host name too long");
		goto out;
	}

	/* Request line and headers in guarded memory (they carry the PSP key). */
	head = sr_secret_alloc(EGRESS_HEAD_MAX);
	if (head == NULL) {
		seterr(err, errlen, "egress: out of memory");
		goto out;
	}
	/* HTTP/1.1 is persistent by default (RFC 9112 §9.3); without a pool, close. */
	n = snprintf(head, EGRESS_HEAD_MAX, "%s %s HTTP/1.1\r\nHost: %s:%u\r\nContent-Length: %zu\r\n%s",
	             method, path, host, port, body_len, eg->pool_max == 0 ? "Connection: close\r\n" : "");
	if (n < 0 || (size_t)n >= EGRESS_HEAD_MAX) {
		seterr(err, errlen, "egress: request head too long");
		goto out;
	}
	hlen = (size_t)n;
	for (i = 0; headers != NULL && headers[i] != NULL; i++) {
		if (strpbrk(headers[i], "\r\n") != NULL) {
			seterr(err, errlen, "egress: header %zu contains CR or LF", i);
			goto out;
		}
		n = snprintf(head + hlen, EGRESS_HEAD_MAX - hlen, "%s\r\n", headers[i]);
		if (n < 0 || (size_t)n >= EGRESS_HEAD_MAX - hlen) {
			seterr(err, errlen, "egress: request head too long");
			goto out;
		}
		hlen += (size_t)n;
	}
	if (hlen + 2 >= EGRESS_HEAD_MAX) {
		seterr(err, errlen, "egress: request head too long");
		goto out;
	}
	memcpy(head + hlen, "\r\n", 3);
	hlen += 2;

	c = pool_take(eg, key);
	reused = c != NULL;
	if (c == NULL) {
		c = conn_open(eg, host, addr, port, key, err, errlen);
		if (c == NULL)
			goto out;
	}

	/* From the first byte written on, the PSP may act on the request. */
	wrote = ssl_write_all(&c->ssl, (const unsigned char *)head, hlen, &rc);
	if (rc != 0 && wrote == 0 && reused) {
		/*
		 * ADR 0080: the head's record did not get out completely, so the
		 * server cannot have authenticated (let alone processed) any of
		 * this request: it is safe to send it once more on a fresh
		 * connection. Any later failure on a reused connection is
		 * reported as "sent, answer lost" (-2), never retried here.
		 */
		conn_close(c, false);
		reused = false;
		c = conn_open(eg, host, addr, port, key, err, errlen);
		if (c == NULL)
			goto out;
		wrote = ssl_write_all(&c->ssl, (const unsigned char *)head, hlen, &rc);
	}
	if (wrote > 0)
		*sent = 1;
	if (rc == 0 && body_len > 0)
		wrote += ssl_write_all(&c->ssl, (const unsigned char *)body, body_len, &rc);
	/* Wipe the request as soon as it is on the wire (or failed to get there).
	 * mbedTLS encrypts each record in place, so its output buffer holds no
	 * plaintext of it either once written. */
	mbedtls_platform_zeroize(head, EGRESS_HEAD_MAX);
	if (body != NULL && body_len > 0)
		mbedtls_platform_zeroize(body, body_len);
	if (rc != 0) {
		tls_err(err, errlen, "egress: writing the request", rc);
		ret = *sent ? -2 : -1;
		goto out;
	}

	http_parser_init(&parser, HTTP_RESPONSE);
	parser.data = &st;
	http_parser_settings_init(&settings);
	settings.on_body = on_body;
	settings.on_message_complete = on_message_complete;
	while (!st.complete) {
		rc = mbedtls_ssl_read(&c->ssl, rbuf, sizeof rbuf);
		if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (rc == MBEDTLS_ERR_SSL_TIMEOUT) {
			seterr(err, errlen, "egress: timed out waiting for the response");
			ret = -2;
			goto out;
		}
		if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_NET_CONN_RESET) {
			/* EOF: lets http_parser finish a body delimited by close. */
			eof = true;
			http_parser_execute(&parser, &settings, NULL, 0);
			break;
		}
		if (rc < 0) {
			tls_err(err, errlen, "egress: reading the response", rc);
			ret = -2;
			goto out;
		}
		parsed = http_parser_execute(&parser, &settings, (const char *)rbuf, (size_t)rc);
		if (st.too_large || st.oom) {
			seterr(err, errlen, st.too_large ? "egress: response body over 1 MiB"
			       : "egress: out of memory");
			ret = -2;
			goto out;
		}
		if (parsed != (size_t)rc && !st.complete) {
			seterr(err, errlen, "egress: malformed HTTP response: %s",
			       http_errno_description(HTTP_PARSER_ERRNO(&parser)));
			ret = -2;
			goto out;
		}
	}
	if (!st.complete) {
		seterr(err, errlen, "egress: connection closed before the response was complete%s%s",
		       eof ? "" : " (read error)", reused ? " (reused connection)" : "");
		ret = -2;
		goto out;
	}
	if (st.body == NULL) {
		st.body = calloc(1, 1);
		if (st.body == NULL) {
			seterr(err, errlen, "egress: out of memory");
			ret = -2;
			goto out;
		}
	}
	resp->status = (int)parser.status_code;
	resp->body = st.body;
	resp->body_len = st.len;
	st.body = NULL;
	/* Reusable only after one exact, complete exchange the server agreed to keep. */
	reusable = eg->pool_max > 0 && !eof && parsed == (size_t)rc && http_should_keep_alive(&parser)
	           && mbedtls_ssl_get_bytes_avail(&c->ssl) == 0;
	if (reusable) {
		pool_put(eg, c);
		c = NULL;
	} else {
		(void)mbedtls_ssl_close_notify(&c->ssl);
	}
	ret = 0;
out:
	/* The body is consumed on every path, sent or not (it may hold a PAN). */
	if (body != NULL && body_len > 0)
		mbedtls_platform_zeroize(body, body_len);
	if (head != NULL)
		sr_secret_free(head);   /* wipes */
	free(st.body);
	conn_close(c, false);
	return ret;
}
