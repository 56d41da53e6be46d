/*
 * adyen: connector for Adyen's Checkout API v71
 * (https://docs.adyen.com/api-explorer/Checkout/71/overview), spoken to
 * pspsim in development.
 *
 *   POST /v71/payments  {"amount":{"value","currency"},"reference","merchantAccount",
 *                        "paymentMethod":{"type":"scheme","number","expiryMonth",
 *                        "expiryYear","cvc"},"returnUrl",...}  X-API-Key, Idempotency-Key
 *        -> {"pspReference","resultCode":"Authorised"|"Refused"|"RedirectShopper"|"Error",
 *            "refusalReason","refusalReasonCode","action":{"url"}}
 *   POST /v71/payments/{pspReference}/captures|cancels|refunds -> 201 {"status":"received"}
 *   GET  /v71/payments/{pspReference}   pspsim only: stand-in for Adyen's
 *        notification-driven status (ADR 0090); Adyen itself has no GET.
 *
 * The /payments body carries the PAN and CVC, so it is written by hand into
 * libsodium guarded memory (ADR 0090): jansson would copy every string into
 * its ordinary heap. Only digits, validated identifiers and our own
 * configuration are written, each through a JSON string escaper. The body is
 * wiped by vault_egress once written and freed (wiped again) here.
 * PCI DSS v4.0 3.3.1.2 (CVC never stored here), 3.5 / 4.2.1 (PAN protected in
 * memory and in transit), 8.6.3 (API and HMAC keys protected), 10.2 (calls
 * logged with token and last4 only).
 */
#include "vault/connectors/adyen/adyen.h"
#include "vault/connectors/adyen/adyen_internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <mbedtls/md.h>
#include <sodium.h>

#include "common/sr_log.h"
#include "common/sr_secret.h"
#include "vault/connectors/vault_egress.h"

#define ADYEN_API "/v71"
#define BODY_CAP 4096u /* with a returnUrl of 1100 bytes */
#define DEFAULT_RETURN_URL "https://strongroom.test/v1/3ds/return"
#define CT_JSON "Content-Type: application/json"


/*
 * Adyen refusalReasonCode -> normalized failure code
 * (https://docs.adyen.com/development-resources/refusal-reasons). The
 * reason texts are Adyen's own, used to map AUTHORISATION notifications
 * whose "reason" carries the text only. Anything not listed: card_declined.
 */
static const struct {
	const char *code;      /* refusalReasonCode */
	const char *reason;    /* refusalReason */
	const char *normalized;
} k_refusals[] = {
	{ "2", "Refused", "card_declined" },
	{ "3", "Referral", "card_declined" },
	{ "4", "Acquirer Error", "processing_error" },
	{ "5", "Blocked Card", "card_declined" },
	{ "6", "Expired Card", "expired_card" },
	{ "7", "Invalid Amount", "card_declined" },
	{ "8", "Invalid Card Number", "incorrect_number" },
	{ "9", "Issuer Unavailable", "processing_error" },
	{ "10", "Not supported", "card_declined" },
	{ "11", "3D Not Authenticated", "card_declined" },
	{ "12", "Not enough balance", "insufficient_funds" },
	{ "14", "Acquirer Fraud", "card_declined" },
	{ "15", "Cancelled", "card_declined" },
	{ "16", "Shopper Cancelled", "card_declined" },
	{ "17", "Invalid Pin", "card_declined" },
	{ "18", "Pin tries exceeded", "card_declined" },
	{ "19", "Pin validation not possible", "card_declined" },
	{ "20", "FRAUD", "card_declined" },
	{ "21", "Not Submitted", "processing_error" },
	{ "22", "FRAUD-CANCELLED", "card_declined" },
	{ "23", "Transaction Not Permitted", "card_declined" },
	{ "24", "CVC Declined", "incorrect_cvc" },
	{ "25", "Restricted Card", "card_declined" },
	{ "26", "Revocation Of Auth", "card_declined" },
	{ "27", "Declined Non Generic", "card_declined" },
	{ "28", "Withdrawal amount exceeded", "insufficient_funds" },
	{ "29", "Withdrawal count exceeded", "card_declined" },
	{ "31", "Issuer Suspected Fraud", "card_declined" },
	{ "32", "AVS Declined", "card_declined" },
	{ "38", "Authentication required", "card_declined" },
};

/* Adyen validation errorCode (HTTP 422, errorType "validation") -> normalized. */
static const struct {
	const char *code;
	const char *normalized;
} k_validation[] = {
	{ "101", "incorrect_number" },        /* Invalid card number */
	{ "103", "incorrect_cvc" },           /* CVC is not the right length */
	{ "129", "invalid_expiry_year" },     /* Expiry Date Invalid */
	{ "140", "invalid_expiry_year" },     /* Invalid expiryYear */
	{ "141", "invalid_expiry_month" },    /* Invalid expiryMonth */
};


