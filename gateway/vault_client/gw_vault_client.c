/*
 * gw_vault_client: libcurl client for the vault internal listener over
 * mutual TLS (invariant 5, docs/invariants.md; PCI DSS v4.0 4.2.1 strong cryptography for
 * data in transit, 8.6.1 system accounts authenticate with certificates).
 */
#include "gateway/vault_client/gw_vault_client.h"
#include "gateway/payments/gw_payment.h"
#include "common/sr_log.h"
#include "common/sr_secret.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>
#include <jansson.h>

#define RESP_MAX (1024 * 1024)

struct gw_vault_client {
	char *base;        /* "https://host:port" without trailing slash */
	char *resolve;     /* "host:port:addr" for CURLOPT_RESOLVE, or NULL */
	char *ca_file;
	char *cert_file;
	char *key_file;
	long connect_timeout_ms;
	long timeout_ms;
};

struct buf {
	char *data;
	size_t len;
	int overflow;
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

static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

struct gw_vault_client *gw_vault_client_new(const struct gw_vault_config *cfg, char *err,
                                            size_t errlen)
{
	struct gw_vault_client *vc = NULL;
	struct gw_vault_client *ret = NULL;
	CURLU *u = NULL;
	char *scheme = NULL;
	char *host = NULL;
	char *port = NULL;
	char tmp[512];

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (cfg == NULL || cfg->url == NULL || cfg->ca_file == NULL || cfg->cert_file == NULL ||
	    cfg->key_file == NULL) {
		seterr(err, errlen, "vault client: url, ca, client cert and key are required");
		goto out;
	}
	u = curl_url();
	if (u == NULL || curl_url_set(u, CURLUPART_URL, cfg->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		seterr(err, errlen, "vault client: vault_url is not a valid URL");
		goto out;
	}
	if (strcmp(scheme, "https") != 0) {
		/* Invariant 5: never a plaintext hop. */
		seterr(err, errlen, "vault client: vault_url must be https://");
		goto out;
	}
	vc = calloc(1, sizeof *vc);
	if (vc == NULL)
		goto oom;
	snprintf(tmp, sizeof tmp, "https://%s:%s", host, port);
	vc->base = strdup(tmp);
	if (cfg->addr != NULL && cfg->addr[0] != '\0') {
		snprintf(tmp, sizeof tmp, "%s:%s:%s", host, port, cfg->addr);
		vc->resolve = strdup(tmp);
		if (vc->resolve == NULL)
			goto oom;
	}
	vc->ca_file = dup_or_null(cfg->ca_file);
	vc->cert_file = dup_or_null(cfg->cert_file);
	/* PCI DSS 3.6.1: libcurl reads the client key itself; check it like
	 * every secret (owner-only mode, $CREDENTIALS_DIRECTORY) first. */
	if (sr_secret_check_file(cfg->key_file, tmp, sizeof tmp, err, errlen) != 0)
		goto out;
	vc->key_file = dup_or_null(tmp);
	if (vc->base == NULL || vc->ca_file == NULL || vc->cert_file == NULL || vc->key_file == NULL)
		goto oom;
	vc->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 5000;
	vc->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
	ret = vc;
	vc = NULL;
	goto out;
oom:
	seterr(err, errlen, "vault client: out of memory");
out:
	gw_vault_client_free(vc);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ret;
}

void gw_vault_client_free(struct gw_vault_client *vc)
{
	if (vc == NULL)
		return;
	free(vc->base);
	free(vc->resolve);
	free(vc->ca_file);
	free(vc->cert_file);
	free(vc->key_file);
	free(vc);
}

const char *gw_vault_rc_str(enum gw_vault_rc rc)
{
	switch (rc) {
	case GW_VAULT_OK: return "ok";
	case GW_VAULT_NOT_FOUND: return "not_found";
	case GW_VAULT_NOT_SENT: return "not_sent";
	case GW_VAULT_LOST: return "lost";
	case GW_VAULT_REJECTED: return "rejected";
	case GW_VAULT_ERROR: return "error";
	}
	return "error";
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buf *b = userdata;
	size_t n = size * nmemb;
	char *p = NULL;

	if (b->len + n > RESP_MAX) {
		b->overflow = 1;
		return 0;
	}
	p = realloc(b->data, b->len + n + 1);
	if (p == NULL)
		return 0;
	b->data = p;
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/*
 * Connection reuse (issue 4, performance): each thread keeps one CURL easy
 * handle per client, so consecutive calls reuse the mutual-TLS connection to
 * the vault (keep-alive) instead of a handshake per call. The handle is reset
 * before each call (every option is set again); destroyed at thread exit.
 */
struct tl_handle {
	const struct gw_vault_client *vc;
	CURL *c;
};

static pthread_key_t g_tl_key;
static pthread_once_t g_tl_once = PTHREAD_ONCE_INIT;

static void tl_destroy(void *p)
{
	struct tl_handle *h = p;

	if (h != NULL) {
		curl_easy_cleanup(h->c);
		free(h);
	}
}

static void tl_init(void)
{
	(void)pthread_key_create(&g_tl_key, tl_destroy);
}

/* This thread's handle for vc (reset), or NULL. */
static CURL *tl_get(const struct gw_vault_client *vc)
{
	struct tl_handle *h = NULL;

	pthread_once(&g_tl_once, tl_init);
	h = pthread_getspecific(g_tl_key);
	if (h != NULL && h->vc != vc) {
		/* Another client (tests create several): start afresh. */
		tl_destroy(h);
		h = NULL;
		pthread_setspecific(g_tl_key, NULL);
	}
	if (h == NULL) {
		h = calloc(1, sizeof *h);
		if (h == NULL)
			return NULL;
		h->vc = vc;
		h->c = curl_easy_init();
		if (h->c == NULL || pthread_setspecific(g_tl_key, h) != 0) {
			tl_destroy(h);
			return NULL;
		}
		return h->c;
	}
	curl_easy_reset(h->c);
	return h->c;
}

/* Forget this thread's handle (after a failure: never reuse a doubtful connection). */
static void tl_drop(void)
{
	struct tl_handle *h = pthread_getspecific(g_tl_key);

	if (h != NULL) {
		pthread_setspecific(g_tl_key, NULL);
		tl_destroy(h);
	}
}

/*
 * One HTTPS request to the vault. body may be NULL. On a completed exchange
 * returns GW_VAULT_OK with *http_status and *resp (parsed JSON or NULL);
 * otherwise NOT_SENT (no TLS session was ever established, so no byte of the
 * request reached the vault) or LOST (it may have).
 */
static enum gw_vault_rc exchange_raw(struct gw_vault_client *vc, const char *request_id,
                                     const char *method, const char *path, const char *merchant,
                                     const char *raw, size_t raw_len, const char *extra_header,
                                     json_t *body, long *http_status, json_t **resp);

static enum gw_vault_rc exchange(struct gw_vault_client *vc, const char *request_id,
                                 const char *method, const char *path, const char *merchant,
                                 json_t *body, long *http_status, json_t **resp)
{
	return exchange_raw(vc, request_id, method, path, merchant, NULL, 0, NULL, body, http_status,
	                    resp);
}

/*
 * As exchange; raw (raw_len bytes, borrowed) is sent as the body verbatim
 * when non-NULL (PSP webhooks: the signature covers the exact bytes), and
 * extra_header ("Name: value") is added when non-NULL.
 */
static enum gw_vault_rc exchange_raw(struct gw_vault_client *vc, const char *request_id,
                                     const char *method, const char *path, const char *merchant,
                                     const char *raw, size_t raw_len, const char *extra_header,
                                     json_t *body, long *http_status, json_t **resp)
{
	CURL *c = NULL;
	struct curl_slist *hdrs = NULL;
	struct curl_slist *resolve = NULL;
	struct buf rb = { NULL, 0, 0 };
	char *payload = NULL;
	char url[512];
	char hdr[256];
	CURLcode cc;
	curl_off_t appconnect = 0;
	long new_conns = 0;
	enum gw_vault_rc rc = GW_VAULT_NOT_SENT;

	*http_status = 0;
	*resp = NULL;
	if (vc == NULL)
		goto out;
	if ((size_t)snprintf(url, sizeof url, "%s%s", vc->base, path) >= sizeof url)
		goto out;
	c = tl_get(vc);
	if (c == NULL)
		goto out;
	if (body != NULL) {
		payload = json_dumps(body, JSON_COMPACT);
		if (payload == NULL)
			goto out;
	}
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (payload != NULL || raw != NULL)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (extra_header != NULL)
		hdrs = curl_slist_append(hdrs, extra_header);
	if (request_id != NULL && request_id[0] != '\0') {
		snprintf(hdr, sizeof hdr, "X-Request-Id: %s", request_id);
		hdrs = curl_slist_append(hdrs, hdr);
	}
	if (merchant != NULL) {
		snprintf(hdr, sizeof hdr, "Strongroom-Merchant: %s", merchant);
		hdrs = curl_slist_append(hdrs, hdr);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (hdrs == NULL)
		goto out;
	if (vc->resolve != NULL) {
		/* Connect to vault_addr while verifying the certificate against
		 * the DNS name in vault_url (not the IP). */
		resolve = curl_slist_append(NULL, vc->resolve);
		if (resolve == NULL)
			goto out;
		curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (payload != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
	} else if (raw != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, raw);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)raw_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	/* Invariant 5 / PCI DSS v4.0 4.2.1: the appliance CA only, peer and
	 * host name verified, our client certificate presented. */
	curl_easy_setopt(c, CURLOPT_CAINFO, vc->ca_file);
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_SSLCERT, vc->cert_file);
	curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
	curl_easy_setopt(c, CURLOPT_SSLKEY, vc->key_file);
	curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, vc->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, vc->timeout_ms);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &rb);

	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		/* Was a TLS session ever established? If not, the request
		 * cannot have reached the vault's handlers. */
		if (curl_easy_getinfo(c, CURLINFO_APPCONNECT_TIME_T, &appconnect) != CURLE_OK)
			appconnect = 1;
		/* On a reused connection (no new connect) the request may have
		 * been written: never call that "not sent". */
		if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &new_conns) != CURLE_OK)
			new_conns = 0;
		rc = appconnect > 0 || new_conns == 0 ? GW_VAULT_LOST : GW_VAULT_NOT_SENT;
		tl_drop();
		c = NULL;
		sr_log(SR_LOG_WARN, request_id, "vault.request_failed", "{s:s, s:s, s:s, s:s}",
		       "method", method, "path", path,
		       "curl_error", curl_easy_strerror(cc), "outcome", gw_vault_rc_str(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http_status);
	if (rb.len > 0)
		*resp = json_loadb(rb.data, rb.len, 0, NULL);
	rc = GW_VAULT_OK;
out:
	if (c != NULL) {
		/* The handle keeps pointers to these: clear them before freeing. */
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(c, CURLOPT_RESOLVE, NULL);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
	}
	curl_slist_free_all(hdrs);
	curl_slist_free_all(resolve);
	/* Issue 5: bodies may carry a merchant's PSP credentials: wiped. */
	if (payload != NULL)
		sodium_memzero(payload, strlen(payload));
	free(payload);
	free(rb.data);
	return rc;
}

