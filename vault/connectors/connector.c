/*
 * connector: helpers shared by every PSP connector.
 */
#include "vault/connectors/connector.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/sr_log.h"
#include "common/sr_secret.h"
#include "vault/connectors/vault_egress.h"

/* Normalized failure codes and the fixed text shown for each. */
static const struct {
	const char *code;
	const char *message;
} k_failures[] = {
	{ "card_declined", "The card was declined." },
	{ "insufficient_funds", "The card has insufficient funds." },
	{ "expired_card", "The card has expired." },
	{ "incorrect_cvc", "The card's security code is incorrect." },
	{ "processing_error", "An error occurred while processing the card. Try again later." },
	{ "incorrect_number", "The card number is incorrect." },
	{ "invalid_expiry_month", "The card's expiration month is invalid." },
	{ "invalid_expiry_year", "The card's expiration year is invalid." },
	{ "invalid_request", "The payment processor rejected the request." },
};

void vault_auth_result_fail(struct vault_auth_result *res, const char *code)
{
	size_t i = 0;
	size_t k = 0; /* fail safe: the generic decline */

	for (i = 0; code != NULL && i < sizeof k_failures / sizeof k_failures[0]; i++)
		if (strcmp(k_failures[i].code, code) == 0)
			k = i;
	res->status = VAULT_AUTH_FAILED;
	snprintf(res->failure_code, sizeof res->failure_code, "%s", k_failures[k].code);
	snprintf(res->failure_message, sizeof res->failure_message, "%s", k_failures[k].message);
}

void vault_auth_result_reset(struct vault_auth_result *res)
{
	memset(res, 0, sizeof *res);
	res->status = VAULT_AUTH_UNKNOWN;
}

bool vault_network_tx_id_ok(const char *s)
{
	char tmp[VAULT_NETWORK_TX_ID_MAX + 1];

	return s != NULL && vault_psp_ident_copy(tmp, sizeof tmp, s) == 0;
}