const char *vault_adyen_refusal_code(const char *refusal_reason_code)
{
	size_t i = 0;

	for (i = 0; refusal_reason_code != NULL && i < sizeof k_refusals / sizeof k_refusals[0]; i++)
		if (strcmp(k_refusals[i].code, refusal_reason_code) == 0)
			return k_refusals[i].normalized;
	return "card_declined";
}

const char *adyen_refusal_by_reason(const char *reason)
{
	size_t i = 0;

	for (i = 0; reason != NULL && i < sizeof k_refusals / sizeof k_refusals[0]; i++)
		if (strcmp(k_refusals[i].reason, reason) == 0)
			return k_refusals[i].normalized;
	return "card_declined";
}

/* ------------------------------------------------------------------ */
/* JSON written into a caller-owned (guarded) buffer                    */

/* Append raw text. -1 when it does not fit. */
static int jw_raw(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > cap)
		return -1;
	memcpy(buf + *len, s, n + 1);
	*len += n;
	return 0;
}

/* Append s as a JSON string (RFC 8259 section 7): '"' and '\\' escaped,
 * control characters and non-ASCII refused (none of our values has any). */
static int jw_str(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t i = 0;

	if (s == NULL || *len + 2 >= cap)
		return -1;
	buf[(*len)++] = '"';
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e)
			return -1;
		if (c == '"' || c == '\\') {
			if (*len + 3 >= cap)
				return -1;
			buf[(*len)++] = '\\';
		} else if (*len + 2 >= cap) {
			return -1;
		}
		buf[(*len)++] = (char)c;
	}
	buf[(*len)++] = '"';
	buf[*len] = '\0';
	return 0;
}

/* "name":"value" with a leading comma when not first. */
static int jw_field(char *buf, size_t cap, size_t *len, bool comma, const char *name, const char *value)
{
	return (comma && jw_raw(buf, cap, len, ",") != 0) || jw_str(buf, cap, len, name) != 0
	       || jw_raw(buf, cap, len, ":") != 0 || jw_str(buf, cap, len, value) != 0 ? -1 : 0;
}

static bool digits(const char *s, size_t min, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;
	size_t i = 0;

	if (n < min || n > max)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Upper-case a lowercase ISO 4217 code into out[4]; -1 if malformed. */
static int currency_upper(const char *in, char out[4])
{
	size_t i = 0;

	if (in == NULL || strlen(in) != 3)
		return -1;
	for (i = 0; i < 3; i++) {
		if (in[i] < 'a' || in[i] > 'z')
			return -1;
		out[i] = (char)(in[i] - 'a' + 'A');
	}
	out[3] = '\0';
	return 0;
}

/* ------------------------------------------------------------------ */
/* answers                                                              */

int vault_adyen_map_payment(int http_status, const char *body, int capture,
                            struct vault_auth_result *res)
{
	json_t *root = NULL;
	const char *rc = NULL;
	const char *psp = NULL;
	const char *url = NULL;
	const char *code = NULL;
	const char *etype = NULL;
	size_t i = 0;
	int ret = -1;

	if (res == NULL)
		return -1;
	vault_auth_result_reset(res);
	if (http_status == 401 || http_status == 403 || http_status == 429 || http_status == 503) {
		/* Documented as not processed: credentials refused (401/403), rate
		 * limited (429, RFC 6585), unavailable (503, RFC 9110 15.6.4). */
		return -2;
	}
	if (body == NULL)
		goto out;
	root = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root))
		goto out;
	psp = json_string_value(json_object_get(root, "pspReference"));
	if (psp != NULL)
		(void)vault_psp_ident_copy(res->psp_reference, sizeof res->psp_reference, psp);

	if (http_status == 200) {
		rc = json_string_value(json_object_get(root, "resultCode"));
		if (rc == NULL)
			goto out;
		if (strcmp(rc, "Authorised") == 0) {
			if (res->psp_reference[0] == '\0')
				goto out;
			res->status = capture ? VAULT_AUTH_CAPTURED : VAULT_AUTH_AUTHORIZED;
			/* Stored credentials (ADR 0133): the scheme's transaction id
			 * of this authorization, when Adyen returns it. */
			(void)vault_psp_ident_copy(res->network_tx_id, sizeof res->network_tx_id,
			                           json_string_value(json_object_get(
			                               json_object_get(root, "additionalData"),
			                               "networkTxReference")));
		} else if (strcmp(rc, "Refused") == 0) {
			vault_auth_result_fail(res, vault_adyen_refusal_code(json_string_value(
			           json_object_get(root, "refusalReasonCode"))));
		} else if (strcmp(rc, "Error") == 0) {
			vault_auth_result_fail(res, "processing_error");
		} else if (strcmp(rc, "Cancelled") == 0) {
			vault_auth_result_fail(res, "card_declined");
		} else if (strcmp(rc, "RedirectShopper") == 0 || strcmp(rc, "ChallengeShopper") == 0
		           || strcmp(rc, "IdentifyShopper") == 0) {
			url = json_string_value(json_object_get(json_object_get(root, "action"), "url"));
			/* Only an https URL we can hold whole is handed to a browser. */
			if (res->psp_reference[0] == '\0' || url == NULL || strncmp(url, "https://", 8) != 0
			    || strlen(url) >= sizeof res->redirect_url || strpbrk(url, " \"<>\\\r\n") != NULL)
				goto out;
			snprintf(res->redirect_url, sizeof res->redirect_url, "%s", url);
			res->status = VAULT_AUTH_REQUIRES_ACTION;
		} else {
			/* Pending, Received, PresentToShopper, ...: resolved later. */
			res->status = VAULT_AUTH_UNKNOWN;
		}
		ret = 0;
		goto out;
	}
	if (http_status == 400 || http_status == 422) {
		/* Adyen's validation errors: the payment was not attempted. */
		etype = json_string_value(json_object_get(root, "errorType"));
		code = json_string_value(json_object_get(root, "errorCode"));
		if (etype == NULL || code == NULL)
			goto out;
		vault_auth_result_fail(res, "invalid_request");
		for (i = 0; i < sizeof k_validation / sizeof k_validation[0]; i++)
			if (strcmp(k_validation[i].code, code) == 0)
				vault_auth_result_fail(res, k_validation[i].normalized);
		ret = 0;
		goto out;
	}
	/* 500, 502, 504, anything else: the outcome is not known. */
	res->status = VAULT_AUTH_UNKNOWN;
	ret = 0;