/* Map a completed exchange's HTTP status to an outcome. */
static enum gw_vault_rc classify(long status, const json_t *resp)
{
	const char *code = NULL;

	if (status >= 200 && status < 300)
		return resp != NULL ? GW_VAULT_OK : GW_VAULT_ERROR;
	if (status == 404)
		return GW_VAULT_NOT_FOUND;
	if (status == 502) {
		code = json_string_value(json_object_get(json_object_get(resp, "error"), "code"));
		/* Wire contract: 502 psp_unavailable = the PSP was not reached. */
		if (code != NULL && strcmp(code, "psp_unavailable") == 0)
			return GW_VAULT_NOT_SENT;
		return GW_VAULT_ERROR;
	}
	if (status >= 400 && status < 500)
		return GW_VAULT_REJECTED;
	return GW_VAULT_ERROR;
}

enum gw_vault_rc gw_vault_put_merchant(struct gw_vault_client *vc, const char *request_id,
                                       const char *merchant_id, const char *pk_sha256)
{
	json_t *body = NULL;
	json_t *resp = NULL;
	long status = 0;
	char path[128];
	enum gw_vault_rc rc = GW_VAULT_ERROR;

	if (merchant_id == NULL || pk_sha256 == NULL ||
	    (size_t)snprintf(path, sizeof path, "/v1/merchants/%s", merchant_id) >= sizeof path)
		goto out;
	body = json_pack("{s:s}", "publishable_key_sha256", pk_sha256);
	if (body == NULL)
		goto out;
	rc = exchange(vc, request_id, "PUT", path, NULL, body, &status, &resp);
	if (rc != GW_VAULT_OK)
		goto out;
	rc = classify(status, resp);
out:
	json_decref(body);
	json_decref(resp);
	return rc;
}

