/*
 * adyen_dispute: the Adyen connector's dispute hook (connector.h, ADR 0132),
 * over Adyen's Disputes API v30
 * (https://docs.adyen.com/risk-management/disputes-api):
 *   acceptDispute          {"disputePspReference","merchantAccountCode"}
 *   supplyDefenseDocument  {"defenseDocuments":[{"content" (base64),
 *                           "contentType","defenseDocumentTypeCode"}],
 *                           "disputePspReference","merchantAccountCode"}
 *   defendDispute          {"defenseReasonCode","disputePspReference",
 *                           "merchantAccountCode"}
 * each answered {"disputeServiceResult":{"isSuccess":bool,"errorMessage"?}}.
 * Adyen keeps no draft: evidence that is not submitted is not sent (the
 * gateway keeps it); submitted, it goes as one text document
 * (defenseDocumentTypeCode "DefenseMaterial") and the dispute is defended
 * with the generic reason "SupplyDefenseMaterial". The evidence is text the
 * gateway screened for card numbers; no card data is involved.
 */
#include "vault/connectors/adyen/adyen_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "common/sr_log.h"
#include "common/sr_secret.h"
#include "vault/connectors/vault_egress.h"

#define DISPUTE_API "/ca/services/DisputeService/v30"
#define CT_JSON "Content-Type: application/json"

/* The evidence as one text document: "field:\n<text>\n\n" per field. */
static char *evidence_text(const struct vault_dispute_request *req, size_t *len)
{
	size_t cap = 1, i, n = 0;
	char *s = NULL;

	for (i = 0; i < req->n_evidence; i++)
		cap += strlen(req->evidence_keys[i]) + strlen(req->evidence_values[i]) + 4;
	s = malloc(cap);
	if (s == NULL)
		return NULL;
	for (i = 0; i < req->n_evidence; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s:\n%s\n\n", req->evidence_keys[i],
		                      req->evidence_values[i]);
	s[n] = '\0';
	*len = n;
	return s;
}

/*
 * POST body (stolen) to path with key. @return -1 not sent (err), else 0 with
 * res->outcome set: SUCCEEDED when isSuccess, REFUSED on a 4xx or isSuccess
 * false, UNKNOWN when the answer was lost or is not Adyen's.
 */
static int post(const struct adyen_state *st, struct vault_egress *eg, const char *auth,
                const struct vault_dispute_request *req, const char *path, const char *key,
                json_t *body, struct vault_dispute_result *res, char *err, size_t errlen)
{
	struct vault_egress_response resp = { 0, NULL, 0 };
	struct vault_op_request hq;
	struct vault_psp_headers h;
	char *text = json_dumps(body, JSON_COMPACT);
	const json_t *r = NULL;
	json_t *j = NULL;
	int rc = -1;

	json_decref(body);
	memset(&hq, 0, sizeof hq);
	hq.kind = VAULT_OP_CAPTURE;     /* a POST with the caller's key */
	hq.idempotency_key = key;
	hq.request_id = req->request_id;
	if (text == NULL || vault_psp_headers_operate(&h, auth, NULL, &hq, CT_JSON) != 0) {
		vault_connector_seterr(err, errlen, "adyen: out of memory or unusable idempotency key");
		goto out;
	}
	rc = vault_psp_send(eg, &st->ep, path, &h, text, strlen(text), &resp, err, errlen);
	if (rc == -1)
		goto out;
	if (rc == 0 && (resp.status == 401 || resp.status == 403 || resp.status == 503)) {
		vault_connector_seterr(err, errlen, "adyen: dispute call not processed (HTTP %d)",
		                       resp.status);
		rc = -1;
		goto out;
	}
	rc = 0;
	res->sent = true;
	if (resp.status >= 500 || resp.status == 429 || resp.body == NULL) {
		res->outcome = VAULT_OP_UNKNOWN;
		goto out;
	}
	j = json_loads(resp.body, 0, NULL);
	r = json_object_get(j, "disputeServiceResult");
	if (resp.status >= 400 || json_is_false(json_object_get(r, "isSuccess"))) {
		res->outcome = VAULT_OP_REFUSED;
		snprintf(res->failure_code, sizeof res->failure_code, "psp_refused");
	} else {
		res->outcome = json_is_true(json_object_get(r, "isSuccess")) ? VAULT_OP_SUCCEEDED
		                                                             : VAULT_OP_UNKNOWN;
	}
out:
	json_decref(j);
	free(resp.body);
	free(text);
	return rc;
}