out:
	if (ret == -1) {
		/* Not an Adyen answer: the request was sent, so unknown. */
		vault_auth_result_reset(res);
	}
	json_decref(root);
	return ret;
}

/* "X-API-Key: <key>" in guarded memory (the merchant's key when given). */
static char *api_key_header(const struct adyen_state *st, const struct vault_psp_credentials *creds)
{
	const char *key = vault_psp_api_key(&st->ep, creds);

	return strpbrk(key, "\r\n") == NULL ? vault_psp_secret_header("X-API-Key: ", key) : NULL;
}

static const char *merchant_account(const struct adyen_state *st,
                                    const struct vault_psp_credentials *creds)
{
	return creds != NULL && creds->merchant_account != NULL ? creds->merchant_account
	                                                        : st->merchant_account;
}

static int adyen_authorize(const struct vault_connector *self, struct vault_egress *eg,
                           const struct vault_auth_request *req, struct vault_auth_result *res,
                           char *err, size_t errlen)
{
	const struct adyen_state *st = NULL;
	struct vault_egress_response resp = { 0, NULL, 0 };
	struct vault_psp_headers h;
	struct vault_auth_call call;
	char *body = NULL;
	char *auth = NULL;
	char num[32];
	char cur[4];
	size_t blen = 0;
	int rc = 0;
	int ret = -1;
	/* Adyen has one statement text: the descriptor, else the suffix. */
	const char *shopper_statement = req != NULL && req->statement_descriptor != NULL
	                                ? req->statement_descriptor
	                                : req != NULL ? req->statement_descriptor_suffix : NULL;
	/* Stored credentials (https://docs.adyen.com/online-payments/tokenization/
	 * create-and-use-tokens, "recurringProcessingModel"; ADR 0133): the
	 * customer-initiated first payment is Ecommerce with CardOnFile
	 * (on_session) or UnscheduledCardOnFile (off_session); a
	 * merchant-initiated one is ContAuth, UnscheduledCardOnFile. */
	const bool mit = req != NULL && req->off_session;
	const char *interaction = mit ? "ContAuth" : "Ecommerce";
	const char *rpm = mit ? "UnscheduledCardOnFile"
	                  : req == NULL || req->setup_future_usage == NULL ? NULL
	                  : strcmp(req->setup_future_usage, "on_session") == 0 ? "CardOnFile"
	                  : "UnscheduledCardOnFile";
	const char *nti = mit && req->network_tx_id != NULL ? req->network_tx_id : NULL;

	vault_auth_call_begin(&call, "adyen", res, err, errlen);
	if (self == NULL || self->cfg == NULL || eg == NULL || req == NULL || res == NULL || req->card == NULL
	    || !digits(req->card->pan, 12, 19) || req->card->exp_month < 1 || req->card->exp_month > 12
	    || req->card->exp_year < 2000 || req->card->exp_year > 9999
	    || (req->card->cvc != NULL && !digits(req->card->cvc, 3, 4))
	    || (nti != NULL && !vault_network_tx_id_ok(nti))
	    || (req->setup_future_usage != NULL && strcmp(req->setup_future_usage, "on_session") != 0
	        && strcmp(req->setup_future_usage, "off_session") != 0)
	    || currency_upper(req->currency, cur) != 0 || req->amount <= 0 || req->idempotency_key == NULL
	    || req->payment_id == NULL || req->token == NULL) {
		vault_connector_seterr(err, errlen, "adyen: invalid authorization request");
		goto out;
	}
	st = self->cfg;
	memcpy(call.last4, req->card->pan + strlen(req->card->pan) - 4, 4);  /* PCI DSS 3.4.1 */

	auth = api_key_header(st, req->creds);
	body = sr_secret_alloc(BODY_CAP);
	if (auth == NULL || body == NULL) {
		vault_connector_seterr(err, errlen, "adyen: out of memory or unusable API key");
		goto out;
	}
	if (vault_psp_headers_authorize(&h, auth, req->idempotency_key, NULL, CT_JSON, NULL,
	                                req->request_id) != 0) {
		vault_connector_seterr(err, errlen, "adyen: idempotency key too long");
		goto out;
	}

	/* The body, in guarded memory only (ADR 0090). */
	snprintf(num, sizeof num, "%lld", req->amount);
	if (jw_raw(body, BODY_CAP, &blen, "{\"amount\":{\"value\":") != 0
	    || jw_raw(body, BODY_CAP, &blen, num) != 0
	    || jw_field(body, BODY_CAP, &blen, true, "currency", cur) != 0
	    || jw_raw(body, BODY_CAP, &blen, "}") != 0
	    || jw_field(body, BODY_CAP, &blen, true, "reference", req->payment_id) != 0
	    || jw_field(body, BODY_CAP, &blen, true, "merchantAccount", merchant_account(st, req->creds)) != 0
	    || (shopper_statement != NULL
	        && jw_field(body, BODY_CAP, &blen, true, "shopperStatement", shopper_statement) != 0)
	    || jw_raw(body, BODY_CAP, &blen, ",\"paymentMethod\":{") != 0
	    || jw_field(body, BODY_CAP, &blen, false, "type", "scheme") != 0
	    || jw_field(body, BODY_CAP, &blen, true, "number", req->card->pan) != 0)
		goto body_full;
	snprintf(num, sizeof num, "%02d", req->card->exp_month);
	if (jw_field(body, BODY_CAP, &blen, true, "expiryMonth", num) != 0)
		goto body_full;
	snprintf(num, sizeof num, "%d", req->card->exp_year);
	if (jw_field(body, BODY_CAP, &blen, true, "expiryYear", num) != 0)
		goto body_full;
	/* Never a CVC with a merchant-initiated payment (ADR 0133, invariant 4). */
	if (req->card->cvc != NULL && !req->off_session
	    && jw_field(body, BODY_CAP, &blen, true, "cvc", req->card->cvc) != 0)
		goto body_full;
	if (jw_raw(body, BODY_CAP, &blen, "}") != 0
	    || jw_field(body, BODY_CAP, &blen, true, "shopperInteraction", interaction) != 0
	    || (rpm != NULL
	        && jw_field(body, BODY_CAP, &blen, true, "recurringProcessingModel", rpm) != 0)
	    || jw_field(body, BODY_CAP, &blen, true, "returnUrl",
	                req->return_url != NULL ? req->return_url : st->return_url) != 0
	    || jw_raw(body, BODY_CAP, &blen, ",\"metadata\":{") != 0
	    || jw_field(body, BODY_CAP, &blen, false, "token", req->token) != 0
	    || jw_raw(body, BODY_CAP, &blen, "}") != 0
	    /* Automatic capture: captureDelayHours 0; manual: additionalData.manualCapture. */
	    || (req->capture && jw_raw(body, BODY_CAP, &blen, ",\"captureDelayHours\":0") != 0)
	    || ((!req->capture || nti != NULL)
	        && jw_raw(body, BODY_CAP, &blen, ",\"additionalData\":{") != 0)
	    || (!req->capture
	        && jw_field(body, BODY_CAP, &blen, false, "manualCapture", "true") != 0)
	    /* The first payment's network transaction id, sent back as Adyen
	     * returned it (MIT with card details, ADR 0133). */
	    || (nti != NULL
	        && jw_field(body, BODY_CAP, &blen, !req->capture, "networkTxReference", nti) != 0)
	    || ((!req->capture || nti != NULL) && jw_raw(body, BODY_CAP, &blen, "}") != 0)
	    || jw_raw(body, BODY_CAP, &blen, "}") != 0)
		goto body_full;

	rc = vault_psp_send(eg, &st->ep, ADYEN_API "/payments", &h, body, blen, &resp, err, errlen);
	sodium_memzero(body, BODY_CAP);
	blen = 0;
	if (rc == -1)
		goto out;                       /* nothing sent */
	call.sent = true;
	if (vault_auth_call_lost(&call, rc, res, err))
		goto done;
	rc = vault_adyen_map_payment(resp.status, resp.body, req->capture, res);
	if (rc == -2) {
		/* The PSP documents this answer as "not processed": nothing authorized. */
		call.sent = false;
		vault_connector_seterr(err, errlen, "adyen: payments not processed (HTTP %d)", resp.status);
		goto out;
	}
	if (rc != 0)
		snprintf(call.stage_err, sizeof call.stage_err, "adyen: payments: unparsable answer (HTTP %d)",
		         resp.status);
	goto done;

body_full:
	vault_connector_seterr(err, errlen, "adyen: request body too large or not encodable");
	goto out;
done:
	ret = 0;
out:
	vault_auth_call_end(&call, req, res, ret, err, errlen);
	free(resp.body);
	sr_secret_free(body);
	sr_secret_free(auth);
	sodium_memzero(num, sizeof num);
	return ret;
}

