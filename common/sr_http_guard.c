/*
 * sr_http_guard: what a listener does against hostile clients before a
 * connection gets a thread or a TLS session (ADR 0109; see
 * sr_http_internal.h): a cap on the connections open at once from one
 * address, and a token bucket on the connections one address opens.
 *
 * One table per listener, open-addressed over a keyed hash (SipHash, keyed
 * at random per listener, so a client cannot aim its addresses at one
 * probe window). An entry with connections open is never evicted, so the
 * count a closing connection decrements is always found. Entries with none
 * open are reused, the least recently seen first; the table has twice as
 * many slots as the listener has connections, so a full probe window of
 * open entries is vanishingly rare, and is refused (reason "table_full")
 * rather than tracked loosely.
 */
#include "common/sr_http_internal.h"
#include "common/sr_config.h"
#include "common/sr_log.h"
#include "common/sr_metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <sodium.h>

#define PROBE 32
#define MIN_SLOTS 1024u

struct guard_entry {
	unsigned char key[16];  /* IPv4 as ::ffff:a.b.c.d, IPv6 /64 with zeroed host bits */
	unsigned open;          /* connections open now */
	double tokens;          /* accept bucket */
	double last;            /* monotonic seconds of the last accept or refusal */
	int used;
};

struct sr_http_guard {
	pthread_mutex_t mu;
	char *listener;
	unsigned max_per_ip;
	double rate;
	double burst;
	size_t slots;
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	double log_at;          /* monotonic seconds of the last refusal log line */
	unsigned long unlogged; /* refusals since that line */
	struct guard_entry *e;
};

static struct sr_metric *g_refused;
static pthread_once_t g_metrics_once = PTHREAD_ONCE_INIT;

static void metrics_init(void)
{
	static const char *const labels[] = { "listener", "reason", NULL };

	g_refused = sr_metrics_counter("strongroom_http_connections_refused_total",
	                               "Connections closed when accepted: per-address cap "
	                               "(per_ip_limit), per-address accept rate (accept_rate), "
	                               "address table full (table_full)", labels);
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The address a limit applies to. @return 0, or -1 for a family without one. */
static int addr_key(const struct sockaddr *sa, unsigned char key[16])
{
	memset(key, 0, 16);
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

		key[10] = 0xff;
		key[11] = 0xff;
		memcpy(key + 12, &s4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		memcpy(key, &s6->sin6_addr, 16);
		/* A host usually holds a whole /64; an IPv4 client of a
		 * dual-stack socket (::ffff:a.b.c.d) is one address. */
		if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			memset(key + 8, 0, 8);
		return 0;
	}
	return -1;
}

struct sr_http_guard *sr_http_guard_new(const char *listener, unsigned max_per_ip, double rate,
                                        double burst, unsigned max_connections)
{
	struct sr_http_guard *g = NULL;

	pthread_once(&g_metrics_once, metrics_init);
	if (max_per_ip == 0 || rate <= 0 || burst < 1 || sodium_init() < 0)
		return NULL;
	g = calloc(1, sizeof *g);
	if (g == NULL)
		return NULL;
	g->slots = (size_t)max_connections * 2u < MIN_SLOTS ? MIN_SLOTS : (size_t)max_connections * 2u;
	g->e = calloc(g->slots, sizeof *g->e);
	g->listener = strdup(listener != NULL ? listener : "http");
	if (g->e == NULL || g->listener == NULL) {
		free(g->e);
		free(g->listener);
		free(g);
		return NULL;
	}
	pthread_mutex_init(&g->mu, NULL);
	g->max_per_ip = max_per_ip;
	g->rate = rate;
	g->burst = burst;
	randombytes_buf(g->hkey, sizeof g->hkey);
	return g;
}

void sr_http_guard_free(struct sr_http_guard *g)
{
	if (g == NULL)
		return;
	pthread_mutex_destroy(&g->mu);
	free(g->e);
	free(g->listener);
	free(g);
}

/* The entry of key: found, or a free or idle slot of its probe window taken
 * over (create), or NULL. Caller holds g->mu. */
static struct guard_entry *find(struct sr_http_guard *g, const unsigned char key[16], int create,
                                double now)
{
	unsigned char h[crypto_shorthash_BYTES];
	struct guard_entry *spare = NULL;
	uint64_t idx = 0;
	size_t i;

	crypto_shorthash(h, key, 16, g->hkey);
	for (i = 0; i < sizeof idx; i++)
		idx = (idx << 8) | h[i];
	for (i = 0; i < PROBE; i++) {
		struct guard_entry *c = &g->e[(idx + i) % g->slots];

		if (c->used && memcmp(c->key, key, 16) == 0)
			return c;
		if (c->open > 0)
			continue;
		if (spare == NULL || (spare->used && (!c->used || c->last < spare->last)))
			spare = c;
	}
	if (!create || spare == NULL)
		return NULL;
	memcpy(spare->key, key, 16);
	spare->used = 1;
	spare->open = 0;
	spare->tokens = g->burst;
	spare->last = now;
	return spare;
}

/* Count a refusal; one log line a second at most per listener (a flood of
 * refusals must not become a flood of log lines). Caller holds g->mu. */
static void refused(struct sr_http_guard *g, const struct sockaddr *sa, const char *reason,
                    double now)
{
	char addr[INET6_ADDRSTRLEN] = "";

	sr_metrics_add(g_refused, 1, g->listener, reason);
	g->unlogged++;
	if (now - g->log_at < 1.0)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr,
		          sizeof addr);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, addr,
		          sizeof addr);
	sr_log(SR_LOG_WARN, NULL, "http.connection_refused", "{s:s, s:s, s:s, s:I}", "listener",
	       g->listener, "reason", reason, "client", addr, "refused_since_last_line",
	       (json_int_t)g->unlogged);
	g->unlogged = 0;
	g->log_at = now;
}

