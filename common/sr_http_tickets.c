/*
 * sr_http_tickets: TLS session resumption for sr_http's listeners (ADR
 * 0118), so that a returning client costs no signature (the vault's
 * signatures are HSM operations).
 *
 * Stateless session tickets (RFC 5077 in TLS 1.2, RFC 8446 §4.6.1
 * NewSessionTicket and §2.2 PSK resumption in TLS 1.3), made and read by
 * GnuTLS (gnutls_session_ticket_enable_server). Each listener holds its
 * own 64-byte ticket master key (gnutls_session_ticket_key_generate), so a
 * ticket issued by one listener never resumes on another (the public
 * listener's tickets carry no client certificate; the internal listener's
 * mutual TLS must not be skipped with one). From the master GnuTLS derives
 * the key that encrypts tickets, changing every 3 x SR_HTTP_TICKET_LIFETIME_S
 * (GnuTLS's own rotation); the master itself is replaced after
 * SR_HTTP_TICKET_MASTER_S, and at every sr_http_reload (SIGHUP), which
 * invalidates every outstanding ticket (the next handshake is a full one).
 * Old masters are wiped (gnutls_memset) as they are replaced.
 *
 * A resumed session carries the peer's certificate chain inside the ticket
 * (GnuTLS packs the authentication info); sr_http's per-request peer check
 * (invariant 5) verifies that chain again on every new connection, resumed
 * or not, so a ticket never outlives its certificate.
 */
#include "common/sr_http_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>

struct sr_http_tickets {
	pthread_mutex_t mu;
	gnutls_datum_t master;          /* 64 bytes, gnutls_malloc'd; wiped when replaced */
	struct timespec made;           /* CLOCK_MONOTONIC of the master */
};

/* A new master in t (caller holds t->mu or owns t). 0, or -1 (old kept). */
static int new_master(struct sr_http_tickets *t)
{
	gnutls_datum_t k = { NULL, 0 };

	if (gnutls_session_ticket_key_generate(&k) < 0)
		return -1;
	if (t->master.data != NULL) {
		gnutls_memset(t->master.data, 0, t->master.size);
		gnutls_free(t->master.data);
	}
	t->master = k;
	clock_gettime(CLOCK_MONOTONIC, &t->made);
	return 0;
}

struct sr_http_tickets *sr_http_tickets_new(void)
{
	struct sr_http_tickets *t = calloc(1, sizeof *t);

	if (t == NULL)
		return NULL;
	if (pthread_mutex_init(&t->mu, NULL) != 0) {
		free(t);
		return NULL;
	}
	if (new_master(t) != 0) {
		sr_http_tickets_free(t);
		return NULL;
	}
	return t;
}

int sr_http_tickets_enable(struct sr_http_tickets *t, gnutls_session_t s)
{
	struct timespec now;
	int rc;

	if (t == NULL || s == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&t->mu);
	if (now.tv_sec - t->made.tv_sec >= SR_HTTP_TICKET_MASTER_S)
		(void)new_master(t);    /* on failure the current master serves on */
	/* The ticket lifetime; GnuTLS copies the master into the session. */
	gnutls_db_set_cache_expiration(s, SR_HTTP_TICKET_LIFETIME_S);
	rc = gnutls_session_ticket_enable_server(s, &t->master);
	pthread_mutex_unlock(&t->mu);
	return rc < 0 ? -1 : 0;
}

int sr_http_tickets_rotate(struct sr_http_tickets *t)
{
	int rc;

	if (t == NULL)
		return -1;
	pthread_mutex_lock(&t->mu);
	rc = new_master(t);
	pthread_mutex_unlock(&t->mu);
	return rc;
}

void sr_http_tickets_free(struct sr_http_tickets *t)
{
	if (t == NULL)
		return;
	if (t->master.data != NULL) {
		gnutls_memset(t->master.data, 0, t->master.size);
		gnutls_free(t->master.data);
	}
	pthread_mutex_destroy(&t->mu);
	free(t);
}
