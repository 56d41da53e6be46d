/*
 * connector: helpers shared by every PSP connector.
 */
#include "vault/connectors/connector.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/sr_log.h"

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
	if (req == NULL || (unsigned)req->kind > VAULT_OP_RETRIEVE)
		return;
	sr_log(ret == 0 ? SR_LOG_INFO : SR_LOG_WARN, req->request_id, "connector.operate",
	       "{s:s, s:s, s:s?, s:I, s:s, s:s?}", "connector", connector,
	       "operation", vault_op_kind_str(req->kind),
	       "psp_reference", req->psp_reference, "amount", (json_int_t)req->amount,
	       "outcome", ret != 0 ? "not_sent" : res->outcome == VAULT_OP_SUCCEEDED ? "succeeded"
	                : res->outcome == VAULT_OP_REFUSED ? "refused" : "unknown",
	       "failure_code", ret == 0 && res->failure_code[0] != '\0' ? res->failure_code : NULL);
}