const char *vault_adyen_reason(enum vault_op_kind kind, const char *reason)
{
	static const struct {
		const char *ours;
		const char *adyen;
	} map[] = {
		{ "duplicate", "DUPLICATE" },
		{ "fraudulent", "FRAUD" },
		{ "requested_by_customer", "CUSTOMER REQUEST" },
	};
	size_t i = 0;

	if (kind != VAULT_OP_REFUND || reason == NULL)
		return NULL;
	for (i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(reason, map[i].ours) == 0)
			return map[i].adyen;
	return NULL;
}

void vault_adyen_check_op(const struct vault_op_request *req, const char *cur, const char *body,
                          struct vault_op_result *res)
{
	json_t *j = json_loads(body != NULL ? body : "", JSON_REJECT_DUPLICATES, NULL);
	const json_t *amount = json_object_get(j, "amount");
	const json_t *value = json_object_get(amount, "value");
	const char *v = json_string_value(json_object_get(j, "status"));
	const char *ppr = json_string_value(json_object_get(j, "paymentPspReference"));
	const char *c = json_string_value(json_object_get(amount, "currency"));
	char mod[128];

	memset(res, 0, sizeof *res);
	if (v == NULL || strcmp(v, "received") != 0)
		vault_op_result_mismatch(res, "status");
	else if (ppr == NULL || strcmp(ppr, req->psp_reference) != 0
	         || vault_psp_ident_copy(mod, sizeof mod,
	                                 json_string_value(json_object_get(j, "pspReference"))) != 0)
		vault_op_result_mismatch(res, "id");
	else if (req->kind != VAULT_OP_CANCEL
	         && (!json_is_integer(value) || (long long)json_integer_value(value) != req->amount))
		vault_op_result_mismatch(res, "amount");
	else if (req->kind != VAULT_OP_CANCEL && (c == NULL || cur == NULL || strcmp(c, cur) != 0))
		vault_op_result_mismatch(res, "currency");
	else {
		res->outcome = VAULT_OP_SUCCEEDED;
		res->amount = req->kind == VAULT_OP_CANCEL ? 0 : req->amount;
		if (req->kind == VAULT_OP_REFUND)
			memcpy(res->reference, mod, sizeof res->reference);
	}
	json_decref(j);
}