int adyen_dispute(const struct vault_connector *self, struct vault_egress *eg,
                  const struct vault_dispute_request *req, struct vault_dispute_result *res,
                  char *err, size_t errlen)
{
	const struct adyen_state *st = NULL;
	const char *account = NULL;
	char *auth = NULL;
	char *doc = NULL;
	char *b64 = NULL;
	char key[300];
	char id[128];
	size_t dlen = 0, blen;
	int ret = -1;

	if (res != NULL)
		memset(res, 0, sizeof *res);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (self == NULL || self->cfg == NULL || eg == NULL || req == NULL || res == NULL ||
	    req->idempotency_key == NULL || strlen(req->idempotency_key) > 255 ||
	    vault_psp_ident_copy(id, sizeof id, req->dispute) != 0) {
		vault_connector_seterr(err, errlen, "adyen: invalid dispute request");
		goto out;
	}
	st = self->cfg;
	account = req->creds != NULL && req->creds->merchant_account != NULL
	          ? req->creds->merchant_account : st->merchant_account;
	if (req->op == VAULT_DISPUTE_EVIDENCE && !req->submit) {
		res->outcome = VAULT_OP_SUCCEEDED;  /* nothing to send: Adyen keeps no draft */
		ret = 0;
		goto out;
	}
	auth = vault_psp_secret_header("X-API-Key: ", vault_psp_api_key(&st->ep, req->creds));
	if (auth == NULL || strpbrk(auth, "\r\n") != NULL) {
		vault_connector_seterr(err, errlen, "adyen: out of memory or unusable API key");
		goto out;
	}
	if (req->op == VAULT_DISPUTE_ACCEPT) {
		ret = post(st, eg, auth, req, DISPUTE_API "/acceptDispute", req->idempotency_key,
		           json_pack("{s:s, s:s}", "disputePspReference", id, "merchantAccountCode",
		                     account), res, err, errlen);
		goto out;
	}
	doc = evidence_text(req, &dlen);
	blen = sodium_base64_ENCODED_LEN(dlen, sodium_base64_VARIANT_ORIGINAL);
	b64 = doc != NULL ? malloc(blen) : NULL;
	if (b64 == NULL) {
		vault_connector_seterr(err, errlen, "adyen: out of memory");
		goto out;
	}
	sodium_bin2base64(b64, blen, (const unsigned char *)doc, dlen, sodium_base64_VARIANT_ORIGINAL);
	snprintf(key, sizeof key, "%s-doc", req->idempotency_key);
	ret = post(st, eg, auth, req, DISPUTE_API "/supplyDefenseDocument", key,
	           json_pack("{s:[{s:s, s:s, s:s}], s:s, s:s}", "defenseDocuments", "content", b64,
	                     "contentType", "text/plain", "defenseDocumentTypeCode", "DefenseMaterial",
	                     "disputePspReference", id, "merchantAccountCode", account),
	           res, err, errlen);
	if (ret != 0 || res->outcome != VAULT_OP_SUCCEEDED)
		goto out;
	snprintf(key, sizeof key, "%s-defend", req->idempotency_key);
	ret = post(st, eg, auth, req, DISPUTE_API "/defendDispute", key,
	           json_pack("{s:s, s:s, s:s}", "defenseReasonCode", "SupplyDefenseMaterial",
	                     "disputePspReference", id, "merchantAccountCode", account),
	           res, err, errlen);
	if (ret != 0) {
		/* The document reached Adyen: the outcome of the whole is not known. */
		res->outcome = VAULT_OP_UNKNOWN;
		ret = 0;
	}
out:
	sr_log(ret == 0 && res->outcome == VAULT_OP_SUCCEEDED ? SR_LOG_INFO : SR_LOG_WARN,
	       req != NULL ? req->request_id : NULL, "connector.dispute", "{s:s, s:s, s:s, s:b}",
	       "connector", "adyen", "operation",
	       req != NULL && req->op == VAULT_DISPUTE_ACCEPT ? "accept" : "evidence", "outcome",
	       ret != 0 ? "not_sent" : res->outcome == VAULT_OP_SUCCEEDED ? "succeeded"
	       : res->outcome == VAULT_OP_REFUSED ? "refused" : "unknown",
	       "submit", req != NULL && req->submit);
	free(doc);
	free(b64);
	sr_secret_free(auth);
	return ret;
}