static void copy_card(const json_t *card, struct gw_vault_card *out)
{
	if (out == NULL)
		return;
	gw_strlcpy(out->brand, json_string_value(json_object_get(card, "brand")), sizeof out->brand);
	gw_strlcpy(out->last4, json_string_value(json_object_get(card, "last4")), sizeof out->last4);
}

enum gw_vault_rc gw_vault_get_token(struct gw_vault_client *vc, const char *request_id,
                                    const char *merchant, const char *token,
                                    struct gw_vault_card *card)
{
	json_t *resp = NULL;
	long status = 0;
	char path[128];
	enum gw_vault_rc rc = GW_VAULT_ERROR;

	if (card != NULL)
		memset(card, 0, sizeof *card);
	if (merchant == NULL || token == NULL ||
	    (size_t)snprintf(path, sizeof path, "/v1/tokens/%s", token) >= sizeof path)
		goto out;
	rc = exchange(vc, request_id, "GET", path, merchant, NULL, &status, &resp);
	if (rc != GW_VAULT_OK)
		goto out;
	rc = classify(status, resp);
	if (rc == GW_VAULT_OK) {
		copy_card(json_object_get(resp, "card"), card);
		if (card != NULL)
			card->used = json_is_true(json_object_get(resp, "used"));
	}
out:
	json_decref(resp);
	return rc;
}

