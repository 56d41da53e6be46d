/*
 * vault_origin: origin syntax (RFC 6454 section 6.2), the merchant_origins
 * table (migration 0010), and CORS helpers for the public listener.
 */
#include "vault/elements/vault_origin.h"

#include <stdio.h>
#include <string.h>

#include "vault/tokens/vault_token.h"

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Lowercase DNS name (RFC 1123 labels) or dotted IPv4; [s, s+n). */
static bool host_valid(const char *s, size_t n)
{
	size_t i = 0, label = 0;

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (c == '-') {
			if (label == 0)
				return false;
		} else if (!is_lower_alnum(c)) {
			return false;
		}
		if (++label > 63)
			return false;
	}
	return label > 0 && s[n - 1] != '-';
}

/* Decimal 1..65535, no leading zero; -1 otherwise. */
static long port_value(const char *s, size_t n)
{
	long v = 0;
	size_t i = 0;

	if (n == 0 || n > 5 || s[0] == '0')
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

bool vault_origin_valid(const char *s)
{
	const char *host = NULL;
	const char *colon = NULL;
	size_t len = 0, hlen = 0;
	long port = 0, dflt = 0;
	bool http = false;

	if (s == NULL)
		return false;
	len = strnlen(s, VAULT_ORIGIN_MAX + 1);
	if (len > VAULT_ORIGIN_MAX)
		return false;
	if (strncmp(s, "https://", 8) == 0) {
		host = s + 8;
		dflt = 443;
	} else if (strncmp(s, "http://", 7) == 0) {
		host = s + 7;
		dflt = 80;
		http = true;
	} else {
		return false;
	}
	colon = strchr(host, ':');
	hlen = colon != NULL ? (size_t)(colon - host) : strlen(host);
	if (!host_valid(host, hlen))
		return false;
	if (colon != NULL) {
		port = port_value(colon + 1, strlen(colon + 1));
		if (port < 0 || port == dflt)
			return false;
	}
	/* PCI DSS 4.2.1: payment pages travel over TLS; plain http only on loopback. */
	if (http && !((hlen == 9 && strncmp(host, "localhost", 9) == 0) ||
	              (hlen == 9 && strncmp(host, "127.0.0.1", 9) == 0)))
		return false;
	return true;
}

static void pq_err(char *err, size_t errlen, const char *what, PGresult *res, PGconn *db)
{
	const char *m = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db);
	size_t n = strcspn(m != NULL ? m : "", "\n");

	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %.*s", what, (int)n, m != NULL ? m : "");
}

int vault_store_origins_replace(PGconn *db, const char *merchant_id,
                                const char *const *origins, size_t n, char *err, size_t errlen)
{
	const char *params[2] = { merchant_id, NULL };
	PGresult *res = NULL;
	size_t i = 0;
	int rc = -1;

	res = PQexecParams(db, "DELETE FROM merchant_origins WHERE merchant_id = $1", 1, NULL,
	                   params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pq_err(err, errlen, "origins delete", res, db);
		goto out;
	}
	for (i = 0; i < n; i++) {
		PQclear(res);
		params[1] = origins[i];
		res = PQexecParams(db, "INSERT INTO merchant_origins (merchant_id, origin) VALUES ($1, $2)",
		                   2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			pq_err(err, errlen, "origins insert", res, db);
			goto out;
		}
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

/* One-row existence query: 1, 0 or -1. */
static int exists(PGconn *db, const char *sql, int nparams, const char *const *params,
                  const char *what, char *err, size_t errlen)
{
	PGresult *res = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
	int rc = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pq_err(err, errlen, what, res, db);
		goto out;
	}
	rc = PQntuples(res) > 0 ? 1 : 0;
out:
	PQclear(res);
	return rc;
}

int vault_store_origin_allowed(PGconn *db, const char *merchant_id, const char *origin,
                               char *err, size_t errlen)
{
	const char *params[2] = { merchant_id, origin };

	return exists(db, "SELECT 1 FROM merchant_origins WHERE merchant_id = $1 AND origin = $2",
	              2, params, "origin lookup", err, errlen);
}

int vault_store_origin_known(PGconn *db, const char *origin, char *err, size_t errlen)
{
	const char *params[1] = { origin };

	return exists(db, "SELECT 1 FROM merchant_origins WHERE origin = $1 LIMIT 1", 1, params,
	              "origin lookup", err, errlen);
}

int vault_store_merchant_origin_by_pk(PGconn *db, const char *pk_sha256_hex, const char *origin,
                                      char *mid_out, size_t mid_cap, char *err, size_t errlen)
{
	const char *params[2] = { pk_sha256_hex, origin };
	PGresult *res = NULL;
	int rc = -1;

	if (mid_cap > 0)
		mid_out[0] = '\0';
	res = PQexecParams(db,
	    "SELECT m.id, EXISTS (SELECT 1 FROM merchant_origins o "
	    "                     WHERE o.merchant_id = m.id AND o.origin = $2) "
	    "FROM merchants m WHERE m.publishable_key_sha256 = $1",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pq_err(err, errlen, "merchant origin lookup", res, db);
		goto out;
	}
	if (PQntuples(res) == 0) {
		rc = -2;
		goto out;
	}
	snprintf(mid_out, mid_cap, "%s", PQgetvalue(res, 0, 0));
	rc = strcmp(PQgetvalue(res, 0, 1), "t") == 0 ? 1 : 0;
out:
	PQclear(res);
	return rc;
}

bool vault_cors_cross_origin(const struct sr_http_request *req, const char **origin_out)
{
	const char *origin = sr_http_header(req, "Origin");
	const char *host = sr_http_header(req, "Host");

	*origin_out = origin;
	if (origin == NULL)
		return false;
	/* Same origin: the page that sent it was served by this listener, under
	 * the name the browser used to reach it (over TLS, so the name is ours). */
	if (host != NULL && strncmp(origin, "https://", 8) == 0 && strcmp(origin + 8, host) == 0)
		return false;
	return true;
}

void vault_cors_allow(struct sr_http_request *req, const char *origin)
{
	/* Fetch standard, CORS protocol: echo the one origin, never "*", and tell
	 * caches that the answer depends on Origin. No credentials are allowed. */
	sr_http_add_header(req, "Access-Control-Allow-Origin", origin);
	sr_http_add_header(req, "Vary", "Origin");
}