/*
 * Modifications (https://docs.adyen.com/online-payments/modify-payments):
 * POST /v71/payments/{pspReference}/captures {merchantAccount, amount,
 * reference}, .../cancels {merchantAccount, reference}, .../refunds
 * {merchantAccount, amount, reference}; Adyen answers 201 {"status":
 * "received", "pspReference": <the modification's>}: accepted, with the
 * final result by notification (CAPTURE, REFUND, ...). The Idempotency-Key
 * is the caller's stable key. Retrieve: pspsim's GET stand-in (ADR 0090).
 */
static int adyen_operate(const struct vault_connector *self, struct vault_egress *eg,
                         const struct vault_op_request *req, struct vault_op_result *res,
                         char *err, size_t errlen)
{
	static const char *const PATHS[] = { "captures", "cancels", "refunds", NULL };
	const struct adyen_state *st = NULL;
	struct vault_egress_response resp = { 0, NULL, 0 };
	struct vault_psp_headers h;
	char *auth = NULL;
	char body[768];
	char path[256];
	char num[32];
	char cur[4] = "";
	json_t *j = NULL;
	const char *v = NULL;
	const char *reason = NULL;
	size_t blen = 0;
	int rc = 0;
	int ret = -1;

	body[0] = '\0';
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (res != NULL)
		memset(res, 0, sizeof *res);
	if (self == NULL || self->cfg == NULL || eg == NULL || res == NULL || !vault_op_request_ok(req)
	    || ((req->kind == VAULT_OP_CAPTURE || req->kind == VAULT_OP_REFUND)
	        && (req->amount <= 0 || currency_upper(req->currency, cur) != 0))) {
		/* Adyen's captures and refunds always name amount and currency. */
		vault_connector_seterr(err, errlen, "adyen: invalid operation request");
		goto out;
	}
	st = self->cfg;
	auth = api_key_header(st, req->creds);
	if (auth == NULL) {
		vault_connector_seterr(err, errlen, "adyen: out of memory or unusable API key");
		goto out;
	}
	if (vault_psp_headers_operate(&h, auth, NULL, req, CT_JSON) != 0) {
		vault_connector_seterr(err, errlen, "adyen: idempotency key too long");
		goto out;
	}
	if (req->kind != VAULT_OP_RETRIEVE) {
		if (jw_raw(body, sizeof body, &blen, "{") != 0
		    || jw_field(body, sizeof body, &blen, false, "merchantAccount",
		                merchant_account(st, req->creds)) != 0
		    || jw_field(body, sizeof body, &blen, true, "reference", req->idempotency_key) != 0)
			goto body_full;
		reason = vault_adyen_reason(req->kind, req->reason);
		if (reason != NULL && jw_field(body, sizeof body, &blen, true, "merchantRefundReason", reason) != 0)
			goto body_full;
		if (req->kind != VAULT_OP_CANCEL) {
			snprintf(num, sizeof num, "%lld", req->amount);
			if (jw_raw(body, sizeof body, &blen, ",\"amount\":{\"value\":") != 0
			    || jw_raw(body, sizeof body, &blen, num) != 0
			    || jw_field(body, sizeof body, &blen, true, "currency", cur) != 0
			    || jw_raw(body, sizeof body, &blen, "}") != 0)
				goto body_full;
		}
		if (jw_raw(body, sizeof body, &blen, "}") != 0)
			goto body_full;
		snprintf(path, sizeof path, ADYEN_API "/payments/%s/%s", req->psp_reference, PATHS[req->kind]);
	} else {
		snprintf(path, sizeof path, ADYEN_API "/payments/%s", req->psp_reference);
	}
	rc = vault_psp_send(eg, &st->ep, path, &h, req->kind == VAULT_OP_RETRIEVE ? NULL : body, blen,
	                    &resp, err, errlen);
	if (rc == -1)
		goto out;
	if (rc == 0 && (resp.status == 401 || resp.status == 403 || resp.status == 503)) {
		vault_connector_seterr(err, errlen, "adyen: %s not processed (HTTP %d)",
		                       vault_op_kind_str(req->kind), resp.status);
		goto out;
	}
	ret = 0;
	if (rc == -2 || resp.status >= 500 || resp.status == 429) {
		res->outcome = VAULT_OP_UNKNOWN;
		goto out;
	}
	j = json_loads(resp.body != NULL ? resp.body : "", 0, NULL);
	if (req->kind == VAULT_OP_RETRIEVE) {
		if (resp.status != 200) {
			res->outcome = VAULT_OP_REFUSED;
			snprintf(res->failure_code, sizeof res->failure_code, "resource_missing");
			goto out;
		}
		res->outcome = vault_adyen_map_payment(200, resp.body,
		                                       json_is_true(json_object_get(j, "captured")),
		                                       &res->intent) == 0 ? VAULT_OP_SUCCEEDED
		                                                          : VAULT_OP_UNKNOWN;
		v = json_string_value(json_object_get(j, "resultCode"));
		if (res->outcome == VAULT_OP_SUCCEEDED && v != NULL && strcmp(v, "Cancelled") == 0)
			res->intent.status = VAULT_AUTH_VOIDED;  /* the stand-in's record of a cancel */
		res->amount = (long long)json_integer_value(json_object_get(json_object_get(j, "amount"),
		                                                            "value"));
		goto out;
	}
	if (resp.status != 201 && resp.status != 200) {
		/* 4xx: Adyen refused the modification, nothing was done. */
		res->outcome = VAULT_OP_REFUSED;
		v = json_string_value(json_object_get(j, "errorCode"));
		snprintf(res->failure_code, sizeof res->failure_code, "%s",
		         v != NULL && strcmp(v, "167") == 0 ? "payment_not_modifiable" : "psp_refused");
		goto out;
	}
	/* Accepted only when the answer echoes what was asked (issue 15). */
	vault_adyen_check_op(req, cur, resp.body, res);
	goto out;
body_full:
	vault_connector_seterr(err, errlen, "adyen: request body too large");
out:
	vault_connector_log_operate("adyen", req, res, ret);
	json_decref(j);
	free(resp.body);
	sr_secret_free(auth);
	return ret;
}