enum MHD_Result sr_http_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct sr_http_guard *g = cls;
	struct guard_entry *e = NULL;
	unsigned char key[16];
	double now;
	enum MHD_Result ok = MHD_NO;

	(void)addrlen;
	if (g == NULL || addr_key(addr, key) != 0)
		return MHD_YES; /* not an IP socket: nothing to key a limit on */
	now = mono_s();
	pthread_mutex_lock(&g->mu);
	e = find(g, key, 1, now);
	if (e == NULL) {
		refused(g, addr, "table_full", now);
		goto out;
	}
	e->tokens += (now - e->last) * g->rate;
	if (e->tokens > g->burst)
		e->tokens = g->burst;
	e->last = now;
	if (e->open >= g->max_per_ip) {
		refused(g, addr, "per_ip_limit", now);
		goto out;
	}
	if (e->tokens < 1.0) {
		refused(g, addr, "accept_rate", now);
		goto out;
	}
	e->tokens -= 1.0;
	ok = MHD_YES;
out:
	pthread_mutex_unlock(&g->mu);
	return ok;
}

void sr_http_guard_opened(struct sr_http_guard *g, const struct sockaddr *addr)
{
	struct guard_entry *e = NULL;
	unsigned char key[16];

	if (g == NULL || addr_key(addr, key) != 0)
		return;
	pthread_mutex_lock(&g->mu);
	e = find(g, key, 1, mono_s());
	if (e != NULL)
		e->open++;
	pthread_mutex_unlock(&g->mu);
}

void sr_http_guard_closed(struct sr_http_guard *g, const struct sockaddr *addr)
{
	struct guard_entry *e = NULL;
	unsigned char key[16];

	if (g == NULL || addr_key(addr, key) != 0)
		return;
	pthread_mutex_lock(&g->mu);
	e = find(g, key, 0, 0);
	if (e != NULL && e->open > 0)
		e->open--;
	pthread_mutex_unlock(&g->mu);
}

int sr_http_config_limits(const json_t *cfg, const char *path, unsigned per_ip_default,
                          struct sr_http_config *hc, char *msg, size_t msglen)
{
	const struct {
		const char *key;
		long long def, lo, hi;
	} k[] = {
		{ "max_connections_per_ip", per_ip_default, 1, 100000 },
		{ "accept_per_second_per_ip", 100, 1, 1000000 },
		{ "accept_burst_per_ip", 200, 1, 1000000 },
		{ "handshake_timeout_seconds", 5, 1, 30 },
	};
	long long v[4];
	size_t i;

	for (i = 0; i < 4; i++) {
		const json_t *j = json_object_get(cfg, k[i].key);

		v[i] = sr_config_int(cfg, k[i].key, k[i].def);
		if ((j != NULL && !json_is_integer(j)) || v[i] < k[i].lo || v[i] > k[i].hi) {
			sr_config_error(msg, msglen, path, k[i].key, "must be an integer %lld..%lld",
			                k[i].lo, k[i].hi);
			return -1;
		}
	}
	hc->max_per_ip = (unsigned)v[0];
	hc->accept_rate = (double)v[1];
	hc->accept_burst = (double)v[2];
	hc->handshake_timeout_s = (unsigned)v[3];
	return 0;
}

/* Every client of these listeners speaks first (the TLS ClientHello), so a
 * connection that has sent nothing has nothing for the daemon to do: an
 * attacker holding or reopening thousands of them costs the listener no
 * thread, no slot and no per-address count. Once secs have passed the
 * kernel hands the connection over anyway, and the per-address cap and the
 * handshake deadline apply as before. */
void sr_http_guard_defer_accept(int listen_fd, unsigned secs, const char *listener)
{
	int s = (int)secs;

	if (listen_fd < 0 || setsockopt(listen_fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &s, sizeof s) != 0)
		sr_log(SR_LOG_WARN, NULL, "http.defer_accept_unavailable", "{s:s}", "listener",
		       listener != NULL ? listener : "http");
}
