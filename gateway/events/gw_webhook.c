/*
 * gw_webhook: event names, signatures, retry schedule, URL checks, sealed
 * secrets (see gw_webhook.h).
 */
#include "gateway/events/gw_webhook.h"
#include "common/sr_secret.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <sodium.h>

const char *const GW_WEBHOOK_EVENTS[] = {
	"payment.authorized", "payment.captured", "payment.failed", "payment.requires_action",
	"payment.voided",     "payment.unknown",  "refund.succeeded", "refund.failed",
	"dispute.created",    "payment.canceled", "dispute.updated", "dispute.closed",
	"dispute.funds_withdrawn", "dispute.funds_reinstated", NULL,
};

/* Internal event type (gw_ledger: "payment.<status>" or an explicit type)
 * -> merchant event. payment.created / payment.processing are internal steps. */
const char *const GW_WEBHOOK_MAP_INTERNAL[] = {
	"payment.authorized", "payment.captured", "payment.failed", "payment.requires_action",
	"payment.voided",     "payment.unknown",  "payment.refunded", "payment.partially_refunded",
	"payment.refund_failed", "payment.disputed", "payment.canceled", "dispute.updated",
	"dispute.closed",     "dispute.funds_withdrawn", "dispute.funds_reinstated", NULL,
};
const char *const GW_WEBHOOK_MAP_EXTERNAL[] = {
	"payment.authorized", "payment.captured", "payment.failed", "payment.requires_action",
	"payment.voided",     "payment.unknown",  "refund.succeeded", "refund.succeeded",
	"refund.failed",      "dispute.created",  "payment.canceled", "dispute.updated",
	"dispute.closed",     "dispute.funds_withdrawn", "dispute.funds_reinstated", NULL,
};

const char *gw_webhook_event_name(const char *internal_type)
{
	size_t i;

	for (i = 0; internal_type != NULL && GW_WEBHOOK_MAP_INTERNAL[i] != NULL; i++)
		if (strcmp(GW_WEBHOOK_MAP_INTERNAL[i], internal_type) == 0)
			return GW_WEBHOOK_MAP_EXTERNAL[i];
	return NULL;
}

bool gw_webhook_filter_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	if (strcmp(s, "*") == 0)
		return true;
	for (i = 0; GW_WEBHOOK_EVENTS[i] != NULL; i++)
		if (strcmp(GW_WEBHOOK_EVENTS[i], s) == 0)
			return true;
	return false;
}

int gw_webhook_sign(const char *secret, long long t, const char *body, size_t body_len, char *out,
                    size_t outlen)
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char hex[2 * crypto_auth_hmacsha256_BYTES + 1];
	char ts[24];
	int n;
	int rc = -1;

	if (secret == NULL || (body == NULL && body_len != 0) || out == NULL || t < 0)
		goto out;
	n = snprintf(ts, sizeof ts, "%lld", t);
	/* Stripe's scheme: HMAC-SHA256 keyed with the secret over "<t>.<body>". */
	if (crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret)) != 0 ||
	    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)n) != 0 ||
	    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1) != 0 ||
	    (body_len > 0 &&
	     crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len) != 0) ||
	    crypto_auth_hmacsha256_final(&st, mac) != 0)
		goto out;
	sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
	if (snprintf(out, outlen, "t=%s,v1=%s", ts, hex) >= (int)outlen)
		goto out;
	rc = 0;
out:
	sodium_memzero(&st, sizeof st);
	sodium_memzero(mac, sizeof mac);
	return rc;
}

long long gw_webhook_backoff_ms(int attempt, long long base_ms, long long cap_ms, double u)
{
	long long d = base_ms > 0 ? base_ms : 1;
	int i;

	if (cap_ms < d)
		cap_ms = d;
	for (i = 1; i < attempt && d < cap_ms; i++)
		d = d > cap_ms / 2 ? cap_ms : d * 2;
	if (d > cap_ms)
		d = cap_ms;
	if (u < 0.0 || u >= 1.0)
		u = 0.0;
	/* Jitter (spreads a burst of retries after an endpoint outage). */
	return d - (long long)((double)d * u / 4.0);
}

long long gw_webhook_backoff_ms_random(int attempt, long long base_ms, long long cap_ms)
{
	double u = (double)randombytes_uniform(1000000u) / 1000000.0;

	return gw_webhook_backoff_ms(attempt, base_ms, cap_ms, u);
}

static bool v4_blocked(uint32_t a)
{
	return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 ||
	       (a & 0xFFFF0000u) == 0xA9FE0000u || /* 169.254/16 link-local, metadata */
	       (a & 0xFFF00000u) == 0xAC100000u || /* 172.16/12 */
	       (a & 0xFFFF0000u) == 0xC0A80000u || /* 192.168/16 */
	       (a & 0xFFC00000u) == 0x64400000u || /* 100.64/10 CGNAT */
	       (a >> 28) >= 14;                     /* multicast, reserved, broadcast */
}

static bool v6_blocked(const struct in6_addr *a)
{
	uint32_t v4;

	if (IN6_IS_ADDR_V4MAPPED(a)) {
		memcpy(&v4, &a->s6_addr[12], 4);
		return v4_blocked(ntohl(v4));
	}
	return IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
	       IN6_IS_ADDR_SITELOCAL(a) || IN6_IS_ADDR_MULTICAST(a) ||
	       (a->s6_addr[0] & 0xFE) == 0xFC; /* fc00::/7 unique local */
}