/* The prove_credentials hook (connector.h, ADR 0107): POST /v71/paymentMethods
 * {"merchantAccount"} with the merchant's X-API-Key; 403 when its user may
 * not act for that account. */
static int adyen_prove_credentials(const struct vault_connector *self, struct vault_egress *eg,
                                   const struct vault_psp_credentials *creds, char *err,
                                   size_t errlen)
{
	const struct adyen_state *st = self != NULL ? self->cfg : NULL;
	struct vault_egress_response resp = { 0, NULL, 0 };
	struct vault_psp_headers h;
	char body[160];
	char *auth = NULL;
	int n = 0;
	int ret = -1;

	if (st == NULL || eg == NULL || creds == NULL || creds->api_key == NULL) {
		vault_connector_seterr(err, errlen, "adyen: invalid credentials proof request");
		return -1;
	}
	if (creds->merchant_account == NULL)
		return 2;
	/* An account id of [A-Za-z0-9_.-]: nothing to escape. */
	if (strspn(creds->merchant_account, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                    "0123456789_.-") != strlen(creds->merchant_account)
	    || (n = snprintf(body, sizeof body, "{\"merchantAccount\":\"%s\"}",
	                     creds->merchant_account)) < 0 || (size_t)n >= sizeof body) {
		vault_connector_seterr(err, errlen, "adyen: unusable merchant account");
		return -1;
	}
	auth = api_key_header(st, creds);
	if (auth == NULL) {
		vault_connector_seterr(err, errlen, "adyen: out of memory or unusable API key");
		goto out;
	}
	memset(&h, 0, sizeof h);
	h.line[0] = auth;
	h.line[1] = CT_JSON;
	h.line[2] = NULL;
	if (vault_psp_send(eg, &st->ep, ADYEN_API "/paymentMethods", &h, body, (size_t)n, &resp,
	                   err, errlen) != 0)
		goto out;
	if (resp.status == 200)
		ret = 0;
	else if (resp.status == 401 || resp.status == 403)
		ret = 1;
	else
		vault_connector_seterr(err, errlen, "adyen: /paymentMethods answered %d", resp.status);
out:
	free(resp.body);
	sr_secret_free(auth);
	return ret;
}