int vault_psp_ident_copy(char *dst, size_t cap, const char *src)
{
	size_t i = 0;
	size_t n = 0;

	if (src == NULL)
		return -1;
	n = strlen(src);
	if (n == 0 || n >= cap)
		return -1;
	for (i = 0; i < n; i++) {
		char c = src[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		      || c == '_' || c == '-'))
			return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

const char *vault_auth_status_str(enum vault_auth_status st)
{
	switch (st) {
	case VAULT_AUTH_CAPTURED:
		return "captured";
	case VAULT_AUTH_AUTHORIZED:
		return "authorized";
	case VAULT_AUTH_REQUIRES_ACTION:
		return "requires_action";
	case VAULT_AUTH_FAILED:
		return "failed";
	case VAULT_AUTH_UNKNOWN:
		return "unknown";
	case VAULT_AUTH_VOIDED:
		return "voided";
	}
	return "unknown";
}

const char *vault_psp_event_kind_str(enum vault_psp_event_kind k)
{
	switch (k) {
	case VAULT_EV_AUTHORIZATION_SUCCEEDED:
		return "authorization.succeeded";
	case VAULT_EV_AUTHORIZATION_FAILED:
		return "authorization.failed";
	case VAULT_EV_CAPTURE_SUCCEEDED:
		return "capture.succeeded";
	case VAULT_EV_CAPTURE_FAILED:
		return "capture.failed";
	case VAULT_EV_CANCEL_SUCCEEDED:
		return "cancel.succeeded";
	case VAULT_EV_REFUND_SUCCEEDED:
		return "refund.succeeded";
	case VAULT_EV_REFUND_FAILED:
		return "refund.failed";
	case VAULT_EV_DISPUTE_CREATED:
		return "dispute.created";
	case VAULT_EV_OTHER:
		break;
	}
	return "other";
}

long long vault_connector_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vault_connector_log_authorize(const char *connector, const struct vault_auth_request *req,
                                   const struct vault_auth_result *res, const char *last4,
                                   int ret, bool sent, long long t0_ms, const char *err,
                                   const char *stage_err)
{
	if (stage_err != NULL && stage_err[0] != '\0')
		sr_log(SR_LOG_WARN, req != NULL ? req->request_id : NULL, "connector.psp_error",
		       "{s:s, s:s}", "connector", connector, "error", stage_err);
	if (req == NULL || res == NULL)
		return;
	sr_log(ret == 0 ? SR_LOG_INFO : SR_LOG_WARN, req->request_id, "connector.authorize",
	       "{s:s, s:s?, s:s?, s:s, s:s?, s:s?, s:I, s:s?}",
	       "connector", connector,
	       "token", req->token,
	       "last4", last4,
	       "status", ret == 0 && sent ? vault_auth_status_str(res->status) : "not_sent",
	       "failure_code", res->failure_code[0] != '\0' ? res->failure_code : NULL,
	       "psp_reference", res->psp_reference[0] != '\0' ? res->psp_reference : NULL,
	       "duration_ms", (json_int_t)(vault_connector_now_ms() - t0_ms),
	       "error", ret != 0 && err != NULL && err[0] != '\0' ? err : NULL);
}

const char *vault_op_kind_str(enum vault_op_kind k)
{
	switch (k) {
	case VAULT_OP_CAPTURE:
		return "capture";
	case VAULT_OP_CANCEL:
		return "cancel";
	case VAULT_OP_REFUND:
		return "refund";
	case VAULT_OP_RETRIEVE:
		return "retrieve";
	}
	return "unknown";
}

void vault_connector_log_operate(const char *connector, const struct vault_op_request *req,
                                 const struct vault_op_result *res, int ret)
{
	bool mismatch = false;

	if (req == NULL || (unsigned)req->kind > VAULT_OP_RETRIEVE)
		return;
	mismatch = ret == 0 && res->mismatch[0] != '\0';
	sr_log(ret == 0 && !mismatch ? SR_LOG_INFO : SR_LOG_WARN, req->request_id, "connector.operate",
	       "{s:s, s:s, s:s?, s:I, s:s, s:s?, s:s?}", "connector", connector,
	       "operation", vault_op_kind_str(req->kind),
	       "psp_reference", req->psp_reference, "amount", (json_int_t)req->amount,
	       "outcome", ret != 0 ? "not_sent" : res->outcome == VAULT_OP_SUCCEEDED ? "succeeded"
	                : res->outcome == VAULT_OP_REFUSED ? "refused" : "unknown",
	       "failure_code", ret == 0 && res->failure_code[0] != '\0' ? res->failure_code : NULL,
	       "mismatch", mismatch ? res->mismatch : NULL);
}

void vault_op_result_mismatch(struct vault_op_result *res, const char *field)
{
	res->outcome = VAULT_OP_UNKNOWN;
	res->amount = 0;
	res->reference[0] = '\0';
	res->failure_code[0] = '\0';
	snprintf(res->mismatch, sizeof res->mismatch, "%s", field);
}

bool vault_op_reason_ok(enum vault_op_kind kind, const char *reason)
{
	static const char *const REASONS[] = {
		"duplicate", "fraudulent", "requested_by_customer", "abandoned", "expired", NULL
	};
	size_t i = 0;

	if (reason == NULL)
		return true;
	if (kind != VAULT_OP_CANCEL && kind != VAULT_OP_REFUND)
		return false;
	/* The first three are both operations'; the rest are cancels' only. */
	for (i = 0; REASONS[i] != NULL; i++)
		if (strcmp(reason, REASONS[i]) == 0)
			return kind == VAULT_OP_CANCEL || i < 3;
	return false;
}

/* ------------------------------------------------------------------ */
/* request/answer plumbing                                              */

void vault_connector_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

char *vault_psp_secret_dup(const char *name, const char *what, const char *value,
                           size_t *len_out, char *err, size_t errlen)
{
	size_t n = value != NULL ? strlen(value) : 0;
	char *copy = NULL;

	if (n == 0 || strpbrk(value, "\r\n") != NULL) {
		vault_connector_seterr(err, errlen, "%s: %s is missing, empty or has more than one line",
		                       name, what);
		return NULL;
	}
	copy = sr_secret_alloc(n + 1);
	if (copy == NULL) {
		vault_connector_seterr(err, errlen, "%s: out of guarded memory", name);
		return NULL;
	}
	memcpy(copy, value, n);
	copy[n] = '\0';
	if (len_out != NULL)
		*len_out = n;
	return copy;
}

int vault_psp_endpoint_init(struct vault_psp_endpoint *ep, const char *name, const char *host,
                            const char *addr, unsigned port, const char *api_key,
                            char *err, size_t errlen)
{
	ep->port = port;
	ep->host = strdup(host);
	ep->addr = addr != NULL ? strdup(addr) : NULL;
	if (ep->host == NULL || (addr != NULL && ep->addr == NULL)) {
		vault_connector_seterr(err, errlen, "%s: out of memory", name);
		return -1;
	}
	ep->api_key = vault_psp_secret_dup(name, "the API key", api_key, &ep->api_key_len, err,
	                                   errlen);
	return ep->api_key != NULL ? 0 : -1;
}

void vault_psp_endpoint_free(struct vault_psp_endpoint *ep)
{
	sr_secret_free(ep->api_key);    /* wipes */
	free(ep->host);
	free(ep->addr);
	memset(ep, 0, sizeof *ep);
}

const char *vault_psp_api_key(const struct vault_psp_endpoint *ep,
                              const struct vault_psp_credentials *creds)
{
	return creds != NULL && creds->api_key != NULL ? creds->api_key : ep->api_key;
}

char *vault_psp_secret_header(const char *prefix, const char *value)
{
	size_t cap = strlen(prefix) + strlen(value) + 1;
	char *h = sr_secret_alloc(cap);

	if (h != NULL)
		snprintf(h, cap, "%s%s", prefix, value);
	return h;
}

/* Header line "Name: value<suffix>" into buf; -1 if too long or value has CR/LF. */
static int mkheader(char *buf, size_t cap, const char *name, const char *value, const char *suffix)
{
	int n = 0;

	if (value == NULL || strpbrk(value, "\r\n") != NULL)
		return -1;
	n = snprintf(buf, cap, "%s: %s%s", name, value, suffix != NULL ? suffix : "");
	return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

/* Append "X-Request-Id: <request_id>" at line[*n] when it makes a header line. */
static void add_request_id(struct vault_psp_headers *h, size_t *n, const char *request_id)
{
	if (request_id != NULL && mkheader(h->rid, sizeof h->rid, "X-Request-Id", request_id, NULL) == 0)
		h->line[(*n)++] = h->rid;
}

int vault_psp_headers_authorize(struct vault_psp_headers *h, const char *auth, const char *idem_key,
                                const char *idem_suffix, const char *content_type,
                                const char *extra, const char *request_id)
{
	size_t n = 0;

	if (mkheader(h->idem, sizeof h->idem, "Idempotency-Key", idem_key, idem_suffix) != 0)
		return -1;
	h->line[n++] = auth;
	h->line[n++] = h->idem;
	h->line[n++] = content_type;
	if (extra != NULL)
		h->line[n++] = extra;
	add_request_id(h, &n, request_id);
	h->line[n] = NULL;
	return 0;
}

int vault_psp_headers_operate(struct vault_psp_headers *h, const char *auth, const char *extra,
                              const struct vault_op_request *req, const char *content_type)
{
	size_t n = 0;

	h->line[n++] = auth;
	if (extra != NULL)
		h->line[n++] = extra;
	add_request_id(h, &n, req->request_id);
	if (req->kind != VAULT_OP_RETRIEVE) {
		if (mkheader(h->idem, sizeof h->idem, "Idempotency-Key", req->idempotency_key, NULL) != 0)
			return -1;
		h->line[n++] = h->idem;
		h->line[n++] = content_type;
	}
	h->line[n] = NULL;
	return 0;
}

int vault_psp_send(struct vault_egress *eg, const struct vault_psp_endpoint *ep, const char *path,
                   const struct vault_psp_headers *h, char *body, size_t body_len,
                   struct vault_egress_response *resp, char *err, size_t errlen)
{
	int sent = 0;

	return vault_egress_request(eg, ep->host, ep->addr, ep->port, body == NULL ? "GET" : "POST", path,
	                            h->line, body, body_len, resp, &sent, err, errlen);
}

bool vault_op_request_ok(const struct vault_op_request *req)
{
	char ref[256];

	return req != NULL && req->psp_reference != NULL
	       && vault_psp_ident_copy(ref, sizeof ref, req->psp_reference) == 0
	       && req->amount >= 0 && (unsigned)req->kind <= VAULT_OP_RETRIEVE
	       && (req->kind == VAULT_OP_RETRIEVE || req->idempotency_key != NULL)
	       && vault_op_reason_ok(req->kind, req->reason);
}

void vault_auth_call_begin(struct vault_auth_call *call, const char *connector,
                           struct vault_auth_result *res, char *err, size_t errlen)
{
	memset(call, 0, sizeof *call);
	call->connector = connector;
	call->t0_ms = vault_connector_now_ms();
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (res != NULL)
		vault_auth_result_reset(res);
}

bool vault_auth_call_lost(struct vault_auth_call *call, int rc, struct vault_auth_result *res,
                          const char *err)
{
	if (rc != -2)
		return false;
	snprintf(call->stage_err, sizeof call->stage_err, "%s", err != NULL ? err : "");
	res->status = VAULT_AUTH_UNKNOWN;
	call->sent = true;
	return true;
}

void vault_auth_call_end(const struct vault_auth_call *call, const struct vault_auth_request *req,
                         const struct vault_auth_result *res, int ret, char *err, size_t errlen)
{
	if (ret == 0 && err != NULL && errlen > 0)
		err[0] = '\0';
	vault_connector_log_authorize(call->connector, req, res, call->last4, ret, call->sent,
	                              call->t0_ms, err, call->stage_err);
}