bool gw_webhook_addr_blocked(const struct sockaddr *sa)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	sa_family_t fam;

	/* memcpy, not casts: no aliasing of the sockaddr types. */
	if (sa == NULL)
		return true;
	memcpy(&fam, (const char *)sa + offsetof(struct sockaddr, sa_family), sizeof fam);
	if (fam == AF_INET) {
		memcpy(&s4, sa, sizeof s4);
		return v4_blocked(ntohl(s4.sin_addr.s_addr));
	}
	if (fam == AF_INET6) {
		memcpy(&s6, sa, sizeof s6);
		return v6_blocked(&s6.sin6_addr);
	}
	return true;
}

/* A literal address or "localhost" the merchant could use to reach us. */
static bool host_blocked(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;
	char buf[64];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0 ||
	    (n > 10 && strcasecmp(host + n - 10, ".localhost") == 0))
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return v4_blocked(ntohl(a4.s_addr));
	if (host[0] == '[' && n > 2 && n - 2 < sizeof buf) {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		return inet_pton(AF_INET6, buf, &a6) != 1 || v6_blocked(&a6);
	}
	return false;
}

int gw_webhook_url_check(const char *url, bool allow_private, const char **why)
{
	CURLU *u = NULL;
	char *scheme = NULL;
	char *host = NULL;
	char *part = NULL;
	const char *msg = "url must be an https URL with a host.";
	int rc = -1;

	if (url == NULL || strlen(url) > GW_WEBHOOK_URL_MAX || strlen(url) < 10) {
		msg = "url must be 10 to 2048 characters.";
		goto out;
	}
	u = curl_url();
	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    strcmp(scheme, "https") != 0)
		goto out;
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
		goto out;
	if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK) {
		msg = "url must not carry a user name or password.";
		goto out;
	}
	if (curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
		msg = "url must not have a fragment.";
		goto out;
	}
	if (!allow_private && host_blocked(host)) {
		msg = "url must not point at a loopback, private or link-local address.";
		goto out;
	}
	rc = 0;
	msg = NULL;
out:
	if (why != NULL)
		*why = msg;
	curl_free(part);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

static int make_aad(const char *endpoint_id, const char *merchant_id, char *aad, size_t len)
{
	int n = snprintf(aad, len, "%s\n%s", endpoint_id, merchant_id);

	return n < 0 || (size_t)n >= len ? -1 : n;
}

int gw_webhook_seal(const uint8_t key[GW_WEBHOOK_KEY_BYTES], const char *secret,
                    const char *endpoint_id, const char *merchant_id, uint8_t *out, size_t *outlen)
{
	char aad[160];
	unsigned long long clen = 0;
	size_t slen;
	int alen;

	if (key == NULL || secret == NULL || endpoint_id == NULL || merchant_id == NULL ||
	    out == NULL || outlen == NULL)
		return -1;
	slen = strlen(secret);
	alen = make_aad(endpoint_id, merchant_id, aad, sizeof aad);
	if (alen < 0 || slen >= GW_WEBHOOK_SECRET_MAX)
		return -1;
	randombytes_buf(out, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
	        out + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen, (const unsigned char *)secret,
	        slen, (const unsigned char *)aad, (unsigned long long)alen, NULL, out, key) != 0)
		return -1;
	*outlen = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + (size_t)clen;
	return 0;
}

char *gw_webhook_open(const uint8_t key[GW_WEBHOOK_KEY_BYTES], const uint8_t *sealed, size_t len,
                      const char *endpoint_id, const char *merchant_id)
{
	const size_t np = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
	const size_t tag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
	unsigned long long mlen = 0;
	char aad[160];
	char *secret = NULL;
	int alen;

	if (key == NULL || sealed == NULL || endpoint_id == NULL || merchant_id == NULL ||
	    len < np + tag || len - np - tag >= GW_WEBHOOK_SECRET_MAX)
		return NULL;
	alen = make_aad(endpoint_id, merchant_id, aad, sizeof aad);
	if (alen < 0)
		return NULL;
	secret = sr_secret_alloc(GW_WEBHOOK_SECRET_MAX);
	if (secret == NULL)
		return NULL;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)secret, &mlen, NULL,
	                                               sealed + np, len - np, (const unsigned char *)aad,
	                                               (unsigned long long)alen, sealed, key) != 0) {
		sr_secret_free(secret);
		return NULL;
	}
	secret[mlen] = '\0';
	return secret;
}

uint8_t *gw_webhook_key_load(const char *path, char *err, size_t errlen)
{
	char *hex = NULL;
	uint8_t *key = NULL;
	size_t hlen = 0;
	size_t blen = 0;

	hex = sr_secret_read_file(path, &hlen, err, errlen);
	if (hex == NULL)
		goto out;
	key = sr_secret_alloc(GW_WEBHOOK_KEY_BYTES);
	if (key == NULL)
		goto out;
	if (hlen != 2 * GW_WEBHOOK_KEY_BYTES ||
	    sodium_hex2bin(key, GW_WEBHOOK_KEY_BYTES, hex, hlen, NULL, &blen, NULL) != 0 ||
	    blen != GW_WEBHOOK_KEY_BYTES) {
		snprintf(err, errlen, "%s: must hold 64 hex characters (a 256-bit key)", path);
		sr_secret_free(key);
		key = NULL;
	}
out:
	sr_secret_free(hex);
	return key;
}