/* The test_webhook hook (connector.h, ADR 0107): POST
 * /v3/merchants/{merchantAccount}/webhooks/test with the merchant's
 * X-API-Key; the notification Adyen sent is data[0].requestSent. Adyen's
 * path also names the webhook id and lives on the Management API host; the
 * simulator has one webhook per account on one host. */
static int adyen_test_webhook(const struct vault_connector *self, struct vault_egress *eg,
                              const struct vault_psp_credentials *creds, char **body, size_t *len,
                              char *err, size_t errlen)
{
	const struct adyen_state *st = self != NULL ? self->cfg : NULL;
	struct vault_egress_response resp = { 0, NULL, 0 };
	struct vault_psp_headers h;
	const char *sent = NULL;
	json_t *root = NULL;
	char path[200];
	char req_body[] = "{}";    /* writable: wiped once sent */
	char *auth = NULL;
	int n = 0;
	int ret = -1;

	if (body != NULL)
		*body = NULL;
	if (st == NULL || eg == NULL || creds == NULL || creds->api_key == NULL ||
	    creds->merchant_account == NULL || body == NULL || len == NULL) {
		vault_connector_seterr(err, errlen, "adyen: invalid webhook test request");
		return -1;
	}
	if (strspn(creds->merchant_account, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                    "0123456789_.-") != strlen(creds->merchant_account)
	    || (n = snprintf(path, sizeof path, "/v3/merchants/%s/webhooks/test",
	                     creds->merchant_account)) < 0 || (size_t)n >= sizeof path) {
		vault_connector_seterr(err, errlen, "adyen: unusable merchant account");
		return -1;
	}
	auth = api_key_header(st, creds);
	if (auth == NULL) {
		vault_connector_seterr(err, errlen, "adyen: out of memory or unusable API key");
		goto out;
	}
	memset(&h, 0, sizeof h);
	h.line[0] = auth;
	h.line[1] = CT_JSON;
	h.line[2] = NULL;
	if (vault_psp_send(eg, &st->ep, path, &h, req_body, sizeof req_body - 1, &resp, err,
	                   errlen) != 0)
		goto out;
	if (resp.status == 401 || resp.status == 403 || resp.status == 404 || resp.status == 422) {
		ret = 1;
		goto out;
	}
	if (resp.status != 200) {
		vault_connector_seterr(err, errlen, "adyen: webhook test answered %d", resp.status);
		goto out;
	}
	root = resp.body != NULL ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
	sent = json_string_value(json_object_get(json_array_get(json_object_get(root, "data"), 0),
	                                         "requestSent"));
	if (sent == NULL || sent[0] == '\0') {
		ret = 1;
		goto out;
	}
	*len = strlen(sent);
	*body = strdup(sent);
	ret = *body != NULL ? 0 : -1;
	if (ret != 0)
		vault_connector_seterr(err, errlen, "adyen: out of memory");
out:
	json_decref(root);
	free(resp.body);
	sr_secret_free(auth);
	return ret;
}