enum gw_vault_rc gw_vault_request(struct gw_vault_client *vc, const char *request_id,
                                  const char *method, const char *path, const char *merchant,
                                  json_t *body, long *status, json_t **resp)
{
	return exchange(vc, request_id, method, path, merchant, body, status, resp);
}

enum gw_vault_rc gw_vault_authorize(struct gw_vault_client *vc, const char *request_id,
                                    const struct gw_vault_auth_request *rq,
                                    struct gw_vault_auth_result *out)
{
	json_t *body = NULL;
	json_t *resp = NULL;
	long status = 0;
	enum gw_vault_rc rc = GW_VAULT_ERROR;

	if (out == NULL || rq == NULL)
		goto out;
	memset(out, 0, sizeof *out);
	body = json_pack("{s:s, s:s, s:s, s:I, s:s, s:b, s:s}",
	                 "merchant", rq->merchant, "token", rq->token, "payment_id", rq->payment_id,
	                 "amount", (json_int_t)rq->amount, "currency", rq->currency,
	                 "capture", rq->capture ? 1 : 0, "idempotency_key", rq->idempotency_key);
	if (body == NULL)
		goto out;
	/* Sent only when set: a vault without them still answers the others. */
	if ((rq->statement_descriptor != NULL && rq->statement_descriptor[0] != '\0' &&
	     json_object_set_new(body, "statement_descriptor",
	                         json_string(rq->statement_descriptor)) != 0) ||
	    (rq->statement_descriptor_suffix != NULL && rq->statement_descriptor_suffix[0] != '\0' &&
	     json_object_set_new(body, "statement_descriptor_suffix",
	                         json_string(rq->statement_descriptor_suffix)) != 0) ||
	    (rq->return_url != NULL && rq->return_url[0] != '\0' &&
	     json_object_set_new(body, "return_url", json_string(rq->return_url)) != 0) ||
	    (rq->setup_future_usage != NULL && rq->setup_future_usage[0] != '\0' &&
	     json_object_set_new(body, "setup_future_usage", json_string(rq->setup_future_usage)) != 0) ||
	    (rq->off_session && json_object_set_new(body, "off_session", json_true()) != 0))
		goto out;
	rc = exchange(vc, request_id, "POST", "/v1/authorizations", NULL, body, &status, &resp);
	if (rc != GW_VAULT_OK)
		goto out;
	rc = classify(status, resp);
	if (rc != GW_VAULT_OK)
		goto out;
	if (!json_is_string(json_object_get(resp, "status"))) {
		rc = GW_VAULT_ERROR;
		goto out;
	}
	gw_strlcpy(out->status, json_string_value(json_object_get(resp, "status")), sizeof out->status);
	gw_strlcpy(out->psp_reference, json_string_value(json_object_get(resp, "psp_reference")),
	           sizeof out->psp_reference);
	gw_strlcpy(out->failure_code, json_string_value(json_object_get(resp, "failure_code")),
	           sizeof out->failure_code);
	gw_strlcpy(out->failure_message, json_string_value(json_object_get(resp, "failure_message")),
	           sizeof out->failure_message);
	gw_strlcpy(out->redirect_url, json_string_value(json_object_get(resp, "redirect_url")),
	           sizeof out->redirect_url);
	gw_strlcpy(out->connector, json_string_value(json_object_get(resp, "connector")),
	           sizeof out->connector);
	gw_strlcpy(out->route_reason, json_string_value(json_object_get(resp, "route_reason")),
	           sizeof out->route_reason);
	copy_card(json_object_get(resp, "card"), &out->card);
out:
	json_decref(body);
	json_decref(resp);
	return rc;
}

