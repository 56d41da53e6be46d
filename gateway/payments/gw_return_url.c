/*
 * gw_return_url: the merchant's return_url (see gw_return_url.h).
 */
#include "gateway/payments/gw_return_url.h"
#include "common/sr_panscan.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#define DECODE_ROUNDS 4 /* percent-decodings scanned beyond the raw URL */

static int refuse(struct gw_error *err, const char *code, const char *message)
{
	err->status = 400;
	err->type = "invalid_request_error";
	err->code = code;
	err->message = message;
	err->param = "return_url";
	return -1;
}

static int invalid(struct gw_error *err)
{
	return refuse(err, "return_url_invalid",
	              "return_url must be an absolute https URL of at most 1024 characters "
	              "(letters, digits and the characters RFC 3986 allows), without user "
	              "information.");
}

/* The characters RFC 3986 (section 2) allows in a URI: unreserved,
 * reserved, and '%' of percent-encoding. */
static bool uri_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("-._~:/?#[]@!$&'()*+,;=%", c) != NULL);
}

/* A card number in s, or in s percent-decoded up to DECODE_ROUNDS times
 * (sr_panscan itself decodes one more level). 1: found, 0: none, -1: OOM. */
static int has_pan_decoded(const char *s, size_t len)
{
	char *cur = NULL, *next = NULL;
	int outlen = 0;
	int round, found = 0;

	if (sr_panscan_has_pan(s, len))
		return 1;
	if (memchr(s, '%', len) == NULL)
		return 0;
	cur = curl_easy_unescape(NULL, s, (int)len, &outlen);
	for (round = 0; cur != NULL && round < DECODE_ROUNDS; round++) {
		if (sr_panscan_has_pan(cur, (size_t)outlen)) {
			found = 1;
			break;
		}
		if (memchr(cur, '%', (size_t)outlen) == NULL)
			break;
		next = curl_easy_unescape(NULL, cur, outlen, &outlen);
		sodium_memzero(cur, strlen(cur));
		curl_free(cur);
		cur = next;
	}
	if (cur == NULL)
		return -1;
	sodium_memzero(cur, (size_t)outlen);
	curl_free(cur);
	return found;
}

static bool loopback_host(const char *host)
{
	return strcasecmp(host, "localhost") == 0 || strcmp(host, "127.0.0.1") == 0 ||
	       strcmp(host, "[::1]") == 0;
}

int gw_return_url_check(const char *s, size_t len, bool allow_loopback_http, struct gw_error *err)
{
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL;
	char buf[GW_RETURN_URL_MAX + 1];
	size_t i, skip;
	int pan;
	int rc = -1;

	if (len == 0 || len > GW_RETURN_URL_MAX)
		return invalid(err);
	for (i = 0; i < len; i++)
		if (!uri_char((unsigned char)s[i]))
			return invalid(err);
	pan = has_pan_decoded(s, len);
	if (pan != 0)
		return pan > 0 ? refuse(err, "pan_not_allowed",
		                        "Card numbers are not accepted by this API, in any field.")
		               : invalid(err);
	/* The exact text: "https://" (or "http://") and an authority right after
	 * it; libcurl alone would read "https:///x" as the host x. */
	if (strncmp(s, "https://", 8) == 0)
		skip = 8;
	else if (strncmp(s, "http://", 7) == 0 && allow_loopback_http)
		skip = 7;
	else
		return invalid(err);
	if (len <= skip || s[skip] == '/')
		return invalid(err);
	memcpy(buf, s, len);
	buf[len] = '\0';
	u = curl_url();
	if (u == NULL || curl_url_set(u, CURLUPART_URL, buf, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0' ||
	    curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_NO_USER ||
	    curl_url_get(u, CURLUPART_PASSWORD, &password, 0) != CURLUE_NO_PASSWORD)
		goto out;
	if (strcmp(scheme, "https") != 0 &&
	    !(strcmp(scheme, "http") == 0 && allow_loopback_http && loopback_host(host)))
		goto out;
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(password);
	curl_url_cleanup(u);
	sodium_memzero(buf, sizeof buf);
	return rc == 0 ? 0 : invalid(err);
}

int gw_return_url_for_psp(const char *return_url, const char *payment_id, char *out, size_t outlen)
{
	CURLU *u = NULL;
	char *url = NULL;
	char q[96];
	int n, rc = -1;

	n = snprintf(q, sizeof q, "payment=%s", payment_id);
	if (n < 0 || (size_t)n >= sizeof q)
		return -1;
	u = curl_url();
	if (u == NULL || curl_url_set(u, CURLUPART_URL, return_url, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
		goto out;
	if (strlen(url) < outlen && strlen(url) <= GW_RETURN_URL_PSP_MAX) {
		memcpy(out, url, strlen(url) + 1);
		rc = 0;
	}
out:
	curl_free(url);
	curl_url_cleanup(u);
	return rc;
}