static const char *adyen_platform_account(const struct vault_connector *self)
{
	const struct adyen_state *st = self != NULL ? self->cfg : NULL;

	return st != NULL ? st->merchant_account : NULL;
}

/* ------------------------------------------------------------------ */
/* life cycle                                                           */

static void state_free(struct adyen_state *st)
{
	if (st == NULL)
		return;
	vault_psp_endpoint_free(&st->ep);    /* wipes the key */
	sr_secret_free(st->hmac_key);
	free(st->merchant_account);
	free(st->return_url);
	free(st);
}

int vault_adyen_init(struct vault_connector *out, const struct adyen_config *cfg,
                     char *err, size_t errlen)
{
	struct adyen_state *st = NULL;
	size_t i = 0;
	int ret = -1;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL || cfg == NULL || cfg->host == NULL || cfg->api_key == NULL || cfg->port == 0
	    || cfg->port > 65535 || cfg->merchant_account == NULL || cfg->merchant_account[0] == '\0') {
		vault_connector_seterr(err, errlen,
		                       "adyen: host, port, api_key and merchant_account are required");
		goto out;
	}
	memset(out, 0, sizeof *out);
	st = calloc(1, sizeof *st);
	if (st == NULL) {
		vault_connector_seterr(err, errlen, "adyen: out of memory");
		goto out;
	}
	st->merchant_account = strdup(cfg->merchant_account);
	st->return_url = strdup(cfg->return_url != NULL && cfg->return_url[0] != '\0' ? cfg->return_url
	                                                                              : DEFAULT_RETURN_URL);
	if (st->merchant_account == NULL || st->return_url == NULL) {
		vault_connector_seterr(err, errlen, "adyen: out of memory");
		goto out;
	}
	/* PCI DSS 8.6.3: the platform's secrets, opened from their sealed form
	 * by vaultd (ADR 0120), are held in guarded memory. */
	if (vault_psp_endpoint_init(&st->ep, "adyen", cfg->host, cfg->addr, cfg->port, cfg->api_key,
	                            err, errlen) != 0)
		goto out;
	if (cfg->hmac_key != NULL && cfg->hmac_key[0] != '\0') {
		st->hmac_key = vault_psp_secret_dup("adyen", "the HMAC key", cfg->hmac_key,
		                                    &st->hmac_key_len, err, errlen);
		if (st->hmac_key == NULL)
			goto out;
		for (i = 0; i < st->hmac_key_len; i++)
			if (!((st->hmac_key[i] >= '0' && st->hmac_key[i] <= '9')
			      || (st->hmac_key[i] >= 'A' && st->hmac_key[i] <= 'F')
			      || (st->hmac_key[i] >= 'a' && st->hmac_key[i] <= 'f')))
				break;
		if (st->hmac_key_len < 32 || st->hmac_key_len % 2 != 0 || i != st->hmac_key_len) {
			vault_connector_seterr(err, errlen,
			                       "adyen: the HMAC key must be one even-length hex key (>= 16 bytes)");
			goto out;
		}
	}
	out->name = "adyen";
	out->authorize = adyen_authorize;
	out->operate = adyen_operate;
	out->webhook_account = adyen_webhook_account;
	out->webhook_events = adyen_webhook_events;
	out->webhook_payment = adyen_webhook_payment;
	out->prove_credentials = adyen_prove_credentials;
	out->test_webhook = adyen_test_webhook;
	out->platform_account = adyen_platform_account;
	out->dispute = adyen_dispute;
	out->cfg = st;
	st = NULL;
	ret = 0;
out:
	state_free(st);
	return ret;
}

void vault_adyen_free(struct vault_connector *c)
{
	if (c == NULL || c->cfg == NULL)
		return;
	state_free(c->cfg);
	c->cfg = NULL;
	c->authorize = NULL;
	c->operate = NULL;
	c->webhook_account = NULL;
	c->webhook_events = NULL;
	c->webhook_payment = NULL;
	c->prove_credentials = NULL;
	c->test_webhook = NULL;
	c->platform_account = NULL;
}