enum gw_vault_rc gw_vault_put_merchant_origins(struct gw_vault_client *vc, const char *request_id,
                                               const char *merchant_id, const char *pk_sha256,
                                               json_t *origins)
{
	json_t *body = NULL;
	json_t *resp = NULL;
	long status = 0;
	char path[128];
	enum gw_vault_rc rc = GW_VAULT_ERROR;

	if (merchant_id == NULL || pk_sha256 == NULL || !json_is_array(origins) ||
	    (size_t)snprintf(path, sizeof path, "/v1/merchants/%s", merchant_id) >= sizeof path)
		goto out;
	body = json_pack("{s:s, s:O}", "publishable_key_sha256", pk_sha256, "allowed_origins",
	                 origins);
	if (body == NULL)
		goto out;
	rc = exchange(vc, request_id, "PUT", path, NULL, body, &status, &resp);
	if (rc != GW_VAULT_OK)
		goto out;
	rc = classify(status, resp);
out:
	json_decref(body);
	json_decref(resp);
	return rc;
}
enum gw_vault_rc gw_vault_operate(struct gw_vault_client *vc, const char *request_id,
                                  const char *merchant, const char *operation,
                                  const char *psp_reference, long long amount,
                                  const char *idempotency_key, const char *reason,
                                  struct gw_vault_op_result *out)
{
	json_t *body = NULL;
	json_t *resp = NULL;
	long status = 0;
	enum gw_vault_rc rc = GW_VAULT_ERROR;

	if (out == NULL || merchant == NULL || operation == NULL || psp_reference == NULL)
		goto out;
	memset(out, 0, sizeof *out);
	body = json_pack("{s:s, s:s, s:s, s:I}", "merchant", merchant, "operation", operation,
	                 "psp_reference", psp_reference, "amount", (json_int_t)amount);
	if (body == NULL)
		goto out;
	if (idempotency_key != NULL)
		json_object_set_new(body, "idempotency_key", json_string(idempotency_key));
	if (reason != NULL && reason[0] != '\0')
		json_object_set_new(body, "reason", json_string(reason));
	rc = exchange(vc, request_id, "POST", "/v1/payment_operations", NULL, body, &status, &resp);
	if (rc != GW_VAULT_OK)
		goto out;
	rc = classify(status, resp);
	if (rc != GW_VAULT_OK)
		goto out;
	if (!json_is_string(json_object_get(resp, "outcome"))) {
		rc = GW_VAULT_ERROR;
		goto out;
	}
	gw_strlcpy(out->outcome, json_string_value(json_object_get(resp, "outcome")), sizeof out->outcome);
	out->amount = (long long)json_integer_value(json_object_get(resp, "amount"));
	gw_strlcpy(out->reference, json_string_value(json_object_get(resp, "reference")),
	           sizeof out->reference);
	gw_strlcpy(out->failure_code, json_string_value(json_object_get(resp, "failure_code")),
	           sizeof out->failure_code);
	gw_strlcpy(out->status, json_string_value(json_object_get(resp, "status")), sizeof out->status);
	gw_strlcpy(out->psp_failure_code, json_string_value(json_object_get(resp, "psp_failure_code")),
	           sizeof out->psp_failure_code);
	gw_strlcpy(out->redirect_url, json_string_value(json_object_get(resp, "redirect_url")),
	           sizeof out->redirect_url);
	gw_strlcpy(out->mismatch, json_string_value(json_object_get(resp, "mismatch")),
	           sizeof out->mismatch);
out:
	json_decref(body);
	json_decref(resp);
	return rc;
}

enum gw_vault_rc gw_vault_psp_webhook(struct gw_vault_client *vc, const char *request_id,
                                      const char *connector, const char *body, size_t len,
                                      const char *signature, long *status, json_t **resp)
{
	char path[128];
	char hdr[2100];
	enum gw_vault_rc rc = GW_VAULT_ERROR;

	*status = 0;
	*resp = NULL;
	if (connector == NULL || body == NULL ||
	    (size_t)snprintf(path, sizeof path, "/v1/psp_webhooks/%s", connector) >= sizeof path)
		goto out;
	/* A header value with CR/LF (or too long) is not forwarded: the vault
	 * then refuses the delivery as unsigned. */
	if (signature != NULL && (strpbrk(signature, "\r\n") != NULL ||
	    (size_t)snprintf(hdr, sizeof hdr, "Strongroom-PSP-Signature: %s", signature) >= sizeof hdr))
		signature = NULL;
	rc = exchange_raw(vc, request_id, "POST", path, NULL, body, len,
	                  signature != NULL ? hdr : NULL, NULL, status, resp);
out:
	return rc;
}
